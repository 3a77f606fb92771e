// SPDX-License-Identifier: GPL-2.0-only
/* The scheduler figures of a report: the figure table's, wakeup latencies, wakers. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/sched.h"
#include "snap/threads.h"
#include "util/format.h"
#include "util/vec.h"

/* The name of thread tid, traced or not (snapshot_find_name: read while it lived). */
static void thread_name(char *comm, size_t len, const struct snapshot *s, uint32_t tid)
{
	const struct ct_thread *t = task_by_tid(s, tid);
	const struct snap_name *n = t ? NULL : snapshot_find_name(s, tid);

	snprintf(comm, len, "%.*s", CT_COMM_LEN - 1, t ? t->comm : n ? n->comm : "?");
}

static void waker_identity(struct rpt_waker *rw, const struct snapshot *s,
			   const struct snap_waker *w)
{
	rw->tid = w->key.waker_tid;
	rw->pid = w->val.waker_tgid;
	if (rw->tid != CT_WAKER_UNKNOWN && (rw->tid & CT_WAKER_SOFTIRQ)) {
		rw->tid &= ~CT_WAKER_SOFTIRQ;
		rw->softirq = true;
	}
	if (rw->tid == CT_WAKER_IRQ)
		strcpy(rw->comm, "[interrupt]");
	else if (rw->tid == CT_WAKER_UNKNOWN)
		strcpy(rw->comm, "[unknown]");
	else
		thread_name(rw->comm, sizeof(rw->comm), s, rw->tid);
}

static int thread_wakers(struct rpt_thread *rt, const struct snapshot *cur,
			 const struct snapshot *prev)
{
	size_t cap = rt->nwakers;

	for (size_t i = snapshot_waker_from(cur, rt->slot);
	     i < cur->nwakers && cur->wakers[i].key.slot == rt->slot; i++) {
		const struct snap_waker *w = &cur->wakers[i];
		const struct snap_waker *pw =
			prev ? snapshot_find_waker(prev, rt->slot, w->key.waker_tid) : NULL;
		uint64_t count = ct_delta(w->val.count, pw ? pw->val.count : 0);
		struct rpt_waker *rw;

		if (!count)
			continue;
		rw = vec_push(rt->wakers, rt->nwakers, cap);
		if (!rw)
			return -ENOMEM;
		waker_identity(rw, cur, w);
		rw->count = count;
	}
	return 0;
}

/*
 * A run-queue wait is attributed only when it matters: at least 1 ms in the
 * window and 5% of the time the process's threads wanted a CPU (on one or
 * queued); then a cause must have half of it (its own threads: a fifth).
 */
#define RUNQ_MIN_NS 1000000ULL
#define RUNQ_MIN_SHARE 0.05
#define RUNQ_CAUSE 0.5
#define RUNQ_OWN 0.2

static void runner_identity(struct rpt_runner *rr, const struct snapshot *s,
			    const struct snap_runner *e, uint32_t pid)
{
	rr->tid = e->key.tid;
	rr->pid = e->val.tgid;
	if (!rr->tid) {
		rr->kind = RPT_RUN_IDLE;
		strcpy(rr->comm, "[idle]");
	} else if (rr->tid == CT_WAKER_UNKNOWN) {
		rr->kind = RPT_RUN_UNKNOWN;
		rr->pid = 0;
		strcpy(rr->comm, "[unknown]");
	} else if (rr->tid == CT_RUNNER_IRQ) {
		rr->kind = RPT_RUN_IRQ;
		rr->pid = 0;
		strcpy(rr->comm, "[interrupts]");
	} else {
		rr->kind = e->val.kthread     ? RPT_RUN_KERNEL :
			   e->val.tgid == pid ? RPT_RUN_SIBLING :
						RPT_RUN_PROCESS;
		thread_name(rr->comm, sizeof(rr->comm), s, rr->tid);
	}
}

/* Who had the CPU while rt waited for it in the window. */
static int thread_runners(struct rpt_thread *rt, uint32_t pid, const struct snapshot *cur,
			  const struct snapshot *prev)
{
	size_t cap = rt->nrunners;

	for (size_t i = snapshot_runner_from(cur, rt->slot);
	     i < cur->nrunners && cur->runners[i].key.slot == rt->slot; i++) {
		const struct snap_runner *e = &cur->runners[i];
		const struct snap_runner *o =
			prev ? snapshot_find_runner(prev, rt->slot, e->key.tid) : NULL;
		uint64_t ns = ct_delta(e->val.ns, o ? o->val.ns : 0);
		struct rpt_runner *rr;

		if (!ns)
			continue;
		rr = vec_push(rt->runners, rt->nrunners, cap);
		if (!rr)
			return -ENOMEM;
		runner_identity(rr, cur, e, pid);
		rr->ns = ns;
		rr->waits = ct_delta(e->val.waits, o ? o->val.waits : 0);
	}
	if (rt->nrunners > 1)
		qsort(rt->runners, rt->nrunners, sizeof(*rt->runners), sched_cmp_runner);
	return 0;
}

/* A process's runners fold by kind and pid (its own threads: one row); kernel threads by tid. */
static int cmp_runner_key(const void *a, const void *b)
{
	const struct rpt_runner *x = a, *y = b;

	if (x->kind != y->kind)
		return x->kind < y->kind ? -1 : 1;
	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	return x->tid < y->tid ? -1 : x->tid > y->tid;
}

static void runner_fold(void *kept, const void *other)
{
	struct rpt_runner *k = kept;
	const struct rpt_runner *o = other;

	k->ns += o->ns;
	k->waits += o->waits;
}

int sched_cmp_runner(const void *a, const void *b)
{
	const struct rpt_runner *x = a, *y = b;

	if (x->ns != y->ns)
		return x->ns > y->ns ? -1 : 1;
	return cmp_runner_key(a, b);
}

static int process_runners(struct rpt_process *p)
{
	size_t cap = 0;

	for (size_t j = 0; j < p->nthreads; j++) {
		const struct rpt_thread *t = &p->threads[j];

		for (size_t k = 0; k < t->nrunners; k++) {
			struct rpt_runner *r = vec_push(p->runners, p->nrunners, cap);

			if (!r)
				return -ENOMEM;
			*r = t->runners[k];
			if (r->kind == RPT_RUN_SIBLING) {
				r->tid = 0; /* one row */
				snprintf(r->comm, sizeof(r->comm), "%s", p->comm);
			} else if (r->kind == RPT_RUN_PROCESS) {
				r->tid = 0; /* by process */
			}
			p->runners_ns += r->ns;
		}
	}
	p->nrunners = vec_uniq(p->runners, p->nrunners, cmp_runner_key, runner_fold);
	if (p->nrunners)
		qsort(p->runners, p->nrunners, sizeof(*p->runners), sched_cmp_runner);
	return 0;
}

static __attribute__((format(printf, 2, 3))) void runq_verdict(struct rpt_process *p,
							       const char *fmt, ...)
{
	va_list ap;

	if (p->nrunq_verdicts == RPT_RUNQ_VERDICTS)
		return;
	va_start(ap, fmt);
	vsnprintf(p->runq_verdicts[p->nrunq_verdicts++], RPT_VERDICT_LEN, fmt, ap);
	va_end(ap);
}

/*
 * Why the process's threads waited for a CPU. Oversubscribed: more threads
 * wanted a CPU than it may use, and its own threads had a fair part of the
 * wait (on a machine shared with busier groups, the others' part can be
 * larger: the threads would still wait for each other without them).
 * Starved or held back: one other process, or an idle CPU, had most of it.
 */
/*
 * A CPU quota that throttled the process's group in the window, as the
 * kernel counted it (cpu.stat): a fact, not a guess from idle CPUs.
 */
static void quota_verdict(struct rpt_process *p)
{
	const struct rpt_quota *q = &p->quota;
	char b[FMT_LEN];

	if (!q->set || !q->throttled)
		return;
	runq_verdict(
		p,
		"throttled by a CPU quota (%s = %llu/%llu of %s: %llu of %llu periods, %s throttled)",
		q->v1 ? "cpu.cfs_quota_us/cfs_period_us" : "cpu.max",
		(unsigned long long)q->quota_us, (unsigned long long)q->period_us, q->cgroup,
		(unsigned long long)q->throttled, (unsigned long long)q->periods,
		fmt_dur(b, sizeof(b), q->throttled_ns));
}

static void runq_verdicts(struct rpt_process *p)
{
	uint64_t runq = p->runners_ns, busy = p->s.f.oncpu_ns + p->s.f.runq_ns;
	char b1[FMT_LEN], b2[FMT_LEN];

	quota_verdict(p);
	/*
	 * A quota that held it back for half its run-queue wait or more is the
	 * cause: whoever ran on the CPUs meanwhile did not take them from it.
	 */
	if (runq < RUNQ_MIN_NS || (double)runq < RUNQ_MIN_SHARE * (double)busy ||
	    (p->quota.set && (double)p->quota.throttled_ns >= RUNQ_CAUSE * (double)runq))
		return;
	fmt_dur(b2, sizeof(b2), runq);
	for (size_t i = 0; i < p->nrunners; i++) {
		const struct rpt_runner *r = &p->runners[i];
		double share = (double)r->ns / (double)runq;

		fmt_pct(b1, sizeof(b1), share);
		if (r->kind == RPT_RUN_SIBLING && share >= RUNQ_OWN &&
		    p->busy_threads > (size_t)p->ncpus && p->runnable_avg > p->ncpus)
			runq_verdict(
				p,
				"oversubscribed by its own threads: %zu threads wanted a CPU, %.1f runnable on average, for %d allowed CPU%s; its own threads had the CPU for %s of its run-queue wait (%s)",
				p->busy_threads, p->runnable_avg, p->ncpus,
				p->ncpus == 1 ? "" : "s", b1, b2);
		else if (share < RUNQ_CAUSE)
			continue;
		else if (r->kind == RPT_RUN_IRQ)
			runq_verdict(
				p,
				"held back by interrupts: hardirqs and softirqs (network, block I/O, timers) took %s of its run-queue wait (%s) from the runs it waited behind",
				b1, b2);
		else if (r->kind == RPT_RUN_PROCESS || r->kind == RPT_RUN_KERNEL)
			runq_verdict(
				p,
				"starved by another %s: %s (pid %u) had the CPU for %s of its run-queue wait (%s)",
				r->kind == RPT_RUN_KERNEL ? "kernel thread" : "process", r->comm,
				r->pid, b1, b2);
		else if (r->kind == RPT_RUN_IDLE && !(p->quota.set && p->quota.throttled))
			runq_verdict(
				p,
				"held back while the CPU was idle for %s of its run-queue wait (%s): %s",
				b1, b2,
				p->quota.set ?
					"its CPU quota (cgroup cpu.max) did not throttle it; the CPUs it may use may have been offline" :
					"no cgroup v2 CPU quota limits it; a cgroup v1 quota (cpu.cfs_quota_us), or CPUs it may use going offline, can do this");
	}
}

/* How many threads wanted a CPU: runnable half their life or more; on average. */
static void runnable(struct rpt_process *p)
{
	for (size_t j = 0; j < p->nthreads; j++) {
		const struct rpt_thread *t = &p->threads[j];

		if (2 * (t->s.f.oncpu_ns + t->s.f.runq_ns) >= t->alive_ns && t->alive_ns)
			p->busy_threads++;
	}
	if (p->wall_ns)
		p->runnable_avg = (double)(p->s.f.oncpu_ns + p->s.f.runq_ns) / (double)p->wall_ns;
}

int sched_model(struct report *r, const struct snapshot *cur, const struct snapshot *prev)
{
	static const struct ct_thread none;

	for (size_t i = 0; i < r->nprocs; i++) {
		struct rpt_process *p = &r->procs[i];

		for (size_t j = 0; j < p->nthreads; j++) {
			struct rpt_thread *rt = &p->threads[j];
			const struct ct_thread *c = &cur->threads[rt->slot];
			const struct ct_thread *o = task_slot(prev, rt->slot);
			struct hist h = { 0 };

			if (!o)
				o = &none;
			figs_window(&rt->s.f, c, o, cur->fig_absent);
			hist_add_u32(&rt->s.wakelat, c->wakelat_hist);
			hist_add_u32(&h, o->wakelat_hist);
			hist_sub(&rt->s.wakelat, &h);
			if (thread_wakers(rt, cur, prev) || thread_runners(rt, p->pid, cur, prev))
				return -ENOMEM;
			rpt_sched_add(&p->s, &rt->s);
		}
		if (process_runners(p))
			return -ENOMEM;
		runnable(p);
		runq_verdicts(p);
	}
	return 0;
}
