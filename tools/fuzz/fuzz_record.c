// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer target for the recording reader: any bytes must give either
 * reports or a one-line error, never a crash, a hang or an unbounded
 * allocation; every snapshot read is built into a report (the model
 * trusts what the reader hands it) and rendered, as `contrace report`
 * does.
 *
 * Its mutator knows the format (recedit.h): it inflates a block, changes
 * its bytes or one of its fields (a header's, a section's, a record's, as
 * the file's description places them) and deflates it again with a valid
 * checksum; or it drops, repeats or swaps whole blocks. Mutating the
 * compressed bytes alone almost never gets past the CRC.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/model.h"
#include "store/record.h"
#include "out/report_json.h"
#include "out/report_text.h"
#include "recedit.h"

size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max);

static FILE *null_out;

static void render(const struct snapshot *cur, const struct snapshot *prev,
		   const struct report_meta *m, bool interval)
{
	struct text_opts to = { .top = 10, .verbose = 1 };
	struct report r;

	if (model_build(&r, m, cur, prev))
		return;
	r.interval = interval;
	report_text(null_out, &r, &to);
	report_json(null_out, &r, !interval);
	model_free(&r);
}

/* A message is always given, one line. */
static void check_message(const char *err)
{
	if (!err[0] || strchr(err, '\n'))
		__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct recording rec;
	struct report r;
	char err[256];
	int ret;

	if (!null_out)
		null_out = fopen("/dev/null", "w");
	if (record_open_mem(data, size, &rec, err, sizeof(err))) {
		check_message(err);
		return 0;
	}
	while ((ret = record_next(&rec, err, sizeof(err))) > 0)
		render(&rec.cur.s,
		       rec.cur.kind == RECORD_INTERVAL && rec.has_base ? &rec.base.s : NULL,
		       &rec.meta, rec.cur.kind == RECORD_INTERVAL);
	if (ret < 0)
		check_message(err);
	else if (!record_total(&rec, &r)) {
		report_json(null_out, &r, true);
		model_free(&r);
	}
	record_free(&rec);
	return 0;
}

/* The mutator */

static uint64_t rnd_state;

static uint64_t rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return rnd_state;
}

/* Where the fields of a struct lie, from a version 2 file's description block. */
struct dstruct {
	char name[REC_NAME_LEN];
	uint32_t size, nfields;
	const unsigned char *fields; /* in the description block */
};

#define DMAX 64

static size_t describe(const struct recedit *e, struct dstruct *ds)
{
	const unsigned char *p, *end;
	uint32_t n;
	size_t k = 0;

	if (!e->n || e->b[0].type != 3 || e->b[0].opaque || e->b[0].len < 8)
		return 0;
	p = e->b[0].data + 8;
	end = e->b[0].data + e->b[0].len;
	n = recedit_u32(e->b[0].data);
	while (k < n && k < DMAX && end - p >= REC_NAME_LEN + 8) {
		memcpy(ds[k].name, p, REC_NAME_LEN);
		ds[k].name[REC_NAME_LEN - 1] = 0;
		ds[k].size = recedit_u32(p + REC_NAME_LEN);
		ds[k].nfields = recedit_u32(p + REC_NAME_LEN + 4);
		p += REC_NAME_LEN + 8;
		if ((size_t)(end - p) / (REC_FIELD_LEN + 16) < ds[k].nfields)
			break;
		ds[k].fields = p;
		p += (size_t)ds[k].nfields * (REC_FIELD_LEN + 16);
		k++;
	}
	return k;
}

/* A value a parser is likely to mishandle, for a field of `width` bytes. */
static uint64_t interesting(uint64_t old, unsigned width)
{
	static const uint64_t v[] = { 0,	  1,	      2,
				      3,	  4,	      7,
				      16,	  255,	      256,
				      0x7fff,	  0xffff,     0x7fffffff,
				      0x80000000, 0xffffffff, 0x7fffffffffffffffull,
				      ~0ull };

	switch (rnd() % 4) {
	case 0:
		return old + 1;
	case 1:
		return old - 1;
	case 2:
		return old ^ (1ull << (rnd() % (width * 8)));
	default:
		return v[rnd() % (sizeof(v) / sizeof(v[0]))];
	}
}

static void poke(unsigned char *p, unsigned width)
{
	uint64_t old = 0, v;

	memcpy(&old, p, width);
	v = interesting(old, width);
	memcpy(p, &v, width);
}

/* A field of a record of struct d at p: as the description places it. */
static void poke_field(unsigned char *p, const struct dstruct *d)
{
	const unsigned char *f;
	uint32_t type, count, offset, width;

	if (!d->nfields)
		return;
	f = d->fields + (rnd() % d->nfields) * (REC_FIELD_LEN + 16);
	type = recedit_u32(f + REC_FIELD_LEN);
	count = recedit_u32(f + REC_FIELD_LEN + 4);
	offset = recedit_u32(f + REC_FIELD_LEN + 8);
	width = type == 4 || type == 8 ? 8 :
		type == 3 || type == 7 ? 4 :
		type == 2 || type == 6 ? 2 :
					 1;
	if (!count || offset >= d->size || (uint64_t)offset + width > d->size)
		return;
	offset += (uint32_t)(rnd() % count) * width;
	if ((uint64_t)offset + width <= d->size)
		poke(p + offset, width);
}

static const struct dstruct *find(const struct dstruct *ds, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(ds[i].name, name))
			return &ds[i];
	return NULL;
}

/*
 * A field of a version 2 snapshot block: of its header, of a section's
 * header or indices, or of one of its records.
 */
static void mutate_snapshot(struct recedit_block *b, const struct dstruct *ds, size_t nds)
{
	const struct dstruct *h = find(ds, nds, "snapshot");
	unsigned char *p, *end = b->data + b->len;
	unsigned char *pick[64];
	const struct dstruct *of[64];
	size_t n = 0;

	if (!h || h->size > b->len)
		return;
	pick[n] = b->data;
	of[n++] = h;
	for (p = b->data + h->size; end - p >= 16 && n + 2 < 64;) {
		uint32_t sid = recedit_u32(p), nidx = recedit_u32(p + 8),
			 nrec = recedit_u32(p + 12);
		uint64_t need;

		pick[n] = p;
		of[n++] = NULL; /* the section header */
		p += 16;
		if (sid >= nds)
			break;
		need = (uint64_t)nidx * 4 + (uint64_t)nrec * ds[sid].size;
		if (need > (uint64_t)(end - p))
			break;
		if (nrec) {
			pick[n] = p + nidx * 4 + (rnd() % nrec) * ds[sid].size;
			of[n++] = &ds[sid];
		}
		p += need;
	}
	n = rnd() % n;
	if (of[n])
		poke_field(pick[n], of[n]);
	else
		poke(pick[n] + 4 * (rnd() % 4), 4);
}

static int mutate_block(struct recedit *e, const struct dstruct *ds, size_t nds, size_t max)
{
	struct recedit_block *b = &e->b[rnd() % e->n];
	unsigned char *nd;
	size_t cap;

	if (b->opaque)
		return -1;
	if (b->type == 2 && nds && rnd() % 2) {
		mutate_snapshot(b, ds, nds);
		return 0;
	}
	if (b->type == 1 && nds && rnd() % 2) {
		const struct dstruct *m = find(ds, nds, "meta");

		if (m && m->size <= b->len)
			poke_field(b->data, m);
		return 0;
	}
	/* Raw bytes: libFuzzer's own mutations of the inflated block. */
	cap = b->len * 2 + 64 < max ? b->len * 2 + 64 : max;
	nd = realloc(b->data, cap ? cap : 1);
	if (!nd)
		return -1;
	b->data = nd;
	b->len = LLVMFuzzerMutate(b->data, b->len, cap);
	return 0;
}

static int mutate_blocks(struct recedit *e)
{
	size_t a = rnd() % e->n, c = rnd() % e->n;
	struct recedit_block t;

	switch (rnd() % 3) {
	case 0: /* drop */
		free(e->b[a].data);
		memmove(&e->b[a], &e->b[a + 1], (e->n - a - 1) * sizeof(t));
		e->n--;
		return 0;
	case 1: /* repeat a after c */
		t = e->b[a];
		t.data = malloc(t.len ? t.len : 1);
		if (!t.data || !recedit_add(e)) {
			free(t.data);
			return -1;
		}
		memcpy(t.data, e->b[a].data, t.len);
		memmove(&e->b[c + 2], &e->b[c + 1], (e->n - c - 2) * sizeof(t));
		e->b[c + 1] = t;
		return 0;
	default: /* swap */
		t = e->b[a];
		e->b[a] = e->b[c];
		e->b[c] = t;
		return 0;
	}
}

size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max, unsigned int seed)
{
	struct dstruct ds[DMAX];
	struct recedit e;
	unsigned char *out;
	size_t n = 0, nds;
	int ret;

	rnd_state = seed * 0x9e3779b97f4a7c15ull + 1;
	/* A tenth of the time, or what is no recording: libFuzzer's own mutations. */
	if (rnd() % 10 == 0 || recedit_split(data, size, &e))
		return LLVMFuzzerMutate(data, size, max);
	if (!e.n) {
		recedit_free(&e);
		return LLVMFuzzerMutate(data, size, max);
	}
	nds = describe(&e, ds);
	ret = rnd() % 4 == 0 ? mutate_blocks(&e) : mutate_block(&e, ds, nds, max);
	out = ret ? NULL : malloc(max);
	if (out)
		n = recedit_join(&e, out, max);
	if (n)
		memcpy(data, out, n);
	free(out);
	recedit_free(&e);
	return n ? n : LLVMFuzzerMutate(data, size, max);
}

/* Blocks of one input, then blocks of the other. */
size_t LLVMFuzzerCustomCrossOver(const uint8_t *d1, size_t s1, const uint8_t *d2, size_t s2,
				 uint8_t *out, size_t max, unsigned int seed)
{
	struct recedit a, b;
	size_t n = 0, ka, kb;

	rnd_state = seed * 0x9e3779b97f4a7c15ull + 7;
	if (recedit_split(d1, s1, &a))
		return 0;
	if (recedit_split(d2, s2, &b)) {
		recedit_free(&a);
		return 0;
	}
	ka = a.n ? rnd() % (a.n + 1) : 0;
	kb = b.n ? rnd() % (b.n + 1) : 0;
	for (size_t i = kb; i < b.n; i++) {
		struct recedit_block *x = recedit_add(&a);

		if (!x)
			break;
		*x = b.b[i];
		b.b[i].data = NULL;
	}
	/* a's blocks [0, ka) then b's [kb, n): drop a's [ka, its old end). */
	{
		size_t old = a.n - (b.n - kb);

		for (size_t i = ka; i < old; i++)
			free(a.b[i].data);
		if (a.n > old)
			memmove(&a.b[ka], &a.b[old], (a.n - old) * sizeof(a.b[0]));
		a.n -= old - ka;
	}
	n = recedit_join(&a, out, max);
	recedit_free(&a);
	recedit_free(&b);
	return n;
}
