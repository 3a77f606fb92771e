// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "readfile.h"
#include "record.h"

static const char magic[8] = { 'C', 'O', 'N', 'T', 'R', 'A', 'C', 'E' };

struct rec_header {
	char magic[8];
	uint32_t version;
	uint32_t layout; /* sizes of the structs stored raw: a build with others cannot read them */
	uint64_t reserved;
};

enum { BLK_META = 1, BLK_SNAP = 2 };

struct rec_block {
	uint32_t type;
	uint32_t raw_len;
	uint32_t comp_len;
	uint32_t crc; /* CRC-32 of the raw (uncompressed) bytes */
};

struct rec_meta {
	char version[32];
	char kernel[65];
	char hostname[65];
	char command[1024];
	char pad0[6];
	int32_t ncpus;
	int32_t target_pid;
	uint8_t launched, follow, syscalls, locks, holds, pad1[3];
	uint64_t locks_min_wait_ns;
	uint64_t trace_start_ns;
	uint64_t trace_start_real_ns;
};

/* The arrays of a snapshot, in the order they are stored. */
enum {
	A_THREADS,
	A_SYS,
	A_WAKERS,
	A_NAMES,
	A_PROCS,
	A_LOCKS,
	A_EDGES,
	A_SITES,
	A_SYMS,
	A_HISTS,
	A_GIL,
	A_COUNT
};

struct rec_snap {
	uint64_t ts;
	struct ct_counters counters;
	uint64_t holds_probed;
	uint64_t holds_unprobed;
	int32_t exit_status;
	int32_t exit_signal;
	uint32_t kind; /* enum record_kind */
	uint32_t pad;
	uint64_t n[A_COUNT];
};

static const size_t elem_size[A_COUNT] = {
	sizeof(struct ct_thread),    sizeof(struct snap_sys),	  sizeof(struct snap_waker),
	sizeof(struct snap_name),    sizeof(struct snap_proc),	  sizeof(struct snap_lock),
	sizeof(struct snap_edge),    sizeof(struct snap_site),	  sizeof(struct snap_sym),
	sizeof(struct snap_gilhist), sizeof(struct rpt_gil_info),
};

static uint32_t layout_hash(void)
{
	uint32_t h = 2166136261u;

	for (int i = 0; i < A_COUNT; i++)
		h = (h ^ (uint32_t)elem_size[i]) * 16777619u;
	h = (h ^ (uint32_t)sizeof(struct rec_snap)) * 16777619u;
	return (h ^ (uint32_t)sizeof(struct rec_meta)) * 16777619u;
}

/* Writing */

static int put_block(struct recorder *r, uint32_t type, const void *raw, size_t len, char *err,
		     size_t errlen)
{
	struct rec_block b = { .type = type, .raw_len = (uint32_t)len };
	uLongf clen = compressBound((uLong)len);
	Bytef *c;
	int ret = 0;

	if (len > RECORD_MAX_BLOCK) {
		snprintf(err, errlen, "%s: a snapshot of %zu bytes is too large to record", r->path,
			 len);
		return -EFBIG;
	}
	c = malloc(clen ? clen : 1);
	if (!c)
		return -ENOMEM;
	if (compress2(c, &clen, raw, (uLong)len, 6) != Z_OK) {
		free(c);
		snprintf(err, errlen, "%s: zlib compression failed", r->path);
		return -EIO;
	}
	b.comp_len = (uint32_t)clen;
	b.crc = (uint32_t)crc32(0L, raw, (uInt)len);
	if (fwrite(&b, sizeof(b), 1, r->f) != 1 || fwrite(c, 1, clen, r->f) != clen ||
	    fflush(r->f)) {
		ret = -errno ? -errno : -EIO;
		snprintf(err, errlen, "cannot write the recording '%s': %s", r->path,
			 strerror(-ret));
	}
	free(c);
	return ret;
}

int record_create(struct recorder *r, const char *path, char *err, size_t errlen)
{
	char msg[256];
	int ret;

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

int record_begin(struct recorder *r, const struct report_meta *m, char *err, size_t errlen)
{
	struct rec_header h = { .version = RECORD_VERSION, .layout = layout_hash() };
	const char *path = r->path;
	struct rec_meta rm;
	int ret;

	memset(&rm, 0, sizeof(rm));
	memcpy(h.magic, magic, sizeof(magic));
	snprintf(rm.version, sizeof(rm.version), "%s", m->version);
	memcpy(rm.kernel, m->kernel, sizeof(rm.kernel));
	memcpy(rm.hostname, m->hostname, sizeof(rm.hostname));
	memcpy(rm.command, m->command, sizeof(rm.command));
	rm.ncpus = m->ncpus;
	rm.target_pid = m->target_pid;
	rm.launched = m->launched;
	rm.follow = m->follow;
	rm.syscalls = m->syscalls;
	rm.locks = m->locks;
	rm.holds = m->holds;
	rm.locks_min_wait_ns = m->locks_min_wait_ns;
	rm.trace_start_ns = m->trace_start_ns;
	rm.trace_start_real_ns = m->trace_start_real_ns;
	if (fwrite(&h, sizeof(h), 1, r->f) != 1) {
		snprintf(err, errlen, "cannot write the recording '%s': %s", path, strerror(errno));
		return -EIO;
	}
	ret = put_block(r, BLK_META, &rm, sizeof(rm), err, errlen);
	if (ret)
		return ret;
	ret = outfile_publish(&r->out, err, errlen);
	if (ret)
		snprintf(err, errlen, "cannot write the recording '%s': %s", path, strerror(-ret));
	r->begun = !ret;
	return ret;
}

int record_snapshot(struct recorder *r, const struct snapshot *s, const struct report_meta *m,
		    enum record_kind kind, char *err, size_t errlen)
{
	const void *arrays[A_COUNT] = { s->threads, s->sys,	 s->wakers, s->names,
					s->procs,   s->locks,	 s->edges,  s->sites,
					s->syms,    s->gilhists, m->gil };
	struct rec_snap h;
	size_t len;
	char *buf, *p;
	int ret;

	memset(&h, 0, sizeof(h));
	h.ts = s->ts;
	h.counters = s->counters;
	h.holds_probed = m->holds_probed;
	h.holds_unprobed = m->holds_unprobed;
	h.exit_status = m->exit_status;
	h.exit_signal = m->exit_signal;
	h.kind = kind;
	h.n[A_THREADS] = s->nthreads;
	h.n[A_SYS] = s->nsys;
	h.n[A_WAKERS] = s->nwakers;
	h.n[A_NAMES] = s->nnames;
	h.n[A_PROCS] = s->nprocs;
	h.n[A_LOCKS] = s->nlocks;
	h.n[A_EDGES] = s->nedges;
	h.n[A_SITES] = s->nsites;
	h.n[A_SYMS] = s->nsyms;
	h.n[A_HISTS] = s->ngilhists;
	h.n[A_GIL] = m->ngil;
	len = sizeof(h);
	for (int i = 0; i < A_COUNT; i++)
		len += h.n[i] * elem_size[i];
	buf = malloc(len);
	if (!buf)
		return -ENOMEM;
	memcpy(buf, &h, sizeof(h));
	p = buf + sizeof(h);
	for (int i = 0; i < A_COUNT; i++) {
		if (h.n[i])
			memcpy(p, arrays[i], h.n[i] * elem_size[i]);
		p += h.n[i] * elem_size[i];
	}
	ret = put_block(r, BLK_SNAP, buf, len, err, errlen);
	free(buf);
	return ret;
}

int record_close(struct recorder *r, char *err, size_t errlen)
{
	char msg[256];
	int ret = 0;

	if (!r->f)
		return 0;
	if (!r->begun) {
		outfile_abort(&r->out);
	} else {
		ret = outfile_close(&r->out, msg, sizeof(msg));
		if (ret)
			snprintf(err, errlen, "cannot write the recording '%s': %s", r->path,
				 strerror(-ret));
	}
	r->f = NULL;
	return ret;
}

/* Reading */

void record_free(struct recording *rec)
{
	for (size_t i = 0; i < rec->nsnaps; i++)
		snapshot_free(&rec->snaps[i]);
	free(rec->snaps);
	free(rec->dyn);
	free(rec->kinds);
	free(rec->gil);
	memset(rec, 0, sizeof(*rec));
}

void record_meta_at(struct recording *rec, size_t i)
{
	const struct record_dyn *d = &rec->dyn[i];

	rec->meta.holds_probed = d->holds_probed;
	rec->meta.holds_unprobed = d->holds_unprobed;
	rec->meta.exit_status = d->exit_status;
	rec->meta.exit_signal = d->exit_signal;
	rec->meta.ngil = d->ngil;
	rec->meta.gil = d->ngil ? rec->gil + d->gil_first : NULL;
}

bool record_is(const void *data, size_t len)
{
	return len >= sizeof(magic) && !memcmp(data, magic, sizeof(magic));
}

int record_total(struct recording *rec, struct report *r)
{
	size_t last;

	/* Cut short before its first report: nothing to report. */
	if (!rec->nsnaps || rec->kinds[rec->nsnaps - 1] == RECORD_START)
		return -ENODATA;
	last = rec->nsnaps - 1;
	record_meta_at(rec, last);
	rec->meta.truncated = rec->truncated;
	return model_build(r, &rec->meta, &rec->snaps[last], NULL);
}

static int bad(char *err, size_t errlen, const char *what)
{
	snprintf(err, errlen, "%s", what);
	return -EINVAL;
}

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
	m->launched = rm->launched;
	m->follow = rm->follow;
	m->syscalls = rm->syscalls;
	m->locks = rm->locks;
	m->holds = rm->holds;
	m->locks_min_wait_ns = rm->locks_min_wait_ns;
	m->trace_start_ns = rm->trace_start_ns;
	m->trace_start_real_ns = rm->trace_start_real_ns;
	m->exit_status = -1;
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
	snapshot_normalize(s);
}

/* One snapshot block's payload into a new snapshot of rec. */
static int add_snap(struct recording *rec, const char *raw, size_t len, char *err, size_t errlen)
{
	struct snapshot *s, *ns;
	struct record_dyn *nd;
	struct rec_snap h;
	size_t need = sizeof(h);
	void **dst[A_COUNT];
	const char *p;

	if (len < sizeof(h))
		return bad(err, errlen, "a snapshot block is too short");
	memcpy(&h, raw, sizeof(h));
	for (int i = 0; i < A_COUNT; i++) {
		if (h.n[i] > (len - sizeof(h)) / elem_size[i])
			return bad(err, errlen, "a snapshot block's counts exceed its length");
		need += h.n[i] * elem_size[i];
		if (need > len)
			return bad(err, errlen, "a snapshot block's counts exceed its length");
	}
	if (need != len)
		return bad(err, errlen, "a snapshot block's length does not match its counts");
	if (h.n[A_THREADS] > UINT32_MAX)
		return bad(err, errlen, "a snapshot block has too many threads");
	ns = realloc(rec->snaps, (rec->nsnaps + 1) * sizeof(*ns));
	if (!ns)
		return -ENOMEM;
	rec->snaps = ns;
	{
		enum record_kind *nk = realloc(rec->kinds, (rec->nsnaps + 1) * sizeof(*nk));

		if (!nk)
			return -ENOMEM;
		rec->kinds = nk;
	}
	nd = realloc(rec->dyn, (rec->nsnaps + 1) * sizeof(*nd));
	if (!nd)
		return -ENOMEM;
	rec->dyn = nd;
	s = &rec->snaps[rec->nsnaps];
	memset(s, 0, sizeof(*s));
	s->ts = h.ts;
	s->counters = h.counters;
	s->nthreads = (uint32_t)h.n[A_THREADS];
	s->nsys = h.n[A_SYS];
	s->nwakers = h.n[A_WAKERS];
	s->nnames = h.n[A_NAMES];
	s->nprocs = h.n[A_PROCS];
	s->nlocks = h.n[A_LOCKS];
	s->nedges = h.n[A_EDGES];
	s->nsites = h.n[A_SITES];
	s->nsyms = h.n[A_SYMS];
	s->ngilhists = h.n[A_HISTS];
	dst[A_THREADS] = (void **)&s->threads;
	dst[A_SYS] = (void **)&s->sys;
	dst[A_WAKERS] = (void **)&s->wakers;
	dst[A_NAMES] = (void **)&s->names;
	dst[A_PROCS] = (void **)&s->procs;
	dst[A_LOCKS] = (void **)&s->locks;
	dst[A_EDGES] = (void **)&s->edges;
	dst[A_SITES] = (void **)&s->sites;
	dst[A_SYMS] = (void **)&s->syms;
	dst[A_HISTS] = (void **)&s->gilhists;
	p = raw + sizeof(h);
	rec->nsnaps++;
	nd = &rec->dyn[rec->nsnaps - 1];
	memset(nd, 0, sizeof(*nd));
	for (int i = 0; i < A_GIL; i++) {
		size_t bytes = h.n[i] * elem_size[i];

		if (bytes) {
			*dst[i] = malloc(bytes);
			if (!*dst[i])
				return -ENOMEM;
			memcpy(*dst[i], p, bytes);
		}
		p += bytes;
	}
	if (h.n[A_GIL]) {
		struct rpt_gil_info *g =
			realloc(rec->gil, (rec->ngil_all + h.n[A_GIL]) * sizeof(*g));

		if (!g)
			return -ENOMEM;
		rec->gil = g;
		memcpy(g + rec->ngil_all, p, h.n[A_GIL] * sizeof(*g));
		for (size_t i = 0; i < h.n[A_GIL]; i++) {
			struct rpt_gil_info *x = &g[rec->ngil_all + i];

			x->file[sizeof(x->file) - 1] = 0;
			x->version[sizeof(x->version) - 1] = 0;
			x->why[sizeof(x->why) - 1] = 0;
			if (x->tier > RPT_GIL_FUTEX)
				x->tier = RPT_GIL_NONE;
		}
		nd->gil_first = rec->ngil_all;
		nd->ngil = h.n[A_GIL];
		rec->ngil_all += h.n[A_GIL];
	}
	nd->holds_probed = h.holds_probed;
	nd->holds_unprobed = h.holds_unprobed;
	nd->exit_status = h.exit_status;
	nd->exit_signal = h.exit_signal;
	if (h.kind > RECORD_FINAL || rec->final)
		return bad(err, errlen, "a snapshot of unknown kind, or after the final one");
	rec->kinds[rec->nsnaps - 1] = (enum record_kind)h.kind;
	rec->final = h.kind == RECORD_FINAL;
	sanitize(s);
	return 0;
}

int record_parse(const void *data, size_t len, struct recording *rec, char *err, size_t errlen)
{
	const unsigned char *d = data, *end = d + len;
	struct rec_header h;
	bool have_meta = false;
	int ret = 0;

	memset(rec, 0, sizeof(*rec));
	if (len < sizeof(h) || memcmp(d, magic, sizeof(magic)))
		return bad(err, errlen, len ? "not a contrace recording" : "empty file");
	memcpy(&h, d, sizeof(h));
	if (h.version != RECORD_VERSION) {
		snprintf(err, errlen, "recording format version %u; this contrace reads version %d",
			 h.version, RECORD_VERSION);
		return -EINVAL;
	}
	if (h.layout != layout_hash())
		return bad(err, errlen,
			   "recorded by another build of contrace (its data layout differs)");
	d += sizeof(h);
	while (d < end) {
		struct rec_block b;
		unsigned char *raw;
		uLongf rlen;

		if ((size_t)(end - d) < sizeof(b)) {
			rec->truncated = true;
			break;
		}
		memcpy(&b, d, sizeof(b));
		d += sizeof(b);
		if (b.raw_len > RECORD_MAX_BLOCK ||
		    (uint64_t)b.raw_len > (uint64_t)b.comp_len * 1100 + 1024) {
			ret = bad(err, errlen, "a block has an absurd length");
			break;
		}
		if (b.type != BLK_META && b.type != BLK_SNAP) {
			ret = bad(err, errlen, "a block of unknown type");
			break;
		}
		if ((size_t)(end - d) < b.comp_len) {
			rec->truncated = true;
			break;
		}
		raw = malloc(b.raw_len ? b.raw_len : 1);
		if (!raw) {
			ret = -ENOMEM;
			snprintf(err, errlen, "out of memory");
			break;
		}
		rlen = b.raw_len;
		if (uncompress(raw, &rlen, d, b.comp_len) != Z_OK || rlen != b.raw_len) {
			free(raw);
			ret = bad(err, errlen, "a block's zlib data is corrupt");
			break;
		}
		d += b.comp_len;
		if ((uint32_t)crc32(0L, raw, (uInt)rlen) != b.crc) {
			free(raw);
			ret = bad(err, errlen, "a block's checksum does not match");
			break;
		}
		if (b.type == BLK_META) {
			if (have_meta || rlen != sizeof(struct rec_meta)) {
				free(raw);
				ret = bad(err, errlen, "a bad metadata block");
				break;
			}
			set_meta(rec, (const struct rec_meta *)raw);
			have_meta = true;
		} else if (!have_meta) {
			free(raw);
			ret = bad(err, errlen, "a snapshot before the metadata");
			break;
		} else {
			ret = add_snap(rec, (const char *)raw, rlen, err, errlen);
		}
		free(raw);
		if (ret)
			break;
	}
	if (!ret && !have_meta)
		ret = bad(err, errlen, "no metadata: the recording was cut off at its start");
	if (!ret && !rec->nsnaps)
		ret = bad(err, errlen, "no snapshot: the recording was cut off before any");
	if (ret) {
		if (ret == -ENOMEM)
			snprintf(err, errlen, "out of memory");
		record_free(rec);
		return ret;
	}
	if (!rec->final)
		rec->truncated = true;
	record_meta_at(rec, rec->nsnaps - 1);
	return 0;
}

int record_read(const char *path, struct recording *rec, char *err, size_t errlen)
{
	char msg[256], *buf;
	size_t len;
	int ret;

	memset(rec, 0, sizeof(*rec));
	ret = read_file(path, &buf, &len, err, errlen);
	if (ret)
		return ret;
	ret = record_parse(buf, len, rec, msg, sizeof(msg));
	free(buf);
	if (ret)
		snprintf(err, errlen, "%s: %s", path, msg);
	return ret;
}
