// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "out/views.h"
#include "out/json_stacks.h"
#include "out/pprof.h"
#include "util/vec.h"

/* profile.proto's field numbers. */
enum {
	PF_SAMPLE_TYPE = 1,
	PF_SAMPLE = 2,
	PF_LOCATION = 4,
	PF_FUNCTION = 5,
	PF_STRING_TABLE = 6,
	PF_TIME_NANOS = 9,
	PF_DURATION_NANOS = 10,
	PF_PERIOD_TYPE = 11,
	PF_PERIOD = 12,
	VT_TYPE = 1,
	VT_UNIT = 2,
	SM_LOCATION_ID = 1,
	SM_VALUE = 2,
	SM_LABEL = 3,
	LB_KEY = 1,
	LB_STR = 2,
	LC_ID = 1,
	LC_LINE = 4,
	LN_FUNCTION_ID = 1,
	LN_LINE = 2,
	FN_ID = 1,
	FN_NAME = 2,
	FN_SYSTEM_NAME = 3,
	FN_FILENAME = 4,
};

enum { WIRE_VARINT = 0, WIRE_LEN = 2 };

/* A protobuf message being encoded; err latches an allocation failure. */
struct pb {
	unsigned char *v;
	size_t n, cap;
	bool err;
};

static void pb_put(struct pb *b, const void *p, size_t len)
{
	if (b->err || vec_reserve(b->v, b->cap, b->n + len)) {
		b->err = true;
		return;
	}
	memcpy(b->v + b->n, p, len);
	b->n += len;
}

static void pb_varint(struct pb *b, uint64_t v)
{
	unsigned char buf[10];
	size_t n = 0;

	do {
		buf[n++] = (unsigned char)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
		v >>= 7;
	} while (v);
	pb_put(b, buf, n);
}

static void pb_uint(struct pb *b, unsigned field, uint64_t v)
{
	pb_varint(b, (uint64_t)field << 3 | WIRE_VARINT);
	pb_varint(b, v);
}

static void pb_bytes(struct pb *b, unsigned field, const void *p, size_t len)
{
	pb_varint(b, (uint64_t)field << 3 | WIRE_LEN);
	pb_varint(b, len);
	pb_put(b, p, len);
}

/* A nested message, then sub is emptied for the next one. */
static void pb_msg(struct pb *b, unsigned field, struct pb *sub)
{
	b->err |= sub->err;
	pb_bytes(b, field, sub->v, sub->n);
	sub->n = 0;
	sub->err = false;
}

/* The strings: "" first (index 0, as pprof requires), then as added (repeats allowed). */
struct strtab {
	struct pb b; /* the string_table fields, encoded */
	uint64_t n;
};

static uint64_t str_add(struct strtab *t, const char *s)
{
	pb_bytes(&t->b, PF_STRING_TABLE, s, strlen(s));
	return t->n++;
}

static void value_type(struct pb *out, struct pb *sub, struct strtab *t, unsigned field,
		       const char *type, const char *unit)
{
	pb_uint(sub, VT_TYPE, str_add(t, type));
	pb_uint(sub, VT_UNIT, str_add(t, unit));
	pb_msg(out, field, sub);
}

/*
 * A function and a location for each frame name (ids from 1), and one for
 * "[no stack]": a native frame's function and file ("FILE:function+0xOFF"),
 * a Python frame's function, file and line.
 */
static void frames(struct pb *out, struct pb *sub, struct strtab *t, const struct jstacks *js)
{
	char buf[SNAP_SYM_LEN], file[SNAP_SYM_LEN];
	struct pb line = { 0 };

	for (size_t i = 0; i <= js->nnames; i++) {
		const char *name = i < js->nnames ? js->names[i] : "[no stack]";
		const char *fn = buf, *colon = strchr(name, ':');
		unsigned lineno = 0;

		if (!python_frame(name, buf, sizeof(buf), file, sizeof(file), &lineno)) {
			snprintf(file, sizeof(file), "%.*s", colon ? (int)(colon - name) : 0, name);
			fn = frame_function(name, buf, sizeof(buf));
		}
		pb_uint(sub, FN_ID, i + 1);
		pb_uint(sub, FN_NAME, str_add(t, fn));
		pb_uint(sub, FN_SYSTEM_NAME, str_add(t, name));
		pb_uint(sub, FN_FILENAME, str_add(t, file));
		pb_msg(out, PF_FUNCTION, sub);
		pb_uint(&line, LN_FUNCTION_ID, i + 1);
		if (lineno)
			pb_uint(&line, LN_LINE, lineno);
		pb_uint(sub, LC_ID, i + 1);
		pb_msg(sub, LC_LINE, &line);
		pb_msg(out, PF_LOCATION, sub);
	}
	out->err |= line.err;
	free(line.v);
}

static void label(struct pb *sample, struct pb *lb, struct strtab *t, const char *key,
		  const char *value)
{
	pb_uint(lb, LB_KEY, str_add(t, key));
	pb_uint(lb, LB_STR, str_add(t, value));
	pb_msg(sample, SM_LABEL, lb);
}

/* What encode() hands each wait view's stack to. */
struct enc {
	struct pb *out, *sub;
	struct strtab *t;
	const struct jstacks *js;
};

/*
 * One sample: waits on a lock or in a syscall from one stack (locations
 * leaf first), of one thread (th) or of no thread in particular (th->tid 0).
 */
static void sample_of(struct enc *e, const struct view_stack *v, int64_t k,
		      const struct rpt_stack_thread *th)
{
	struct pb packed = { 0 }, lb = { 0 };
	char who[SNAP_PYNAME_LEN + CT_COMM_LEN + 16];

	if (k < 0)
		pb_varint(&packed, e->js->nnames + 1);
	for (uint32_t i = 0; k >= 0 && i < e->js->v[k].n; i++)
		pb_varint(&packed, e->js->v[k].frames[i] + 1);
	pb_bytes(e->sub, SM_LOCATION_ID, packed.v, packed.n);
	packed.n = 0;
	pb_varint(&packed, th->waits);
	pb_varint(&packed, th->wait_ns);
	pb_bytes(e->sub, SM_VALUE, packed.v, packed.n);
	label(e->sub, &lb, e->t, "process", view_proc(v, who, sizeof(who)));
	if (th->tid) {
		const struct rpt_thread *t = rpt_thread_of(v->p, th->tid);

		snprintf(who, sizeof(who), "%s (%u)", t ? rpt_thread_name(t) : "?", th->tid);
		label(e->sub, &lb, e->t, "thread", who);
	}
	label(e->sub, &lb, e->t, v->what, v->object);
	e->sub->err |= packed.err | lb.err;
	pb_msg(e->out, PF_SAMPLE, e->sub);
	free(packed.v);
	free(lb.v);
}

/*
 * A wait view's stack: a sample per thread that waited there, and one
 * without a thread for what no thread carries (the waits without a stack;
 * those of pairs past the split's bound).
 */
static int sample(void *ctx, const struct view_stack *v)
{
	struct rpt_stack_thread rest = { .waits = v->st->waits, .wait_ns = v->st->wait_ns };
	struct enc *e = ctx;
	int64_t k;

	if (v->view != VIEW_WAIT)
		return 0;
	k = jstacks_find(e->js, v->st);
	for (size_t i = 0; i < v->st->nthreads; i++) {
		sample_of(e, v, k, &v->st->threads[i]);
		rest.waits -= v->st->threads[i].waits;
		rest.wait_ns -= v->st->threads[i].wait_ns;
	}
	if (rest.waits || rest.wait_ns || !v->st->nthreads)
		sample_of(e, v, k, &rest);
	return 0;
}

static void encode(struct pb *out, struct strtab *t, const struct report *r,
		   const struct jstacks *js)
{
	struct pb sub = { 0 };
	struct enc e = { out, &sub, t, js };

	str_add(t, "");
	value_type(out, &sub, t, PF_SAMPLE_TYPE, "waits", "count");
	value_type(out, &sub, t, PF_SAMPLE_TYPE, "wait", "nanoseconds");
	each_view_stack(r, sample, &e);
	frames(out, &sub, t, js);
	pb_uint(out, PF_TIME_NANOS, r->meta->trace_start_real_ns + r->window_start_ns);
	pb_uint(out, PF_DURATION_NANOS, r->duration_ns);
	value_type(out, &sub, t, PF_PERIOD_TYPE, "wait", "nanoseconds");
	pb_uint(out, PF_PERIOD, 1);
	out->err |= sub.err;
	free(sub.v);
}

/* gzip (RFC 1952) of len bytes to f, as pprof files are. 0 or -EIO. */
static int gzip_to(FILE *f, const unsigned char *p, size_t len)
{
	unsigned char buf[65536];
	z_stream z = { 0 };
	int ret;

	/* 16 + 15: a gzip header and trailer around a 32 KiB-window deflate stream. */
	if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 16 + 15, 8, Z_DEFAULT_STRATEGY) !=
	    Z_OK)
		return -ENOMEM;
	z.next_in = (unsigned char *)p;
	z.avail_in = (uInt)len;
	do {
		z.next_out = buf;
		z.avail_out = sizeof(buf);
		ret = deflate(&z, Z_FINISH);
		if (ret == Z_STREAM_ERROR ||
		    fwrite(buf, 1, sizeof(buf) - z.avail_out, f) != sizeof(buf) - z.avail_out) {
			deflateEnd(&z);
			return -EIO;
		}
	} while (ret != Z_STREAM_END);
	deflateEnd(&z);
	return fflush(f) || ferror(f) ? -EIO : 0;
}

int report_pprof(FILE *f, const struct report *r)
{
	struct strtab t = { 0 };
	struct pb out = { 0 };
	struct jstacks js;
	int ret;

	if (jstacks_build(&js, r))
		return -ENOMEM;
	encode(&out, &t, r, &js);
	/* The strings last: fields may come in any order. */
	pb_put(&out, t.b.v, t.b.n);
	ret = out.err || t.b.err ? -ENOMEM : 0;
	if (!ret && out.n > UINT32_MAX)
		ret = -EFBIG;
	if (!ret)
		ret = gzip_to(f, out.v, out.n);
	jstacks_free(&js);
	free(out.v);
	free(t.b.v);
	return ret;
}
