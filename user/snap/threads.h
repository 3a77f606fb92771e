/* SPDX-License-Identifier: GPL-2.0-only */
/* The traced threads of a snapshot: which count, and finding them. */
#ifndef CONTRACE_SNAP_THREADS_H
#define CONTRACE_SNAP_THREADS_H

#include <stdbool.h>

#include "snap/snapshot.h"

/* Whether a slot holds a thread being accounted: published, and past a launch's execve. */
static inline bool task_accounted(const struct ct_thread *t)
{
	return t->tid && (t->flags & CT_TF_READY) && !(t->flags & CT_TF_GATED);
}

/* The traced thread with this tid (the latest if a tid was reused), or NULL. */
const struct ct_thread *task_by_tid(const struct snapshot *s, uint32_t tid);

/* A thread's name: traced, or a waker outside the trace, or "?". */
const char *task_comm(const struct snapshot *s, uint32_t tid);

/* The traced thread of a slot in a snapshot, or NULL (unused, or not started yet). */
const struct ct_thread *task_slot(const struct snapshot *s, uint32_t slot);

#endif
