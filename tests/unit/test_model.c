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

#include <sched.h>
#include <unistd.h>

#include "model/model.h"
#include "util/procfs.h"
#include "probe/sched.h"
#include "model/sched.h"
#include "snapfake.h"
#include "probe/syscalls.h"
#include "model/syscalls.h"
#include "probe/task.h"
#include "model/procs.h"

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
	t->rl_wak[0].tid = 102;
	t->rl_wak[0].tgid = 100;
	t->rl_wak[0].count = late ? 3 : 2;
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
	assert_int_equal(t->s.f.blocked_ns, 10000);
	assert_false(t->started);
	sc = find_sys(t->sys, t->nsys, NR_FUTEX);
	assert_int_equal(sc->calls, 0);
	assert_int_equal(sc->open, 1);
	assert_int_equal(sc->blocked_ns, 10000);

	t = find_thread(&r.procs[0], 101);
	assert_int_equal(t->s.f.oncpu_ns, 5000);
	assert_int_equal(t->s.f.nvcsw, 5);
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
	assert_int_equal(r.procs[0].s.f.oncpu_ns, 5000 + 2000);
	assert_int_equal(r.total.s.f.oncpu_ns, 5000 + 2000 + 1500);
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
	assert_int_equal(t->s.f.nvcsw, 3);
	assert_int_equal(t->s.f.wakeups, 3);
	assert_int_equal(hist_count(&t->s.wakelat), 3);
	/* Blocked from 5500 to 6000 was closed into the first snapshot: 2500 - 1500. */
	assert_int_equal(t->s.f.blocked_ns, 1000);
	assert_int_equal(t->wakers[0].count, 5 - 2);
	assert_int_equal(find_sys(t->sys, t->nsys, NR_GETPPID)->calls, 6);

	t = find_thread(&r.procs[0], 102);
	assert_false(t->started); /* it started before this interval */
	assert_true(t->exited);
	assert_int_equal(t->alive_ns, 2000);
	assert_null(find_sys(t->sys, t->nsys, NR_CLOSE)); /* nothing new */

	t = find_thread(&r.procs[0], 100);
	assert_int_equal(t->s.f.blocked_ns, 5000);
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

#define MS 1000000ULL
#define NOPID 5000001 /* above any pid_max: /proc has nothing of it */

/*
 * Closing the intervals open at a snapshot, in the GIL states and syscalls
 * they began in. At 100 ms:
 * slot 0 queued since 90 ms with the GIL released (after a run);
 * slot 1 blocked in read since 40 ms with the GIL released;
 * slot 2 blocked outside any syscall since 70 ms;
 * slot 3 blocked in read since 50 ms, its run-length cache holding
 *        two earlier blocks in read (6 ms);
 * slot 4 blocked in futex since 20 ms, woken at 60 ms, still queued;
 * slot 5 queued since 80 ms inside a read (--syscalls) entered at 30 ms.
 */
static void test_close_states(void **state)
{
	struct ct_thread *t[6];
	struct snapshot s;

	(void)state;
	fake_init(&s, 100 * MS, 6);
	for (uint32_t i = 0; i < 6; i++)
		t[i] = fake_thread(&s, i, 500 + i, 500, "t", 1000);
	t[0]->state = CT_ST_RUNNABLE;
	t[0]->state_ts = 90 * MS;
	t[0]->gil_state = CT_GIL_RELEASED;
	t[1]->state = CT_ST_BLOCKED;
	t[1]->state_ts = 40 * MS;
	t[1]->blk_nr = NR_READ;
	t[1]->gil_blk = CT_GIL_RELEASED;
	t[2]->state = CT_ST_BLOCKED;
	t[2]->state_ts = 70 * MS;
	t[3]->state = CT_ST_BLOCKED;
	t[3]->state_ts = 50 * MS;
	t[3]->blk_nr = NR_READ;
	t[3]->bl[1].nr = NR_READ;
	t[3]->bl[1].count = 2;
	t[3]->bl[1].ns = 6 * MS;
	t[4]->state = CT_ST_BLOCKED;
	t[4]->state_ts = 20 * MS;
	t[4]->blk_nr = NR_FUTEX;
	t[4]->wake_pending = 1;
	t[4]->wake_ts = 60 * MS;
	t[5]->state = CT_ST_RUNNABLE;
	t[5]->state_ts = 80 * MS;
	t[5]->sys_nr = NR_READ;
	t[5]->sys_ts = 30 * MS;
	t[5]->sys_offcpu_ns = 4 * MS;
	assert_int_equal(fake_close(&s), 0);

	assert_int_equal(t[0]->runq_ns, 10 * MS);
	assert_int_equal(t[0]->gil_rel_runq_ns, 10 * MS);
	assert_int_equal(t[1]->blocked_ns, 60 * MS);
	assert_int_equal(t[1]->gil_rel_blocked_ns, 60 * MS);
	/* Keyed apart by the GIL state it blocked in. */
	assert_null(snapshot_find_sys(&s, 1, NR_READ));
	assert_int_equal(
		snapshot_find_sys(&s, 1, ct_gil_sys_key(NR_READ, CT_GIL_RELEASED))->st.blocked_ns,
		60 * MS);
	assert_int_equal(t[2]->blocked_nosys_ns, 30 * MS);
	assert_null(snapshot_find_sys(&s, 2, CT_SYS_NONE));
	/* The block in progress joins its key's entry in the cache, flushed as one of 3 blocks. */
	assert_int_equal(snapshot_find_sys(&s, 3, NR_READ)->st.blocks, 3);
	assert_int_equal(snapshot_find_sys(&s, 3, NR_READ)->st.blocked_ns, 56 * MS);
	assert_int_equal(t[3]->bl[1].count, 0);
	/* Blocked until the wakeup, queued since. */
	assert_int_equal(t[4]->blocked_ns, 40 * MS);
	assert_int_equal(t[4]->runq_ns, 40 * MS);
	assert_int_equal(snapshot_find_sys(&s, 4, NR_FUTEX)->st.blocked_ns, 40 * MS);
	/* The syscall in progress: an open entry with its time and off-CPU time so far. */
	assert_int_equal(t[5]->runq_ns, 20 * MS);
	assert_int_equal(snapshot_find_sys(&s, 5, NR_READ)->open, 1);
	assert_int_equal(snapshot_find_sys(&s, 5, NR_READ)->st.total_ns, 70 * MS);
	assert_int_equal(snapshot_find_sys(&s, 5, NR_READ)->st.offcpu_ns, 24 * MS);
	snapshot_free(&s);
}

/* Who woke a thread: in the trace, outside it, interrupts, not seen; ranked by count. */
static void test_wakers(void **state)
{
	struct snapshot names = { 0 }, a, b;
	const struct rpt_thread *t;
	struct snap_waker *w;
	struct report r;

	(void)state;
	for (int late = 0; late < 2; late++) {
		struct snapshot *s = late ? &b : &a;

		fake_init(s, (late ? 200 : 100) * MS, 2);
		fake_thread(s, 0, 100, 100, "main", 1000);
		fake_thread(s, 1, 101, 100, "worker", 1000);
		w = snapshot_add_waker(s, 1, 100);
		w->val.count = late ? 9 : 4;
		w->val.waker_tgid = 100;
		w = snapshot_add_waker(s, 1, CT_WAKER_IRQ);
		w->val.count = late ? 9 : 1;
		w = snapshot_add_waker(s, 1, CT_WAKER_UNKNOWN);
		w->val.count = 2;
		w = snapshot_add_waker(s, 1, NOPID);
		w->val.count = late ? 20 : 10;
		w->val.waker_tgid = NOPID;
		/* main woken from a softirq that worker's own syscall raised (a loopback send). */
		w = snapshot_add_waker(s, 0, 101 | CT_WAKER_SOFTIRQ);
		w->val.count = 6;
		w->val.waker_tgid = 100;
		assert_int_equal(fake_close(s), 0);
		assert_int_equal(sched_resolve_names(&names, s), 0);
	}
	/* One name kept for the waker outside the trace, though both snapshots had it. */
	assert_int_equal(names.nnames, 1);
	assert_string_equal(b.names[0].comm, "?");
	assert_string_equal(task_comm(&b, NOPID), "?");
	assert_string_equal(task_comm(&b, 101), "worker");

	assert_int_equal(model_build(&r, &meta, &b, NULL), 0);
	t = find_thread(&r.procs[0], 101);
	assert_int_equal(t->nwakers, 4);
	assert_int_equal(t->wakers[0].tid, NOPID);
	assert_int_equal(t->wakers[0].pid, NOPID);
	assert_string_equal(t->wakers[0].comm, "?");
	/* Equal counts: by tid (the interrupt's 0 first). */
	assert_int_equal(t->wakers[1].tid, CT_WAKER_IRQ);
	assert_string_equal(t->wakers[1].comm, "[interrupt]");
	assert_string_equal(t->wakers[2].comm, "main");
	assert_string_equal(t->wakers[3].comm, "[unknown]");
	t = find_thread(&r.procs[0], 100);
	assert_int_equal(t->nwakers, 1);
	assert_int_equal(t->wakers[0].tid, 101);
	assert_true(t->wakers[0].softirq);
	assert_string_equal(t->wakers[0].comm, "worker");
	assert_int_equal(t->wakers[0].count, 6);
	model_free(&r);

	/* The interval: differences; a waker with nothing new is left out. */
	assert_int_equal(model_build(&r, &meta, &b, &a), 0);
	t = find_thread(&r.procs[0], 101);
	assert_int_equal(t->nwakers, 3);
	assert_int_equal(t->wakers[0].count, 10);
	assert_int_equal(t->wakers[1].count, 8);
	assert_int_equal(t->wakers[2].count, 5);
	assert_int_equal(find_thread(&r.procs[0], 100)->nwakers, 0); /* 6 then 6: none new */
	model_free(&r);
	snapshot_free(&a);
	snapshot_free(&b);
	snapshot_free(&names);
}

/* /proc facts about the traced processes: read once per process, kept sorted. */
static void test_proc_cache(void **state)
{
	struct proc_cache c = { 0 };
	struct ct_thread slots[5] = { 0 };
	char comm[CT_COMM_LEN] = "", cmdline[SNAP_CMDLINE_LEN];
	struct snapshot s = { 0 };
	cpu_set_t set;
	uint32_t self = (uint32_t)getpid();

	(void)state;
	/* Two threads of this process, one of a process that is not there, a dead one, a gated one. */
	for (int i = 0; i < 5; i++) {
		slots[i].flags = CT_TF_READY;
		slots[i].state = CT_ST_RUNNING;
		snprintf(slots[i].comm, sizeof(slots[i].comm), "slot%d", i);
	}
	slots[0].tid = NOPID + 1;
	slots[0].tgid = NOPID;
	slots[1].tid = slots[1].tgid = self;
	slots[2].tid = self + 1;
	slots[2].tgid = self;
	slots[3].tid = slots[3].tgid = NOPID + 7;
	slots[3].state = CT_ST_DEAD;
	slots[4].tid = slots[4].tgid = NOPID + 9;
	slots[4].flags |= CT_TF_GATED;
	task_refresh_procs(&c, slots, 5);
	assert_int_equal(c.n, 2);
	assert_int_equal(c.v[0].pid, self);
	assert_int_equal(c.v[1].pid, NOPID);
	/* This process as /proc says; the missing one named by its first thread. */
	assert_int_equal(proc_comm((int)self, 0, comm, sizeof(comm)), 0);
	assert_string_equal(c.v[0].comm, comm);
	assert_int_equal(proc_cmdline((int)self, cmdline, sizeof(cmdline)), 0);
	assert_string_equal(c.v[0].cmdline, cmdline);
	assert_int_equal(sched_getaffinity(0, sizeof(set), &set), 0);
	assert_int_equal(c.v[0].ncpus, CPU_COUNT(&set));
	assert_string_equal(c.v[1].comm, "slot0");
	assert_string_equal(c.v[1].cmdline, "");
	/* Again: nothing new. */
	task_refresh_procs(&c, slots, 5);
	assert_int_equal(c.n, 2);
	task_proc_exec(&c, self);
	assert_string_equal(c.v[0].cmdline, cmdline);
	assert_int_equal(task_copy_procs(&c, &s), 0);
	assert_int_equal(s.nprocs, 2);
	assert_non_null(snapshot_find_proc(&s, NOPID));
	assert_null(snapshot_find_proc(&s, NOPID + 7));
	assert_int_equal(task_read(&s, slots, 5), 0);
	assert_int_equal(s.nthreads, 5);
	assert_int_equal(s.threads[2].tid, self + 1);
	assert_int_equal(task_read(&s, slots, 0), 0);
	assert_null(s.threads);
	snapshot_free(&s);
	task_free_procs(&c);
}

/*
 * Processes and threads of a window: the target first, then by pid; a
 * thread gone before the window is not in it; one that exited in it is;
 * a process all of whose threads exited has exited. /proc's facts name a
 * process, its leader's current name wins.
 */
static void test_processes(void **state)
{
	struct snapshot a, b;
	struct snap_proc *pi;
	struct report r;

	(void)state;
	for (int late = 0; late < 2; late++) {
		struct snapshot *s = late ? &b : &a;
		struct ct_thread *t;

		fake_init(s, (late ? 200 : 100) * MS, 5);
		fake_thread(s, 0, 300, 300, "sh", 1000);
		t = fake_thread(s, 1, 301, 300, "gone", 1000);
		t->state = CT_ST_DEAD;
		t->end_ts = 50 * MS;
		fake_thread(s, 2, 100, 100, "target", 1000);
		t = fake_thread(s, 3, 200, 200, "child", 120 * MS);
		if (!late)
			t->tid = 0; /* not there yet */
		if (late) {
			t->state = CT_ST_DEAD;
			t->end_ts = 150 * MS;
		}
		fake_thread(s, 4, 101, 100, "target-w", 60 * MS);
		pi = snapshot_add_proc(s);
		pi->pid = 300;
		pi->ncpus = 1;
		snprintf(pi->comm, sizeof(pi->comm), "bash");
		snprintf(pi->cmdline, sizeof(pi->cmdline), "/bin/sh -c run");
		assert_int_equal(fake_close(s), 0);
	}
	assert_int_equal(model_build(&r, &meta, &b, &a), 0);
	assert_int_equal(r.nprocs, 3);
	assert_int_equal(r.procs[0].pid, 100);
	assert_int_equal(r.procs[0].nthreads, 2);
	assert_int_equal(r.procs[0].threads_started, 0); /* 101 started before the window */
	assert_int_equal(r.procs[0].ncpus, sys_ncpus());
	assert_int_equal(r.procs[1].pid, 200);
	assert_true(r.procs[1].exited);
	assert_int_equal(r.procs[1].threads_started, 1);
	assert_int_equal(r.procs[1].wall_ns, 30 * MS);
	assert_int_equal(r.procs[2].pid, 300);
	assert_int_equal(r.procs[2].nthreads, 1); /* 301 exited before the window */
	assert_string_equal(r.procs[2].comm, "sh"); /* the leader's name now, not /proc's then */
	assert_string_equal(r.procs[2].cmdline, "/bin/sh -c run");
	assert_int_equal(r.procs[2].ncpus, 1);
	assert_int_equal(r.total.nthreads, 4);
	assert_false(r.total.exited);
	assert_int_equal(r.total.threads_exited, 1);
	model_free(&r);
	snapshot_free(&a);
	snapshot_free(&b);
}

/*
 * Python names: a thread gets the name read while it lived; a later thread
 * with the same tid (a name read before it started), or the same tid in
 * another process, does not.
 */
static void test_pynames(void **state)
{
	static const struct {
		uint32_t tid, pid;
		uint64_t ts;
		const char *name;
	} names[] = {
		{ 101, 100, 70 * MS, "client-0" },
		{ 102, 100, 10 * MS, "old-thread" }, /* before 102 began: another thread */
		{ 103, 999, 70 * MS, "elsewhere" },
		{ 100, 100, 70 * MS, "MainThread" },
	};
	struct snapshot a, b;
	struct report r;

	(void)state;
	for (int late = 0; late < 2; late++) {
		struct snapshot *s = late ? &b : &a;

		fake_init(s, (late ? 200 : 100) * MS, 4);
		fake_thread(s, 0, 100, 100, "python3", 1000);
		fake_thread(s, 1, 101, 100, "python3", 60 * MS);
		fake_thread(s, 2, 102, 100, "python3", 60 * MS);
		fake_thread(s, 3, 103, 100, "python3", 60 * MS);
		s->pynames = calloc(4, sizeof(*s->pynames));
		assert_non_null(s->pynames);
		s->npynames = 4;
		for (int i = 0; i < 4; i++) {
			s->pynames[i].tid = names[i].tid;
			s->pynames[i].pid = names[i].pid;
			s->pynames[i].ts = names[i].ts;
			snprintf(s->pynames[i].name, SNAP_PYNAME_LEN, "%s", names[i].name);
		}
		assert_int_equal(fake_close(s), 0);
	}
	assert_int_equal(model_build(&r, &meta, &b, &a), 0);
	assert_int_equal(r.procs[0].nthreads, 4);
	for (size_t i = 0; i < 4; i++) {
		const struct rpt_thread *t = &r.procs[0].threads[i];
		const char *want = t->tid == 100 ? "MainThread" : t->tid == 101 ? "client-0" : "";

		assert_string_equal(t->pyname, want);
		assert_string_equal(rpt_thread_name(t), want[0] ? want : "python3");
	}
	model_free(&r);
	snapshot_free(&a);
	snapshot_free(&b);
}

/* Thread names from a target's memory: control characters and broken UTF-8 become '?'. */
static void test_clean_pyname(void **state)
{
	char name[SNAP_PYNAME_LEN];

	(void)state;
	snprintf(name, sizeof(name),
		 "a\x1b[2J\n\x7f\xc2\x85"
		 "b"); /* ESC, LF, DEL, C1 NEL */
	snapshot_clean_pyname(name, sizeof(name));
	assert_string_equal(name, "a?[2J????b");
	snprintf(name, sizeof(name), "w\xc3\xa9rk\xe4\xb8\xad-1"); /* "wérk中-1": kept */
	snapshot_clean_pyname(name, sizeof(name));
	assert_string_equal(name, "w\xc3\xa9rk\xe4\xb8\xad-1");
	/* Overlong '/', a lone continuation byte, a surrogate, a sequence cut at the end. */
	snprintf(name, sizeof(name), "\xc0\xaf|\x80|\xed\xa0\x80|\xe4\xb8");
	snapshot_clean_pyname(name, sizeof(name));
	assert_string_equal(name, "??|?|???|??");
	/* Not NUL-terminated (a recording's field): it ends within its field. */
	memset(name, 'x', sizeof(name));
	snapshot_clean_pyname(name, sizeof(name));
	assert_int_equal(strlen(name), SNAP_PYNAME_LEN - 1);
}

/* Per-syscall rows: differences, merged per process and in total; nothing new, no row. */
static void test_syscall_rows(void **state)
{
	struct snapshot a, b;
	const struct rpt_syscall *sc;
	struct report r;

	(void)state;
	for (int late = 0; late < 2; late++) {
		struct snapshot *s = late ? &b : &a;
		uint64_t k = late ? 3 : 1;

		fake_init(s, (late ? 200 : 100) * MS, 3);
		fake_thread(s, 0, 100, 100, "main", 1000);
		fake_thread(s, 1, 101, 100, "w", 1000);
		fake_thread(s, 2, 200, 200, "child", 1000);
		for (uint32_t i = 0; i < 3; i++) {
			struct snap_sys *e = snapshot_add_sys(s, i, NR_READ);

			e->st.calls = 10 * k * (i + 1);
			e->st.errors = k;
			e->st.total_ns = k * (i + 1) * MS;
			e->st.max_ns = (i + 1) * MS;
			e->st.partial = i == 0;
		}
		add_sys(s, 0, NR_CLOSE, 5, 0, 100); /* the same at both: no row in the interval */
		assert_int_equal(fake_close(s), 0);
	}
	assert_int_equal(model_build(&r, &meta, &b, &a), 0);
	sc = find_sys(r.procs[0].sys, r.procs[0].nsys, NR_READ);
	assert_int_equal(sc->calls, 20 + 40);
	assert_int_equal(sc->errors, 4);
	assert_int_equal(sc->total_ns, 2 * MS + 4 * MS);
	assert_int_equal(sc->max_ns, 2 * MS); /* the larger, since tracing began */
	assert_int_equal(sc->partial, 0); /* partial counted once, at the start */
	assert_null(find_sys(r.procs[0].sys, r.procs[0].nsys, NR_CLOSE));
	sc = find_sys(r.total.sys, r.total.nsys, NR_READ);
	assert_int_equal(sc->calls, 20 + 40 + 60);
	assert_int_equal(sc->max_ns, 3 * MS);
	assert_int_equal(r.total.nsys, 1);
	model_free(&r);

	assert_int_equal(model_build(&r, &meta, &b, NULL), 0);
	assert_int_equal(find_sys(r.procs[0].sys, r.procs[0].nsys, NR_READ)->partial, 1);
	assert_int_equal(find_sys(r.procs[0].sys, r.procs[0].nsys, NR_CLOSE)->calls, 5);
	/* Most time first. */
	assert_int_equal(r.procs[0].sys[0].nr, NR_READ);
	model_free(&r);
	snapshot_free(&a);
	snapshot_free(&b);
}

/*
 * Every counter of the BPF side but the two that count threads found is a
 * drop: differenced over the window, and model_has_drops() says so (a new
 * counter that the report does not show fails here).
 */
static void test_drops(void **state)
{
	size_t n = sizeof(struct ct_counters) / sizeof(uint64_t);
	struct snapshot a, b;
	uint64_t *ca, *cb;
	struct report r;

	(void)state;
	fake_init(&a, 100 * MS, 1);
	fake_init(&b, 200 * MS, 1);
	ca = (uint64_t *)&a.counters;
	cb = (uint64_t *)&b.counters;
	for (size_t i = 0; i < n; i++) {
		ca[i] = 10;
		cb[i] = 10;
	}
	assert_int_equal(model_build(&r, &meta, &b, &a), 0);
	assert_false(model_has_drops(&r));
	assert_int_equal(r.threads_seeded, 10);
	model_free(&r);
	for (size_t i = 0; i < n; i++) {
		struct rpt_drops zero = { 0 };

		cb[i] = 13;
		assert_int_equal(model_build(&r, &meta, &b, &a), 0);
		if (i == offsetof(struct ct_counters, seeded_late) / sizeof(uint64_t)) {
			/* not a drop: the threads of storage_failed found later */
			assert_false(model_has_drops(&r));
			assert_int_equal(r.threads_late, 3);
		} else if (i == offsetof(struct ct_counters, claimed_late) / sizeof(uint64_t)) {
			/* not a drop: threads claimed whole at their first switch-out */
			assert_false(model_has_drops(&r));
			assert_int_equal(r.threads_claimed_late, 3);
		} else if (i != offsetof(struct ct_counters, seeded) / sizeof(uint64_t) &&
			   i != offsetof(struct ct_counters, forked) / sizeof(uint64_t)) {
			assert_true(model_has_drops(&r));
			assert_memory_not_equal(&r.drops, &zero, sizeof(zero));
		}
		model_free(&r);
		cb[i] = 10;
	}
	b.counters.locks_dropped = 15;
	assert_int_equal(model_build(&r, &meta, &b, &a), 0);
	assert_int_equal(r.drops.locks_dropped, 5);
	model_free(&r);
	meta.holds_unprobed = 2;
	assert_int_equal(model_build(&r, &meta, &a, NULL), 0);
	assert_int_equal(r.drops.holds_unprobed, 2);
	assert_true(model_has_drops(&r));
	model_free(&r);
	meta.holds_unprobed = 0;
	/* A snapshot older than its predecessor (a damaged recording): an empty window. */
	assert_int_equal(model_build(&r, &meta, &a, &b), 0);
	assert_int_equal(r.duration_ns, 0);
	model_free(&r);
	snapshot_free(&a);
	snapshot_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_close),	     cmocka_unit_test(test_cumulative),
		cmocka_unit_test(test_interval),     cmocka_unit_test(test_syscall_names),
		cmocka_unit_test(test_close_states), cmocka_unit_test(test_wakers),
		cmocka_unit_test(test_proc_cache),   cmocka_unit_test(test_processes),
		cmocka_unit_test(test_syscall_rows), cmocka_unit_test(test_drops),
		cmocka_unit_test(test_pynames),	     cmocka_unit_test(test_clean_pyname),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
