// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>

#include "probe/bpfmap.h"
#include "util/vec.h"

#define CHUNK 4096

int bpfmap_dump(int fd, size_t ksz, size_t vsz, void **keys, void **vals, size_t *n)
{
	/* Batch position tokens: a key, and at least 4 bytes for hash maps. */
	uint64_t in[4], out[4];
	size_t kcap = 0, vcap = 0, got = 0;
	char *k = NULL, *v = NULL;
	__u32 count;
	int ret;
	bool first = true;

	if (ksz > sizeof(in))
		return -EINVAL;
	for (;;) {
		/* Room for a chunk more; the capacities double (a map of 64k entries: 5 copies). */
		if (vec_reserve_((void **)&k, &kcap, got + CHUNK, ksz) ||
		    vec_reserve_((void **)&v, &vcap, got + CHUNK, vsz))
			goto nomem;
		count = (__u32)((kcap < vcap ? kcap : vcap) - got);
		ret = bpf_map_lookup_batch(fd, first ? NULL : in, out, k + got * ksz, v + got * vsz,
					   &count, NULL);
		if (ret && errno != ENOENT) {
			ret = -errno;
			free(k);
			free(v);
			return ret;
		}
		got += count;
		if (ret)
			break; /* ENOENT: that was the last batch */
		memcpy(in, out, sizeof(in));
		first = false;
	}
	*keys = k;
	*vals = v;
	*n = got;
	return 0;
nomem:
	free(k);
	free(v);
	return -ENOMEM;
}
