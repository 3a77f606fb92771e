// SPDX-License-Identifier: GPL-2.0-only
/*
 * --holds: exact hold times of pthread mutexes, from two uprobes in the
 * target's C library that user space places (see user/holds.c): one where
 * pthread_mutex_lock has the mutex, one where pthread_mutex_unlock begins to
 * release it. Both receive the mutex in the first argument register. A hold
 * is added to its lock only if the lock is already in ct_locks (it was
 * contended): the report lists contended locks, and a mutex nobody waits
 * for must not fill the table.
 */
#include "futex.bpf.h"

SEC("uprobe")
int BPF_KPROBE(ct_mutex_acquired, __u64 uaddr)
{
	struct ct_thread *th = ct_uprobe_thread();
	__u32 i, slot = CT_HELD;

	if (!th || !uaddr)
		return 0;
	/*
	 * A normal mutex cannot be taken twice: an entry for it is stale (its
	 * unlock was not seen) and is reused, else the first free one.
	 */
	for (i = 0; i < CT_HELD; i++) {
		if (th->held[i].uaddr == uaddr) {
			slot = i;
			break;
		}
		if (!th->held[i].uaddr && slot == CT_HELD)
			slot = i;
	}
	if (slot == CT_HELD) {
		/* More held at once than tracked: the oldest hold is lost. */
		slot = th->held_next++ & (CT_HELD - 1);
		ct_count(holds_dropped);
	}
	th->held[slot].uaddr = uaddr;
	th->held[slot].since = bpf_ktime_get_ns();
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(ct_mutex_release, __u64 uaddr)
{
	struct ct_thread *th = ct_uprobe_thread();
	struct ct_lock_key lk = {};
	struct ct_lock_stat *ls;
	__u64 hold = 0;
	__u32 i;

	if (!th || !uaddr)
		return 0;
	for (i = 0; i < CT_HELD; i++) {
		if (th->held[i].uaddr == uaddr) {
			hold = ct_delta(bpf_ktime_get_ns(), th->held[i].since);
			th->held[i].uaddr = 0;
			break;
		}
	}
	/* Not seen taken: held since before tracing, or locked another way. */
	if (i == CT_HELD)
		return 0;
	lk.tgid = th->tgid;
	lk.uaddr = uaddr;
	ls = bpf_map_lookup_elem(&ct_locks, &lk);
	if (!ls)
		return 0;
	__sync_fetch_and_add(&ls->xholds, 1);
	__sync_fetch_and_add(&ls->xhold_ns, hold);
	if (hold > ls->xhold_max)
		ls->xhold_max = hold;
	ct_hist_add(ls->xhold_hist, hold);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
