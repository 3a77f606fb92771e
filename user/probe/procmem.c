// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <sys/uio.h>

#include "probe/procmem.h"

/* Above this, x86_64 user space ends: a pointer there is no pointer of the target's. */
#define USER_TOP 0x800000000000ULL

ssize_t procmem_read_some(int pid, uint64_t addr, void *buf, size_t len)
{
	struct iovec l = { buf, len }, r = { (void *)addr, len };
	ssize_t n;

	if (!addr || addr >= USER_TOP || len > USER_TOP - addr)
		return -EFAULT;
	n = process_vm_readv(pid, &l, 1, &r, 1, 0);
	return n < 0 ? -errno : n;
}

int procmem_read(int pid, uint64_t addr, void *buf, size_t len)
{
	ssize_t n = procmem_read_some(pid, addr, buf, len);

	return n < 0 ? (int)n : (size_t)n == len ? 0 : -EIO;
}
