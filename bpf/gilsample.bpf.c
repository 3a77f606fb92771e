// SPDX-License-Identifier: GPL-2.0-only
/*
 * Where a Python thread's time with the GIL released goes while it runs: in
 * a syscall that did not block (sendto, recvfrom on a busy socket: kernel
 * time, I/O), or in user-space native code (zlib, hashlib). The scheduler
 * probes give that time exactly (gil_rel_ns less its blocked and run-queue
 * parts); this splits it by sampling. A CPU-clock perf event on each CPU
 * (user/probe/gilsample.c) runs this every CT_GIL_SAMPLE_NS of the CPU's
 * time; a traced thread found running with the GIL released counts one
 * sample: in user space (the interrupted registers are user mode), in a
 * syscall (its entry frame holds the number: ct_task_syscall), or in the
 * kernel outside one. The model applies the shares to the exact time.
 *
 * Sampling, not sys_enter/sys_exit: those tracepoints put every syscall of
 * the machine through the slow path (+176-339 ns each, docs/performance.md),
 * while this costs about 1,000 program runs a second per CPU, whatever the
 * syscall rate. Its price is a statistical split: with n samples, a share's
 * standard error is at most 0.5/sqrt(n) (1.6% at 1,000 samples).
 *
 * In tier C (no uprobes) the events miss a take and drop within one run
 * and date others at a run's edges, so the samples divide a thread's time
 * on a CPU instead: each reads whether the GIL is its own (held), else
 * whether its events have it in take_gil (waiting), else it is released
 * and split as above (ct_gilc_sample_mine, user/model/gil.c).
 *
 * A sample in user space also counts the address it interrupted
 * (ct_native), which user space names: which library and function the
 * native code was (zlib's deflate, a C extension's loop).
 */
#include "gil.bpf.h"
#include "syscalls.bpf.h"
#include "stacks.bpf.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, CT_NATIVE_ENTRIES);
	__type(key, struct ct_native_key);
	__type(value, __u64);
} ct_native SEC(".maps");

/* --sample-hz: the traced threads' ticks on this CPU since its last stack sample. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} ct_smp_ticks SEC(".maps");

/*
 * Whether this tick takes a stack: every ct_cfg.sample_every-th tick of a
 * traced thread on this CPU (every one by default, without a lookup).
 */
static __always_inline bool ct_stack_due(void)
{
	__u32 k = 0, *t;

	if (ct_cfg.sample_every <= 1)
		return ct_cfg.sample_every;
	t = bpf_map_lookup_elem(&ct_smp_ticks, &k);
	if (!t)
		return false;
	if (++*t < ct_cfg.sample_every)
		return false;
	*t = 0;
	return true;
}

/* One more sample of the process's native code at ip. */
static __always_inline void ct_native_add(__u32 tgid, __u64 ip)
{
	struct ct_native_key key = { .tgid = tgid, .ip = ip };
	__u64 one = 1, *n;

	n = bpf_map_lookup_elem(&ct_native, &key);
	if (n)
		__sync_fetch_and_add(n, 1);
	else if (bpf_map_update_elem(&ct_native, &key, &one, BPF_NOEXIST) &&
		 !(n = bpf_map_lookup_elem(&ct_native, &key)))
		ct_count(native_dropped);
	else if (n)
		__sync_fetch_and_add(n, 1); /* another CPU added it meanwhile */
}

/* The user-mode bits of a saved code segment selector (x86_64: ring 3). */
#define CT_CS_RPL 3

/*
 * The interrupted code's segment selector. The verifier allows only whole
 * 8-byte loads of the context's registers: cs shares its slot with padding.
 */
static __always_inline __u64 ct_sample_cs(struct bpf_perf_event_data *ctx)
{
	return *(__u64 *)((char *)&ctx->regs + __builtin_offsetof(struct pt_regs, cs));
}

/* The sample class of a thread by its GIL state alone (the exact tiers' probes: held, waiting). */
static __always_inline __u32 ct_smp_of(__u32 gil_state)
{
	if (gil_state == CT_GIL_HELD)
		return CT_SMP_HELD;
	return gil_state == CT_GIL_WAITING ? CT_SMP_WAITING : CT_SMP_OTHER;
}

/*
 * The split of released time (above) for a sample of th, the current
 * thread, with the registers it was interrupted at: what the thread was
 * doing, as the samples' stacks class it (enum ct_smp_class).
 */
static __always_inline __u32 ct_gil_split(struct bpf_perf_event_data *ctx, struct ct_thread *th,
					  struct task_struct *cur, int user)
{
	int mine, nr = CT_SYS_NONE;
	struct ct_sys_stat *st;

	if (th->gil_state != CT_GIL_RELEASED && !ct_gilc_on)
		return ct_smp_of(th->gil_state);
	if (!user)
		nr = ct_task_syscall(cur);
	mine = ct_gilc_on ? ct_gilc_sample_mine(th, nr == CT_NR_FUTEX ? ct_task_arg0(cur) : 0) : -1;
	/*
	 * Holding or waiting for it by the exact tiers' probes (A or B), or
	 * not seen yet: nothing to split. In tier C every thread of the
	 * process counts (one not seen yet may be a thread per request that
	 * lives a millisecond: the model pools such threads' samples).
	 */
	if (th->gil_state != CT_GIL_RELEASED && mine < 0)
		return ct_smp_of(th->gil_state);
	/*
	 * Atomic adds: this runs in an interrupt, and may cut into the
	 * thread's own sys_exit program updating the same entry.
	 */
	if (mine > 0) {
		th->gil_run = CT_GIL_RUN_MINE;
		__sync_fetch_and_add(&th->gil_rel_smp_held, 1);
		return CT_SMP_HELD;
	}
	if (th->gil_state == CT_GIL_WAITING && th->gil_run != CT_GIL_RUN_MINE &&
	    bpf_ktime_get_ns() - th->state_ts < CT_GILC_TOOK_RUN_NS) {
		/*
		 * In take_gil, by its events: not seen holding it this run, nor
		 * running too long for take_gil (it took the GIL and let it go
		 * unseen: released time, as the switch-out will count it).
		 */
		__sync_fetch_and_add(&th->gil_rel_smp_taking, 1);
		return CT_SMP_WAITING;
	}
	if (user) {
		__sync_fetch_and_add(&th->gil_rel_smp_user, 1);
		ct_native_add(th->tgid, ctx->regs.ip);
		return CT_SMP_NATIVE;
	}
	if (nr == CT_SYS_NONE) {
		__sync_fetch_and_add(&th->gil_rel_smp_kern, 1);
		return CT_SMP_KERNEL;
	}
	st = ct_sys_entry(th->slot, ct_gil_sys_key(nr, CT_GIL_RELEASED));
	if (!st) {
		ct_count(gil_samples_dropped);
		return CT_SMP_KERNEL;
	}
	__sync_fetch_and_add(&st->samples, 1);
	__sync_fetch_and_add(&th->gil_rel_smp_sys, 1);
	return CT_SMP_KERNEL;
}

SEC("perf_event")
int ct_gil_sample(struct bpf_perf_event_data *ctx)
{
	struct task_struct *cur = bpf_get_current_task_btf();
	struct ct_thread *th = ct_active_thread(cur);
	int user;
	__u32 cls;

	if (!th)
		return 0;
	user = (ct_sample_cs(ctx) & CT_CS_RPL) == CT_CS_RPL;
	cls = ct_gil_split(ctx, th, cur, user);
	/* --stacks: which code ran (Python's, or a native program's) */
	if (ct_cfg.stacks && ct_stack_due())
		ct_stack_sample(th, cls);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
