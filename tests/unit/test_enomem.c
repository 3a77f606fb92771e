// SPDX-License-Identifier: GPL-2.0-only
/*
 * Out of memory anywhere in building a snapshot's user-side parts or a
 * report: each allocation in turn fails once (malloc, calloc and realloc
 * are wrapped at link time: see the Makefile), and the call must return
 * -ENOMEM (never a report with a part missing), leak nothing (LeakSanitizer
 * checks at exit) and leave its caches usable: the same call then succeeds
 * with every figure.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "probe/futex.h"
#include "model/locks.h"
#include "model/model.h"
#include "snapfake.h"
#include "probe/symbols.h"

void *__real_malloc(size_t size);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t size);

static long allocs; /* allocations since the counter was armed */
static long fail_at = -1; /* the one that fails; -1: none */

static bool fail_now(void)
{
	return allocs++ == fail_at;
}

void *__wrap_malloc(size_t size)
{
	return fail_now() ? NULL : __real_malloc(size);
}

void *__wrap_calloc(size_t n, size_t size)
{
	return fail_now() ? NULL : __real_calloc(n, size);
}

void *__wrap_realloc(void *p, size_t size)
{
	return fail_now() ? NULL : __real_realloc(p, size);
}

static void arm(long n)
{
	allocs = 0;
	fail_at = n;
}

/* Whether the allocation armed to fail was reached. */
static bool disarm(void)
{
	bool failed = fail_at >= 0 && allocs > fail_at;

	fail_at = -1;
	return failed;
}

#define PID 100
#define PID2 200
#define GIL 0x7000ULL
#define MUTEX 0x1000ULL
#define COND 0x2028ULL /* its two group words: +0 and +4 */
#define DL_A 0x3000ULL
#define DL_B 0x3008ULL
#define SITE 0x401000ULL
#define STRANGER 5000001 /* a waker outside the trace (above any pid_max: no /proc entry) */
#define NR_READ 0

static const struct rpt_gil_info gil_info = {
	.pid = PID,
	.file = "libpython3.12.so.1.0",
	.version = "3.12",
	.tier = RPT_GIL_UPROBES,
	.addr = GIL,
	.interval_us = 5000,
};

static struct report_meta meta;

static int setup(void **state)
{
	(void)state;
	fake_meta(&meta, PID, 1000);
	meta.ngil = 1;
	meta.gil = &gil_info;
	return 0;
}

/*
 * Everything model_build() allocates for: two processes, a Python one with
 * GIL figures, a contended mutex with waiters, holders, chains and a call
 * site, a condition variable's two words, a deadlock of two waits in
 * progress, wakers inside and outside the trace, runners, syscall rows
 * split by GIL state. `late` scales the counters (a later snapshot of the same run).
 */
static void make_rich(struct snapshot *s, uint64_t ts, uint64_t late, bool close)
{
	struct ct_thread *t[5];
	struct ct_lock_stat *l;
	struct snap_waker *w;

	fake_init(s, ts, 5);
	t[0] = fake_thread(s, 0, PID, PID, "main", 1000);
	t[1] = fake_thread(s, 1, PID + 1, PID, "worker-1", 1000);
	t[2] = fake_thread(s, 2, PID + 2, PID, "worker-2", 1000);
	t[3] = fake_thread(s, 3, PID + 3, PID, "worker-3", 1000);
	t[4] = fake_thread(s, 4, PID2, PID2, "other", 1000);
	for (int i = 0; i < 3; i++) {
		t[i]->gil_state = CT_GIL_HELD;
		t[i]->gil_ts = ts - 10;
		t[i]->gil_hold_ns = 1000 * late;
		t[i]->gil_wait_ns = 500 * late;
		t[i]->gil_takes = 10 * late;
		t[i]->gil_waits = 5 * late;
		t[i]->gil_rel_ns = 300 * late;
	}
	fake_futex_wait(t[2], DL_A, CT_FUTEX_WAIT, ts - 100, SITE, PID + 3, 1);
	fake_futex_wait(t[3], DL_B, CT_FUTEX_WAIT, ts - 100, SITE, PID + 2, 1);
	fake_futex_wait(t[0], MUTEX, CT_FUTEX_WAIT, ts - 50, SITE, PID + 2, 1);
	l = fake_lock(s, PID, MUTEX, CT_FUTEX_WAIT);
	for (uint64_t i = 0; i < late; i++)
		fake_lock_wait(l, 1000, PID + 2);
	l->holds = late;
	l->hold_ns = 900 * late;
	fake_edge(s, PID, MUTEX, PID + 1, PID + 2, late, 1000 * late);
	fake_site(s, PID, MUTEX, SITE, late, 1000 * late);
	for (uint64_t word = COND; word <= COND + 4; word += 4) {
		l = fake_lock(s, PID, word, CT_FUTEX_WAIT_BITSET);
		fake_lock_wait(l, 100, PID);
		fake_edge(s, PID, word, PID + 1, PID, 1, 100);
		fake_site(s, PID, word, SITE + 16, 1, 100);
	}
	l = fake_lock(s, PID, GIL + CT_GIL_COND, CT_FUTEX_WAIT_BITSET);
	fake_lock_wait(l, 5000, CT_WAKER_IRQ);
	fake_edge(s, PID, GIL + CT_GIL_COND, PID + 1, CT_WAKER_IRQ, late, 5000 * late);
	w = snapshot_add_waker(s, 1, PID + 2);
	w->val.count = late;
	w->val.waker_tgid = PID;
	w = snapshot_add_waker(s, 1, STRANGER);
	w->val.count = late;
	w->val.waker_tgid = STRANGER;
	t[1]->rl_wak[2].tid = PID + 3; /* a cached count not in the map yet */
	t[1]->rl_wak[2].tgid = PID;
	t[1]->rl_wak[2].count = late;
	/* Who had the CPU while they waited: a sibling, another process, two in a runner cache. */
	fake_runner(s, 1, PID, PID, 0, 100 * late, late);
	fake_runner(s, 1, PID2, PID2, 0, 50 * late, late);
	fake_rl_runner(t[0], 0, PID + 1, PID, 0, 20 * late, (uint32_t)late);
	fake_rl_runner(t[0], 5, PID + 2, PID, 0, 10 * late, (uint32_t)late);
	fake_sys(s, 1, NR_READ, late, 100 * late);
	fake_sys(s, 1, ct_gil_sys_key(NR_READ, CT_GIL_RELEASED), late, 50 * late);
	fake_sys(s, 2, ct_gil_sys_key(NR_READ, CT_GIL_HELD), late, 70 * late);
	if (close)
		assert_int_equal(fake_close(s), 0);
}

/* Builds with each allocation failing in turn: -ENOMEM each time, then the whole report. */
static void check_model_build(const struct snapshot *cur, const struct snapshot *prev)
{
	struct report r;
	long n;
	int ret;

	for (n = 0;; n++) {
		arm(n);
		ret = model_build(&r, &meta, cur, prev);
		if (!disarm())
			break;
		assert_int_equal(ret, -ENOMEM);
	}
	/* Enough allocations to have reached every part, and the report whole when none fails. */
	assert_true(n > 20);
	assert_int_equal(ret, 0);
	assert_int_equal(r.nprocs, 2);
	assert_non_null(r.procs[0].gil);
	assert_int_equal(r.procs[0].ndeadlocks, 1);
	/* The mutex, the cond, the GIL's word, two deadlocked; in the interval, unchanged ones go. */
	assert_int_equal(r.procs[0].nlocks, prev ? 3 : 5);
	/* Its own threads (one row) and the other process. */
	assert_int_equal(r.procs[0].nrunners, 2);
	assert_int_equal(r.procs[0].runners_ns, (prev ? 2 : 3) * 180);
	model_free(&r);
}

static void test_model_build(void **state)
{
	struct snapshot a, b;

	(void)state;
	make_rich(&a, 10000, 1, true);
	make_rich(&b, 20000, 3, true);
	check_model_build(&b, NULL);
	check_model_build(&b, &a);
	snapshot_free(&a);
	snapshot_free(&b);
}

/* Closing a snapshot's open intervals adds entries: each failure is -ENOMEM, and freed. */
static void test_close(void **state)
{
	struct snapshot s;
	long n;
	int ret;

	(void)state;
	for (n = 0;; n++) {
		make_rich(&s, 20000, 3, false);
		/* As if allocated to their counts (a recording's): the first entry added grows them. */
		s.cap.sys = 0;
		s.cap.wakers = 0;
		arm(n);
		ret = sched_close(&s);
		if (!ret)
			ret = syscalls_close(&s);
		if (!disarm()) {
			snapshot_free(&s);
			break;
		}
		assert_int_equal(ret, -ENOMEM);
		snapshot_free(&s);
	}
	assert_int_equal(ret, 0);
	assert_int_equal(n, 2); /* the wakers' growth, the syscalls' */
}

/* The name caches stay sorted and whole after a failure: the next call names everything. */
static void test_name_caches(void **state)
{
	struct symbolizer *sym = symbolizer_new();
	struct snapshot s, syms, names;
	long n;

	(void)state;
	make_rich(&s, 20000, 3, true);
	for (n = 0;; n++) {
		int ret;
		bool failed;

		memset(&syms, 0, sizeof(syms));
		memset(&names, 0, sizeof(names));
		arm(n);
		ret = futex_name(&s, sym, NULL, &syms);
		if (!ret)
			ret = sched_resolve_names(&names, &s);
		failed = disarm();
		assert_true(ret == 0 || (failed && ret == -ENOMEM));
		assert_int_equal(futex_name(&s, sym, NULL, &syms), 0);
		assert_int_equal(sched_resolve_names(&names, &s), 0);
		/* Lock words: mutex, the cond's two, the GIL's, two in progress; 2 call sites. */
		assert_int_equal(s.nsyms, 8);
		assert_non_null(snapshot_find_sym(&s, PID, SNAP_SYM_DATA, DL_B));
		assert_non_null(snapshot_find_sym(&s, PID, SNAP_SYM_CODE, SITE + 16));
		assert_int_equal(s.nnames, 1);
		assert_non_null(snapshot_find_name(&s, STRANGER));
		snapshot_free(&syms);
		snapshot_free(&names);
		if (!failed)
			break;
	}
	assert_true(n > 2);
	snapshot_free(&s);
	symbolizer_free(sym);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_model_build, setup),
		cmocka_unit_test_setup(test_close, setup),
		cmocka_unit_test_setup(test_name_caches, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
