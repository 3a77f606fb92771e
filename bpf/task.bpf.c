// SPDX-License-Identifier: GPL-2.0-only
/*
 * Which threads are traced. A traced thread has a ct_tasks entry (task local
 * storage) naming its slot in ct_threads; every other probe starts with that
 * lookup, which costs one load for the untraced tasks of the rest of the
 * machine. Threads present at start are found by an iterator over all tasks,
 * later ones at fork.
 */
#include "common.bpf.h"
#include "futex.bpf.h"
#include "gil.bpf.h"
#include "timeline.bpf.h"

struct ct_tasks_map ct_tasks SEC(".maps");
struct ct_threads_map ct_threads SEC(".maps");
/*
 * Filled by user space for every Python process it found a GIL in (all
 * tiers; tier B's probes filter on it), copied to a forked child here, which
 * shares its parent's addresses, marked stale at exec (user space looks
 * again), and dropped when the process's last thread exits.
 */
struct ct_gil_addrs_map ct_gil_addrs SEC(".maps");

/*
 * Defined here, after every object that uses it in the link's order (gil,
 * stacks): libbpf 1.1's linker gives an extern map met after its
 * definition the wrong offset ("map relo failed to find map").
 */
struct ct_gil_tstates_map ct_gil_tstates SEC(".maps");
/* Multi mode: the processes user space traces (contrace serve), and their bits. */
struct ct_targets_map ct_targets SEC(".maps");
__u64 ct_tgid_bits[CT_TGID_BITS / 64] = {};

const volatile struct ct_config ct_cfg = {};
struct ct_counters ct_counters = {};
__u32 ct_next_slot = 0;
__u32 ct_uprobes_off = 0;
/* Set by user space once the first seeding is done: later seeds are late. */
__u32 ct_seeding_done = 0;
__u64 ct_queued = 0;
/* When ct_queued last left 0 (ktime): interrupts are timed from then on. */
__u64 ct_queued_since = 0;
/* Claims so far, for ct_cfg.fail_claims. */
__u32 ct_claims = 0;

/* Accounting of `t` starts at `now`: the kernel's counters so far are not its. */
static __always_inline void ct_begin(struct ct_thread *th, struct task_struct *t, __u64 now)
{
	th->start_ts = now;
	th->state_ts = now;
	th->blk_ts = now;
	th->wait_ts = 0;
	th->sys_nr = CT_SYS_NONE;
	th->blk_nr = CT_SYS_NONE;
	th->kern_nvcsw = t->nvcsw;
	th->k_exec = ct_task_exec(t);
	th->k_delay = ct_task_delay(t);
	/* The kernel counters of figures.def's CT_KFIG rows: their values now. */
#define CT_FIG(...)
#define CT_KFIG(name, kfield, ...) th->k_##name = t->kfield;
#include "figures.def"
#undef CT_FIG
#undef CT_KFIG
}

/* A fresh slot for `t`, not yet visible to other probes (see ct_publish). */
static __always_inline struct ct_thread *ct_alloc(struct task_struct *t, __u64 now, __u32 flags)
{
	__u32 idx = __sync_fetch_and_add(&ct_next_slot, 1);
	struct ct_thread *th;

	if (idx >= ct_cfg.max_threads) {
		ct_count(threads_dropped);
		return NULL;
	}
	th = bpf_map_lookup_elem(&ct_threads, &idx);
	if (!th) {
		ct_count(threads_dropped);
		return NULL;
	}
	th->tid = t->pid;
	th->tgid = t->tgid;
	th->slot = idx;
	th->flags = flags;
	ct_begin(th, t, now);
	bpf_probe_read_kernel_str(th->comm, sizeof(th->comm), t->comm);
	return th;
}

/*
 * The tests' stand-in for a kernel whose task storage is busy at a fork
 * (another storage operation on this CPU, preempted) or exhausted: every
 * Nth claim at a fork or a first switch-out fails. ct_cfg is read-only
 * data: pruned when 0.
 */
static __always_inline bool ct_claim_fails(void)
{
	__u32 n = ct_cfg.fail_claims;

	return n && __sync_fetch_and_add(&ct_claims, 1) % n == n - 1;
}

/*
 * The storage of t, claimed for this caller: NULL if t already has a slot or
 * is being given one, or (*busy set) if the kernel refused the storage. The
 * iterator can meet a new task after copy_process() and before its fork
 * probe runs: both would otherwise give it a slot.
 */
static __always_inline struct ct_task *ct_claim(struct task_struct *t, bool *busy)
{
	struct ct_task *ct = bpf_task_storage_get(&ct_tasks, t, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);

	*busy = !ct;
	if (!ct)
		return NULL;
	if (__sync_val_compare_and_swap(&ct->slot1, 0, CT_SLOT_CLAIMED) != 0)
		return NULL;
	return ct;
}

/* Make a filled slot visible: from here on the thread's events are accounted. */
static __always_inline void ct_publish(struct ct_task *ct, struct ct_thread *th)
{
	th->flags |= CT_TF_READY;
	ct->slot1 = th->slot + 1;
}

/*
 * Is t to be seeded? In multi mode, its ct_targets entry is put in *tg
 * (the iterator's cost only: at a fork, the parent's storage decides).
 */
static __always_inline int ct_is_target(struct task_struct *t, struct ct_target **tg)
{
	struct task_struct *p = t;
	__u32 tgid = t->tgid;
	int i;

	if (ct_cfg.multi) {
		*tg = bpf_map_lookup_elem(&ct_targets, &tgid);
		return *tg != NULL;
	}
	if (t->tgid == ct_cfg.targ_tgid)
		return 1;
	if (!ct_cfg.follow)
		return 0;
	/* Descendants of the target that exist already. */
	for (i = 0; i < 32; i++) {
		p = BPF_CORE_READ(p, real_parent);
		if (!p)
			return 0;
		if (BPF_CORE_READ(p, tgid) == ct_cfg.targ_tgid)
			return 1;
		if (BPF_CORE_READ(p, pid) <= 1)
			return 0;
	}
	return 0;
}

/*
 * Run by user space until a pass seeds nothing new: a thread created by a not
 * yet seeded thread during one pass is caught by the next.
 */
/*
 * A thread found blocked in a futex wait at attach: its wait is in progress
 * (a deadlocked program's threads never wake again). From its syscall
 * arguments, as ct_futex_block does at a block; the wait counts from now,
 * like any syscall that began before tracing. Not futex_waitv: its futex is
 * in the thread's memory, which only the thread's own context can read.
 */
static __always_inline void ct_seed_futex(struct task_struct *t, struct ct_thread *th, int nr,
					  __u64 now)
{
	struct pt_regs *regs;
	__u64 uaddr;
	__u32 op = 0;

	if (nr != CT_NR_FUTEX && nr != CT_NR_FUTEX_WAIT)
		return;
	regs = (struct pt_regs *)bpf_task_pt_regs(t);
	if (!regs)
		return;
	uaddr = ct_futex_args(regs, nr, &op);
	if (!uaddr || !ct_futex_op_waits(op))
		return;
	th->fx_uaddr = uaddr;
	th->fx_op = op;
	th->fx_val = ct_futex_val(regs, nr);
	th->fx_start = now;
	if (ct_futex_op_locks(op, th->fx_val))
		th->flags |= CT_TF_FX_LOCK;
}

/* Count a seeded thread: late once its process's first seeding is done. */
static __always_inline void ct_count_seed(struct ct_target *tg)
{
	if (tg)
		__sync_fetch_and_add(&tg->seeded, 1);
	if (tg ? !tg->seeding : ct_seeding_done)
		ct_count(seeded_late);
	else
		ct_count(seeded);
}

SEC("iter/task")
int ct_seed(struct bpf_iter__task *ctx)
{
	struct task_struct *t = ctx->task;
	struct ct_target *tg = NULL;
	struct ct_thread *th;
	struct ct_task *ct;
	unsigned int state;
	bool busy;
	__u32 flags;
	__u64 now;
	int nr;

	if (!t || (t->flags & PF_KTHREAD) || t->exit_state || !ct_is_target(t, &tg))
		return 0;
	if (bpf_task_storage_get(&ct_tasks, t, 0, 0))
		return 0;
	ct = ct_claim(t, &busy);
	if (busy)
		ct_count(storage_failed);
	if (!ct)
		return 0;
	now = bpf_ktime_get_ns();
	flags = CT_TF_SEEDED;
	/* Gated until its execve; a late seed (the gate lifted by then) is not. */
	if (t->tgid == ct_cfg.gate_tgid && !ct_seeding_done)
		flags |= CT_TF_GATED;
	if (t->pid == t->tgid)
		flags |= CT_TF_PROCESS;
	th = ct_alloc(t, now, flags);
	if (!th)
		return 0;

	/* What the thread is doing now, as far as the kernel's own state tells. */
	state = ct_task_state(t);
	if (t->on_cpu) {
		th->state = CT_ST_RUNNING;
	} else if (state == TASK_RUNNING) {
		th->state = CT_ST_RUNNABLE;
		th->wait_ts = now;
		ct_queued_mark(th);
	} else {
		th->state = CT_ST_BLOCKED;
	}
	if (th->state != CT_ST_RUNNING) {
		nr = ct_task_syscall(t);
		if (th->state == CT_ST_BLOCKED) {
			th->blk_nr = nr;
			ct_seed_futex(t, th, nr, now);
		}
		if (nr != CT_SYS_NONE && ct_cfg.syscalls) {
			th->sys_nr = nr;
			th->sys_ts = now;
			th->flags |= CT_TF_SYS_PARTIAL;
		}
	}
	ct_publish(ct, th);
	ct_count_seed(tg);
	return 0;
}

struct ct_events_map ct_events SEC(".maps");
struct ct_timeline_map ct_timeline SEC(".maps");
struct ct_gil_hists_map ct_gil_hists SEC(".maps");

/*
 * A Python process forks (os.fork, multiprocessing) with the GIL held by the
 * forking thread, and the child's thread holds the child's copy. The parent
 * thread's state says so once seen; a thread not seen yet (no take or drop
 * since the probes went in) of a process with a GIL is taken to hold it, so
 * a child whose own probes come late still starts out holding it. A thread
 * seen to have released it forks from C code (vfork and exec): not held.
 */
static __always_inline void ct_fork_gil(__u32 ptgid, struct ct_thread *pt, struct ct_thread *th)
{
	__u32 ctgid = th->tgid;
	struct ct_gil_addrs *a;

	a = bpf_map_lookup_elem(&ct_gil_addrs, &ptgid);
	if (!a || a->exec) {
		if (!bpf_map_delete_elem(&ct_gil_addrs, &ctgid)) /* a reused pid's */
			ct_gil_addrs_changed();
		/* Perhaps a Python process not looked at yet: decided at its first GIL event. */
		if (!a)
			th->flags |= CT_TF_GIL_FORKED;
		return;
	}
	/* Full: user space's own update for the child fails too, and says so. */
	bpf_map_update_elem(&ct_gil_addrs, &ctgid, a, BPF_ANY);
	ct_gil_addrs_changed();
	if (!pt || pt->gil_state == CT_GIL_HELD || pt->gil_state == CT_GIL_UNKNOWN) {
		th->gil_state = CT_GIL_HELD;
		th->gil_ts = th->start_ts;
		th->flags |= CT_TF_GIL_FORKED;
	}
}

/*
 * Threads whose storage their fork could not have (busy: another storage
 * operation on that CPU, preempted there; 1 in ~10^5 threads of the serve
 * soak), by tid: claimed at their first switch-out instead
 * (ct_claim_late), where the thread is the current task and the kernel's
 * counters still hold its whole life. ct_late_pending: its entries, so
 * that other switches look no further.
 */
struct ct_late_val {
	__u32 flags; /* CT_TF_PROCESS: a new process */
	__u32 ptgid; /* its parent's process */
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, struct ct_late_val);
} ct_late SEC(".maps");

__u32 ct_late_pending = 0;

/* A new thread's slot, set up as of its creation (start: our clock then). */
static __always_inline struct ct_thread *
ct_new_thread(struct task_struct *t, __u64 start, __u32 flags, __u32 ptgid, struct ct_thread *pt)
{
	struct ct_thread *th = ct_alloc(t, start, flags);

	if (!th)
		return NULL;
	/* Created runnable: it waits for a CPU until its first switch-in. */
	th->state = CT_ST_RUNNABLE;
	th->wait_ts = th->start_ts;
	if (flags & CT_TF_PROCESS)
		ct_fork_gil(ptgid, pt, th);
	return th;
}

/* Made visible, and for a new process, its text ranges and user space told. */
static __always_inline void ct_new_publish(struct ct_task *ct, struct ct_thread *th, __u32 ptgid)
{
	ct_publish(ct, th);
	if (th->flags & CT_TF_PROCESS) {
		ct_text_fork(ptgid, th->tgid);
		ct_notify(CT_EV_PROCESS, th->tgid);
	}
}

/* The fork could not have the child's storage: try at its first switch-out. */
static __always_inline void ct_defer_claim(struct task_struct *child, __u32 flags, __u32 ptgid)
{
	struct ct_late_val v = { .flags = flags, .ptgid = ptgid };
	__u32 tid = child->pid;

	if (bpf_map_update_elem(&ct_late, &tid, &v, BPF_ANY)) {
		ct_count(storage_failed);
		ct_notify(CT_EV_UNTRACED, child->tgid);
		return;
	}
	__sync_fetch_and_add(&ct_late_pending, 1);
}

/*
 * Slots to be claimed, written to ahead of their forks: an atomic add of 0
 * to the first and last word of each (the pages it spans), which changes
 * nothing even if a claim writes the word at the same moment. The first
 * write to a page of the table costs this machine 3-4 us in the kernel (a
 * write through user space's mapping does not spare it): paid here, in
 * contrace's own thread (user space runs this at its refreshes), not in a
 * fork, which a Python server makes with the GIL held (docs/performance.md).
 */
static long ct_warm_slot(__u32 i, void *ctx)
{
	__u32 idx = *(__u32 *)ctx + i;
	struct ct_thread *th = bpf_map_lookup_elem(&ct_threads, &idx);

	if (!th)
		return 1;
	__sync_fetch_and_add(&th->flags, 0);
	__sync_fetch_and_add(&th->stk_next, 0);
	return 0;
}

SEC("syscall")
int ct_warm(struct ct_warm_args *args)
{
	__u32 from = args->from, to = args->to;

	if (to <= from)
		return 0;
	bpf_loop(to - from < CT_WARM_MAX ? to - from : CT_WARM_MAX, ct_warm_slot, &from, 0);
	return 0;
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(ct_fork, struct task_struct *parent, struct task_struct *child)
{
	int new_process = child->tgid != parent->tgid;
	__u32 flags = new_process ? CT_TF_PROCESS : 0;
	struct ct_thread *th;
	struct ct_task *ct;
	bool busy = true;

	if (!bpf_task_storage_get(&ct_tasks, parent, 0, 0))
		return 0;
	if (new_process && !ct_cfg.follow)
		return 0;
	ct = ct_claim_fails() ? NULL : ct_claim(child, &busy);
	if (!ct) {
		if (busy)
			ct_defer_claim(child, flags, parent->tgid);
		return 0;
	}
	th = ct_new_thread(child, bpf_ktime_get_ns(), flags, parent->tgid, ct_thread_of(parent));
	if (!th)
		return 0;
	ct_queued_mark(th);
	ct_new_publish(ct, th, parent->tgid);
	ct_count(forked);
	return 0;
}

/*
 * The current task leaves its CPU untraced, and a claim of it is pending
 * (ct_late): at its first switch-out, its slot begins at its creation, from
 * the kernel's counters as they were then (zero): nothing of it is lost.
 * Later (a switch-out missed while ct_late_pending was being raised), its
 * start is lost: storage_failed. 1 if it is traced now.
 */
__noinline int ct_claim_late(void)
{
	struct task_struct *cur = bpf_get_current_task_btf();
	__u32 tid = cur->pid, first;
	struct ct_late_val *l, v;
	struct ct_thread *th;
	struct ct_task *ct;
	bool busy;

	l = bpf_map_lookup_elem(&ct_late, &tid);
	if (!l)
		return 0;
	v = *l;
	bpf_map_delete_elem(&ct_late, &tid);
	__sync_fetch_and_sub(&ct_late_pending, 1);
	busy = true;
	ct = ct_claim_fails() ? NULL : ct_claim(cur, &busy);
	if (!ct) {
		/* The next snapshot's seeding pass finds it (user space watches storage_failed). */
		if (busy)
			ct_count(storage_failed);
		return 0;
	}
	/* The switch counts of this switch-out are in already. */
	first = cur->nvcsw + cur->nivcsw == 1;
	th = ct_new_thread(cur, first ? cur->start_time : bpf_ktime_get_ns(), v.flags, v.ptgid,
			   NULL);
	if (!th)
		return 0;
	if (first) {
		th->kern_nvcsw = 0;
		th->k_exec = 0;
		th->k_delay = 0;
#define CT_FIG(...)
#define CT_KFIG(name, ...) th->k_##name = 0;
#include "figures.def"
#undef CT_FIG
#undef CT_KFIG
		ct_count(claimed_late);
	} else {
		ct_count(storage_failed);
	}
	ct_new_publish(ct, th, v.ptgid);
	return 1;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(ct_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	struct ct_thread *th = ct_thread_of(p);
	struct ct_gil_addrs *a;
	__u32 tgid;
	__u64 now;

	if (!th)
		return 0;
	/* A non-leader thread that execs takes over the leader's pid. */
	th->tid = p->pid;
	bpf_probe_read_kernel_str(th->comm, sizeof(th->comm), p->comm);
	if (p->pid == p->tgid && p->mm)
		ct_text_exec(p->tgid, p->mm->start_code, p->mm->end_code);
	ct_notify(CT_EV_EXEC, p->tgid);
	/* A new program: no GIL until user space finds one in it (and sees the mark). */
	tgid = p->tgid;
	a = bpf_map_lookup_elem(&ct_gil_addrs, &tgid);
	if (a) {
		a->exec = 1;
		ct_gil_addrs_changed();
	}
	/* A forked child that runs another program: its hold of its parent's GIL is no hold. */
	if (th->flags & CT_TF_GIL_FORKED) {
		th->flags &= ~CT_TF_GIL_FORKED;
		th->gil_state = CT_GIL_UNKNOWN;
	}
	if (th->gil_state != CT_GIL_UNKNOWN) {
		ct_gil_wanted(th);
		ct_gil_close(th, bpf_ktime_get_ns());
	}
	th->gil_state = CT_GIL_UNKNOWN;
	th->gil_tstate = 0; /* the new image's interpreter has its own */
	if (!(th->flags & CT_TF_GATED))
		return 0;
	/* The launched command starts here: what came before was contrace's. */
	now = bpf_ktime_get_ns();
	ct_begin(th, p, now);
	th->state = CT_ST_RUNNING;
	th->sys_nr = ct_cfg.syscalls ? ct_task_syscall(p) : CT_SYS_NONE;
	th->sys_ts = now;
	th->sys_offcpu_ns = 0;
	th->flags &= ~(CT_TF_GATED | CT_TF_SYS_PARTIAL);
	return 0;
}

SEC("tp_btf/task_rename")
int BPF_PROG(ct_rename, struct task_struct *task, const char *comm)
{
	struct ct_thread *th = ct_thread_of(task);

	if (th)
		bpf_probe_read_kernel_str(th->comm, sizeof(th->comm), comm);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
