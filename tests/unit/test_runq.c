// SPDX-License-Identifier: GPL-2.0-only
/*
 * Who had the CPU while a process's threads waited for one (PREEMPTED BY),
 * and why they waited (its run-queue verdicts), from synthetic snapshots:
 * the ct_runners entries and runner caches the BPF side leaves, closed,
 * normalized and built as a live trace does them. Each figure below is
 * known by construction.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "model/model.h"
#include "snapfake.h"
#include "textrows.h"

#define MS 1000000ULL
#define T0 MS /* tracing began */
#define TARGET 100

static struct report_meta meta;

static int setup(void **state)
{
	(void)state;
	fake_meta(&meta, TARGET, T0); /* 2 CPUs */
	return 0;
}

/*
 * Slot i: a thread alive since tracing began that was on a CPU for oncpu
 * and queued for runq in all, its current run begun at the snapshot (so
 * closing the snapshot adds nothing).
 */
static struct ct_thread *busy(struct snapshot *s, uint32_t i, uint32_t tid, uint32_t tgid,
			      const char *comm, uint64_t oncpu, uint64_t runq)
{
	struct ct_thread *t = fake_thread(s, i, tid, tgid, comm, T0);

	t->state_ts = s->ts;
	t->oncpu_ns = oncpu;
	t->runq_ns = runq;
	return t;
}

/* What /proc said of process pid: the CPUs of its affinity mask. */
static struct snap_proc *proc_info(struct snapshot *s, uint32_t pid, uint32_t ncpus)
{
	struct snap_proc *pi = snapshot_add_proc(s);

	assert_non_null(pi);
	pi->pid = pid;
	pi->ncpus = ncpus;
	return pi;
}

/* Its cgroup's quota (cpu.max: quota_us of period_us) and cpu.stat when first seen and now. */
static void quota(struct snap_proc *pi, uint64_t quota_us, uint64_t period_us,
		  struct snap_throttle thr0, struct snap_throttle thr)
{
	pi->quota_us = quota_us;
	pi->period_us = period_us;
	pi->cg_ino = 42;
	pi->thr0 = thr0;
	pi->thr = thr;
	snprintf(pi->quota_cgroup, sizeof(pi->quota_cgroup), "/batch.slice");
}

static const struct rpt_thread *thread_of(const struct rpt_process *p, uint32_t tid)
{
	for (size_t i = 0; i < p->nthreads; i++)
		if (p->threads[i].tid == tid)
			return &p->threads[i];
	fail_msg("no thread %u", tid);
	return NULL;
}

static void assert_runner(const struct rpt_runner *r, enum rpt_runner_kind kind, uint32_t tid,
			  uint32_t pid, const char *comm, uint64_t ns, uint64_t waits)
{
	assert_int_equal(r->kind, kind);
	assert_int_equal(r->tid, tid);
	assert_int_equal(r->pid, pid);
	assert_string_equal(r->comm, comm);
	assert_int_equal(r->ns, ns);
	assert_int_equal(r->waits, waits);
}

/*
 * The target's two threads, 100 (main) and 101 (worker), waited 13.5 and
 * 9 ms for a CPU in a 100 ms trace on 2 CPUs, while these ran:
 *
 *   100's wait: worker 4 ms (3 waits), make (pid 200, not traced) 6 ms (2),
 *               ksoftirqd/0 (a kernel thread) 2 ms (5), not seen 1 ms (1),
 *               nobody (CPU idle) 0.5 ms (1); pid 300 nothing (an entry of 0).
 *   101's wait: main 3 ms (2 waits: 2 ms in the map, the last 1 ms still in
 *               its runner cache), make's thread 201 5 ms (4), kworker/1:0
 *               1 ms (1: in the cache only).
 *
 * Per process: make 11 ms (48.9% of 22.5 ms), its own threads 7 ms as one
 * row, each kernel thread apart, then not seen and idle.
 */
static void make_split(struct snapshot *s)
{
	struct ct_thread *w;

	fake_init(s, T0 + 100 * MS, 2);
	busy(s, 0, 100, TARGET, "main", 30 * MS, 13500000);
	w = busy(s, 1, 101, TARGET, "worker", 40 * MS, 9 * MS);
	fake_runner(s, 0, 101, TARGET, 0, 4 * MS, 3);
	fake_runner(s, 0, 200, 200, 0, 6 * MS, 2);
	fake_runner(s, 0, 7, 7, 1, 2 * MS, 5);
	fake_runner(s, 0, CT_WAKER_UNKNOWN, 4242, 0, 1 * MS,
		    1); /* no pid, whatever its entry says */
	fake_runner(s, 0, 0, 0, 0, MS / 2, 1);
	fake_runner(s, 0, 300, 300, 0, 0, 0);
	fake_runner(s, 1, 100, TARGET, 0, 2 * MS, 1);
	fake_rl_runner(w, 0, 100, TARGET, 0, 1 * MS, 1);
	fake_runner(s, 1, 201, 200, 0, 5 * MS, 4);
	fake_rl_runner(w, 3, 8, 8, 1, 1 * MS, 1);
	fake_name(s, 201, 200, "make");
	fake_name(s, 200, 200, "make");
	fake_name(s, 8, 8, "kworker/1:0");
	fake_name(s, 7, 7, "ksoftirqd/0");
	assert_int_equal(fake_close(s), 0);
}

static void test_split(void **state)
{
	const struct rpt_process *p;
	const struct rpt_thread *t;
	struct snapshot s;
	struct report r;
	char *text;

	(void)state;
	make_split(&s);
	assert_int_equal(model_build(&r, &meta, &s, NULL), 0);
	p = &r.procs[0];
	assert_int_equal(p->pid, TARGET);

	/* Per thread: by time; an entry with nothing in it is no row. */
	t = thread_of(p, 100);
	assert_int_equal(t->nrunners, 5);
	assert_runner(&t->runners[0], RPT_RUN_PROCESS, 200, 200, "make", 6 * MS, 2);
	assert_runner(&t->runners[1], RPT_RUN_SIBLING, 101, TARGET, "worker", 4 * MS, 3);
	assert_runner(&t->runners[2], RPT_RUN_KERNEL, 7, 7, "ksoftirqd/0", 2 * MS, 5);
	assert_runner(&t->runners[3], RPT_RUN_UNKNOWN, CT_WAKER_UNKNOWN, 0, "[unknown]", MS, 1);
	assert_runner(&t->runners[4], RPT_RUN_IDLE, 0, 0, "[idle]", MS / 2, 1);
	t = thread_of(p, 101);
	assert_int_equal(t->nrunners, 3);
	assert_runner(&t->runners[0], RPT_RUN_PROCESS, 201, 200, "make", 5 * MS, 4);
	/* The cache's entry joined the map's: one runner, 3 ms in 2 waits. */
	assert_runner(&t->runners[1], RPT_RUN_SIBLING, 100, TARGET, "main", 3 * MS, 2);
	assert_runner(&t->runners[2], RPT_RUN_KERNEL, 8, 8, "kworker/1:0", MS, 1);

	/* Per process: other processes by pid, its own threads one row, kernel threads by tid. */
	assert_int_equal(p->runners_ns, 22500000);
	assert_int_equal(p->nrunners, 6);
	assert_runner(&p->runners[0], RPT_RUN_PROCESS, 0, 200, "make", 11 * MS, 6);
	assert_runner(&p->runners[1], RPT_RUN_SIBLING, 0, TARGET, "main", 7 * MS, 5);
	assert_runner(&p->runners[2], RPT_RUN_KERNEL, 7, 7, "ksoftirqd/0", 2 * MS, 5);
	/* 1 ms each: by kind (a kernel thread before not seen). */
	assert_runner(&p->runners[3], RPT_RUN_KERNEL, 8, 8, "kworker/1:0", MS, 1);
	assert_runner(&p->runners[4], RPT_RUN_UNKNOWN, CT_WAKER_UNKNOWN, 0, "[unknown]", MS, 1);
	assert_runner(&p->runners[5], RPT_RUN_IDLE, 0, 0, "[idle]", MS / 2, 1);
	/* The threads' own figures: 22.5 ms queued of 92.5 ms on a CPU or queued. */
	assert_int_equal(p->s.f.runq_ns, 22500000);
	assert_int_equal(p->busy_threads, 0); /* neither was runnable half its life */
	/* make had 48.9%: under the half that makes it the cause. */
	assert_int_equal(p->nrunq_verdicts, 0);

	text = render_text(&r, 0);
	assert_true(has_line(text, "PREEMPTED BY: who had the CPU while its threads waited for one "
				   "(by time)"));
	assert_true(has_line(text, "process make (pid 200) 11.0ms 48.9% 6"));
	assert_true(has_line(text, "its own threads main 7.00ms 31.1% 5"));
	assert_true(has_line(text, "kernel thread ksoftirqd/0 (pid 7) 2.00ms 8.9% 5"));
	assert_true(has_line(text, "kernel thread kworker/1:0 (pid 8) 1.00ms 4.4% 1"));
	assert_true(has_line(text, "not seen - 1.00ms 4.4% 1"));
	assert_true(has_line(text, "nobody (CPU idle) - 500us 2.2% 1"));
	assert_null(strstr(text, "VERDICT"));
	free(text);
	/* --top 2: the two largest, said so. */
	text = render_text(&r, 2);
	assert_true(has_line(text, "PREEMPTED BY: who had the CPU while its threads waited for one "
				   "(top 2 of 6, by time)"));
	assert_false(has_row(text, "kernel thread ksoftirqd/0", ""));
	free(text);
	model_free(&r);
	snapshot_free(&s);
}

/*
 * A window: what each runner had since the previous snapshot. At 50 ms,
 * 100 had waited 1 ms behind make and 4 ms behind worker, whose part does
 * not grow: no row for it in the window.
 */
static void test_split_window(void **state)
{
	const struct rpt_thread *t;
	struct snapshot a, b;
	struct report r;

	(void)state;
	make_split(&b);
	fake_init(&a, T0 + 50 * MS, 2);
	busy(&a, 0, 100, TARGET, "main", 10 * MS, 5 * MS);
	busy(&a, 1, 101, TARGET, "worker", 10 * MS, 0);
	fake_runner(&a, 0, 200, 200, 0, 1 * MS, 1);
	fake_runner(&a, 0, 101, TARGET, 0, 4 * MS, 3);
	assert_int_equal(fake_close(&a), 0);

	assert_int_equal(model_build(&r, &meta, &b, &a), 0);
	t = thread_of(&r.procs[0], 100);
	assert_int_equal(t->nrunners, 4);
	assert_runner(&t->runners[0], RPT_RUN_PROCESS, 200, 200, "make", 5 * MS, 1);
	for (size_t i = 0; i < t->nrunners; i++)
		assert_int_not_equal(t->runners[i].kind, RPT_RUN_SIBLING);
	assert_int_equal(r.procs[0].runners_ns, 22500000 - 5 * MS);
	assert_runner(&r.procs[0].runners[0], RPT_RUN_PROCESS, 0, 200, "make", 10 * MS, 5);
	model_free(&r);
	snapshot_free(&a);
	snapshot_free(&b);
}

/*
 * Three threads of "pool" runnable 95 ms of their 100 (30 on a CPU, 65
 * queued), a fourth nearly idle; each waited behind its two siblings (30 ms
 * each) and kworker/0:1 (5 ms). Its own threads had 180 of 195 ms.
 * Oversubscribed when more than its CPUs wanted one: on 1 or 2 CPUs, not 3.
 */
static void test_oversubscribed(void **state)
{
	static const char *const want[] = {
		NULL,
		"oversubscribed by its own threads: 3 threads wanted a CPU, 2.9 runnable on average, for 1 allowed CPU; its own threads had the CPU for 92.3% of its run-queue wait (195ms)",
		"oversubscribed by its own threads: 3 threads wanted a CPU, 2.9 runnable on average, for 2 allowed CPUs; its own threads had the CPU for 92.3% of its run-queue wait (195ms)",
		NULL,
	};
	struct snapshot s;
	struct report r;
	char line[RPT_VERDICT_LEN + 16];
	char *text;

	(void)state;
	fake_init(&s, T0 + 100 * MS, 4);
	for (uint32_t i = 0; i < 3; i++) {
		busy(&s, i, TARGET + i, TARGET, i ? "pool-w" : "pool", 30 * MS, 65 * MS);
		for (uint32_t j = 0; j < 3; j++)
			if (j != i)
				fake_runner(&s, i, TARGET + j, TARGET, 0, 30 * MS, 10);
		fake_runner(&s, i, 9, 9, 1, 5 * MS, 2);
	}
	busy(&s, 3, TARGET + 3, TARGET, "pool-w", 1 * MS, 0);
	fake_name(&s, 9, 9, "kworker/0:1");
	proc_info(&s, TARGET, 1);
	assert_int_equal(fake_close(&s), 0);

	for (uint32_t ncpus = 1; ncpus <= 3; ncpus++) {
		const struct rpt_process *p;

		s.procs[0].ncpus = ncpus;
		assert_int_equal(model_build(&r, &meta, &s, NULL), 0);
		p = &r.procs[0];
		assert_int_equal(p->ncpus, ncpus);
		assert_int_equal(p->busy_threads, 3);
		assert_float_equal(p->runnable_avg, 2.86, 1e-9);
		assert_int_equal(p->nrunners, 2);
		assert_runner(&p->runners[0], RPT_RUN_SIBLING, 0, TARGET, "pool", 180 * MS, 60);
		assert_runner(&p->runners[1], RPT_RUN_KERNEL, 9, 9, "kworker/0:1", 15 * MS, 6);
		assert_int_equal(p->nrunq_verdicts, want[ncpus] ? 1 : 0);
		if (want[ncpus]) {
			assert_string_equal(p->runq_verdicts[0], want[ncpus]);
			text = render_text(&r, 0);
			snprintf(line, sizeof(line), "  VERDICT: %s.\n", want[ncpus]);
			assert_non_null(strstr(text, line));
			free(text);
		}
		model_free(&r);
	}
	snapshot_free(&s);
}

/*
 * Oversubscribed takes both: more threads runnable half their life or
 * more than its CPUs, and more runnable on average. On 2 CPUs: two threads
 * runnable all their life and two 45% of it (2 busy, 2.9 on average); three
 * runnable 60% of it (3 busy, 1.8 on average). Each waited behind a sibling
 * only: no verdict either way.
 */
static void test_oversubscribed_not(void **state)
{
	static const struct {
		size_t n;
		uint64_t oncpu[4], runq[4];
		size_t busy;
		double avg;
	} c[] = {
		{ 4,
		  { 30 * MS, 30 * MS, 20 * MS, 20 * MS },
		  { 70 * MS, 70 * MS, 25 * MS, 25 * MS },
		  2,
		  2.9 },
		{ 3, { 20 * MS, 20 * MS, 20 * MS }, { 40 * MS, 40 * MS, 40 * MS }, 3, 1.8 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		struct snapshot s;
		struct report r;

		fake_init(&s, T0 + 100 * MS, (uint32_t)c[i].n);
		for (uint32_t j = 0; j < c[i].n; j++) {
			busy(&s, j, TARGET + j, TARGET, "pool", c[i].oncpu[j], c[i].runq[j]);
			fake_runner(&s, j, TARGET + (j + 1) % (uint32_t)c[i].n, TARGET, 0,
				    c[i].runq[j], 1);
		}
		proc_info(&s, TARGET, 2);
		assert_int_equal(fake_close(&s), 0);
		assert_int_equal(model_build(&r, &meta, &s, NULL), 0);
		assert_int_equal(r.procs[0].busy_threads, c[i].busy);
		assert_float_equal(r.procs[0].runnable_avg, c[i].avg, 1e-9);
		assert_int_equal(r.procs[0].nrunners, 1);
		assert_int_equal(r.procs[0].runners[0].kind, RPT_RUN_SIBLING);
		assert_int_equal(r.procs[0].nrunq_verdicts, 0);
		model_free(&r);
		snapshot_free(&s);
	}
}

/*
 * "server" (one thread, 50 ms on a CPU) waited 20 ms for one: 14 ms of it
 * behind another runner, 6 ms with the CPU idle. 70% is the cause, named:
 * a process outside the trace (named as /proc said), a kernel thread, a
 * traced process (named from its slot).
 */
static void test_starved(void **state)
{
	static const struct {
		uint32_t tid, tgid;
		int kthread;
		const char *verdict;
	} runner[] = {
		{ 301, 300, 0,
		  "starved by another process: stress-ng (pid 300) had the CPU for 70.0% of its run-queue wait (20.0ms)" },
		{ 77, 77, 1,
		  "starved by another kernel thread: kswapd0 (pid 77) had the CPU for 70.0% of its run-queue wait (20.0ms)" },
		{ 200, 200, 0,
		  "starved by another process: child (pid 200) had the CPU for 70.0% of its run-queue wait (20.0ms)" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(runner) / sizeof(runner[0]); i++) {
		struct snapshot s;
		struct report r;

		fake_init(&s, T0 + 100 * MS, 2);
		busy(&s, 0, TARGET, TARGET, "server", 50 * MS, 20 * MS);
		busy(&s, 1, 200, 200, "child", 60 * MS, 0);
		fake_runner(&s, 0, runner[i].tid, runner[i].tgid, runner[i].kthread, 14 * MS, 7);
		fake_runner(&s, 0, 0, 0, 0, 6 * MS, 3);
		fake_name(&s, 77, 77, "kswapd0");
		fake_name(&s, 301, 300, "stress-ng");
		assert_int_equal(fake_close(&s), 0);
		assert_int_equal(model_build(&r, &meta, &s, NULL), 0);
		assert_int_equal(r.procs[0].pid, TARGET);
		assert_int_equal(r.procs[0].nrunq_verdicts, 1);
		assert_string_equal(r.procs[0].runq_verdicts[0], runner[i].verdict);
		/* The child itself never waited: no rows, no verdict. */
		assert_int_equal(r.procs[1].pid, 200);
		assert_int_equal(r.procs[1].nrunners, 0);
		assert_int_equal(r.procs[1].nrunq_verdicts, 0);
		model_free(&r);
		snapshot_free(&s);
	}
}

/*
 * Too little to explain: the same 70% share of a wait just under 1 ms (of
 * 11 ms on a CPU or queued), or of a wait under 5% of the time its threads
 * wanted a CPU (20 of 520 ms: 3.8%). At 1 ms, and at 5% (20 of 400 ms), it
 * explains.
 */
static void test_starved_below(void **state)
{
	static const struct {
		uint64_t oncpu, runq;
		size_t verdicts;
	} c[] = {
		{ 10 * MS, MS - 10, 0 },
		{ 500 * MS, 20 * MS, 0 },
		{ 10 * MS, MS, 1 },
		{ 380 * MS, 20 * MS, 1 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		struct snapshot s;
		struct report r;
		char *text;

		fake_init(&s, T0 + 1000 * MS, 1);
		busy(&s, 0, TARGET, TARGET, "server", c[i].oncpu, c[i].runq);
		fake_runner(&s, 0, 301, 300, 0, c[i].runq * 7 / 10, 7);
		fake_runner(&s, 0, 0, 0, 0, c[i].runq * 3 / 10, 3);
		assert_int_equal(fake_close(&s), 0);
		assert_int_equal(model_build(&r, &meta, &s, NULL), 0);
		assert_int_equal(r.procs[0].nrunners, 2);
		assert_int_equal(r.procs[0].runners_ns, c[i].runq);
		assert_int_equal(r.procs[0].nrunq_verdicts, c[i].verdicts);
		/* Shown all the same, named "?" (no name was read for it). */
		text = render_text(&r, 0);
		assert_true(has_row(text, "process ? (pid 300)", "70.0% 7"));
		free(text);
		model_free(&r);
		snapshot_free(&s);
	}
}

/*
 * "batch" in a group with a quota of 50 of every 100 ms (cpu.max), which
 * cpu.stat says throttled it in 4 of 10 periods, for `throttled` ms. Its
 * thread waited `other` ms behind another process and `idle` ms with the
 * CPU idle. Throttled for half the wait or more: the quota alone is the
 * cause. Less: the other process too if it had half. An idle CPU is no
 * mystery when the quota throttled it.
 */
struct quota_case {
	bool v1;
	uint64_t throttled, other, idle; /* ms */
	const char *want[2];
};

static void run_quota(const struct quota_case *c)
{
	size_t nwant = c->want[1] ? 2 : 1, nrunners = !!c->other + !!c->idle;
	struct snap_proc *pi;
	struct snapshot s;
	struct report r;
	char line[RPT_VERDICT_LEN + 16];
	char *text;

	fake_init(&s, T0 + 100 * MS, 1);
	busy(&s, 0, TARGET, TARGET, "batch", 40 * MS, (c->other + c->idle) * MS);
	fake_runner(&s, 0, 301, 300, 0, c->other * MS, 5);
	fake_runner(&s, 0, 0, 0, 0, c->idle * MS, 5);
	fake_name(&s, 301, 300, "stress-ng");
	pi = proc_info(&s, TARGET, 2);
	quota(pi, 50000, 100000, (struct snap_throttle){ 0 },
	      (struct snap_throttle){ 10, 4, c->throttled * 1000 });
	pi->quota_v1 = c->v1;
	assert_int_equal(fake_close(&s), 0);
	assert_int_equal(model_build(&r, &meta, &s, NULL), 0);
	assert_true(r.procs[0].quota.set);
	assert_int_equal(r.procs[0].quota.throttled_ns, c->throttled * MS);
	assert_int_equal(r.procs[0].nrunners, nrunners);
	assert_int_equal(r.procs[0].nrunq_verdicts, nwant);
	text = render_text(&r, 0);
	for (size_t i = 0; i < nwant; i++) {
		assert_string_equal(r.procs[0].runq_verdicts[i], c->want[i]);
		snprintf(line, sizeof(line), "  VERDICT: %s.\n", c->want[i]);
		assert_non_null(strstr(text, line));
	}
	/* Without runners: the verdict all the same, without a table. */
	assert_true(!strstr(text, "PREEMPTED BY") == !nrunners);
	free(text);
	model_free(&r);
	snapshot_free(&s);
}

#define THROTTLED_V2(ms)                                                                         \
	"throttled by a CPU quota (cpu.max = 50000/100000 of /batch.slice: 4 of 10 periods, " ms \
	" throttled)"

static void test_quota(void **state)
{
	static const struct quota_case c[] = {
		{ false, 30, 30, 20, { THROTTLED_V2("30.0ms") } },
		{ false,
		  10,
		  30,
		  20,
		  { THROTTLED_V2("10.0ms"),
		    "starved by another process: stress-ng (pid 300) had the CPU for 60.0% of its run-queue wait (50.0ms)" } },
		/* Exactly half. */
		{ true,
		  25,
		  30,
		  20,
		  { "throttled by a CPU quota (cpu.cfs_quota_us/cfs_period_us = 50000/100000 of /batch.slice: 4 of 10 periods, 25.0ms throttled)" } },
		{ false, 30, 0, 0, { THROTTLED_V2("30.0ms") } },
		{ false, 10, 20, 30, { THROTTLED_V2("10.0ms") } },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++)
		run_quota(&c[i]);
}

/*
 * In a window, the throttling since the previous snapshot (the same group
 * and quota): 4 - 1 of 10 - 6 periods, 30 - 5 ms. A quota that did not
 * throttle in the window says nothing.
 */
static void test_quota_window(void **state)
{
	struct snapshot a, b;
	struct report r;

	(void)state;
	for (int late = 0; late < 2; late++) {
		struct snapshot *s = late ? &b : &a;

		fake_init(s, T0 + (late ? 100 : 50) * MS, 1);
		busy(s, 0, TARGET, TARGET, "batch", 40 * MS, late ? 50 * MS : 0);
		quota(proc_info(s, TARGET, 2), 50000, 100000, (struct snap_throttle){ 0 },
		      late ? (struct snap_throttle){ 10, 4, 30000 } :
			     (struct snap_throttle){ 6, 1, 5000 });
		assert_int_equal(fake_close(s), 0);
	}
	assert_int_equal(model_build(&r, &meta, &b, &a), 0);
	assert_int_equal(r.procs[0].quota.periods, 4);
	assert_int_equal(r.procs[0].quota.throttled, 3);
	assert_int_equal(r.procs[0].quota.throttled_ns, 25 * MS);
	assert_int_equal(r.procs[0].nrunq_verdicts, 1);
	assert_string_equal(
		r.procs[0].runq_verdicts[0],
		"throttled by a CPU quota (cpu.max = 50000/100000 of /batch.slice: 3 of 4 periods, 25.0ms throttled)");
	model_free(&r);
	b.procs[0].thr = a.procs[0].thr;
	assert_int_equal(model_build(&r, &meta, &b, &a), 0);
	assert_true(r.procs[0].quota.set);
	assert_int_equal(r.procs[0].quota.throttled, 0);
	assert_int_equal(r.procs[0].nrunq_verdicts, 0);
	model_free(&r);
	snapshot_free(&a);
	snapshot_free(&b);
}

/*
 * The CPU idle for 80% of a 10 ms wait: held back, and what could have done
 * it. Without a quota, a v1 quota or CPUs going offline; with a quota that
 * did not throttle in the window, CPUs going offline.
 */
static void test_idle(void **state)
{
	static const char *const want[] = {
		"held back while the CPU was idle for 80.0% of its run-queue wait (10.0ms): no cgroup v2 CPU quota limits it; a cgroup v1 quota (cpu.cfs_quota_us), or CPUs it may use going offline, can do this",
		"held back while the CPU was idle for 80.0% of its run-queue wait (10.0ms): its CPU quota (cgroup cpu.max) did not throttle it; the CPUs it may use may have been offline",
	};

	(void)state;
	for (int with_quota = 0; with_quota < 2; with_quota++) {
		struct snapshot s;
		struct report r;

		fake_init(&s, T0 + 100 * MS, 1);
		busy(&s, 0, TARGET, TARGET, "batch", 40 * MS, 10 * MS);
		fake_runner(&s, 0, 0, 0, 0, 8 * MS, 4);
		fake_runner(&s, 0, 301, 300, 0, 2 * MS, 1);
		if (with_quota)
			quota(proc_info(&s, TARGET, 2), 50000, 100000, (struct snap_throttle){ 0 },
			      (struct snap_throttle){ 10, 0, 0 });
		assert_int_equal(fake_close(&s), 0);
		assert_int_equal(model_build(&r, &meta, &s, NULL), 0);
		assert_int_equal(r.procs[0].quota.set, with_quota);
		assert_int_equal(r.procs[0].nrunq_verdicts, 1);
		assert_string_equal(r.procs[0].runq_verdicts[0], want[with_quota]);
		model_free(&r);
		snapshot_free(&s);
	}
}

/*
 * Interrupts took 7 of a server's 10 ms of run-queue wait from the runs it
 * waited behind (5 ms in the map, 2 ms still in its runner cache; 4
 * waits), a thread of make the other 3 ms: one "interrupts" row of no tid
 * or pid, in the thread's list and the process's, and its verdict.
 */
static void test_interrupts(void **state)
{
	const struct rpt_runner *irq;
	struct ct_thread *t;
	struct snapshot s;
	struct report r;
	char *text;

	(void)state;
	fake_init(&s, T0 + 100 * MS, 1);
	t = busy(&s, 0, TARGET, TARGET, "server", 40 * MS, 10 * MS);
	fake_runner(&s, 0, CT_RUNNER_IRQ, 0, 0, 5 * MS, 3);
	fake_rl_runner(t, 2, CT_RUNNER_IRQ, 0, 0, 2 * MS, 1);
	fake_runner(&s, 0, 301, 300, 0, 3 * MS, 4);
	fake_name(&s, 301, 300, "make");
	assert_int_equal(fake_close(&s), 0);
	assert_int_equal(model_build(&r, &meta, &s, NULL), 0);
	assert_int_equal(r.procs[0].threads[0].nrunners, 2);
	assert_runner(&r.procs[0].threads[0].runners[0], RPT_RUN_IRQ, CT_RUNNER_IRQ, 0,
		      "[interrupts]", 7 * MS, 4);
	assert_int_equal(r.procs[0].nrunners, 2);
	irq = &r.procs[0].runners[0];
	assert_runner(irq, RPT_RUN_IRQ, CT_RUNNER_IRQ, 0, "[interrupts]", 7 * MS, 4);
	assert_int_equal(r.procs[0].nrunq_verdicts, 1);
	assert_string_equal(
		r.procs[0].runq_verdicts[0],
		"held back by interrupts: hardirqs and softirqs (network, block I/O, timers) took 70.0% of its run-queue wait (10.0ms) from the runs it waited behind");
	text = render_text(&r, 0);
	assert_true(has_line(text, "interrupts - 7.00ms 70.0% 4"));
	assert_true(has_line(text, "process make (pid 300) 3.00ms 30.0% 4"));
	free(text);
	model_free(&r);
	snapshot_free(&s);
}

/*
 * Nothing to split: threads that never waited (no entries), and entries
 * with no time in them (a wait of 0 ns counted): no rows, no verdict, no
 * table.
 */
static void test_no_runners(void **state)
{
	(void)state;
	for (int entries = 0; entries < 2; entries++) {
		struct snapshot s;
		struct report r;
		char *text;

		fake_init(&s, T0 + 100 * MS, 2);
		busy(&s, 0, TARGET, TARGET, "main", 90 * MS, 0);
		busy(&s, 1, TARGET + 1, TARGET, "worker", 90 * MS, 0);
		if (entries) {
			fake_runner(&s, 0, TARGET + 1, TARGET, 0, 0, 1);
			fake_runner(&s, 1, 0, 0, 0, 0, 1);
		}
		assert_int_equal(fake_close(&s), 0);
		assert_int_equal(model_build(&r, &meta, &s, NULL), 0);
		assert_int_equal(r.procs[0].threads[0].nrunners, 0);
		assert_int_equal(r.procs[0].threads[1].nrunners, 0);
		assert_int_equal(r.procs[0].nrunners, 0);
		assert_int_equal(r.procs[0].runners_ns, 0);
		assert_int_equal(r.procs[0].busy_threads, 2);
		assert_int_equal(r.procs[0].nrunq_verdicts, 0);
		text = render_text(&r, 0);
		assert_null(strstr(text, "PREEMPTED BY"));
		free(text);
		model_free(&r);
		snapshot_free(&s);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_split),	       cmocka_unit_test(test_split_window),
		cmocka_unit_test(test_oversubscribed), cmocka_unit_test(test_oversubscribed_not),
		cmocka_unit_test(test_starved),	       cmocka_unit_test(test_starved_below),
		cmocka_unit_test(test_quota),	       cmocka_unit_test(test_quota_window),
		cmocka_unit_test(test_idle),	       cmocka_unit_test(test_no_runners),
		cmocka_unit_test(test_interrupts),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
