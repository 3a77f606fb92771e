// SPDX-License-Identifier: GPL-2.0-only
#include <stdlib.h>
#include <string.h>

#include "snapshot.h"

void snapshot_free(struct snapshot *s)
{
	free(s->threads);
	free(s->sys);
	free(s->wakers);
	free(s->names);
	free(s->procs);
	memset(s, 0, sizeof(*s));
}

static int cmp_sys(const void *a, const void *b)
{
	const struct snap_sys *x = a, *y = b;

	if (x->key.slot != y->key.slot)
		return x->key.slot < y->key.slot ? -1 : 1;
	if (x->key.nr != y->key.nr)
		return x->key.nr < y->key.nr ? -1 : 1;
	return 0;
}

static int cmp_waker(const void *a, const void *b)
{
	const struct snap_waker *x = a, *y = b;

	if (x->key.slot != y->key.slot)
		return x->key.slot < y->key.slot ? -1 : 1;
	if (x->key.waker_tid != y->key.waker_tid)
		return x->key.waker_tid < y->key.waker_tid ? -1 : 1;
	return 0;
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

void snapshot_normalize(struct snapshot *s)
{
	size_t i, n;

	if (s->nsys) {
		qsort(s->sys, s->nsys, sizeof(*s->sys), cmp_sys);
		for (i = 1, n = 1; i < s->nsys; i++) {
			if (!cmp_sys(&s->sys[n - 1], &s->sys[i]))
				merge_sys(&s->sys[n - 1], &s->sys[i]);
			else
				s->sys[n++] = s->sys[i];
		}
		s->nsys = n;
	}
	if (s->nwakers) {
		qsort(s->wakers, s->nwakers, sizeof(*s->wakers), cmp_waker);
		for (i = 1, n = 1; i < s->nwakers; i++) {
			if (!cmp_waker(&s->wakers[n - 1], &s->wakers[i]))
				s->wakers[n - 1].val.count += s->wakers[i].val.count;
			else
				s->wakers[n++] = s->wakers[i];
		}
		s->nwakers = n;
	}
}

struct snap_sys *snapshot_find_sys(const struct snapshot *s, uint32_t slot, int32_t nr)
{
	struct snap_sys key = { .key = { .slot = slot, .nr = nr } };

	if (!s->nsys)
		return NULL;
	return bsearch(&key, s->sys, s->nsys, sizeof(*s->sys), cmp_sys);
}

struct snap_waker *snapshot_find_waker(const struct snapshot *s, uint32_t slot, uint32_t tid)
{
	struct snap_waker key = { .key = { .slot = slot, .waker_tid = tid } };

	if (!s->nwakers)
		return NULL;
	return bsearch(&key, s->wakers, s->nwakers, sizeof(*s->wakers), cmp_waker);
}

const struct snap_name *snapshot_find_name(const struct snapshot *s, uint32_t tid)
{
	for (size_t i = 0; i < s->nnames; i++)
		if (s->names[i].tid == tid)
			return &s->names[i];
	return NULL;
}

const struct snap_proc *snapshot_find_proc(const struct snapshot *s, uint32_t pid)
{
	for (size_t i = 0; i < s->nprocs; i++)
		if (s->procs[i].pid == pid)
			return &s->procs[i];
	return NULL;
}

/* Grow *arr of *n elements of `size` bytes by one zeroed element. */
static void *append(void **arr, size_t *n, size_t size)
{
	void *p;

	/* Capacity doubles at powers of two. */
	if ((*n & (*n - 1)) == 0) {
		size_t cap = *n ? *n * 2 : 1;

		p = realloc(*arr, cap * size);
		if (!p)
			return NULL;
		*arr = p;
	}
	p = (char *)*arr + *n * size;
	memset(p, 0, size);
	(*n)++;
	return p;
}

struct snap_sys *snapshot_add_sys(struct snapshot *s, uint32_t slot, int32_t nr)
{
	struct snap_sys *e = append((void **)&s->sys, &s->nsys, sizeof(*s->sys));

	if (e) {
		e->key.slot = slot;
		e->key.nr = nr;
	}
	return e;
}

struct snap_waker *snapshot_add_waker(struct snapshot *s, uint32_t slot, uint32_t tid)
{
	struct snap_waker *e = append((void **)&s->wakers, &s->nwakers, sizeof(*s->wakers));

	if (e) {
		e->key.slot = slot;
		e->key.waker_tid = tid;
	}
	return e;
}

struct snap_name *snapshot_add_name(struct snapshot *s)
{
	return append((void **)&s->names, &s->nnames, sizeof(*s->names));
}

struct snap_proc *snapshot_add_proc(struct snapshot *s)
{
	return append((void **)&s->procs, &s->nprocs, sizeof(*s->procs));
}
