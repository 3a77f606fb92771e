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

#define vec_reserve(arr, cap, need) vec_reserve_((void **)&(arr), &(cap), (need), sizeof(*(arr)))
#define vec_push(arr, n, cap) \
	((__typeof__(arr))vec_push_((void **)&(arr), &(n), &(cap), sizeof(*(arr))))
#define vec_append(arr, n, cap, src, nsrc) \
	vec_append_((void **)&(arr), &(n), &(cap), (src), (nsrc), sizeof(*(arr)))

#endif
