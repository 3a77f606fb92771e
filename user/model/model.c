// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "model/across.h"
#include "model/gil.h"
#include "model/locks.h"
#include "model/model.h"
#include "model/procs.h"
#include "model/sched.h"
#include "model/summary.h"
#include "model/syscalls.h"

void rpt_sched_add(struct rpt_sched *dst, const struct rpt_sched *src)
{
	figs_add(&dst->f, &src->f);
	hist_merge(&dst->wakelat, &src->wakelat);
}

static int cmp_thread(const void *a, const void *b)
{
	const struct rpt_thread *x = a, *y = b;
	uint64_t cx = x->s.f.oncpu_ns + x->s.f.runq_ns, cy = y->s.f.oncpu_ns + y->s.f.runq_ns;

	if (cx != cy)
		return cx > cy ? -1 : 1;
	if (x->s.f.blocked_ns != y->s.f.blocked_ns)
		return x->s.f.blocked_ns > y->s.f.blocked_ns ? -1 : 1;
	return x->tid < y->tid ? -1 : x->tid > y->tid;
}

static int cmp_syscall(const void *a, const void *b)
{
	const struct rpt_syscall *x = a, *y = b;

	if (x->total_ns != y->total_ns)
		return x->total_ns > y->total_ns ? -1 : 1;
	if (x->blocked_ns != y->blocked_ns)
		return x->blocked_ns > y->blocked_ns ? -1 : 1;
	if (x->calls != y->calls)
		return x->calls > y->calls ? -1 : 1;
	return x->nr - y->nr;
}

static int cmp_waker(const void *a, const void *b)
{
	const struct rpt_waker *x = a, *y = b;

	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	return x->tid < y->tid ? -1 : x->tid > y->tid;
}

static void sort_process(struct rpt_process *p)
{
	if (p->nthreads)
		qsort(p->threads, p->nthreads, sizeof(*p->threads), cmp_thread);
	if (p->nsys)
		qsort(p->sys, p->nsys, sizeof(*p->sys), cmp_syscall);
	for (size_t i = 0; i < p->nthreads; i++) {
		struct rpt_thread *t = &p->threads[i];

		if (t->nsys)
			qsort(t->sys, t->nsys, sizeof(*t->sys), cmp_syscall);
		if (t->nwakers)
			qsort(t->wakers, t->nwakers, sizeof(*t->wakers), cmp_waker);
	}
}

/* The sum of all processes; its wall time is the window's. */
static int build_total(struct report *r)
{
	struct rpt_process *t = &r->total;

	t->pid = 0;
	strcpy(t->comm, "total");
	t->ncpus = r->meta->ncpus;
	t->wall_ns = r->duration_ns;
	t->exited = r->nprocs > 0;
	for (size_t i = 0; i < r->nprocs; i++) {
		const struct rpt_process *p = &r->procs[i];

		rpt_sched_add(&t->s, &p->s);
		t->threads_started += p->threads_started;
		t->threads_exited += p->threads_exited;
		t->nthreads += p->nthreads;
		t->exited = t->exited && p->exited;
		if (syscalls_merge(&t->sys, &t->nsys, p->sys, p->nsys))
			return -ENOMEM;
	}
	if (t->nsys)
		qsort(t->sys, t->nsys, sizeof(*t->sys), cmp_syscall);
	return 0;
}

int model_build(struct report *r, const struct report_meta *meta, const struct snapshot *cur,
		const struct snapshot *prev)
{
	const struct ct_counters *c = &cur->counters, *o = prev ? &prev->counters : NULL;
	uint64_t w0 = prev ? prev->ts : meta->trace_start_ns, w1 = cur->ts;
	int err;

	memset(r, 0, sizeof(*r));
	r->meta = meta;
	r->interval = prev != NULL;
	if (w1 < w0)
		w1 = w0;
	r->window_start_ns = ct_delta(w0, meta->trace_start_ns);
	r->duration_ns = w1 - w0;
	r->threads_seeded = c->seeded;
	r->threads_late = ct_delta(c->seeded_late, o ? o->seeded_late : 0);
	r->threads_claimed_late = ct_delta(c->claimed_late, o ? o->claimed_late : 0);
	r->threads_claimed_late_absent = cur->claimed_late_absent;
	for (int i = 0; i < DROP_COUNT; i++)
		*rpt_drop(&r->drops, (enum drop_id)i) = ct_delta(
			drop_counter(c, &drop_table[i]), o ? drop_counter(o, &drop_table[i]) : 0);
	r->drops.holds_unprobed = meta->holds_unprobed;
	r->drops.absent = cur->drop_absent;

	err = task_model(r, cur, prev, w0, w1);
	if (!err)
		err = sched_model(r, cur, prev);
	if (!err)
		err = syscalls_model(r, cur, prev);
	if (!err)
		err = gil_model(r, cur, prev);
	/* After the GIL's: its words are labelled in the lock table. */
	if (!err && meta->locks)
		err = futex_model(r, cur, prev);
	for (size_t i = 0; !err && meta->stacks && i < r->nprocs; i++)
		err = locks_tagged(&r->procs[i], cur, prev);
	if (!err)
		err = build_total(r);
	if (err) {
		model_free(r);
		return err;
	}
	for (size_t i = 0; i < r->nprocs; i++)
		sort_process(&r->procs[i]);
	if (across_model(r)) {
		model_free(r);
		return -ENOMEM;
	}
	summary_model(r);
	return 0;
}

const struct rpt_thread *rpt_thread_of(const struct rpt_process *p, uint32_t tid)
{
	for (size_t i = 0; tid && i < p->nthreads; i++)
		if (p->threads[i].tid == tid)
			return &p->threads[i];
	return NULL;
}

static void free_process(struct rpt_process *p)
{
	/* The total counts threads but holds none. */
	for (size_t i = 0; p->threads && i < p->nthreads; i++) {
		free(p->threads[i].sys);
		free(p->threads[i].wakers);
		free(p->threads[i].runners);
		free(p->threads[i].gil.rel_sys);
		free(p->threads[i].gil.held_sys);
	}
	if (p->gil) {
		free(p->gil->rel_sys);
		free(p->gil->native);
		locks_tagged_free(&p->gil->holders, &p->gil->nholders);
	}
	locks_tagged_free(&p->oncpu, &p->noncpu);
	locks_tagged_free(&p->sysstacks, &p->nsysstacks);
	free(p->gil);
	free(p->threads);
	free(p->sys);
	free(p->runners);
	futex_free_locks(p);
}

void model_free(struct report *r)
{
	for (size_t i = 0; i < r->nprocs; i++)
		free_process(&r->procs[i]);
	free(r->procs);
	free_process(&r->total);
	across_free(r->across);
	memset(r, 0, sizeof(*r));
}

bool model_interval_short(const struct report *r)
{
	/*
	 * 90%: a report made late shortens the next interval a little (the
	 * schedule does not drift); only the last one, cut by the end of the
	 * trace, is short by more than a slow report makes it.
	 */
	return r->interval && r->meta->interval_ns &&
	       r->duration_ns < r->meta->interval_ns / 10 * 9;
}

bool model_has_warnings(const struct report *r)
{
	for (int i = 0; i < DROP_COUNT; i++)
		if ((drop_table[i].grade & DROP_WARN) && rpt_drop_get(&r->drops, (enum drop_id)i))
			return true;
	return r->drops.holds_unprobed != 0;
}

bool model_has_drops(const struct report *r)
{
	for (int i = 0; i < DROP_COUNT; i++)
		if (rpt_drop_get(&r->drops, (enum drop_id)i))
			return true;
	return r->drops.holds_unprobed != 0;
}
