// SPDX-License-Identifier: GPL-2.0-only
/*
 * Recordings: the struct descriptions cover their structs; snapshots come
 * back as written, stored as what changed; a file's fields are matched by
 * name (absent, unknown, incompatible); bools and enums are checked; blocks
 * dropped, repeated or moved are refused; inputs are regular files only.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>
#include <json-c/json.h>

#include "cli/opts.h"
#include "util/readfile.h"
#include "store/record.h"
#include "out/report_json.h"
#include "out/report_text.h"
#include "../../tools/fuzz/recedit.h"

#define DATA "tests/data/rec-0.1.0/"

#include "tmpdir.h"

TMPDIR_FIXTURE("record")

/* Every byte of each struct is one field's: a member left out of its table leaves a gap. */
static void check_table(const struct rec_struct *st, size_t n)
{
	for (size_t s = 0; s < n; s++) {
		uint32_t end = 0;

		assert_true(strlen(st[s].name) < REC_NAME_LEN);
		for (uint32_t i = 0; i < st[s].nfields; i++) {
			const struct rec_field *f = &st[s].fields[i];

			if (f->offset != end)
				fail_msg("%s.%s at %u: the fields before it end at %u", st[s].name,
					 f->name, f->offset, end);
			assert_true(strlen(f->name) < REC_FIELD_LEN);
			assert_true(f->count >= 1 && rec_type_size(f->type));
			/* Checked values are unsigned integers. */
			assert_true(!f->max || f->type <= REC_U64);
			assert_ptr_equal(rec_find_field(&st[s], f->name), f);
			end = f->offset + f->count * rec_type_size(f->type);
		}
		if (end != st[s].size)
			fail_msg("%s: its fields end at %u, it is %u bytes", st[s].name, end,
				 st[s].size);
	}
}

static void tables_cover_their_structs(void **state)
{
	(void)state;
	check_table(rec_structs, RS_COUNT);
	check_table(rec_structs_v1, RS_COUNT_V1);
	assert_int_equal(rec_structs[RS_THREAD].size, sizeof(struct ct_thread));
	assert_int_equal(rec_structs[RS_LOCK].size, sizeof(struct snap_lock));
	assert_int_equal(rec_structs[RS_GIL].size, sizeof(struct rec_gil));
	/* Arrays of structs are described element by element. */
	assert_non_null(rec_find_field(&rec_structs[RS_THREAD], "held[3].since"));
	assert_non_null(rec_find_field(&rec_structs[RS_LOCK], "st.rel[0].tid"));
	/* The same names in both versions: version 1 reads by them. */
	for (int s = 0; s < RS_COUNT_V1; s++)
		assert_string_equal(rec_structs[s].name, rec_structs_v1[s].name);
}

/* Version 1's header hash: of its array element sizes, then its snapshot header's and meta's. */
static void v1_table_is_version_1s_layout(void **state)
{
	uint32_t h = 2166136261u;

	(void)state;
	for (int i = RS_THREAD; i < RS_COUNT_V1; i++)
		h = (h ^ rec_structs_v1[i].size) * 16777619u;
	h = (h ^ rec_structs_v1[RS_SNAP].size) * 16777619u;
	h = (h ^ rec_structs_v1[RS_META].size) * 16777619u;
	assert_int_equal(h, RECORD_V1_LAYOUT);
}

static void *slurp(const char *path, size_t *len)
{
	char *buf, err[256];

	assert_int_equal(read_file(path, &buf, len, err, sizeof(err)), 0);
	return buf;
}

/*
 * Render a recording as `contrace report` does (main.c: replay): each
 * interval's report after a blank line, then the total; JSON lines with
 * intervals, else one pretty document.
 */
static void render_all(const char *path, FILE *text, FILE *json, bool pretty)
{
	struct text_opts to = { .top = OPTS_DEFAULT_TOP };
	struct recording rec;
	struct report r;
	char err[256];
	int index = 0;

	assert_int_equal(record_open(path, &rec, err, sizeof(err)), 0);
	while (record_next(&rec, err, sizeof(err)) > 0) {
		if (rec.cur.kind != RECORD_INTERVAL)
			continue;
		assert_int_equal(model_build(&r, &rec.meta, &rec.cur.s, &rec.base.s), 0);
		r.index = ++index;
		fputc('\n', text);
		report_text(text, &r, &to);
		assert_int_equal(report_json(json, &r, pretty), 0);
		model_free(&r);
	}
	assert_int_equal(record_total(&rec, &r), 0);
	report_text(text, &r, &to);
	assert_int_equal(report_json(json, &r, pretty), 0);
	model_free(&r);
	record_free(&rec);
}

/*
 * CONTRACE_UPDATE_GOLDEN=1 make unit rewrites the expected reports: for a
 * deliberate change of the report (review the diff of tests/data).
 */
static void update_golden(const char *got, size_t len, const char *path)
{
	FILE *f;

	if (!getenv("CONTRACE_UPDATE_GOLDEN"))
		return;
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(got, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

static void expect_file(const char *got, size_t len, const char *path)
{
	size_t want_len;
	char *want;

	update_golden(got, len, path);
	want = slurp(path, &want_len);

	if (len != want_len || memcmp(got, want, len))
		fail_msg("%s: the report differs from what 0.1.0 printed", path);
	free(want);
}

/*
 * Whether JSON value got says what want says: the same members and values,
 * in any order, and any member want lacks is null (a figure newer than the
 * recording: not measured).
 */
static bool json_says(struct json_object *got, struct json_object *want)
{
	if (json_object_get_type(got) != json_object_get_type(want))
		return false;
	if (json_object_is_type(want, json_type_object)) {
		struct json_object *w;

		json_object_object_foreach(got, key, g)
		{
			/* the SUMMARY is made of what 0.1.0 recorded: not measured since */
			if (!strcmp(key, "summary") && !json_object_object_get_ex(want, key, NULL))
				continue;
			if (!json_object_object_get_ex(want, key, &w) ? g != NULL :
									!json_says(g, w))
				return false;
		}
		json_object_object_foreach(want, wkey, wv)
		{
			(void)wv;
			if (!json_object_object_get_ex(got, wkey, NULL))
				return false;
		}
		return true;
	}
	if (json_object_is_type(want, json_type_array)) {
		size_t n = json_object_array_length(want);

		if (json_object_array_length(got) != n)
			return false;
		for (size_t i = 0; i < n; i++)
			if (!json_says(json_object_array_get_idx(got, i),
				       json_object_array_get_idx(want, i)))
				return false;
		return true;
	}
	return json_object_equal(got, want);
}

/* The JSON documents of got (one, or JSON Lines) say what the file's say. */
static void expect_json(const char *got, size_t len, const char *path)
{
	struct json_tokener *tg = json_tokener_new(), *tw = json_tokener_new();
	size_t want_len, g = 0, w = 0, docs = 0;
	char *want;

	update_golden(got, len, path);
	want = slurp(path, &want_len);

	for (;;) {
		struct json_object *a, *b;

		while (g < len && isspace((unsigned char)got[g]))
			g++;
		while (w < want_len && isspace((unsigned char)want[w]))
			w++;
		if (g == len || w == want_len)
			break;
		a = json_tokener_parse_ex(tg, got + g, (int)(len - g));
		g += json_tokener_get_parse_end(tg);
		b = json_tokener_parse_ex(tw, want + w, (int)(want_len - w));
		w += json_tokener_get_parse_end(tw);
		assert_non_null(a);
		assert_non_null(b);
		if (!json_says(a, b))
			fail_msg("%s: document %zu differs from what 0.1.0 printed", path, docs);
		json_object_put(a);
		json_object_put(b);
		json_tokener_reset(tg);
		json_tokener_reset(tw);
		docs++;
	}
	if (g != len || w != want_len)
		fail_msg("%s: not as many reports as 0.1.0 printed", path);
	assert_true(docs > 0);
	json_tokener_free(tg);
	json_tokener_free(tw);
	free(want);
}

/*
 * Recordings made by 0.1.0 (format version 1, no description) report the
 * same text as 0.1.0 printed, byte for byte, and the same JSON, with the
 * figures added since (which 0.1.0 did not measure) null: read through the
 * frozen description, this must hold whatever the structs become.
 */
static void reports_of_0_1_0_unchanged(void **state)
{
	static const char *const names[] = { "demo-intervals", "locks-syscalls", "mp-follow",
					     "python312" };
	char path[256], *text, *json;
	size_t tlen, jlen;

	(void)state;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		FILE *t = open_memstream(&text, &tlen), *j = open_memstream(&json, &jlen);

		snprintf(path, sizeof(path), DATA "%s.ctr", names[i]);
		render_all(path, t, j, i != 0);
		fclose(t);
		fclose(j);
		snprintf(path, sizeof(path), DATA "%s.txt", names[i]);
		expect_file(text, tlen, path);
		snprintf(path, sizeof(path), DATA "%s.json", names[i]);
		expect_json(json, jlen, path);
		free(text);
		free(json);
	}
}

/* A synthetic trace */

struct world {
	struct snapshot s;
	struct report_meta m;
	struct rpt_gil_info gil[2];
};

static void thread(struct snapshot *s, uint32_t slot, uint32_t tid, uint64_t oncpu, int dead)
{
	struct ct_thread *t = &s->threads[slot];

	t->tid = tid;
	t->tgid = 100;
	t->slot = slot;
	t->flags = CT_TF_READY | CT_TF_SEEN;
	t->state = dead ? CT_ST_DEAD : CT_ST_RUNNING;
	t->start_ts = 1000;
	t->end_ts = dead ? 5000 : 0;
	t->oncpu_ns = oncpu;
	t->runq_ns = oncpu / 2;
	t->sys_nr = CT_SYS_NONE;
	t->blk_nr = CT_SYS_NONE;
	snprintf(t->comm, sizeof(t->comm), "w%u", tid);
}

/*
 * Snapshot `step` of a process whose threads come and go: `nthreads`
 * slots, those below `dead` exited; a syscall entry per thread, names that
 * come and go, a lock that changes, a Python process.
 */
static void make(struct world *w, int step, uint32_t nthreads, uint32_t dead)
{
	struct snapshot *s = &w->s;

	memset(w, 0, sizeof(*w));
	s->ts = 10000 + (uint64_t)step * 1000;
	s->counters.seeded = 1;
	s->counters.forked = nthreads - 1;
	s->nthreads = nthreads;
	s->threads = calloc(nthreads, sizeof(*s->threads));
	for (uint32_t i = 0; i < nthreads; i++)
		thread(s, i, 100 + i, i < dead ? 7000 + i : 1000 * (uint64_t)step + i, i < dead);
	s->nsys = nthreads;
	s->sys = calloc(nthreads, sizeof(*s->sys));
	for (uint32_t i = 0; i < nthreads; i++) {
		/* In reverse: the writer sorts. */
		s->sys[nthreads - 1 - i].key = (struct ct_sys_key){ .slot = i, .nr = 202 };
		s->sys[nthreads - 1 - i].st.blocks = i < dead ? 3 : (uint64_t)step;
	}
	s->nnames = step % 2 ? 2 : 1;
	s->names = calloc(2, sizeof(*s->names));
	s->names[0] = (struct snap_name){ .tid = 900, .pid = 900, .comm = "waker" };
	s->names[1] = (struct snap_name){ .tid = 800, .pid = 800, .comm = "other" };
	s->nlocks = 1;
	s->locks = calloc(1, sizeof(*s->locks));
	s->locks[0].key = (struct ct_lock_key){ .tgid = 100, .uaddr = 0x1000 };
	s->locks[0].st.waits = (uint64_t)step * 10;
	s->nprocs = 1;
	s->procs = calloc(1, sizeof(*s->procs));
	s->procs[0] = (struct snap_proc){ .pid = 100, .ncpus = 2, .comm = "prog" };
	w->m = (struct report_meta){ .version = "test",
				     .kernel = "6.18",
				     .hostname = "h",
				     .ncpus = 2,
				     .target_pid = 100,
				     .launched = true,
				     .locks = true,
				     .trace_start_ns = 1000,
				     .exit_status = -1 };
	snprintf(w->m.command, sizeof(w->m.command), "prog --churn");
	w->gil[0] = (struct rpt_gil_info){ .pid = 100,
					   .file = "python3.12",
					   .version = "3.12",
					   .tier = RPT_GIL_UPROBES,
					   .addr = 0x5000 };
	w->m.gil = w->gil;
	w->m.ngil = 1;
}

struct plan {
	int steps;
	enum record_kind kinds[8];
	uint32_t nthreads[8], dead[8];
};

/* Write a recording of the plan's snapshots; its path. */
static const char *write_rec(const char *name, const struct plan *p)
{
	static char path[128];
	struct recorder r;
	struct world w;
	char err[256];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	assert_int_equal(record_create(&r, path, err, sizeof(err)), 0);
	make(&w, 0, 1, 0);
	assert_int_equal(record_begin(&r, &w.m, err, sizeof(err)), 0);
	snapshot_free(&w.s);
	for (int i = 0; i < p->steps; i++) {
		make(&w, i + 1, p->nthreads[i], p->dead[i]);
		assert_int_equal(record_snapshot(&r, &w.s, &w.m, p->kinds[i], err, sizeof(err)), 0);
		snapshot_free(&w.s);
	}
	assert_int_equal(record_close(&r, err, sizeof(err)), 0);
	return path;
}

static const struct plan churn = {
	.steps = 5,
	.kinds = { RECORD_START, RECORD_INTERVAL, RECORD_CHECKPOINT, RECORD_INTERVAL,
		   RECORD_FINAL },
	.nthreads = { 3, 40, 60, 60, 61 },
	.dead = { 0, 30, 50, 59, 60 },
};

/* What the writer was given, as the reader must give it back: sorted. */
static void expect_snapshot(const struct recording *rec, int step, const struct plan *p)
{
	const struct snapshot *s = &rec->cur.s;
	struct world w;

	make(&w, step, p->nthreads[step - 1], p->dead[step - 1]);
	assert_int_equal(s->ts, w.s.ts);
	assert_int_equal(rec->cur.kind, p->kinds[step - 1]);
	assert_int_equal(s->counters.forked, w.s.counters.forked);
	assert_int_equal(s->nthreads, w.s.nthreads);
	assert_memory_equal(s->threads, w.s.threads, s->nthreads * sizeof(*s->threads));
	assert_int_equal(s->nsys, w.s.nsys);
	for (size_t i = 0; i < s->nsys; i++) {
		assert_int_equal(s->sys[i].key.slot, i);
		assert_int_equal(s->sys[i].st.blocks, w.s.sys[w.s.nsys - 1 - i].st.blocks);
	}
	assert_int_equal(s->nnames, w.s.nnames);
	assert_int_equal(s->names[s->nnames - 1].tid, 900); /* by tid */
	assert_int_equal(s->nlocks, 1);
	assert_int_equal(s->locks[0].st.waits, w.s.locks[0].st.waits);
	assert_int_equal(rec->meta.ngil, 1);
	assert_string_equal(rec->meta.gil[0].file, "python3.12");
	assert_int_equal(rec->meta.gil[0].tier, RPT_GIL_UPROBES);
	snapshot_free(&w.s);
}

static void round_trip(void **state)
{
	const char *path = write_rec("churn.ctr", &churn);
	struct recording rec;
	char err[256];

	(void)state;
	assert_int_equal(record_open(path, &rec, err, sizeof(err)), 0);
	assert_string_equal(rec.meta.command, "prog --churn");
	assert_true(rec.meta.launched && rec.meta.locks && !rec.meta.follow);
	for (int step = 1; step <= churn.steps; step++) {
		assert_int_equal(record_next(&rec, err, sizeof(err)), 1);
		expect_snapshot(&rec, step, &churn);
		/* An interval's start: the last start or interval snapshot, not a checkpoint. */
		if (step == 4)
			assert_int_equal(rec.base.s.ts, 10000 + 2 * 1000);
	}
	assert_int_equal(record_next(&rec, err, sizeof(err)), 0);
	assert_true(rec.final && !rec.truncated);
	record_free(&rec);
}

/* --timeline: records read back in order, each before the snapshot that follows it. */
struct ev_seen {
	uint64_t n;
	const struct recording *rec;
	size_t snaps_at[3]; /* snapshots read when record n was given */
};

static int count_event(void *ctx, const struct ct_tl_event *e)
{
	struct ev_seen *s = ctx;

	assert_int_equal(e->ts, 100 + s->n);
	assert_int_equal(e->slot, s->n % 7);
	assert_int_equal(e->kind, CT_TL_SWITCH_OUT);
	assert_int_equal(e->fig[CT_TLF_BLOCKED], 3 * s->n);
	if (s->n % 20000 == 0)
		s->snaps_at[s->n / 20000] = s->rec->nsnaps;
	s->n++;
	return 0;
}

static void timeline_events_round_trip(void **state)
{
	static char path[128];
	struct ev_seen seen = { 0 };
	struct recording rec;
	struct recorder r;
	struct world w;
	char err[256];
	uint64_t n = 0;

	(void)state;
	snprintf(path, sizeof(path), "%s/events.ctr", dir);
	assert_int_equal(record_create(&r, path, err, sizeof(err)), 0);
	make(&w, 0, 1, 0);
	w.m.timeline = true;
	assert_int_equal(record_begin(&r, &w.m, err, sizeof(err)), 0);
	snapshot_free(&w.s);
	for (int step = 1; step <= 2; step++) {
		for (; n < 20000 * (uint64_t)step; n++) {
			struct ct_tl_event e = { .ts = 100 + n,
						 .slot = (uint32_t)(n % 7),
						 .kind = CT_TL_SWITCH_OUT,
						 .nr = CT_SYS_NONE };

			e.fig[CT_TLF_BLOCKED] = 3 * n;
			assert_int_equal(record_event(&r, &e), 0);
			/* Bounded: a block is written once it is full. */
			assert_true(r.nev < RECORD_EVENTS_BLOCK);
		}
		make(&w, step, 2, 0);
		assert_int_equal(record_snapshot(&r, &w.s, &w.m,
						 step == 2 ? RECORD_FINAL : RECORD_CHECKPOINT, err,
						 sizeof(err)),
				 0);
		snapshot_free(&w.s);
	}
	assert_int_equal(record_close(&r, err, sizeof(err)), 0);
	assert_int_equal(r.events, 40000);

	assert_int_equal(record_open(path, &rec, err, sizeof(err)), 0);
	assert_true(rec.meta.timeline);
	seen.rec = &rec;
	rec.on_event = count_event;
	rec.event_ctx = &seen;
	while (record_next(&rec, err, sizeof(err)) > 0)
		;
	assert_true(rec.final && !rec.truncated);
	assert_int_equal(seen.n, 40000);
	assert_int_equal(rec.nevents, 40000);
	/* The first 20000 before the first snapshot, the next before the final one. */
	assert_int_equal(seen.snaps_at[0], 0);
	assert_int_equal(seen.snaps_at[1], 1);
	record_free(&rec);
}

/* Snapshot blocks' raw lengths, in order. */
static size_t snap_sizes(const char *path, size_t *out, size_t max)
{
	struct recedit e;
	size_t len, n = 0;
	void *data = slurp(path, &len);

	assert_int_equal(recedit_split(data, len, &e), 0);
	for (size_t i = 0; i < e.n && n < max; i++)
		if (e.b[i].type == 2)
			out[n++] = e.b[i].len;
	recedit_free(&e);
	free(data);
	return n;
}

/* Exited threads are stored once: later snapshots hold what changed. */
static void snapshots_store_what_changed(void **state)
{
	static const struct plan still = {
		.steps = 4,
		.kinds = { RECORD_CHECKPOINT, RECORD_CHECKPOINT, RECORD_CHECKPOINT, RECORD_FINAL },
		.nthreads = { 200, 200, 200, 200 },
		.dead = { 199, 199, 199, 199 },
	};
	size_t sizes[8], thread = sizeof(struct ct_thread);

	(void)state;
	assert_int_equal(snap_sizes(write_rec("still.ctr", &still), sizes, 8), 4);
	assert_true(sizes[0] > 200 * thread);
	/* One live thread, its syscall entry and the lock changed; a name came or went. */
	for (int i = 1; i < 4; i++)
		assert_true(sizes[i] < thread + 2 * sizeof(struct snap_lock) + 512);
}

/* Rewrite a recording with one field of the description block edited. */
static const char *edit_desc(const char *name, const char *strct, const char *field,
			     const char *new_name, uint32_t new_type)
{
	static char path[128];
	struct recedit e;
	size_t len, n;
	unsigned char *data = slurp(write_rec(name, &churn), &len), *out;
	unsigned char *p;
	int done = 0;

	assert_int_equal(recedit_split(data, len, &e), 0);
	assert_int_equal(e.b[0].type, 3);
	p = e.b[0].data + 8;
	for (size_t s = 0; s < RS_COUNT; s++) {
		uint32_t nf;
		int match = !strcmp((char *)p, strct);

		memcpy(&nf, p + REC_NAME_LEN + 4, 4);
		p += REC_NAME_LEN + 8;
		for (uint32_t f = 0; f < nf; f++, p += REC_FIELD_LEN + 16) {
			if (!match || strcmp((char *)p, field))
				continue;
			if (new_name)
				snprintf((char *)p, REC_FIELD_LEN, "%s", new_name);
			if (new_type)
				memcpy(p + REC_FIELD_LEN, &new_type, 4);
			done = 1;
		}
	}
	assert_true(done);
	out = malloc(len * 2 + 4096);
	n = recedit_join(&e, out, len * 2 + 4096);
	assert_true(n > 0);
	snprintf(path, sizeof(path), "%s/edited-%s", dir, name);
	{
		FILE *f = fopen(path, "w");

		assert_non_null(f);
		assert_int_equal(fwrite(out, 1, n, f), n);
		fclose(f);
	}
	recedit_free(&e);
	free(data);
	free(out);
	return path;
}

/* A field the file lacks is absent (zero, not measured); one this build does not know is skipped. */
static void fields_matched_by_name(void **state)
{
	const char *path = edit_desc("renamed.ctr", "ct_thread", "oncpu_ns", "oncpu_old", 0);
	struct recording rec;
	char err[256];

	(void)state;
	assert_int_equal(record_open(path, &rec, err, sizeof(err)), 0);
	assert_int_equal(record_next(&rec, err, sizeof(err)), 1);
	assert_int_equal(record_next(&rec, err, sizeof(err)), 1);
	assert_false(record_has_field(&rec.cur.s, "ct_thread", "oncpu_ns"));
	assert_true(record_has_field(&rec.cur.s, "ct_thread", "runq_ns"));
	assert_true(record_has_field(&rec.cur.s, "snap_lock", "st.waits"));
	assert_false(record_has_field(&rec.cur.s, "ct_thread", "no_such_field"));
	assert_int_equal(rec.cur.s.nthreads, 40);
	for (uint32_t i = 0; i < rec.cur.s.nthreads; i++) {
		assert_int_equal(rec.cur.s.threads[i].oncpu_ns, 0);
		assert_int_equal(rec.cur.s.threads[i].runq_ns, (i < 30 ? 7000 + i : 2000 + i) / 2);
		assert_int_equal(rec.cur.s.threads[i].tid, 100 + i);
	}
	record_free(&rec);
	/* Live snapshots have every field. */
	{
		struct snapshot live = { 0 };

		assert_true(record_has_field(&live, "ct_thread", "oncpu_ns"));
	}
}

static void incompatible_field_refused(void **state)
{
	const char *path = edit_desc("narrow.ctr", "ct_thread", "oncpu_ns", NULL, REC_U32);
	struct recording rec;
	char err[256], want[300];

	(void)state;
	assert_int_equal(record_open(path, &rec, err, sizeof(err)), -EINVAL);
	snprintf(want, sizeof(want),
		 "%s: cannot read ct_thread.oncpu_ns: u32 in the file, u64 here", path);
	assert_string_equal(err, want);
}

/*
 * A struct described far smaller than this build's is refused: its records
 * would grow in memory many times over what the block holds. Here the
 * file's 24-byte snap_name is called ct_thread (tid and comm even match).
 */
static void tiny_struct_refused(void **state)
{
	size_t len, n;
	unsigned char *data = slurp(write_rec("tiny.ctr", &churn), &len), *out = malloc(len * 2);
	struct recedit e;
	struct recording rec;
	unsigned char *p;
	char err[256], want[256];

	(void)state;
	assert_int_equal(recedit_split(data, len, &e), 0);
	p = e.b[0].data + 8;
	for (int s = 0; s < RS_COUNT; s++) {
		uint32_t nf;

		if (!strcmp((char *)p, "ct_thread"))
			strcpy((char *)p, "ct_threadX");
		else if (!strcmp((char *)p, "snap_name"))
			strcpy((char *)p, "ct_thread");
		memcpy(&nf, p + REC_NAME_LEN + 4, 4);
		p += REC_NAME_LEN + 8 + (size_t)nf * (REC_FIELD_LEN + 16);
	}
	n = recedit_join(&e, out, len * 2);
	recedit_free(&e);
	assert_int_equal(record_open_mem(out, n, &rec, err, sizeof(err)), -EINVAL);
	snprintf(want, sizeof(want),
		 "ct_thread is described as 24 bytes: too few for this build's %zu",
		 sizeof(struct ct_thread));
	assert_string_equal(err, want);
	free(data);
	free(out);
}

/* The offset of record `k` of struct sid's section in a version 2 snapshot block. */
static unsigned char *section_record(unsigned char *raw, size_t len, int sid, uint32_t k)
{
	unsigned char *p = raw + sizeof(struct rec_snap), *end = raw + len;

	while (p + 16 <= end) {
		uint32_t h[4];

		memcpy(h, p, sizeof(h));
		p += 16;
		if ((int)h[0] == sid)
			return k < h[3] ? p + h[2] * 4 + k * rec_structs[sid].size : NULL;
		p += h[2] * 4 + (size_t)h[3] * rec_structs[h[0]].size;
	}
	return NULL;
}

/* Read a recording to its end: the error, or "" . */
static const char *read_all(const void *data, size_t len)
{
	static char err[256];
	struct recording rec;

	err[0] = 0;
	if (!record_parse(data, len, &rec, err, sizeof(err)))
		record_free(&rec);
	return err;
}

/* Change block `b` (a snapshot) of a recording in memory: a byte at offset `at` of its raw data. */
static size_t poke(const void *data, size_t len, size_t b, size_t at, unsigned char v,
		   unsigned char *out, size_t max)
{
	struct recedit e;
	size_t n;

	assert_int_equal(recedit_split(data, len, &e), 0);
	assert_true(b < e.n && at < e.b[b].len);
	e.b[b].data[at] = v;
	n = recedit_join(&e, out, max);
	recedit_free(&e);
	return n;
}

/* issue 11 item 12: a bool or an enum out of range is refused, never loaded. */
static void bools_and_enums_checked(void **state)
{
	size_t len, n, at;
	unsigned char *data = slurp(write_rec("gil.ctr", &churn), &len), *out = malloc(len * 2);
	struct recedit e;

	(void)state;
	assert_int_equal(recedit_split(data, len, &e), 0);
	/* Block 2 is the first snapshot: it holds the Python process. */
	at = (size_t)(section_record(e.b[2].data, e.b[2].len, RS_GIL, 0) - e.b[2].data);
	recedit_free(&e);
	n = poke(data, len, 2, at + offsetof(struct rec_gil, free_threaded), 255, out, len * 2);
	assert_string_equal(read_all(out, n),
			    "gil_info.free_threaded: 255 is not a valid value (0 to 1)");
	n = poke(data, len, 2, at + offsetof(struct rec_gil, tier), 9, out, len * 2);
	assert_string_equal(read_all(out, n), "gil_info.tier: 9 is not a valid value (0 to 3)");
	/* The metadata's bools. */
	n = poke(data, len, 1, offsetof(struct rec_meta, follow), 2, out, len * 2);
	assert_string_equal(read_all(out, n), "meta.follow: 2 is not a valid value (0 to 1)");
	free(data);
	free(out);
}

/* The same in a version 1 file, where the fuzzer found it (rpt_gil_info read raw). */
static void bools_checked_in_version_1(void **state)
{
	size_t len, n, off, need;
	unsigned char *data = slurp(DATA "python312.ctr", &len), *out = malloc(len * 4);
	struct recedit e;
	uint64_t cnt[11];

	(void)state;
	assert_int_equal(recedit_split(data, len, &e), 0);
	/* The last snapshot block: its GIL infos follow every other array. */
	memcpy(cnt, e.b[e.n - 1].data + 144, sizeof(cnt));
	assert_int_equal(cnt[10], 1);
	need = e.b[e.n - 1].len;
	off = need - rec_structs_v1[RS_GIL].size;
	n = e.n - 1;
	recedit_free(&e);
	n = poke(data, len, n, off + 76, 255, out, len * 4);
	assert_string_equal(read_all(out, n),
			    "gil_info.free_threaded: 255 is not a valid value (0 to 1)");
	free(data);
	free(out);
}

/* Blocks rearranged, written back with valid checksums. */
static const char *rearranged(const char *path, int op, size_t a, size_t b)
{
	size_t len, n;
	unsigned char *data = slurp(path, &len), *out = malloc(len * 3);
	struct recedit e;
	struct recedit_block t;
	const char *err;

	assert_int_equal(recedit_split(data, len, &e), 0);
	assert_true(a < e.n && b < e.n);
	if (op == 'd') { /* drop a */
		free(e.b[a].data);
		memmove(&e.b[a], &e.b[a + 1], (e.n - a - 1) * sizeof(t));
		e.n--;
	} else if (op == 'r') { /* repeat a after b */
		t = e.b[a];
		t.data = malloc(t.len);
		memcpy(t.data, e.b[a].data, t.len);
		assert_non_null(recedit_add(&e));
		memmove(&e.b[b + 2], &e.b[b + 1], (e.n - b - 2) * sizeof(t));
		e.b[b + 1] = t;
	} else { /* swap */
		t = e.b[a];
		e.b[a] = e.b[b];
		e.b[b] = t;
	}
	n = recedit_join(&e, out, len * 3);
	recedit_free(&e);
	err = read_all(out, n);
	free(data);
	free(out);
	return err;
}

/* issue 11 item 11: blocks in order, each once. Blocks: 0 desc, 1 meta, 2.. snapshots. */
static void blocks_in_order(void **state)
{
	const char *v2 = write_rec("order.ctr", &churn);

	(void)state;
	assert_string_equal(read_all("", 0), "empty file");
	assert_string_equal(rearranged(v2, 'd', 3, 0),
			    "snapshot 2 is missing (the next block holds snapshot 3): "
			    "a block was dropped or moved");
	assert_string_equal(rearranged(v2, 'r', 3, 3),
			    "snapshot 2 comes again after snapshot 2: a block repeated or moved");
	assert_string_equal(rearranged(v2, 's', 3, 4),
			    "snapshot 2 is missing (the next block holds snapshot 3): "
			    "a block was dropped or moved");
	assert_string_equal(rearranged(v2, 'r', 6, 6), "data after the final snapshot");
	assert_string_equal(rearranged(v2, 's', 0, 1), "the metadata before the description");
	assert_string_equal(rearranged(v2, 'r', 1, 2), "a second metadata block");
	assert_string_equal(rearranged(v2, 'r', 0, 2), "a description block after the metadata");
	/* Version 1 has no sequence numbers: the times and kinds tell. */
	assert_string_equal(rearranged(DATA "demo-intervals.ctr", 'r', 2, 2),
			    "snapshot 3 is not later than snapshot 2: a block repeated or moved");
	assert_string_equal(rearranged(DATA "demo-intervals.ctr", 's', 2, 3),
			    "snapshot 3 is not later than snapshot 2: a block repeated or moved");
	assert_string_equal(rearranged(DATA "demo-intervals.ctr", 'd', 1, 0),
			    "snapshot 1 ends an interval, but the recording has no start snapshot");
}

/* Kinds in order: a start snapshot first if at all; nothing after the final one. */
static void kinds_in_order(void **state)
{
	static const struct plan late_start = {
		.steps = 3,
		.kinds = { RECORD_CHECKPOINT, RECORD_START, RECORD_FINAL },
		.nthreads = { 2, 2, 2 },
	};
	static const struct plan two_finals = {
		.steps = 3,
		.kinds = { RECORD_START, RECORD_FINAL, RECORD_FINAL },
		.nthreads = { 2, 2, 2 },
	};
	size_t len;
	void *data;

	(void)state;
	data = slurp(write_rec("late.ctr", &late_start), &len);
	assert_string_equal(read_all(data, len), "snapshot 2 is a start snapshot, not the first");
	free(data);
	data = slurp(write_rec("finals.ctr", &two_finals), &len);
	assert_string_equal(read_all(data, len), "data after the final snapshot");
	free(data);
}

/* Cut short: up to the last whole snapshot; before any, nothing to report. */
static void cut_short(void **state)
{
	size_t len;
	unsigned char *data = slurp(write_rec("cut.ctr", &churn), &len);
	struct recording rec;
	struct report r;
	char err[256];

	(void)state;
	/* Inside the last block: the interval before it is the total. */
	assert_int_equal(record_parse(data, len - 10, &rec, err, sizeof(err)), 0);
	assert_true(rec.truncated && !rec.final);
	assert_int_equal(rec.nsnaps, 4);
	assert_int_equal(rec.cur.kind, RECORD_INTERVAL);
	assert_int_equal(record_total(&rec, &r), 0);
	assert_true(r.meta->truncated);
	model_free(&r);
	record_free(&rec);
	/* Only the start snapshot: nothing to report. */
	for (size_t cut = len - 10; cut > 0; cut--) {
		if (record_parse(data, cut, &rec, err, sizeof(err)))
			break;
		if (rec.nsnaps == 1) {
			assert_int_equal(record_total(&rec, &r), -ENODATA);
			record_free(&rec);
			break;
		}
		record_free(&rec);
	}
	free(data);
}

/* issue 11 item 7: a FIFO, a device, a directory are refused at once. */
static void regular_files_only(void **state)
{
	char fifo[128], err[256];
	struct recording rec;

	(void)state;
	snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	assert_int_equal(record_open(fifo, &rec, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "a FIFO, not a regular file"));
	assert_int_equal(record_open("/dev/zero", &rec, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "a character device, not a regular file"));
	assert_int_equal(record_open(dir, &rec, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "a directory, not a regular file"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(tables_cover_their_structs),
		cmocka_unit_test(v1_table_is_version_1s_layout),
		cmocka_unit_test(reports_of_0_1_0_unchanged),
		cmocka_unit_test(round_trip),
		cmocka_unit_test(timeline_events_round_trip),
		cmocka_unit_test(snapshots_store_what_changed),
		cmocka_unit_test(fields_matched_by_name),
		cmocka_unit_test(incompatible_field_refused),
		cmocka_unit_test(tiny_struct_refused),
		cmocka_unit_test(bools_and_enums_checked),
		cmocka_unit_test(bools_checked_in_version_1),
		cmocka_unit_test(blocks_in_order),
		cmocka_unit_test(kinds_in_order),
		cmocka_unit_test(cut_short),
		cmocka_unit_test(regular_files_only),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
