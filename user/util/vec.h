/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Growable arrays: a pointer, a count and a capacity that doubles, so that
 * n appends copy O(n) elements in all. An array grown by one element per
 * realloc copies O(n^2): 4,300 locks took minutes under ASan, whose realloc
 * always copies. Every array that grows element by element uses these.
 */
#ifndef CONTRACE_VEC_H
#define CONTRACE_VEC_H

#include <stddef.h>

/* Make room for `need` elements of `size` bytes in *v of capacity *cap. 0, or -ENOMEM. */
int vec_reserve_(void **v, size_t *cap, size_t need, size_t size);

/* Append one zeroed element to *v (*n elements, capacity *cap): it, or NULL (no memory). */
void *vec_push_(void **v, size_t *n, size_t *cap, size_t size);

/* Append nsrc elements copied from src. 0, or -ENOMEM. */
int vec_append_(void **v, size_t *n, size_t *cap, const void *src, size_t nsrc, size_t size);

/*
 * Sort the n elements of v by cmp and fold each run of equal ones into one:
 * merge(kept, other) adds the other's figures into the kept one (NULL: the
 * others are dropped). Lookups that would scan a list per element (a
 * waiter already listed, a name already known) become one sort. The new
 * count.
 */
size_t vec_uniq_(void *v, size_t n, size_t size, int (*cmp)(const void *, const void *),
		 void (*merge)(void *kept, const void *other));

/*
 * The first of the n elements of v, sorted by cmp, that is not below key:
 * cmp(element, key) < 0 for the elements before it (n if none).
 */
size_t vec_lower_bound_(const void *v, size_t n, size_t size, const void *key,
			int (*cmp)(const void *elem, const void *key));

#define vec_reserve(arr, cap, need) vec_reserve_((void **)&(arr), &(cap), (need), sizeof(*(arr)))
#define vec_push(arr, n, cap) \
	((__typeof__(arr))vec_push_((void **)&(arr), &(n), &(cap), sizeof(*(arr))))
#define vec_append(arr, n, cap, src, nsrc) \
	vec_append_((void **)&(arr), &(n), &(cap), (src), (nsrc), sizeof(*(arr)))
#define vec_uniq(arr, n, cmp, merge) vec_uniq_((arr), (n), sizeof(*(arr)), (cmp), (merge))
#define vec_lower_bound(arr, n, key, cmp) vec_lower_bound_((arr), (n), sizeof(*(arr)), (key), (cmp))

#endif
