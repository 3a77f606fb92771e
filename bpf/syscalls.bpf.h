/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Per-thread syscall statistics, shared by syscalls.bpf.c and sched.bpf.c.
 *
 * Blocked time by syscall comes from the scheduler probes: at switch-out a
 * sleeping thread's registers name the syscall it sleeps in. That needs no
 * syscall hook. Calls, errors and durations need sys_enter/sys_exit, which
 * slow down every syscall on the machine, so they are only with --syscalls.
 */
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
 * The ct_sysstats entry of (slot, nr), created if missing; NULL when the map
 * is full. Each key is written only while its thread is not running
 * elsewhere: by the thread itself, or by its waker while it sleeps.
 */
static __always_inline struct ct_sys_stat *ct_sys_entry(__u32 slot, int nr)
{
	static const struct ct_sys_stat zero = {};
	struct ct_sys_key key = { .slot = slot, .nr = nr };
	struct ct_sys_stat *st;

	st = bpf_map_lookup_elem(&ct_sysstats, &key);
	if (st)
		return st;
	bpf_map_update_elem(&ct_sysstats, &key, &zero, BPF_NOEXIST);
	return bpf_map_lookup_elem(&ct_sysstats, &key);
}

/* Move an entry of the blocked-by-syscall cache (ct_thread.bl) into ct_sysstats. */
static __always_inline void ct_blocked_flush(struct ct_thread *th, struct ct_rl_sys *e)
{
	struct ct_sys_stat *st;

	if (!e->count)
		return;
	st = ct_sys_entry(th->slot, e->nr);
	if (st) {
		st->blocks += e->count;
		st->blocked_ns += e->ns;
	} else {
		__sync_fetch_and_add(&ct_counters.sys_dropped, e->count);
	}
	e->count = 0;
	e->ns = 0;
}

/*
 * --syscalls: account the syscall in progress on `th` as ended at `now`. One
 * that began before tracing counts its time but not as a call. Errors are
 * the -4095..-1 returns; `has_ret` is 0 when the thread died in it (exit).
 */
static __always_inline void ct_sys_flush(struct ct_thread *th, __u64 now, long ret, int has_ret)
{
	struct ct_sys_stat *st;
	__u64 d = ct_delta(now, th->sys_ts);

	st = ct_sys_entry(th->slot, th->sys_nr);
	th->sys_nr = CT_SYS_NONE;
	if (!st) {
		ct_count(sys_dropped);
		return;
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
}

#endif /* CONTRACE_SYSCALLS_BPF_H */
