/* SPDX-License-Identifier: GPL-2.0-only */
/* Reading a whole BPF hash map from user space. */
#ifndef CONTRACE_BPFMAP_H
#define CONTRACE_BPFMAP_H

#include <stddef.h>

/*
 * Copy every entry of the hash map `fd` (keys of ksz bytes, values of vsz)
 * into two new arrays, with batched lookups (one syscall per chunk). The
 * caller frees *keys and *vals. 0, or -errno.
 */
int bpfmap_dump(int fd, size_t ksz, size_t vsz, void **keys, void **vals, size_t *n);

#endif
