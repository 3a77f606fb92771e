/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Types and constants shared by the BPF programs (bpf/) and the contrace
 * program (user/). Plain fixed-width fields only: no pointers, no bool, no
 * long, explicit padding, so both sides agree on every offset.
 */
#ifndef CONTRACE_H
#define CONTRACE_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define CT_COMM_LEN 16

/*
 * Latency histograms: four sub-buckets per power of two of nanoseconds.
 * Values 0..3 have a bucket each; a value v >= 4 with o = floor(log2(v))
 * goes to (o - 1) * 4 + the two bits of v below its top bit. The last
 * bucket also holds everything from 2^41 ns (36 minutes) up.
 */
#define CT_HIST_BUCKETS 160

/* Thread states, kept in ct_thread.state together with state_ts. */
enum ct_state {
	CT_ST_UNKNOWN = 0,
	CT_ST_RUNNING = 1, /* on a CPU */
	CT_ST_RUNNABLE = 2, /* on a run queue, waiting for a CPU */
	CT_ST_BLOCKED = 3, /* sleeping, waiting for a wakeup */
	CT_ST_DEAD = 4, /* exited: end_ts is set */
};

/* --holds: a pthread mutex a thread holds, since when (our clock). */
struct ct_held {
	__u64 uaddr;
	__u64 since;
};

#define CT_HELD 4 /* mutexes held at once tracked per thread: a power of two */

/* ct_thread.flags */
enum ct_thread_flags {
	CT_TF_SEEDED = 1 << 0, /* existed when tracing began */
	CT_TF_SEEN = 1 << 1, /* at least one scheduler event observed */
	CT_TF_GATED = 1 << 2, /* launched command before its execve: not accounted */
	CT_TF_SYS_PARTIAL = 1 << 3, /* current syscall began before tracing */
	CT_TF_PROCESS = 1 << 4, /* leader of its process when first seen, or forked as a process */
	/* Woken from a block whose length is settled at its next switch-out. */
	CT_TF_WOKEN = 1 << 5,
	/* Filled and published: user space ignores slots without it. */
	CT_TF_READY = 1 << 6,
	/* blocked on a mutex-like futex, counted in its lock's nblocked */
	CT_TF_FX_BUSY = 1 << 7,
	/* blocked at least once in the current take_gil: a contended acquisition */
	CT_TF_GIL_BLOCKED = 1 << 8,
	/* 1 << 9: once tier C's CT_TF_GIL_ASKED */
	/* the current futex wait is on a mutex-like word: one holder at a time */
	CT_TF_FX_LOCK = 1 << 10,
	/* without the kernel's run_delay: this run's queue wait is counted already */
	CT_TF_RUNQ_OWN = 1 << 11,
	/*
	 * Another thread asked for the GIL during the current hold (a forced
	 * switch request): only such holds are the longest hold (gil_hold_max).
	 */
	CT_TF_GIL_WANTED = 1 << 12,
	/*
	 * Tier C: another thread took the GIL during what looked like one hold
	 * of this thread (switch_number moved while it still held it): two or
	 * more holds joined across releases and takes it could not see.
	 */
	CT_TF_GIL_SPLIT = 1 << 13,
	/*
	 * A forked process's thread before its first GIL event: it forked
	 * holding the GIL (or its parent's GIL was not known yet), and what it
	 * did with it before its probes were in is unknown (acct.h,
	 * ct_gil_forked_hold()).
	 */
	CT_TF_GIL_FORKED = 1 << 14,
	/*
	 * The current futex wait began soon after a thread's wake from the
	 * same word, for the same value, before this thread woke a waiter of
	 * it: that wake was futile (ct_futex_block).
	 */
	CT_TF_FX_FUTILE = 1 << 15,
	/*
	 * The current futex wait is on a word of the GIL, which tier C follows:
	 * counted, its call site, holds and passes not looked for (set by
	 * ct_gilc_switch_out, after ct_futex_block).
	 */
	CT_TF_FX_GIL = 1 << 16,
};

/* No syscall in progress. */
#define CT_SYS_NONE (-1)
/* Syscall numbers at or above this are counted as CT_NR_SYSCALLS - 1. */
#define CT_NR_SYSCALLS 1024

/* Waker id used for wakeups done from interrupt context (timers, I/O). */
#define CT_WAKER_IRQ 0
/* Waker id of a wakeup whose sched_waking was not seen (tracing began in between). */
#define CT_WAKER_UNKNOWN 0xffffffffu
/* Runner id of the part of a run-queue wait that interrupts took from the runs that kept it. */
#define CT_RUNNER_IRQ 0xfffffffeu
/*
 * Waker id flag: the wakeup ran in a softirq that this thread (tid: the rest
 * of the id) raised in its own syscall, such as a send on loopback, whose
 * NET_RX softirq wakes the receiver (sched.bpf.c). Thread ids are below 2^22.
 */
#define CT_WAKER_SOFTIRQ 0x80000000u
/* Softirq vectors (NR_SOFTIRQS in linux/interrupt.h). */
#define CT_NR_SOFTIRQS 10

#define CT_RL_RUNNERS 8 /* runners cached per thread (rl_run): a power of two */

/* An entry of ct_thread.rl_wak: wakeups by one waker (count 0: free). */
struct ct_rl_waker {
	__u32 tid; /* the waker's id (CT_WAKER_*: an interrupt, a softirq's raiser, unknown) */
	__u32 tgid;
	__u64 count;
};

#define CT_RL_WAKERS 4 /* wakers cached per thread (rl_wak): a power of two */

/* ct_warm's argument (task.bpf.c): the slots [from, to) to write to ahead of their claims. */
struct ct_warm_args {
	__u32 from;
	__u32 to;
};

#define CT_WARM_MAX 4096 /* slots ct_warm writes to in one run, at most */

/*
 * A thread's blocked time in one syscall key (ct_gil_sys_key), cached in its
 * slot (bl): count 0, a free entry.
 */
struct ct_rl_sys {
	__s32 nr;
	__u32 pad;
	__u64 ns;
	__u64 count;
};

#define CT_RL_SYS 4 /* syscall keys cached per thread (bl): a power of two */

/* An entry of ct_thread.rl_run: waits, their time, behind one runner (waits 0: free). */
struct ct_rl_runner {
	__u32 tid; /* CT_WAKER_UNKNOWN: before the ring's oldest run */
	__u32 tgid;
	__u32 kthread;
	__u32 waits;
	__u64 ns;
};

/*
 * One traced thread: a slot of the `ct_threads` array map, which user space
 * maps read-only. Slots are never reused during a trace, so exited threads
 * stay visible until the report.
 *
 * Time accounting. On-CPU and run-queue time are the kernel's own per-task
 * counters (se.sum_exec_runtime, sched_info.run_delay), read at each
 * switch-out, so they agree with schedstat, time(1) and top. Blocked time
 * runs from switch-out to the enqueue at wakeup, in the same run-queue clock
 * the kernel uses for those counters (the enqueue is run_delay before the
 * next sched_info.last_arrival), so the three add up to the thread's
 * lifetime; it is split by the syscall the thread slept in. The open
 * interval since state_ts belongs to `state` and is closed by user space at
 * snapshot time, with the same rules (acct.h).
 */
struct ct_thread {
	__u32 tid;
	__u32 tgid;
	__u32 slot; /* own index in ct_threads */
	__u32 flags; /* enum ct_thread_flags */
	__u32 state; /* enum ct_state */
	__u32 wake_pending; /* sched_waking seen, switch-in not yet (written by wakers) */
	__u64 state_ts; /* when `state` began */
	__u64 start_ts; /* first traced moment: seed, fork or execve of a launched command */
	__u64 end_ts; /* final switch-out after exit; 0 while alive */
	char comm[CT_COMM_LEN];

	/*
	 * The figures (figures.def: what each means), and for a CT_KFIG the
	 * kernel's counter at the last switch-out (k_NAME).
	 */
#define CT_FIG(name, ...) __u64 name;
#define CT_KFIG(name, kfield, ...) \
	__u64 name;                \
	__u64 k_##name;
#include "figures.def"
#undef CT_FIG
#undef CT_KFIG

	__u64 k_exec; /* se.sum_exec_runtime at the last switch-out (or start) */
	__u64 k_delay; /* sched_info.run_delay at the last switch-out (or start) */
	__u64 wait_ts; /* became runnable (wakeup, preemption); 0 once folded into runq_ns */
	__u64 k_clock_out; /* rq->clock of the last switch-out, 0 if unknown */
	__u64 blk_ts; /* our clock at the start of the current or last block */
	__u64 k_steal_in; /* rq clock - clock_task when the current run began */

	__u64 kern_nvcsw; /* task->nvcsw at the last switch-out, classifies the next */

	/* Wakeups: blocked -> running transitions, and their latency (sched_waking to run). */
	__u64 wake_ts; /* sched_waking time of the pending wakeup (written by wakers) */
	__u32 wakelat_hist[CT_HIST_BUCKETS];

	/* Waker of the pending wakeup (set by sched_waking, in the waker's context). */
	__u32 pend_waker_tid;
	__u32 pend_waker_tgid;
	/*
	 * Cache of who woke it: the wakeups by the last CT_RL_WAKERS wakers
	 * add here, and the entry of the oldest moves to ct_wakers when
	 * another waker needs its place; user space's snapshot reads the rest
	 * from the slot. With one entry, a Python thread woken by turns by a
	 * GIL dropper and by a socket's softirq moved it at nearly every
	 * wakeup: a hash update each, 840 ns (docs/performance.md).
	 */
	struct ct_rl_waker rl_wak[CT_RL_WAKERS];
	__u32 rl_wak_next; /* the entry to replace next when all are taken */
	__u32 rl_wak_pad;
	/*
	 * Cache of who had the CPU while it waited (ct_runq_split): the waits
	 * behind the last CT_RL_RUNNERS runners add here, and the entry of the
	 * oldest is moved to ct_runners when another runner needs its place.
	 * With one entry, the waits of 8 threads on 2 CPUs (a socket
	 * ping-pong) changed runner at nearly every part: a hash update each,
	 * 320 ns of every switch (docs/performance.md).
	 */
	struct ct_rl_runner rl_run[CT_RL_RUNNERS];
	__u32 rl_run_next; /* the entry to replace next when all are taken */
	__u32 rl_run_pad;

	/* Syscall in progress (--syscalls only: sys_enter/sys_exit). */
	__s32 sys_nr; /* CT_SYS_NONE when not in a syscall */
	__s32 blk_nr; /* syscall the thread blocked in (from its registers), or CT_SYS_NONE */
	__u64 sys_ts; /* entry time, or tracing start for a partial syscall */
	__u64 sys_offcpu_ns; /* off-CPU (blocked + run queue) time within it so far */

	/*
	 * Blocked time by syscall key: the last CT_RL_SYS keys, the oldest
	 * moved to ct_sysstats when another needs its place. A Python thread's
	 * blocks alternate between keys (a GIL wait; a read with the GIL
	 * released): with one entry, a hash update at nearly every block.
	 */
	struct ct_rl_sys bl[CT_RL_SYS];
	__u32 bl_next; /* the entry to replace next when all are taken */
	__u32 rq_counted; /* 1 while counted in ct_queued (sched.bpf.c): queued for a CPU */

	/* Futex wait in progress: set at a blocking switch-out in a futex wait. */
	__u64 fx_uaddr; /* 0: not waiting on a futex */
	__u64 fx_start; /* our clock when it blocked */
	__u64 fx_site; /* its call site: innermost user return address outside libc, or 0 */
	__u32 fx_op; /* futex command (op & FUTEX_CMD_MASK), or CT_FUTEX_OP_* */
	/* user space, in its copy at a snapshot: the owner the mutex names (its tid), 0 unknown */
	__u32 fx_owner;
	__u32 fx_val; /* the value the current futex wait expects the word to hold */
	__u32 rw_val; /* the value the wait that rw_uaddr ended expected */
	/*
	 * The word a thread last woke it from, and when it ran again; 0 once
	 * it woke a waiter of that word (it passed it on) or waited again.
	 */
	__u64 rw_uaddr;
	__u64 rw_ts;
	/* The waker of a futex wait, as seen by sched_waking (written by wakers). */
	__u64 pend_fx_uaddr; /* the futex the waker was waking, 0 if not in a futex wake */
	__u64 pend_waker_site; /* the waker's call site (where it held the lock) */
	__u64 pend_hold_since; /* the waker certainly held the lock since, our clock; 0: unknown */
	__u32 pend_exit; /* the waker was exiting (a thread exit wakes its joiner) */
	__u32 pad_site;
	/* --syscalls: the futex call in progress */
	__u64 sys_fx_uaddr;
	__u32 sys_fx_op;
	__u32 held_next; /* --holds: the entry of held[] to replace next */
	/* --holds: pthread mutexes the thread holds now (uaddr 0: free entry) */
	struct ct_held held[CT_HELD];

	/* CPython's GIL, from uprobes on take_gil and drop_gil (gil.bpf.c). */
	__u32 gil_state; /* enum ct_gil_state */
	__u32 gil_blk; /* gil_state when the current or last block began */
	__u32 gil_in; /* gil_state at the last switch-in: the state it was queued in */
	__u32 gil_handed; /* tier C: woken by a drop (set by the waker's CPU: not in flags) */
	/*
	 * Tier C, the current run: CT_GIL_RUN_MINE once a sample found it
	 * holding the GIL (written by the sampler: not in flags).
	 */
	__u32 gil_run;
	__u32 gil_pad;
	__u64 gil_ts; /* when gil_state began, our clock */
	__u64 gil_sn; /* tier C: the GIL's switch_number seen during the current hold, 0 unknown */
	__u64 gil_tstate; /* tier C: its PyThreadState, once found holding the GIL; 0 unknown */
	__u64 gil_read_ts; /* tier C: its last read of the GIL at a switch-out */
	__u64 gil_g; /* tier C: its process's GIL address (ct_gilc_addr), 0 none; its own copy */
	__u32 gil_g_gen; /* ct_gil_gen + 1 when gil_g was read; 0 never */
	__u32 gil_g_pad;

	/* --stacks: the stack record of the current futex wait (ct_stacks), 0: none */
	__u32 stk_seq;
	__u32 stk_next; /* the thread's last record number */
};

/* Value of ct_gil_hists: a Python thread's GIL waits, log2 buckets. */
struct ct_gil_hist {
	__u32 wait[CT_HIST_BUCKETS];
};

/* Value of ct_gil_addrs: the GIL's mutex and condition variable in a process (0: not known yet). */
struct ct_gil_addrs {
	__u64 mutex;
	__u64 cond;
	__u32 futex; /* tier C: followed through its futex words (gil.bpf.c) */
	__u32 exec; /* the process execve'd since: these are the old image's, not used */
	/*
	 * When a forced switch request was last seen (a wait on cond..mutex
	 * that a timer ended), our clock; 0 none yet
	 */
	__u64 ask_ts;
	__u64 tid_off; /* tier C: PyThreadState.thread_id's offset (its pthread_t), 0 unknown */
	__u32 py_layout; /* --stacks: its frames' layout, ct_py_layouts[py_layout - 1]; 0 none */
	__u32 pad;
};

#define CT_GIL_PROCS 1024

/*
 * Tier C: where the GIL's futex words and fields lie from its address G
 * (3.8-3.13, glibc's pthread types on x86_64; docs/design.md).
 */
#define CT_GIL_LAST_HOLDER 8 /* PyThreadState *, then int locked at +16, switch_number at +24 */
#define CT_GIL_COND 32 /* pthread_cond_t: its futex words lie in [G+32, G+80) */
#define CT_GIL_MUTEX 80
#define CT_GIL_SWITCH_COND 120 /* [G+120, G+168): the forced switch's handoff */
#define CT_GIL_SWITCH_MUTEX 168
#define CT_GIL_END 208 /* the switch mutex's end: the GIL's futex words lie in [G+32, G+208) */

/* Key of ct_gil_tstates: a thread of a tier C process by its pthread_t (its TLS base). */
struct ct_gil_tstate_key {
	__u32 tgid;
	__u32 pad;
	__u64 pthread;
};

#define CT_GIL_TSTATES 4096

/* ct_thread.gil_run */
enum ct_gil_run {
	CT_GIL_RUN_NONE = 0,
	CT_GIL_RUN_MINE = 1,
};

/* ct_thread.gil_state */
enum ct_gil_state {
	CT_GIL_UNKNOWN = 0, /* not a Python thread, or not seen in take_gil/drop_gil yet */
	CT_GIL_WAITING = 1, /* in take_gil */
	CT_GIL_HELD = 2,
	CT_GIL_RELEASED = 3,
};

/*
 * ct_sysstats keys of blocks that began while the thread held the GIL, or
 * had released it: the syscall number plus the state times this bias.
 */
#define CT_GIL_SYS_BIAS 4096

/* The ct_sysstats key of a block in syscall nr, begun in GIL state gil. */
static inline int ct_gil_sys_key(int nr, __u32 gil)
{
	if (nr == CT_SYS_NONE || (gil != CT_GIL_HELD && gil != CT_GIL_RELEASED))
		return nr;
	return nr + CT_GIL_SYS_BIAS * (int)gil;
}

/* The syscall and GIL state of a ct_sysstats key (CT_GIL_UNKNOWN: not split). */
static inline int ct_gil_sys_nr(int key)
{
	return key >= 0 ? key % CT_GIL_SYS_BIAS : key;
}

static inline __u32 ct_gil_sys_state(int key)
{
	return key >= 0 ? (__u32)(key / CT_GIL_SYS_BIAS) : CT_GIL_UNKNOWN;
}

/* Key and value of the `ct_sysstats` hash map: per thread and syscall. */
struct ct_sys_key {
	__u32 slot;
	__s32 nr;
};

struct ct_sys_stat {
	/* Blocking, from the scheduler probes (always). */
	__u64 blocks; /* times the thread blocked in it */
	__u64 blocked_ns;
	/* Calls, from sys_enter/sys_exit (--syscalls only). */
	__u64 calls; /* completed calls that began while traced */
	__u64 errors; /* of those, returned -4095..-1 */
	__u64 partial; /* calls in progress when tracing began (time counted, not the call) */
	__u64 total_ns;
	__u64 max_ns;
	__u64 offcpu_ns;
	/*
	 * CPU-clock samples that found the thread on a CPU in it (any GIL
	 * state in the key; gilsample.bpf.c): its on-CPU time, estimated.
	 */
	__u64 samples;
};

/*
 * The period of the CPU-clock samples of released GIL time (gilsample.bpf.c),
 * in ns of each CPU's time: about 1,000 per second per CPU, whatever the
 * program does (--sample-hz takes every Nth). The 3 ns over 1 ms do not move
 * the samples' phase against the scheduler tick much (12 ns a 4 ms tick); a
 * period that turns it (1,061,803 ns) left tier C's hold errors under a
 * competing CPU hog as they were (docs/usage.md, tier C).
 */
#define CT_GIL_SAMPLE_NS 1000003ULL

/*
 * Key of the `ct_native` hash map: a sample of a Python thread running
 * user-space code with the GIL released (gilsample.bpf.c), by the address it
 * ran at; the value counts them (__u64). User space names the addresses
 * (library and function) while the process lives.
 */
struct ct_native_key {
	__u32 tgid;
	__u32 pad;
	__u64 ip;
};

#define CT_NATIVE_ENTRIES 16384

/* Futex commands (op & FUTEX_CMD_MASK), and the newer syscalls that have no op. */
#define CT_FUTEX_WAIT 0
#define CT_FUTEX_WAKE 1
#define CT_FUTEX_REQUEUE 3
#define CT_FUTEX_CMP_REQUEUE 4
#define CT_FUTEX_WAKE_OP 5
#define CT_FUTEX_LOCK_PI 6
#define CT_FUTEX_UNLOCK_PI 7
#define CT_FUTEX_TRYLOCK_PI 8
#define CT_FUTEX_WAIT_BITSET 9
#define CT_FUTEX_WAKE_BITSET 10
#define CT_FUTEX_WAIT_REQUEUE_PI 11
#define CT_FUTEX_CMP_REQUEUE_PI 12
#define CT_FUTEX_LOCK_PI2 13
#define CT_FUTEX_CMD_MASK 0x7f
#define CT_FUTEX_OP_WAITV 0x100 /* futex_waitv(2) */
#define CT_FUTEX_OP_WAIT2 0x101 /* futex_wait(2), 6.7+ */
#define CT_FUTEX_OP_WAKE2 0x102 /* futex_wake(2), 6.7+ */
#define CT_FUTEX_OP_REQUEUE2 0x103 /* futex_requeue(2), 6.7+ */

/* x86_64 syscall numbers of the futex family. */
#define CT_NR_EXIT 60
#define CT_NR_EXIT_GROUP 231
#define CT_NR_FUTEX 202
#define CT_NR_FUTEX_WAITV 449
#define CT_NR_EPOLL_WAIT 232
#define CT_NR_EPOLL_PWAIT 281
#define CT_NR_EPOLL_PWAIT2 441
#define CT_NR_FUTEX_WAKE 454
#define CT_NR_FUTEX_WAIT 455
#define CT_NR_FUTEX_REQUEUE 456

/*
 * User text ranges (executable mappings other than libc and the loader) of
 * a traced process, the value of the `ct_text` hash map by its pid: a stack
 * word in one of them (after a call instruction) is taken for a return
 * address into the user's code. Sorted, not overlapping: a binary search.
 * At most CT_TEXT_RANGES - 1 ranges; the unused entries are {~0, ~0}.
 */
#define CT_TEXT_RANGES 256 /* a power of two */
/* Processes with text ranges at once: entries are made as processes start (4 KiB each). */
#define CT_TEXT_PROCS 4096
#define CT_SCAN_WORDS 64

struct ct_text_range {
	__u64 start;
	__u64 end;
};

struct ct_text {
	struct ct_text_range r[CT_TEXT_RANGES];
};

/*
 * A lock: a futex word of a process. Written by its waiters at the end of
 * their waits (several CPUs: counters are atomic, maxima and the owner are
 * best effort).
 */
struct ct_lock_key {
	__u32 tgid;
	__u32 pad;
	__u64 uaddr;
};

/*
 * A release of a lock that woke a waiter: when, by whom, from where, and
 * since when the releaser certainly held it (0: unknown).
 */
struct ct_release {
	__u64 ts;
	__u64 start;
	__u64 site;
	__u32 tid;
	__u32 pad;
};

#define CT_RELEASES 4 /* releases remembered per lock: a power of two */

struct ct_lock_stat {
	__u64 waits; /* blocking waits that ended */
	__u64 wait_ns; /* their total: from blocking to running again */
	__u64 wait_max;
	__u64 wakes; /* waits ended by a futex wake from a thread */
	__u64 timeouts; /* waits ended from interrupt context: a timer (timed wait) */
	__u64 exit_wakes; /* waits ended by a thread's exit (pthread_join) */
	/*
	 * Contended hold episodes: from a handoff (woken with the lock) to
	 * waking the next waiter, exact; for a lock taken without a wait, at
	 * least from when a waiter found it taken (mutex-like commands only).
	 */
	__u64 holds;
	__u64 hold_ns;
	__u64 hold_max;
	__u64 owner_since; /* our clock: the current owner got it (contended handoff) */
	__u64 release_ts; /* our clock: the latest wake (release), set by the waker */
	__u64 block_ts; /* our clock: the first blocking wait after that release */
	/*
	 * Contended time: while at least one thread is blocked on the word
	 * and not yet woken, the lock is held (mutex-like commands only).
	 */
	__u64 busy_ns;
	__u64 busy_since;
	struct ct_release rel[CT_RELEASES]; /* the latest releases, a ring */
	__u32 rel_next; /* next slot of the ring */
	__u32 owner_tid; /* the current owner as contended handoffs tell, 0: unknown */
	__u32 op; /* futex command of the last wait */
	__u32 nblocked; /* threads blocked on it now, counted in busy_ns */
	/* --syscalls only */
	__u64 retries; /* waits that returned -EAGAIN: the word changed first */
	__u64 timeouts_ret; /* waits that returned -ETIMEDOUT */
	__u64 wake_calls; /* wake-type calls on it */
	__u64 woken; /* threads those calls woke (their return values) */
	__u32 wait_hist[CT_HIST_BUCKETS];
	__u32 hold_hist[CT_HIST_BUCKETS];
	/* --holds only: every acquisition of a contended pthread mutex, to its unlock */
	__u64 xholds;
	__u64 xhold_ns;
	__u64 xhold_max;
	__u32 xhold_hist[CT_HIST_BUCKETS];
	/*
	 * Passes, for every command: a thread woken from this word that
	 * later wakes a waiter of it, from its wake to that wake. Threads
	 * passing a lock around (a CPython lock, a semaphore used as a
	 * mutex) pass it after holding it, so the passes explain the waits;
	 * a chain of wakes through idle waiters (a pool's shutdown) is
	 * microseconds against their waits (docs/usage.md, locks and events).
	 */
	__u64 passes;
	__u64 pass_ns;
	__u64 pass_since; /* our clock: pass_tid was woken from the word */
	__u32 pass_tid; /* 0: the last woken thread has passed it on */
	__u32 pass_pad;
	/*
	 * Waits that began within CT_FUTILE_NS of the same thread's wake from
	 * the word, for the value it waited for then, and before it woke a
	 * waiter of it. Mostly futile wakeups: the word was taken again before
	 * the woken thread ran (a thread barged in, as a semaphore used as a
	 * lock allows). A barrier's or a condvar's next wait is for another
	 * value; but a consumer that took its item at once and waits for the
	 * next looks the same, so this is evidence, not a figure (locks.c).
	 */
	__u64 futile;
	__u64 futile_ns; /* those waits' time */
};

/*
 * A woken thread that finds the word taken waits again within a few
 * microseconds of its switch-in (the probes' own work, back from the futex
 * call, a failed compare-and-swap, in again): 5 us caught half of a
 * CPython Lock's, 10 us 90%. A CPython thread that took its item from a
 * queue and asks for the next one runs bytecode in between: 20 us caught
 * one such wait in 6 runs of a pool, 10 us none (docs/performance.md).
 */
#define CT_FUTILE_NS 10000ULL

/*
 * Who waited for whom on a lock: a waiter and a holder whose hold made it
 * wait (a wait spanning several holds is split among their holders).
 */
struct ct_edge_key {
	__u32 tgid;
	__u32 waiter;
	__u64 uaddr;
	__u32 holder; /* CT_WAKER_IRQ: a timer; CT_WAKER_UNKNOWN: not seen */
	__u32 pad;
};

struct ct_edge_val {
	__u64 waits; /* waits the holder's release ended */
	__u64 wait_ns; /* wait time it caused */
	__u64 holder_site; /* where the holder was when it released the lock (last seen) */
	__u64 waiter_site; /* where the waiter waited (last seen) */
};

/* Where waits on a lock came from. */
struct ct_site_key {
	__u32 tgid;
	/* lstacks (user space's, --stacks): the thread that waited or was sampled; call sites: 0 */
	__u32 tid;
	__u64 uaddr;
	__u64 site; /* 0: not found */
};

struct ct_site_val {
	__u64 waits;
	__u64 wait_ns;
};

/* Key and value of the `ct_wakers` hash map: who woke a thread, how often. */
struct ct_waker_key {
	__u32 slot; /* wakee */
	__u32 waker_tid; /* CT_WAKER_IRQ for interrupt context */
};

struct ct_waker_val {
	__u64 count;
	__u32 waker_tgid;
	__u32 pad;
};

/*
 * Who had the CPU while a traced thread waited for it. Every switch of the
 * machine pushes the run it starts into its CPU's ring of the latest runs;
 * a traced thread that gets the CPU splits its wait (from its enqueue,
 * sched_info.last_queued, to now, both in that run queue's clock) among
 * the runs of the ring that overlap it.
 */
#define CT_RUNS 256 /* a power of two: a wait longer than 256 runs of its CPU is partly "unknown" */

struct ct_run {
	__u32 tid; /* 0: the CPU was idle */
	__u32 tgid;
	__u64 start; /* rq clock */
	__u16 kthread; /* a kernel thread */
	__u16 traced; /* a traced thread: not merged with its process's next run */
	__u32 irq; /* ns of it that interrupts took (hardirqs, softirqs, the local timer) */
	/*
	 * ns on the CPU (the task clock) of the runs it holds: a run merged
	 * into its process's entry can follow runs of others not recorded.
	 */
	__u64 ran;
};

struct ct_cpu_runs {
	struct ct_run r[CT_RUNS];
	__u32 next; /* the next entry to fill */
	__u32 pad;
};

/* Key and value of the `ct_runners` hash map. */
struct ct_runner_key {
	__u32 slot; /* the thread that waited */
	__u32 tid; /* the runner; CT_WAKER_UNKNOWN: before the ring's oldest run */
};

struct ct_runner_val {
	__u64 ns; /* of the waits of slot, while tid ran */
	__u64 waits; /* waits it had a part in */
	__u32 tgid;
	__u32 kthread;
};

/*
 * Everything the BPF side had to drop or could not see. User space shows
 * each non-zero counter in the report.
 */
struct ct_counters {
	__u64 seeded; /* threads found by the seeding iterator */
	__u64 forked; /* threads and processes tracked from fork */
	/* threads the seeding iterator found after tracing began: their start was missed */
	__u64 seeded_late;
	/* threads whose storage their fork could not have, claimed at their first switch-out */
	__u64 claimed_late;
	/* What was dropped or not seen (drops.def: what each means). */
#define CT_DROP(name, ...) __u64 name;
#include "drops.def"
#undef CT_DROP
};

/*
 * Records of the `ct_events` ring buffer: things user space should look at
 * at once, not at its next periodic refresh (a new program image's symbols
 * and text, a new process's /proc facts).
 */
enum ct_event_kind {
	CT_EV_EXEC = 1, /* a traced process replaced its image */
	CT_EV_PROCESS = 2, /* a traced process was forked (--follow) */
	/* 3: once tier C's ask for a thread's PyThreadState (the BPF side learns it now) */
	CT_EV_UNTRACED = 4, /* a new thread could not be given its storage: seed it again */
};

struct ct_event {
	__u32 kind;
	__u32 pid;
};

/*
 * --timeline: records of the `ct_timeline` ring buffer, one per state change
 * of a traced thread. A record carries the thread's figures after the change
 * (the kernel's own counters, as the report has them), so that a timeline
 * made of them adds up to the report: the duration of each state passed
 * through since the thread's previous record is the growth of its figure.
 * A switch-in needs no record: the run-queue wait that ends at it is in the
 * next switch-out's figures (half the records of a switch).
 */
enum ct_tl_kind {
	CT_TL_SWITCH_OUT = 1, /* left its CPU: how (enum ct_out_how), in what syscall or futex */
	CT_TL_WAKING = 2, /* woken by `other` (a tid; CT_WAKER_IRQ: from an interrupt) */
	CT_TL_GIL = 3, /* its GIL state changed: how = the new enum ct_gil_state */
	/*
	 * With --stacks, an on-CPU sample whose stack user space unwound (it
	 * writes this record, not the kernel): how = enum ct_smp_class, uaddr
	 * = the stack's id in the snapshots, other = the tid.
	 */
	CT_TL_SAMPLE = 4,
};

/* ct_tl_event.fig[] of a CT_TL_SWITCH_OUT: oncpu_ns, stolen_ns, runq_ns, blocked_ns. */
enum ct_tl_sched_fig { CT_TLF_ONCPU, CT_TLF_STOLEN, CT_TLF_RUNQ, CT_TLF_BLOCKED, CT_TLF_N };
/* ct_tl_event.fig[] of a CT_TL_GIL: gil_wait_ns, gil_hold_ns, gil_rel_ns. */
enum ct_tl_gil_fig { CT_TLF_GIL_WAIT, CT_TLF_GIL_HOLD, CT_TLF_GIL_REL };

struct ct_tl_event {
	__u64 ts; /* our clock */
	__u32 slot; /* the thread's ct_threads slot */
	__u16 kind; /* enum ct_tl_kind */
	__u16 how;
	__s32 nr; /* SWITCH_OUT to sleep: the syscall (CT_SYS_NONE: outside one) */
	__u32 other; /* WAKING: the waker's tid */
	__u64 uaddr; /* SWITCH_OUT to sleep in a futex wait: its word, else 0 */
	__u64 fig[CT_TLF_N]; /* cumulative figures after the change (ct_tl_*_fig) */
};

/*
 * The ring buffer's size (a power of two of pages). 8 MiB holds 131072
 * records: at the 1.2 M records/s of `perf bench sched pipe` on one CPU,
 * 110 ms of them, while user space drains it every TIMELINE_DRAIN_MS or
 * when it is a quarter full (docs/performance.md).
 */
#define CT_TL_RING_BYTES (8u << 20)
#define CT_TL_WAKE_BYTES (CT_TL_RING_BYTES / 4)

/* Load-time configuration (.rodata). */
struct ct_config {
	__u32 targ_tgid; /* process to seed */
	__u32 follow; /* also track child processes */
	__u32 gate_tgid; /* launched command: not accounted before its execve */
	__u32 max_threads; /* entries of ct_threads */
	__u64 thread_size; /* kernel stack size, to tell task from interrupt context */
	__u32 syscalls; /* sys_enter/sys_exit attached: per-syscall calls and times */
	__u32 holds; /* --holds: uprobes on pthread_mutex_lock/unlock */
	__u32 gil; /* uprobes on CPython's take_gil/drop_gil may be attached */
	__u32 timeline; /* --timeline: state changes streamed through ct_timeline */
	__u32 stacks; /* --stacks: copy the user stack at each futex wait (stacks.bpf.c) */
	__u32 sample_every; /* --stacks: a stack at every Nth CPU-clock sample (0: none) */
	__u32 fail_claims; /* tests only: every Nth claim of a new thread fails (0: none) */
	__u32 multi; /* the processes of ct_targets, chosen by user space (contrace serve) */
	__u32 tgid_mask; /* multi: CT_TGID_BITS - 1 (tests: fewer, so that tgids share bits) */
};

/*
 * ct_targets (multi mode): a process user space traces, by tgid. Added
 * with seeding 1, then seeded by the iterator (each thread it claims
 * counted in `seeded`); once user space's passes are done it clears
 * seeding, and a thread the iterator finds after that is a late one.
 */
struct ct_target {
	__u32 seeding;
	__u32 seeded;
};

/*
 * Multi mode's first filter, before the task storage lookup: a bit per
 * tgid modulo CT_TGID_BITS (.bss ct_tgid_bits), set by user space for each
 * target. The scheduler programs look up prev's and next's storage at
 * every switch of the machine and the woken task's at every wakeup (~20 ns
 * each): a clear bit answers "untraced" with one load. A bit that another
 * tgid shares only sends it on to the lookup.
 */
#define CT_TGID_BITS 65536

/* The word of tgid's bit; mask: ct_config.tgid_mask (a power of two less one, >= 63). */
static inline __u32 ct_tgid_word(__u32 tgid, __u32 mask)
{
	return (tgid & mask & (CT_TGID_BITS - 1)) / 64;
}

static inline __u64 ct_tgid_mask(__u32 tgid)
{
	return 1ULL << (tgid % 64);
}

/*
 * --stacks: records of the `ct_stacks` ring buffer. At a blocking futex
 * wait, the thread's user registers and the pages of its user stack from
 * the one holding its stack pointer on (CT_STACK_PAGES of them, fewer where
 * the stack's mapping ends), for user space to unwind with the call-frame
 * information of the binaries (.eh_frame), as perf --call-graph dwarf does:
 * the C library and most distribution binaries keep no frame pointers. At
 * the wait's end, its length, so that user space weighs the stack by it.
 */
enum ct_stack_kind {
	CT_STK_BEGIN = 1, /* struct ct_stack_rec */
	CT_STK_END = 2, /* struct ct_stack_end */
	/*
	 * After a CT_STK_BEGIN of a wait for the GIL: the Python frames of the
	 * thread holding it then (struct ct_stack_rec up to `data`; regs and
	 * base unused; uaddr: the holder's tid, 0 if unknown)
	 */
	CT_STK_HOLDER = 3,
	/*
	 * --stacks: a CPU-clock sample (every CT_GIL_SAMPLE_NS of a CPU's time)
	 * of a traced thread on the CPU (struct ct_stack_rec; uaddr: enum
	 * ct_smp_class): a Python thread's Python frames (up to `data`), or
	 * another's registers and stack bytes, as at a wait
	 */
	CT_STK_SAMPLE = 4,
};

/*
 * ct_stack_rec.uaddr of a block in a syscall other than a futex wait: this
 * bit and the syscall's number (no futex word has it: user addresses end
 * below bit 47).
 */
#define CT_STK_SYSCALL (1ULL << 61)

/* What a sampled Python thread was doing (CT_STK_SAMPLE). */
enum ct_smp_class {
	CT_SMP_OTHER = 0, /* not known: the thread's GIL not seen yet */
	CT_SMP_HELD = 1, /* running with the GIL: Python code, or C code that keeps it */
	CT_SMP_WAITING = 2, /* in take_gil */
	CT_SMP_NATIVE = 3, /* the GIL released, in user space: native code */
	CT_SMP_KERNEL = 4, /* the GIL released, in the kernel: a syscall that did not block */
	CT_SMP_RUNNING = 5, /* a thread of a process without Python: its native stack */
	CT_SMP_CLASSES = 6,
};

#define CT_STACK_PAGE 4096
#define CT_STACK_PAGES 3 /* 8 to 12 KiB above the stack pointer: perf's default is 8 KiB */
#define CT_STACK_BYTES (CT_STACK_PAGES * CT_STACK_PAGE)

/* User registers in DWARF's x86_64 numbering: rax rdx rcx rbx rsi rdi rbp rsp r8-r15 rip. */
#define CT_STACK_REGS 17

struct ct_stack_end {
	__u32 kind; /* CT_STK_END */
	__u32 tid;
	__u32 tgid;
	__u32 seq; /* of the thread's CT_STK_BEGIN record */
	__u64 uaddr; /* the futex word */
	__u64 wait_ns; /* the wait, as its lock counted it */
};

/*
 * Value of ct_stack_hints, by thread id (written by user space): how many
 * bytes above the stack pointer the last unwind from this (ip, sp) read.
 * A thread that waits again from the same place needs only those: the copy
 * is that long instead of whole pages (user space asks for the pages again
 * if it was too short).
 */
struct ct_stack_hint_place {
	__u64 ip;
	__u64 sp;
	__u32 len;
	__u32 pad;
};

/*
 * Places per thread: a thread that waits for a condition variable and then
 * relocks its mutex has two; a Python thread blocked on a lock three more
 * (the lock, then take_gil's condition variable and mutex). With two, such
 * a thread replaced a hint at nearly every wait: 238,000 map updates (a
 * syscall each) for 283,000 stacks of a lock ping-pong of pyenv 3.12.
 */
#define CT_STACK_HINTS 4

struct ct_stack_hint {
	struct ct_stack_hint_place e[CT_STACK_HINTS];
};

/*
 * A Python frame at a wait: its code object and the byte offset of its
 * instruction in the bytecode (negative: not started), user space names them.
 */
struct ct_py_frame {
	__u64 code;
	__s32 off;
	__u32 flags; /* CT_PYF_*, and the code object's stamp above CT_PYF_STAMP_SHIFT */
};

/* The frame began an evaluation: one native _PyEval_EvalFrameDefault call ran it and its callees. */
#define CT_PYF_ENTRY 1
/*
 * A code object's stamp (ct_py_stamp()): its co_firstlineno and co_name
 * as the walk read them, so that a code object freed and another made at
 * its address (a module's, once imported, then a function's) is told
 * apart by user space, which names each (address, stamp) once.
 */
#define CT_PYF_STAMP_SHIFT 8

/* Python frames kept per wait, innermost first; deeper ones are cut (CT_PYS_CUT). */
#define CT_PY_FRAMES 64

/* ct_stack_rec.py_state */
enum ct_py_state {
	CT_PYS_NONE = 0, /* not a Python thread, or --stacks without Python */
	CT_PYS_OK = 1, /* py[0 .. npy) are all its frames */
	CT_PYS_CUT = 2, /* more than CT_PY_FRAMES: the outermost are missing */
	CT_PYS_UNREAD = 3, /* a frame could not be read: the ones after it are missing */
	CT_PYS_NO_TSTATE = 4, /* a Python process, the thread's PyThreadState unknown */
};

struct ct_stack_rec {
	__u32 kind; /* CT_STK_BEGIN */
	__u32 tid;
	__u32 tgid;
	__u32 seq; /* per thread, from 1 */
	__u64 uaddr;
	__u64 base; /* user address of data[0]: the stack pointer (hinted), or its page */
	__u64 ts; /* CT_STK_SAMPLE: when it was taken (bpf_ktime_get_ns) */
	__u32 len; /* bytes of data read, at most CT_STACK_BYTES (the record ends there) */
	__u32 slot; /* CT_STK_SAMPLE: the thread's ct_threads slot */
	__u64 regs[CT_STACK_REGS];
	__u32 npy; /* Python frames in py[] */
	__u32 py_state; /* enum ct_py_state */
	struct ct_py_frame py[CT_PY_FRAMES];
	__u8 data[CT_STACK_BYTES];
};

/* Time since `since`, never negative when two CPUs race on a timestamp. */
static inline __u64 ct_delta(__u64 now, __u64 since)
{
	return now > since ? now - since : 0;
}

/* Histogram bucket of a value in nanoseconds (see CT_HIST_BUCKETS). */
static inline __u32 ct_log2_u64(__u64 v)
{
	__u32 r, shift;

	shift = (v > 0xffffffffULL) << 5;
	v >>= shift;
	r = shift;
	shift = (v > 0xffff) << 4;
	v >>= shift;
	r |= shift;
	shift = (v > 0xff) << 3;
	v >>= shift;
	r |= shift;
	shift = (v > 0xf) << 2;
	v >>= shift;
	r |= shift;
	shift = (v > 0x3) << 1;
	v >>= shift;
	r |= shift;
	r |= (__u32)(v >> 1);
	return r;
}

static inline __u32 ct_hist_index(__u64 v)
{
	__u32 o, idx;

	if (v < 4)
		return (__u32)v;
	o = ct_log2_u64(v);
	idx = (o - 1) * 4 + (__u32)((v >> (o - 2)) & 3);
	return idx < CT_HIST_BUCKETS ? idx : CT_HIST_BUCKETS - 1;
}

#endif /* CONTRACE_H */
