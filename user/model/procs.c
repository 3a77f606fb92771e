// SPDX-License-Identifier: GPL-2.0-only
/* The processes and threads of a report's window: identity, lifetime, started and exited. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/procs.h"
#include "snap/threads.h"
#include "util/vec.h"

/*
 * Its Python name, if one was read while this thread lived (a tid reused
 * by a later thread is not it).
 */
static void thread_pyname(struct rpt_thread *rt, const struct snapshot *s,
			  const struct ct_thread *t)
{
	const struct snap_pyname *n = snapshot_find_pyname(s, t->tid, t->tgid);

	if (n && snap_pyname_fits(n, t))
		snprintf(rt->pyname, sizeof(rt->pyname), "%s", n->name);
}

struct cand {
	uint32_t slot;
	uint32_t tgid;
	uint64_t start;
	uint64_t end;
};

static uint32_t sort_target;

/* The target process first, then by pid; threads in order of appearance. */
static int cmp_cand(const void *a, const void *b)
{
	const struct cand *x = a, *y = b;

	if (x->tgid != y->tgid) {
		if (x->tgid == sort_target)
			return -1;
		if (y->tgid == sort_target)
			return 1;
		return x->tgid < y->tgid ? -1 : 1;
	}
	return x->slot < y->slot ? -1 : x->slot > y->slot;
}

/*
 * Its quota's throttling in the window: from the previous snapshot's count
 * if that was of the same group and quota, else from the count when the
 * group was first seen (tracing's start, or the process's move).
 */
static void fill_quota(struct rpt_quota *q, const struct snap_proc *info,
		       const struct snapshot *prev)
{
	const struct snap_proc *o = prev ? snapshot_find_proc(prev, info->pid) : NULL;
	const struct snap_throttle *base = &info->thr0;

	if (!info->quota_us)
		return;
	if (o && o->cg_ino == info->cg_ino && o->quota_us == info->quota_us)
		base = &o->thr;
	q->set = true;
	q->quota_us = info->quota_us;
	q->period_us = info->period_us;
	q->v1 = info->quota_v1 != 0;
	q->periods = ct_delta(info->thr.nr_periods, base->nr_periods);
	q->throttled = ct_delta(info->thr.nr_throttled, base->nr_throttled);
	q->throttled_ns = ct_delta(info->thr.throttled_usec, base->throttled_usec) * 1000;
	snprintf(q->cgroup, sizeof(q->cgroup), "%s", info->quota_cgroup);
}

static void fill_process(struct rpt_process *p, const struct snapshot *cur,
			 const struct snapshot *prev, uint32_t pid, const struct ct_thread *leader,
			 int host_ncpus)
{
	const struct snap_proc *info = snapshot_find_proc(cur, pid);

	if (!info && prev)
		info = snapshot_find_proc(prev, pid);
	p->pid = pid;
	if (info) {
		memcpy(p->comm, info->comm, sizeof(p->comm));
		memcpy(p->cmdline, info->cmdline, sizeof(p->cmdline));
		p->ncpus = (int)info->ncpus;
		fill_quota(&p->quota, info, prev);
	} else {
		memcpy(p->comm, leader->comm, sizeof(p->comm));
	}
	p->comm[sizeof(p->comm) - 1] = '\0';
	p->cmdline[sizeof(p->cmdline) - 1] = '\0';
	/* Its affinity unknown: the traced machine's CPUs (not this one's: a recording). */
	if (p->ncpus <= 0)
		p->ncpus = host_ncpus > 0 ? host_ncpus : 1;
}

int task_model(struct report *r, const struct snapshot *cur, const struct snapshot *prev,
	       uint64_t w0, uint64_t w1)
{
	struct cand *c;
	size_t n = 0, i, j, np;

	c = calloc(cur->nthreads ? cur->nthreads : 1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	for (uint32_t s = 0; s < cur->nthreads; s++) {
		const struct ct_thread *t = task_slot(cur, s);

		if (!t)
			continue;
		if (t->end_ts && t->end_ts <= w0)
			continue; /* gone before the window */
		c[n].slot = s;
		c[n].tgid = t->tgid;
		c[n].start = t->start_ts > w0 ? t->start_ts : w0;
		c[n].end = t->end_ts && t->end_ts < w1 ? t->end_ts : w1;
		if (c[n].end < c[n].start)
			c[n].end = c[n].start;
		n++;
	}
	sort_target = (uint32_t)r->meta->target_pid;
	qsort(c, n, sizeof(*c), cmp_cand);

	for (i = 0, np = 0; i < n; i++)
		if (i == 0 || c[i].tgid != c[i - 1].tgid)
			np++;
	r->procs = calloc(np ? np : 1, sizeof(*r->procs));
	if (!r->procs) {
		free(c);
		return -ENOMEM;
	}

	for (i = 0; i < n; i = j) {
		struct rpt_process *p = &r->procs[r->nprocs];
		uint64_t first = UINT64_MAX, last = 0;
		size_t exited = 0;

		for (j = i; j < n && c[j].tgid == c[i].tgid; j++)
			;
		p->threads = calloc(j - i, sizeof(*p->threads));
		if (!p->threads) {
			free(c);
			return -ENOMEM;
		}
		r->nprocs++;
		fill_process(p, cur, prev, c[i].tgid, &cur->threads[c[i].slot], r->meta->ncpus);
		for (size_t k = i; k < j; k++) {
			const struct ct_thread *t = &cur->threads[c[k].slot];
			struct rpt_thread *rt = &p->threads[p->nthreads++];

			rt->slot = c[k].slot;
			rt->tid = t->tid;
			rt->pid = t->tgid;
			memcpy(rt->comm, t->comm, sizeof(rt->comm));
			rt->comm[sizeof(rt->comm) - 1] = '\0';
			thread_pyname(rt, cur, t);
			rt->start_ns = c[k].start - w0;
			rt->alive_ns = c[k].end - c[k].start;
			rt->started = !(t->flags & CT_TF_SEEDED) && t->start_ts > w0;
			rt->exited = t->end_ts && t->end_ts <= w1;
			if (rt->tid == rt->pid && !(t->flags & CT_TF_GATED))
				memcpy(p->comm, t->comm, sizeof(p->comm));
			p->threads_started += rt->started;
			p->threads_exited += rt->exited;
			exited += rt->exited;
			if (c[k].start < first)
				first = c[k].start;
			if (c[k].end > last)
				last = c[k].end;
		}
		p->comm[sizeof(p->comm) - 1] = '\0';
		p->exited = exited == p->nthreads;
		p->wall_ns = last > first ? last - first : 0;
	}
	free(c);
	return 0;
}
