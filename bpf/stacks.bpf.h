/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * --stacks: the user stack of a thread at a blocking futex wait, copied for
 * user space to unwind (probe/stacks.c), and the wait's length at its end.
 * Called from futex.bpf.c; stacks.bpf.c defines the ring buffer.
 */
#ifndef CONTRACE_STACKS_BPF_H
#define CONTRACE_STACKS_BPF_H

#include "common.bpf.h"

/* The current thread of `th` blocks on futex word uaddr: copy its stack (sets th->stk_seq). */
int ct_stack_begin(struct ct_thread *th, __u64 uaddr);

/*
 * --stacks: a CPU-clock sample of th, the current thread, doing cls (enum
 * ct_smp_class): a Python thread's Python frames, another's native stack.
 */
int ct_stack_sample(struct ct_thread *th, __u32 cls);

/* The wait that th->stk_seq's record began lasted wait_ns and was counted on its lock. */
int ct_stack_end(struct ct_thread *th, __u64 wait_ns);

#endif /* CONTRACE_STACKS_BPF_H */
