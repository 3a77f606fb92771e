// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>

#include "probe/bpfmap.h"
#include "model/locks.h"
#include "probe/futex.h"
#include "util/log.h"
#include "util/procfs.h"
#include "probe/task.h"
#include "util/vec.h"

int futex_read(struct snapshot *s, const struct futex_fds *fds)
{
	struct ct_lock_key *lk;
	struct ct_lock_stat *lv;
	struct ct_edge_key *ek;
	struct ct_edge_val *ev;
	struct ct_site_key *sk;
	struct ct_site_val *sv;
	size_t n, i;
	int ret;

	ret = bpfmap_dump(fds->locks, sizeof(*lk), sizeof(*lv), (void **)&lk, (void **)&lv, &n);
	if (ret)
		return ret;
	for (i = 0; i < n && !ret; i++) {
		struct snap_lock *e = snapshot_add_lock(s);

		if (e) {
			e->key = lk[i];
			e->st = lv[i];
		} else {
			ret = -ENOMEM;
		}
	}
	free(lk);
	free(lv);
	if (ret)
		return ret;

	ret = bpfmap_dump(fds->edges, sizeof(*ek), sizeof(*ev), (void **)&ek, (void **)&ev, &n);
	if (ret)
		return ret;
	for (i = 0; i < n && !ret; i++) {
		struct snap_edge *e = snapshot_add_edge(s);

		if (e) {
			e->key = ek[i];
			e->val = ev[i];
		} else {
			ret = -ENOMEM;
		}
	}
	free(ek);
	free(ev);
	if (ret)
		return ret;

	ret = bpfmap_dump(fds->sites, sizeof(*sk), sizeof(*sv), (void **)&sk, (void **)&sv, &n);
	if (ret)
		return ret;
	for (i = 0; i < n && !ret; i++) {
		struct snap_site *e = snapshot_add_site(s);

		if (e) {
			e->key = sk[i];
			e->val = sv[i];
		} else {
			ret = -ENOMEM;
		}
	}
	free(sk);
	free(sv);
	return ret;
}

#define FUTEX_TID_MASK 0x3fffffffu
#define FUTEX_WAITERS 0x80000000u

/* Whether tid is a live thread of process tgid in s. */
static bool live_thread_of(const struct snapshot *s, uint32_t tgid, uint32_t tid)
{
	const struct ct_thread *t = tid ? task_by_tid(s, tid) : NULL;

	return t && t->tgid == tgid && !t->end_ts;
}

/* What futex_owners needs of one process: its memory, and its threads' ids in its namespace. */
struct owner_ctx {
	uint32_t pid;
	int mem;
	bool in_ns; /* in a child PID namespace: the ids in its memory are not ours */
	size_t n;
	struct {
		uint32_t ns_tid, tid;
	} map[256];
};

static void ctx_open(struct owner_ctx *c, const struct snapshot *s, uint32_t pid)
{
	static bool warned;
	char path[64];
	int ns;

	if (c->mem >= 0)
		close(c->mem);
	memset(c, 0, sizeof(*c));
	c->pid = pid;
	snprintf(path, sizeof(path), "/proc/%u/mem", pid);
	c->mem = open(path, O_RDONLY | O_CLOEXEC);
	if (c->mem < 0 && (errno == EACCES || errno == EPERM) && !warned) {
		warned = true;
		log_warn(
			"cannot read the memory of pid %u (%s): the threads that waits in progress are for are not shown",
			pid, strerror(errno));
	}
	if (c->mem < 0 || proc_ns_tid((int)pid, (int)pid, &ns) || (uint32_t)ns == pid)
		return;
	c->in_ns = true;
	for (uint32_t i = 0; i < s->nthreads && c->n < sizeof(c->map) / sizeof(c->map[0]); i++) {
		const struct ct_thread *t = &s->threads[i];

		if (t->tgid == pid && task_accounted(t) && !t->end_ts &&
		    !proc_ns_tid((int)pid, (int)t->tid, &ns)) {
			c->map[c->n].ns_tid = (uint32_t)ns;
			c->map[c->n++].tid = t->tid;
		}
	}
}

/* A thread id read from the process's memory, as the host sees it (0: none). */
static uint32_t ctx_tid(const struct owner_ctx *c, uint32_t id)
{
	if (!c->in_ns)
		return id;
	for (size_t i = 0; i < c->n; i++)
		if (c->map[i].ns_tid == id)
			return c->map[i].tid;
	return 0;
}

/*
 * A glibc pthread_mutex_t at uaddr, locked: its __owner (+8). The word
 * waited for is 2 for a condition variable's too on some glibc versions,
 * so the rest must look like a mutex: __kind (+16) only known bits, and
 * at least one user (+12). 0 if not.
 */
static uint32_t mutex_owner(int fd, uint64_t uaddr)
{
	uint32_t m[5];

	if (pread(fd, m, sizeof(m), (off_t)uaddr) != (ssize_t)sizeof(m))
		return 0;
	if (!m[0] || !m[3] || (m[4] & ~0x3ffu))
		return 0;
	return m[2];
}

/*
 * Whether thread t is still blocked in its futex wait. The owner is read
 * after the snapshot (after detach too, for the last one): a thread woken
 * meanwhile may own the mutex by then, and be taken for a thread waiting
 * for a lock it holds itself, a deadlock that is not. A wait still going
 * on after the read was going on during it. Unknown (no ptrace rights):
 * taken as still waiting.
 */
static bool still_waiting(const struct ct_thread *t)
{
	uint64_t arg0;
	long nr;

	if (proc_syscall((int)t->tgid, (int)t->tid, &nr, &arg0))
		return true;
	if (nr == CT_NR_FUTEX_WAITV)
		return true; /* its first argument is the vector */
	return (nr == CT_NR_FUTEX || nr == CT_NR_FUTEX_WAIT) && arg0 == t->fx_uaddr;
}

void futex_owners(struct snapshot *s)
{
	struct owner_ctx c = { .mem = -1 };

	for (uint32_t i = 0; i < s->nthreads; i++) {
		struct ct_thread *t = &s->threads[i];
		uint32_t word = 0, owner;
		bool mutex = true;

		t->fx_owner = 0;
		if (!task_accounted(t) || !t->fx_uaddr || t->end_ts)
			continue;
		if (c.mem < 0 || c.pid != t->tgid)
			ctx_open(&c, s, t->tgid);
		if (c.mem < 0 ||
		    pread(c.mem, &word, sizeof(word), (off_t)t->fx_uaddr) != (ssize_t)sizeof(word))
			continue;
		if (futex_op_is_pi(t->fx_op)) {
			owner = word & FUTEX_TID_MASK;
		} else if (t->flags & CT_TF_FX_LOCK) {
			owner = mutex_owner(c.mem, t->fx_uaddr);
			if (!owner && ctx_tid(&c, word) != t->tid &&
			    live_thread_of(s, t->tgid, ctx_tid(&c, word))) {
				/* Not a mutex: a join of the thread whose id is 2 (in a container). */
				owner = word;
				mutex = false;
				t->flags &= ~CT_TF_FX_LOCK;
			}
		} else if (word & FUTEX_WAITERS) {
			/* A robust mutex: its word is its owner's tid, with waiters. */
			owner = word & FUTEX_TID_MASK;
			t->flags |= CT_TF_FX_LOCK;
		} else {
			owner = word; /* pthread_join waits on the thread's tid word */
			mutex = false;
		}
		owner = ctx_tid(&c, owner);
		/* A thread waiting for a mutex it holds itself is stuck for good. */
		if ((owner != t->tid || mutex) && live_thread_of(s, t->tgid, owner) &&
		    still_waiting(t))
			t->fx_owner = owner;
	}
	if (c.mem >= 0)
		close(c.mem);
}

/* An address of a traced process to name. */
struct name_key {
	uint32_t pid;
	uint32_t kind; /* enum snap_sym_kind */
	uint64_t addr;
};

static int cmp_name_key(const void *a, const void *b)
{
	const struct name_key *x = a, *y = b;

	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	if (x->kind != y->kind)
		return x->kind < y->kind ? -1 : 1;
	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

static int want(struct name_key **v, size_t *n, size_t *cap, uint32_t pid, uint32_t kind,
		uint64_t addr)
{
	struct name_key *k;

	if (!addr)
		return 0;
	k = vec_push(*v, *n, *cap);
	if (!k)
		return -ENOMEM;
	k->pid = pid;
	k->kind = kind;
	k->addr = addr;
	return 0;
}

/* The lock words and call sites s refers to, once each, sorted. 0 or -ENOMEM. */
static int wanted(const struct snapshot *s, struct name_key **v, size_t *n)
{
	size_t cap = 0;
	int ret = 0;

	for (size_t i = 0; i < s->nlocks && !ret; i++)
		ret = want(v, n, &cap, s->locks[i].key.tgid, SNAP_SYM_DATA, s->locks[i].key.uaddr);
	for (size_t i = 0; i < s->nsites && !ret; i++)
		ret = want(v, n, &cap, s->sites[i].key.tgid, SNAP_SYM_CODE, s->sites[i].key.site);
	for (uint32_t i = 0; i < s->nthreads && !ret; i++) {
		const struct ct_thread *t = &s->threads[i];

		if (!task_accounted(t) || !t->fx_uaddr || t->end_ts)
			continue;
		ret = want(v, n, &cap, t->tgid, SNAP_SYM_DATA, t->fx_uaddr);
		if (!ret)
			ret = want(v, n, &cap, t->tgid, SNAP_SYM_CODE, t->fx_site);
	}
	for (size_t i = 0; i < s->nedges && !ret; i++) {
		const struct snap_edge *e = &s->edges[i];

		ret = want(v, n, &cap, e->key.tgid, SNAP_SYM_CODE, e->val.holder_site);
		if (!ret)
			ret = want(v, n, &cap, e->key.tgid, SNAP_SYM_CODE, e->val.waiter_site);
	}
	/* Native code's samples: where it ran. */
	for (size_t i = 0; i < s->nnatives && !ret; i++)
		ret = want(v, n, &cap, s->natives[i].key.tgid, SNAP_SYM_CODE, s->natives[i].key.ip);
	/* --stacks: every frame of every stack (stacks and frames are both sorted by id). */
	for (size_t i = 0, f = 0; i < s->nstacks && !ret; i++)
		for (; f < s->nframes && s->frames[f].stack <= s->stacks[i].id && !ret; f++)
			if (s->frames[f].stack == s->stacks[i].id)
				ret = want(v, n, &cap, s->stacks[i].pid, SNAP_SYM_CODE,
					   s->frames[f].pc);
	*n = vec_uniq(*v, *n, cmp_name_key, NULL);
	return ret;
}

/* Name k in a new entry of the cache, from the symbolizer. 0 or -ENOMEM. */
static int name_new(struct snapshot *cache, struct symbolizer *sym, const struct pyframes *py,
		    const struct name_key *k)
{
	struct snap_sym *n = snapshot_add_sym(cache);
	int found;

	if (!n)
		return -ENOMEM;
	n->pid = k->pid;
	n->kind = k->kind;
	n->addr = k->addr;
	if (k->kind == SNAP_SYM_CODE && (k->addr & PYFRAME_PC)) {
		found = py && pyframes_name(py, (int)k->pid, k->addr, n->name, sizeof(n->name)) ?
				k->addr != PYFRAME_PC :
				-1;
	} else if (k->kind == SNAP_SYM_DATA)
		found = symbolizer_name_data(sym, (int)k->pid, k->addr, n->name, sizeof(n->name));
	else
		found = symbolizer_name_code(sym, (int)k->pid, k->addr, n->name, sizeof(n->name));
	if (found < 0)
		snprintf(n->name, sizeof(n->name), "0x%llx", (unsigned long long)k->addr);
	n->found = found > 0;
	return 0;
}

/*
 * Each address is named once in the cache's life, and the cache stays
 * sorted, so that what it knows is a binary search away (a linear search
 * per address was quadratic: 50,000 addresses took minutes under ASan).
 */
int futex_name(struct snapshot *s, struct symbolizer *sym, const struct pyframes *py,
	       struct snapshot *cache)
{
	struct name_key *v = NULL;
	size_t n = 0, k = 0;
	int ret = wanted(s, &v, &n);

	for (size_t i = 0; i < n && !ret; i++)
		if (!snapshot_find_sym(cache, v[i].pid, v[i].kind, v[i].addr))
			v[k++] = v[i];
	for (size_t i = 0; i < k && !ret; i++)
		ret = name_new(cache, sym, py, &v[i]);
	free(v);
	/* The cache holds names only: this sorts them. */
	if (k)
		snapshot_normalize(cache);
	if (ret)
		return ret;
	free(s->syms);
	s->syms = NULL;
	s->nsyms = 0;
	s->cap.syms = 0;
	return vec_append(s->syms, s->nsyms, s->cap.syms, cache->syms, cache->nsyms);
}

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return (x > y) - (x < y);
}

void futex_update_text(int text_fd, struct symbolizer *sym, const int *pids, size_t npids,
		       bool prune)
{
	uint64_t starts[CT_TEXT_RANGES], ends[CT_TEXT_RANGES];
	struct ct_text t;
	__u32 key, next, *prev = NULL;
	bool live;

	for (size_t i = 0; i < npids; i++) {
		size_t n = symbolizer_user_text(sym, pids[i], starts, ends, CT_TEXT_RANGES - 1);

		/* Unused entries sort last and hold nothing. */
		memset(&t, 0xff, sizeof(t));
		for (size_t k = 0; k < n; k++) {
			t.r[k].start = starts[k];
			t.r[k].end = ends[k];
		}
		key = (__u32)pids[i];
		bpf_map_update_elem(text_fd, &key, &t, BPF_ANY);
	}
	/* Forget processes that are gone (their pids may be reused). */
	while (prune && !bpf_map_get_next_key(text_fd, prev, &next)) {
		int pid = (int)next;

		live = npids && bsearch(&pid, pids, npids, sizeof(*pids), cmp_int);
		if (!live && !bpf_map_delete_elem(text_fd, &next))
			continue; /* the key after prev is looked up again */
		key = next;
		prev = &key;
	}
}
