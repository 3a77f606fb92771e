/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Lock contention from the scheduler probes, without syscall hooks: a thread
 * that blocks in a futex wait has the futex address and operation in its
 * saved registers; the thread that wakes it is, in a futex wake, the lock's
 * previous owner. Called from sched.bpf.c (and syscalls.bpf.c with -S).
 * futex.bpf.c defines the maps.
 */
#ifndef CONTRACE_FUTEX_BPF_H
#define CONTRACE_FUTEX_BPF_H

#include "common.bpf.h"

struct ct_locks_map {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1); /* set by user space before load */
	__type(key, struct ct_lock_key);
	__type(value, struct ct_lock_stat);
};

struct ct_edges_map {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);
	__type(key, struct ct_edge_key);
	__type(value, struct ct_edge_val);
};

struct ct_sites_map {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);
	__type(key, struct ct_site_key);
	__type(value, struct ct_site_val);
};

struct ct_text_map {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC); /* memory for the live processes only */
	__uint(max_entries, CT_TEXT_PROCS);
	__type(key, __u32); /* tgid */
	__type(value, struct ct_text);
};

extern struct ct_locks_map ct_locks SEC(".maps");
extern struct ct_edges_map ct_edges SEC(".maps");
extern struct ct_sites_map ct_sites SEC(".maps");
extern struct ct_text_map ct_text SEC(".maps");

static __always_inline void ct_hist_add(__u32 *hist, __u64 v)
{
	__u32 idx = ct_hist_index(v);

	if (idx < CT_HIST_BUCKETS)
		__sync_fetch_and_add(&hist[idx], 1);
}

/*
 * The futex word and command a syscall works on, from its saved arguments.
 * The registers are read once, up front: loads inside the switch would be
 * merged by the compiler with the load from the stack copy below, one
 * instruction through two pointer types, which the verifier refuses.
 */
static __always_inline __u64 ct_futex_args(struct pt_regs *regs, int nr, __u32 *op)
{
	__u64 di = regs->di, si = regs->si, uaddr = 0;

	switch (nr) {
	case CT_NR_FUTEX:
		*op = (__u32)si & CT_FUTEX_CMD_MASK;
		return di;
	case CT_NR_FUTEX_WAIT:
		*op = CT_FUTEX_OP_WAIT2;
		return di;
	case CT_NR_FUTEX_WAKE:
		*op = CT_FUTEX_OP_WAKE2;
		return di;
	case CT_NR_FUTEX_WAITV:
	case CT_NR_FUTEX_REQUEUE:
		/* A user array of struct futex_waitv { val, uaddr, flags, reserved }: the first. */
		*op = nr == CT_NR_FUTEX_WAITV ? CT_FUTEX_OP_WAITV : CT_FUTEX_OP_REQUEUE2;
		if (bpf_probe_read_user(&uaddr, sizeof(uaddr), (void *)(di + 8)))
			return 0;
		return uaddr;
	}
	return 0;
}

/*
 * A requeue returns the threads it woke plus those it moved to the second
 * word: the ones woken are at most its nr_wake argument, kept for the
 * return in the high half of the op (-S, sys_fx_op).
 */
#define CT_FUTEX_OP_MASK 0xffffu
#define CT_FUTEX_NR_WAKE_SHIFT 16

static __always_inline __u64 ct_futex_sys_args(struct pt_regs *regs, int nr, __u32 *op)
{
	__u64 uaddr = ct_futex_args(regs, nr, op);
	__u32 nr_wake = 0;

	/* futex(uaddr, op, nr_wake, ...), futex_requeue(waiters, flags, nr_wake, nr_requeue) */
	if (*op == CT_FUTEX_REQUEUE || *op == CT_FUTEX_CMP_REQUEUE ||
	    *op == CT_FUTEX_CMP_REQUEUE_PI || *op == CT_FUTEX_OP_REQUEUE2)
		nr_wake = (__u32)regs->dx;
	if (nr_wake > CT_FUTEX_OP_MASK)
		nr_wake = CT_FUTEX_OP_MASK;
	*op |= nr_wake << CT_FUTEX_NR_WAKE_SHIFT;
	return uaddr;
}

static __always_inline int ct_futex_op_waits(__u32 op)
{
	return op == CT_FUTEX_WAIT || op == CT_FUTEX_WAIT_BITSET || op == CT_FUTEX_LOCK_PI ||
	       op == CT_FUTEX_LOCK_PI2 || op == CT_FUTEX_WAIT_REQUEUE_PI ||
	       op == CT_FUTEX_OP_WAITV || op == CT_FUTEX_OP_WAIT2;
}

/* The value a futex wait expects the word to hold (0 for other syscalls). */
static __always_inline __u32 ct_futex_val(struct pt_regs *regs, int nr)
{
	if (nr == CT_NR_FUTEX)
		return (__u32)regs->dx; /* futex(uaddr, op, val, ...) */
	if (nr == CT_NR_FUTEX_WAIT)
		return (__u32)regs->si; /* futex_wait(uaddr, val, mask, ...) */
	return 0;
}

/*
 * Waits of a mutex (one owner at a time): PI mutexes, and waits for the
 * value 2, "locked, with waiters", of the classic futex mutex (glibc's
 * lll_lock and pthread_mutex_timedlock, Rust's and Go's runtime locks).
 * A condition variable, a semaphore or a barrier waits for other values
 * (a sequence or round number, 0) and has no holder.
 */
static __always_inline int ct_futex_op_locks(__u32 op, __u32 val)
{
	if (op == CT_FUTEX_LOCK_PI || op == CT_FUTEX_LOCK_PI2)
		return 1;
	return (op == CT_FUTEX_WAIT || op == CT_FUTEX_WAIT_BITSET || op == CT_FUTEX_OP_WAIT2) &&
	       val == 2;
}

static __always_inline int ct_futex_op_wakes(__u32 op)
{
	return op == CT_FUTEX_WAKE || op == CT_FUTEX_WAKE_BITSET || op == CT_FUTEX_WAKE_OP ||
	       op == CT_FUTEX_REQUEUE || op == CT_FUTEX_CMP_REQUEUE || op == CT_FUTEX_UNLOCK_PI ||
	       op == CT_FUTEX_CMP_REQUEUE_PI || op == CT_FUTEX_OP_WAKE2 ||
	       op == CT_FUTEX_OP_REQUEUE2;
}

/*
 * Global BPF functions (futex.bpf.c), each verified once on its own instead
 * of at every call site of the scheduler probes. `th` is the thread's slot.
 */

/* The current thread blocks in syscall nr: if it is a futex wait, a lock wait begins. */
int ct_futex_block(struct ct_thread *th, int nr, __u64 now);

/*
 * Then, after tier C saw the block (ct_gilc_switch_out): unless the wait
 * is on a GIL word, its call site, and for a mutex the hold it begins.
 */
int ct_futex_block_lock(struct ct_thread *th, __u64 now);

/*
 * The current thread, in futex syscall nr, wakes the thread of `th` at `now`;
 * `waker`: the current thread's slot, NULL if it is not traced.
 */
int ct_futex_waking(struct ct_thread *th, struct ct_thread *waker, int nr, __u64 now);

/* The futex wait of `th` ended: it runs again at `now` (before its waker is consumed). */
int ct_futex_wait_end(struct ct_thread *th, __u64 now);

/* --syscalls: a futex call of `th` returned `ret`. */
int ct_futex_return(struct ct_thread *th, long ret);

/*
 * Process tgid starts a new image (exec) whose code is [start, end): user
 * text from now on, before user space reads its maps (threads may take
 * locks within microseconds).
 */
int ct_text_exec(__u32 tgid, __u64 start, __u64 end);

/* A forked process has its parent's text. */
int ct_text_fork(__u32 parent_tgid, __u32 child_tgid);

/* The last thread of process tgid exits: its text ranges go. */
int ct_text_exit(__u32 tgid);

#endif /* CONTRACE_FUTEX_BPF_H */
