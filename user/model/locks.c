// SPDX-License-Identifier: GPL-2.0-only
/* The lock tables of a report (docs/design.md, "Locks"). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/locks.h"
#include "snap/threads.h"
#include "util/vec.h"

/* struct _gil_runtime_state is 232 bytes or less in 3.8-3.13 (4 pthread objects and 4 words). */
#define GIL_STRUCT_MAX 256

/*
 * One lock serialises the process when it is held (as contended holds or
 * blocked waiters show) most of the process's wall time while several threads wait for it: at most
 * 1 / held_fraction threads can then do work at once (Amdahl's bound with
 * the held time as the serial part).
 */
#define SERIAL_HELD 0.5
#define SERIAL_WAITING 0.5

/*
 * Threads that pass a word among themselves hold it between passes: with
 * N threads queued, each waits about N-1 holds, so the passes' time is
 * about 1/(N-1) of the waits. A chain of wakes through idle waiters (a
 * pool's workers waking each other at shutdown) passes within
 * microseconds after waits of seconds. At least 1% (up to ~100 threads
 * queued behind one holder) makes the waits contention.
 */
#define PASS_EXPLAINS 100

/*
 * Threads passing a semaphore used as a lock (a CPython Lock) may not pass
 * it at all: one releases it and takes it back before the waiter it woke
 * runs, and the waiter finds it taken and waits again at once, for the same
 * value (ct_lock_stat.futile). Then the passes add up to nearly nothing,
 * but those waits again are for the barging thread's next hold: where the
 * waiters were woken by threads that wait on it too, FUTILE_MIN of them or
 * more, adding up to a tenth of the waits, make it contention (a CPython
 * Lock barged: 90% of its waits). A barrier's next wait is for another
 * round number. A consumer that took its item and at once waits for the
 * next looks the same, but its wait may be a long idle one: a pool of 4
 * workers makes one now and then, a semaphore's waiters woken by a
 * producer are signalled, not passed.
 */
#define FUTILE_EXPLAINS 10
#define FUTILE_MIN 8

/* A thread of a process in a futex wait: the word, and its slot. */
struct pending {
	uint64_t uaddr;
	uint32_t slot;
};

/* A wait in progress, found by its thread: p->locks[lock].now[now]. */
struct wait_ix {
	uint32_t tid;
	size_t lock;
	size_t now;
};

const char *futex_kind(uint32_t op)
{
	switch (op) {
	case CT_FUTEX_WAIT:
		return "FUTEX_WAIT";
	case CT_FUTEX_WAIT_BITSET:
		return "FUTEX_WAIT_BITSET";
	case CT_FUTEX_LOCK_PI:
	case CT_FUTEX_LOCK_PI2:
		return "FUTEX_LOCK_PI";
	case CT_FUTEX_WAIT_REQUEUE_PI:
		return "FUTEX_WAIT_REQUEUE_PI";
	case CT_FUTEX_OP_WAITV:
		return "futex_waitv";
	case CT_FUTEX_OP_WAIT2:
		return "futex_wait";
	}
	return "futex";
}

static const struct {
	const char *key, *text;
} why_table[RPT_WHY_COUNT] = {
	[RPT_WHY_GIL] = { "gil", "CPython's GIL" },
	[RPT_WHY_DEADLOCK] = { "deadlock", "part of a deadlock" },
	[RPT_WHY_PI] = { "pi_futex", "PI futex: the word names its owner" },
	[RPT_WHY_MUTEX] = { "mutex", "waited for a locked word (futex value 2)" },
	[RPT_WHY_CONDVAR] = { "condvar", "condition variable" },
	[RPT_WHY_JOIN] = { "thread_exit", "pthread_join: until a thread exits" },
	[RPT_WHY_PEERS] = { "woken_by_waiters", "passed among threads that wait on it" },
	[RPT_WHY_SIGNALLERS] = { "woken_by_signallers",
				 "signalled by threads that never wait on it" },
	[RPT_WHY_UNWOKEN] = { "not_woken", "no thread woke a waiter" },
};

const char *lock_why_key(enum rpt_kind_why why)
{
	return why < RPT_WHY_COUNT ? why_table[why].key : "?";
}

const char *lock_why_text(enum rpt_kind_why why)
{
	return why < RPT_WHY_COUNT ? why_table[why].text : "?";
}

static const char *sym_name(const struct snapshot *s, uint32_t pid, uint32_t kind, uint64_t addr,
			    char *buf, size_t len, bool *found)
{
	const struct snap_sym *n = addr ? snapshot_find_sym(s, pid, kind, addr) : NULL;

	if (found)
		*found = n && n->found;
	if (n)
		return n->name;
	if (!addr)
		return "";
	snprintf(buf, len, "0x%llx", (unsigned long long)addr);
	return buf;
}

static void copy_name(char *dst, size_t len, const char *src)
{
	snprintf(dst, len, "%s", src);
}

/*
 * A lock's name: its symbol, or for a lock in memory no file backs (heap,
 * a thread's stack, an anonymous mapping), its address and the kind of
 * memory: "[anon]+0x7ff990" would give two threads' stacks one name.
 */
static void lock_name(struct rpt_lock *l, const struct snapshot *s, uint32_t pid, char *buf,
		      size_t len)
{
	const char *n = sym_name(s, pid, SNAP_SYM_DATA, l->uaddr, buf, len, &l->named);
	const char *end;

	if (!l->named && n[0] == '[' && (end = strchr(n, ']')))
		snprintf(l->name, sizeof(l->name), "0x%llx %.*s", (unsigned long long)l->uaddr,
			 (int)(end - n + 1), n);
	else
		copy_name(l->name, sizeof(l->name), n);
}

/* A list of parties is built with an entry per edge, then folded by tid. */
static int cmp_party_tid(const void *a, const void *b)
{
	const struct rpt_lock_party *x = a, *y = b;

	return x->tid < y->tid ? -1 : x->tid > y->tid;
}

static void party_fold(void *kept, const void *other)
{
	struct rpt_lock_party *k = kept;
	const struct rpt_lock_party *o = other;

	k->waits += o->waits;
	k->wait_ns += o->wait_ns;
}

static int party_push(struct rpt_lock_party **v, size_t *n, size_t *cap, uint32_t tid,
		      const char *comm, uint64_t waits, uint64_t wait_ns)
{
	struct rpt_lock_party *p = vec_push(*v, *n, *cap);

	if (!p)
		return -ENOMEM;
	p->tid = tid;
	copy_name(p->comm, sizeof(p->comm), comm);
	p->waits = waits;
	p->wait_ns = wait_ns;
	return 0;
}

static const char *party_comm(const struct snapshot *s, uint32_t tid)
{
	if (tid == CT_WAKER_IRQ)
		return "[timer]";
	if (tid == CT_WAKER_UNKNOWN)
		return "[unknown]";
	return task_comm(s, tid);
}

/* The chain of one edge, and its waiter and holder in the lock's parties. */
static int edge_add(struct rpt_lock *l, size_t caps[3], uint32_t pid, const struct snapshot *cur,
		    const struct snap_edge *e, uint64_t waits, uint64_t ns)
{
	struct rpt_lock_chain *c;
	char b1[32], b2[32];

	if (party_push(&l->waiters, &l->nwaiters, &caps[0], e->key.waiter,
		       party_comm(cur, e->key.waiter), waits, ns) ||
	    party_push(&l->holders, &l->nholders, &caps[1], e->key.holder,
		       party_comm(cur, e->key.holder), waits, ns))
		return -ENOMEM;
	c = vec_push(l->chains, l->nchains, caps[2]);
	if (!c)
		return -ENOMEM;
	c->waiter = e->key.waiter;
	c->holder = e->key.holder;
	copy_name(c->waiter_comm, sizeof(c->waiter_comm), party_comm(cur, c->waiter));
	copy_name(c->holder_comm, sizeof(c->holder_comm), party_comm(cur, c->holder));
	c->waits = waits;
	c->wait_ns = ns;
	copy_name(c->holder_site, sizeof(c->holder_site),
		  sym_name(cur, pid, SNAP_SYM_CODE, e->val.holder_site, b1, sizeof(b1), NULL));
	copy_name(c->waiter_site, sizeof(c->waiter_site),
		  sym_name(cur, pid, SNAP_SYM_CODE, e->val.waiter_site, b2, sizeof(b2), NULL));
	return 0;
}

/* The lock's edges (who waited for whom) follow each other in cur's sorted array. */
static int lock_edges(struct rpt_lock *l, uint32_t pid, const struct snapshot *cur,
		      const struct snapshot *prev)
{
	size_t caps[3] = { 0 };

	for (size_t i = snapshot_edge_from(cur, pid, l->uaddr); i < cur->nedges; i++) {
		const struct snap_edge *e = &cur->edges[i], *o;
		uint64_t waits, ns;

		if (e->key.tgid != pid || e->key.uaddr != l->uaddr)
			break;
		o = prev ? snapshot_find_edge(prev, &e->key) : NULL;
		waits = ct_delta(e->val.waits, o ? o->val.waits : 0);
		ns = ct_delta(e->val.wait_ns, o ? o->val.wait_ns : 0);
		if ((waits || ns) && edge_add(l, caps, pid, cur, e, waits, ns))
			return -ENOMEM;
	}
	l->nwaiters = vec_uniq(l->waiters, l->nwaiters, cmp_party_tid, party_fold);
	l->nholders = vec_uniq(l->holders, l->nholders, cmp_party_tid, party_fold);
	return 0;
}

static int lock_sites(struct rpt_lock *l, uint32_t pid, const struct snapshot *cur,
		      const struct snapshot *prev)
{
	size_t cap = 0;
	char buf[32];

	for (size_t i = snapshot_site_from(cur, pid, l->uaddr); i < cur->nsites; i++) {
		const struct snap_site *e = &cur->sites[i], *o;
		struct rpt_lock_site *st;
		uint64_t waits;

		if (e->key.tgid != pid || e->key.uaddr != l->uaddr)
			break;
		o = prev ? snapshot_find_site(prev, &e->key) : NULL;
		waits = ct_delta(e->val.waits, o ? o->val.waits : 0);
		if (!waits)
			continue;
		st = vec_push(l->sites, l->nsites, cap);
		if (!st)
			return -ENOMEM;
		st->addr = e->key.site;
		st->waits = waits;
		st->wait_ns = ct_delta(e->val.wait_ns, o ? o->val.wait_ns : 0);
		if (st->addr)
			copy_name(st->name, sizeof(st->name),
				  sym_name(cur, pid, SNAP_SYM_CODE, st->addr, buf, sizeof(buf),
					   NULL));
		else
			copy_name(st->name, sizeof(st->name), "(call site not found)");
	}
	return 0;
}

/*
 * The frames of stack id of cur, named from cur's symbols, into st. A
 * stack whose frames are not all there (a damaged recording) gets none: its
 * waits are shown as without a stack. 0 or -ENOMEM.
 */
static int stack_frames(struct rpt_lock_stack *st, uint32_t pid, const struct snapshot *cur,
			uint64_t id)
{
	const struct snap_stack *k = id <= UINT32_MAX ? snapshot_find_stack(cur, (uint32_t)id) :
							NULL;
	size_t f = k ? snapshot_frame_from(cur, k->id) : 0;
	char buf[32];

	if (!k || k->pid != pid || !k->n || k->n > cur->nframes - f)
		return 0;
	for (uint32_t i = 0; i < k->n; i++)
		if (cur->frames[f + i].stack != k->id || cur->frames[f + i].index != i)
			return 0;
	st->frames = calloc(k->n, sizeof(*st->frames));
	if (!st->frames)
		return -ENOMEM;
	st->n = k->n;
	st->partial = k->partial;
	for (uint32_t i = 0; i < k->n; i++)
		copy_name(st->frames[i], sizeof(st->frames[i]),
			  sym_name(cur, pid, SNAP_SYM_CODE, cur->frames[f + i].pc, buf, sizeof(buf),
				   NULL));
	return 0;
}

/*
 * An lstacks entry's waits in the window (waits, ns) into st, a stack of
 * the entry's id (fresh: just made, its frames not read yet), and by the
 * entry's thread: the entries of one stack differ by thread only, and
 * come one after the other (snapshot_cmp_site). *cap: the capacity of
 * st->threads (0 for a fresh stack). 0 or -ENOMEM.
 */
static int stack_add(struct rpt_lock_stack *st, bool fresh, size_t *cap, const struct snap_site *e,
		     uint64_t waits, uint64_t ns, uint32_t pid, const struct snapshot *cur)
{
	struct rpt_stack_thread *t;

	if (fresh) {
		*cap = 0;
		if (stack_frames(st, pid, cur, e->key.site))
			return -ENOMEM;
	}
	st->waits += waits;
	st->wait_ns += ns;
	if (!e->key.tid)
		return 0;
	t = vec_push(st->threads, st->nthreads, *cap);
	if (!t)
		return -ENOMEM;
	*t = (struct rpt_stack_thread){ e->key.tid, waits, ns };
	return 0;
}

int locks_stack_named(struct rpt_lock_stack *st, uint32_t pid, const struct snapshot *s,
		      uint64_t id)
{
	return stack_frames(st, pid, s, id);
}

/* --stacks: the lock's waits by stack in the window. 0 or -ENOMEM. */
static int lock_stacks(struct rpt_lock *l, uint32_t pid, const struct snapshot *cur,
		       const struct snapshot *prev)
{
	size_t cap = 0, tcap = 0;
	uint64_t last = 0;

	for (size_t i = snapshot_lstack_from(cur, pid, l->uaddr); i < cur->nlstacks; i++) {
		const struct snap_site *e = &cur->lstacks[i], *o;
		struct rpt_lock_stack *st;
		uint64_t waits;
		bool fresh;

		if (e->key.tgid != pid || e->key.uaddr != l->uaddr)
			break;
		o = prev ? snapshot_find_lstack(prev, &e->key) : NULL;
		waits = ct_delta(e->val.waits, o ? o->val.waits : 0);
		if (!waits)
			continue;
		fresh = !l->nstacks || e->key.site != last;
		st = fresh ? vec_push(l->stacks, l->nstacks, cap) : &l->stacks[l->nstacks - 1];
		if (!st)
			return -ENOMEM;
		last = e->key.site;
		if (stack_add(st, fresh, &tcap, e, waits,
			      ct_delta(e->val.wait_ns, o ? o->val.wait_ns : 0), pid, cur))
			return -ENOMEM;
	}
	return 0;
}

static int cmp_stack(const void *a, const void *b)
{
	const struct rpt_lock_stack *x = a, *y = b;

	if (x->wait_ns != y->wait_ns)
		return x->wait_ns > y->wait_ns ? -1 : 1;
	return x->waits < y->waits ? 1 : x->waits > y->waits ? -1 : 0;
}

/*
 * The stacks of pid's lstacks entries from key lo up to hi (0: to the
 * end), in the window, most time first. 0 or -ENOMEM.
 */
static int tagged_stacks(struct rpt_tagged_stack **v, size_t *n, uint32_t pid, uint64_t lo,
			 uint64_t hi, const struct snapshot *cur, const struct snapshot *prev)
{
	uint64_t last_uaddr = 0, last_site = 0;
	size_t cap = 0, tcap = 0;

	for (size_t i = snapshot_lstack_from(cur, pid, lo); i < cur->nlstacks; i++) {
		const struct snap_site *e = &cur->lstacks[i], *o;
		struct rpt_tagged_stack *t;
		uint64_t waits;
		bool fresh;

		if (e->key.tgid != pid || (hi && e->key.uaddr >= hi))
			break;
		o = prev ? snapshot_find_lstack(prev, &e->key) : NULL;
		waits = ct_delta(e->val.waits, o ? o->val.waits : 0);
		if (!waits)
			continue;
		fresh = !*n || e->key.uaddr != last_uaddr || e->key.site != last_site;
		t = fresh ? vec_push(*v, *n, cap) : &(*v)[*n - 1];
		if (!t)
			return -ENOMEM;
		t->tag = (uint32_t)e->key.uaddr;
		last_uaddr = e->key.uaddr;
		last_site = e->key.site;
		if (stack_add(&t->st, fresh, &tcap, e, waits,
			      ct_delta(e->val.wait_ns, o ? o->val.wait_ns : 0), pid, cur))
			return -ENOMEM;
	}
	if (*n)
		qsort(*v, *n, sizeof(**v), cmp_stack);
	return 0;
}

int locks_tagged(struct rpt_process *p, const struct snapshot *cur, const struct snapshot *prev)
{
	if (tagged_stacks(&p->sysstacks, &p->nsysstacks, p->pid, SNAP_SYSCALL, SNAP_ONCPU, cur,
			  prev) ||
	    tagged_stacks(&p->oncpu, &p->noncpu, p->pid, SNAP_ONCPU, SNAP_GIL_HOLDER, cur, prev))
		return -ENOMEM;
	return p->gil ? tagged_stacks(&p->gil->holders, &p->gil->nholders, p->pid, SNAP_GIL_HOLDER,
				      0, cur, prev) :
			0;
}

void locks_tagged_free(struct rpt_tagged_stack **v, size_t *n)
{
	for (size_t i = 0; *v && i < *n; i++) {
		free((*v)[i].st.frames);
		free((*v)[i].st.threads);
	}
	free(*v);
	*v = NULL;
	*n = 0;
}

/* The waits of l that no stack carries, as a stack of no frames: the stacks add up. */
static int stacks_rest(struct rpt_lock *l)
{
	uint64_t waits = 0, ns = 0;
	struct rpt_lock_stack *st;
	size_t cap = l->nstacks;

	for (size_t i = 0; i < l->nstacks; i++) {
		waits += l->stacks[i].waits;
		ns += l->stacks[i].wait_ns;
	}
	if (waits >= l->waits && ns >= l->wait_ns)
		return 0;
	st = vec_push(l->stacks, l->nstacks, cap);
	if (!st)
		return -ENOMEM;
	st->waits = ct_delta(l->waits, waits);
	st->wait_ns = ct_delta(l->wait_ns, ns);
	return 0;
}

/* Longest wait first; equal ones by thread, so that the order is the same whatever the input's. */
static int cmp_party(const void *a, const void *b)
{
	const struct rpt_lock_party *x = a, *y = b;

	if (x->wait_ns != y->wait_ns)
		return x->wait_ns > y->wait_ns ? -1 : 1;
	return cmp_party_tid(a, b);
}

static int cmp_chain_key(const void *a, const void *b)
{
	const struct rpt_lock_chain *x = a, *y = b;

	if (x->waiter != y->waiter)
		return x->waiter < y->waiter ? -1 : 1;
	return x->holder < y->holder ? -1 : x->holder > y->holder;
}

static int cmp_chain(const void *a, const void *b)
{
	const struct rpt_lock_chain *x = a, *y = b;

	if (x->wait_ns != y->wait_ns)
		return x->wait_ns > y->wait_ns ? -1 : 1;
	return cmp_chain_key(a, b);
}

static int cmp_site_addr(const void *a, const void *b)
{
	const struct rpt_lock_site *x = a, *y = b;

	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

static int cmp_site(const void *a, const void *b)
{
	const struct rpt_lock_site *x = a, *y = b;

	if (x->wait_ns != y->wait_ns)
		return x->wait_ns > y->wait_ns ? -1 : 1;
	return cmp_site_addr(a, b);
}

static int cmp_now(const void *a, const void *b)
{
	const struct rpt_lock_now *x = a, *y = b;

	if (x->wait_ns != y->wait_ns)
		return x->wait_ns > y->wait_ns ? -1 : 1;
	return x->tid < y->tid ? -1 : x->tid > y->tid;
}

/* By total wait, the waits in progress included (a deadlock's locks come first). */
static int cmp_lock(const void *a, const void *b)
{
	const struct rpt_lock *x = a, *y = b;
	uint64_t wx = x->wait_ns + x->now_ns, wy = y->wait_ns + y->now_ns;

	if (wx != wy)
		return wx > wy ? -1 : 1;
	return x->uaddr < y->uaddr ? -1 : x->uaddr > y->uaddr;
}

static void lock_derive(struct rpt_lock *l, const struct rpt_process *p)
{
	if (!p->wall_ns)
		return;
	/* Lower bounds of the time it was held: the largest is the best. */
	uint64_t held = l->hold_ns > l->contended_ns ? l->hold_ns : l->contended_ns;

	if (l->xhold_ns > held)
		held = l->xhold_ns;
	/* A hold counts when it ends: one begun before an interval may be longer than it. */
	if (held > p->wall_ns)
		held = p->wall_ns;
	l->held_fraction = (double)held / (double)p->wall_ns;
	l->avg_waiting = (double)l->wait_ns / (double)p->wall_ns;
	l->serialising = l->kind == RPT_KIND_LOCK && l->held_fraction >= SERIAL_HELD &&
			 l->avg_waiting >= SERIAL_WAITING && l->nwaiters >= 2;
}

static void free_lock(struct rpt_lock *l)
{
	for (size_t i = 0; i < l->nstacks; i++) {
		free(l->stacks[i].frames);
		free(l->stacks[i].threads);
	}
	free(l->stacks);
	free(l->waiters);
	free(l->holders);
	free(l->chains);
	free(l->sites);
	free(l->now);
}

/*
 * A new row of p for uaddr, named, with no waits (cap: p->locks's
 * capacity while the table is built). NULL: no memory.
 */
static struct rpt_lock *row_add(struct rpt_process *p, size_t *cap, const struct snapshot *cur,
				uint64_t uaddr, uint32_t op)
{
	struct rpt_lock *l = vec_push(p->locks, p->nlocks, *cap);
	char buf[32];

	if (!l)
		return NULL;
	l->uaddr = uaddr;
	l->op = op;
	lock_name(l, cur, p->pid, buf, sizeof(buf));
	return l;
}

static int cmp_row_uaddr(const void *row, const void *uaddr)
{
	uint64_t a = ((const struct rpt_lock *)row)->uaddr, b = *(const uint64_t *)uaddr;

	return a < b ? -1 : a > b;
}

/* The row for uaddr among the first n rows of p, sorted by address; NULL if none. */
static struct rpt_lock *row_find(struct rpt_process *p, size_t n, uint64_t uaddr)
{
	size_t i = vec_lower_bound(p->locks, n, &uaddr, cmp_row_uaddr);

	return i < n && p->locks[i].uaddr == uaddr ? &p->locks[i] : NULL;
}

static int cmp_pending(const void *a, const void *b)
{
	const struct pending *x = a, *y = b;

	if (x->uaddr != y->uaddr)
		return x->uaddr < y->uaddr ? -1 : 1;
	return x->slot < y->slot ? -1 : x->slot > y->slot;
}

/* The waits of p's threads in progress at cur, by word (then slot). 0 or -ENOMEM. */
static int pending_waits(const struct rpt_process *p, const struct snapshot *cur,
			 struct pending **v, size_t *n)
{
	size_t cap = 0;

	for (size_t j = 0; j < p->nthreads; j++) {
		const struct ct_thread *t = &cur->threads[p->threads[j].slot];
		struct pending *w;

		if (!t->fx_uaddr || t->end_ts || task_by_tid(cur, t->tid) != t)
			continue;
		w = vec_push(*v, *n, cap);
		if (!w)
			return -ENOMEM;
		w->uaddr = t->fx_uaddr;
		w->slot = p->threads[j].slot;
	}
	if (*n > 1)
		qsort(*v, *n, sizeof(**v), cmp_pending);
	return 0;
}

/* Thread t's wait in progress on l, into w. */
static void wait_now(struct rpt_lock *l, struct rpt_lock_now *w, const struct ct_thread *t,
		     uint32_t pid, const struct snapshot *cur, const struct snapshot *prev)
{
	char buf[32];

	memset(w, 0, sizeof(*w));
	w->tid = t->tid;
	copy_name(w->comm, sizeof(w->comm), t->comm);
	w->wait_ns = ct_delta(cur->ts, t->fx_start);
	w->before = (t->flags & CT_TF_SEEDED) && t->fx_start <= t->start_ts;
	w->owner = t->fx_owner;
	w->lockish = (t->flags & CT_TF_FX_LOCK) || futex_op_is_pi(t->fx_op);
	w->join = w->owner && !w->lockish;
	/* Since the window's start, or since the thread's first traced moment if later. */
	w->idle = t->fx_start <= (prev && prev->ts > t->start_ts ? prev->ts : t->start_ts);
	if (w->owner)
		copy_name(w->owner_comm, sizeof(w->owner_comm), task_comm(cur, w->owner));
	if (t->fx_site)
		copy_name(w->site, sizeof(w->site),
			  sym_name(cur, pid, SNAP_SYM_CODE, t->fx_site, buf, sizeof(buf), NULL));
	w->window_ns = ct_delta(cur->ts, prev && prev->ts > t->fx_start ? prev->ts : t->fx_start);
	l->now_ns += w->window_ns;
}

/*
 * The waits of p's threads still in progress at cur (their thread slots say
 * so), into the rows of their words: the table's (its first rows, sorted),
 * or a new row per word. A row's now_ns counts them from the window's start
 * (prev), for its rank and the --locks-min-wait filter; each wait's own
 * figure is its age.
 */
static int locks_in_progress(struct rpt_process *p, size_t *cap, const struct snapshot *cur,
			     const struct snapshot *prev)
{
	size_t n = 0, ntable = p->nlocks, next, ncap;
	struct pending *v = NULL;
	int ret = pending_waits(p, cur, &v, &n);

	for (size_t i = 0; i < n && !ret; i = next) {
		const struct ct_thread *t = &cur->threads[v[i].slot];
		struct rpt_lock *l = row_find(p, ntable, v[i].uaddr);

		for (next = i + 1; next < n && v[next].uaddr == v[i].uaddr; next++)
			;
		if (!l)
			l = row_add(p, cap, cur, t->fx_uaddr, t->fx_op);
		ncap = l ? l->nnow : 0;
		if (!l || vec_reserve(l->now, ncap, l->nnow + (next - i))) {
			ret = -ENOMEM;
			break;
		}
		for (size_t k = i; k < next; k++)
			wait_now(l, &l->now[l->nnow++], &cur->threads[v[k].slot], p->pid, cur,
				 prev);
	}
	free(v);
	return ret;
}

static void chain_fold(void *kept, const void *other)
{
	struct rpt_lock_chain *k = kept;
	const struct rpt_lock_chain *o = other;

	k->waits += o->waits;
	k->wait_ns += o->wait_ns;
}

static void site_fold(void *kept, const void *other)
{
	struct rpt_lock_site *k = kept;
	const struct rpt_lock_site *o = other;

	k->waits += o->waits;
	k->wait_ns += o->wait_ns;
}

/* Append b's parties, chains, call sites and waits in progress to a's, folded by key. */
static int lock_merge_lists(struct rpt_lock *a, const struct rpt_lock *b)
{
	size_t cw = a->nwaiters, ch = a->nholders, cc = a->nchains, cs = a->nsites, cn = a->nnow;
	size_t ck = a->nstacks;

	if (vec_append(a->waiters, a->nwaiters, cw, b->waiters, b->nwaiters) ||
	    vec_append(a->holders, a->nholders, ch, b->holders, b->nholders) ||
	    vec_append(a->chains, a->nchains, cc, b->chains, b->nchains) ||
	    vec_append(a->sites, a->nsites, cs, b->sites, b->nsites) ||
	    vec_append(a->stacks, a->nstacks, ck, b->stacks, b->nstacks) ||
	    vec_append(a->now, a->nnow, cn, b->now, b->nnow))
		return -ENOMEM;
	a->nwaiters = vec_uniq(a->waiters, a->nwaiters, cmp_party_tid, party_fold);
	a->nholders = vec_uniq(a->holders, a->nholders, cmp_party_tid, party_fold);
	a->nchains = vec_uniq(a->chains, a->nchains, cmp_chain_key, chain_fold);
	a->nsites = vec_uniq(a->sites, a->nsites, cmp_site_addr, site_fold);
	return 0;
}

/* Add the waits of row b into row a (two words of one object). */
static int lock_merge(struct rpt_lock *a, const struct rpt_lock *b)
{
	a->waits += b->waits;
	a->wait_ns += b->wait_ns;
	if (b->wait_max > a->wait_max)
		a->wait_max = b->wait_max;
	hist_merge(&a->wait_hist, &b->wait_hist);
	a->wakes += b->wakes;
	a->timeouts += b->timeouts;
	a->other_wakes += b->other_wakes;
	a->exit_wakes += b->exit_wakes;
	a->retries += b->retries;
	a->timeouts_ret += b->timeouts_ret;
	a->wake_calls += b->wake_calls;
	a->woken += b->woken;
	a->passes += b->passes;
	a->pass_ns += b->pass_ns;
	a->futile += b->futile;
	a->futile_ns += b->futile_ns;
	a->now_ns += b->now_ns;
	a->join = a->waits && a->exit_wakes == a->waits;
	return lock_merge_lists(a, b);
}

static bool no_holder(const struct rpt_lock *l)
{
	return l->op == CT_FUTEX_WAIT_BITSET && !l->holds && !l->contended_ns;
}

static int cmp_row(const void *a, const void *b)
{
	return cmp_row_uaddr(a, &((const struct rpt_lock *)b)->uaddr);
}

/*
 * A glibc condition variable waits on one of its two group words
 * (__g_signals[2], at +0x28 and +0x2c of the 8-aligned pthread_cond_t),
 * by turns: one object, two rows. Two adjacent words at an 8-aligned
 * address, both waited for with FUTEX_WAIT_BITSET and never held, are
 * taken for one; its name is the cond's when the symbol shows it. With
 * the rows sorted by address, a word's partner is the next row.
 */
static int merge_condvars(struct rpt_process *p)
{
	size_t n = 0, k;

	if (p->nlocks > 1)
		qsort(p->locks, p->nlocks, sizeof(*p->locks), cmp_row);
	for (size_t i = 0; i < p->nlocks; i++) {
		struct rpt_lock *a = &p->locks[i], *b;
		size_t len;

		if (!a->uaddr || a->uaddr % 8 || !no_holder(a))
			continue;
		/* Rows merged away (uaddr 0) all lie before a: their partners are below a. */
		for (k = i + 1; k < p->nlocks && p->locks[k].uaddr < a->uaddr + 4; k++)
			;
		b = k < p->nlocks ? &p->locks[k] : NULL;
		if (!b || b->uaddr != a->uaddr + 4 || !no_holder(b))
			continue;
		if (lock_merge(a, b))
			return -ENOMEM;
		b->nstacks = 0; /* a owns their frames now */
		a->condvar = true;
		len = strlen(a->name);
		if (a->named && len > 5 && !strcmp(a->name + len - 5, "+0x28"))
			a->name[len - 5] = '\0';
		free_lock(b);
		b->uaddr = 0; /* merged: removed below */
	}
	for (size_t i = 0; i < p->nlocks; i++)
		if (p->locks[i].uaddr)
			p->locks[n++] = p->locks[i];
	p->nlocks = n;
	return 0;
}

static int cmp_wait_ix(const void *a, const void *b)
{
	const struct wait_ix *x = a, *y = b;

	if (x->tid != y->tid)
		return x->tid < y->tid ? -1 : 1;
	if (x->lock != y->lock)
		return x->lock < y->lock ? -1 : 1;
	return x->now < y->now ? -1 : x->now > y->now;
}

/* The waits in progress of p, sorted by thread. 0 or -ENOMEM. */
static int index_waits(const struct rpt_process *p, struct wait_ix **v, size_t *n)
{
	size_t cap = 0;

	for (size_t i = 0; i < p->nlocks; i++) {
		for (size_t k = 0; k < p->locks[i].nnow; k++) {
			struct wait_ix *w = vec_push(*v, *n, cap);

			if (!w)
				return -ENOMEM;
			w->tid = p->locks[i].now[k].tid;
			w->lock = i;
			w->now = k;
		}
	}
	if (*n > 1)
		qsort(*v, *n, sizeof(**v), cmp_wait_ix);
	return 0;
}

/* The wait in progress of thread tid in p (its first), and its lock; NULL if none. */
static const struct rpt_lock_now *waiting(const struct rpt_process *p, const struct wait_ix *ix,
					  size_t n, uint32_t tid, size_t *lock)
{
	struct wait_ix key = { .tid = tid };
	size_t i = vec_lower_bound(ix, n, &key, cmp_wait_ix);

	if (i == n || ix[i].tid != tid)
		return NULL;
	*lock = ix[i].lock;
	return &p->locks[ix[i].lock].now[ix[i].now];
}

/*
 * The cycle of waits in progress from thread start, into d: each thread
 * waits for a mutex the next one owns, the last for start's. false if
 * none, or if start is not the cycle's smallest tid (it is found from
 * there), or if the chain runs into a cycle of others.
 */
static bool cycle_from(const struct rpt_process *p, const struct wait_ix *ix, size_t n,
		       uint32_t start, struct rpt_deadlock *d)
{
	uint32_t tid = start;
	size_t lock;

	while (d->n < RPT_DEADLOCK_MAX) {
		const struct rpt_lock_now *w = waiting(p, ix, n, tid, &lock);

		if (!w || !w->owner || w->owner < start)
			return false;
		d->m[d->n].tid = tid;
		copy_name(d->m[d->n].comm, sizeof(d->m[d->n].comm), w->comm);
		copy_name(d->m[d->n].lock, sizeof(d->m[d->n].lock), p->locks[lock].name);
		d->m[d->n].owner = w->owner;
		d->n++;
		tid = w->owner;
		if (tid == start)
			break;
	}
	if (tid != start)
		return false;
	/* Each member once (d->n is at most RPT_DEADLOCK_MAX). */
	for (size_t a = 0; a < d->n; a++)
		for (size_t b = a + 1; b < d->n; b++)
			if (d->m[a].tid == d->m[b].tid)
				return false;
	return true;
}

/*
 * Cycles of waits in progress: each thread waits for a mutex the next one
 * owns, the last for the first's (joins included: a thread joining one
 * that waits for a lock it holds is stuck too). Each cycle once, from its
 * smallest tid, in the order of those tids. The waits are looked up by
 * thread in an index: a search of every row per step was quadratic.
 */
static int find_deadlocks(struct rpt_process *p)
{
	size_t nix = 0, cap = p->ndeadlocks, lock;
	struct wait_ix *ix = NULL;
	int ret = index_waits(p, &ix, &nix);

	for (size_t i = 0; i < nix && !ret; i++) {
		struct rpt_deadlock d = { 0 }, *nd;

		if (!cycle_from(p, ix, nix, ix[i].tid, &d))
			continue;
		for (size_t m = 0; m < d.n; m++)
			if (waiting(p, ix, nix, d.m[m].tid, &lock))
				p->locks[lock].deadlocked = true;
		nd = vec_push(p->deadlocks, p->ndeadlocks, cap);
		if (nd)
			*nd = d;
		else
			ret = -ENOMEM;
	}
	free(ix);
	return ret;
}

/*
 * Contended time up to a snapshot's moment: the BPF side adds an episode
 * when its last waiter wakes, so one still open (threads blocked now) is
 * closed here, as every open interval is at a snapshot. Without this, an
 * episode spanning -i intervals landed whole in the one where it ended: a
 * lock "held 120%" of a 200 ms interval.
 */
static uint64_t busy_at(const struct ct_lock_stat *c, uint64_t ts)
{
	if (!c->nblocked || !c->busy_since || ts <= c->busy_since)
		return c->busy_ns;
	return c->busy_ns + (ts - c->busy_since);
}

/*
 * Row l's figures from its table entry c at cur, as differences from its
 * entry o at prev (NULL: none).
 */
static void lock_figures(struct rpt_lock *l, const struct ct_lock_stat *c,
			 const struct ct_lock_stat *o, const struct snapshot *cur,
			 const struct snapshot *prev, bool exact)
{
	struct hist h = { 0 };

	l->waits = ct_delta(c->waits, o ? o->waits : 0);
	l->wait_ns = ct_delta(c->wait_ns, o ? o->wait_ns : 0);
	l->wait_max = c->wait_max;
	hist_add_u32(&l->wait_hist, c->wait_hist);
	l->wakes = ct_delta(c->wakes, o ? o->wakes : 0);
	l->timeouts = ct_delta(c->timeouts, o ? o->timeouts : 0);
	l->other_wakes = ct_delta(l->waits, l->wakes + l->timeouts);
	l->exit_wakes = ct_delta(c->exit_wakes, o ? o->exit_wakes : 0);
	l->join = l->waits && l->exit_wakes == l->waits;
	l->holds = ct_delta(c->holds, o ? o->holds : 0);
	l->hold_ns = ct_delta(c->hold_ns, o ? o->hold_ns : 0);
	l->hold_max = c->hold_max;
	l->contended_ns = ct_delta(busy_at(c, cur->ts), o ? busy_at(o, prev->ts) : 0);
	hist_add_u32(&l->hold_hist, c->hold_hist);
	l->exact = exact;
	l->xholds = ct_delta(c->xholds, o ? o->xholds : 0);
	l->xhold_ns = ct_delta(c->xhold_ns, o ? o->xhold_ns : 0);
	l->xhold_max = c->xhold_max;
	hist_add_u32(&l->xhold_hist, c->xhold_hist);
	l->retries = ct_delta(c->retries, o ? o->retries : 0);
	l->timeouts_ret = ct_delta(c->timeouts_ret, o ? o->timeouts_ret : 0);
	l->wake_calls = ct_delta(c->wake_calls, o ? o->wake_calls : 0);
	l->woken = ct_delta(c->woken, o ? o->woken : 0);
	l->passes = ct_delta(c->passes, o ? o->passes : 0);
	l->pass_ns = ct_delta(c->pass_ns, o ? o->pass_ns : 0);
	l->futile = ct_delta(c->futile, o ? o->futile : 0);
	l->futile_ns = ct_delta(c->futile_ns, o ? o->futile_ns : 0);
	if (o) {
		hist_add_u32(&h, o->wait_hist);
		hist_sub(&l->wait_hist, &h);
		memset(&h, 0, sizeof(h));
		hist_add_u32(&h, o->hold_hist);
		hist_sub(&l->hold_hist, &h);
		memset(&h, 0, sizeof(h));
		hist_add_u32(&h, o->xhold_hist);
		hist_sub(&l->xhold_hist, &h);
	}
}

/* The rows of p's entries in the lock table: they follow each other, sorted, in cur. */
static int table_rows(struct rpt_process *p, size_t *cap, const struct report_meta *m,
		      const struct snapshot *cur, const struct snapshot *prev)
{
	for (size_t i = snapshot_lock_from(cur, p->pid, 0); i < cur->nlocks; i++) {
		const struct snap_lock *e = &cur->locks[i];
		const struct snap_lock *o;
		struct rpt_lock *l;

		if (e->key.tgid != p->pid)
			break;
		o = prev ? snapshot_find_lock(prev, e->key.tgid, e->key.uaddr) : NULL;
		l = row_add(p, cap, cur, e->key.uaddr, e->st.op);
		if (!l)
			return -ENOMEM;
		lock_figures(l, &e->st, o ? &o->st : NULL, cur, prev, m->holds);
		if (lock_edges(l, p->pid, cur, prev) || lock_sites(l, p->pid, cur, prev) ||
		    lock_stacks(l, p->pid, cur, prev))
			return -ENOMEM;
	}
	return 0;
}

static int cmp_party_key(const void *party, const void *tid)
{
	uint32_t a = ((const struct rpt_lock_party *)party)->tid, b = *(const uint32_t *)tid;

	return a < b ? -1 : a > b;
}

/* Whether thread tid waited on l in the window (l->waiters sorted by tid), or waits now. */
static bool waits_on(const struct rpt_lock *l, uint32_t tid)
{
	size_t i = vec_lower_bound(l->waiters, l->nwaiters, &tid, cmp_party_key);

	if (i < l->nwaiters && l->waiters[i].tid == tid)
		return true;
	for (size_t k = 0; k < l->nnow; k++)
		if (l->now[k].tid == tid)
			return true;
	return false;
}

/*
 * The wait that threads ended, split by who ended it: threads that wait on
 * the word themselves (they pass a lock around, each taking it in turn) or
 * threads that never do (they signal: post work, set a result, notify).
 */
static void split_wakers(struct rpt_lock *l)
{
	l->nwait_threads = l->nwaiters;
	for (size_t k = 0; k < l->nnow; k++) {
		size_t i = vec_lower_bound(l->waiters, l->nwaiters, &l->now[k].tid, cmp_party_key);

		l->nwait_threads += i == l->nwaiters || l->waiters[i].tid != l->now[k].tid;
	}
	for (size_t i = 0; i < l->nchains; i++) {
		const struct rpt_lock_chain *c = &l->chains[i];

		if (c->holder == CT_WAKER_IRQ || c->holder == CT_WAKER_UNKNOWN)
			continue;
		if (waits_on(l, c->holder))
			l->peer_ns += c->wait_ns;
		else
			l->signal_ns += c->wait_ns;
	}
}

/* Whether some wait on l was for a locked word (a futex mutex's 2, a PI futex). */
static bool waited_locked(const struct rpt_lock *l)
{
	if (l->holds || l->contended_ns || futex_op_is_pi(l->op))
		return true;
	for (size_t k = 0; k < l->nnow; k++)
		if (l->now[k].lockish)
			return true;
	return false;
}

/* Whether every wait on l was a pthread_join (ended by, or waiting for, a thread's exit). */
static bool only_joins(const struct rpt_lock *l)
{
	if (l->waits && !l->join)
		return false;
	for (size_t k = 0; k < l->nnow; k++)
		if (!l->now[k].join)
			return false;
	return l->waits || l->nnow;
}

/* Whether the waits its threads ended are explained by its passing among them. */
static bool passed_on(const struct rpt_lock *l)
{
	if (l->pass_ns * PASS_EXPLAINS >= l->peer_ns)
		return true;
	return l->futile >= FUTILE_MIN && l->futile_ns * FUTILE_EXPLAINS >= l->peer_ns;
}

/*
 * Contention or an event (docs/usage.md, "Locks and events"), from what the
 * kernel side saw: the futex command and the value waited for, the layout
 * (the GIL's words, a condvar's pair), and who woke the waiters. The first
 * rule that applies decides.
 */
static void lock_classify(struct rpt_lock *l)
{
	split_wakers(l);
	if (l->gil)
		l->why = RPT_WHY_GIL;
	else if (l->deadlocked)
		l->why = RPT_WHY_DEADLOCK;
	else if (futex_op_is_pi(l->op))
		l->why = RPT_WHY_PI;
	else if (waited_locked(l))
		l->why = RPT_WHY_MUTEX;
	else if (l->condvar)
		l->why = RPT_WHY_CONDVAR;
	else if (only_joins(l))
		l->why = RPT_WHY_JOIN;
	else if (l->peer_ns && l->peer_ns >= l->signal_ns && passed_on(l))
		l->why = RPT_WHY_PEERS;
	else if (l->peer_ns || l->signal_ns)
		l->why = RPT_WHY_SIGNALLERS;
	else
		l->why = RPT_WHY_UNWOKEN;
	l->kind = lock_why_kind(l->why);
}

/*
 * A GIL word that tier C followed: its waits are counted, not analysed
 * (futex.bpf.c, ct_gil_wait_end), but for those before the GIL's address
 * was known, and those a timer ended. Their lists and holds would tell a
 * part as if it were the whole: the row keeps its counts only (who waited
 * and held the GIL is the GIL section's).
 */
static void gil_counts_only(struct rpt_lock *l)
{
	free(l->waiters);
	free(l->holders);
	free(l->chains);
	free(l->sites);
	l->waiters = l->holders = NULL;
	l->chains = NULL;
	l->sites = NULL;
	l->nwaiters = l->nholders = l->nchains = l->nsites = 0;
	l->holds = l->hold_ns = l->hold_max = l->contended_ns = 0;
	memset(&l->hold_hist, 0, sizeof(l->hold_hist));
}

/* Sort a kept row's lists and derive its figures. */
static void row_finish(struct rpt_lock *l, struct rpt_process *p)
{
	/* The GIL struct's words: its mutex, its condition variables. */
	l->gil = p->gil && p->gil->info.addr && l->uaddr >= p->gil->info.addr &&
		 l->uaddr < p->gil->info.addr + GIL_STRUCT_MAX;
	if (l->gil && p->gil->info.tier == RPT_GIL_FUTEX)
		gil_counts_only(l);
	lock_classify(l);
	for (size_t k = 0; l->kind == RPT_KIND_EVENT && k < l->nnow; k++) {
		if (!l->now[k].idle)
			continue;
		p->nidle++;
		p->idle_ns += l->now[k].window_ns;
	}
	if (l->nnow)
		qsort(l->now, l->nnow, sizeof(*l->now), cmp_now);
	if (l->nwaiters)
		qsort(l->waiters, l->nwaiters, sizeof(*l->waiters), cmp_party);
	if (l->nholders)
		qsort(l->holders, l->nholders, sizeof(*l->holders), cmp_party);
	if (l->nchains)
		qsort(l->chains, l->nchains, sizeof(*l->chains), cmp_chain);
	if (l->nsites)
		qsort(l->sites, l->nsites, sizeof(*l->sites), cmp_site);
	if (l->nstacks)
		qsort(l->stacks, l->nstacks, sizeof(*l->stacks), cmp_stack);
	lock_derive(l, p);
}

static int process_locks(struct rpt_process *p, const struct report_meta *m,
			 const struct snapshot *cur, const struct snapshot *prev)
{
	size_t cap = 0;

	if (table_rows(p, &cap, m, cur, prev) || locks_in_progress(p, &cap, cur, prev) ||
	    merge_condvars(p) || find_deadlocks(p))
		return -ENOMEM;
	for (size_t i = 0; i < p->nlocks; i++) {
		struct rpt_lock *l = &p->locks[i];

		/* Nothing happened to it in this window, or below the filter: leave it out. */
		/* A word only woken (no waiter slept on it: -S) is not contended. */
		if (!l->deadlocked && ((!l->waits && !l->nnow && !l->retries && !l->timeouts_ret) ||
				       l->wait_ns + l->now_ns < m->locks_min_wait_ns)) {
			free_lock(l);
			p->locks[i--] = p->locks[--p->nlocks];
			continue;
		}
		if (m->stacks && stacks_rest(l))
			return -ENOMEM;
		row_finish(l, p);
	}
	if (p->nlocks)
		qsort(p->locks, p->nlocks, sizeof(*p->locks), cmp_lock);
	return 0;
}

int futex_model(struct report *r, const struct snapshot *cur, const struct snapshot *prev)
{
	for (size_t i = 0; i < r->nprocs; i++)
		if (process_locks(&r->procs[i], r->meta, cur, prev))
			return -ENOMEM;
	return 0;
}

void futex_free_locks(struct rpt_process *p)
{
	for (size_t i = 0; i < p->nlocks; i++)
		free_lock(&p->locks[i]);
	free(p->locks);
	p->locks = NULL;
	p->nlocks = 0;
	free(p->deadlocks);
	p->deadlocks = NULL;
	p->ndeadlocks = 0;
}
