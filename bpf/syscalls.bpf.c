// SPDX-License-Identifier: GPL-2.0-only
/*
 * --syscalls: per-thread syscall calls, errors, total and maximum time, and
 * the off-CPU part of it (accumulated by sched.bpf.c while the syscall is in
 * progress). Loaded only with --syscalls: once attached, these tracepoints
 * put every syscall on the machine through the kernel's slow path (about
 * 160 ns per hook here, see docs/performance.md), whatever the program does.
 */
#include "sched.bpf.h"
#include "futex.bpf.h"

struct ct_sysstats_map ct_sysstats SEC(".maps");

SEC("tp_btf/sys_enter")
int BPF_PROG(ct_sys_enter, struct pt_regs *regs, long id)
{
	struct task_struct *cur = bpf_get_current_task_btf();
	struct ct_thread *th = ct_active_thread(cur);
	__u64 now;

	if (!th)
		return 0;
	now = bpf_ktime_get_ns();
	/* A block outside any syscall (a page fault, a stop) is not this call's. */
	if (th->flags & CT_TF_WOKEN)
		ct_settle_in_syscall(th, cur, now);
	th->sys_nr = id >= 0 && id < CT_NR_SYSCALLS ? (int)id : CT_NR_SYSCALLS - 1;
	th->sys_ts = now;
	th->sys_offcpu_ns = 0;
	th->flags &= ~CT_TF_SYS_PARTIAL;
	th->sys_fx_uaddr = 0;
	if (id == CT_NR_FUTEX || id == CT_NR_FUTEX_WAIT || id == CT_NR_FUTEX_WAKE ||
	    id == CT_NR_FUTEX_WAITV || id == CT_NR_FUTEX_REQUEUE)
		th->sys_fx_uaddr = ct_futex_sys_args(regs, (int)id, &th->sys_fx_op);
	return 0;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(ct_sys_exit, struct pt_regs *regs, long ret)
{
	struct task_struct *cur = bpf_get_current_task_btf();
	struct ct_thread *th = ct_active_thread(cur);
	__u64 now;

	if (!th || th->sys_nr == CT_SYS_NONE)
		return 0;
	now = bpf_ktime_get_ns();
	/* A block in this syscall is settled at switch-out, later: settle it now. */
	if (th->flags & CT_TF_WOKEN)
		ct_settle_in_syscall(th, cur, now);
	if (th->sys_fx_uaddr)
		ct_futex_return(th, ret);
	ct_sys_flush(th, now, ret, 1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
