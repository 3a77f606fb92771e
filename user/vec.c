// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vec.h"

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
