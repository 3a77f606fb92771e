// SPDX-License-Identifier: GPL-2.0-only
/*
 * Scheduler accounting: where each traced thread's time goes (on a CPU,
 * waiting on a run queue, blocked and in which syscall), its voluntary and
 * involuntary switches, its wakeup latency, and who woke it.
 *
 *   sched_switch   ends the run of prev (the kernel's CPU and run-queue
 *                  counters tell how long it ran and waited) and, for next,
 *                  the block it was in: the kernel still holds the time it
 *                  was enqueued, so blocked time needs no sched_wakeup probe;
 *   sched_waking   runs in the waker's context: who woke the thread, and when.
 *
 * Two probes, both cheap for untraced tasks: this runs on every context
 * switch of the machine (docs/performance.md has the costs).
 */
#include "sched.bpf.h"
#include "gil.bpf.h"
#include "timeline.bpf.h"

struct ct_wakers_map ct_wakers SEC(".maps");

/* Scratch word to turn the probe's context pointer into a number. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} ct_sp_scratch SEC(".maps");

/*
 * Whether the probe runs in task context: the waker is `cur` itself, not an
 * interrupt that happened to arrive while cur ran. Hard and soft interrupts
 * taken in kernel mode run on the CPU's interrupt stack on x86_64, so a
 * tracepoint frame outside cur's kernel stack means interrupt context. The
 * frame is found through ctx, the argument array the kernel's tracepoint
 * glue (bpf_trace_runN) keeps on its own stack; the BPF program's stack is
 * no guide, as kernels since 6.13 may give a program a private per-CPU
 * stack. An interrupt taken in user mode runs on cur's stack, but then cur's
 * entry registers are the interrupt's, not a syscall's (ax holds -ENOSYS
 * while a syscall runs). Kernel threads have no entry registers. The per-CPU
 * preempt count would say all this directly, but it is not a kallsyms
 * symbol on kernels without CONFIG_KALLSYMS_ALL.
 */
static __always_inline int ct_in_task_context(void *ctx, struct task_struct *cur, int *nr)
{
	__u64 frame, base;
	__u32 zero = 0;
	__u64 *scratch;

	*nr = CT_SYS_NONE;
	scratch = bpf_map_lookup_elem(&ct_sp_scratch, &zero);
	if (!scratch)
		return 1;
	*(void *volatile *)scratch = ctx;
	frame = *(volatile __u64 *)scratch;
	base = (__u64)cur->stack;
	if (frame - base >= ct_cfg.thread_size)
		return 0;
	if (cur->flags & PF_KTHREAD)
		return 1;
	*nr = ct_task_syscall(cur);
	return *nr != CT_SYS_NONE;
}

/*
 * prev leaves its CPU: what the kernel says of it, then the rules (acct.h).
 * Its syscall is read (a helper call) only when it goes to sleep. tl: with
 * --timeline, a constant: the caller makes a copy for each, and the
 * verifier removes the one ct_cfg rules out.
 */
static __always_inline void ct_switch_out(struct ct_thread *th, struct task_struct *prev,
					  struct rq *rq, __u64 now, bool preempt, const bool tl)
{
	unsigned int state = ct_task_state(prev);
	struct ct_kread k = {
		.exec = ct_task_exec(prev),
		.nvcsw = prev->nvcsw,
		.charged_until = ct_charged_until(prev, rq),
		.steal = ct_rq_steal(rq),
	};
	__u32 gil_was = 0;
	__u64 gil_ts = 0, ran_since;

	if (tl) {
		gil_was = th->gil_state;
		gil_ts = th->gil_ts;
	}
	ct_kread_clocks(&k, prev);
	if (state & TASK_DEAD) {
		k.how = CT_OUT_DEAD;
	} else if (preempt || state == TASK_RUNNING) {
		/* Preempted (even after setting a sleep state, before schedule()), yielded,
		 * or a sleep cut short by a signal: still queued. */
		k.how = CT_OUT_QUEUED;
	} else {
		/* Asleep: in which syscall, its registers tell (prev is current here). */
		k.how = CT_OUT_BLOCK;
		k.blk_nr = ct_task_syscall(prev);
	}
	/* The growth of the kernel counters of figures.def's CT_KFIG rows. */
#define CT_FIG(...)
#define CT_KFIG(name, kfield, ...)            \
	{                                     \
		__u64 v = prev->kfield;       \
		th->name += v - th->k_##name; \
		th->k_##name = v;             \
	}
#include "figures.def"
#undef CT_FIG
#undef CT_KFIG
	ran_since = ct_acct_switch_out(th, &k, now, prev);
	if (k.how == CT_OUT_DEAD) {
		if (tl)
			ct_tl_switched_out(th, k.how, now, gil_was, gil_ts);
		/* The process's last thread: its GIL tables' and text ranges' entries go. */
		if (!prev->signal->live.counter) {
			ct_gil_proc_exit(prev->tgid);
			ct_text_exit(prev->tgid);
		}
		return;
	}
	if (ct_gilc_on)
		ct_gilc_switch_out(th, ran_since, k.how == CT_OUT_BLOCK, now);
	if (tl)
		ct_tl_switched_out(th, k.how, now, gil_was, gil_ts);
}

static __always_inline void ct_switch_in(struct ct_thread *th, struct rq *rq, __u64 now)
{
	struct ct_kread k = { .steal = ct_rq_steal(rq), .have_delay = ct_have_run_delay() };

	ct_acct_switch_in(th, &k, now, NULL);
	if (ct_gilc_on)
		ct_gilc_switch_in(th, now);
	ct_acct_running(th, now);
}

/* A switch on this CPU; tl: --timeline (each variant is a program of its own). */
static __always_inline int ct_on_switch(bool preempt, struct task_struct *prev,
					struct task_struct *next, const bool tl)
{
	struct ct_thread *out = ct_active_thread(prev), *in = ct_active_thread(next);
	struct rq *rq;
	__u64 now;

	if (!out && !in)
		return 0;
	/* prev and next share this CPU's run queue. */
	rq = ct_task_rq(prev);
	now = bpf_ktime_get_ns();
	if (out)
		ct_switch_out(out, prev, rq, now, preempt, tl);
	if (in)
		ct_switch_in(in, rq, now);
	return 0;
}

/*
 * Without --timeline user space loads ct_sched_switch, with it ct_switch_tl
 * (and the same for sched_waking): a trace without the timeline runs the
 * very code it ran before the timeline existed, not even a test of a flag.
 */
SEC("tp_btf/sched_switch")
int BPF_PROG(ct_sched_switch, bool preempt, struct task_struct *prev, struct task_struct *next,
	     unsigned int prev_state)
{
	return ct_on_switch(preempt, prev, next, false);
}

SEC("tp_btf/sched_switch")
int BPF_PROG(ct_switch_tl, bool preempt, struct task_struct *prev, struct task_struct *next,
	     unsigned int prev_state)
{
	return ct_on_switch(preempt, prev, next, true);
}

/* Tier C's look at a wakeup, and the waker's GIL record if it changed (--timeline). */
static __always_inline void ct_gilc_waking_tl(struct ct_thread *th, struct ct_thread *waker,
					      __u64 now)
{
	__u32 gil_was = waker ? waker->gil_state : 0;
	__u64 gil_ts = waker ? waker->gil_ts : 0;

	ct_gilc_waking(th, waker, now);
	if (waker)
		ct_tl_gil(waker, gil_was, gil_ts);
}

/* A wakeup of p, in the waker's context; tl: --timeline, as for the switch. */
static __always_inline int ct_on_waking(void *ctx, struct task_struct *p, const bool tl)
{
	struct ct_thread *th = ct_active_thread(p);
	struct task_struct *cur;
	__u64 now;
	int nr;

	if (!th)
		return 0;
	/*
	 * Recorded whatever our state says: the thread may still be on its way
	 * to sleep in __schedule() on another CPU. A waking that ends no sleep
	 * is dropped at the thread's next switch that is not a block.
	 */
	if (th->state == CT_ST_DEAD)
		return 0;
	cur = bpf_get_current_task_btf();
	/* Before wake_pending: whoever reads the pending waker reads these too. */
	now = bpf_ktime_get_ns();
	th->pend_fx_uaddr = 0;
	th->pend_waker_site = 0;
	th->pend_hold_since = 0;
	th->pend_exit = 0;
	if (cur->pid && ct_in_task_context(ctx, cur, &nr)) {
		th->pend_waker_tid = cur->pid;
		th->pend_waker_tgid = cur->tgid;
		th->pend_exit = nr == CT_NR_EXIT || nr == CT_NR_EXIT_GROUP;
		if (nr == CT_NR_FUTEX || nr == CT_NR_FUTEX_WAKE || nr == CT_NR_FUTEX_REQUEUE) {
			ct_futex_waking(th, nr, now);
			if (ct_gilc_on && tl)
				ct_gilc_waking_tl(th, ct_active_thread(cur), now);
			else if (ct_gilc_on)
				ct_gilc_waking(th, ct_active_thread(cur), now);
		}
	} else {
		th->pend_waker_tid = CT_WAKER_IRQ;
		th->pend_waker_tgid = 0;
	}
	th->wake_ts = now;
	th->wake_pending = 1;
	if (tl)
		ct_tl_waking(th, th->pend_waker_tid, now);
	return 0;
}

SEC("tp_btf/sched_waking")
int BPF_PROG(ct_sched_waking, struct task_struct *p)
{
	return ct_on_waking(ctx, p, false);
}

SEC("tp_btf/sched_waking")
int BPF_PROG(ct_waking_tl, struct task_struct *p)
{
	return ct_on_waking(ctx, p, true);
}

char LICENSE[] SEC("license") = "GPL";
