/* SPDX-License-Identifier: GPL-2.0-only */
/* Per-thread syscall statistics: shared by syscalls.bpf.c and sched.bpf.c. */
#ifndef CONTRACE_SYSCALLS_BPF_H
#define CONTRACE_SYSCALLS_BPF_H

#include "common.bpf.h"

struct ct_sysstats_map {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1); /* set by user space before load */
	__type(key, struct ct_sys_key);
	__type(value, struct ct_sys_stat);
};

extern struct ct_sysstats_map ct_sysstats SEC(".maps");

/*
 * Account the syscall in progress on `th` as ended at `now`. A syscall that
 * began before tracing counts its time but not as a call. Errors are the
 * -4095..-1 returns; `has_ret` is 0 when the thread died in it (exit).
 */
static __always_inline void ct_sys_flush(struct ct_thread *th, __u64 now, long ret, int has_ret)
{
	static const struct ct_sys_stat zero = {};
	struct ct_sys_key key = { .slot = th->slot, .nr = th->sys_nr };
	struct ct_sys_stat *st;
	__u64 d = ct_delta(now, th->sys_ts);

	th->sys_nr = CT_SYS_NONE;
	st = bpf_map_lookup_elem(&ct_sysstats, &key);
	if (!st) {
		/* Only this thread writes its keys: no racing insert to lose. */
		bpf_map_update_elem(&ct_sysstats, &key, &zero, BPF_NOEXIST);
		st = bpf_map_lookup_elem(&ct_sysstats, &key);
		if (!st) {
			ct_count(sys_dropped);
			return;
		}
	}
	if (th->flags & CT_TF_SYS_PARTIAL) {
		/* Only its traced part is known: no call, no maximum. */
		st->partial++;
		th->flags &= ~CT_TF_SYS_PARTIAL;
	} else {
		st->calls++;
		if (has_ret && ret < 0 && ret >= -4095)
			st->errors++;
		if (d > st->max_ns)
			st->max_ns = d;
	}
	st->total_ns += d;
	st->offcpu_ns += th->sys_offcpu_ns;
	st->blocked_ns += th->sys_blocked_ns;
}

#endif /* CONTRACE_SYSCALLS_BPF_H */
