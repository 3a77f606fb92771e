// SPDX-License-Identifier: GPL-2.0-only
#include <stdlib.h>
#include <string.h>

#include "snap/snapshot.h"
#include "snap/threads.h"
#include "util/vec.h"

void snapshot_free(struct snapshot *s)
{
	free(s->threads);
	free(s->sys);
	free(s->wakers);
	free(s->runners);
	free(s->names);
	free(s->procs);
	free(s->locks);
	free(s->edges);
	free(s->sites);
	free(s->natives);
	free(s->lstacks);
	free(s->stacks);
	free(s->frames);
	free(s->syms);
	free(s->gilhists);
	free(s->pynames);
	free(s->tids);
	memset(s, 0, sizeof(*s));
}

int snapshot_cmp_sys(const void *a, const void *b)
{
	const struct snap_sys *x = a, *y = b;

	if (x->key.slot != y->key.slot)
		return x->key.slot < y->key.slot ? -1 : 1;
	if (x->key.nr != y->key.nr)
		return x->key.nr < y->key.nr ? -1 : 1;
	return 0;
}

int snapshot_cmp_waker(const void *a, const void *b)
{
	const struct snap_waker *x = a, *y = b;

	if (x->key.slot != y->key.slot)
		return x->key.slot < y->key.slot ? -1 : 1;
	if (x->key.waker_tid != y->key.waker_tid)
		return x->key.waker_tid < y->key.waker_tid ? -1 : 1;
	return 0;
}

int snapshot_cmp_runner(const void *a, const void *b)
{
	const struct snap_runner *x = a, *y = b;

	if (x->key.slot != y->key.slot)
		return x->key.slot < y->key.slot ? -1 : 1;
	if (x->key.tid != y->key.tid)
		return x->key.tid < y->key.tid ? -1 : 1;
	return 0;
}

int snapshot_cmp_native(const void *a, const void *b)
{
	const struct snap_native *x = a, *y = b;

	if (x->key.tgid != y->key.tgid)
		return x->key.tgid < y->key.tgid ? -1 : 1;
	return x->key.ip < y->key.ip ? -1 : x->key.ip > y->key.ip;
}

static void merge_native(void *kept, const void *other)
{
	((struct snap_native *)kept)->samples += ((const struct snap_native *)other)->samples;
}

static void merge_runner(void *kept, const void *other)
{
	struct snap_runner *k = kept;
	const struct snap_runner *o = other;

	k->val.ns += o->val.ns;
	k->val.waits += o->val.waits;
}

static void merge_sys(struct snap_sys *dst, const struct snap_sys *src)
{
	dst->st.blocks += src->st.blocks;
	dst->st.calls += src->st.calls;
	dst->st.errors += src->st.errors;
	dst->st.partial += src->st.partial;
	dst->st.total_ns += src->st.total_ns;
	if (src->st.max_ns > dst->st.max_ns)
		dst->st.max_ns = src->st.max_ns;
	dst->st.offcpu_ns += src->st.offcpu_ns;
	dst->st.blocked_ns += src->st.blocked_ns;
	dst->open += src->open;
}

/* Keys are compared as the bytes they are: they hold no padding that varies. */
int snapshot_cmp_lock(const void *a, const void *b)
{
	const struct snap_lock *x = a, *y = b;

	if (x->key.tgid != y->key.tgid)
		return x->key.tgid < y->key.tgid ? -1 : 1;
	return x->key.uaddr < y->key.uaddr ? -1 : x->key.uaddr > y->key.uaddr;
}

int snapshot_cmp_edge(const void *a, const void *b)
{
	const struct ct_edge_key *x = &((const struct snap_edge *)a)->key;
	const struct ct_edge_key *y = &((const struct snap_edge *)b)->key;

	if (x->tgid != y->tgid)
		return x->tgid < y->tgid ? -1 : 1;
	if (x->uaddr != y->uaddr)
		return x->uaddr < y->uaddr ? -1 : 1;
	if (x->waiter != y->waiter)
		return x->waiter < y->waiter ? -1 : 1;
	return x->holder < y->holder ? -1 : x->holder > y->holder;
}

int snapshot_cmp_site(const void *a, const void *b)
{
	const struct ct_site_key *x = &((const struct snap_site *)a)->key;
	const struct ct_site_key *y = &((const struct snap_site *)b)->key;

	if (x->tgid != y->tgid)
		return x->tgid < y->tgid ? -1 : 1;
	if (x->uaddr != y->uaddr)
		return x->uaddr < y->uaddr ? -1 : 1;
	if (x->site != y->site)
		return x->site < y->site ? -1 : 1;
	return x->tid < y->tid ? -1 : x->tid > y->tid;
}

int snapshot_cmp_stack(const void *a, const void *b)
{
	const struct snap_stack *x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

int snapshot_cmp_frame(const void *a, const void *b)
{
	const struct snap_frame *x = a, *y = b;

	if (x->stack != y->stack)
		return x->stack < y->stack ? -1 : 1;
	return x->index < y->index ? -1 : x->index > y->index;
}

int snapshot_cmp_sym(const void *a, const void *b)
{
	const struct snap_sym *x = a, *y = b;

	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	if (x->kind != y->kind)
		return x->kind < y->kind ? -1 : 1;
	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

int snapshot_cmp_name(const void *a, const void *b)
{
	const struct snap_name *x = a, *y = b;

	return x->tid < y->tid ? -1 : x->tid > y->tid;
}

int snapshot_cmp_proc(const void *a, const void *b)
{
	const struct snap_proc *x = a, *y = b;

	return x->pid < y->pid ? -1 : x->pid > y->pid;
}

int snapshot_cmp_pyname(const void *a, const void *b)
{
	const struct snap_pyname *x = a, *y = b;

	if (x->tid != y->tid)
		return x->tid < y->tid ? -1 : 1;
	return x->pid < y->pid ? -1 : x->pid > y->pid;
}

int snapshot_cmp_gilhist(const void *a, const void *b)
{
	const struct snap_gilhist *x = a, *y = b;

	return x->slot < y->slot ? -1 : x->slot > y->slot;
}

static int cmp_tid(const void *a, const void *b)
{
	const struct snap_tid *x = a, *y = b;

	if (x->tid != y->tid)
		return x->tid < y->tid ? -1 : 1;
	return x->slot < y->slot ? -1 : x->slot > y->slot;
}

/*
 * The tid index: a report looks threads up by tid for every waker and
 * lock party, and a linear search made reports of hundreds of threads
 * quadratic. Without memory for it, lookups stay linear.
 */
static void index_tids(struct snapshot *s)
{
	size_t n = 0, k = 0;

	free(s->tids);
	s->tids = NULL;
	s->ntids = 0;
	if (!s->nthreads)
		return;
	s->tids = malloc(s->nthreads * sizeof(*s->tids));
	if (!s->tids)
		return;
	for (uint32_t i = 0; i < s->nthreads; i++)
		if (task_accounted(&s->threads[i]))
			s->tids[n++] = (struct snap_tid){ .tid = s->threads[i].tid, .slot = i };
	qsort(s->tids, n, sizeof(*s->tids), cmp_tid);
	/* A tid in several slots (reused): its last slot, as a linear search finds. */
	for (size_t i = 0; i < n; i++) {
		if (k && s->tids[k - 1].tid == s->tids[i].tid)
			k--;
		s->tids[k++] = s->tids[i];
	}
	s->ntids = k;
}

const struct snap_tid *snapshot_find_tid(const struct snapshot *s, uint32_t tid)
{
	struct snap_tid key = { .tid = tid };
	size_t i = vec_lower_bound(s->tids, s->ntids, &key, cmp_tid);

	return i < s->ntids && s->tids[i].tid == tid ? &s->tids[i] : NULL;
}

void snapshot_normalize(struct snapshot *s)
{
	/* Map entries are unique by key; names are added once per address. */
	if (s->nlocks)
		qsort(s->locks, s->nlocks, sizeof(*s->locks), snapshot_cmp_lock);
	if (s->nedges)
		qsort(s->edges, s->nedges, sizeof(*s->edges), snapshot_cmp_edge);
	if (s->nsites)
		qsort(s->sites, s->nsites, sizeof(*s->sites), snapshot_cmp_site);
	if (s->nlstacks)
		qsort(s->lstacks, s->nlstacks, sizeof(*s->lstacks), snapshot_cmp_site);
	if (s->nstacks)
		qsort(s->stacks, s->nstacks, sizeof(*s->stacks), snapshot_cmp_stack);
	if (s->nframes)
		qsort(s->frames, s->nframes, sizeof(*s->frames), snapshot_cmp_frame);
	if (s->nsyms)
		qsort(s->syms, s->nsyms, sizeof(*s->syms), snapshot_cmp_sym);
	if (s->nnames)
		qsort(s->names, s->nnames, sizeof(*s->names), snapshot_cmp_name);
	if (s->nprocs)
		qsort(s->procs, s->nprocs, sizeof(*s->procs), snapshot_cmp_proc);
	if (s->npynames)
		qsort(s->pynames, s->npynames, sizeof(*s->pynames), snapshot_cmp_pyname);
	size_t i, n;

	if (s->nsys) {
		qsort(s->sys, s->nsys, sizeof(*s->sys), snapshot_cmp_sys);
		for (i = 1, n = 1; i < s->nsys; i++) {
			if (!snapshot_cmp_sys(&s->sys[n - 1], &s->sys[i]))
				merge_sys(&s->sys[n - 1], &s->sys[i]);
			else
				s->sys[n++] = s->sys[i];
		}
		s->nsys = n;
	}
	if (s->nwakers) {
		qsort(s->wakers, s->nwakers, sizeof(*s->wakers), snapshot_cmp_waker);
		for (i = 1, n = 1; i < s->nwakers; i++) {
			if (!snapshot_cmp_waker(&s->wakers[n - 1], &s->wakers[i]))
				s->wakers[n - 1].val.count += s->wakers[i].val.count;
			else
				s->wakers[n++] = s->wakers[i];
		}
		s->nwakers = n;
	}
	s->nrunners = vec_uniq(s->runners, s->nrunners, snapshot_cmp_runner, merge_runner);
	s->nnatives = vec_uniq(s->natives, s->nnatives, snapshot_cmp_native, merge_native);
	index_tids(s);
}

struct snap_sys *snapshot_find_sys(const struct snapshot *s, uint32_t slot, int32_t nr)
{
	struct snap_sys key = { .key = { .slot = slot, .nr = nr } };

	if (!s->nsys)
		return NULL;
	return bsearch(&key, s->sys, s->nsys, sizeof(*s->sys), snapshot_cmp_sys);
}

struct snap_waker *snapshot_find_waker(const struct snapshot *s, uint32_t slot, uint32_t tid)
{
	struct snap_waker key = { .key = { .slot = slot, .waker_tid = tid } };

	if (!s->nwakers)
		return NULL;
	return bsearch(&key, s->wakers, s->nwakers, sizeof(*s->wakers), snapshot_cmp_waker);
}

struct snap_runner *snapshot_find_runner(const struct snapshot *s, uint32_t slot, uint32_t tid)
{
	struct snap_runner key = { .key = { .slot = slot, .tid = tid } };

	if (!s->nrunners)
		return NULL;
	return bsearch(&key, s->runners, s->nrunners, sizeof(*s->runners), snapshot_cmp_runner);
}

const struct snap_lock *snapshot_find_lock(const struct snapshot *s, uint32_t tgid, uint64_t uaddr)
{
	struct snap_lock key = { .key = { .tgid = tgid, .uaddr = uaddr } };

	if (!s->nlocks)
		return NULL;
	return bsearch(&key, s->locks, s->nlocks, sizeof(*s->locks), snapshot_cmp_lock);
}

const struct snap_edge *snapshot_find_edge(const struct snapshot *s, const struct ct_edge_key *k)
{
	struct snap_edge key = { .key = *k };

	if (!s->nedges)
		return NULL;
	return bsearch(&key, s->edges, s->nedges, sizeof(*s->edges), snapshot_cmp_edge);
}

static const struct snap_site *find_site(const struct snap_site *v, size_t n,
					 const struct ct_site_key *k)
{
	struct snap_site key = { .key = *k };

	if (!n)
		return NULL;
	return bsearch(&key, v, n, sizeof(*v), snapshot_cmp_site);
}

const struct snap_site *snapshot_find_site(const struct snapshot *s, const struct ct_site_key *k)
{
	return find_site(s->sites, s->nsites, k);
}

const struct snap_site *snapshot_find_lstack(const struct snapshot *s, const struct ct_site_key *k)
{
	return find_site(s->lstacks, s->nlstacks, k);
}

const struct snap_stack *snapshot_find_stack(const struct snapshot *s, uint32_t id)
{
	struct snap_stack key = { .id = id };

	if (!s->nstacks)
		return NULL;
	return bsearch(&key, s->stacks, s->nstacks, sizeof(*s->stacks), snapshot_cmp_stack);
}

const struct snap_sym *snapshot_find_sym(const struct snapshot *s, uint32_t pid, uint32_t kind,
					 uint64_t addr)
{
	struct snap_sym key = { .pid = pid, .kind = kind, .addr = addr };

	if (!s->nsyms)
		return NULL;
	return bsearch(&key, s->syms, s->nsyms, sizeof(*s->syms), snapshot_cmp_sym);
}

const struct snap_name *snapshot_find_name(const struct snapshot *s, uint32_t tid)
{
	struct snap_name key = { .tid = tid };

	if (!s->nnames)
		return NULL;
	return bsearch(&key, s->names, s->nnames, sizeof(*s->names), snapshot_cmp_name);
}

const struct snap_proc *snapshot_find_proc(const struct snapshot *s, uint32_t pid)
{
	struct snap_proc key = { .pid = pid };

	if (!s->nprocs)
		return NULL;
	return bsearch(&key, s->procs, s->nprocs, sizeof(*s->procs), snapshot_cmp_proc);
}

size_t snapshot_sys_from(const struct snapshot *s, uint32_t slot)
{
	struct snap_sys key = { .key = { .slot = slot, .nr = INT32_MIN } };

	return vec_lower_bound(s->sys, s->nsys, &key, snapshot_cmp_sys);
}

size_t snapshot_waker_from(const struct snapshot *s, uint32_t slot)
{
	struct snap_waker key = { .key = { .slot = slot } };

	return vec_lower_bound(s->wakers, s->nwakers, &key, snapshot_cmp_waker);
}

size_t snapshot_runner_from(const struct snapshot *s, uint32_t slot)
{
	struct snap_runner key = { .key = { .slot = slot } };

	return vec_lower_bound(s->runners, s->nrunners, &key, snapshot_cmp_runner);
}

size_t snapshot_lock_from(const struct snapshot *s, uint32_t tgid, uint64_t uaddr)
{
	struct snap_lock key = { .key = { .tgid = tgid, .uaddr = uaddr } };

	return vec_lower_bound(s->locks, s->nlocks, &key, snapshot_cmp_lock);
}

size_t snapshot_edge_from(const struct snapshot *s, uint32_t tgid, uint64_t uaddr)
{
	struct snap_edge key = { .key = { .tgid = tgid, .uaddr = uaddr } };

	return vec_lower_bound(s->edges, s->nedges, &key, snapshot_cmp_edge);
}

size_t snapshot_site_from(const struct snapshot *s, uint32_t tgid, uint64_t uaddr)
{
	struct snap_site key = { .key = { .tgid = tgid, .uaddr = uaddr } };

	return vec_lower_bound(s->sites, s->nsites, &key, snapshot_cmp_site);
}

size_t snapshot_frame_from(const struct snapshot *s, uint32_t stack)
{
	struct snap_frame key = { .stack = stack };

	return vec_lower_bound(s->frames, s->nframes, &key, snapshot_cmp_frame);
}

size_t snapshot_lstack_from(const struct snapshot *s, uint32_t tgid, uint64_t uaddr)
{
	struct snap_site key = { .key = { .tgid = tgid, .uaddr = uaddr } };

	return vec_lower_bound(s->lstacks, s->nlstacks, &key, snapshot_cmp_site);
}

struct snap_sys *snapshot_add_sys(struct snapshot *s, uint32_t slot, int32_t nr)
{
	struct snap_sys *e = vec_push(s->sys, s->nsys, s->cap.sys);

	if (e) {
		e->key.slot = slot;
		e->key.nr = nr;
	}
	return e;
}

struct snap_native *snapshot_add_native(struct snapshot *s)
{
	return vec_push(s->natives, s->nnatives, s->cap.natives);
}

size_t snapshot_native_from(const struct snapshot *s, uint32_t pid)
{
	struct snap_native key = { .key = { .tgid = pid } };

	return vec_lower_bound(s->natives, s->nnatives, &key, snapshot_cmp_native);
}

const struct snap_native *snapshot_find_native(const struct snapshot *s,
					       const struct ct_native_key *k)
{
	struct snap_native key = { .key = *k };

	if (!s->nnatives)
		return NULL;
	return bsearch(&key, s->natives, s->nnatives, sizeof(*s->natives), snapshot_cmp_native);
}

struct snap_runner *snapshot_add_runner(struct snapshot *s, uint32_t slot, uint32_t tid)
{
	struct snap_runner *e = vec_push(s->runners, s->nrunners, s->cap.runners);

	if (e) {
		e->key.slot = slot;
		e->key.tid = tid;
	}
	return e;
}

struct snap_waker *snapshot_add_waker(struct snapshot *s, uint32_t slot, uint32_t tid)
{
	struct snap_waker *e = vec_push(s->wakers, s->nwakers, s->cap.wakers);

	if (e) {
		e->key.slot = slot;
		e->key.waker_tid = tid;
	}
	return e;
}

const struct snap_pyname *snapshot_find_pyname(const struct snapshot *s, uint32_t tid, uint32_t pid)
{
	struct snap_pyname key = { .tid = tid, .pid = pid };

	if (!s->npynames)
		return NULL;
	return bsearch(&key, s->pynames, s->npynames, sizeof(*s->pynames), snapshot_cmp_pyname);
}

/* Bytes of the UTF-8 sequence at s (at most n), printable; 0 if invalid or a control. */
static size_t utf8_char(const unsigned char *s, size_t n)
{
	size_t len = s[0] < 0x80	   ? 1 :
		     (s[0] & 0xe0) == 0xc0 ? 2 :
		     (s[0] & 0xf0) == 0xe0 ? 3 :
		     (s[0] & 0xf8) == 0xf0 ? 4 :
					     0;
	uint32_t c = len == 1 ? s[0] : s[0] & (0x7f >> len);

	if (!len || len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (s[i] & 0x3f);
	}
	/* Overlong forms, surrogates, beyond Unicode, C0 and C1 controls, DEL. */
	if ((len == 2 && c < 0x80) || (len == 3 && c < 0x800) || (len == 4 && c < 0x10000) ||
	    (c >= 0xd800 && c < 0xe000) || c > 0x10ffff || c < 0x20 || (c >= 0x7f && c < 0xa0))
		return 0;
	return len;
}

void snapshot_clean_pyname(char *name, size_t len)
{
	unsigned char *s = (unsigned char *)name;
	size_t n;

	if (!len)
		return;
	name[len - 1] = '\0';
	n = strlen(name);
	for (size_t i = 0; i < n;) {
		size_t k = utf8_char(s + i, n - i);

		if (!k) {
			s[i++] = '?';
			continue;
		}
		i += k;
	}
}

struct snap_name *snapshot_add_name(struct snapshot *s)
{
	return vec_push(s->names, s->nnames, s->cap.names);
}

struct snap_proc *snapshot_add_proc(struct snapshot *s)
{
	return vec_push(s->procs, s->nprocs, s->cap.procs);
}

struct snap_lock *snapshot_add_lock(struct snapshot *s)
{
	return vec_push(s->locks, s->nlocks, s->cap.locks);
}

struct snap_edge *snapshot_add_edge(struct snapshot *s)
{
	return vec_push(s->edges, s->nedges, s->cap.edges);
}

struct snap_site *snapshot_add_site(struct snapshot *s)
{
	return vec_push(s->sites, s->nsites, s->cap.sites);
}

struct snap_sym *snapshot_add_sym(struct snapshot *s)
{
	return vec_push(s->syms, s->nsyms, s->cap.syms);
}
