/* SPDX-License-Identifier: GPL-2.0-only */
/* Traced threads and processes: the user side of bpf/task.bpf.c (slots, /proc). */
#ifndef CONTRACE_TASK_H
#define CONTRACE_TASK_H

#include <stdbool.h>

#include "snap/snapshot.h"
#include "snap/threads.h"

/* /proc facts about the traced processes, gathered while they live. */
struct proc_cache {
	size_t n, cap;
	struct snap_proc *v; /* sorted by pid */
};

/* Copy the first `n` slots into s->threads. 0 or -ENOMEM. */
int task_read(struct snapshot *s, const struct ct_thread *slots, uint32_t n);

/*
 * Read the cgroup CPU quota and throttling (cpu.max, cpu.stat) of the live
 * processes `pids` again: all of them at each snapshot, the end of its
 * window; between snapshots (`all` false) only those with a quota, so that
 * one that exits has its count up to shortly before (four small files per
 * process: not for every process of a -f trace every 200 ms).
 */
void task_read_quotas(struct proc_cache *c, const int *pids, size_t n, bool all);

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

#endif
