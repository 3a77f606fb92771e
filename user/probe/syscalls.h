/* SPDX-License-Identifier: GPL-2.0-only */
/* Per-thread syscall statistics: the user side of bpf/syscalls.bpf.c. */
#ifndef CONTRACE_SYSCALLS_H
#define CONTRACE_SYSCALLS_H

#include "snap/snapshot.h"

/* Copy the ct_sysstats map. 0, or -errno. */
int syscalls_read(struct snapshot *s, int sysstats_fd);

/*
 * Count each syscall in progress at s->ts (--syscalls) as open, with its
 * time so far. After sched_close(). 0 or -ENOMEM.
 */
int syscalls_close(struct snapshot *s);

#endif
