/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Synthetic snapshots for the model's unit tests: thread slots, lock,
 * edge, site and symbol entries written the way the BPF side and
 * session_snapshot() would, then closed and normalized by the same
 * functions a live trace runs. Each test knows its true answer by
 * construction.
 */
#ifndef CONTRACE_TEST_SNAPFAKE_H
#define CONTRACE_TEST_SNAPFAKE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "probe/sched.h"
#include "model/sched.h"
#include "snap/snapshot.h"
#include "probe/syscalls.h"
#include "model/syscalls.h"

/* What main.c says of a trace begun at `start` (with lock tracking), for model_build(). */
static inline void fake_meta(struct report_meta *m, int target_pid, uint64_t start)
{
	memset(m, 0, sizeof(*m));
	m->version = "test";
	m->ncpus = 2;
	m->target_pid = target_pid;
	m->trace_start_ns = start;
	m->exit_status = -1;
	m->locks = true;
}

/* An empty snapshot at ts with room for n thread slots (all unused). */
static inline void fake_init(struct snapshot *s, uint64_t ts, uint32_t n)
{
	memset(s, 0, sizeof(*s));
	s->ts = ts;
	s->nthreads = n;
	s->threads = calloc(n ? n : 1, sizeof(*s->threads));
	if (!s->threads)
		abort();
}

/*
 * Slot i: an accounted thread, alive since `start`, running since then
 * (so closing the snapshot adds on-CPU time only), in no syscall.
 */
static inline struct ct_thread *fake_thread(struct snapshot *s, uint32_t i, uint32_t tid,
					    uint32_t tgid, const char *comm, uint64_t start)
{
	struct ct_thread *t = &s->threads[i];

	t->tid = tid;
	t->tgid = tgid;
	t->slot = i;
	t->flags = CT_TF_READY | CT_TF_SEEN | (tid == tgid ? CT_TF_PROCESS : 0);
	t->state = CT_ST_RUNNING;
	t->state_ts = start;
	t->start_ts = start;
	t->sys_nr = CT_SYS_NONE;
	t->blk_nr = CT_SYS_NONE;
	snprintf(t->comm, sizeof(t->comm), "%s", comm);
	return t;
}

/*
 * Thread t blocked in a futex wait on uaddr since `since`, as the BPF side
 * leaves its slot (lock: a mutex-like wait, CT_TF_FX_LOCK), with the owner
 * futex_owners() read from the process's memory (0: none).
 */
static inline void fake_futex_wait(struct ct_thread *t, uint64_t uaddr, uint32_t op, uint64_t since,
				   uint64_t site, uint32_t owner, int lock)
{
	t->state = CT_ST_BLOCKED;
	t->state_ts = since;
	t->blk_ts = since;
	t->blk_nr = CT_NR_FUTEX;
	t->fx_uaddr = uaddr;
	t->fx_op = op;
	t->fx_start = since;
	t->fx_site = site;
	t->fx_owner = owner;
	if (lock)
		t->flags |= CT_TF_FX_LOCK;
}

static inline struct ct_lock_stat *fake_lock(struct snapshot *s, uint32_t tgid, uint64_t uaddr,
					     uint32_t op)
{
	struct snap_lock *e = snapshot_add_lock(s);

	if (!e)
		abort();
	e->key.tgid = tgid;
	e->key.uaddr = uaddr;
	e->st.op = op;
	return &e->st;
}

/* One wait of `ns` into a lock's figures, as the BPF side counts a wait end. */
static inline void fake_lock_wait(struct ct_lock_stat *l, uint64_t ns, uint64_t ended_by)
{
	l->waits++;
	l->wait_ns += ns;
	if (ns > l->wait_max)
		l->wait_max = ns;
	l->wait_hist[ct_hist_index(ns)]++;
	if (ended_by == CT_WAKER_IRQ)
		l->timeouts++;
	else if (ended_by != CT_WAKER_UNKNOWN)
		l->wakes++;
}

static inline struct ct_edge_val *fake_edge(struct snapshot *s, uint32_t tgid, uint64_t uaddr,
					    uint32_t waiter, uint32_t holder, uint64_t waits,
					    uint64_t ns)
{
	struct snap_edge *e = snapshot_add_edge(s);

	if (!e)
		abort();
	e->key.tgid = tgid;
	e->key.uaddr = uaddr;
	e->key.waiter = waiter;
	e->key.holder = holder;
	e->val.waits = waits;
	e->val.wait_ns = ns;
	return &e->val;
}

static inline void fake_site(struct snapshot *s, uint32_t tgid, uint64_t uaddr, uint64_t site,
			     uint64_t waits, uint64_t ns)
{
	struct snap_site *e = snapshot_add_site(s);

	if (!e)
		abort();
	e->key.tgid = tgid;
	e->key.uaddr = uaddr;
	e->key.site = site;
	e->val.waits = waits;
	e->val.wait_ns = ns;
}

/* A name futex_name() would have found for an address of pid. */
static inline void fake_sym(struct snapshot *s, uint32_t pid, uint32_t kind, uint64_t addr,
			    const char *name, int found)
{
	struct snap_sym *n = snapshot_add_sym(s);

	if (!n)
		abort();
	n->pid = pid;
	n->kind = kind;
	n->addr = addr;
	n->found = (uint32_t)found;
	snprintf(n->name, sizeof(n->name), "%s", name);
}

static inline void fake_sys(struct snapshot *s, uint32_t slot, int key, uint64_t blocks,
			    uint64_t blocked_ns)
{
	struct snap_sys *e = snapshot_add_sys(s, slot, key);

	if (!e)
		abort();
	e->st.blocks = blocks;
	e->st.blocked_ns = blocked_ns;
}

/*
 * The ct_runners entry of (slot, tid): ns of slot's run-queue waits while
 * tid had the CPU, in `waits` waits, as the BPF side counts them (tid 0:
 * the CPU was idle; CT_WAKER_UNKNOWN: before the oldest run it keeps).
 */
static inline void fake_runner(struct snapshot *s, uint32_t slot, uint32_t tid, uint32_t tgid,
			       int kthread, uint64_t ns, uint64_t waits)
{
	struct snap_runner *e = snapshot_add_runner(s, slot, tid);

	if (!e)
		abort();
	e->val.ns = ns;
	e->val.waits = waits;
	e->val.tgid = tgid;
	e->val.kthread = (uint32_t)kthread;
}

/*
 * Entry i of thread t's runner cache (rl_run): waits of t behind tid not
 * moved to ct_runners yet, as the BPF side leaves them; closing the
 * snapshot moves them out.
 */
static inline void fake_rl_runner(struct ct_thread *t, uint32_t i, uint32_t tid, uint32_t tgid,
				  int kthread, uint64_t ns, uint32_t waits)
{
	struct ct_rl_runner *e = &t->rl_run[i % CT_RL_RUNNERS];

	e->tid = tid;
	e->tgid = tgid;
	e->kthread = (uint32_t)kthread;
	e->ns = ns;
	e->waits = waits;
}

/* The name of a thread outside the trace, as sched_resolve_names() read it from /proc. */
static inline void fake_name(struct snapshot *s, uint32_t tid, uint32_t pid, const char *comm)
{
	struct snap_name *n = snapshot_add_name(s);

	if (!n)
		abort();
	n->tid = tid;
	n->pid = pid;
	snprintf(n->comm, sizeof(n->comm), "%s", comm);
}

/*
 * Close the open intervals at s->ts (scheduler and GIL states: acct.h's
 * rules) and sort, as session_snapshot() does. 0 or -ENOMEM.
 */
static inline int fake_close(struct snapshot *s)
{
	int ret = sched_close(s);

	if (!ret)
		ret = syscalls_close(s);
	if (ret)
		return ret;
	snapshot_normalize(s);
	return 0;
}

#endif
