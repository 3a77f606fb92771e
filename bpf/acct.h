/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The accounting rules: how a traced thread's figures move at each event
 * (a switch out or in, a wakeup, the end of a block, a GIL take or drop, a
 * snapshot closing what is still open), written once, as static inline
 * functions of its slot and of what the kernel said at the event.
 *
 * Compiled three times: by the BPF programs, by user space (which closes
 * the intervals still open at a snapshot with these same rules: a snapshot
 * is a switch-out that does not happen), and by the host's unit tests,
 * which drive them with synthetic event sequences (tests/unit/test_acct.c).
 * So nothing here calls a BPF helper, touches a map or reads a kernel
 * struct. With CT_ACCT_HOOKS defined, the includer defines the ct_hook_*
 * functions declared below: they do what needs a map (the BPF side), a
 * snapshot (user space) or a record of the call (the tests); `hc` is the
 * includer's context, passed through.
 */
#ifndef CONTRACE_ACCT_H
#define CONTRACE_ACCT_H

#include "contrace.h"

#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif

/* Run-queue wait of d ns, in the GIL state the thread was queued in. */
static __always_inline void ct_acct_runq(struct ct_thread *th, __u64 d, __u32 gil)
{
	th->runq_ns += d;
	if (gil == CT_GIL_RELEASED)
		th->gil_rel_runq_ns += d;
	else if (gil == CT_GIL_HELD)
		th->gil_hold_runq_ns += d;
	else if (gil == CT_GIL_WAITING)
		th->gil_wait_runq_ns += d;
}

/* The GIL (any tier). Each ends the state the thread leaves and starts the next. */

/*
 * A forked process's thread holds the GIL at its birth (Python forks holding
 * it), and until its first GIL event (CT_TF_GIL_FORKED) that is an
 * assumption: before its probes were in (they come tens to hundreds of ms
 * after the fork, when contrace has read the child's maps), it may have
 * released the GIL around a blocking call and taken it back. A Python thread
 * alone in its process holds the GIL whenever it is not blocked, so its hold
 * is its time on a CPU and waiting for one since its birth (with `running`,
 * the run in progress too). Counting from its birth to the first drop
 * counted a multiprocessing worker's wait for its first task as a hold; and
 * a first event that was a take lost the hold altogether (the first of a
 * worker's two 0.3 s tasks, 1 run in 4-6).
 */
static __always_inline int ct_gil_forked(const struct ct_thread *th)
{
	return (th->flags & CT_TF_GIL_FORKED) &&
	       (th->gil_state == CT_GIL_HELD || th->gil_state == CT_GIL_UNKNOWN);
}

static __always_inline void ct_gil_forked_hold(struct ct_thread *th, __u64 now, int running)
{
	th->gil_hold_ns += th->oncpu_ns + th->runq_ns;
	if (running && th->state == CT_ST_RUNNING)
		th->gil_hold_ns += ct_delta(now, th->state_ts);
	th->flags &= ~CT_TF_GIL_FORKED;
}

/* The thread began to take the GIL at `ts`: a release (if any) ends there. */
static __always_inline void ct_gil_wait(struct ct_thread *th, __u64 ts)
{
	/* A forked thread taking it let it go unseen, before its current run. */
	if (ct_gil_forked(th))
		ct_gil_forked_hold(th, ts, 0);
	th->flags &= ~CT_TF_GIL_FORKED;
	if (th->gil_state == CT_GIL_RELEASED)
		th->gil_rel_ns += ct_delta(ts, th->gil_ts);
	th->gil_state = CT_GIL_WAITING;
	th->gil_ts = ts;
	th->flags &= ~CT_TF_GIL_BLOCKED;
}

/*
 * The thread has the GIL since `now`. The wait it ends, for its histogram;
 * CT_NO_WAIT when it was not seen waiting (a take that began before
 * tracing: held from now on).
 */
#define CT_NO_WAIT (~0ULL)

static __always_inline __u64 ct_gil_took(struct ct_thread *th, __u64 now)
{
	__u64 wait = CT_NO_WAIT;

	if (th->gil_state == CT_GIL_WAITING) {
		wait = ct_delta(now, th->gil_ts);
		th->gil_wait_ns += wait;
		if (wait > th->gil_wait_max)
			th->gil_wait_max = wait;
		th->gil_takes++;
		if (th->flags & CT_TF_GIL_BLOCKED)
			th->gil_waits++;
	}
	th->gil_state = CT_GIL_HELD;
	th->gil_ts = now;
	th->flags &= ~(CT_TF_GIL_WANTED | CT_TF_GIL_SPLIT | CT_TF_GIL_FORKED);
	return wait;
}

/*
 * Whether a hold of d ns is the thread's longest: one another thread asked
 * for the GIL during (CT_TF_GIL_WANTED, set by the includer), and not
 * several joined (CT_TF_GIL_SPLIT). Tier C sees no release that makes no
 * syscall and wakes no waiter, so it joins a thread's holds around such
 * releases (a json thread pool's main thread: 106 ms where tier A saw
 * 47 ms at most); and only a hold that kept others waiting starves them.
 */
static __always_inline void ct_gil_hold_max(struct ct_thread *th, __u64 d)
{
	if (d > th->gil_hold_max &&
	    (th->flags & (CT_TF_GIL_WANTED | CT_TF_GIL_SPLIT)) == CT_TF_GIL_WANTED)
		th->gil_hold_max = d;
}

/* The thread let the GIL go at `now`. */
static __always_inline void ct_gil_released(struct ct_thread *th, __u64 now)
{
	__u64 hold;

	if (ct_gil_forked(th)) {
		ct_gil_forked_hold(th, now, 1);
	} else if (th->gil_state == CT_GIL_HELD) {
		hold = ct_delta(now, th->gil_ts);
		th->gil_hold_ns += hold;
		ct_gil_hold_max(th, hold);
	}
	th->flags &= ~(CT_TF_GIL_WANTED | CT_TF_GIL_SPLIT);
	th->gil_state = CT_GIL_RELEASED;
	th->gil_ts = now;
}

/*
 * The thread's GIL state ends its time at `now` (an exit, an exec, a
 * snapshot) and goes on from there. A hold still open at a snapshot is the
 * longest only once it ends (whether others wanted it is known then).
 */
static __always_inline void ct_gil_close(struct ct_thread *th, __u64 now)
{
	__u64 d = ct_delta(now, th->gil_ts);

	/* A snapshot's copy: a forked thread's hold as it would be if it ended now. */
	if (ct_gil_forked(th)) {
		ct_gil_forked_hold(th, now, 1);
		return;
	}
	if (th->gil_state == CT_GIL_HELD) {
		th->gil_hold_ns += d;
		ct_gil_hold_max(th, d);
	} else if (th->gil_state == CT_GIL_WAITING) {
		th->gil_wait_ns += d;
	} else if (th->gil_state == CT_GIL_RELEASED) {
		th->gil_rel_ns += d;
	}
	if (now > th->gil_ts)
		th->gil_ts = now;
}

#endif /* CONTRACE_ACCT_H */

/* The rules with side effects: the includer defines CT_ACCT_HOOKS and the hooks. */
#if defined(CT_ACCT_HOOKS) && !defined(CONTRACE_ACCT_HOOKS_H)
#define CONTRACE_ACCT_HOOKS_H

/* Events the probes should have seen and did not (ct_counters). */
enum ct_missed {
	CT_MISSED_WAKEUP = 0, /* missed_wakeups */
	CT_MISSED_SWITCH_IN = 1, /* missed_switch_ins */
};

/* The includer's: move the waker cache entry e (of th->rl_wak) out, and zero it. */
static __always_inline void ct_hook_waker_flush(struct ct_thread *th, struct ct_rl_waker *e,
						void *hc);
/* The includer's: move the runner figures of the cache entry e (of th->rl_run) out, and zero them. */
static __always_inline void ct_hook_runner_flush(struct ct_thread *th, struct ct_rl_runner *e,
						 void *hc);
/* The includer's: move an entry of the blocked-by-syscall cache (bl) out, and zero it. */
static __always_inline void ct_hook_blocked_flush(struct ct_thread *th, struct ct_rl_sys *e,
						  void *hc);
/* The includer's: the futex wait in th->fx_* ends at `now` (the lock tables). */
static __always_inline void ct_hook_futex_wait_end(struct ct_thread *th, __u64 now, void *hc);
/* The includer's: the thread blocks at `now` in syscall nr: a futex wait begins? */
static __always_inline void ct_hook_futex_block(struct ct_thread *th, int nr, __u64 now, void *hc);
/* The includer's: the thread's block of d ns (in th->blk_nr) ends (its stack's weight). */
static __always_inline void ct_hook_block_end(struct ct_thread *th, __u64 d, void *hc);
/* The includer's: it exits at `now`: its syscall in progress ends, its name is final. */
static __always_inline void ct_hook_exit(struct ct_thread *th, __u64 now, void *hc);
static __always_inline void ct_hook_missed(enum ct_missed what, void *hc);

/* How a thread leaves its CPU. */
enum ct_out_how {
	CT_OUT_QUEUED = 0, /* preempted, yielding, or a sleep cut short: still queued */
	CT_OUT_BLOCK = 1, /* to sleep */
	CT_OUT_DEAD = 2, /* it exited */
};

/* What the kernel says of a thread leaving its CPU (sched_switch's prev), or entering it. */
struct ct_kread {
	__u64 exec; /* se.sum_exec_runtime */
	__u64 delay; /* sched_info.run_delay */
	__u64 arrival; /* sched_info.last_arrival: run-queue clock it last got a CPU, 0 unknown */
	__u64 charged_until; /* run-queue clock its run was charged until, 0 unknown */
	__u64 steal; /* its run queue's clock - clock_task, 0 unknown */
	__u64 nvcsw; /* task->nvcsw: bumped before the tracepoint iff the switch is voluntary */
	__u32 have_delay; /* CONFIG_SCHED_INFO: run_delay and last_arrival exist */
	__u32 how; /* switch-out: enum ct_out_how */
	__s32 blk_nr; /* CT_OUT_BLOCK: the syscall it sleeps in, or CT_SYS_NONE */
	__u32 pad;
};

/*
 * The entry for `key` of one of a slot's caches, `arr` (n entries, a power
 * of two): the one that holds it (*hit set), else a free one, else the one
 * taken the longest ago (*next turns over them), which still holds another
 * key's figures: the caller moves them out before it takes the entry. An
 * entry's member `used` is 0 when it is free; `kf` is its key.
 */
#define ct_rl_pick(arr, n, next, kf, key, used, hit)                    \
	({                                                              \
		__u32 _i, _free = (n);                                  \
                                                                        \
		*(hit) = 0;                                             \
		for (_i = 0; _i < (n); _i++) {                          \
			if ((arr)[_i].used && (arr)[_i].kf == (key)) {  \
				*(hit) = 1;                             \
				_free = _i;                             \
				break;                                  \
			}                                               \
			if (!(arr)[_i].used && _free == (n))            \
				_free = _i;                             \
		}                                                       \
		&(arr)[(_free == (n) ? (*(next))++ : _free) & ((n)-1)]; \
	})

/* Count a wakeup by the pending waker, in the slot's cache of wakers. */
static __always_inline void ct_acct_waker(struct ct_thread *th, void *hc)
{
	__u32 tid = th->pend_waker_tid;
	struct ct_rl_waker *e;
	int hit;

	e = ct_rl_pick(th->rl_wak, CT_RL_WAKERS, &th->rl_wak_next, tid, tid, count, &hit);
	if (hit) {
		e->count++;
		return;
	}
	if (e->count)
		ct_hook_waker_flush(th, e, hc);
	e->tid = tid;
	e->tgid = th->pend_waker_tgid;
	e->count = 1;
}

/* Every entry of the waker cache moved out. */
static __always_inline void ct_acct_wakers_flush(struct ct_thread *th, void *hc)
{
	for (__u32 i = 0; i < CT_RL_WAKERS; i++)
		if (th->rl_wak[i].count)
			ct_hook_waker_flush(th, &th->rl_wak[i], hc);
}

/*
 * ns of a wait of th went to the run of tid: added to its entry of the
 * slot's cache, or to a free one, or to the one taken the longest ago
 * (moved out first).
 */
static __always_inline void ct_acct_runner(struct ct_thread *th, __u32 tid, __u32 tgid,
					   __u32 kthread, __u64 ns, void *hc)
{
	struct ct_rl_runner *e;
	int hit;

	e = ct_rl_pick(th->rl_run, CT_RL_RUNNERS, &th->rl_run_next, tid, tid, waits, &hit);
	if (hit) {
		e->ns += ns;
		e->waits++;
		return;
	}
	if (e->waits)
		ct_hook_runner_flush(th, e, hc);
	e->tid = tid;
	e->tgid = tgid;
	e->kthread = kthread;
	e->ns = ns;
	e->waits = 1;
}

/* Every entry of the runner cache moved out. */
static __always_inline void ct_acct_runners_flush(struct ct_thread *th, void *hc)
{
	for (__u32 i = 0; i < CT_RL_RUNNERS; i++)
		if (th->rl_run[i].waits)
			ct_hook_runner_flush(th, &th->rl_run[i], hc);
}

/*
 * The thread was blocked d ns in syscall key nr (CT_SYS_NONE: outside any):
 * into its entry of the cache (bl), or a free one, or the oldest's, which
 * moves out first.
 */
static __always_inline void ct_acct_blocked_nr(struct ct_thread *th, int nr, __u64 d, void *hc)
{
	struct ct_rl_sys *e;
	int hit;

	if (nr == CT_SYS_NONE) {
		th->blocked_nosys_ns += d;
		return;
	}
	e = ct_rl_pick(th->bl, CT_RL_SYS, &th->bl_next, nr, nr, count, &hit);
	if (hit) {
		e->ns += d;
		e->count++;
		return;
	}
	if (e->count)
		ct_hook_blocked_flush(th, e, hc);
	e->nr = nr;
	e->ns = d;
	e->count = 1;
}

/* Every entry of the blocked-by-syscall cache moved out. */
static __always_inline void ct_acct_blocked_flush_all(struct ct_thread *th, void *hc)
{
	for (__u32 i = 0; i < CT_RL_SYS; i++)
		if (th->bl[i].count)
			ct_hook_blocked_flush(th, &th->bl[i], hc);
}

/* A block of d ns, in blk_nr and in GIL state gil_blk, ended. */
static __always_inline void ct_acct_block_end(struct ct_thread *th, __u64 d, void *hc)
{
	th->blocked_ns += d;
	/* A Python thread's blocks are kept apart by whether it held the GIL. */
	if (th->gil_blk == CT_GIL_RELEASED)
		th->gil_rel_blocked_ns += d;
	else if (th->gil_blk == CT_GIL_HELD)
		th->gil_hold_blocked_ns += d;
	else if (th->gil_blk == CT_GIL_WAITING)
		th->gil_wait_blocked_ns += d;
	ct_acct_blocked_nr(th, ct_gil_sys_key(th->blk_nr, th->gil_blk), d, hc);
	if (th->sys_nr != CT_SYS_NONE)
		th->sys_offcpu_ns += d;
	ct_hook_block_end(th, d, hc);
}

/*
 * Settle the block that ended before the current run (CT_TF_WOKEN): from
 * the switch-out that began it to the enqueue that ended it, in the
 * kernel's run-queue clock. The enqueue was run_delay before this run's
 * arrival (across any migration while queued), so it adds up exactly with
 * the kernel's CPU and run-queue counters. Without those clocks, ours:
 * from blk_ts to fallback_end. `k`: the running thread, read now.
 */
static __always_inline void ct_acct_block_settle(struct ct_thread *th, const struct ct_kread *k,
						 __u64 fallback_end, void *hc)
{
	__u64 queued, d;

	queued = k->delay > th->k_delay ? k->arrival - (k->delay - th->k_delay) : k->arrival;
	if (th->k_clock_out && k->arrival && queued > th->k_clock_out)
		d = queued - th->k_clock_out;
	else
		d = ct_delta(fallback_end, th->blk_ts);
	th->k_clock_out = 0;
	ct_acct_block_end(th, d, hc);
	th->blk_nr = CT_SYS_NONE;
	th->flags &= ~CT_TF_WOKEN;
}

/* The thread blocked since its last switch-out was woken: who did it, and how fast it ran. */
static __always_inline void ct_acct_woken(struct ct_thread *th, __u64 now, void *hc)
{
	__u64 lat;
	__u32 idx;

	th->wakeups++;
	if (!th->wake_pending) {
		/* Its sched_waking was not seen (tracing began, or the kernel hid it). */
		if (th->flags & CT_TF_SEEN)
			ct_hook_missed(CT_MISSED_WAKEUP, hc);
		th->pend_waker_tid = CT_WAKER_UNKNOWN;
		th->pend_waker_tgid = 0;
		th->wake_ts = 0;
	}
	ct_acct_waker(th, hc);
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

/* A wait in progress since a block ends: the futex wait, then the wakeup. */
static __always_inline void ct_acct_unblock(struct ct_thread *th, __u64 now, void *hc)
{
	if (th->fx_uaddr)
		ct_hook_futex_wait_end(th, now, hc);
	ct_acct_woken(th, now, hc);
	th->flags |= CT_TF_WOKEN;
}

/*
 * The thread exits at `now`: its last figures, and no open interval left.
 * Its caches (wakers, runners, blocked time) stay in the slot, which is
 * never reused: each snapshot moves them out of its copy, as it does a
 * live thread's (ct_acct_close). Moving them out here cost a thread per
 * request a hash insert for each of them (docs/performance.md).
 */
static __always_inline void ct_acct_exit(struct ct_thread *th, __u64 now, void *hc)
{
	ct_hook_exit(th, now, hc);
	/* A forked thread that ends with no GIL event seen held it while not blocked. */
	if (ct_gil_forked(th))
		ct_gil_released(th, now);
	if (th->gil_state != CT_GIL_UNKNOWN)
		ct_gil_close(th, now);
	th->end_ts = now;
	th->state = CT_ST_DEAD;
}

/*
 * When the run that ends at `now` began, for a blocked thread whose
 * switch-in was not seen: its CPU time since its last switch-out, all of
 * it this run's, before now; never before its waking (or its block). Its
 * wait and wakeup end there, not at the end of the run (a lock's wait
 * counted a run too long: 1.5 ms of a 1 ms hold, once in a suite).
 */
static __always_inline __u64 ct_run_began(const struct ct_thread *th, const struct ct_kread *k,
					  __u64 now)
{
	__u64 ran = ct_delta(k->exec, th->k_exec);
	__u64 floor = th->wake_pending && th->wake_ts > th->state_ts ? th->wake_ts : th->state_ts;

	if (floor >= now)
		return now;
	return ran < now - floor ? now - ran : floor;
}

/*
 * The thread leaves its CPU at `now`. Its run (and the run-queue wait
 * before it) comes from the kernel's own counters in k. Returns when the
 * run began (our clock), 0 if its switch-in was not seen.
 */
static __always_inline __u64 ct_acct_switch_out(struct ct_thread *th, const struct ct_kread *k,
						__u64 now, void *hc)
{
	__u64 ran_since = th->state == CT_ST_RUNNING ? th->state_ts : 0;

	if (th->state != CT_ST_RUNNING) {
		/*
		 * It ran, but its switch-in was not seen (the kernel may suppress
		 * events while some tasks are current). Its times stay exact from
		 * the kernel's counters; its run's start, where its wait ended, is
		 * its CPU time before now (ct_run_began).
		 */
		if (th->flags & CT_TF_SEEN)
			ct_hook_missed(CT_MISSED_SWITCH_IN, hc);
		if (th->state == CT_ST_BLOCKED)
			ct_acct_unblock(th, ct_run_began(th, k, now), hc);
		if (!k->have_delay) {
			/* Queued since its wakeup or preemption, but for its run. */
			__u64 since = th->wait_ts ? th->wait_ts : th->state_ts;

			ct_acct_runq(th,
				     ct_delta(ct_delta(now, since), ct_delta(k->exec, th->k_exec)),
				     th->gil_state);
		}
	}
	if (th->flags & CT_TF_WOKEN)
		ct_acct_block_settle(th, k, th->wait_ts ? th->wait_ts : now, hc);
	/* The run that ends here, and (from run_delay) the wait that preceded it. */
	th->oncpu_ns += ct_delta(k->exec, th->k_exec);
	th->k_exec = k->exec;
	if (th->k_steal_in)
		th->stolen_ns += ct_delta(k->steal, th->k_steal_in);
	th->k_steal_in = 0;
	if (k->have_delay) {
		/* The wait for a CPU before this run: the thread was queued in gil_in. */
		ct_acct_runq(th, ct_delta(k->delay, th->k_delay), th->gil_in);
		th->k_delay = k->delay;
	}
	th->wait_ts = 0;
	th->flags &= ~CT_TF_RUNQ_OWN;
	th->k_clock_out = k->charged_until;
	if (k->nvcsw != th->kern_nvcsw) {
		th->nvcsw++;
		th->kern_nvcsw = k->nvcsw;
	} else {
		th->nivcsw++;
	}
	th->flags |= CT_TF_SEEN;
	th->state_ts = now;
	if (k->how == CT_OUT_DEAD) {
		ct_acct_exit(th, now, hc);
	} else if (k->how == CT_OUT_QUEUED) {
		/* Still queued: a waking seen during the run did not end a sleep. */
		th->state = CT_ST_RUNNABLE;
		th->wait_ts = now;
		th->wake_pending = 0;
	} else {
		th->state = CT_ST_BLOCKED;
		th->blk_ts = now;
		th->blk_nr = k->blk_nr;
		th->gil_blk = th->gil_state;
		if (th->gil_state == CT_GIL_WAITING)
			th->flags |= CT_TF_GIL_BLOCKED;
		ct_hook_futex_block(th, k->blk_nr, now, hc);
	}
	return ran_since;
}

/* The thread gets a CPU at `now`; k->steal and k->have_delay are read. */
static __always_inline void ct_acct_switch_in(struct ct_thread *th, const struct ct_kread *k,
					      __u64 now, void *hc)
{
	if (th->state == CT_ST_BLOCKED) {
		/* Woken; how long it slept is settled when this run ends. */
		ct_acct_unblock(th, now, hc);
		if (!k->have_delay)
			ct_acct_runq(th, ct_delta(now, th->wait_ts), th->gil_state);
	} else {
		th->wake_pending = 0; /* a waking while it was queued woke nothing */
		/* Without the kernel's run_delay, measure the run-queue wait ourselves. */
		if (!k->have_delay)
			ct_acct_runq(th, ct_delta(now, th->state_ts), th->gil_state);
	}
	if (!k->have_delay)
		th->flags |= CT_TF_RUNQ_OWN;
	if (th->sys_nr != CT_SYS_NONE && th->wait_ts)
		th->sys_offcpu_ns += ct_delta(now, th->wait_ts);
	th->k_steal_in = k->steal;
	th->gil_in = th->gil_state;
}

/* The intervals still open at a snapshot (ct_acct_close). */
static __always_inline void ct_acct_close_open(struct ct_thread *th, __u64 now, void *hc)
{
	__u64 d;

	if (th->state == CT_ST_DEAD)
		return;
	d = ct_delta(now, th->state_ts);
	if (th->state == CT_ST_RUNNING) {
		th->oncpu_ns += d;
		/* The wait before this run, which the kernel's run_delay will tell. */
		if (!(th->flags & CT_TF_RUNQ_OWN) && th->wait_ts && th->wait_ts < th->state_ts)
			ct_acct_runq(th, th->state_ts - th->wait_ts, th->gil_in);
		if ((th->flags & CT_TF_WOKEN) && th->wait_ts > th->blk_ts) {
			ct_acct_block_end(th, th->wait_ts - th->blk_ts, hc);
			th->flags &= ~CT_TF_WOKEN;
		}
		th->wait_ts = 0;
	} else if (th->state == CT_ST_BLOCKED) {
		__u64 blocked = d;

		/* Woken already, waiting for a CPU: blocked until the wakeup only. */
		if (th->wake_pending && th->wake_ts > th->state_ts && th->wake_ts < now) {
			ct_acct_runq(th, now - th->wake_ts, th->gil_state);
			blocked = th->wake_ts - th->state_ts;
		}
		ct_acct_block_end(th, blocked, hc);
		if (th->sys_nr != CT_SYS_NONE)
			th->sys_offcpu_ns += d - blocked;
	} else {
		ct_acct_runq(th, d, th->gil_state);
		if (th->sys_nr != CT_SYS_NONE)
			th->sys_offcpu_ns += d;
		th->wait_ts = 0;
	}
	th->state_ts = now;
	if (th->gil_state != CT_GIL_UNKNOWN)
		ct_gil_close(th, now);
}

/* After ct_acct_switch_in and the tier C GIL's look at the handoff: it runs. */
static __always_inline void ct_acct_running(struct ct_thread *th, __u64 now)
{
	th->state = CT_ST_RUNNING;
	th->state_ts = now;
	th->flags |= CT_TF_SEEN;
}

/*
 * A snapshot at `now` closes the intervals still open, as the next
 * switch-out would, with our clock where the kernel's counters are only
 * read at a switch-out, and moves the slot's caches (wakers, runners,
 * blocked time) out: a copy of the slot is closed, never the slot.
 */
static __always_inline void ct_acct_close(struct ct_thread *th, __u64 now, void *hc)
{
	ct_acct_close_open(th, now, hc);
	ct_acct_wakers_flush(th, hc);
	ct_acct_runners_flush(th, hc);
	ct_acct_blocked_flush_all(th, hc);
}
#endif /* CT_ACCT_HOOKS */
