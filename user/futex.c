// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>

#include "bpfmap.h"
#include "futex.h"
#include "log.h"
#include "procfs.h"
#include "task.h"

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

/* Waits on a PI futex, whose word holds its owner's tid (not FUTEX_WAIT_REQUEUE_PI: a condvar). */
static bool is_pi(uint32_t op)
{
	return op == CT_FUTEX_LOCK_PI || op == CT_FUTEX_LOCK_PI2;
}

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
		if (is_pi(t->fx_op)) {
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
		if ((owner != t->tid || mutex) && live_thread_of(s, t->tgid, owner))
			t->fx_owner = owner;
	}
	if (c.mem >= 0)
		close(c.mem);
}

/* Name addr in cache (once), from the symbolizer. */
static int name_one(struct snapshot *cache, struct symbolizer *sym, uint32_t pid, uint32_t kind,
		    uint64_t addr)
{
	struct snap_sym *n;
	int found;

	if (!addr)
		return 0;
	for (size_t i = 0; i < cache->nsyms; i++) {
		n = &cache->syms[i];
		if (n->pid == pid && n->kind == kind && n->addr == addr)
			return 0;
	}
	n = snapshot_add_sym(cache);
	if (!n)
		return -ENOMEM;
	n->pid = pid;
	n->kind = kind;
	n->addr = addr;
	if (kind == SNAP_SYM_DATA)
		found = symbolizer_name_data(sym, (int)pid, addr, n->name, sizeof(n->name));
	else
		found = symbolizer_name_code(sym, (int)pid, addr, n->name, sizeof(n->name));
	if (found < 0)
		snprintf(n->name, sizeof(n->name), "0x%llx", (unsigned long long)addr);
	n->found = found > 0;
	return 0;
}

int futex_name(struct snapshot *s, struct symbolizer *sym, struct snapshot *cache)
{
	int ret = 0;

	for (size_t i = 0; i < s->nlocks && !ret; i++)
		ret = name_one(cache, sym, s->locks[i].key.tgid, SNAP_SYM_DATA,
			       s->locks[i].key.uaddr);
	for (size_t i = 0; i < s->nsites && !ret; i++)
		ret = name_one(cache, sym, s->sites[i].key.tgid, SNAP_SYM_CODE,
			       s->sites[i].key.site);
	for (uint32_t i = 0; i < s->nthreads && !ret; i++) {
		const struct ct_thread *t = &s->threads[i];

		if (!task_accounted(t) || !t->fx_uaddr || t->end_ts)
			continue;
		ret = name_one(cache, sym, t->tgid, SNAP_SYM_DATA, t->fx_uaddr);
		if (!ret && t->fx_site)
			ret = name_one(cache, sym, t->tgid, SNAP_SYM_CODE, t->fx_site);
	}
	for (size_t i = 0; i < s->nedges && !ret; i++) {
		const struct snap_edge *e = &s->edges[i];

		ret = name_one(cache, sym, e->key.tgid, SNAP_SYM_CODE, e->val.holder_site);
		if (!ret)
			ret = name_one(cache, sym, e->key.tgid, SNAP_SYM_CODE, e->val.waiter_site);
	}
	if (ret)
		return ret;
	free(s->syms);
	s->syms = NULL;
	s->nsyms = 0;
	if (!cache->nsyms)
		return 0;
	s->syms = malloc(cache->nsyms * sizeof(*s->syms));
	if (!s->syms)
		return -ENOMEM;
	memcpy(s->syms, cache->syms, cache->nsyms * sizeof(*s->syms));
	s->nsyms = cache->nsyms;
	return 0;
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

static uint64_t sub(uint64_t a, uint64_t b)
{
	return a > b ? a - b : 0;
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

/* Add a wait of `tid` into a list of parties (waiters or holders). */
static int party_add(struct rpt_lock_party **v, size_t *n, uint32_t tid, const char *comm,
		     uint64_t waits, uint64_t wait_ns)
{
	struct rpt_lock_party *p, *nv;

	for (size_t i = 0; i < *n; i++) {
		if ((*v)[i].tid == tid) {
			(*v)[i].waits += waits;
			(*v)[i].wait_ns += wait_ns;
			return 0;
		}
	}
	nv = realloc(*v, (*n + 1) * sizeof(**v));
	if (!nv)
		return -ENOMEM;
	*v = nv;
	p = &(*v)[(*n)++];
	memset(p, 0, sizeof(*p));
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

static int lock_edges(struct rpt_lock *l, uint32_t pid, const struct snapshot *cur,
		      const struct snapshot *prev)
{
	char b1[32], b2[32];

	for (size_t i = 0; i < cur->nedges; i++) {
		const struct snap_edge *e = &cur->edges[i], *o;
		struct rpt_lock_chain *c, *nv;
		uint64_t waits, ns;

		if (e->key.tgid != pid || e->key.uaddr != l->uaddr)
			continue;
		o = prev ? snapshot_find_edge(prev, &e->key) : NULL;
		waits = sub(e->val.waits, o ? o->val.waits : 0);
		ns = sub(e->val.wait_ns, o ? o->val.wait_ns : 0);
		if (!waits && !ns)
			continue;
		if (party_add(&l->waiters, &l->nwaiters, e->key.waiter,
			      party_comm(cur, e->key.waiter), waits, ns) ||
		    party_add(&l->holders, &l->nholders, e->key.holder,
			      party_comm(cur, e->key.holder), waits, ns))
			return -ENOMEM;
		nv = realloc(l->chains, (l->nchains + 1) * sizeof(*l->chains));
		if (!nv)
			return -ENOMEM;
		l->chains = nv;
		c = &l->chains[l->nchains++];
		memset(c, 0, sizeof(*c));
		c->waiter = e->key.waiter;
		c->holder = e->key.holder;
		copy_name(c->waiter_comm, sizeof(c->waiter_comm), party_comm(cur, c->waiter));
		copy_name(c->holder_comm, sizeof(c->holder_comm), party_comm(cur, c->holder));
		c->waits = waits;
		c->wait_ns = ns;
		copy_name(c->holder_site, sizeof(c->holder_site),
			  sym_name(cur, pid, SNAP_SYM_CODE, e->val.holder_site, b1, sizeof(b1),
				   NULL));
		copy_name(c->waiter_site, sizeof(c->waiter_site),
			  sym_name(cur, pid, SNAP_SYM_CODE, e->val.waiter_site, b2, sizeof(b2),
				   NULL));
	}
	return 0;
}

static int lock_sites(struct rpt_lock *l, uint32_t pid, const struct snapshot *cur,
		      const struct snapshot *prev)
{
	char buf[32];

	for (size_t i = 0; i < cur->nsites; i++) {
		const struct snap_site *e = &cur->sites[i], *o;
		struct rpt_lock_site *st, *nv;
		uint64_t waits;

		if (e->key.tgid != pid || e->key.uaddr != l->uaddr)
			continue;
		o = prev ? snapshot_find_site(prev, &e->key) : NULL;
		waits = sub(e->val.waits, o ? o->val.waits : 0);
		if (!waits)
			continue;
		nv = realloc(l->sites, (l->nsites + 1) * sizeof(*l->sites));
		if (!nv)
			return -ENOMEM;
		l->sites = nv;
		st = &l->sites[l->nsites++];
		memset(st, 0, sizeof(*st));
		st->addr = e->key.site;
		st->waits = waits;
		st->wait_ns = sub(e->val.wait_ns, o ? o->val.wait_ns : 0);
		if (st->addr)
			copy_name(st->name, sizeof(st->name),
				  sym_name(cur, pid, SNAP_SYM_CODE, st->addr, buf, sizeof(buf),
					   NULL));
		else
			copy_name(st->name, sizeof(st->name), "(call site not found)");
	}
	return 0;
}

static int cmp_party(const void *a, const void *b)
{
	const struct rpt_lock_party *x = a, *y = b;

	return x->wait_ns == y->wait_ns ? 0 : x->wait_ns > y->wait_ns ? -1 : 1;
}

static int cmp_chain(const void *a, const void *b)
{
	const struct rpt_lock_chain *x = a, *y = b;

	return x->wait_ns == y->wait_ns ? 0 : x->wait_ns > y->wait_ns ? -1 : 1;
}

static int cmp_site(const void *a, const void *b)
{
	const struct rpt_lock_site *x = a, *y = b;

	return x->wait_ns == y->wait_ns ? 0 : x->wait_ns > y->wait_ns ? -1 : 1;
}

/* struct _gil_runtime_state is 232 bytes or less in 3.8-3.13 (4 pthread objects and 4 words). */
#define GIL_STRUCT_MAX 256

static int cmp_now(const void *a, const void *b)
{
	const struct rpt_lock_now *x = a, *y = b;

	return x->wait_ns == y->wait_ns ? 0 : x->wait_ns > y->wait_ns ? -1 : 1;
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

/*
 * One lock serialises the process when it is held (as contended holds or
 * blocked waiters show) most of the process's wall time while several threads wait for it: at most
 * 1 / held_fraction threads can then do work at once (Amdahl's bound with
 * the held time as the serial part).
 */
#define SERIAL_HELD 0.5
#define SERIAL_WAITING 0.5

static void lock_derive(struct rpt_lock *l, const struct rpt_process *p)
{
	if (!p->wall_ns)
		return;
	/* Lower bounds of the time it was held: the largest is the best. */
	uint64_t held = l->hold_ns > l->contended_ns ? l->hold_ns : l->contended_ns;

	if (l->xhold_ns > held)
		held = l->xhold_ns;
	l->held_fraction = (double)held / (double)p->wall_ns;
	l->avg_waiting = (double)l->wait_ns / (double)p->wall_ns;
	l->serialising = l->held_fraction >= SERIAL_HELD && l->avg_waiting >= SERIAL_WAITING &&
			 l->nwaiters >= 2;
}

static void free_lock(struct rpt_lock *l)
{
	free(l->waiters);
	free(l->holders);
	free(l->chains);
	free(l->sites);
	free(l->now);
}

/* Append nsrc elements of size bytes to the array *v of *n. 0, or -ENOMEM. */
static int append(void **v, size_t *n, const void *src, size_t nsrc, size_t size)
{
	void *nv;

	if (!nsrc)
		return 0;
	nv = realloc(*v, (*n + nsrc) * size);
	if (!nv)
		return -ENOMEM;
	memcpy((char *)nv + *n * size, src, nsrc * size);
	*v = nv;
	*n += nsrc;
	return 0;
}

/* A new row of p for uaddr, named, with no waits. NULL: no memory. */
static struct rpt_lock *row_add(struct rpt_process *p, const struct snapshot *cur, uint64_t uaddr,
				uint32_t op)
{
	struct rpt_lock *l, *nv;
	char buf[32];

	nv = realloc(p->locks, (p->nlocks + 1) * sizeof(*p->locks));
	if (!nv)
		return NULL;
	p->locks = nv;
	l = &p->locks[p->nlocks++];
	memset(l, 0, sizeof(*l));
	l->uaddr = uaddr;
	l->op = op;
	lock_name(l, cur, p->pid, buf, sizeof(buf));
	return l;
}

/* The row of p for uaddr, made (named, with no waits) if missing. NULL: no memory. */
static struct rpt_lock *lock_row(struct rpt_process *p, const struct snapshot *cur, uint64_t uaddr,
				 uint32_t op)
{
	for (size_t i = 0; i < p->nlocks; i++)
		if (p->locks[i].uaddr == uaddr)
			return &p->locks[i];
	return row_add(p, cur, uaddr, op);
}

/*
 * The waits of p's threads still in progress at cur (their thread slots say
 * so). A row's now_ns counts them from the window's start (prev), for its
 * rank and the --locks-min-wait filter; each wait's own figure is its age.
 */
static int locks_in_progress(struct rpt_process *p, const struct snapshot *cur,
			     const struct snapshot *prev)
{
	char buf[32];

	for (uint32_t i = 0; i < cur->nthreads; i++) {
		const struct ct_thread *t = &cur->threads[i];
		struct rpt_lock_now now = { 0 }, *w = &now;
		struct rpt_lock *l;

		if (t->tgid != p->pid || !task_accounted(t) || !t->fx_uaddr || t->end_ts ||
		    task_by_tid(cur, t->tid) != t)
			continue;
		l = lock_row(p, cur, t->fx_uaddr, t->fx_op);
		if (!l)
			return -ENOMEM;
		w->tid = t->tid;
		copy_name(w->comm, sizeof(w->comm), t->comm);
		w->wait_ns = sub(cur->ts, t->fx_start);
		w->before = (t->flags & CT_TF_SEEDED) && t->fx_start <= t->start_ts;
		w->owner = t->fx_owner;
		w->join = w->owner && !(t->flags & CT_TF_FX_LOCK) && !is_pi(t->fx_op);
		if (w->owner)
			copy_name(w->owner_comm, sizeof(w->owner_comm), task_comm(cur, w->owner));
		if (t->fx_site)
			copy_name(w->site, sizeof(w->site),
				  sym_name(cur, p->pid, SNAP_SYM_CODE, t->fx_site, buf, sizeof(buf),
					   NULL));
		l->now_ns += sub(cur->ts, prev && prev->ts > t->fx_start ? prev->ts : t->fx_start);
		if (append((void **)&l->now, &l->nnow, w, 1, sizeof(*w)))
			return -ENOMEM;
	}
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
	a->now_ns += b->now_ns;
	for (size_t i = 0; i < b->nwaiters; i++)
		if (party_add(&a->waiters, &a->nwaiters, b->waiters[i].tid, b->waiters[i].comm,
			      b->waiters[i].waits, b->waiters[i].wait_ns))
			return -ENOMEM;
	for (size_t i = 0; i < b->nholders; i++)
		if (party_add(&a->holders, &a->nholders, b->holders[i].tid, b->holders[i].comm,
			      b->holders[i].waits, b->holders[i].wait_ns))
			return -ENOMEM;
	for (size_t i = 0; i < b->nchains; i++) {
		const struct rpt_lock_chain *c = &b->chains[i];
		size_t k;

		for (k = 0; k < a->nchains; k++)
			if (a->chains[k].waiter == c->waiter && a->chains[k].holder == c->holder)
				break;
		if (k < a->nchains) {
			a->chains[k].waits += c->waits;
			a->chains[k].wait_ns += c->wait_ns;
		} else if (append((void **)&a->chains, &a->nchains, c, 1, sizeof(*c))) {
			return -ENOMEM;
		}
	}
	for (size_t i = 0; i < b->nsites; i++) {
		const struct rpt_lock_site *st = &b->sites[i];
		size_t k;

		for (k = 0; k < a->nsites; k++)
			if (a->sites[k].addr == st->addr)
				break;
		if (k < a->nsites) {
			a->sites[k].waits += st->waits;
			a->sites[k].wait_ns += st->wait_ns;
		} else if (append((void **)&a->sites, &a->nsites, st, 1, sizeof(*st))) {
			return -ENOMEM;
		}
	}
	a->join = a->waits && a->exit_wakes == a->waits;
	return append((void **)&a->now, &a->nnow, b->now, b->nnow, sizeof(*b->now));
}

static bool no_holder(const struct rpt_lock *l)
{
	return l->op == CT_FUTEX_WAIT_BITSET && !l->holds && !l->contended_ns;
}

/*
 * A glibc condition variable waits on one of its two group words
 * (__g_signals[2], at +0x28 and +0x2c of the 8-aligned pthread_cond_t),
 * by turns: one object, two rows. Two adjacent words at an 8-aligned
 * address, both waited for with FUTEX_WAIT_BITSET and never held, are
 * taken for one; its name is the cond's when the symbol shows it.
 */
static int merge_condvars(struct rpt_process *p)
{
	size_t n = 0;

	for (size_t i = 0; i < p->nlocks; i++) {
		struct rpt_lock *a = &p->locks[i];

		if (!a->uaddr || a->uaddr % 8 || !no_holder(a))
			continue;
		for (size_t k = 0; k < p->nlocks; k++) {
			struct rpt_lock *b = &p->locks[k];
			size_t len;

			if (b->uaddr != a->uaddr + 4 || !no_holder(b))
				continue;
			if (lock_merge(a, b))
				return -ENOMEM;
			a->condvar = true;
			len = strlen(a->name);
			if (a->named && len > 5 && !strcmp(a->name + len - 5, "+0x28"))
				a->name[len - 5] = '\0';
			free_lock(b);
			b->uaddr = 0; /* merged: removed below */
			break;
		}
	}
	for (size_t i = 0; i < p->nlocks; i++)
		if (p->locks[i].uaddr)
			p->locks[n++] = p->locks[i];
	p->nlocks = n;
	return 0;
}

/* The wait in progress of thread tid in p, and its lock; NULL if none. */
static const struct rpt_lock_now *waiting(const struct rpt_process *p, uint32_t tid,
					  const struct rpt_lock **lock)
{
	for (size_t i = 0; i < p->nlocks; i++)
		for (size_t k = 0; k < p->locks[i].nnow; k++)
			if (p->locks[i].now[k].tid == tid) {
				*lock = &p->locks[i];
				return &p->locks[i].now[k];
			}
	return NULL;
}

/*
 * Cycles of waits in progress: each thread waits for a mutex the next one
 * owns, the last for the first's (joins included: a thread joining one
 * that waits for a lock it holds is stuck too). Each cycle once, from its
 * smallest tid.
 */
static int find_deadlocks(struct rpt_process *p)
{
	for (size_t i = 0; i < p->nlocks; i++) {
		for (size_t k = 0; k < p->locks[i].nnow; k++) {
			uint32_t start = p->locks[i].now[k].tid, tid = start;
			struct rpt_deadlock d = { 0 }, *nv;
			bool cycle = false;

			while (d.n < RPT_DEADLOCK_MAX) {
				const struct rpt_lock *l;
				const struct rpt_lock_now *w = waiting(p, tid, &l);

				if (!w || !w->owner || w->owner < start)
					break; /* not stuck, or the cycle is found from a smaller tid */
				d.m[d.n].tid = tid;
				copy_name(d.m[d.n].comm, sizeof(d.m[d.n].comm), w->comm);
				copy_name(d.m[d.n].lock, sizeof(d.m[d.n].lock), l->name);
				d.m[d.n].owner = w->owner;
				d.n++;
				tid = w->owner;
				if (tid == start) {
					cycle = true;
					break;
				}
			}
			if (!cycle)
				continue;
			/* A chain that runs into a cycle of others is not one: each member once. */
			for (size_t a = 0; a < d.n && cycle; a++)
				for (size_t b = a + 1; b < d.n; b++)
					if (d.m[a].tid == d.m[b].tid)
						cycle = false;
			if (!cycle)
				continue;
			for (size_t m = 0; m < d.n; m++) {
				const struct rpt_lock *l;

				if (waiting(p, d.m[m].tid, &l))
					((struct rpt_lock *)l)->deadlocked = true;
			}
			nv = realloc(p->deadlocks, (p->ndeadlocks + 1) * sizeof(*p->deadlocks));
			if (!nv)
				return -ENOMEM;
			p->deadlocks = nv;
			p->deadlocks[p->ndeadlocks++] = d;
		}
	}
	return 0;
}

static int process_locks(struct rpt_process *p, const struct report_meta *m,
			 const struct snapshot *cur, const struct snapshot *prev)
{
	for (size_t i = 0; i < cur->nlocks; i++) {
		const struct snap_lock *e = &cur->locks[i];
		const struct snap_lock *o =
			prev ? snapshot_find_lock(prev, e->key.tgid, e->key.uaddr) : NULL;
		const struct ct_lock_stat *c = &e->st;
		struct rpt_lock *l;
		struct hist h = { 0 };

		if (e->key.tgid != p->pid)
			continue;
		l = row_add(p, cur, e->key.uaddr, c->op);
		if (!l)
			return -ENOMEM;
		l->waits = sub(c->waits, o ? o->st.waits : 0);
		l->wait_ns = sub(c->wait_ns, o ? o->st.wait_ns : 0);
		l->wait_max = c->wait_max;
		hist_add_u32(&l->wait_hist, c->wait_hist);
		l->wakes = sub(c->wakes, o ? o->st.wakes : 0);
		l->timeouts = sub(c->timeouts, o ? o->st.timeouts : 0);
		l->other_wakes = sub(l->waits, l->wakes + l->timeouts);
		l->exit_wakes = sub(c->exit_wakes, o ? o->st.exit_wakes : 0);
		l->join = l->waits && l->exit_wakes == l->waits;
		l->holds = sub(c->holds, o ? o->st.holds : 0);
		l->hold_ns = sub(c->hold_ns, o ? o->st.hold_ns : 0);
		l->hold_max = c->hold_max;
		l->contended_ns = sub(c->busy_ns, o ? o->st.busy_ns : 0);
		hist_add_u32(&l->hold_hist, c->hold_hist);
		l->exact = m->holds;
		l->xholds = sub(c->xholds, o ? o->st.xholds : 0);
		l->xhold_ns = sub(c->xhold_ns, o ? o->st.xhold_ns : 0);
		l->xhold_max = c->xhold_max;
		hist_add_u32(&l->xhold_hist, c->xhold_hist);
		l->retries = sub(c->retries, o ? o->st.retries : 0);
		l->timeouts_ret = sub(c->timeouts_ret, o ? o->st.timeouts_ret : 0);
		l->wake_calls = sub(c->wake_calls, o ? o->st.wake_calls : 0);
		l->woken = sub(c->woken, o ? o->st.woken : 0);
		if (o) {
			hist_add_u32(&h, o->st.wait_hist);
			hist_sub(&l->wait_hist, &h);
			memset(&h, 0, sizeof(h));
			hist_add_u32(&h, o->st.hold_hist);
			hist_sub(&l->hold_hist, &h);
			memset(&h, 0, sizeof(h));
			hist_add_u32(&h, o->st.xhold_hist);
			hist_sub(&l->xhold_hist, &h);
		}
		if (lock_edges(l, p->pid, cur, prev) || lock_sites(l, p->pid, cur, prev))
			return -ENOMEM;
	}
	if (locks_in_progress(p, cur, prev) || merge_condvars(p) || find_deadlocks(p))
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
		/* The GIL struct's words: its mutex, its condition variables. */
		l->gil = p->gil && p->gil->info.addr && l->uaddr >= p->gil->info.addr &&
			 l->uaddr < p->gil->info.addr + GIL_STRUCT_MAX;
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
		lock_derive(l, p);
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
