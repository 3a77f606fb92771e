/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Declarations shared by the BPF modules, which are linked into one object.
 * task.bpf.c defines the maps and globals declared extern here.
 *
 * Kernel fields are read with plain loads through BTF pointers (CO-RE
 * relocated by vmlinux.h's preserve_access_index), not BPF_CORE_READ: a
 * load is one instruction, a bpf_probe_read_kernel() call costs tens of
 * nanoseconds with retpolines, and these run on every context switch.
 */
#ifndef CONTRACE_COMMON_BPF_H
#define CONTRACE_COMMON_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "contrace.h"
#include "acct.h"

#define TASK_RUNNING 0
#define TASK_DEAD 0x80
#define PF_KTHREAD 0x00200000
#define ENOSYS 38

/*
 * Per-task marker: which ct_threads slot a traced thread uses (index + 1),
 * CT_SLOT_CLAIMED while one is being filled (by the seeding iterator or the
 * fork probe: whichever claims it first).
 */
struct ct_task {
	__u32 slot1;
	__u32 pad;
};

#define CT_SLOT_CLAIMED 0xffffffffu

struct ct_tasks_map {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct ct_task);
};

struct ct_threads_map {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, 1); /* set by user space before load */
	__type(key, __u32);
	__type(value, struct ct_thread);
};

/* The GIL's mutex and condition variable per Python process (key: tgid). */
struct ct_gil_addrs_map {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, CT_GIL_PROCS);
	__type(key, __u32);
	__type(value, struct ct_gil_addrs);
};

/*
 * Per thread slot: log2 histogram of its GIL waits (Python threads only),
 * made at its first wait; user space sets the size (one per thread slot).
 * Preallocated: an insert takes an element from a free list, in any
 * context (tier C's are in sched_switch, with interrupts off), where a
 * map that allocates on insert cost 2.0-2.4 us more at each new thread
 * (docs/performance.md). Its price: memory for every slot, 11.7 MB at the
 * default --max-threads.
 */
struct ct_gil_hists_map {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ct_gil_hist);
};

/* The processes to trace in multi mode (key: tgid); user space sets the size. */
struct ct_targets_map {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ct_target);
};

/*
 * Tier C, and --stacks: the PyThreadState of a Python thread by (tgid, its
 * pthread_t), as user space last read the interpreter's list of threads.
 */
struct ct_gil_tstates_map {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, CT_GIL_TSTATES);
	__type(key, struct ct_gil_tstate_key);
	__type(value, __u64); /* PyThreadState * */
};

struct ct_events_map {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 16384);
};

extern struct ct_tasks_map ct_tasks SEC(".maps");
extern struct ct_events_map ct_events SEC(".maps");
extern struct ct_gil_hists_map ct_gil_hists SEC(".maps");
extern struct ct_gil_addrs_map ct_gil_addrs SEC(".maps");
extern struct ct_gil_tstates_map ct_gil_tstates SEC(".maps");
extern struct ct_threads_map ct_threads SEC(".maps");
extern const volatile struct ct_config ct_cfg;
extern struct ct_counters ct_counters;
/*
 * task.bpf.c: claims of new threads left to their first switch-out
 * (ct_claim_late: 1 if the current task is traced now).
 */
extern __u32 ct_late_pending;
int ct_claim_late(void);
/* Set by user space when tracing stops: uprobes stay attached a little longer, idle. */
extern __u32 ct_uprobes_off;
extern __u64 ct_queued;
extern __u64 ct_queued_since;
extern __u64 ct_tgid_bits[CT_TGID_BITS / 64];

#define ct_count(field) __sync_fetch_and_add(&ct_counters.field, 1)

/* Tell user space now (rare events: exec, a new process, a new Python thread). */
static __always_inline void ct_notify(__u32 kind, __u32 pid)
{
	struct ct_event *e = bpf_ringbuf_reserve(&ct_events, sizeof(*e), 0);

	if (!e) {
		ct_count(events_dropped);
		return;
	}
	e->kind = kind;
	e->pid = pid;
	bpf_ringbuf_submit(e, 0);
}

/*
 * ct_queued counts the traced threads queued for a CPU (woken, preempted,
 * new): while it is 0 no traced thread's run-queue wait is being spent, and
 * a context switch records no run in its CPU's ring (sched.bpf.c), which
 * every switch of the machine would otherwise pay. A thread counts once
 * (rq_counted, compared and swapped: a waking and a switch-in on two CPUs
 * keep the count exact); it leaves at its switch-in or exit. A waking that
 * ends no sleep leaves it counted until its next switch-in: more runs
 * recorded, never fewer. Interrupts are timed only while it is not 0, from
 * ct_queued_since (sched.bpf.c).
 */
static __always_inline void ct_queued_mark(struct ct_thread *th)
{
	if (!th->rq_counted && __sync_val_compare_and_swap(&th->rq_counted, 0, 1) == 0 &&
	    !__sync_fetch_and_add(&ct_queued, 1))
		ct_queued_since = bpf_ktime_get_ns();
}

/* Leaves the count; whether it was in it (its wait's runs are all in the rings). */
static __always_inline bool ct_queued_unmark(struct ct_thread *th)
{
	if (!th->rq_counted || __sync_val_compare_and_swap(&th->rq_counted, 1, 0) != 1)
		return false;
	__sync_fetch_and_sub(&ct_queued, 1);
	return true;
}

/* The slot of a traced task, or NULL. The common case (untraced) costs one load. */
static __always_inline struct ct_thread *ct_thread_of(struct task_struct *t)
{
	struct ct_task *ct;
	__u32 idx;

	ct = bpf_task_storage_get(&ct_tasks, t, 0, 0);
	if (!ct || !ct->slot1 || ct->slot1 == CT_SLOT_CLAIMED)
		return NULL;
	idx = ct->slot1 - 1;
	return bpf_map_lookup_elem(&ct_threads, &idx);
}

/*
 * As ct_thread_of(), but NULL for threads not accounted (yet). Without -f all
 * traced threads share one tgid: comparing it first spares the rest of the
 * machine the storage lookup (the branch is pruned at load time with -f). In
 * multi mode the targets' bits (ct_tgid_bits) do the same for a set.
 */
static __always_inline struct ct_thread *ct_active_thread(struct task_struct *t)
{
	struct ct_thread *th;

	if (!ct_cfg.follow && !ct_cfg.multi && t->tgid != ct_cfg.targ_tgid)
		return NULL;
	if (ct_cfg.multi &&
	    !(ct_tgid_bits[ct_tgid_word(t->tgid, ct_cfg.tgid_mask)] & ct_tgid_mask(t->tgid)))
		return NULL;
	th = ct_thread_of(t);

	if (!th || (th->flags & CT_TF_GATED))
		return NULL;
	return th;
}

/* The current thread in a uprobe program, or NULL (untraced, or tracing has stopped). */
static __always_inline struct ct_thread *ct_uprobe_thread(void)
{
	if (ct_uprobes_off)
		return NULL;
	return ct_active_thread(bpf_get_current_task_btf());
}

struct task_struct___pre514 {
	long state;
} __attribute__((preserve_access_index));

/* task->__state, named `state` before 5.14 (commit 2f064a59a11f). */
static __always_inline unsigned int ct_task_state(struct task_struct *t)
{
	if (bpf_core_field_exists(t->__state))
		return t->__state;
	return (unsigned int)((struct task_struct___pre514 *)t)->state;
}

/*
 * The syscall a task not currently running (or current itself) is in, or
 * CT_SYS_NONE. The entry code stores -ENOSYS in regs->ax and the number in
 * orig_ax; both stay until the syscall returns. An exception or interrupt
 * leaves a different ax.
 */
static __always_inline int ct_task_syscall(struct task_struct *t)
{
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(t);
	long nr;

	if (!regs || regs->ax != -ENOSYS)
		return CT_SYS_NONE;
	nr = regs->orig_ax;
	if (nr < 0)
		return CT_SYS_NONE;
	return nr < CT_NR_SYSCALLS ? (int)nr : CT_NR_SYSCALLS - 1;
}

/* The first argument of the syscall task t is in (ct_task_syscall), 0 if unknown. */
static __always_inline __u64 ct_task_arg0(struct task_struct *t)
{
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(t);

	return regs ? regs->di : 0;
}

/*
 * The kernel's CPU time and run-queue delay of a task. run_delay needs
 * CONFIG_SCHED_INFO; without it sched.bpf.c measures run-queue time itself.
 */
static __always_inline __u64 ct_task_exec(struct task_struct *t)
{
	return t->se.sum_exec_runtime;
}

static __always_inline int ct_have_run_delay(void)
{
	return bpf_core_field_exists(struct task_struct, sched_info);
}

static __always_inline __u64 ct_task_delay(struct task_struct *t)
{
	if (ct_have_run_delay())
		return t->sched_info.run_delay;
	return 0;
}

/*
 * The run queue t is on (prev and next of a switch share it). Needs
 * CONFIG_FAIR_GROUP_SCHED for se.cfs_rq; NULL without.
 */
static __always_inline struct rq *ct_task_rq(struct task_struct *t)
{
	struct cfs_rq *cfs_rq;

	if (!bpf_core_field_exists(t->se.cfs_rq))
		return NULL;
	cfs_rq = t->se.cfs_rq;
	return cfs_rq ? cfs_rq->rq : NULL;
}

/*
 * When the kernel stopped charging t's current run, in its run-queue clock:
 * se.exec_start is the task clock of the last update_curr(), mapped to the
 * rq clock through the rq's current clock - clock_task offset (time taken
 * by interrupts and steal). The rq clock may have moved on since, during
 * new-idle balancing. 0 if unknown.
 */
static __always_inline __u64 ct_charged_until(struct task_struct *t, struct rq *rq)
{
	__u64 clock, clock_task, exec_start;

	if (!rq)
		return 0;
	clock = rq->clock;
	clock_task = rq->clock_task;
	exec_start = t->se.exec_start;
	if (clock < clock_task || exec_start > clock_task)
		return clock;
	return exec_start + (clock - clock_task);
}

/*
 * Time the rq's CPU has not given to tasks so far (rq->clock -
 * rq->clock_task): hypervisor steal, and IRQs with CONFIG_IRQ_TIME_ACCOUNTING.
 * Its growth during a run is time the running task lost. 0 if unknown.
 */
static __always_inline __u64 ct_rq_steal(struct rq *rq)
{
	if (!rq || rq->clock < rq->clock_task)
		return 0;
	return rq->clock - rq->clock_task;
}

/* The run-queue clock when t last got a CPU, or 0. */
static __always_inline __u64 ct_task_last_arrival(struct task_struct *t)
{
	if (ct_have_run_delay())
		return t->sched_info.last_arrival;
	return 0;
}

#endif /* CONTRACE_COMMON_BPF_H */
