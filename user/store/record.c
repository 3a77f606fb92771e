// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "util/procfs.h"
#include "model/figs.h"
#include "util/readfile.h"
#include "store/record.h"
#include "util/vec.h"

/* Records are the structs' bytes, and the format says little-endian. */
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "recordings are little-endian");

static const char magic[8] = { 'C', 'O', 'N', 'T', 'R', 'A', 'C', 'E' };

struct rec_header {
	char magic[8];
	uint32_t version;
	uint32_t layout; /* version 1: RECORD_V1_LAYOUT; version 2: 0 */
	uint64_t reserved;
};

enum { BLK_META = 1, BLK_SNAP = 2, BLK_DESC = 3, BLK_EVENTS = 4 };

/* An event block: a header, then `count` records of the struct `sid` names. */
struct rec_events_head {
	uint32_t sid; /* ct_tl_event's index among the descriptions */
	uint32_t count;
};

struct rec_block {
	uint32_t type;
	uint32_t raw_len;
	uint32_t comp_len;
	uint32_t crc; /* CRC-32 of the raw (uncompressed) bytes */
};

/* The description block: a count, then each struct and its fields. */
struct rec_desc_head {
	uint32_t nstructs;
	uint32_t reserved;
};

struct rec_desc_struct {
	char name[REC_NAME_LEN];
	uint32_t size;
	uint32_t nfields;
};

struct rec_desc_field {
	char name[REC_FIELD_LEN];
	uint32_t type;
	uint32_t count;
	uint32_t offset;
	uint32_t reserved;
};

/* A snapshot block's sections: the changed elements of one array. */
struct rec_section {
	uint32_t sid; /* the array's struct: its index among the descriptions */
	uint32_t length; /* elements in the array after this snapshot */
	uint32_t nidx; /* threads: the slots of the records; else removed positions */
	uint32_t nrec; /* records that follow the indices */
};

#define DESC_MAX_STRUCTS 256
#define DESC_MAX_FIELDS 4096
#define DESC_MAX_SIZE (1u << 20) /* bytes of one record */
#define MAX_GROWTH 8 /* this build's record, at most this many times the file's */

/* Version 1's arrays, in the order its snapshot blocks hold them. */
#define V1_ARRAYS 11

/*
 * The keyed arrays: sorted by their key, stored as the elements added or
 * changed and the positions of those removed.
 */
static int cmp_gil(const void *a, const void *b)
{
	const struct rec_gil *x = a, *y = b;

	return x->pid < y->pid ? -1 : x->pid > y->pid;
}

static int (*const keyed_cmp[RS_COUNT])(const void *, const void *) = {
	[RS_SYS] = snapshot_cmp_sys,	     [RS_WAKER] = snapshot_cmp_waker,
	[RS_NAME] = snapshot_cmp_name,	     [RS_PROC] = snapshot_cmp_proc,
	[RS_LOCK] = snapshot_cmp_lock,	     [RS_EDGE] = snapshot_cmp_edge,
	[RS_SITE] = snapshot_cmp_site,	     [RS_SYM] = snapshot_cmp_sym,
	[RS_GILHIST] = snapshot_cmp_gilhist, [RS_GIL] = cmp_gil,
	[RS_RUNNER] = snapshot_cmp_runner,   [RS_LSTACK] = snapshot_cmp_site,
	[RS_STACK] = snapshot_cmp_stack,     [RS_FRAME] = snapshot_cmp_frame,
	[RS_PYNAME] = snapshot_cmp_pyname,   [RS_NATIVE] = snapshot_cmp_native,
};

static bool is_keyed(int sid)
{
	return sid >= RS_SYS && sid < RS_EVENT;
}

/* A frame's keyed array of struct sid, and its length. */
static void **frame_array(struct rec_frame *f, int sid, size_t **n)
{
	switch (sid) {
	case RS_SYS:
		*n = &f->s.nsys;
		return (void **)&f->s.sys;
	case RS_WAKER:
		*n = &f->s.nwakers;
		return (void **)&f->s.wakers;
	case RS_NAME:
		*n = &f->s.nnames;
		return (void **)&f->s.names;
	case RS_PROC:
		*n = &f->s.nprocs;
		return (void **)&f->s.procs;
	case RS_LOCK:
		*n = &f->s.nlocks;
		return (void **)&f->s.locks;
	case RS_EDGE:
		*n = &f->s.nedges;
		return (void **)&f->s.edges;
	case RS_SITE:
		*n = &f->s.nsites;
		return (void **)&f->s.sites;
	case RS_SYM:
		*n = &f->s.nsyms;
		return (void **)&f->s.syms;
	case RS_GILHIST:
		*n = &f->s.ngilhists;
		return (void **)&f->s.gilhists;
	case RS_RUNNER:
		*n = &f->s.nrunners;
		return (void **)&f->s.runners;
	case RS_LSTACK:
		*n = &f->s.nlstacks;
		return (void **)&f->s.lstacks;
	case RS_STACK:
		*n = &f->s.nstacks;
		return (void **)&f->s.stacks;
	case RS_FRAME:
		*n = &f->s.nframes;
		return (void **)&f->s.frames;
	case RS_PYNAME:
		*n = &f->s.npynames;
		return (void **)&f->s.pynames;
	case RS_NATIVE:
		*n = &f->s.nnatives;
		return (void **)&f->s.natives;
	default:
		*n = &f->ngil;
		return (void **)&f->gil;
	}
}

/* Free a frame's arrays, but those it shares with `other` (NULL: none). */
static void frame_free(struct rec_frame *f, struct rec_frame *other)
{
	size_t *n, *on;

	if (!other || f->s.threads != other->s.threads)
		free(f->s.threads);
	for (int sid = RS_SYS; is_keyed(sid); sid++) {
		void **a = frame_array(f, sid, &n);

		if (!other || *a != *frame_array(other, sid, &on))
			free(*a);
	}
	free(f->s.tids);
	memset(f, 0, sizeof(*f));
}

/* A field added to struct rpt_gil_info needs one in struct rec_gil, and its copy below. */
_Static_assert(sizeof(struct rec_gil) == sizeof(struct rpt_gil_info),
	       "struct rec_gil stores every field of struct rpt_gil_info");

static void gil_to_rec(struct rec_gil *g, const struct rpt_gil_info *i)
{
	memset(g, 0, sizeof(*g));
	g->pid = i->pid;
	memcpy(g->file, i->file, sizeof(g->file));
	memcpy(g->version, i->version, sizeof(g->version));
	g->free_threaded = i->free_threaded;
	g->tier = i->tier;
	memcpy(g->why, i->why, sizeof(g->why));
	g->addr = i->addr;
	g->interval_us = i->interval_us;
}

/* A GIL info read: its bool and enum were checked (rec_field.max). */
static void gil_from_rec(struct rpt_gil_info *i, const struct rec_gil *g)
{
	memset(i, 0, sizeof(*i));
	i->pid = g->pid;
	memcpy(i->file, g->file, sizeof(i->file));
	i->file[sizeof(i->file) - 1] = 0;
	memcpy(i->version, g->version, sizeof(i->version));
	i->version[sizeof(i->version) - 1] = 0;
	i->free_threaded = g->free_threaded != 0;
	i->tier = (enum rpt_gil_tier)g->tier;
	memcpy(i->why, g->why, sizeof(i->why));
	i->why[sizeof(i->why) - 1] = 0;
	i->addr = g->addr;
	i->interval_us = g->interval_us;
}

/* Writing */

static int buf_put(struct recorder *r, const void *p, size_t n)
{
	if (vec_reserve(r->buf, r->cap, r->len + n))
		return -ENOMEM;
	memcpy(r->buf + r->len, p, n);
	r->len += n;
	return 0;
}

static int idx_push(struct recorder *r, uint32_t i)
{
	uint32_t *e = vec_push(r->idx, r->nidx, r->idxcap);

	if (!e)
		return -ENOMEM;
	*e = i;
	return 0;
}

static int put_block(struct recorder *r, uint32_t type, const void *raw, size_t len, char *err,
		     size_t errlen)
{
	struct rec_block b = { .type = type, .raw_len = (uint32_t)len };
	uLongf clen = compressBound((uLong)len);
	int ret = 0;

	if (len > RECORD_MAX_BLOCK) {
		snprintf(err, errlen, "%s: a snapshot of %zu bytes is too large to record", r->path,
			 len);
		return -EFBIG;
	}
	if (vec_reserve(r->zbuf, r->zcap, clen))
		return -ENOMEM;
	/*
	 * Level 1: a 400-thread snapshot compresses in 3.6 ms instead of 17 at
	 * level 6, to 12.6% of its size instead of 10.6%.
	 */
	if (compress2(r->zbuf, &clen, raw, (uLong)len, 1) != Z_OK) {
		snprintf(err, errlen, "%s: zlib compression failed", r->path);
		return -EIO;
	}
	b.comp_len = (uint32_t)clen;
	b.crc = (uint32_t)crc32(0L, raw, (uInt)len);
	if (fwrite(&b, sizeof(b), 1, r->f) != 1 || fwrite(r->zbuf, 1, clen, r->f) != clen ||
	    fflush(r->f)) {
		ret = errno ? -errno : -EIO;
		snprintf(err, errlen, "cannot write the recording '%s': %s", r->path,
			 strerror(-ret));
	}
	return ret;
}

int record_create(struct recorder *r, const char *path, char *err, size_t errlen)
{
	char msg[256];
	int ret;

	memset(r, 0, sizeof(*r));
	r->path = path;
	r->begun = false;
	ret = outfile_open(&r->out, path, msg, sizeof(msg));
	if (ret) {
		snprintf(err, errlen, "cannot write the recording '%s': %s", path, strerror(-ret));
		return ret;
	}
	r->f = r->out.f;
	return 0;
}

/* The description block: every struct of rec_structs[], in rec_sid order. */
static int put_descriptions(struct recorder *r, char *err, size_t errlen)
{
	struct rec_desc_head h = { .nstructs = RS_COUNT };
	int ret;

	r->len = 0;
	ret = buf_put(r, &h, sizeof(h));
	for (int i = 0; i < RS_COUNT && !ret; i++) {
		const struct rec_struct *st = &rec_structs[i];
		struct rec_desc_struct ds = { .size = st->size, .nfields = st->nfields };

		snprintf(ds.name, sizeof(ds.name), "%s", st->name);
		ret = buf_put(r, &ds, sizeof(ds));
		for (uint32_t k = 0; k < st->nfields && !ret; k++) {
			const struct rec_field *f = &st->fields[k];
			struct rec_desc_field df = { .type = f->type,
						     .count = f->count,
						     .offset = f->offset };

			snprintf(df.name, sizeof(df.name), "%s", f->name);
			ret = buf_put(r, &df, sizeof(df));
		}
	}
	if (ret)
		return ret;
	return put_block(r, BLK_DESC, r->buf, r->len, err, errlen);
}

static void meta_to_rec(struct rec_meta *rm, const struct report_meta *m)
{
	memset(rm, 0, sizeof(*rm));
	snprintf(rm->version, sizeof(rm->version), "%s", m->version);
	memcpy(rm->kernel, m->kernel, sizeof(rm->kernel));
	memcpy(rm->hostname, m->hostname, sizeof(rm->hostname));
	memcpy(rm->command, m->command, sizeof(rm->command));
	rm->ncpus = m->ncpus;
	rm->target_pid = m->target_pid;
	rm->launched = m->launched;
	rm->follow = m->follow;
	rm->syscalls = m->syscalls;
	rm->locks = m->locks;
	rm->holds = m->holds;
	rm->timeline = m->timeline;
	rm->stacks = m->stacks;
	rm->locks_min_wait_ns = m->locks_min_wait_ns;
	rm->interval_ns = m->interval_ns;
	memcpy(rm->argv, m->argv, sizeof(rm->argv));
	rm->argv_len = m->argv_len;
	rm->sample_every = m->sample_every;
	rm->trace_start_ns = m->trace_start_ns;
	rm->trace_start_real_ns = m->trace_start_real_ns;
}

int record_begin(struct recorder *r, const struct report_meta *m, char *err, size_t errlen)
{
	struct rec_header h = { .version = RECORD_VERSION };
	struct rec_meta rm;
	int ret;

	memcpy(h.magic, magic, sizeof(magic));
	meta_to_rec(&rm, m);
	r->due = mono_ns() + RECORD_CHECKPOINT_NS;
	if (fwrite(&h, sizeof(h), 1, r->f) != 1) {
		snprintf(err, errlen, "cannot write the recording '%s': %s", r->path,
			 strerror(errno));
		return -EIO;
	}
	ret = put_descriptions(r, err, errlen);
	if (ret == -ENOMEM)
		snprintf(err, errlen, "%s: out of memory", r->path);
	if (ret)
		return ret;
	ret = put_block(r, BLK_META, &rm, sizeof(rm), err, errlen);
	if (ret)
		return ret;
	ret = outfile_publish(&r->out, err, errlen);
	if (ret)
		snprintf(err, errlen, "cannot write the recording '%s': %s", r->path,
			 strerror(-ret));
	r->begun = !ret;
	return ret;
}

/*
 * A keyed array copied, sorted by key, one element per key (the first):
 * what the delta is computed against, and the base of the next one.
 */
static int sorted_copy(void **dst, size_t *ndst, const void *src, size_t n, int sid)
{
	size_t size = rec_structs[sid].size, k = 0;
	int (*cmp)(const void *, const void *) = keyed_cmp[sid];
	char *d;

	*dst = NULL;
	*ndst = 0;
	if (!n)
		return 0;
	d = malloc(n * size);
	if (!d)
		return -ENOMEM;
	memcpy(d, src, n * size);
	qsort(d, n, size, cmp);
	for (size_t i = 0; i < n; i++) {
		if (k && !cmp(d + (k - 1) * size, d + i * size))
			continue;
		if (k != i)
			memcpy(d + k * size, d + i * size, size);
		k++;
	}
	*dst = d;
	*ndst = k;
	return 0;
}

/* The frame of a live snapshot: its arrays copied and sorted. */
static int frame_from(struct rec_frame *f, const struct snapshot *s, const struct report_meta *m,
		      enum record_kind kind)
{
	const void *src[RS_COUNT] = {
		[RS_SYS] = s->sys,	  [RS_WAKER] = s->wakers,   [RS_NAME] = s->names,
		[RS_PROC] = s->procs,	  [RS_LOCK] = s->locks,	    [RS_EDGE] = s->edges,
		[RS_SITE] = s->sites,	  [RS_SYM] = s->syms,	    [RS_GILHIST] = s->gilhists,
		[RS_RUNNER] = s->runners, [RS_LSTACK] = s->lstacks, [RS_STACK] = s->stacks,
		[RS_FRAME] = s->frames,	  [RS_PYNAME] = s->pynames, [RS_NATIVE] = s->natives,
	};
	const size_t nsrc[RS_COUNT] = {
		[RS_SYS] = s->nsys,	   [RS_WAKER] = s->nwakers,   [RS_NAME] = s->nnames,
		[RS_PROC] = s->nprocs,	   [RS_LOCK] = s->nlocks,     [RS_EDGE] = s->nedges,
		[RS_SITE] = s->nsites,	   [RS_SYM] = s->nsyms,	      [RS_GILHIST] = s->ngilhists,
		[RS_RUNNER] = s->nrunners, [RS_LSTACK] = s->nlstacks, [RS_STACK] = s->nstacks,
		[RS_FRAME] = s->nframes,   [RS_PYNAME] = s->npynames, [RS_NATIVE] = s->nnatives,
	};
	struct rec_gil *gil = NULL;
	size_t *n;
	int ret = 0;

	memset(f, 0, sizeof(*f));
	f->s.ts = s->ts;
	f->s.counters = s->counters;
	f->kind = kind;
	f->holds_probed = m->holds_probed;
	f->holds_unprobed = m->holds_unprobed;
	f->exit_status = m->exit_status;
	f->exit_signal = m->exit_signal;
	memcpy(f->names_missing, m->names_missing, sizeof(f->names_missing));
	if (s->nthreads) {
		f->s.threads = malloc(s->nthreads * sizeof(*s->threads));
		if (!f->s.threads)
			return -ENOMEM;
		memcpy(f->s.threads, s->threads, s->nthreads * sizeof(*s->threads));
		f->s.nthreads = s->nthreads;
	}
	if (m->ngil && !(gil = calloc(m->ngil, sizeof(*gil))))
		ret = -ENOMEM;
	for (size_t i = 0; gil && i < m->ngil; i++)
		gil_to_rec(&gil[i], &m->gil[i]);
	src[RS_GIL] = gil;
	for (int sid = RS_SYS; is_keyed(sid) && !ret; sid++) {
		void **a = frame_array(f, sid, &n);

		ret = sorted_copy(a, n, src[sid], sid == RS_GIL ? m->ngil : nsrc[sid], sid);
	}
	free(gil);
	if (ret)
		frame_free(f, NULL);
	return ret;
}

static int put_section(struct recorder *r, int sid, uint32_t length, size_t nrec)
{
	struct rec_section sec = { .sid = (uint32_t)sid,
				   .length = length,
				   .nidx = (uint32_t)r->nidx,
				   .nrec = (uint32_t)nrec };
	int ret = buf_put(r, &sec, sizeof(sec));

	return ret ? ret : buf_put(r, r->idx, r->nidx * sizeof(*r->idx));
}

/* The threads whose slot changed, or is new. */
static int put_threads(struct recorder *r, const struct snapshot *old, const struct snapshot *s)
{
	const size_t size = sizeof(*s->threads);
	int ret = 0;

	r->nidx = 0;
	for (uint32_t i = 0; i < s->nthreads && !ret; i++)
		if (i >= old->nthreads || memcmp(&old->threads[i], &s->threads[i], size))
			ret = idx_push(r, i);
	if (ret || (!r->nidx && s->nthreads == old->nthreads))
		return ret;
	ret = put_section(r, RS_THREAD, s->nthreads, r->nidx);
	for (size_t i = 0; i < r->nidx && !ret; i++)
		ret = buf_put(r, &s->threads[r->idx[i]], size);
	return ret;
}

/*
 * A keyed array: the positions in the old array of the keys gone, then the
 * elements whose key is new or whose bytes changed (both arrays sorted).
 */
static int put_keyed(struct recorder *r, int sid, struct rec_frame *old, struct rec_frame *cur)
{
	int (*cmp)(const void *, const void *) = keyed_cmp[sid];
	size_t size = rec_structs[sid].size, *no, *nc, i = 0, j = 0, nchanged = 0, mark;
	const char *o = *frame_array(old, sid, &no), *c = *frame_array(cur, sid, &nc);
	int ret = 0;

	/* Removed positions go to r->idx; changed elements' indices after a mark. */
	r->nidx = 0;
	while (i < *no && !ret) {
		int d = j < *nc ? cmp(o + i * size, c + j * size) : -1;

		if (d < 0)
			ret = idx_push(r, (uint32_t)i++);
		else if (d > 0)
			j++;
		else
			i++, j++;
	}
	mark = r->nidx;
	for (i = 0, j = 0; j < *nc && !ret; j++) {
		while (i < *no && cmp(o + i * size, c + j * size) < 0)
			i++;
		if (i < *no && !cmp(o + i * size, c + j * size) &&
		    !memcmp(o + i * size, c + j * size, size))
			continue;
		ret = idx_push(r, (uint32_t)j);
		nchanged++;
	}
	if (ret || (!mark && !nchanged))
		return ret;
	r->nidx = mark;
	ret = put_section(r, sid, (uint32_t)*nc, nchanged);
	for (i = 0; i < nchanged && !ret; i++)
		ret = buf_put(r, c + r->idx[mark + i] * size, size);
	return ret;
}

static int put_snapshot(struct recorder *r, struct rec_frame *cur)
{
	struct rec_frame *old = &r->last;
	struct rec_snap h;
	int ret;

	memset(&h, 0, sizeof(h));
	h.seq = r->seq;
	h.ts = cur->s.ts;
	h.kind = cur->kind;
	h.counters = cur->s.counters;
	h.holds_probed = cur->holds_probed;
	h.holds_unprobed = cur->holds_unprobed;
	h.exit_status = cur->exit_status;
	h.exit_signal = cur->exit_signal;
	memcpy(h.names_missing, cur->names_missing, sizeof(h.names_missing));
	r->len = 0;
	ret = buf_put(r, &h, sizeof(h));
	if (!ret)
		ret = put_threads(r, &old->s, &cur->s);
	for (int sid = RS_SYS; is_keyed(sid) && !ret; sid++)
		ret = put_keyed(r, sid, old, cur);
	return ret;
}

/* The records held, as one event block. */
static int put_events(struct recorder *r, char *err, size_t errlen)
{
	struct rec_events_head h = { .sid = RS_EVENT, .count = (uint32_t)r->nev };
	int ret;

	if (r->ev_ret) {
		snprintf(err, errlen, "%s", r->ev_err);
		return r->ev_ret;
	}
	if (!r->nev)
		return 0;
	r->len = 0;
	ret = buf_put(r, &h, sizeof(h));
	if (!ret)
		ret = buf_put(r, r->ev, r->nev * sizeof(*r->ev));
	if (ret) {
		snprintf(err, errlen, "%s: out of memory", r->path);
		return ret;
	}
	ret = put_block(r, BLK_EVENTS, r->buf, r->len, err, errlen);
	if (!ret)
		r->events += r->nev;
	r->nev = 0;
	return ret;
}

int record_event(struct recorder *r, const struct ct_tl_event *e)
{
	struct ct_tl_event *p;

	if (r->ev_ret)
		return r->ev_ret;
	p = vec_push(r->ev, r->nev, r->evcap);
	if (!p) {
		snprintf(r->ev_err, sizeof(r->ev_err), "%s: out of memory", r->path);
		return r->ev_ret = -ENOMEM;
	}
	*p = *e;
	/* Before record_begin() (the probes' first milliseconds) they wait. */
	if (r->nev >= RECORD_EVENTS_BLOCK && r->begun)
		r->ev_ret = put_events(r, r->ev_err, sizeof(r->ev_err));
	return r->ev_ret;
}

int record_snapshot(struct recorder *r, const struct snapshot *s, const struct report_meta *m,
		    enum record_kind kind, char *err, size_t errlen)
{
	struct rec_frame cur;
	int ret;

	/* The records before the snapshot: nothing may follow a final one. */
	ret = put_events(r, err, errlen);
	if (ret)
		return ret;
	ret = frame_from(&cur, s, m, kind);
	if (!ret)
		ret = put_snapshot(r, &cur);
	if (ret == -ENOMEM)
		snprintf(err, errlen, "%s: out of memory", r->path);
	if (!ret)
		ret = put_block(r, BLK_SNAP, r->buf, r->len, err, errlen);
	if (ret) {
		frame_free(&cur, NULL);
		return ret;
	}
	frame_free(&r->last, NULL);
	r->last = cur;
	r->seq++;
	/* From now: a snapshot that took long (a saturated machine) is not followed at once. */
	r->due = mono_ns() + RECORD_CHECKPOINT_NS;
	return 0;
}

uint64_t record_checkpoint_due(const struct recorder *r)
{
	return r->f ? r->due : 0;
}

/* What the recorder holds besides its file. */
static void recorder_release(struct recorder *r)
{
	frame_free(&r->last, NULL);
	free(r->buf);
	free(r->zbuf);
	free(r->idx);
	free(r->ev);
	r->buf = r->zbuf = NULL;
	r->idx = NULL;
	r->ev = NULL;
	r->nev = r->evcap = 0;
	r->len = r->cap = r->zcap = r->nidx = r->idxcap = 0;
}

int record_close(struct recorder *r, char *err, size_t errlen)
{
	char msg[256];
	int ret = 0;

	/* Cut short before its final snapshot: the records it has stand. */
	if (r->f && r->begun && r->nev && !(r->has_last && r->last.kind == RECORD_FINAL))
		ret = put_events(r, err, errlen);
	recorder_release(r);
	if (!r->f)
		return ret;
	if (!r->begun) {
		outfile_abort(&r->out);
	} else {
		int cret = outfile_close(&r->out, msg, sizeof(msg));

		if (cret)
			snprintf(err, errlen, "cannot write the recording '%s': %s", r->path,
				 strerror(-cret));
		ret = ret ? ret : cret;
	}
	r->f = NULL;
	return ret;
}

/* Reading */

/* A struct as the file describes it, and this build's struct of that name. */
struct file_struct {
	struct rec_struct st; /* name and fields point into the reader's copies */
	int sid; /* enum rec_sid, or -1: unknown here, its sections are skipped */
};

/* What a snapshot read from a file points to: which fields the file had. */
struct rec_schema {
	struct rec_map maps[RS_COUNT]; /* this build's structs, mapped from the file's */
};

struct rec_reader {
	const char *path; /* NULL: in memory */
	const unsigned char *mem;
	int fd;
	uint64_t size; /* of the input when opened: nothing beyond is read */
	uint64_t off; /* of the next block */
	bool started; /* the first snapshot was a start snapshot */
	size_t nfile; /* version 2: the file's descriptions */
	struct file_struct *file;
	struct rec_field *fields;
	char *names;
	struct rec_schema schema;
	unsigned char *comp, *raw; /* a block, compressed and raw */
	size_t compcap, rawcap;
};

/* An error: ret (-EINVAL for a bad file) and its message. */
static int fail(char *err, size_t errlen, int ret, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int fail(char *err, size_t errlen, int ret, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return ret;
}

static uint32_t get_u32(const unsigned char *p, size_t i)
{
	uint32_t v;

	memcpy(&v, p + i * sizeof(v), sizeof(v));
	return v;
}

static int read_at(struct rec_reader *rd, void *buf, size_t len, char *err, size_t errlen)
{
	size_t done = 0;
	ssize_t n;

	if (rd->mem) {
		memcpy(buf, rd->mem + rd->off, len);
		rd->off += len;
		return 0;
	}
	while (done < len) {
		n = pread(rd->fd, (char *)buf + done, len - done, (off_t)(rd->off + done));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return fail(err, errlen, -errno, "cannot read: %s", strerror(errno));
		if (!n)
			return fail(err, errlen, -EIO, "cannot read: the file shrank while read");
		done += (size_t)n;
	}
	rd->off += len;
	return 0;
}

/*
 * The next block: 1 with its type and raw bytes (valid until the next
 * call); 0 at the end of the input, or inside an incomplete block
 * (*partial); or -errno. Memory only for a block the file holds whole.
 */
static int read_block(struct rec_reader *rd, uint32_t *type, unsigned char **raw, size_t *len,
		      bool *partial, char *err, size_t errlen)
{
	struct rec_block b;
	uLongf rlen;
	int ret;

	*partial = false;
	if (rd->off == rd->size)
		return 0;
	if (rd->size - rd->off < sizeof(b)) {
		*partial = true;
		return 0;
	}
	ret = read_at(rd, &b, sizeof(b), err, errlen);
	if (ret)
		return ret;
	/* zlib inflates at most 1032 times: more is no zlib stream. */
	if (b.raw_len > RECORD_MAX_BLOCK ||
	    (uint64_t)b.raw_len > (uint64_t)b.comp_len * 1100 + 1024)
		return fail(err, errlen, -EINVAL, "a block has an absurd length");
	if (b.type != BLK_META && b.type != BLK_SNAP && b.type != BLK_DESC && b.type != BLK_EVENTS)
		return fail(err, errlen, -EINVAL, "a block of unknown type");
	if (rd->size - rd->off < b.comp_len) {
		*partial = true;
		return 0;
	}
	if (vec_reserve(rd->comp, rd->compcap, b.comp_len ? b.comp_len : 1) ||
	    vec_reserve(rd->raw, rd->rawcap, b.raw_len ? b.raw_len : 1))
		return fail(err, errlen, -ENOMEM, "out of memory");
	ret = read_at(rd, rd->comp, b.comp_len, err, errlen);
	if (ret)
		return ret;
	rlen = b.raw_len;
	if (uncompress(rd->raw, &rlen, rd->comp, b.comp_len) != Z_OK || rlen != b.raw_len)
		return fail(err, errlen, -EINVAL, "a block's zlib data is corrupt");
	if ((uint32_t)crc32(0L, rd->raw, (uInt)rlen) != b.crc)
		return fail(err, errlen, -EINVAL, "a block's checksum does not match");
	*type = b.type;
	*raw = rd->raw;
	*len = rlen;
	return 1;
}

/* Descriptions */

static int local_sid(const char *name)
{
	for (int i = 0; i < RS_COUNT; i++)
		if (!strcmp(rec_structs[i].name, name))
			return i;
	return -1;
}

/* A name from a fixed-size field: not empty, ends inside it. */
static bool name_ok(const char *name, size_t len)
{
	return name[0] && memchr(name, 0, len);
}

static int check_field(const struct rec_struct *st, const struct rec_field *f, char *err,
		       size_t errlen)
{
	uint64_t end = (uint64_t)f->offset + (uint64_t)f->count * rec_type_size(f->type);

	if (!rec_type_size(f->type))
		return fail(err, errlen, -EINVAL, "the description of %s.%s has an unknown type %u",
			    st->name, f->name, f->type);
	if (!f->count || end > st->size)
		return fail(err, errlen, -EINVAL,
			    "the description of %s.%s lies outside its %u-byte record", st->name,
			    f->name, st->size);
	for (const struct rec_field *g = st->fields; g < f; g++)
		if (!strcmp(g->name, f->name))
			return fail(err, errlen, -EINVAL, "%s.%s is described twice", st->name,
				    f->name);
	return 0;
}

/* Count the structs' fields of a description block, checking its lengths. */
static int count_fields(const unsigned char *p, size_t len, uint32_t nstructs, size_t *nf,
			char *err, size_t errlen)
{
	struct rec_desc_struct ds;

	*nf = 0;
	for (uint32_t i = 0; i < nstructs; i++) {
		if (len < sizeof(ds))
			return fail(err, errlen, -EINVAL, "the description block is too short");
		memcpy(&ds, p, sizeof(ds));
		p += sizeof(ds);
		len -= sizeof(ds);
		if (ds.nfields > DESC_MAX_FIELDS ||
		    len / sizeof(struct rec_desc_field) < ds.nfields)
			return fail(err, errlen, -EINVAL, "the description block is too short");
		p += ds.nfields * sizeof(struct rec_desc_field);
		len -= ds.nfields * sizeof(struct rec_desc_field);
		*nf += ds.nfields;
	}
	if (len)
		return fail(err, errlen, -EINVAL, "the description block is longer than it says");
	return 0;
}

/* One struct's description at *p (advanced past it), into rd->file[i]. */
static int parse_struct(struct rec_reader *rd, size_t i, const unsigned char **p, size_t *nf,
			char *err, size_t errlen)
{
	struct file_struct *fs = &rd->file[i];
	char *names = rd->names + rd->nfile * REC_NAME_LEN;
	struct rec_desc_struct ds;
	struct rec_desc_field df;
	int ret;

	memcpy(&ds, *p, sizeof(ds));
	*p += sizeof(ds);
	if (!name_ok(ds.name, sizeof(ds.name)) || !ds.size || ds.size > DESC_MAX_SIZE)
		return fail(err, errlen, -EINVAL, "the description block is damaged");
	fs->st.name = memcpy(rd->names + i * REC_NAME_LEN, ds.name, REC_NAME_LEN);
	fs->st.size = ds.size;
	fs->st.nfields = ds.nfields;
	fs->st.fields = rd->fields + *nf;
	for (size_t k = 0; k < ds.nfields; k++, *p += sizeof(df)) {
		struct rec_field *f = &rd->fields[*nf + k];

		memcpy(&df, *p, sizeof(df));
		if (!name_ok(df.name, sizeof(df.name)))
			return fail(err, errlen, -EINVAL, "the description of %s is damaged",
				    fs->st.name);
		f->name = memcpy(names + (*nf + k) * REC_FIELD_LEN, df.name, REC_FIELD_LEN);
		*f = (struct rec_field){ f->name, df.type, df.count, df.offset, 0 };
		ret = check_field(&fs->st, f, err, errlen);
		if (ret)
			return ret;
	}
	*nf += ds.nfields;
	fs->sid = local_sid(fs->st.name);
	for (size_t k = 0; k < i; k++)
		if (!strcmp(rd->file[k].st.name, fs->st.name))
			return fail(err, errlen, -EINVAL, "%s is described twice", fs->st.name);
	return 0;
}

/* Map this build's structs onto the file's (missing: every field absent). */
static int build_maps(struct rec_reader *rd, const struct rec_struct *const file[RS_COUNT],
		      bool need_seq, char *err, size_t errlen)
{
	const struct rec_struct *sn = &rec_structs[RS_SNAP];
	const struct rec_map *m = &rd->schema.maps[RS_SNAP];
	int ret;

	for (int sid = 0; sid < RS_COUNT; sid++) {
		ret = rec_map_build(&rd->schema.maps[sid], &rec_structs[sid], file[sid], err,
				    errlen);
		if (ret)
			return ret;
	}
	/* What the blocks cannot be read without. */
	if (!rd->schema.maps[RS_META].file_size || !m->file_size ||
	    m->absent[rec_find_field(sn, "ts") - sn->fields] ||
	    m->absent[rec_find_field(sn, "kind") - sn->fields] ||
	    (need_seq && m->absent[rec_find_field(sn, "seq") - sn->fields]))
		return fail(err, errlen, -EINVAL,
			    "the description lacks the metadata, or a snapshot's seq, ts or kind");
	return 0;
}

static int parse_desc(struct rec_reader *rd, const unsigned char *raw, size_t len, char *err,
		      size_t errlen)
{
	const struct rec_struct *file[RS_COUNT] = { 0 };
	const unsigned char *p = raw + sizeof(struct rec_desc_head);
	struct rec_desc_head h;
	size_t nf, k = 0;
	int ret;

	if (len < sizeof(h))
		return fail(err, errlen, -EINVAL, "the description block is too short");
	memcpy(&h, raw, sizeof(h));
	if (!h.nstructs || h.nstructs > DESC_MAX_STRUCTS)
		return fail(err, errlen, -EINVAL, "the description block is damaged");
	ret = count_fields(p, len - sizeof(h), h.nstructs, &nf, err, errlen);
	if (ret)
		return ret;
	rd->nfile = h.nstructs;
	rd->file = calloc(h.nstructs, sizeof(*rd->file));
	rd->fields = calloc(nf ? nf : 1, sizeof(*rd->fields));
	rd->names = malloc(h.nstructs * REC_NAME_LEN + nf * REC_FIELD_LEN);
	if (!rd->file || !rd->fields || !rd->names)
		return fail(err, errlen, -ENOMEM, "out of memory");
	for (size_t i = 0; i < h.nstructs; i++) {
		const struct file_struct *fs = &rd->file[i];

		ret = parse_struct(rd, i, &p, &k, err, errlen);
		if (ret)
			return ret;
		if (fs->sid < 0)
			continue;
		/*
		 * A record read grows to this build's size: by at most MAX_GROWTH,
		 * so that a block cannot ask for far more memory than it holds.
		 */
		if ((uint64_t)fs->st.size * MAX_GROWTH < rec_structs[fs->sid].size)
			return fail(err, errlen, -EINVAL,
				    "%s is described as %u bytes: too few for this build's %u",
				    fs->st.name, fs->st.size, rec_structs[fs->sid].size);
		file[fs->sid] = &fs->st;
	}
	return build_maps(rd, file, true, err, errlen);
}

/* The metadata */

static void set_meta(struct recording *rec, const struct rec_meta *rm)
{
	struct report_meta *m = &rec->meta;

	memset(m, 0, sizeof(*m));
	memcpy(rec->version, rm->version, sizeof(rec->version));
	rec->version[sizeof(rec->version) - 1] = 0;
	m->version = rec->version;
	memcpy(m->kernel, rm->kernel, sizeof(m->kernel));
	m->kernel[sizeof(m->kernel) - 1] = 0;
	memcpy(m->hostname, rm->hostname, sizeof(m->hostname));
	m->hostname[sizeof(m->hostname) - 1] = 0;
	memcpy(m->command, rm->command, sizeof(m->command));
	m->command[sizeof(m->command) - 1] = 0;
	m->ncpus = rm->ncpus;
	m->target_pid = rm->target_pid;
	/* Checked 0 or 1 when read (rec_field.max). */
	m->launched = rm->launched;
	m->follow = rm->follow;
	m->syscalls = rm->syscalls;
	m->locks = rm->locks;
	m->holds = rm->holds;
	m->timeline = rm->timeline;
	m->stacks = rm->stacks;
	m->locks_min_wait_ns = rm->locks_min_wait_ns;
	m->interval_ns = rm->interval_ns;
	memcpy(m->argv, rm->argv, sizeof(m->argv));
	/* each argument ends in a NUL: a damaged length or array is cut to whole ones */
	m->argv_len = rm->argv_len <= sizeof(m->argv) ? rm->argv_len : 0;
	while (m->argv_len && m->argv[m->argv_len - 1])
		m->argv_len--;
	m->trace_start_ns = rm->trace_start_ns;
	m->trace_start_real_ns = rm->trace_start_real_ns;
	m->sample_every = rm->sample_every;
	m->exit_status = -1;
}

static int read_meta(struct recording *rec, const unsigned char *raw, size_t len, char *err,
		     size_t errlen)
{
	const struct rec_map *m = &rec->rd->schema.maps[RS_META];
	struct rec_meta rm;
	int ret;

	if (len != m->file_size)
		return fail(err, errlen, -EINVAL, "a bad metadata block");
	ret = rec_map_read(m, &rm, raw, err, errlen);
	if (ret)
		return ret;
	set_meta(rec, &rm);
	return 0;
}

/* Snapshots */

/*
 * Blocks in order: numbered without a gap or a repeat (version 2), later
 * and later, a start snapshot only first, intervals only after one.
 */
static int check_order(const struct recording *rec, const struct rec_snap *h, char *err,
		       size_t errlen)
{
	size_t n = rec->nsnaps;

	if (rec->format >= 2 && h->seq > n)
		return fail(err, errlen, -EINVAL,
			    "snapshot %zu is missing (the next block holds snapshot %llu): "
			    "a block was dropped or moved",
			    n + 1, (unsigned long long)h->seq + 1);
	if (rec->format >= 2 && h->seq < n)
		return fail(
			err, errlen, -EINVAL,
			"snapshot %llu comes again after snapshot %zu: a block repeated or moved",
			(unsigned long long)h->seq + 1, n);
	if (n && h->ts <= rec->cur.s.ts)
		return fail(
			err, errlen, -EINVAL,
			"snapshot %zu is not later than snapshot %zu: a block repeated or moved",
			n + 1, n);
	if (h->kind == RECORD_START && n)
		return fail(err, errlen, -EINVAL, "snapshot %zu is a start snapshot, not the first",
			    n + 1);
	if (h->kind == RECORD_INTERVAL && !rec->rd->started)
		return fail(
			err, errlen, -EINVAL,
			"snapshot %zu ends an interval, but the recording has no start snapshot",
			n + 1);
	return 0;
}

/*
 * Before reading a snapshot: the current one becomes the base if it starts
 * the next interval; then cur shares the base's arrays until one changes.
 * A checkpoint is not the start of anything: it is changed in place.
 */
static void advance(struct recording *rec)
{
	if (!rec->nsnaps || (rec->cur.kind != RECORD_START && rec->cur.kind != RECORD_INTERVAL))
		return;
	frame_free(&rec->base, &rec->cur);
	rec->base = rec->cur;
	rec->has_base = true;
	rec->cur.s.tids = NULL; /* cur gets an index of its own */
	rec->cur.s.ntids = 0;
}

/* Whether cur's array is the base's (copied, not changed, when it changes). */
static bool shared(struct recording *rec, const void *arr, int sid)
{
	size_t *n;

	if (!rec->has_base || !arr)
		return false;
	if (sid == RS_THREAD)
		return arr == rec->base.s.threads;
	return arr == *frame_array(&rec->base, sid, &n);
}

/* Records of struct sid into a new array of n. */
static int decode(struct rec_reader *rd, int sid, const unsigned char *src, size_t n, size_t fsize,
		  void **out, char *err, size_t errlen)
{
	size_t size = rec_structs[sid].size;
	char *a;
	int ret;

	*out = NULL;
	if (!n)
		return 0;
	a = malloc(n * size);
	if (!a)
		return fail(err, errlen, -ENOMEM, "out of memory");
	for (size_t i = 0; i < n; i++) {
		ret = rec_map_read(&rd->schema.maps[sid], a + i * size, src + i * fsize, err,
				   errlen);
		if (ret) {
			free(a);
			return ret;
		}
	}
	*out = a;
	return 0;
}

/* Version 1: every array whole, after the header, in a fixed order. */
static int read_arrays_v1(struct recording *rec, const unsigned char *raw, size_t len, char *err,
			  size_t errlen)
{
	const struct rec_struct *fh = &rec_structs_v1[RS_SNAP];
	const struct rec_field *nf = rec_find_field(fh, "n");
	uint64_t n[V1_ARRAYS], need = fh->size;
	const unsigned char *p = raw + fh->size;
	void *arr;
	size_t *cnt;
	int ret;

	memcpy(n, raw + nf->offset, sizeof(n));
	for (int i = 0; i < V1_ARRAYS; i++) {
		uint64_t size = rec_structs_v1[RS_THREAD + i].size;

		if (n[i] > (len - fh->size) / size || (need += n[i] * size) > len)
			return fail(err, errlen, -EINVAL,
				    "a snapshot block's counts exceed its length");
	}
	if (need != len)
		return fail(err, errlen, -EINVAL,
			    "a snapshot block's length does not match its counts");
	if (n[0] > UINT32_MAX)
		return fail(err, errlen, -EINVAL, "a snapshot block has too many threads");
	for (int i = 0; i < V1_ARRAYS; i++) {
		int sid = RS_THREAD + i;
		size_t fsize = rec_structs_v1[sid].size;

		ret = decode(rec->rd, sid, p, (size_t)n[i], fsize, &arr, err, errlen);
		if (ret)
			return ret;
		p += n[i] * fsize;
		if (sid == RS_THREAD) {
			if (!shared(rec, rec->cur.s.threads, sid))
				free(rec->cur.s.threads);
			rec->cur.s.threads = arr;
			rec->cur.s.nthreads = (uint32_t)n[i];
			continue;
		}
		void **a = frame_array(&rec->cur, sid, &cnt);

		if (!shared(rec, *a, sid))
			free(*a);
		*a = arr;
		*cnt = (size_t)n[i];
	}
	return 0;
}

/* The threads whose slots changed: sec->nidx slots, then their records. */
static int apply_threads(struct recording *rec, const struct rec_section *sec,
			 const unsigned char *idx, const unsigned char *recs, size_t fsize,
			 char *err, size_t errlen)
{
	struct snapshot *s = &rec->cur.s;
	uint32_t nold = s->nthreads, len = sec->length, slot = 0;
	size_t size = sizeof(*s->threads), fresh = 0;
	struct ct_thread *t = NULL;
	int ret;

	if (sec->nidx != sec->nrec)
		return fail(err, errlen, -EINVAL, "a thread section's counts do not match");
	for (uint32_t k = 0; k < sec->nidx; k++) {
		if (get_u32(idx, k) >= len || (k && get_u32(idx, k) <= slot))
			return fail(err, errlen, -EINVAL,
				    "a thread section's slots are out of order");
		slot = get_u32(idx, k);
		fresh += slot >= nold;
	}
	/* Every new slot is stored: the array grows by at most the records. */
	if (len > nold && fresh != len - nold)
		return fail(err, errlen, -EINVAL, "a thread section leaves new slots out");
	if (len && !(t = malloc(len * size)))
		return fail(err, errlen, -ENOMEM, "out of memory");
	if (len && nold)
		memcpy(t, s->threads, (len < nold ? len : nold) * size);
	for (uint32_t k = 0; k < sec->nrec; k++) {
		ret = rec_map_read(&rec->rd->schema.maps[RS_THREAD], &t[get_u32(idx, k)],
				   recs + k * fsize, err, errlen);
		if (ret) {
			free(t);
			return ret;
		}
	}
	if (!shared(rec, s->threads, RS_THREAD))
		free(s->threads);
	s->threads = t;
	s->nthreads = len;
	return 0;
}

/* Merge a keyed array with its changes: positions removed, records added or replacing. */
static size_t merge(char *out, const char *old, size_t nold, const unsigned char *idx, size_t nidx,
		    const char *up, size_t nup, size_t size, int (*cmp)(const void *, const void *))
{
	size_t i = 0, j = 0, r = 0, k = 0;

	while (i < nold || j < nup) {
		int d;

		if (i < nold && r < nidx && get_u32(idx, r) == i) {
			i++, r++;
			continue;
		}
		d = i >= nold ? 1 : j >= nup ? -1 : cmp(old + i * size, up + j * size);
		memcpy(out + k++ * size, d < 0 ? old + i * size : up + j * size, size);
		i += d <= 0;
		j += d >= 0;
	}
	return k;
}

static int apply_keyed(struct recording *rec, int sid, const struct rec_section *sec,
		       const unsigned char *idx, const unsigned char *recs, size_t fsize, char *err,
		       size_t errlen)
{
	int (*cmp)(const void *, const void *) = keyed_cmp[sid];
	size_t size = rec_structs[sid].size, *n, k;
	void **arr = frame_array(&rec->cur, sid, &n);
	char *up, *out = NULL;
	int ret;

	for (uint32_t r = 0; r < sec->nidx; r++)
		if (get_u32(idx, r) >= *n || (r && get_u32(idx, r) <= get_u32(idx, r - 1)))
			return fail(err, errlen, -EINVAL,
				    "a section of %s removes positions out of order",
				    rec_structs[sid].name);
	ret = decode(rec->rd, sid, recs, sec->nrec, fsize, (void **)&up, err, errlen);
	if (ret)
		return ret;
	for (uint32_t j = 1; j < sec->nrec; j++)
		if (cmp(up + (j - 1) * size, up + j * size) >= 0) {
			free(up);
			return fail(err, errlen, -EINVAL, "a section of %s is not in key order",
				    rec_structs[sid].name);
		}
	k = *n - sec->nidx + sec->nrec;
	if (k && !(out = malloc(k * size))) {
		free(up);
		return fail(err, errlen, -ENOMEM, "out of memory");
	}
	k = merge(out, *arr, *n, idx, sec->nidx, up, sec->nrec, size, cmp);
	free(up);
	if (k != sec->length) {
		free(out);
		return fail(err, errlen, -EINVAL, "a section of %s does not add up to its length",
			    rec_structs[sid].name);
	}
	if (!shared(rec, *arr, sid))
		free(*arr);
	*arr = out;
	*n = k;
	return 0;
}

/* Version 2: after the header, a section per array that changed, in description order. */
static int read_sections(struct recording *rec, const unsigned char *p, size_t len, char *err,
			 size_t errlen)
{
	struct rec_reader *rd = rec->rd;
	int64_t last = -1;
	struct rec_section sec;
	int ret = 0;

	while (len && !ret) {
		const struct file_struct *fs;
		uint64_t need;

		if (len < sizeof(sec))
			return fail(err, errlen, -EINVAL, "a snapshot block ends inside a section");
		memcpy(&sec, p, sizeof(sec));
		p += sizeof(sec);
		len -= sizeof(sec);
		if (sec.sid >= rd->nfile || (int64_t)sec.sid <= last)
			return fail(err, errlen, -EINVAL,
				    "a snapshot block's sections are damaged or out of order");
		last = sec.sid;
		fs = &rd->file[sec.sid];
		need = (uint64_t)sec.nidx * 4 + (uint64_t)sec.nrec * fs->st.size;
		if (need > len)
			return fail(err, errlen, -EINVAL, "a section's counts exceed its block");
		if (fs->sid == RS_THREAD)
			ret = apply_threads(rec, &sec, p, p + sec.nidx * 4, fs->st.size, err,
					    errlen);
		else if (fs->sid >= 0 && is_keyed(fs->sid))
			ret = apply_keyed(rec, fs->sid, &sec, p, p + sec.nidx * 4, fs->st.size, err,
					  errlen);
		else if (fs->sid >= 0)
			return fail(err, errlen, -EINVAL, "a snapshot block holds a section of %s",
				    fs->st.name);
		p += need;
		len -= need;
	}
	return ret;
}

/*
 * What the model takes for granted of a snapshot, made true of one read
 * from a file: strings end, arrays are in key order.
 */
static void sanitize(struct snapshot *s)
{
	for (uint32_t i = 0; i < s->nthreads; i++)
		s->threads[i].comm[CT_COMM_LEN - 1] = 0;
	for (size_t i = 0; i < s->nnames; i++)
		s->names[i].comm[CT_COMM_LEN - 1] = 0;
	for (size_t i = 0; i < s->nprocs; i++) {
		s->procs[i].comm[CT_COMM_LEN - 1] = 0;
		s->procs[i].cmdline[SNAP_CMDLINE_LEN - 1] = 0;
	}
	for (size_t i = 0; i < s->nsyms; i++)
		s->syms[i].name[SNAP_SYM_LEN - 1] = 0;
	/* Printed and put in JSON as they are: made printable as when read live. */
	for (size_t i = 0; i < s->npynames; i++)
		snapshot_clean_pyname(s->pynames[i].name, sizeof(s->pynames[i].name));
	snapshot_normalize(s);
}

/* The snapshot read: its header's part, and the metadata it changes. */
static int finish(struct recording *rec, const struct rec_snap *h, char *err, size_t errlen)
{
	struct rec_frame *f = &rec->cur;
	struct report_meta *m = &rec->meta;

	f->kind = (enum record_kind)h->kind;
	f->s.ts = h->ts;
	f->s.counters = h->counters;
	f->s.schema = &rec->rd->schema;
	/* The figures a file older than them lacks: null in the report, not 0. */
	f->s.fig_absent = 0;
	for (int i = 0; i < FIG_COUNT; i++)
		if (!record_has_field(&f->s, "ct_thread", fig_table[i].name))
			f->s.fig_absent |= 1ULL << i;
	f->s.drop_absent = 0;
	for (int i = 0; i < DROP_COUNT; i++) {
		char name[64];

		snprintf(name, sizeof(name), "counters.%s", drop_table[i].name);
		if (!record_has_field(&f->s, "snapshot", name))
			f->s.drop_absent |= 1ULL << i;
	}
	f->s.natives_absent = !record_has_field(&f->s, "snap_native", "samples");
	f->s.claimed_late_absent = !record_has_field(&f->s, "snapshot", "counters.claimed_late");
	f->holds_probed = h->holds_probed;
	f->holds_unprobed = h->holds_unprobed;
	f->exit_status = h->exit_status;
	f->exit_signal = h->exit_signal;
	memcpy(f->names_missing, h->names_missing, sizeof(f->names_missing));
	f->names_missing[sizeof(f->names_missing) - 1] = '\0';
	sanitize(&f->s);
	if (vec_reserve(rec->gil, rec->gilcap, f->ngil))
		return fail(err, errlen, -ENOMEM, "out of memory");
	for (size_t i = 0; i < f->ngil; i++)
		gil_from_rec(&rec->gil[i], &f->gil[i]);
	m->holds_probed = f->holds_probed;
	m->holds_unprobed = f->holds_unprobed;
	m->exit_status = f->exit_status;
	m->exit_signal = f->exit_signal;
	memcpy(m->names_missing, f->names_missing, sizeof(m->names_missing));
	m->names_unknown = !record_has_field(&f->s, "snapshot", "names_missing");
	m->ngil = f->ngil;
	m->gil = f->ngil ? rec->gil : NULL;
	m->truncated = false;
	if (!rec->nsnaps)
		rec->rd->started = f->kind == RECORD_START;
	rec->nsnaps++;
	rec->final = f->kind == RECORD_FINAL;
	return 0;
}

static int read_snap(struct recording *rec, const unsigned char *raw, size_t len, char *err,
		     size_t errlen)
{
	const struct rec_map *hm = &rec->rd->schema.maps[RS_SNAP];
	struct rec_snap h;
	int ret;

	if (len < hm->file_size)
		return fail(err, errlen, -EINVAL, "a snapshot block is too short");
	ret = rec_map_read(hm, &h, raw, err, errlen);
	if (!ret)
		ret = check_order(rec, &h, err, errlen);
	if (ret)
		return ret;
	advance(rec);
	if (rec->format == 1)
		ret = read_arrays_v1(rec, raw, len, err, errlen);
	else
		ret = read_sections(rec, raw + hm->file_size, len - hm->file_size, err, errlen);
	return ret ? ret : finish(rec, &h, err, errlen);
}

/* Opening */

static int read_header(struct recording *rec, char *err, size_t errlen)
{
	const struct rec_struct *v1[RS_COUNT];
	struct rec_reader *rd = rec->rd;
	struct rec_header h;
	int ret;

	if (rd->size < sizeof(h))
		return fail(err, errlen, -EINVAL,
			    rd->size ? "not a contrace recording" : "empty file");
	ret = read_at(rd, &h, sizeof(h), err, errlen);
	if (ret)
		return ret;
	if (memcmp(h.magic, magic, sizeof(magic)))
		return fail(err, errlen, -EINVAL, "not a contrace recording");
	rec->format = h.version;
	if (h.version == 2)
		return 0;
	if (h.version != 1)
		return fail(err, errlen, -EINVAL,
			    "recording format version %u; this contrace reads versions 1 and 2",
			    h.version);
	if (h.layout != RECORD_V1_LAYOUT)
		return fail(err, errlen, -EINVAL,
			    "recorded by another build of contrace (its data layout differs)");
	/* Version 1 has none of the structs added since. */
	for (int i = 0; i < RS_COUNT; i++)
		v1[i] = i < RS_COUNT_V1 ? &rec_structs_v1[i] : NULL;
	return build_maps(rd, v1, false, err, errlen);
}

/* The header, the descriptions (version 2) and the metadata. */
static int open_blocks(struct recording *rec, char *err, size_t errlen)
{
	struct rec_reader *rd = rec->rd;
	bool have_desc = rec->format == 1, partial;
	unsigned char *raw;
	uint32_t type;
	size_t len;
	int ret;

	for (;;) {
		ret = read_block(rd, &type, &raw, &len, &partial, err, errlen);
		if (ret <= 0)
			return ret ? ret :
				     fail(err, errlen, -EINVAL,
					  "no metadata: the recording was cut off at its start");
		if ((type == BLK_DESC || type == BLK_EVENTS) && rec->format == 1)
			return fail(err, errlen, -EINVAL, "a block of unknown type");
		if (type == BLK_EVENTS)
			return fail(err, errlen, -EINVAL, "timeline events before the metadata");
		if (type == BLK_DESC && have_desc)
			return fail(err, errlen, -EINVAL, "a second description block");
		if (type == BLK_DESC) {
			ret = parse_desc(rd, raw, len, err, errlen);
			have_desc = true;
		} else if (type == BLK_SNAP) {
			return fail(err, errlen, -EINVAL, "a snapshot before the metadata");
		} else if (!have_desc) {
			return fail(err, errlen, -EINVAL, "the metadata before the description");
		} else {
			return read_meta(rec, raw, len, err, errlen);
		}
		if (ret)
			return ret;
	}
}

static int open_common(struct recording *rec, char *err, size_t errlen)
{
	char msg[256];
	int ret;

	ret = read_header(rec, msg, sizeof(msg));
	if (!ret)
		ret = open_blocks(rec, msg, sizeof(msg));
	if (!ret)
		return 0;
	if (rec->rd->path)
		snprintf(err, errlen, "%s: %s", rec->rd->path, msg);
	else
		snprintf(err, errlen, "%s", msg);
	record_free(rec);
	return ret;
}

static int new_reader(struct recording *rec, char *err, size_t errlen)
{
	memset(rec, 0, sizeof(*rec));
	rec->rd = calloc(1, sizeof(*rec->rd));
	if (!rec->rd)
		return fail(err, errlen, -ENOMEM, "out of memory");
	rec->rd->fd = -1;
	return 0;
}

int record_open_mem(const void *data, size_t len, struct recording *rec, char *err, size_t errlen)
{
	int ret = new_reader(rec, err, errlen);

	if (ret)
		return ret;
	rec->rd->mem = data ? data : (const void *)"";
	rec->rd->size = len;
	return open_common(rec, err, errlen);
}

int record_open(const char *path, struct recording *rec, char *err, size_t errlen)
{
	int ret = new_reader(rec, err, errlen);

	if (ret)
		return ret;
	rec->rd->path = path;
	ret = input_open(path, &rec->rd->fd, &rec->rd->size, err, errlen);
	if (ret) {
		record_free(rec);
		return ret;
	}
	return open_common(rec, err, errlen);
}

/* Reading on */

/* An event block: each record mapped onto this build's struct, given to rec->on_event. */
static int read_events(struct recording *rec, const unsigned char *raw, size_t len, char *err,
		       size_t errlen)
{
	struct rec_reader *rd = rec->rd;
	const struct rec_map *m = &rd->schema.maps[RS_EVENT];
	struct rec_events_head h;
	struct ct_tl_event e;
	int ret;

	if (rec->format == 1)
		return fail(err, errlen, -EINVAL, "a block of unknown type");
	if (len < sizeof(h))
		return fail(err, errlen, -EINVAL, "an event block is too short");
	memcpy(&h, raw, sizeof(h));
	if (h.sid >= rd->nfile || rd->file[h.sid].sid != RS_EVENT || !m->file_size)
		return fail(err, errlen, -EINVAL, "an event block of undescribed records");
	if ((uint64_t)h.count * m->file_size != len - sizeof(h))
		return fail(err, errlen, -EINVAL,
			    "an event block's count does not match its length");
	for (uint32_t i = 0; i < h.count; i++) {
		ret = rec_map_read(m, &e, raw + sizeof(h) + (size_t)i * m->file_size, err, errlen);
		if (ret)
			return ret;
		ret = rec->on_event ? rec->on_event(rec->event_ctx, &e) : 0;
		if (ret)
			return fail(err, errlen, ret, "%s", strerror(-ret));
		rec->nevents++;
	}
	return 0;
}

static int next_block(struct recording *rec, char *err, size_t errlen)
{
	struct rec_reader *rd = rec->rd;
	unsigned char *raw;
	uint32_t type;
	size_t len;
	bool partial;
	int ret;

	do {
		if (rec->final && rd->off < rd->size)
			return fail(err, errlen, -EINVAL, "data after the final snapshot");
		ret = read_block(rd, &type, &raw, &len, &partial, err, errlen);
		if (ret < 0)
			return ret;
		if (!ret) {
			rec->truncated = partial || !rec->final;
			return 0;
		}
		if (type == BLK_EVENTS)
			ret = read_events(rec, raw, len, err, errlen);
		if (ret < 0)
			return ret;
	} while (type == BLK_EVENTS);
	if (type == BLK_META)
		return fail(err, errlen, -EINVAL, "a second metadata block");
	if (type == BLK_DESC)
		return fail(err, errlen, -EINVAL,
			    rec->format == 1 ? "a block of unknown type" :
					       "a description block after the metadata");
	ret = read_snap(rec, raw, len, err, errlen);
	return ret ? ret : 1;
}

int record_next(struct recording *rec, char *err, size_t errlen)
{
	char msg[256];
	int ret = next_block(rec, msg, sizeof(msg));

	if (ret >= 0)
		return ret;
	if (rec->rd->path)
		snprintf(err, errlen, "%s: %s", rec->rd->path, msg);
	else
		snprintf(err, errlen, "%s", msg);
	return ret;
}

void record_free(struct recording *rec)
{
	struct rec_reader *rd = rec->rd;

	frame_free(&rec->cur, &rec->base);
	frame_free(&rec->base, NULL);
	free(rec->gil);
	if (rd) {
		if (rd->fd >= 0)
			close(rd->fd);
		for (int i = 0; i < RS_COUNT; i++)
			rec_map_free(&rd->schema.maps[i]);
		free(rd->file);
		free(rd->fields);
		free(rd->names);
		free(rd->comp);
		free(rd->raw);
		free(rd);
	}
	memset(rec, 0, sizeof(*rec));
}

int record_parse(const void *data, size_t len, struct recording *rec, char *err, size_t errlen)
{
	int ret = record_open_mem(data, len, rec, err, errlen);

	while (ret == 0 && (ret = record_next(rec, err, errlen)) > 0)
		ret = 0;
	if (!ret && !rec->nsnaps)
		ret = fail(err, errlen, -EINVAL,
			   "no snapshot: the recording was cut off before any");
	if (ret)
		record_free(rec);
	return ret;
}

bool record_is(const void *data, size_t len)
{
	return len >= sizeof(magic) && !memcmp(data, magic, sizeof(magic));
}

bool record_has_field(const struct snapshot *s, const char *strct, const char *field)
{
	const struct rec_field *f;
	int sid;

	if (!s->schema)
		return true;
	sid = local_sid(strct);
	f = sid >= 0 ? rec_find_field(&rec_structs[sid], field) : NULL;
	return f && !s->schema->maps[sid].absent[f - rec_structs[sid].fields];
}

int record_total(struct recording *rec, struct report *r)
{
	/* Cut short before its first report: nothing to report. */
	if (!rec->nsnaps || rec->cur.kind == RECORD_START)
		return -ENODATA;
	rec->meta.truncated = rec->truncated;
	return model_build(r, &rec->meta, &rec->cur.s, NULL);
}
