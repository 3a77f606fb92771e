// SPDX-License-Identifier: GPL-2.0-only
/*
 * --stacks in the model and its outputs, from synthetic snapshots whose
 * answer is known by construction: a lock's waits by stack over the whole
 * trace and over an interval, the waits no stack carries as a row of their
 * own (so that the stacks add up), a damaged stack, the folded file, the
 * JSON's interned frames and stacks, and the flame graph page's data.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "model/model.h"
#include "out/flamegraph.h"
#include "out/folded.h"
#include "out/report_json.h"
#include "out/report_text.h"
#include "out/views.h"
#include "snapfake.h"

#define MS 1000000ULL
#define T0 1000ULL
#define PID 100
#define MUTEX 0x601040ULL
/* Two stacks: main -> a -> lock and main -> b -> lock (leaf first). */
#define PC_WAIT 0x7f0010ULL
#define PC_LOCK 0x7f0100ULL
#define PC_A 0x401020ULL
#define PC_B 0x401080ULL
#define PC_MAIN 0x401200ULL

/* Entries of the stack arrays a test snapshot has room for. */
#define ROOM 4

static struct report_meta meta;

static int setup(void **state)
{
	(void)state;
	fake_meta(&meta, PID, T0);
	meta.stacks = true;
	return 0;
}

static void add_stack(struct snapshot *s, uint32_t id, const uint64_t *pcs, uint32_t n)
{
	assert_true(s->nstacks < ROOM && s->nframes + n <= 4 * ROOM);
	s->stacks[s->nstacks++] = (struct snap_stack){ .id = id, .pid = PID, .n = n };
	for (uint32_t i = 0; i < n; i++)
		s->frames[s->nframes++] =
			(struct snap_frame){ .stack = id, .index = i, .pc = pcs[i] };
}

static void add_lstack(struct snapshot *s, uint32_t id, uint32_t tid, uint64_t waits, uint64_t ns)
{
	assert_true(s->nlstacks < ROOM);
	s->lstacks[s->nlstacks++] = (struct snap_site){
		.key = { .tgid = PID, .tid = tid, .uaddr = MUTEX, .site = id },
		.val = { .waits = waits, .wait_ns = ns },
	};
}

/*
 * By 12 ms (late) the lock had 5 waits of 7 ms: 3 (4 ms) from a, 1 (1 ms)
 * from b, 1 (2 ms) whose stack was lost. By 6 ms: 1 (1 ms) from a, 1
 * (2 ms) lost. By thread: a's are the main thread's but one (1 ms, of
 * thread 102, not among the threads), b's is thread 102's.
 */
static void stacks_snapshot(struct snapshot *s, bool late)
{
	static const uint64_t a[] = { PC_WAIT, PC_LOCK, PC_A, PC_MAIN };
	static const uint64_t b[] = { PC_WAIT, PC_LOCK, PC_B, PC_MAIN };
	struct ct_lock_stat *l;

	fake_init(s, T0 + (late ? 12 : 6) * MS, 1);
	s->stacks = calloc(ROOM, sizeof(*s->stacks));
	s->frames = calloc(4 * ROOM, sizeof(*s->frames));
	s->lstacks = calloc(ROOM, sizeof(*s->lstacks));
	if (!s->stacks || !s->frames || !s->lstacks)
		abort();
	fake_thread(s, 0, PID, PID, "prog", T0);
	l = fake_lock(s, PID, MUTEX, CT_FUTEX_WAIT);
	l->busy_ns = 1 * MS; /* held while waited for: a lock, not an event */
	fake_lock_wait(l, 1 * MS, PID);
	fake_lock_wait(l, 2 * MS, PID);
	add_stack(s, 0, a, 4);
	add_lstack(s, 0, PID, 1, 1 * MS);
	if (late) {
		fake_lock_wait(l, 1 * MS, PID);
		fake_lock_wait(l, 2 * MS, PID);
		fake_lock_wait(l, 1 * MS, PID);
		s->lstacks[0].val = (struct ct_site_val){ .waits = 2, .wait_ns = 3 * MS };
		add_lstack(s, 0, 102, 1, 1 * MS);
		add_stack(s, 1, b, 4);
		add_lstack(s, 1, 102, 1, 1 * MS);
	}
	fake_sym(s, PID, SNAP_SYM_DATA, MUTEX, "prog:ledger", 1);
	fake_sym(s, PID, SNAP_SYM_CODE, PC_WAIT, "libc.so.6:__lll_lock_wait+0x2b", 1);
	fake_sym(s, PID, SNAP_SYM_CODE, PC_LOCK, "libc.so.6:pthread_mutex_lock+0x110", 1);
	fake_sym(s, PID, SNAP_SYM_CODE, PC_A, "prog:a+0x20", 1);
	fake_sym(s, PID, SNAP_SYM_CODE, PC_B, "prog:b+0x20", 1);
	fake_sym(s, PID, SNAP_SYM_CODE, PC_MAIN, "prog:0x1200", 0);
	assert_int_equal(fake_close(s), 0);
}

static void check_stack(const struct rpt_lock_stack *st, uint64_t waits, uint64_t ns,
			const char *third)
{
	assert_int_equal(st->waits, waits);
	assert_int_equal(st->wait_ns, ns);
	if (!third) {
		assert_int_equal(st->n, 0);
		return;
	}
	assert_int_equal(st->n, 4);
	assert_string_equal(st->frames[0], "libc.so.6:__lll_lock_wait+0x2b");
	assert_string_equal(st->frames[2], third);
	assert_string_equal(st->frames[3], "prog:0x1200");
}

static void test_whole_trace(void **state)
{
	struct snapshot s;
	struct report r;
	const struct rpt_lock *l;

	(void)state;
	stacks_snapshot(&s, true);
	assert_int_equal(model_build(&r, &meta, &s, NULL), 0);
	l = &r.procs[0].locks[0];
	assert_int_equal(l->wait_ns, 7 * MS);
	/* By wait time; the lost waits are a row of no frames: the rows add up. */
	assert_int_equal(l->nstacks, 3);
	check_stack(&l->stacks[0], 3, 4 * MS, "prog:a+0x20");
	check_stack(&l->stacks[1], 1, 2 * MS, NULL);
	check_stack(&l->stacks[2], 1, 1 * MS, "prog:b+0x20");
	/* Each stack's waits by thread, by tid; none for the lost ones. */
	assert_int_equal(l->stacks[0].nthreads, 2);
	assert_int_equal(l->stacks[0].threads[0].tid, PID);
	assert_int_equal(l->stacks[0].threads[0].waits, 2);
	assert_int_equal(l->stacks[0].threads[0].wait_ns, 3 * MS);
	assert_int_equal(l->stacks[0].threads[1].tid, 102);
	assert_int_equal(l->stacks[0].threads[1].wait_ns, 1 * MS);
	assert_int_equal(l->stacks[1].nthreads, 0);
	assert_int_equal(l->stacks[2].nthreads, 1);
	model_free(&r);
	snapshot_free(&s);
}

static void test_interval(void **state)
{
	struct snapshot a, b;
	struct report r;
	const struct rpt_lock *l;

	(void)state;
	stacks_snapshot(&a, false);
	stacks_snapshot(&b, true);
	assert_int_equal(model_build(&r, &meta, &b, &a), 0);
	l = &r.procs[0].locks[0];
	assert_int_equal(l->waits, 3);
	assert_int_equal(l->wait_ns, 4 * MS);
	assert_int_equal(l->nstacks, 2); /* a: 2 waits, 3 ms; b: 1, 1 ms; none lost */
	check_stack(&l->stacks[0], 2, 3 * MS, "prog:a+0x20");
	check_stack(&l->stacks[1], 1, 1 * MS, "prog:b+0x20");
	/* a's by thread: the main thread's 1 wait (2 ms) of the window, thread 102's. */
	assert_int_equal(l->stacks[0].nthreads, 2);
	assert_int_equal(l->stacks[0].threads[0].waits, 1);
	assert_int_equal(l->stacks[0].threads[0].wait_ns, 2 * MS);
	assert_int_equal(l->stacks[0].threads[1].wait_ns, 1 * MS);
	model_free(&r);
	snapshot_free(&a);
	snapshot_free(&b);
}

/* A stack whose frames are not all there (a damaged recording): its waits have no stack. */
static void test_damaged_stack(void **state)
{
	struct snapshot s;
	struct report r;
	const struct rpt_lock *l;

	(void)state;
	stacks_snapshot(&s, true);
	s.frames[5].index = 7; /* stack 1 lacks its second frame */
	assert_int_equal(model_build(&r, &meta, &s, NULL), 0);
	l = &r.procs[0].locks[0];
	assert_int_equal(l->nstacks, 3);
	check_stack(&l->stacks[0], 3, 4 * MS, "prog:a+0x20");
	check_stack(&l->stacks[1], 1, 2 * MS, NULL);
	check_stack(&l->stacks[2], 1, 1 * MS, NULL);
	model_free(&r);
	snapshot_free(&s);
}

/* Without --stacks, no rows at all. */
static void test_off(void **state)
{
	struct snapshot s;
	struct report r;

	(void)state;
	stacks_snapshot(&s, true);
	free(s.lstacks);
	s.lstacks = NULL;
	s.nlstacks = 0;
	meta.stacks = false;
	assert_int_equal(model_build(&r, &meta, &s, NULL), 0);
	assert_int_equal(r.procs[0].locks[0].nstacks, 0);
	model_free(&r);
	snapshot_free(&s);
}

/* The whole trace's report of the late snapshot, rendered by fn. */
static char *render(int (*fn)(FILE *, const struct report *))
{
	struct snapshot s;
	struct report r;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	stacks_snapshot(&s, true);
	assert_int_equal(model_build(&r, &meta, &s, NULL), 0);
	assert_int_equal(fn(f, &r), 0);
	fclose(f);
	model_free(&r);
	snapshot_free(&s);
	return buf;
}

static int json_pretty(FILE *f, const struct report *r)
{
	return report_json(f, r, false);
}

static void test_folded(void **state)
{
	char *out;

	(void)state;
	out = render(report_folded);
	/* Root first, by function; microseconds adding up to the lock's 7 ms. */
	assert_string_equal(
		out,
		"prog;prog:0x1200;a;pthread_mutex_lock;__lll_lock_wait;[lock prog:ledger] 4000.000\n"
		"prog;[no stack];[lock prog:ledger] 2000.000\n"
		"prog;prog:0x1200;b;pthread_mutex_lock;__lll_lock_wait;[lock prog:ledger] 1000.000\n");
	free(out);
}

static void test_json(void **state)
{
	char *out;

	(void)state;
	out = render(json_pretty);
	/* Five frames once each, sorted by name; two stacks; the lost waits' index is null. */
	assert_non_null(
		strstr(out, "\"stacks\":{\"frames\":[{\"name\":\"libc.so.6:__lll_lock_wait+0x2b\","
			    "\"function\":\"__lll_lock_wait\"},{\"name\":\"libc.so.6:"
			    "pthread_mutex_lock+0x110\",\"function\":\"pthread_mutex_lock\"},"
			    "{\"name\":\"prog:0x1200\",\"function\":\"prog:0x1200\"},{\"name\":"
			    "\"prog:a+0x20\",\"function\":\"a\"},{\"name\":\"prog:b+0x20\","
			    "\"function\":\"b\"}],\"stacks\":[{\"frames\":[0,1,3,2],\"partial\":"
			    "false},{\"frames\":[0,1,4,2],\"partial\":false}]}"));
	assert_non_null(strstr(
		out, "\"stacks\":[{\"stack\":0,\"waits\":3,\"wait_ns\":4000000,\"threads\":"
		     "[{\"tid\":100,\"thread\":\"prog\",\"count\":2,\"ns\":3000000},"
		     "{\"tid\":102,\"thread\":null,\"count\":1,\"ns\":1000000}]},"
		     "{\"stack\":null,\"waits\":1,\"wait_ns\":2000000,\"threads\":[]},"
		     "{\"stack\":1,\"waits\":1,\"wait_ns\":1000000,\"threads\":[{\"tid\":102,"
		     "\"thread\":null,\"count\":1,\"ns\":1000000}]}]"));
	free(out);
}

/* A Python frame's name taken apart, and what is not one. */
static void test_python_frame(void **state)
{
	char fn[64], file[64];
	unsigned line = 0;

	(void)state;
	assert_true(python_frame("caller (app.py:116)", fn, sizeof(fn), file, sizeof(file), &line));
	assert_string_equal(fn, "caller");
	assert_string_equal(file, "app.py");
	assert_int_equal(line, 116);
	/* A file's name may hold spaces, parentheses and colons; the line is after the last. */
	assert_true(python_frame("<module> (<frozen importlib._bootstrap>:1360)", fn, sizeof(fn),
				 file, sizeof(file), &line));
	assert_string_equal(fn, "<module>");
	assert_string_equal(file, "<frozen importlib._bootstrap>");
	assert_int_equal(line, 1360);
	assert_true(
		python_frame("f (my app (v2).py:7)", fn, sizeof(fn), file, sizeof(file), &line));
	assert_string_equal(file, "my app (v2).py");
	assert_int_equal(line, 7);
	assert_false(python_frame("libc.so.6:pthread_mutex_lock+0x110", fn, sizeof(fn), file,
				  sizeof(file), &line));
	assert_false(python_frame("f (app.py:)", fn, sizeof(fn), file, sizeof(file), &line));
	assert_false(python_frame("f (app.py:1x)", fn, sizeof(fn), file, sizeof(file), &line));
	assert_false(python_frame("f (app.py)", fn, sizeof(fn), file, sizeof(file), &line));
	assert_false(python_frame("(app.py:3)", fn, sizeof(fn), file, sizeof(file), &line));
}

/* Occurrences of needle in s. */
static int count(const char *s, const char *needle)
{
	int n = 0;

	for (s = strstr(s, needle); s; s = strstr(s + 1, needle))
		n++;
	return n;
}

static void test_flamegraph(void **state)
{
	char *out;

	(void)state;
	out = render(report_flamegraph);
	assert_int_equal(strncmp(out, "<!DOCTYPE html>\n", 16), 0);
	/* Each of the lock's stacks in the waits view, the one without a stack too. */
	assert_non_null(strstr(out, "{\"view\":0,\"proc\":\"prog (100)\",\"first\":null,"
				    "\"what\":\"lock\",\"object\":\"prog:ledger\",\"ns\":4000000,"
				    "\"count\":3,\"stack\":0}"));
	assert_non_null(strstr(out, "\"ns\":2000000,\"count\":1,\"stack\":null}"));
	assert_non_null(strstr(out, "\"ns\":1000000,\"count\":1,\"stack\":1}"));
	/* Interned as the JSON report's stacks are. */
	assert_non_null(strstr(out, "\"stacks\":[{\"frames\":[0,1,3,2],\"partial\":false},"));
	/* Two scripts: data and code, nothing loaded from elsewhere. */
	assert_int_equal(count(out, "<script"), 2);
	assert_int_equal(count(out, "</script>"), 2);
	assert_null(strstr(out, "src="));
	free(out);
}

/*
 * GIL waits by the holder's Python stack (SNAP_GIL_HOLDER entries): by 12
 * ms, 3 waits (30 ms) while thread 101 ran caller (app.py:116), 1 (5 ms)
 * while a thread of unknown tid ran <module> (app.py:20); by 6 ms, 1 (10 ms)
 * of the first.
 */
#define PY_CALLER 0x8000000000000001ULL
#define PY_RUN 0x8000000000000002ULL
#define PY_OTHER 0x8000000000000003ULL

static struct rpt_gil_info gil_info;

static void holders_snapshot(struct snapshot *s, bool late)
{
	static const uint64_t caller[] = { PY_CALLER, PY_RUN }, other[] = { PY_OTHER, PY_RUN };

	fake_init(s, T0 + (late ? 12 : 6) * MS, 2);
	s->stacks = calloc(ROOM, sizeof(*s->stacks));
	s->frames = calloc(4 * ROOM, sizeof(*s->frames));
	s->lstacks = calloc(ROOM, sizeof(*s->lstacks));
	if (!s->stacks || !s->frames || !s->lstacks)
		abort();
	fake_thread(s, 0, PID, PID, "python3", T0);
	fake_thread(s, 1, 101, PID, "python3", T0);
	add_stack(s, 0, caller, 2);
	s->lstacks[s->nlstacks++] = (struct snap_site){
		.key = { .tgid = PID, .uaddr = SNAP_GIL_HOLDER | 101, .site = 0 },
		.val = { .waits = late ? 3 : 1, .wait_ns = (late ? 30 : 10) * MS },
	};
	if (late) {
		add_stack(s, 1, other, 2);
		s->lstacks[s->nlstacks++] = (struct snap_site){
			.key = { .tgid = PID, .uaddr = SNAP_GIL_HOLDER, .site = 1 },
			.val = { .waits = 1, .wait_ns = 5 * MS },
		};
	}
	fake_sym(s, PID, SNAP_SYM_CODE, PY_CALLER, "caller (app.py:116)", 1);
	fake_sym(s, PID, SNAP_SYM_CODE, PY_RUN, "run (threading.py:999)", 1);
	fake_sym(s, PID, SNAP_SYM_CODE, PY_OTHER, "<module> (app.py:20)", 1);
	assert_int_equal(fake_close(s), 0);
}

static int gil_setup(void **state)
{
	setup(state);
	memset(&gil_info, 0, sizeof(gil_info));
	gil_info.pid = PID;
	snprintf(gil_info.file, sizeof(gil_info.file), "libpython3.12.so.1.0");
	snprintf(gil_info.version, sizeof(gil_info.version), "3.12");
	gil_info.tier = RPT_GIL_FUTEX;
	gil_info.addr = 0x7f0000001000ULL;
	meta.ngil = 1;
	meta.gil = &gil_info;
	return 0;
}

static int gil_teardown(void **state)
{
	(void)state;
	meta.ngil = 0;
	meta.gil = NULL;
	return 0;
}

static void test_gil_holders(void **state)
{
	const struct rpt_gil *g;
	struct snapshot a, b;
	struct report r;
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	(void)state;
	holders_snapshot(&a, false);
	holders_snapshot(&b, true);
	/* The whole trace: by wait, most first; the frames, innermost first. */
	assert_int_equal(model_build(&r, &meta, &b, NULL), 0);
	g = r.procs[0].gil;
	assert_non_null(g);
	assert_int_equal(g->nholders, 2);
	assert_int_equal(g->holders[0].tag, 101);
	assert_int_equal(g->holders[0].st.waits, 3);
	assert_int_equal(g->holders[0].st.wait_ns, 30 * MS);
	assert_int_equal(g->holders[0].st.n, 2);
	assert_string_equal(g->holders[0].st.frames[0], "caller (app.py:116)");
	assert_string_equal(g->holders[0].st.frames[1], "run (threading.py:999)");
	assert_int_equal(g->holders[1].tag, 0);
	assert_int_equal(g->holders[1].st.wait_ns, 5 * MS);
	/* JSON: the holder by tid and name, its stack interned with the others (by name). */
	f = open_memstream(&buf, &len);
	assert_int_equal(report_json(f, &r, false), 0);
	fclose(f);
	assert_non_null(strstr(buf,
			       "\"holder_stacks\":[{\"holder_tid\":101,\"holder\":"
			       "\"python3\",\"stack\":1,\"waits\":3,\"wait_ns\":30000000,"
			       "\"threads\":[]},{\"holder_tid\":null,\"holder\":null,\"stack\":0,"
			       "\"waits\":1,\"wait_ns\":5000000,\"threads\":[]}]"));
	assert_non_null(strstr(buf, "{\"name\":\"caller (app.py:116)\",\"function\":"
				    "\"caller (app.py:116)\"}"));
	free(buf);
	/* Text: a Python frame is shown whole (its "file:line" is no "FILE:symbol"). */
	buf = NULL;
	f = open_memstream(&buf, &len);
	report_text(f, &r, &(struct text_opts){ .top = 10 });
	fclose(f);
	assert_non_null(strstr(buf, "waits for   86% (30.0ms, 3 waits) while python3 ran: "
				    "caller (app.py:116) <- run (threading.py:999)\n"));
	free(buf);
	/* The flame graph: the holders' view, '<' and '>' escaped inside its <script>. */
	buf = NULL;
	f = open_memstream(&buf, &len);
	assert_int_equal(report_flamegraph(f, &r), 0);
	fclose(f);
	assert_non_null(strstr(buf, "{\"view\":1,\"proc\":\"python3 (100)\",\"first\":"
				    "\"[GIL holder]\",\"what\":\"GIL held by\",\"object\":"
				    "\"python3\",\"ns\":30000000,\"count\":3,\"stack\":"));
	assert_non_null(strstr(buf, "\"\\u003cmodule\\u003e (app.py:20)\""));
	assert_null(strstr(buf, "<module>"));
	free(buf);
	model_free(&r);
	/* An interval: its waits only (1 of the first had come before). */
	assert_int_equal(model_build(&r, &meta, &b, &a), 0);
	g = r.procs[0].gil;
	assert_int_equal(g->nholders, 2);
	assert_int_equal(g->holders[0].st.waits, 2);
	assert_int_equal(g->holders[0].st.wait_ns, 20 * MS);
	model_free(&r);
	snapshot_free(&a);
	snapshot_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_whole_trace, setup),
		cmocka_unit_test_setup(test_interval, setup),
		cmocka_unit_test_setup(test_damaged_stack, setup),
		cmocka_unit_test_setup(test_off, setup),
		cmocka_unit_test_setup(test_folded, setup),
		cmocka_unit_test_setup(test_json, setup),
		cmocka_unit_test(test_python_frame),
		cmocka_unit_test_setup(test_flamegraph, setup),
		cmocka_unit_test_setup_teardown(test_gil_holders, gil_setup, gil_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
