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

/* The thread began to take the GIL at `ts`: a release (if any) ends there. */
static __always_inline void ct_gil_wait(struct ct_thread *th, __u64 ts)
{
	if (th->gil_state == CT_GIL_RELEASED)
		th->gil_rel_ns += ct_delta(ts, th->gil_ts);
	th->gil_state = CT_GIL_WAITING;
	th->gil_ts = ts;
	th->flags &= ~CT_TF_GIL_BLOCKED;
}

/* The thread has the GIL since `now`. */
static __always_inline void ct_gil_acquired(struct ct_thread *th, __u64 now)
{
	struct ct_gil_hist *h;
	__u32 slot, idx;
	__u64 wait;

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
	/* A take that began before tracing: held from now on. */
	th->gil_state = CT_GIL_HELD;
	th->gil_ts = now;
}

/* The thread let the GIL go at `now`. */
static __always_inline void ct_gil_released(struct ct_thread *th, __u64 now)
{
	__u64 hold;

	if (th->gil_state == CT_GIL_HELD) {
		hold = ct_delta(now, th->gil_ts);
		th->gil_hold_ns += hold;
		if (hold > th->gil_hold_max)
			th->gil_hold_max = hold;
	}
	th->gil_state = CT_GIL_RELEASED;
	th->gil_ts = now;
}

SEC("uprobe")
int BPF_KPROBE(ct_gil_take)
{
	struct ct_thread *th = ct_uprobe_thread();

	if (th)
		ct_gil_wait(th, bpf_ktime_get_ns());
	return 0;
}

SEC("uretprobe")
int BPF_KRETPROBE(ct_gil_taken)
{
	struct ct_thread *th = ct_uprobe_thread();

	if (th)
		ct_gil_acquired(th, bpf_ktime_get_ns());
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(ct_gil_drop)
{
	struct ct_thread *th = ct_uprobe_thread();

	if (th)
		ct_gil_released(th, bpf_ktime_get_ns());
	return 0;
}

/*
 * Tier B, for interpreters without symbols: CPython takes and drops the GIL
 * under its mutex, with the C library's functions. take_gil: lock the
 * mutex, wait on the condition variable while the GIL is taken (the wait
 * unlocks and relocks the mutex inside the C library, unseen), unlock: the
 * GIL is ours. drop_gil: lock, signal the condition variable, unlock. So a
 * lock of the GIL's mutex by a thread that does not hold the GIL starts a
 * take, which ends at the unlock; one by the holder is a drop, done at the
 * signal. The probes sit where --holds's do (emulated instructions inside
 * pthread_mutex_lock and pthread_mutex_unlock) and on pthread_cond_signal's
 * first instruction; every mutex of the process passes them, and only the
 * GIL's is looked at.
 */
static __always_inline struct ct_thread *ct_gilb_thread(__u64 addr, int cond)
{
	struct ct_thread *th = ct_uprobe_thread();
	struct ct_gil_addrs *a;
	__u32 tgid;

	if (!th)
		return NULL;
	tgid = th->tgid;
	a = bpf_map_lookup_elem(&ct_gil_addrs, &tgid);
	if (!a || addr != (cond ? a->cond : a->mutex))
		return NULL;
	return th;
}

SEC("uprobe")
int BPF_KPROBE(ct_gilb_lock, __u64 mutex)
{
	struct ct_thread *th = ct_gilb_thread(mutex, 0);

	if (th && th->gil_state != CT_GIL_HELD)
		ct_gil_wait(th, bpf_ktime_get_ns());
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(ct_gilb_unlock, __u64 mutex)
{
	struct ct_thread *th = ct_gilb_thread(mutex, 0);

	if (th && th->gil_state == CT_GIL_WAITING)
		ct_gil_acquired(th, bpf_ktime_get_ns());
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(ct_gilb_signal, __u64 cond)
{
	struct ct_thread *th = ct_gilb_thread(cond, 1);

	/* A drop; one that began before tracing was taken for a take: no wait counted. */
	if (th && (th->gil_state == CT_GIL_HELD || th->gil_state == CT_GIL_WAITING)) {
		if (th->gil_state == CT_GIL_WAITING)
			th->gil_state = CT_GIL_UNKNOWN;
		ct_gil_released(th, bpf_ktime_get_ns());
	}
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
