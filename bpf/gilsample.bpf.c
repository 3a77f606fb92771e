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
 */
#include "syscalls.bpf.h"

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

SEC("perf_event")
int ct_gil_sample(struct bpf_perf_event_data *ctx)
{
	struct task_struct *cur = bpf_get_current_task_btf();
	struct ct_thread *th = ct_active_thread(cur);
	struct ct_sys_stat *st;
	int nr;

	if (!th || th->gil_state != CT_GIL_RELEASED)
		return 0;
	if ((ct_sample_cs(ctx) & CT_CS_RPL) == CT_CS_RPL) {
		__sync_fetch_and_add(&th->gil_rel_smp_user, 1);
		return 0;
	}
	nr = ct_task_syscall(cur);
	if (nr == CT_SYS_NONE) {
		__sync_fetch_and_add(&th->gil_rel_smp_kern, 1);
		return 0;
	}
	/*
	 * Atomic adds: this runs in an interrupt, and may cut into the
	 * thread's own sys_exit or switch-out program updating the same entry.
	 */
	st = ct_sys_entry(th->slot, ct_gil_sys_key(nr, CT_GIL_RELEASED));
	if (!st) {
		ct_count(gil_samples_dropped);
		return 0;
	}
	__sync_fetch_and_add(&st->samples, 1);
	__sync_fetch_and_add(&th->gil_rel_smp_sys, 1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
