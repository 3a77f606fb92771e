// SPDX-License-Identifier: GPL-2.0-only
/*
 * The report model built from synthetic snapshots: the same closing,
 * normalizing and building steps as a live trace, with known inputs.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "model.h"
#include "sched.h"
#include "syscalls.h"

#define NR_FUTEX 202
#define NR_GETPPID 110
#define NR_CLOSE 3
#define NR_READ 0

static struct report_meta meta = {
	.version = "test",
	.kernel = "6.18",
	.hostname = "h",
	.ncpus = 2,
	.target_pid = 100,
	.trace_start_ns = 1000,
	.exit_status = -1,
};

static struct ct_thread *slot(struct snapshot *s, uint32_t i, uint32_t tid, uint32_t tgid,
			      const char *comm)
{
	struct ct_thread *t = &s->threads[i];

	t->tid = tid;
	t->tgid = tgid;
	t->slot = i;
	t->sys_nr = CT_SYS_NONE;
	t->blk_nr = CT_SYS_NONE;
	strncpy(t->comm, comm, sizeof(t->comm) - 1);
	return t;
}

static void add_sys(struct snapshot *s, uint32_t sl, int nr, uint64_t calls, uint64_t errors,
		    uint64_t total)
{
	struct snap_sys *e = snapshot_add_sys(s, sl, nr);

	e->st.calls = calls;
	e->st.errors = errors;
	e->st.total_ns = total;
	e->st.max_ns = total;
}

/*
 * Slot 0: the target's main thread, blocked in futex since tracing began
 *         (with --syscalls: the futex call is in progress too).
 * Slot 1: a worker. Late: running since 9000 after waiting from 8500 for a
 *         CPU, woken from a block in read that began at 8000, not yet settled.
 * Slot 2: a thread started at 3000 and exited at 8000.
 * Slot 3: the child process 200 (-f), runnable since 10000.
 * Slot 4: a launched command's thread before its execve: not accounted.
 */
static void make_snapshot(struct snapshot *s, uint64_t ts, int late)
{
	struct ct_thread *t;

	memset(s, 0, sizeof(*s));
	s->ts = ts;
	s->nthreads = 5;
	s->threads = calloc(5, sizeof(*s->threads));
	s->counters.seeded = 2;

	t = slot(s, 0, 100, 100, "main");
	t->flags = CT_TF_SEEDED | CT_TF_PROCESS | CT_TF_SYS_PARTIAL;
	t->start_ts = 1000;
	t->state = CT_ST_BLOCKED;
	t->state_ts = 1000;
	t->blk_ts = 1000;
	t->blk_nr = NR_FUTEX;
	t->sys_nr = NR_FUTEX;
	t->sys_ts = 1000;

	t = slot(s, 1, 101, 100, "worker");
	t->flags = CT_TF_SEEDED | CT_TF_SEEN | (late ? CT_TF_WOKEN : 0);
	t->blk_ts = late ? 8000 : 5500;
	t->blk_nr = NR_READ;
	t->start_ts = 1000;
	t->oncpu_ns = late ? 3000 : 1000;
	t->runq_ns = late ? 1000 : 400;
	t->blocked_ns = late ? 2000 : 1000;
	t->nvcsw = late ? 5 : 2;
	t->nivcsw = late ? 2 : 1;
	t->wakeups = late ? 5 : 2;
	t->wakelat_hist[ct_hist_index(1000)] = late ? 5 : 2;
	t->wakelat_sum = late ? 5000 : 2000;
	t->wakelat_max = 1200;
	t->state = late ? CT_ST_RUNNING : CT_ST_BLOCKED;
	t->state_ts = late ? 9000 : 5500;
	t->wait_ts = late ? 8500 : 0;
	t->rl_waker_tid = 102;
	t->rl_waker_tgid = 100;
	t->rl_waker_count = late ? 3 : 2;
	add_sys(s, 1, NR_GETPPID, late ? 10 : 4, 0, late ? 500 : 200);

	t = slot(s, 2, 102, 100, "helper");
	t->flags = CT_TF_SEEN;
	t->start_ts = 3000;
	t->oncpu_ns = late ? 2000 : 1000;
	t->runq_ns = late ? 1000 : 500;
	t->blocked_ns = late ? 2000 : 1000;
	t->end_ts = late ? 8000 : 0;
	t->state = late ? CT_ST_DEAD : CT_ST_RUNNING;
	t->state_ts = late ? 8000 : 5500;
	add_sys(s, 2, NR_CLOSE, 4, 4, 40);

	if (late) {
		struct snap_waker *w = snapshot_add_waker(s, 1, 102);

		w->val.count = 2;
		w->val.waker_tgid = 100;
		t = slot(s, 3, 200, 200, "child");
		t->flags = CT_TF_PROCESS;
		t->start_ts = 7000;
		t->oncpu_ns = 1500;
		t->state = CT_ST_RUNNABLE;
		t->state_ts = 10000;
		t->wait_ts = 10000;
	}
	t = slot(s, 4, 300, 300, "gated");
	t->flags = CT_TF_SEEDED | CT_TF_GATED;

	for (uint32_t i = 0; i < s->nthreads; i++)
		if (s->threads[i].tid)
			s->threads[i].flags |= CT_TF_READY;
	assert_int_equal(sched_close(s), 0);
	assert_int_equal(syscalls_close(s), 0);
	snapshot_normalize(s);
}

static const struct rpt_thread *find_thread(const struct rpt_process *p, uint32_t tid)
{
	for (size_t i = 0; i < p->nthreads; i++)
		if (p->threads[i].tid == tid)
			return &p->threads[i];
	return NULL;
}

static const struct rpt_syscall *find_sys(const struct rpt_syscall *v, size_t n, int nr)
{
	for (size_t i = 0; i < n; i++)
		if (v[i].nr == nr)
			return &v[i];
	return NULL;
}

static void test_close(void **state)
{
	struct snapshot s;

	(void)state;
	make_snapshot(&s, 11000, 1);
	/* Open intervals closed at 11000 by the state they were in. */
	assert_int_equal(s.threads[0].blocked_ns, 10000);
	assert_int_equal(snapshot_find_sys(&s, 0, NR_FUTEX)->st.blocked_ns, 10000);
	assert_int_equal(snapshot_find_sys(&s, 0, NR_FUTEX)->st.blocks, 1);
	assert_int_equal(s.threads[1].oncpu_ns, 3000 + 2000);
	assert_int_equal(s.threads[1].runq_ns, 1000 + 500); /* the wait before the current run */
	/* Its block in read ended by the wakeup at 8500, not settled by the kernel yet. */
	assert_int_equal(s.threads[1].blocked_ns, 2000 + 500);
	assert_int_equal(snapshot_find_sys(&s, 1, NR_READ)->st.blocked_ns, 500);
	assert_int_equal(s.threads[3].runq_ns, 1000);
	/* The dead thread is left as it was. */
	assert_int_equal(s.threads[2].oncpu_ns, 2000);
	/* Run-length waker counts merged with the map's entry. */
	assert_int_equal(s.nwakers, 1);
	assert_int_equal(s.wakers[0].val.count, 5);
	/* The syscall in progress is an open entry with its time so far. */
	assert_non_null(snapshot_find_sys(&s, 0, NR_FUTEX));
	assert_int_equal(snapshot_find_sys(&s, 0, NR_FUTEX)->open, 1);
	assert_int_equal(snapshot_find_sys(&s, 0, NR_FUTEX)->st.total_ns, 10000);
	snapshot_free(&s);
}

static void test_cumulative(void **state)
{
	const struct rpt_thread *t;
	const struct rpt_syscall *sc;
	struct snapshot s;
	struct report r;

	(void)state;
	make_snapshot(&s, 11000, 1);
	assert_int_equal(model_build(&r, &meta, &s, NULL), 0);
	assert_false(r.interval);
	assert_int_equal(r.duration_ns, 10000);
	assert_int_equal(r.nprocs, 2);
	assert_int_equal(r.procs[0].pid, 100); /* the target first */
	assert_int_equal(r.procs[1].pid, 200);
	assert_int_equal(r.procs[0].nthreads, 3); /* the gated thread is not there */
	assert_int_equal(r.procs[0].threads_started, 1);
	assert_int_equal(r.procs[0].threads_exited, 1);
	assert_false(r.procs[0].exited);
	assert_int_equal(r.procs[0].wall_ns, 10000);
	assert_int_equal(r.procs[1].wall_ns, 4000);

	t = find_thread(&r.procs[0], 100);
	assert_int_equal(t->alive_ns, 10000);
	assert_int_equal(t->s.blocked_ns, 10000);
	assert_false(t->started);
	sc = find_sys(t->sys, t->nsys, NR_FUTEX);
	assert_int_equal(sc->calls, 0);
	assert_int_equal(sc->open, 1);
	assert_int_equal(sc->blocked_ns, 10000);

	t = find_thread(&r.procs[0], 101);
	assert_int_equal(t->s.oncpu_ns, 5000);
	assert_int_equal(t->s.nvcsw, 5);
	assert_int_equal(hist_count(&t->s.wakelat), 5);
	assert_int_equal(find_sys(t->sys, t->nsys, NR_READ)->blocks, 1);
	assert_int_equal(t->nwakers, 1);
	assert_int_equal(t->wakers[0].tid, 102);
	assert_int_equal(t->wakers[0].count, 5);
	assert_string_equal(t->wakers[0].comm, "helper"); /* named from its slot */

	t = find_thread(&r.procs[0], 102);
	assert_true(t->started);
	assert_true(t->exited);
	assert_int_equal(t->start_ns, 2000);
	assert_int_equal(t->alive_ns, 5000);

	/* Sorted by on-CPU + run-queue: worker (6500), helper (3000), main (0). */
	assert_int_equal(r.procs[0].threads[0].tid, 101);
	assert_int_equal(r.procs[0].threads[2].tid, 100);

	/* Per process and in total. */
	sc = find_sys(r.procs[0].sys, r.procs[0].nsys, NR_CLOSE);
	assert_int_equal(sc->calls, 4);
	assert_int_equal(sc->errors, 4);
	assert_int_equal(r.procs[0].s.oncpu_ns, 5000 + 2000);
	assert_int_equal(r.total.s.oncpu_ns, 5000 + 2000 + 1500);
	assert_int_equal(r.total.nthreads, 4);
	assert_false(model_has_drops(&r));
	model_free(&r);
	snapshot_free(&s);
}

static void test_interval(void **state)
{
	const struct rpt_thread *t;
	struct snapshot a, b;
	struct report r;

	(void)state;
	make_snapshot(&a, 6000, 0);
	make_snapshot(&b, 11000, 1);
	b.counters.missed_wakeups = 3;
	assert_int_equal(model_build(&r, &meta, &b, &a), 0);
	assert_true(r.interval);
	assert_int_equal(r.window_start_ns, 5000);
	assert_int_equal(r.duration_ns, 5000);

	t = find_thread(&r.procs[0], 101);
	assert_int_equal(t->alive_ns, 5000);
	assert_int_equal(t->s.nvcsw, 3);
	assert_int_equal(t->s.wakeups, 3);
	assert_int_equal(hist_count(&t->s.wakelat), 3);
	/* Blocked from 5500 to 6000 was closed into the first snapshot: 2500 - 1500. */
	assert_int_equal(t->s.blocked_ns, 1000);
	assert_int_equal(t->wakers[0].count, 5 - 2);
	assert_int_equal(find_sys(t->sys, t->nsys, NR_GETPPID)->calls, 6);

	t = find_thread(&r.procs[0], 102);
	assert_false(t->started); /* it started before this interval */
	assert_true(t->exited);
	assert_int_equal(t->alive_ns, 2000);
	assert_null(find_sys(t->sys, t->nsys, NR_CLOSE)); /* nothing new */

	t = find_thread(&r.procs[0], 100);
	assert_int_equal(t->s.blocked_ns, 5000);
	assert_int_equal(find_sys(t->sys, t->nsys, NR_FUTEX)->total_ns, 5000);

	assert_int_equal(r.drops.missed_wakeups, 3);
	assert_true(model_has_drops(&r));
	model_free(&r);
	snapshot_free(&a);
	snapshot_free(&b);
}

static void test_syscall_names(void **state)
{
	char buf[32];

	(void)state;
	assert_string_equal(syscall_name(0, buf, sizeof(buf)), "read");
	assert_string_equal(syscall_name(NR_FUTEX, buf, sizeof(buf)), "futex");
	assert_string_equal(syscall_name(455, buf, sizeof(buf)), "futex_wait");
	assert_string_equal(syscall_name(900, buf, sizeof(buf)), "syscall_900");
	assert_string_equal(syscall_name(CT_NR_SYSCALLS - 1, buf, sizeof(buf)), "syscall_other");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_close),
		cmocka_unit_test(test_cumulative),
		cmocka_unit_test(test_interval),
		cmocka_unit_test(test_syscall_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
