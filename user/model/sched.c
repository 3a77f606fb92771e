// SPDX-License-Identifier: GPL-2.0-only
/* The scheduler figures of a report: the figure table's, wakeup latencies, wakers. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "model/sched.h"
#include "snap/threads.h"
#include "util/vec.h"

static void waker_identity(struct rpt_waker *rw, const struct snapshot *s,
			   const struct snap_waker *w)
{
	const struct ct_thread *t;
	const struct snap_name *n;

	rw->tid = w->key.waker_tid;
	rw->pid = w->val.waker_tgid;
	if (rw->tid != CT_WAKER_UNKNOWN && (rw->tid & CT_WAKER_SOFTIRQ)) {
		rw->tid &= ~CT_WAKER_SOFTIRQ;
		rw->softirq = true;
	}
	if (rw->tid == CT_WAKER_IRQ) {
		strcpy(rw->comm, "[interrupt]");
		return;
	}
	if (rw->tid == CT_WAKER_UNKNOWN) {
		strcpy(rw->comm, "[unknown]");
		return;
	}
	t = task_by_tid(s, rw->tid);
	n = snapshot_find_name(s, rw->tid);
	if (t)
		memcpy(rw->comm, t->comm, sizeof(rw->comm));
	else if (n)
		memcpy(rw->comm, n->comm, sizeof(rw->comm));
	else
		strcpy(rw->comm, "?");
	rw->comm[sizeof(rw->comm) - 1] = '\0';
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
			if (thread_wakers(rt, cur, prev))
				return -ENOMEM;
			rpt_sched_add(&p->s, &rt->s);
		}
	}
	return 0;
}
