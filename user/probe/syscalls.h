/* SPDX-License-Identifier: GPL-2.0-only */
/* Per-thread syscall statistics: the user side of bpf/syscalls.bpf.c. */
#ifndef CONTRACE_SYSCALLS_H
#define CONTRACE_SYSCALLS_H

#include "model/model.h"
#include "snap/snapshot.h"

/* Copy the ct_sysstats map. 0, or -errno. */
int syscalls_read(struct snapshot *s, int sysstats_fd);

/*
 * Count each syscall in progress at s->ts (--syscalls) as open, with its
 * time so far. After sched_close(). 0 or -ENOMEM.
 */
int syscalls_close(struct snapshot *s);

/* Per-thread and per-process syscall tables of r. 0 or -ENOMEM. */
int syscalls_model(struct report *r, const struct snapshot *cur, const struct snapshot *prev);

/* Add b's rows into the table (*v, *n), matching by syscall number. 0 or -ENOMEM. */
int syscalls_merge(struct rpt_syscall **v, size_t *n, const struct rpt_syscall *b, size_t nb);

#endif
