/* SPDX-License-Identifier: GPL-2.0-only */
/* Scheduler accounting: the user side of bpf/sched.bpf.c. */
#ifndef CONTRACE_SCHED_H
#define CONTRACE_SCHED_H

#include "snap/snapshot.h"

/* Copy the ct_wakers map. 0, or -errno. */
int sched_read_wakers(struct snapshot *s, int wakers_fd);

/* Copy the ct_runners map. 0, or -errno. */
int sched_read_runners(struct snapshot *s, int runners_fd);

/*
 * Close every thread's open intervals (scheduler and GIL) at s->ts with the
 * BPF side's own rules (bpf/acct.h), and move its caches into
 * s->wakers and s->sys. Before syscalls_close(), which uses the closed
 * per-syscall off-CPU times. 0 or -ENOMEM.
 */
int sched_close(struct snapshot *s);

/* Names of wakers outside the trace, kept across snapshots (a process may exit). 0 or -ENOMEM. */
int sched_resolve_names(struct snapshot *names_cache, struct snapshot *s);

#endif
