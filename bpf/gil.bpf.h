/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Tier C of the GIL (--gil=futex): no uprobes; the scheduler probes tell
 * gil.bpf.c where a thread of a Python process blocks, who wakes it, and
 * let it read the GIL's fields from the process's memory.
 */
#ifndef CONTRACE_GIL_BPF_H
#define CONTRACE_GIL_BPF_H

#include "common.bpf.h"

/*
 * A thread in take_gil runs for microseconds between its futex waits (a
 * timed wait ran out: the GIL is checked, the drop request set, the wait
 * begun again: 4 to 50 us in the traces of two CPU-bound threads of 3.12).
 * A waiter that ran 1 ms or more without sleeping left take_gil: it took
 * the GIL during that run.
 */
#define CT_GILC_TOOK_RUN_NS 1000000ULL

/* Set by user space once a process is followed by tier C: until then nothing is called. */
extern __u32 ct_gilc_on;

/*
 * Global BPF functions (gil.bpf.c). The current thread, whose slot is `th`,
 * leaves its CPU at `now` after running since `ran_since`; `blocked`: to
 * sleep (its futex wait, if any, is in th->fx_uaddr), else preempted.
 */
int ct_gilc_switch_out(struct ct_thread *th, __u64 ran_since, int blocked, __u64 now);

/* The current thread (`waker`, may be NULL) wakes `th` from a futex wait at `now`. */
int ct_gilc_waking(struct ct_thread *th, struct ct_thread *waker, __u64 now);

/* `th` runs again at `now`. */
int ct_gilc_switch_in(struct ct_thread *th, __u64 now);

/*
 * A wait of `th` on futex word uaddr ended by a timer at `now`: on the
 * GIL's condition variable, a forced switch request, noted for its process
 * (the hold open then counts as wanted: ct_gil_wanted).
 */
int ct_gil_timed_out(struct ct_thread *th, __u64 uaddr, __u64 now);

/*
 * Before a hold of `th` ends (acct.h's ct_gil_released, ct_gil_close): was
 * it wanted (another thread's wait timed out since it began)? Sets CT_TF_GIL_WANTED.
 */
int ct_gil_wanted(struct ct_thread *th);

/*
 * A sample of the current thread `th`, in a futex call on word `futex` (0:
 * none): 1 if the GIL of its process is its own, 0 if not, -1 if the
 * process is not followed by tier C.
 */
int ct_gilc_sample_mine(struct ct_thread *th, __u64 futex);

/* The last thread of process tgid exits: its GIL tables' entries go (any tier). */
int ct_gil_proc_exit(__u32 tgid);

#endif /* CONTRACE_GIL_BPF_H */
