// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/vec.h"

int vec_reserve_(void **v, size_t *cap, size_t need, size_t size)
{
	size_t ncap = *cap ? *cap : 8;
	void *nv;

	if (need <= *cap)
		return 0;
	while (ncap < need) {
		if (ncap > SIZE_MAX / 2)
			return -ENOMEM;
		ncap *= 2;
	}
	if (size && ncap > SIZE_MAX / size)
		return -ENOMEM;
	nv = realloc(*v, ncap * size);
	if (!nv)
		return -ENOMEM;
	*v = nv;
	*cap = ncap;
	return 0;
}

void *vec_push_(void **v, size_t *n, size_t *cap, size_t size)
{
	char *e;

	if (vec_reserve_(v, cap, *n + 1, size))
		return NULL;
	e = (char *)*v + *n * size;
	memset(e, 0, size);
	(*n)++;
	return e;
}

int vec_append_(void **v, size_t *n, size_t *cap, const void *src, size_t nsrc, size_t size)
{
	if (!nsrc)
		return 0;
	if (*n > SIZE_MAX - nsrc || vec_reserve_(v, cap, *n + nsrc, size))
		return -ENOMEM;
	memcpy((char *)*v + *n * size, src, nsrc * size);
	*n += nsrc;
	return 0;
}

size_t vec_uniq_(void *v, size_t n, size_t size, int (*cmp)(const void *, const void *),
		 void (*merge)(void *kept, const void *other))
{
	char *a = v, *kept;
	size_t k = 0;

	if (n < 2)
		return n;
	qsort(a, n, size, cmp);
	for (size_t i = 1; i < n; i++) {
		kept = a + k * size;
		if (!cmp(kept, a + i * size)) {
			if (merge)
				merge(kept, a + i * size);
			continue;
		}
		if (++k != i)
			memcpy(a + k * size, a + i * size, size);
	}
	return k + 1;
}

size_t vec_lower_bound_(const void *v, size_t n, size_t size, const void *key,
			int (*cmp)(const void *elem, const void *key))
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (cmp((const char *)v + mid * size, key) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}
