/* SPDX-License-Identifier: GPL-2.0-only */
/* Traced threads and processes: the user side of bpf/task.bpf.c. */
#ifndef CONTRACE_TASK_H
#define CONTRACE_TASK_H

#include <stdbool.h>

#include "model/model.h"
#include "snap/snapshot.h"

/* /proc facts about the traced processes, gathered while they live. */
struct proc_cache {
	size_t n, cap;
	struct snap_proc *v; /* sorted by pid */
};

/* Whether a slot holds a thread being accounted: published, and past a launch's execve. */
static inline bool task_accounted(const struct ct_thread *t)
{
	return t->tid && (t->flags & CT_TF_READY) && !(t->flags & CT_TF_GATED);
}

/* Copy the first `n` slots into s->threads. 0 or -ENOMEM. */
int task_read(struct snapshot *s, const struct ct_thread *slots, uint32_t n);

/* Read /proc for processes among `slots` not in the cache yet. */
void task_refresh_procs(struct proc_cache *c, const struct ct_thread *slots, uint32_t n);

/*
 * Process pid execve'd: read its command line again (its comm may not
 * change: python execing python).
 */
void task_proc_exec(struct proc_cache *c, uint32_t pid);
/* Copy the cache into the snapshot. 0 or -ENOMEM. */
int task_copy_procs(const struct proc_cache *c, struct snapshot *s);
void task_free_procs(struct proc_cache *c);

/* The traced thread with this tid (the latest if a tid was reused), or NULL. */
const struct ct_thread *task_by_tid(const struct snapshot *s, uint32_t tid);

/* A thread's name: traced, or a waker outside the trace, or "?". */
const char *task_comm(const struct snapshot *s, uint32_t tid);

/* The traced thread of a slot in a snapshot, or NULL (unused, or not started yet). */
const struct ct_thread *task_slot(const struct snapshot *s, uint32_t slot);

/*
 * Create r->procs and their threads for the window [w0, w1]: identity,
 * lifetime, started and exited. 0 or -ENOMEM.
 */
int task_model(struct report *r, const struct snapshot *cur, const struct snapshot *prev,
	       uint64_t w0, uint64_t w1);

#endif
