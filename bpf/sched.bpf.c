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
#include "futex.bpf.h"
#include "gil.bpf.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1); /* set by user space before load */
	__type(key, struct ct_waker_key);
	__type(value, struct ct_waker_val);
} ct_wakers SEC(".maps");

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

/* Move the run-length waker count into ct_wakers. */
static __always_inline void ct_waker_flush(struct ct_thread *th)
{
	struct ct_waker_key key = { .slot = th->slot, .waker_tid = th->rl_waker_tid };
	struct ct_waker_val init = { .count = th->rl_waker_count, .waker_tgid = th->rl_waker_tgid };
	struct ct_waker_val *v;

	if (!th->rl_waker_count)
		return;
	v = bpf_map_lookup_elem(&ct_wakers, &key);
	if (v)
		v->count += th->rl_waker_count; /* one wakeup of a task at a time */
	else if (bpf_map_update_elem(&ct_wakers, &key, &init, BPF_NOEXIST))
		__sync_fetch_and_add(&ct_counters.wakers_dropped, th->rl_waker_count);
	th->rl_waker_count = 0;
}

/* Count a wakeup by the pending waker: consecutive wakeups by one waker stay in the slot. */
static __always_inline void ct_waker_note(struct ct_thread *th)
{
	__u32 tid = th->pend_waker_tid;

	if (th->rl_waker_count && th->rl_waker_tid == tid) {
		th->rl_waker_count++;
		return;
	}
	ct_waker_flush(th);
	th->rl_waker_tid = tid;
	th->rl_waker_tgid = th->pend_waker_tgid;
	th->rl_waker_count = 1;
}

/* The thread blocked since its last switch-out was woken: who did it, and how fast it ran. */
static __always_inline void ct_woken(struct ct_thread *th, __u64 now)
{
	__u64 lat;
	__u32 idx;

	th->wakeups++;
	if (!th->wake_pending) {
		/* Its sched_waking was not seen (tracing began, or the kernel hid it). */
		if (th->flags & CT_TF_SEEN)
			ct_count(missed_wakeups);
		th->pend_waker_tid = CT_WAKER_UNKNOWN;
		th->pend_waker_tgid = 0;
		th->wake_ts = 0;
	}
	ct_waker_note(th);
	th->wake_pending = 0;
	if (th->wake_ts) {
		lat = ct_delta(now, th->wake_ts);
		th->wakelat_sum += lat;
		if (lat > th->wakelat_max)
			th->wakelat_max = lat;
		idx = ct_hist_index(lat);
		if (idx < CT_HIST_BUCKETS)
			th->wakelat_hist[idx]++;
	}
	th->wait_ts = th->wake_ts ? th->wake_ts : now;
	th->wake_ts = 0;
}

static __always_inline void ct_switch_out(struct ct_thread *th, struct task_struct *prev,
					  struct rq *rq, __u64 now, bool preempt)
{
	unsigned long nv = prev->nvcsw;
	unsigned int state = ct_task_state(prev);
	__u64 kexec = ct_task_exec(prev), kdelay = ct_task_delay(prev);
	__u64 ran_since = th->state == CT_ST_RUNNING ? th->state_ts : 0;
	int blocked = 0;

	if (th->state != CT_ST_RUNNING) {
		/*
		 * It ran, but its switch-in was not seen (the kernel may suppress
		 * events while some tasks are current). Its times stay exact from
		 * the kernel's counters; its wakeup latency is lost.
		 */
		if (th->flags & CT_TF_SEEN)
			ct_count(missed_switch_ins);
		if (th->state == CT_ST_BLOCKED) {
			if (th->fx_uaddr)
				ct_futex_wait_end(th, now);
			ct_woken(th, now);
			th->flags |= CT_TF_WOKEN;
		}
		th->wait_ts = 0;
	}
	if (th->flags & CT_TF_WOKEN)
		ct_block_time(th, prev, kdelay, th->wait_ts ? th->wait_ts : now);
	/* The run that ends here, and (from run_delay) the wait that preceded it. */
	th->oncpu_ns += ct_delta(kexec, th->k_exec);
	th->k_exec = kexec;
	if (th->k_steal_in)
		th->stolen_ns += ct_delta(ct_rq_steal(rq), th->k_steal_in);
	th->k_steal_in = 0;
	if (ct_have_run_delay()) {
		__u64 q = ct_delta(kdelay, th->k_delay);

		th->runq_ns += q;
		/* The wait for a CPU before this run: the thread was queued in gil_in. */
		if (th->gil_in == CT_GIL_RELEASED)
			th->gil_rel_runq_ns += q;
		th->k_delay = kdelay;
	}
	th->wait_ts = 0;
	th->k_clock_out = ct_charged_until(prev, rq);
	/* The kernel bumps nvcsw before the tracepoint iff it counts this switch voluntary. */
	if (nv != th->kern_nvcsw) {
		th->nvcsw++;
		th->kern_nvcsw = nv;
	} else {
		th->nivcsw++;
	}
	th->flags |= CT_TF_SEEN;
	th->state_ts = now;
	if (state & TASK_DEAD) {
		if (th->sys_nr != CT_SYS_NONE)
			ct_sys_flush(th, now, 0, 0); /* exit, exit_group */
		bpf_probe_read_kernel_str(th->comm, sizeof(th->comm), prev->comm);
		ct_waker_flush(th);
		ct_blocked_flush(th);
		if (th->gil_state != CT_GIL_UNKNOWN)
			ct_gil_close(th, now);
		/* The process's last thread: its GIL tables' entries go. */
		if (!prev->signal->live.counter)
			ct_gil_proc_exit(prev->tgid);
		th->end_ts = now;
		th->state = CT_ST_DEAD;
	} else if (preempt || state == TASK_RUNNING) {
		/*
		 * Preempted (even after setting a sleep state, before schedule()),
		 * yielded, or a sleep cut short by a signal: still queued. A waking
		 * seen during the run did not end a sleep.
		 */
		th->state = CT_ST_RUNNABLE;
		th->wait_ts = now;
		th->wake_pending = 0;
	} else {
		/* Asleep: in which syscall, its registers tell (prev is current here). */
		th->state = CT_ST_BLOCKED;
		th->blk_ts = now;
		th->blk_nr = ct_task_syscall(prev);
		th->gil_blk = th->gil_state;
		if (th->gil_state == CT_GIL_WAITING)
			th->flags |= CT_TF_GIL_BLOCKED;
		ct_futex_block(th, th->blk_nr, now);
		blocked = 1;
	}
	if (ct_gilc_on && !(state & TASK_DEAD))
		ct_gilc_switch_out(th, ran_since, blocked, now);
}

static __always_inline void ct_switch_in(struct ct_thread *th, struct rq *rq, __u64 now)
{
	if (th->state != CT_ST_BLOCKED)
		th->wake_pending = 0; /* a waking while it was queued woke nothing */
	if (th->state == CT_ST_BLOCKED) {
		/* Woken; how long it slept is settled when this run ends. */
		if (th->fx_uaddr)
			ct_futex_wait_end(th, now);
		ct_woken(th, now);
		th->flags |= CT_TF_WOKEN;
		if (!ct_have_run_delay())
			th->runq_ns += ct_delta(now, th->wait_ts);
	} else if (!ct_have_run_delay()) {
		/* Without the kernel's run_delay, measure the run-queue wait ourselves. */
		th->runq_ns += ct_delta(now, th->state_ts);
	}
	if (th->sys_nr != CT_SYS_NONE && th->wait_ts)
		th->sys_offcpu_ns += ct_delta(now, th->wait_ts);
	th->k_steal_in = ct_rq_steal(rq);
	th->gil_in = th->gil_state;
	if (ct_gilc_on)
		ct_gilc_switch_in(th, now);
	th->state = CT_ST_RUNNING;
	th->state_ts = now;
	th->flags |= CT_TF_SEEN;
}

SEC("tp_btf/sched_switch")
int BPF_PROG(ct_sched_switch, bool preempt, struct task_struct *prev, struct task_struct *next,
	     unsigned int prev_state)
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
		ct_switch_out(out, prev, rq, now, preempt);
	if (in)
		ct_switch_in(in, rq, now);
	return 0;
}

SEC("tp_btf/sched_waking")
int BPF_PROG(ct_sched_waking, struct task_struct *p)
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
		if (ct_cfg.locks &&
		    (nr == CT_NR_FUTEX || nr == CT_NR_FUTEX_WAKE || nr == CT_NR_FUTEX_REQUEUE)) {
			ct_futex_waking(th, nr, now);
			if (ct_gilc_on)
				ct_gilc_waking(th, ct_active_thread(cur), now);
		}
	} else {
		th->pend_waker_tid = CT_WAKER_IRQ;
		th->pend_waker_tgid = 0;
	}
	th->wake_ts = now;
	th->wake_pending = 1;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
