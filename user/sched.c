// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "bpfmap.h"
#include "procfs.h"
#include "sched.h"
#include "task.h"

int sched_read_wakers(struct snapshot *s, int fd)
{
	struct ct_waker_key *keys;
	struct ct_waker_val *vals;
	struct snap_waker *w;
	size_t n;
	int ret;

	ret = bpfmap_dump(fd, sizeof(*keys), sizeof(*vals), (void **)&keys, (void **)&vals, &n);
	if (ret)
		return ret;
	for (size_t i = 0; i < n && !ret; i++) {
		w = snapshot_add_waker(s, keys[i].slot, keys[i].waker_tid);
		if (w)
			w->val = vals[i];
		else
			ret = -ENOMEM;
	}
	free(keys);
	free(vals);
	return ret;
}

/* Run-queue wait up to a snapshot, in the GIL state the thread was queued in. */
static void runq_note(struct ct_thread *t, uint32_t gil, uint64_t d)
{
	t->runq_ns += d;
	if (gil == CT_GIL_RELEASED)
		t->gil_rel_runq_ns += d;
}

/* As ct_blocked_note() does in the kernel, for the block in progress at a snapshot. */
static int blocked_note(struct snapshot *s, uint32_t slot, struct ct_thread *t, uint64_t d)
{
	int nr = ct_gil_sys_key(t->blk_nr, t->gil_blk);
	struct snap_sys *e;

	if (t->gil_blk == CT_GIL_RELEASED)
		t->gil_rel_blocked_ns += d;
	if (nr == CT_SYS_NONE) {
		t->blocked_nosys_ns += d;
		return 0;
	}
	if (t->bl_count && t->bl_nr == nr) {
		t->bl_ns += d;
		t->bl_count++;
		return 0;
	}
	e = snapshot_add_sys(s, slot, nr);
	if (!e)
		return -ENOMEM;
	e->st.blocks = 1;
	e->st.blocked_ns = d;
	return 0;
}

int sched_close(struct snapshot *s)
{
	for (uint32_t i = 0; i < s->nthreads; i++) {
		struct ct_thread *t = &s->threads[i];
		uint64_t d;

		if (!task_accounted(t))
			continue;
		if (t->rl_waker_count) {
			struct snap_waker *w = snapshot_add_waker(s, i, t->rl_waker_tid);

			if (!w)
				return -ENOMEM;
			w->val.count = t->rl_waker_count;
			w->val.waker_tgid = t->rl_waker_tgid;
			t->rl_waker_count = 0;
		}
		if (t->state == CT_ST_DEAD)
			continue;
		d = s->ts > t->state_ts ? s->ts - t->state_ts : 0;
		switch (t->state) {
		case CT_ST_RUNNING:
			/*
			 * The kernel's counters are read at switch-out: use our clock
			 * until then, for the run and for the wait before it, and for
			 * the block before that if it is not settled yet (CT_TF_WOKEN).
			 */
			t->oncpu_ns += d;
			if (t->wait_ts && t->wait_ts < t->state_ts)
				runq_note(t, t->gil_in, t->state_ts - t->wait_ts);
			if ((t->flags & CT_TF_WOKEN) && t->wait_ts > t->blk_ts) {
				/* As ct_block_time() will: in the syscall's off-CPU time too. */
				t->blocked_ns += t->wait_ts - t->blk_ts;
				if (blocked_note(s, i, t, t->wait_ts - t->blk_ts))
					return -ENOMEM;
				if (t->sys_nr != CT_SYS_NONE)
					t->sys_offcpu_ns += t->wait_ts - t->blk_ts;
				t->flags &= ~CT_TF_WOKEN;
			}
			t->wait_ts = 0;
			break;
		case CT_ST_BLOCKED:
			/* Woken already, waiting for a CPU: blocked until the wakeup only. */
			if (t->wake_pending && t->wake_ts > t->state_ts && t->wake_ts < s->ts) {
				runq_note(t, t->gil_state, s->ts - t->wake_ts);
				d = t->wake_ts - t->state_ts;
			}
			t->blocked_ns += d;
			if (blocked_note(s, i, t, d))
				return -ENOMEM;
			if (t->sys_nr != CT_SYS_NONE)
				t->sys_offcpu_ns += s->ts > t->state_ts ? s->ts - t->state_ts : 0;
			break;
		default:
			runq_note(t, t->gil_state, d);
			if (t->sys_nr != CT_SYS_NONE)
				t->sys_offcpu_ns += d;
			t->wait_ts = 0;
			break;
		}
		t->state_ts = s->ts;
	}
	return 0;
}

int sched_resolve_names(struct snapshot *cache, struct snapshot *s)
{
	struct snap_name *n;

	for (size_t i = 0; i < s->nwakers; i++) {
		const struct snap_waker *w = &s->wakers[i];

		if (w->key.waker_tid == CT_WAKER_IRQ ||
		    snapshot_find_name(cache, w->key.waker_tid) || task_by_tid(s, w->key.waker_tid))
			continue;
		n = snapshot_add_name(cache);
		if (!n)
			return -ENOMEM;
		n->tid = w->key.waker_tid;
		n->pid = w->val.waker_tgid;
		if (proc_comm((int)n->pid, (int)n->tid, n->comm, sizeof(n->comm)))
			strcpy(n->comm, "?");
	}
	free(s->names);
	s->names = NULL;
	s->nnames = 0;
	for (size_t i = 0; i < cache->nnames; i++) {
		n = snapshot_add_name(s);
		if (!n)
			return -ENOMEM;
		*n = cache->names[i];
	}
	return 0;
}

static uint64_t sub(uint64_t a, uint64_t b)
{
	return a > b ? a - b : 0;
}

static void waker_identity(struct rpt_waker *rw, const struct snapshot *s,
			   const struct snap_waker *w)
{
	const struct ct_thread *t;
	const struct snap_name *n;

	rw->tid = w->key.waker_tid;
	rw->pid = w->val.waker_tgid;
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
	const struct snap_waker *w, *end;
	size_t first, lo, hi;

	if (!cur->nwakers)
		return 0;
	end = cur->wakers + cur->nwakers;
	/* Entries are sorted by slot: find the first of this thread's. */
	lo = 0;
	hi = cur->nwakers;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (cur->wakers[mid].key.slot < rt->slot)
			lo = mid + 1;
		else
			hi = mid;
	}
	first = lo;
	for (w = cur->wakers + first; w < end && w->key.slot == rt->slot; w++) {
		const struct snap_waker *pw =
			prev ? snapshot_find_waker(prev, rt->slot, w->key.waker_tid) : NULL;
		uint64_t count = sub(w->val.count, pw ? pw->val.count : 0);
		struct rpt_waker *rw, *v;

		if (!count)
			continue;
		v = realloc(rt->wakers, (rt->nwakers + 1) * sizeof(*rt->wakers));
		if (!v)
			return -ENOMEM;
		rt->wakers = v;
		rw = &rt->wakers[rt->nwakers++];
		memset(rw, 0, sizeof(*rw));
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
			rt->s.oncpu_ns = sub(c->oncpu_ns, o->oncpu_ns);
			rt->s.stolen_ns = sub(c->stolen_ns, o->stolen_ns);
			rt->s.runq_ns = sub(c->runq_ns, o->runq_ns);
			rt->s.blocked_ns = sub(c->blocked_ns, o->blocked_ns);
			rt->blocked_nosys_ns = sub(c->blocked_nosys_ns, o->blocked_nosys_ns);
			rt->s.nvcsw = sub(c->nvcsw, o->nvcsw);
			rt->s.nivcsw = sub(c->nivcsw, o->nivcsw);
			rt->s.wakeups = sub(c->wakeups, o->wakeups);
			hist_add_u32(&rt->s.wakelat, c->wakelat_hist);
			hist_add_u32(&h, o->wakelat_hist);
			hist_sub(&rt->s.wakelat, &h);
			rt->s.wakelat_sum = sub(c->wakelat_sum, o->wakelat_sum);
			rt->s.wakelat_max = c->wakelat_max;
			if (thread_wakers(rt, cur, prev))
				return -ENOMEM;
			rpt_sched_add(&p->s, &rt->s);
		}
	}
	return 0;
}
