/* SPDX-License-Identifier: GPL-2.0-only */
/* Scheduler accounting shared with syscalls.bpf.c: settling a finished block. */
#ifndef CONTRACE_SCHED_BPF_H
#define CONTRACE_SCHED_BPF_H

#include "common.bpf.h"
#include "syscalls.bpf.h"

/*
 * Account the block that ended before the current run (CT_TF_WOKEN): from
 * the switch-out that began it to the enqueue that ended it, in the kernel's
 * run-queue clock. The enqueue was run_delay before this run's arrival
 * (across any migration while queued), so this adds up exactly with the
 * kernel's CPU and run-queue counters. Without those clocks, our own. `t`
 * is the running thread: at its switch-out, or in one of its syscalls.
 */
static __always_inline void ct_block_time(struct ct_thread *th, struct task_struct *t, __u64 kdelay,
					  __u64 fallback_end)
{
	__u64 arrival = ct_task_last_arrival(t), queued, d;

	queued = kdelay > th->k_delay ? arrival - (kdelay - th->k_delay) : arrival;
	if (th->k_clock_out && arrival && queued > th->k_clock_out)
		d = queued - th->k_clock_out;
	else
		d = ct_delta(fallback_end, th->blk_ts);
	th->k_clock_out = 0;
	th->blocked_ns += d;
	/* A Python thread's blocks are kept apart by whether it held the GIL. */
	if (th->gil_blk == CT_GIL_RELEASED)
		th->gil_rel_blocked_ns += d;
	ct_blocked_note(th, ct_gil_sys_key(th->blk_nr, th->gil_blk), d);
	th->blk_nr = CT_SYS_NONE;
	if (th->sys_nr != CT_SYS_NONE)
		th->sys_offcpu_ns += d;
	th->flags &= ~CT_TF_WOKEN;
}

#endif /* CONTRACE_SCHED_BPF_H */
