/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Tier C of the GIL (--gil=futex): no uprobes; the scheduler probes tell
 * gil.bpf.c where a thread of a Python process blocks, who wakes it, and
 * let it read the GIL's fields from the process's memory.
 */
#ifndef CONTRACE_GIL_BPF_H
#define CONTRACE_GIL_BPF_H

#include "common.bpf.h"

/*
 * A thread in take_gil runs for microseconds between its futex waits (a
 * timed wait ran out: the GIL is checked, the drop request set, the wait
 * begun again: 4 to 50 us in the traces of two CPU-bound threads of 3.12).
 * A waiter that ran 1 ms or more without sleeping left take_gil: it took
 * the GIL during that run.
 */
#define CT_GILC_TOOK_RUN_NS 1000000ULL

/*
 * A thread's blocks outside take_gil and drop_gil read the GIL at most
 * once per this many ns of its time (ct_gilc_block_unread): a socket
 * ping-pong blocks 150,000 times a second for 40 us, and the read cost
 * 250-350 ns of each switch (docs/performance.md).
 */
#define CT_GILC_READ_EVERY_NS 1000000ULL

/* ct_gilc_switch_out()'s `how`. */
enum ct_gilc_out {
	CT_GILC_OUT_BLOCK = 1 << 0, /* to sleep, else preempted */
	CT_GILC_OUT_READ = 1 << 1, /* read the GIL at every block (--timeline dates every change) */
};

/* Set by user space once a process is followed by tier C: until then nothing is called. */
extern __u32 ct_gilc_on;

/*
 * Bumped after every change of ct_gil_addrs (by user space, and by the fork,
 * exec and exit probes): a thread's copy of its process's GIL address
 * (ct_thread.gil_g) is good while its gil_g_gen is this plus 1.
 */
extern __u32 ct_gil_gen;

static __always_inline void ct_gil_addrs_changed(void)
{
	__sync_fetch_and_add(&ct_gil_gen, 1);
}

/*
 * Global BPF functions (gil.bpf.c). The current thread, whose slot is `th`,
 * leaves its CPU at `now` after running since `ran_since`; `how`:
 * enum ct_gilc_out (a futex wait it blocks in, if any, is in th->fx_uaddr).
 */
int ct_gilc_switch_out(struct ct_thread *th, __u64 ran_since, int how, __u64 now);

/* The current thread (`waker`, may be NULL) wakes `th` from a futex wait at `now`. */
int ct_gilc_waking(struct ct_thread *th, struct ct_thread *waker, __u64 now);

/* `th` runs again at `now`. */
int ct_gilc_switch_in(struct ct_thread *th, __u64 now);

/*
 * A wait of `th` on futex word uaddr ended by a timer at `now`: on the
 * GIL's condition variable, a forced switch request, noted for its process
 * (the hold open then counts as wanted: ct_gil_wanted).
 */
int ct_gil_timed_out(struct ct_thread *th, __u64 uaddr, __u64 now);

/*
 * Before a hold of `th` ends (acct.h's ct_gil_released, ct_gil_close): was
 * it wanted (another thread's wait timed out since it began)? Sets CT_TF_GIL_WANTED.
 */
int ct_gil_wanted(struct ct_thread *th);

/*
 * A sample of the current thread `th`, in a futex call on word `futex` (0:
 * none): 1 if the GIL of its process is its own, 0 if not, -1 if the
 * process is not followed by tier C.
 */
int ct_gilc_sample_mine(struct ct_thread *th, __u64 futex);

/* The last thread of process tgid exits: its GIL tables' entries go (any tier). */
int ct_gil_proc_exit(__u32 tgid);

/* Where the GIL of a process whose addresses are a keeps last_holder (then locked). */
static __always_inline __u64 ct_gil_holder_addr(const struct ct_gil_addrs *a)
{
	return a->mutex - CT_GIL_MUTEX + CT_GIL_LAST_HOLDER;
}

/*
 * A thread younger than user space's last read of the thread list, which
 * waits right after it let the GIL go (a lock.acquire(), a blocking read):
 * the GIL's last_holder is its PyThreadState unless another thread took the
 * GIL since; its thread_id (the holder's pthread_t) says whether it is.
 */
static __always_inline __u64 ct_py_last_holder(struct ct_thread *th, __u64 pthread, __u64 *tmp)
{
	__u32 tgid = th->tgid;
	struct ct_gil_addrs *a = bpf_map_lookup_elem(&ct_gil_addrs, &tgid);

	if (!a || !a->mutex || !a->tid_off || a->exec ||
	    bpf_probe_read_user(&tmp[0], sizeof(tmp[0]), (void *)ct_gil_holder_addr(a)) ||
	    !tmp[0] ||
	    bpf_probe_read_user(&tmp[1], sizeof(tmp[1]), (void *)(tmp[0] + a->tid_off)) ||
	    tmp[1] != pthread)
		return 0;
	return tmp[0];
}

/*
 * The PyThreadState of th, the current thread: as tier C found it holding
 * the GIL, else from the interpreter's thread list as user space last read
 * it (ct_gil_tstates), else the GIL's last holder if that is th; 0 if
 * unknown. Inline: --stacks calls it at the bottom of a deep chain.
 */
static __always_inline __u64 ct_py_tstate(struct ct_thread *th)
{
	struct task_struct *cur = bpf_get_current_task_btf();
	struct ct_gil_tstate_key key = {};
	__u64 *tstate;

	if (!th)
		return 0;
	if (th->gil_tstate)
		return th->gil_tstate;
	key.tgid = th->tgid;
	key.pthread = cur->thread.fsbase;
	tstate = bpf_map_lookup_elem(&ct_gil_tstates, &key);
	if (tstate && *tstate)
		return *tstate;
	/* The key's bytes are done with: the reads go there (the callers' stack is deep). */
	return ct_py_last_holder(th, cur->thread.fsbase, (__u64 *)&key);
}

#endif /* CONTRACE_GIL_BPF_H */
