// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include "probe/bpfmap.h"
#include "util/procfs.h"
#include "probe/sched.h"
#include "probe/task.h"
#include "util/vec.h"

/*
 * Copy a map keyed by (slot, tid), ct_wakers or ct_runners, into s: add()
 * makes an entry, whose value follows its 8-byte key.
 */
static int read_slot_map(struct snapshot *s, int fd, size_t vsize,
			 void *(*add)(struct snapshot *, uint32_t, uint32_t))
{
	struct ct_waker_key *keys;
	unsigned char *vals, *e;
	size_t n;
	int ret;

	_Static_assert(sizeof(struct ct_runner_key) == sizeof(*keys) &&
			       offsetof(struct snap_waker, val) == sizeof(*keys) &&
			       offsetof(struct snap_runner, val) == sizeof(*keys),
		       "ct_wakers and ct_runners: the same key, the value after it");
	ret = bpfmap_dump(fd, sizeof(*keys), vsize, (void **)&keys, (void **)&vals, &n);
	if (ret)
		return ret;
	for (size_t i = 0; i < n && !ret; i++) {
		e = add(s, keys[i].slot, keys[i].waker_tid);
		if (e)
			memcpy(e + sizeof(*keys), vals + i * vsize, vsize);
		else
			ret = -ENOMEM;
	}
	free(keys);
	free(vals);
	return ret;
}

static void *add_waker(struct snapshot *s, uint32_t slot, uint32_t tid)
{
	return snapshot_add_waker(s, slot, tid);
}

static void *add_runner(struct snapshot *s, uint32_t slot, uint32_t tid)
{
	return snapshot_add_runner(s, slot, tid);
}

int sched_read_wakers(struct snapshot *s, int fd)
{
	return read_slot_map(s, fd, sizeof(struct ct_waker_val), add_waker);
}

int sched_read_runners(struct snapshot *s, int fd)
{
	return read_slot_map(s, fd, sizeof(struct ct_runner_val), add_runner);
}

/*
 * Closing a snapshot's open intervals: the rules of acct.h, with hooks that
 * move a thread's caches (wakers, runners, blocked time) into the snapshot's arrays.
 */
#define CT_ACCT_HOOKS
#include "acct.h"

struct close_ctx {
	struct snapshot *s;
	uint32_t slot;
	int err;
};

static inline void ct_hook_waker_flush(struct ct_thread *th, struct ct_rl_waker *e, void *hc)
{
	struct close_ctx *c = hc;
	struct snap_waker *w = snapshot_add_waker(c->s, c->slot, e->tid);

	(void)th;
	if (!w) {
		c->err = -ENOMEM;
		return;
	}
	w->val.count = e->count;
	w->val.waker_tgid = e->tgid;
	e->count = 0;
}

static inline void ct_hook_runner_flush(struct ct_thread *th, struct ct_rl_runner *e, void *hc)
{
	struct close_ctx *c = hc;
	struct snap_runner *r = snapshot_add_runner(c->s, c->slot, e->tid);

	(void)th;
	if (!r) {
		c->err = -ENOMEM;
		return;
	}
	r->val.ns = e->ns;
	r->val.waits = e->waits;
	r->val.tgid = e->tgid;
	r->val.kthread = e->kthread;
	e->waits = 0;
	e->ns = 0;
}

static inline void ct_hook_blocked_flush(struct ct_thread *th, struct ct_rl_sys *b, void *hc)
{
	struct close_ctx *c = hc;
	struct snap_sys *e = snapshot_add_sys(c->s, c->slot, b->nr);

	(void)th;
	if (!e) {
		c->err = -ENOMEM;
		return;
	}
	e->st.blocks = b->count;
	e->st.blocked_ns = b->ns;
	b->count = 0;
	b->ns = 0;
}

/* A snapshot ends no wait, no block and no thread: these are never called here. */
static inline void ct_hook_futex_wait_end(struct ct_thread *th, __u64 now, void *hc)
{
	(void)th, (void)now, (void)hc;
}

static inline void ct_hook_futex_block(struct ct_thread *th, int nr, __u64 now, void *hc)
{
	(void)th, (void)nr, (void)now, (void)hc;
}

static inline void ct_hook_block_end(struct ct_thread *th, __u64 d, void *hc)
{
	(void)th, (void)d, (void)hc;
}

static inline void ct_hook_exit(struct ct_thread *th, __u64 now, void *hc)
{
	(void)th, (void)now, (void)hc;
}

static inline void ct_hook_missed(enum ct_missed what, void *hc)
{
	(void)what, (void)hc;
}

int sched_close(struct snapshot *s)
{
	struct close_ctx c = { .s = s };

	for (uint32_t i = 0; i < s->nthreads && !c.err; i++) {
		if (!task_accounted(&s->threads[i]))
			continue;
		c.slot = i;
		ct_acct_close(&s->threads[i], s->ts, &c);
	}
	return c.err;
}

/*
 * Wakers and runners outside the trace not named yet, once each: their names are read
 * from /proc while the wakers may still live, and kept in the cache
 * (sorted by tid, for snapshot_find_name()) for later snapshots.
 */
static int name_new_threads(struct snapshot *cache, const struct snapshot *s)
{
	struct snap_name *v = NULL, *n;
	size_t nv = 0, cap = 0, k = 0;
	int ret = 0;

	for (size_t i = 0; i < s->nwakers; i++) {
		const struct snap_waker *w = &s->wakers[i];
		uint32_t tid = w->key.waker_tid;

		/* A softirq's raiser: the thread is the one named. */
		if (tid != CT_WAKER_UNKNOWN)
			tid &= ~CT_WAKER_SOFTIRQ;
		/* Interrupts and wakers not seen have no name to read. */
		if (tid == CT_WAKER_IRQ || tid == CT_WAKER_UNKNOWN || task_by_tid(s, tid))
			continue;
		n = vec_push(v, nv, cap);
		if (!n) {
			free(v);
			return -ENOMEM;
		}
		n->tid = tid;
		n->pid = w->val.waker_tgid;
	}
	for (size_t i = 0; i < s->nrunners; i++) {
		const struct snap_runner *r = &s->runners[i];

		/* The idle task, interrupts and waits older than the ring have no name to read. */
		if (!r->key.tid || r->key.tid == CT_WAKER_UNKNOWN || r->key.tid == CT_RUNNER_IRQ ||
		    task_by_tid(s, r->key.tid))
			continue;
		n = vec_push(v, nv, cap);
		if (!n) {
			free(v);
			return -ENOMEM;
		}
		n->tid = r->key.tid;
		n->pid = r->val.tgid;
	}
	nv = vec_uniq(v, nv, snapshot_cmp_name, NULL);
	for (size_t i = 0; i < nv; i++)
		if (!snapshot_find_name(cache, v[i].tid))
			v[k++] = v[i];
	for (size_t i = 0; i < k; i++) {
		n = snapshot_add_name(cache);
		if (!n) {
			ret = -ENOMEM;
			break;
		}
		*n = v[i];
		if (proc_comm((int)n->pid, (int)n->tid, n->comm, sizeof(n->comm)))
			strcpy(n->comm, "?");
	}
	free(v);
	/* The cache holds names only: this sorts them (those added too, if memory ran out). */
	snapshot_normalize(cache);
	return ret;
}

int sched_resolve_names(struct snapshot *cache, struct snapshot *s)
{
	int ret = name_new_threads(cache, s);

	if (ret)
		return ret;
	free(s->names);
	s->names = NULL;
	s->nnames = 0;
	s->cap.names = 0;
	return vec_append(s->names, s->nnames, s->cap.names, cache->names, cache->nnames);
}
