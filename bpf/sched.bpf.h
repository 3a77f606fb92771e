/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The accounting rules (acct.h) as the BPF side runs them: the hooks do
 * what needs a map, and ct_kread_task() reads what the kernel says of a
 * task. Shared by sched.bpf.c and syscalls.bpf.c.
 */
#ifndef CONTRACE_SCHED_BPF_H
#define CONTRACE_SCHED_BPF_H

#include "common.bpf.h"
#include "syscalls.bpf.h"
#include "futex.bpf.h"
#include "gil.bpf.h"
#include "stacks.bpf.h"

#define CT_ACCT_HOOKS
#include "acct.h"

struct ct_wakers_map {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1); /* set by user space before load */
	__type(key, struct ct_waker_key);
	__type(value, struct ct_waker_val);
};

extern struct ct_wakers_map ct_wakers SEC(".maps");

struct ct_runners_map {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1); /* set by user space before load */
	__type(key, struct ct_runner_key);
	__type(value, struct ct_runner_val);
};

extern struct ct_runners_map ct_runners SEC(".maps");

/* Move a waker cache entry's count into ct_wakers. */
static __always_inline void ct_hook_waker_flush(struct ct_thread *th, struct ct_rl_waker *e,
						void *hc)
{
	struct ct_waker_key key = { .slot = th->slot, .waker_tid = e->tid };
	struct ct_waker_val init = { .count = e->count, .waker_tgid = e->tgid };
	struct ct_waker_val *v;

	v = bpf_map_lookup_elem(&ct_wakers, &key);
	if (v)
		v->count += e->count; /* one wakeup of a task at a time */
	else if (bpf_map_update_elem(&ct_wakers, &key, &init, BPF_NOEXIST))
		__sync_fetch_and_add(&ct_counters.wakers_dropped, e->count);
	e->count = 0;
}

/* Move a runner cache entry's figures into ct_runners. */
static __always_inline void ct_hook_runner_flush(struct ct_thread *th, struct ct_rl_runner *e,
						 void *hc)
{
	struct ct_runner_key key = { .slot = th->slot, .tid = e->tid };
	struct ct_runner_val *v, init = {
		.ns = e->ns,
		.waits = e->waits,
		.tgid = e->tgid,
		.kthread = e->kthread,
	};

	v = bpf_map_lookup_elem(&ct_runners, &key);
	if (v) {
		v->ns += e->ns; /* one switch-in of a task at a time */
		v->waits += e->waits;
	} else if (bpf_map_update_elem(&ct_runners, &key, &init, BPF_NOEXIST)) {
		__sync_fetch_and_add(&ct_counters.runners_dropped, e->waits);
	}
	e->waits = 0;
	e->ns = 0;
}

static __always_inline void ct_hook_blocked_flush(struct ct_thread *th, struct ct_rl_sys *e,
						  void *hc)
{
	ct_blocked_flush(th, e);
}

static __always_inline void ct_hook_futex_wait_end(struct ct_thread *th, __u64 now, void *hc)
{
	ct_futex_wait_end(th, now);
}

static __always_inline void ct_hook_futex_block(struct ct_thread *th, int nr, __u64 now, void *hc)
{
	ct_futex_block(th, nr, now);
	/* --stacks: a block in another syscall has its stack too, weighed at its end. */
	if (ct_cfg.stacks && !th->fx_uaddr && nr >= 0 && nr != CT_NR_FUTEX)
		ct_stack_begin(th, CT_STK_SYSCALL | (__u64)nr);
}

static __always_inline void ct_hook_block_end(struct ct_thread *th, __u64 d, void *hc)
{
	if (th->stk_seq && !th->fx_uaddr)
		ct_stack_end(th, d);
}

/* hc: the exiting task. */
static __always_inline void ct_hook_exit(struct ct_thread *th, __u64 now, void *hc)
{
	struct task_struct *t = hc;

	if (th->sys_nr != CT_SYS_NONE)
		ct_sys_flush(th, now, 0, 0); /* exit, exit_group */
	ct_gil_wanted(th); /* its hold, if any, ends here */
	bpf_probe_read_kernel_str(th->comm, sizeof(th->comm), t->comm);
}

static __always_inline void ct_hook_missed(enum ct_missed what, void *hc)
{
	if (what == CT_MISSED_WAKEUP)
		ct_count(missed_wakeups);
	else
		ct_count(missed_switch_ins);
}

/*
 * The kernel's clocks of t for ct_acct_block_settle(): enough when t runs
 * (a syscall's entry or exit).
 */
static __always_inline void ct_kread_clocks(struct ct_kread *k, struct task_struct *t)
{
	k->have_delay = ct_have_run_delay();
	k->delay = ct_task_delay(t);
	k->arrival = ct_task_last_arrival(t);
}

/* Settle a block that ended before the current run of t, at a syscall's entry or exit. */
static __always_inline void ct_settle_in_syscall(struct ct_thread *th, struct task_struct *t,
						 __u64 now)
{
	struct ct_kread k = {};

	ct_kread_clocks(&k, t);
	ct_acct_block_settle(th, &k, th->wait_ts ? th->wait_ts : now, t);
}

#endif /* CONTRACE_SCHED_BPF_H */
