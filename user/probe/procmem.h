/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Reading a traced process's memory (process_vm_readv): CPython's runtime,
 * thread states and threading's objects. Nothing read is trusted: an
 * address outside x86_64 user space is refused before any syscall.
 */
#ifndef CONTRACE_PROCMEM_H
#define CONTRACE_PROCMEM_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Up to len bytes at addr into buf: how many were read (a page may end first), or -errno. */
ssize_t procmem_read_some(int pid, uint64_t addr, void *buf, size_t len);

/* All len bytes, or -errno (-EIO: fewer). */
int procmem_read(int pid, uint64_t addr, void *buf, size_t len);

static inline int procmem_u64(int pid, uint64_t addr, uint64_t *v)
{
	return procmem_read(pid, addr, v, sizeof(*v));
}

#endif
