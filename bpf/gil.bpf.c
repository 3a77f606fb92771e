// SPDX-License-Identifier: GPL-2.0-only
/*
 * CPython's GIL, tier A: uprobes on the interpreter's own take_gil (entry
 * and return) and drop_gil (entry), placed by user/gil.c for each Python
 * process whose interpreter has them in .symtab. Each thread's time is cut
 * into waiting for the GIL (in take_gil), holding it, and having released
 * it; the scheduler probes (sched.bpf.c) split the released time into
 * blocked (by syscall) and waiting for a CPU, the rest is on a CPU in native
 * code. All three functions begin with an instruction the kernel emulates.
 */
#include "common.bpf.h"

/* Per thread slot: log2 histogram of its GIL waits (Python threads only). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 1); /* set by user space before load */
	__type(key, __u32);
	__type(value, struct ct_gil_hist);
} ct_gil_hists SEC(".maps");

static const struct ct_gil_hist zero_hist = {};

static __always_inline struct ct_thread *ct_gil_thread(void)
{
	if (ct_uprobes_off)
		return NULL;
	return ct_active_thread(bpf_get_current_task_btf());
}

SEC("uprobe")
int BPF_KPROBE(ct_gil_take)
{
	struct ct_thread *th = ct_gil_thread();
	__u64 now = bpf_ktime_get_ns();

	if (!th)
		return 0;
	if (th->gil_state == CT_GIL_RELEASED)
		th->gil_rel_ns += ct_delta(now, th->gil_ts);
	th->gil_state = CT_GIL_WAITING;
	th->gil_ts = now;
	th->flags &= ~CT_TF_GIL_BLOCKED;
	return 0;
}

SEC("uretprobe")
int BPF_KRETPROBE(ct_gil_taken)
{
	struct ct_thread *th = ct_gil_thread();
	__u64 now = bpf_ktime_get_ns(), wait;
	struct ct_gil_hist *h;
	__u32 slot, idx;

	if (!th)
		return 0;
	if (th->gil_state == CT_GIL_WAITING) {
		wait = ct_delta(now, th->gil_ts);
		th->gil_wait_ns += wait;
		if (wait > th->gil_wait_max)
			th->gil_wait_max = wait;
		th->gil_takes++;
		if (th->flags & CT_TF_GIL_BLOCKED)
			th->gil_waits++;
		slot = th->slot;
		h = bpf_map_lookup_elem(&ct_gil_hists, &slot);
		if (!h) {
			bpf_map_update_elem(&ct_gil_hists, &slot, &zero_hist, BPF_NOEXIST);
			h = bpf_map_lookup_elem(&ct_gil_hists, &slot);
		}
		idx = ct_hist_index(wait);
		if (h && idx < CT_HIST_BUCKETS)
			h->wait[idx]++;
		else if (!h)
			ct_count(gil_hists_dropped);
	}
	/* A take_gil that began before tracing: held from now on. */
	th->gil_state = CT_GIL_HELD;
	th->gil_ts = now;
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(ct_gil_drop)
{
	struct ct_thread *th = ct_gil_thread();
	__u64 now = bpf_ktime_get_ns(), hold;

	if (!th)
		return 0;
	if (th->gil_state == CT_GIL_HELD) {
		hold = ct_delta(now, th->gil_ts);
		th->gil_hold_ns += hold;
		if (hold > th->gil_hold_max)
			th->gil_hold_max = hold;
	}
	th->gil_state = CT_GIL_RELEASED;
	th->gil_ts = now;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
