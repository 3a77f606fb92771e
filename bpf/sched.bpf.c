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
 *   sched_waking   runs in the waker's context: who woke the thread, and when;
 *   softirq_raise, softirq_entry, softirq_exit
 *                  which task raised the softirq a wakeup runs in: a send on
 *                  loopback wakes the receiver from the NET_RX softirq the
 *                  sender's own syscall raised (issue 14 item 9);
 *   irq_handler_entry, irq_handler_exit, local_timer_entry, local_timer_exit
 *                  with the softirq pair: the time interrupts took of each
 *                  run, so a run-queue wait can say how much of it was theirs.
 *
 * Two probes, both cheap for untraced tasks: this runs on every context
 * switch of the machine (docs/performance.md has the costs).
 */
#include "sched.bpf.h"
#include "gil.bpf.h"
#include "timeline.bpf.h"

struct ct_wakers_map ct_wakers SEC(".maps");
struct ct_runners_map ct_runners SEC(".maps");

/* The latest runs of each CPU (struct ct_cpu_runs). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ct_cpu_runs);
} ct_cpu_runs SEC(".maps");

/* Scratch word to turn the probe's context pointer into a number. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} ct_sp_scratch SEC(".maps");

/*
 * Per CPU: the softirq running, and for each vector the task that raised
 * it in its own (process) context, 0 if an interrupt raised it since.
 *
 * And interrupts, timed while a traced thread waits for a CPU: how deep
 * they nest now, when the outermost began (ktime), and the time they took
 * of the run now on the CPU, known by its task's tid and
 * sched_info.last_arrival (a run that ends unrecorded leaves its count to
 * be found stale, not reset), since the first of them (irq_first). Here,
 * next to `vec`, a softirq's probes touch one map value and cache line.
 */
struct ct_sirq {
	__s32 vec; /* the softirq being served, -1 if none */
	__u32 irq_depth;
	__u64 irq_since;
	__u64 irq_ns;
	__u64 irq_arrival;
	__u64 irq_first;
	__u32 irq_tid;
	__u32 tid[CT_NR_SOFTIRQS];
	__u32 tgid[CT_NR_SOFTIRQS];
	__u32 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ct_sirq);
} ct_sirqs SEC(".maps");

static __always_inline struct ct_sirq *ct_sirq_cpu(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&ct_sirqs, &zero);
}

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
 * Its syscall is read (a helper call) only when it goes to sleep. prev is
 * the current task at sched_switch; of its run queue the caller read
 * `charged_until` and `steal`. tl: with --timeline, a constant: each
 * variant is a global function of its own (ct_switch_out, ct_switch_out_tl),
 * verified once on its own rather than once per path of the program
 * (docs/performance.md: 0.4-0.5 s of every start).
 */
static __always_inline void ct_switch_out_body(struct ct_thread *th, __u64 now, int preempt,
					       __u64 charged_until, __u64 steal, const bool tl)
{
	struct task_struct *prev = bpf_get_current_task_btf();
	unsigned int state = ct_task_state(prev);
	struct ct_kread k = {
		.exec = ct_task_exec(prev),
		.nvcsw = prev->nvcsw,
		.charged_until = charged_until,
		.steal = steal,
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
	if (k.how == CT_OUT_QUEUED)
		ct_queued_mark(th);
	if (k.how == CT_OUT_DEAD) {
		ct_queued_unmark(th);
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
		ct_gilc_switch_out(th, ran_since,
				   (k.how == CT_OUT_BLOCK ? CT_GILC_OUT_BLOCK : 0) |
					   (tl ? CT_GILC_OUT_READ : 0),
				   now);
	if (k.how == CT_OUT_BLOCK && th->fx_uaddr)
		ct_futex_block_lock(th, now);
	if (tl)
		ct_tl_switched_out(th, k.how, now, gil_was, gil_ts);
}

__noinline int ct_switch_out(struct ct_thread *th, __u64 now, int preempt, __u64 charged_until,
			     __u64 steal)
{
	if (th)
		ct_switch_out_body(th, now, preempt, charged_until, steal, false);
	return 0;
}

__noinline int ct_switch_out_tl(struct ct_thread *th, __u64 now, int preempt, __u64 charged_until,
				__u64 steal)
{
	if (th)
		ct_switch_out_body(th, now, preempt, charged_until, steal, true);
	return 0;
}

/*
 * ns of the queue wait of th went to runner tid, through the slot's cache:
 * from ct_switch_in(), a global function verified once. Not from the
 * split's loop callback: a call more there passes the 512 bytes of stack
 * the verifier allows a chain of calls (with --stacks' frames).
 */
__noinline int ct_runner_note(struct ct_thread *th, __u32 tid, __u32 tgid, __u32 kthread, __u64 ns)
{
	if (th)
		ct_acct_runner(th, tid, tgid, kthread, ns, NULL);
	return 0;
}

/* ns of the queue wait of th went to the run r (NULL: unknown), inlined. */
static __always_inline void ct_runner_add(struct ct_thread *th, const struct ct_run *r, __u64 ns)
{
	if (r)
		ct_acct_runner(th, r->tid, r->tgid, r->kthread, ns, NULL);
	else
		ct_acct_runner(th, CT_WAKER_UNKNOWN, 0, 0, ns, NULL);
}

/* A wait being split among the runs of its CPU (bpf_loop context). */
struct ct_split {
	struct ct_thread *th;
	struct ct_cpu_runs *cr;
	__u64 queued; /* the wait began */
	__u64 end; /* what is older than this is still to split */
	struct ct_run pend; /* consecutive runs of one thread, added at once */
	__u64 pend_ns;
	__u64 irq_ns; /* the interrupts' part of the runs */
};

/*
 * Of a part of the entry r, `part` ns, the time interrupts took: their
 * share of the time its runs were on the CPU, pro rata (where in a run they
 * fell is not kept).
 */
static __always_inline __u64 ct_run_irq(const struct ct_run *r, __u64 part)
{
	/*
	 * In 1/65,536ths: no product overflows. No branch (the split's loop
	 * callback is verified with all its paths): BPF's division by 0 gives
	 * 0, and ct_run_end() keeps irq at most ran.
	 */
	return part * (((__u64)r->irq << 16) / r->ran) >> 16;
}

/* bpf_loop() callback: the k-th newest run of the ring. */
static long ct_split_run(__u32 k, void *ctx)
{
	struct ct_split *sp = ctx;
	const struct ct_run *r;
	__u64 start, irq;

	if (!sp->cr || !sp->th || sp->end <= sp->queued)
		return 1;
	r = &sp->cr->r[(sp->cr->next - 1 - k) & (CT_RUNS - 1)];
	if (!r->start || r->start >= sp->end)
		return 1;
	start = r->start > sp->queued ? r->start : sp->queued;
	if (r->tid == sp->th->tid) {
		/*
		 * Its own run cannot have kept it waiting: a clock skew at the
		 * run's edges (an idle run's start is estimated), ~1 wait in
		 * 1,000 and microseconds. Not seen, rather than made up.
		 */
		ct_runner_add(sp->th, NULL, sp->end - start);
		sp->end = start;
		return 0;
	}
	if (sp->pend_ns && sp->pend.tid != r->tid) {
		ct_runner_add(sp->th, &sp->pend, sp->pend_ns);
		sp->pend_ns = 0;
	}
	irq = ct_run_irq(r, sp->end - start);
	sp->irq_ns += irq;
	sp->pend = *r;
	sp->pend_ns += sp->end - start - irq;
	sp->end = start;
	return 0;
}

/*
 * th, traced, gets the CPU at rq clock `clock`: its wait since its enqueue
 * on this run queue (`queued`, 0 unknown) goes to the runs of the ring cr
 * that overlap it, newest first; what is older than the ring's oldest run
 * (or all of it without a ring), to "unknown".
 */
static __always_inline void ct_runq_split(struct ct_thread *th, struct ct_cpu_runs *cr,
					  __u64 queued, __u64 clock)
{
	struct ct_split sp = { .th = th, .cr = cr, .queued = queued, .end = clock };

	if (!queued || queued >= clock)
		return;
	if (cr)
		bpf_loop(CT_RUNS, ct_split_run, &sp, 0);
	if (sp.pend_ns)
		ct_runner_note(th, sp.pend.tid, sp.pend.tgid, sp.pend.kthread, sp.pend_ns);
	if (sp.irq_ns)
		ct_runner_note(th, CT_RUNNER_IRQ, 0, 0, sp.irq_ns);
	if (sp.end > sp.queued)
		ct_runner_note(th, CT_WAKER_UNKNOWN, 0, 0, sp.end - sp.queued);
}

static __always_inline struct ct_cpu_runs *ct_cpu_runs_get(void)
{
	__u32 zero = 0;

	if (!ct_have_run_delay())
		return NULL;
	return bpf_map_lookup_elem(&ct_cpu_runs, &zero);
}

/* ns as a run's 32-bit count of interrupt time, saturated (4.29 s: never in practice). */
static __always_inline __u32 ct_irq32(__u64 ns)
{
	return ns < 0xffffffffULL ? (__u32)ns : 0xffffffffu;
}

/* A run of the ring: tid's, from `start`. */
static __always_inline void ct_run_put(struct ct_cpu_runs *cr, __u32 tid, __u32 tgid, bool kthread,
				       __u64 start, bool traced, __u32 irq, __u64 ran)
{
	struct ct_run *r = &cr->r[cr->next & (CT_RUNS - 1)];

	r->tid = tid;
	r->tgid = tgid;
	r->kthread = kthread;
	r->traced = traced;
	r->start = start;
	r->irq = irq;
	r->ran = ran;
	cr->next++;
}

/*
 * The interrupts' time of the run of tid that began at `arrival`, taken
 * (0: none seen, or timed before the waits of now began).
 */
static __always_inline __u32 ct_run_irq_take(__u32 tid, __u64 arrival)
{
	struct ct_sirq *cr = ct_sirq_cpu();
	__u64 ns;

	if (!cr)
		return 0;
	ns = cr->irq_ns;
	if (!ns || cr->irq_tid != tid || cr->irq_arrival != arrival)
		return 0;
	cr->irq_ns = 0;
	if (cr->irq_first < *(volatile __u64 *)&ct_queued_since)
		return 0;
	return ct_irq32(ns);
}

/*
 * prev's run on this CPU ends: into the ring, from when it began
 * (sched_info.last_arrival, in the run queue's clock). Only prev's own
 * fields are read, whose cache lines the switch has just touched: no run
 * queue, no clock. An untraced thread of the process whose run is the
 * newest continues it (the ring keeps other processes by process: two
 * threads passing a lock back and forth would fill it in microseconds).
 * The kernel does not track the idle task's runs: when next is idle, its
 * run begins where prev's ends, prev's start plus its slice's CPU time
 * (the task clock: short of the slice's interrupts). `traced`: prev is
 * traced (its siblings are told apart).
 */
static __always_inline void ct_run_end(struct ct_cpu_runs *cr, struct task_struct *prev,
				       __u32 next_pid, bool traced)
{
	struct ct_run *last = &cr->r[(cr->next - 1) & (CT_RUNS - 1)];
	__u64 start, irq, ran, ran_all;

	start = prev->sched_info.last_arrival;
	ran_all = prev->se.sum_exec_runtime - prev->se.prev_sum_exec_runtime;
	if (ran_all >= (1ULL << 40))
		ran_all = 0;
	ran = ran_all;
	if (prev->pid) {
		irq = ct_run_irq_take(prev->pid, start);
		if (irq) {
			/*
			 * The part of the run they were timed in: from when the
			 * waits of now began, if later than its start (a run is on
			 * its CPU from its start to now).
			 */
			__u64 timed = bpf_ktime_get_ns() - *(volatile __u64 *)&ct_queued_since;

			if (timed < ran)
				ran = timed;
			if (irq > ran)
				irq = ran;
		}
		if (traced || !last->start || last->tgid != prev->tgid || last->traced) {
			ct_run_put(cr, prev->pid, prev->tgid, prev->flags & PF_KTHREAD, start,
				   traced, irq, ran);
		} else {
			last->ran += ran;
			if (irq)
				last->irq = ct_irq32((__u64)last->irq + irq);
		}
	}
	/* The idle task (a kernel thread), from prev's start plus its slice's CPU time. */
	if (!next_pid)
		ct_run_put(cr, 0, 0, true, start + ran_all, false, 0, 0);
}

/*
 * th gets the CPU at `now`; queued: its enqueue on this run queue (run-queue
 * clock, 0 unknown); ring: this switch recorded prev's run in this CPU's
 * ring. Its run queue's clock and steal are read here, from prev's (the
 * current task's) run queue, which it shares: no struct of arguments on
 * the switch program's stack, whose deepest chain of calls (--stacks,
 * --timeline) needs all of the verifier's 512 bytes. A global function,
 * verified once on its own:
 * inlined into the switch programs after the switch-out's paths, the
 * verifier walked it once per state they left (97,000 instructions, 0.4-0.5
 * s of every start; docs/performance.md).
 */
__noinline int ct_switch_in(struct ct_thread *th, __u64 now, __u64 queued, int ring)
{
	struct ct_kread k = { .have_delay = ct_have_run_delay() };
	/* prev, the current task, and th's task share this CPU's run queue. */
	struct rq *rq = ct_task_rq(bpf_get_current_task_btf());
	__u64 clock = rq ? rq->clock : 0;

	if (!th)
		return 0;
	k.steal = ct_rq_steal(rq);
	ct_acct_switch_in(th, &k, now, NULL);
	if (ct_gilc_on)
		ct_gilc_switch_in(th, now);
	ct_acct_running(th, now);
	/* Not counted while it waited (a waking not seen): runs may be missing. */
	if (!ct_queued_unmark(th))
		ct_runq_split(th, NULL, queued, clock);
	else if (ring && rq)
		ct_runq_split(th, ct_cpu_runs_get(), queued, clock);
	return 0;
}

/*
 * Every switch of the machine while a traced thread waits for a CPU: who had
 * each CPU, for its wait. A run is recorded at its end, so every run that
 * overlaps a wait ends while the thread is counted in ct_queued. The idle
 * task's run is recorded at its start (the kernel keeps no start for it):
 * always, or a traced thread woken onto an idle CPU would find its wait
 * given to whoever ran before the CPU went idle.
 */
static __always_inline bool ct_run_note(struct task_struct *prev, struct task_struct *next,
					bool traced)
{
	struct ct_cpu_runs *cr;

	if (!*(volatile __u64 *)&ct_queued && next->pid)
		return false;
	cr = ct_cpu_runs_get();
	if (cr)
		ct_run_end(cr, prev, next->pid, traced);
	return cr != NULL;
}

/* A switch on this CPU; tl: --timeline (each variant is a program of its own). */
static __always_inline int ct_on_switch(bool preempt, struct task_struct *prev,
					struct task_struct *next, const bool tl)
{
	struct ct_thread *out = ct_active_thread(prev), *in = ct_active_thread(next);
	struct rq *rq;
	bool ring;
	__u64 now;

	/* A new thread whose fork could not claim its storage: its first switch-out. */
	if (!out && *(volatile __u32 *)&ct_late_pending && prev->pid && ct_claim_late())
		out = ct_active_thread(prev);
	if (!out && !in) {
		ct_run_note(prev, next, false);
		return 0;
	}
	ring = ct_run_note(prev, next, out != NULL);
	/* prev and next share this CPU's run queue. */
	rq = ct_task_rq(prev);
	now = bpf_ktime_get_ns();
	if (out && tl)
		ct_switch_out_tl(out, now, preempt, ct_charged_until(prev, rq), ct_rq_steal(rq));
	else if (out)
		ct_switch_out(out, now, preempt, ct_charged_until(prev, rq), ct_rq_steal(rq));
	if (in)
		ct_switch_in(in, now, ct_have_run_delay() ? next->sched_info.last_queued : 0, ring);
	return 0;
}

/*
 * Interrupts' time, per CPU, for the run they took it from (struct
 * ct_sirq): from the outermost entry to its exit, nested ones inside
 * it. Only while a traced thread waits for a CPU (ct_queued): otherwise no
 * run is recorded, and an interrupt costs a load and a test. One left
 * open longer than any interrupt runs (a probe attached between an entry
 * and its exit) is forgotten at the next entry.
 */
#define CT_IRQ_STALE_NS 100000000ULL

static __always_inline void ct_irq_enter(struct ct_sirq *cr)
{
	__u64 now;

	if (!cr)
		return;
	if (cr->irq_depth) {
		now = bpf_ktime_get_ns();
		if (now - cr->irq_since < CT_IRQ_STALE_NS) {
			cr->irq_depth++;
			return;
		}
	} else if (!*(volatile __u64 *)&ct_queued) {
		return;
	} else {
		now = bpf_ktime_get_ns();
	}
	cr->irq_depth = 1;
	cr->irq_since = now;
}

static __always_inline void ct_irq_leave(struct ct_sirq *cr)
{
	struct task_struct *cur;
	__u64 arrival;

	if (!cr || !cr->irq_depth || --cr->irq_depth)
		return;
	cur = bpf_get_current_task_btf();
	/* The idle task's runs are not split (no start the kernel keeps). */
	if (!cur->pid)
		return;
	arrival = cur->sched_info.last_arrival;
	/* Another run's, or timed before the waits of now began: not this one's. */
	if (cr->irq_tid != cur->pid || cr->irq_arrival != arrival ||
	    cr->irq_first < *(volatile __u64 *)&ct_queued_since) {
		cr->irq_tid = cur->pid;
		cr->irq_arrival = arrival;
		cr->irq_first = cr->irq_since;
		cr->irq_ns = 0;
	}
	cr->irq_ns += bpf_ktime_get_ns() - cr->irq_since;
}

SEC("tp_btf/irq_handler_entry")
int BPF_PROG(ct_hardirq_entry, int irq, struct irqaction *action)
{
	ct_irq_enter(ct_sirq_cpu());
	return 0;
}

SEC("tp_btf/irq_handler_exit")
int BPF_PROG(ct_hardirq_exit, int irq, struct irqaction *action, int ret)
{
	ct_irq_leave(ct_sirq_cpu());
	return 0;
}

/* The local APIC timer (x86: the tick and hrtimers), a vector of its own. */
SEC("tp_btf/local_timer_entry")
int BPF_PROG(ct_timer_irq_entry, int vector)
{
	ct_irq_enter(ct_sirq_cpu());
	return 0;
}

SEC("tp_btf/local_timer_exit")
int BPF_PROG(ct_timer_irq_exit, int vector)
{
	ct_irq_leave(ct_sirq_cpu());
	return 0;
}

/*
 * A softirq raised: by a task in its syscall (a loopback send's netif_rx),
 * or by an interrupt (a device, the tick), which names no task.
 */
SEC("tp_btf/softirq_raise")
int BPF_PROG(ct_softirq_raise, unsigned int vec)
{
	struct task_struct *cur = bpf_get_current_task_btf();
	struct ct_sirq *s = ct_sirq_cpu();
	int nr;

	if (!s || vec >= CT_NR_SOFTIRQS)
		return 0;
	if (cur->pid && !(cur->flags & PF_KTHREAD) && ct_in_task_context(ctx, cur, &nr)) {
		s->tid[vec] = cur->pid;
		s->tgid[vec] = cur->tgid;
	} else {
		s->tid[vec] = 0;
	}
	return 0;
}

SEC("tp_btf/softirq_entry")
int BPF_PROG(ct_softirq_entry, unsigned int vec)
{
	struct ct_sirq *s = ct_sirq_cpu();

	if (s)
		s->vec = vec < CT_NR_SOFTIRQS ? (__s32)vec : -1;
	ct_irq_enter(s);
	return 0;
}

SEC("tp_btf/softirq_exit")
int BPF_PROG(ct_softirq_exit, unsigned int vec)
{
	struct ct_sirq *s = ct_sirq_cpu();

	if (!s)
		return 0;
	s->vec = -1;
	if (vec < CT_NR_SOFTIRQS)
		s->tid[vec] = 0; /* served: a later wakeup is not of that raise */
	ct_irq_leave(s);
	return 0;
}

/*
 * A wakeup in interrupt context: from a softirq a task raised in its own
 * syscall, that task (flagged: CT_WAKER_SOFTIRQ); else an interrupt.
 */
static __always_inline void ct_irq_waker(struct ct_thread *th)
{
	struct ct_sirq *s = ct_sirq_cpu();
	__u32 vec;

	th->pend_waker_tid = CT_WAKER_IRQ;
	th->pend_waker_tgid = 0;
	if (!s || s->vec < 0 || s->vec >= CT_NR_SOFTIRQS)
		return;
	vec = (__u32)s->vec;
	if (vec < CT_NR_SOFTIRQS && s->tid[vec]) {
		th->pend_waker_tid = s->tid[vec] | CT_WAKER_SOFTIRQ;
		th->pend_waker_tgid = s->tgid[vec];
	}
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
		/*
		 * A thread's exit (SYS_exit) wakes its joiner through the tid
		 * word; exit_group's wakes end waits by killing the process
		 * (an idle pool's waiters at its exit): not joins.
		 */
		th->pend_exit = nr == CT_NR_EXIT;
		if (nr == CT_NR_FUTEX || nr == CT_NR_FUTEX_WAKE || nr == CT_NR_FUTEX_REQUEUE) {
			struct ct_thread *waker = ct_active_thread(cur);

			ct_futex_waking(th, waker, nr, now);
			if (ct_gilc_on && tl)
				ct_gilc_waking_tl(th, waker, now);
			else if (ct_gilc_on)
				ct_gilc_waking(th, waker, now);
		}
	} else {
		ct_irq_waker(th);
	}
	th->wake_ts = now;
	th->wake_pending = 1;
	ct_queued_mark(th);
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
