/* SPDX-License-Identifier: GPL-2.0-only */
/* Syscall tables of a report: blocked in (always), calls and times (--syscalls). */
#ifndef CONTRACE_MODEL_SYSCALLS_H
#define CONTRACE_MODEL_SYSCALLS_H

#include "model/model.h"
#include "snap/snapshot.h"

/* Per-thread and per-process syscall tables of r. 0 or -ENOMEM. */
int syscalls_model(struct report *r, const struct snapshot *cur, const struct snapshot *prev);

/* Add b's rows into the table (*v, *n), matching by syscall number. 0 or -ENOMEM. */
int syscalls_merge(struct rpt_syscall **v, size_t *n, const struct rpt_syscall *b, size_t nb);

#endif
