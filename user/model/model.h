/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The report model: plain structs built from snapshots, rendered by
 * report_text.c and report_json.c. Times are nanoseconds.
 */
#ifndef CONTRACE_MODEL_H
#define CONTRACE_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model/figs.h"
#include "util/hist.h"
#include "snap/snapshot.h"

struct rpt_syscall {
	int nr;
	uint64_t blocks; /* times a thread blocked in it */
	uint64_t blocked_ns;
	/* The rest only with --syscalls (meta->syscalls). */
	uint64_t calls; /* completed in the window */
	uint64_t errors;
	uint64_t partial; /* completed, but began before tracing: time only */
	uint64_t open; /* in progress at the end of the window: time only */
	uint64_t total_ns;
	uint64_t max_ns; /* since tracing began */
	uint64_t offcpu_ns;
	/* With the GIL released (rel_sys rows): on a CPU in it, from samples. */
	uint64_t samples; /* CPU-clock samples that found a thread running in it */
	uint64_t oncpu_ns; /* its share of the samples, of the exact released on-CPU time */
};

/* The figures of one thread (bpf/figures.def), or summed over threads. */
struct rpt_sched {
	struct figs f;
	struct hist wakelat; /* wakeup latencies (f.wakelat_sum, f.wakelat_max) */
};

void rpt_sched_add(struct rpt_sched *dst, const struct rpt_sched *src);

struct rpt_waker {
	uint32_t tid; /* 0: interrupt context (timer, I/O completion) */
	bool softirq; /* tid woke it from a softirq its own syscall raised (a loopback send) */
	uint32_t pid;
	char comm[CT_COMM_LEN];
	uint64_t count;
};

/* Who had the CPU while a traced thread waited for it in the run queue. */
enum rpt_runner_kind {
	RPT_RUN_SIBLING, /* a thread of the same process */
	RPT_RUN_PROCESS, /* a thread of another process */
	RPT_RUN_KERNEL, /* a kernel thread */
	RPT_RUN_IRQ, /* interrupts (hardirqs, softirqs, the local timer) during others' runs */
	RPT_RUN_IDLE, /* nobody: the CPU was idle (waking up, or held back by a quota) */
	RPT_RUN_UNKNOWN, /* before the oldest run the probe keeps per CPU */
};

struct rpt_runner {
	enum rpt_runner_kind kind;
	uint32_t tid; /* a thread's; in a process's list, 0 for other processes' */
	uint32_t pid;
	char comm[CT_COMM_LEN];
	uint64_t ns; /* of the run-queue wait */
	uint64_t waits; /* waits it had a part in */
};

#define RPT_RUNQ_VERDICTS 3

/* How the GIL of a Python process is observed. */
enum rpt_gil_tier {
	RPT_GIL_NONE = 0, /* not observed: see rpt_gil_info.why */
	RPT_GIL_UPROBES = 1, /* tier A: uprobes on take_gil/drop_gil */
	RPT_GIL_LIBC = 2, /* tier B: uprobes in the C library, on the GIL's mutex and condvar */
	RPT_GIL_FUTEX = 3, /* tier C: the GIL's futex words and fields, from the scheduler probes */
};

/* A tier's name in JSON and metrics: "uprobes", "libc", "futex" or "none". */
const char *rpt_gil_tier_name(enum rpt_gil_tier t);

/*
 * What a sampled thread was doing (enum ct_smp_class): its JSON name
 * ("held", "waiting", "native", "kernel", "running", "unknown") and its text.
 */
const char *rpt_smp_class_name(uint32_t cls);
const char *rpt_smp_class_text(uint32_t cls);

/* A CPython process as found when it was probed. */
struct rpt_gil_info {
	int pid;
	char file[64]; /* basename of the interpreter file: python3.11, libpython3.11.so.1.0 */
	char version[8]; /* "3.11" */
	bool free_threaded; /* a 3.13t-style build: no GIL */
	enum rpt_gil_tier tier;
	char why[160]; /* why tier A is not used, or "" */
	uint64_t addr; /* the GIL struct, 0 if not found */
	uint64_t interval_us; /* its switch interval as read when probed, 0 if unknown */
};

/*
 * Released GIL time on a CPU, split by CPU-clock samples (gilsample.bpf.c):
 * each share of the samples applied to the exact time; without samples
 * (none taken: an old recording, sampling unavailable) nothing is split.
 */
struct rpt_gil_split {
	bool absent; /* a recording older than the samples: not measured (null in JSON) */
	uint64_t samples; /* samples of released time on a CPU: the three below */
	uint64_t smp_sys, smp_native, smp_kernel;
	uint64_t sys_ns; /* in syscalls (ones that did not block, or their on-CPU part) */
	uint64_t native_ns; /* in user space: native code such as zlib */
	uint64_t kernel_ns; /* in the kernel outside any syscall: page faults, interrupts */
	uint64_t smp_held; /* tier C: samples that found the GIL held, not counted above */
	uint64_t held_ns; /* tier C: the hold on a CPU, the samples' share (resplit_oncpu) */
	uint64_t smp_taking; /* tier C: samples in take_gil by its events, not counted above */
	uint64_t taking_ns; /* tier C: the wait on a CPU, their share */
	uint64_t hold_off_ns, wait_off_ns; /* tier C: the hold and the wait off a CPU, by events */
};

/* A Python thread and the GIL. */
struct rpt_thread_gil {
	bool seen; /* seen in take_gil or drop_gil */
	uint64_t hold_ns;
	uint64_t hold_max; /* since tracing began */
	uint64_t wait_ns; /* in take_gil */
	uint64_t wait_max; /* since tracing began */
	struct hist wait_hist;
	uint64_t takes; /* acquisitions */
	uint64_t waits; /* of those, contended (it blocked in take_gil) */
	uint64_t forced; /* its GIL waits that timed out: drop requests to the holder */
	uint64_t rel_ns; /* released */
	uint64_t rel_blocked_ns; /* of that, blocked: rel_sys by syscall */
	uint64_t rel_runq_ns; /* of that, waiting for a CPU */
	uint64_t rel_oncpu_ns; /* of that, running: split below by samples */
	struct rpt_gil_split split; /* rel_oncpu_ns in syscalls, native code, other kernel */
	size_t nrel_sys;
	struct rpt_syscall *rel_sys; /* blocked or on a CPU while released, by syscall */
	size_t nheld_sys;
	struct rpt_syscall *held_sys; /* blocked while holding the GIL, by syscall */
};

struct rpt_thread {
	uint32_t slot; /* its ct_threads slot: links the modules' parts */
	uint32_t tid;
	uint32_t pid;
	char comm[CT_COMM_LEN];
	char pyname[SNAP_PYNAME_LEN]; /* threading.Thread.name of a Python thread, or "" */
	bool started; /* created during the window */
	bool exited; /* exited during the window */
	uint64_t start_ns; /* offset of its first traced moment from the window start */
	uint64_t alive_ns; /* == oncpu + stolen + runq + blocked */
	struct rpt_sched s;
	size_t nsys;
	struct rpt_syscall *sys;
	size_t nwakers;
	struct rpt_waker *wakers;
	size_t nrunners;
	struct rpt_runner *runners; /* by time */
	struct rpt_thread_gil gil;
};

/* The name a thread is shown by: its Python name if it has one, else its comm. */
static inline const char *rpt_thread_name(const struct rpt_thread *t)
{
	return t->pyname[0] ? t->pyname : t->comm;
}

/* A thread that waited for a lock, or held it (woke a waiter). */
struct rpt_lock_party {
	uint32_t tid; /* 0: a timer (interrupt); CT_WAKER_UNKNOWN: not seen */
	char comm[CT_COMM_LEN];
	uint64_t waits; /* waits it made (waiter), or that it ended (holder) */
	uint64_t wait_ns;
};

/* Who waited for whom: the waits of one waiter that one holder ended. */
struct rpt_lock_chain {
	uint32_t waiter;
	uint32_t holder; /* as rpt_lock_party.tid */
	char waiter_comm[CT_COMM_LEN];
	char holder_comm[CT_COMM_LEN];
	uint64_t waits;
	uint64_t wait_ns;
	char holder_site[SNAP_SYM_LEN]; /* where the holder was when it woke the waiter */
	char waiter_site[SNAP_SYM_LEN];
};

/* Where the waits on a lock came from. */
struct rpt_lock_site {
	uint64_t addr; /* 0: not found */
	char name[SNAP_SYM_LEN];
	uint64_t waits;
	uint64_t wait_ns;
};

/*
 * --stacks: the waits on a lock from one user stack. n == 0: the waits
 * whose stack was not copied or not unwound (drops say why), so that a
 * lock's stacks add up to its waits.
 */
struct rpt_lock_stack {
	uint64_t waits;
	uint64_t wait_ns;
	uint32_t n;
	bool partial; /* not unwound to the thread's first function */
	char (*frames)[SNAP_SYM_LEN]; /* leaf first: "FILE:function+0xOFFSET" */
	/*
	 * The same waits (or samples) by the thread that waited (or was
	 * sampled), by tid; none for the waits without a stack, and in
	 * recordings made before the split was kept.
	 */
	size_t nthreads;
	struct rpt_stack_thread *threads;
};

struct rpt_stack_thread {
	uint32_t tid;
	uint64_t waits;
	uint64_t wait_ns;
};

/* A wait still in progress when the report was made (a hung or deadlocked thread). */
struct rpt_lock_now {
	uint32_t tid;
	char comm[CT_COMM_LEN];
	uint64_t wait_ns; /* so far (from tracing's start if it began before) */
	bool before; /* it began before tracing did: longer than wait_ns */
	uint32_t owner; /* the thread it waits for, as the lock's memory says; 0: unknown */
	char owner_comm[CT_COMM_LEN];
	bool join; /* owner: the thread a pthread_join waits for, not a mutex's owner */
	bool lockish; /* a wait for a locked word: the value 2 of a futex mutex, or a PI futex */
	bool idle; /* it began before the window did: the thread waited all of it */
	uint64_t window_ns; /* of wait_ns, in the window */
	char site[SNAP_SYM_LEN]; /* "" when not found */
};

/*
 * What the waits on a futex word are (docs/usage.md, "Locks and events"):
 * contention for a lock another thread holds, or waiting for an event (a
 * signal, work, a thread's exit), which nothing holds.
 */
enum rpt_wait_kind {
	RPT_KIND_LOCK = 0,
	RPT_KIND_EVENT = 1,
};

/* Why a word was classified so, in the order the rule tries them (model/locks.c). */
enum rpt_kind_why {
	RPT_WHY_GIL, /* lock: a word of CPython's GIL */
	RPT_WHY_DEADLOCK, /* lock: a wait on it is part of a deadlock */
	RPT_WHY_PI, /* lock: FUTEX_LOCK_PI, the word holds its owner's tid */
	RPT_WHY_MUTEX, /* lock: waited for the value 2, "locked with waiters" */
	RPT_WHY_CONDVAR, /* event: a glibc condition variable's two group words */
	RPT_WHY_JOIN, /* event: every wait ended by a thread's exit */
	RPT_WHY_PEERS, /* lock: woken mostly by threads that also wait on it */
	RPT_WHY_SIGNALLERS, /* event: woken mostly by threads that never wait on it */
	RPT_WHY_UNWOKEN, /* event: no thread's wake seen (timers, waits in progress) */
	RPT_WHY_COUNT
};

/*
 * A lock: a futex word of a process, seen through its contended waits
 * (uncontended acquisitions make no syscall and are not seen).
 */
struct rpt_lock {
	uint64_t uaddr;
	char name[SNAP_SYM_LEN];
	bool named; /* a symbol, not only a mapping */
	uint32_t op; /* futex command of its waits */
	uint64_t waits;
	uint64_t wait_ns;
	uint64_t wait_max; /* since tracing began */
	struct hist wait_hist;
	uint64_t wakes; /* waits ended by a futex wake */
	uint64_t timeouts; /* waits ended by a timer */
	uint64_t other_wakes; /* by anything else: a thread's exit, a signal, an unseen waker */
	uint64_t exit_wakes; /* of those, by a thread's exit */
	bool join; /* every wait ended by a thread's exit: pthread_join, not a lock */
	uint64_t holds; /* contended hold episodes: handed the lock, then handing it on */
	uint64_t hold_ns;
	uint64_t hold_max;
	struct hist hold_hist;
	uint64_t contended_ns; /* time at least one thread was blocked on it, until woken */
	/* --holds: every acquisition of the mutex (once it is in the table) to its unlock */
	bool exact; /* --holds was on */
	uint64_t xholds;
	uint64_t xhold_ns;
	uint64_t xhold_max;
	struct hist xhold_hist;
	/* --syscalls only */
	uint64_t retries;
	uint64_t timeouts_ret;
	uint64_t wake_calls;
	uint64_t woken;
	/* Derived over the process's wall time. */
	double held_fraction; /* held at least: max(hold_ns, contended_ns) / wall time */
	double avg_waiting; /* waiting threads on average: wait time / wall time */
	bool serialising; /* held most of the time while several threads wait: GIL-like */
	size_t nwaiters;
	struct rpt_lock_party *waiters; /* by wait time */
	size_t nholders;
	struct rpt_lock_party *holders; /* by the wait time they ended */
	size_t nchains;
	struct rpt_lock_chain *chains; /* by wait time */
	size_t nsites;
	struct rpt_lock_site *sites; /* by wait time */
	size_t nstacks;
	struct rpt_lock_stack *stacks; /* --stacks: by wait time */
	bool condvar; /* a glibc condition variable: its two group words, one row */
	bool gil; /* a word of CPython's GIL (its mutex, condition variables) */
	bool deadlocked; /* a wait in progress on it is part of a deadlock: always shown */
	enum rpt_wait_kind kind;
	enum rpt_kind_why why;
	uint64_t peer_ns; /* of the wait ended by threads, woken by threads that wait on it too */
	uint64_t signal_ns; /* woken by threads that never waited on it in the window */
	uint64_t passes; /* woken from it, then waking a waiter of it (ct_lock_stat.passes) */
	uint64_t pass_ns;
	/* quick waits again after a wake from it (ct_lock_stat.futile; 0 in older recordings) */
	uint64_t futile;
	uint64_t futile_ns;
	size_t nwait_threads; /* threads that waited on it: in the window, or waiting now */
	size_t nnow;
	struct rpt_lock_now *now; /* waits in progress, longest first */
	uint64_t now_ns; /* their time so far */
};

/* Threads each waiting for a lock the next one holds, the last for the first's. */
#define RPT_DEADLOCK_MAX 8

struct rpt_deadlock {
	size_t n;
	struct {
		uint32_t tid;
		char comm[CT_COMM_LEN];
		char lock[SNAP_SYM_LEN]; /* the lock it waits for */
		uint32_t owner; /* its holder: the next member */
	} m[RPT_DEADLOCK_MAX];
};

#define RPT_VERDICTS 4
#define RPT_VERDICT_LEN 400

/* A Python process's GIL, summed over its Python threads. */
/* Where a Python process's native code ran with the GIL released: a function, by samples. */
struct rpt_native {
	char name[SNAP_SYM_LEN]; /* "libz.so.1:deflate_slow", or the library or address alone */
	bool found; /* a function's symbol, not only its library */
	uint64_t samples;
	uint64_t ns; /* its share of split.native_ns */
};

#define RPT_NATIVE_TOP 8 /* functions listed; the rest summed in native_other */

/*
 * --stacks: waits or samples by a Python stack and what it stands for
 * (lstacks' SNAP_GIL_HOLDER and SNAP_ONCPU entries). st first: sorted as
 * lock stacks are.
 */
struct rpt_tagged_stack {
	struct rpt_lock_stack st; /* Python frames only, innermost first */
	/*
	 * GIL holders: the holder's tid, 0 unknown (3.8-3.10 keep no tid with a
	 * thread state). On-CPU samples: enum ct_smp_class (st.waits: samples).
	 * Blocked syscalls: the syscall's number (st.waits: blocks).
	 */
	uint32_t tag;
};

struct rpt_gil {
	struct rpt_gil_info info;
	size_t nthreads; /* Python threads seen in take_gil/drop_gil */
	uint64_t hold_ns;
	uint64_t wait_ns;
	uint64_t takes;
	uint64_t waits;
	uint64_t forced;
	uint64_t rel_ns;
	uint64_t rel_blocked_ns;
	uint64_t rel_runq_ns;
	uint64_t rel_oncpu_ns;
	uint64_t rel_sync_ns; /* of rel_blocked_ns, in futex: waiting for other threads (locks, queues) */
	uint64_t rel_io_ns; /* of rel_blocked_ns, in other syscalls: I/O, sleeps */
	struct rpt_gil_split split; /* the threads' rel_oncpu_ns split, summed */
	uint64_t rel_io_cpu_ns; /* of split.sys_ns, in syscalls other than futex */
	size_t nrel_sys;
	struct rpt_syscall *rel_sys; /* by blocked plus on-CPU time */
	/* split.smp_native's samples by function, most first (NULL: none) */
	bool native_absent; /* not recorded (an older recording): null in JSON */
	size_t nnative;
	struct rpt_native *native;
	uint64_t native_other; /* samples of the functions after the first RPT_NATIVE_TOP */
	uint64_t native_other_ns;
	size_t nholders;
	struct rpt_tagged_stack *holders; /* --stacks: by wait, most first */
	double held_fraction; /* hold / wall */
	double avg_waiting; /* wait / wall: threads waiting for it on average */
	double takes_per_s; /* contended acquisitions (handoffs to a waiter) per second */
	double parallelism; /* (hold + released on a CPU) / wall: threads running at once */
	size_t nverdicts;
	char verdicts[RPT_VERDICTS][RPT_VERDICT_LEN];
	uint64_t verdict_ns[RPT_VERDICTS]; /* the time each explains: the SUMMARY's rank */
};

/*
 * The cgroup v2 CPU quota that limits a process (cpu.max), and its group's
 * throttling in the window, from the kernel's cpu.stat read at each end.
 */
struct rpt_quota {
	bool set; /* a quota limits it */
	bool v1; /* cgroup v1's cpu.cfs_quota_us, not v2's cpu.max */
	uint64_t quota_us; /* runtime per period */
	uint64_t period_us;
	uint64_t periods; /* periods of the window in which the group had runnable tasks */
	uint64_t throttled; /* of those, periods it ran out of quota in */
	uint64_t throttled_ns; /* time its tasks were held back, summed over CPUs */
	char cgroup[128]; /* the group with the quota, from the hierarchy's root */
};

struct rpt_process {
	uint32_t pid;
	char comm[CT_COMM_LEN];
	char cmdline[SNAP_CMDLINE_LEN];
	int ncpus; /* CPUs it may run on */
	bool exited; /* all its threads exited during the window */
	uint64_t wall_ns; /* part of the window it was alive */
	struct rpt_sched s; /* summed over its threads */
	size_t threads_started;
	size_t threads_exited;
	size_t nthreads;
	struct rpt_thread *threads; /* NULL in the total */
	size_t nsys;
	struct rpt_syscall *sys; /* summed over its threads */
	size_t nlocks;
	struct rpt_lock *locks; /* by total wait; locks (contention) and events (kind) */
	size_t nidle; /* threads that waited for an event the whole window */
	uint64_t idle_ns; /* their wait in the window */
	size_t ndeadlocks;
	struct rpt_deadlock *deadlocks;
	struct rpt_gil *gil; /* a CPython process: its GIL; NULL otherwise */
	size_t noncpu;
	struct rpt_tagged_stack *oncpu; /* --stacks: Python threads' samples by stack, most first */
	size_t nsysstacks;
	struct rpt_tagged_stack *sysstacks; /* --stacks: blocks in syscalls (tag: nr) by stack */
	/* Who had the CPU while its threads waited: per other process, kernel thread, own thread. */
	size_t nrunners;
	struct rpt_runner *runners; /* by time */
	uint64_t runners_ns; /* their sum: its threads' run-queue wait that was split */
	size_t busy_threads; /* threads runnable (on a CPU or queued) half their life or more */
	double runnable_avg; /* threads runnable on average: (CPU + run-queue) / wall */
	struct rpt_quota quota;
	size_t nrunq_verdicts;
	char runq_verdicts[RPT_RUNQ_VERDICTS][RPT_VERDICT_LEN];
};

/* What was dropped in the window: the counters of bpf/drops.def, and one more. */
struct rpt_drops {
#define CT_DROP(name, ...) uint64_t name;
#include "drops.def"
#undef CT_DROP
	uint64_t holds_unprobed; /* --holds: processes whose C library could not be probed */
	uint64_t absent; /* bit DROP_x: not counted by the contrace that recorded (null) */
};

_Static_assert(offsetof(struct rpt_drops, holds_unprobed) == DROP_COUNT * sizeof(uint64_t),
	       "struct rpt_drops starts with the counters of drops.def, in order");

/* The drop counter `id` of a window. */
static inline uint64_t *rpt_drop(struct rpt_drops *d, enum drop_id id)
{
	return (uint64_t *)d + id;
}

static inline uint64_t rpt_drop_get(const struct rpt_drops *d, enum drop_id id)
{
	return ((const uint64_t *)d)[id];
}

/* What the model needs besides snapshots: set by main.c (or a recording). */
struct report_meta {
	const char *version;
	char kernel[65];
	char hostname[65];
	int ncpus;
	int target_pid;
	char command[1024]; /* launched command line, shell-quoted; "" with -p */
	char argv[1024]; /* its arguments, each ending in a NUL (those that fit whole) */
	uint32_t argv_len; /* bytes of argv used; 0 with -p, or unknown (an older recording) */
	bool launched;
	bool follow;
	bool syscalls; /* per-syscall calls and times were traced (--syscalls) */
	bool locks; /* futex waits were tracked per lock */
	bool holds; /* --holds was asked for */
	bool timeline; /* --timeline: the recording holds every state change */
	bool stacks; /* --stacks: user stacks at lock waits */
	/*
	 * --stacks' on-CPU samples: every Nth tick of the CPU clock that ticks
	 * every CT_GIL_SAMPLE_NS (--sample-hz); 0: none, or a recording made
	 * before the rate could be chosen (every tick). rpt_sample_ns().
	 */
	uint32_t sample_every;
	uint64_t holds_probed; /* processes whose mutexes were probed (set before each report) */
	uint64_t holds_unprobed; /* processes that could not be (idem) */
	size_t ngil; /* Python processes found (set before each report) */
	const struct rpt_gil_info *gil; /* idem */
	uint64_t locks_min_wait_ns; /* locks with less total wait are left out */
	uint64_t interval_ns; /* -i, 0 without: an interval shorter than this is labelled */
	uint64_t trace_start_ns; /* monotonic: tracing began */
	uint64_t trace_start_real_ns; /* the same moment, realtime */
	int exit_status; /* launched command: exit code, or -1 */
	int exit_signal; /* launched command: killed by this signal, or 0 */
	bool truncated; /* contrace report: the recording was cut short */
	/* Stripped files names were wanted from: "FILE\tDEBUG-FILE" lines (symbolizer_missing()) */
	char names_missing[1024];
	bool names_unknown; /* a recording made before names_missing was stored */
};

/* The SUMMARY: the findings that matter most, from every section (model/summary.c). */
#define RPT_FINDINGS 3

enum rpt_finding_kind {
	RPT_FIND_NONE = 0, /* no contention found */
	RPT_FIND_DEADLOCK, /* threads waiting for each other: always first */
	RPT_FIND_LOCK, /* a lock that serialises a process, or that threads waited long for */
	RPT_FIND_GIL, /* a GIL verdict */
	RPT_FIND_CPU, /* threads waited long for a CPU */
};

struct rpt_finding {
	enum rpt_finding_kind kind;
	uint32_t pid;
	uint64_t ns; /* the time it explains (waits, blocked time) */
	const char *section; /* where to read more: "LOCKS", "GIL", "THREADS" */
	char text[RPT_VERDICT_LEN + 64];
};

/* A row of the summary across processes: a lock, a syscall or an event of one process. */
struct rpt_across_row {
	uint32_t pid;
	char comm[CT_COMM_LEN];
	char name[SNAP_SYM_LEN]; /* the lock, syscall or event, as its process's section names it */
	uint64_t count; /* waits, or blocks in the syscall */
	uint64_t ns; /* their time: WAITED, or BLOCKED */
};

/* With several processes (-f): their figures ranked across them (model/across.c). */
struct rpt_across {
	size_t nprocs;
	const struct rpt_process **by_cpu; /* every process, by on-CPU time */
	const struct rpt_process **by_runq; /* every process, by run-queue wait */
	size_t nlocks, nsys, nevents;
	struct rpt_across_row *locks; /* contended locks (LOCKS rows), by wait */
	struct rpt_across_row *sys; /* syscalls threads blocked in, by blocked time */
	struct rpt_across_row *events; /* event waits (EVENTS rows), by wait */
};

struct report {
	const struct report_meta *meta;
	bool interval; /* one interval of -i, not the whole trace */
	int index; /* interval number, from 1 */
	uint64_t window_start_ns; /* offset from the trace start */
	uint64_t duration_ns;
	size_t nprocs;
	struct rpt_process *procs; /* the target first */
	struct rpt_process total;
	struct rpt_across *across; /* NULL unless the report has several processes */
	struct rpt_drops drops;
	uint64_t threads_seeded; /* threads found when tracing began */
	uint64_t threads_late; /* of storage_failed's threads, traced from a later snapshot on */
	/* threads whose fork could not claim their storage, traced whole from their first switch-out */
	uint64_t threads_claimed_late;
	bool threads_claimed_late_absent; /* a recording made before it was counted */
	size_t nfindings; /* at least one: RPT_FIND_NONE when nothing else */
	struct rpt_finding findings[RPT_FINDINGS]; /* by the time they explain */
};

/*
 * Build the report of the window (prev->ts, cur->ts], or of everything up to
 * cur->ts when prev is NULL. 0, or -ENOMEM.
 */
int model_build(struct report *r, const struct report_meta *meta, const struct snapshot *cur,
		const struct snapshot *prev);
void model_free(struct report *r);

bool model_has_drops(const struct report *r);

/* Whether a loss leaves a figure shown short (a DROP_WARN counter), not only a sample thinner. */
bool model_has_warnings(const struct report *r);

/*
 * An interval shorter than -i asked for: the last one, cut by the end of
 * the trace (-d, the target's exit, Ctrl-C). Its figures cover less time.
 */
bool model_interval_short(const struct report *r);

/*
 * -i: whether the time from the last interval's end (from_ts) to the end
 * of the trace (to_ts) is an interval to report: the last one, however
 * short, unless under 1% of -i (the trace ended just as an interval did).
 */
/* What one on-CPU stack sample stands for: ns of a CPU's time. */
static inline uint64_t rpt_sample_ns(const struct report_meta *m)
{
	return (m->sample_every ? m->sample_every : 1) * CT_GIL_SAMPLE_NS;
}

static inline bool model_interval_left(uint64_t interval_ns, uint64_t from_ts, uint64_t to_ts)
{
	return interval_ns && from_ts && to_ts > from_ts && to_ts - from_ts >= interval_ns / 100;
}

/* Syscall name for a number ("syscall_N" when unknown); buf is used only then. */
const char *syscall_name(int nr, char *buf, size_t len);

/* Thread tid of process p, NULL if p has none such. */
const struct rpt_thread *rpt_thread_of(const struct rpt_process *p, uint32_t tid);

#endif
