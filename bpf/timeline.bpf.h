/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * --timeline: a record of each state change of a traced thread into the
 * `ct_timeline` ring buffer (contrace.h: struct ct_tl_event), drained by
 * user space into the recording. Every caller tests ct_cfg.timeline first:
 * it is read-only data, so without --timeline the verifier removes these
 * paths and a switch costs what it did before.
 */
#ifndef CONTRACE_TIMELINE_BPF_H
#define CONTRACE_TIMELINE_BPF_H

#include "common.bpf.h"

struct ct_timeline_map {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096); /* set by user space before load: CT_TL_RING_BYTES */
};

extern struct ct_timeline_map ct_timeline SEC(".maps");

static __always_inline struct ct_tl_event *ct_tl_reserve(const struct ct_thread *th, __u16 kind,
							 __u64 ts)
{
	struct ct_tl_event *e = bpf_ringbuf_reserve(&ct_timeline, sizeof(*e), 0);

	if (!e) {
		ct_count(timeline_dropped);
		return NULL;
	}
	e->ts = ts;
	e->slot = th->slot;
	e->kind = kind;
	e->how = 0;
	e->nr = CT_SYS_NONE;
	e->other = 0;
	e->uaddr = 0;
	return e;
}

/*
 * Wake user space only once a quarter of the ring is used: a wakeup per
 * record would cost more than the record (user space also drains it every
 * few milliseconds).
 */
static __always_inline void ct_tl_submit(struct ct_tl_event *e)
{
	__u64 used = bpf_ringbuf_query(&ct_timeline, BPF_RB_AVAIL_DATA);

	bpf_ringbuf_submit(e, used >= CT_TL_WAKE_BYTES ? BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP);
}

/* th left its CPU at now (after the accounting): how, and in what it sleeps. */
static __always_inline void ct_tl_switch_out(const struct ct_thread *th, __u32 how, __u64 now)
{
	struct ct_tl_event *e = ct_tl_reserve(th, CT_TL_SWITCH_OUT, now);

	if (!e)
		return;
	e->how = (__u16)how;
	if (th->state == CT_ST_BLOCKED) {
		e->nr = th->blk_nr;
		e->uaddr = th->fx_uaddr;
	}
	e->fig[CT_TLF_ONCPU] = th->oncpu_ns;
	e->fig[CT_TLF_STOLEN] = th->stolen_ns;
	e->fig[CT_TLF_RUNQ] = th->runq_ns;
	e->fig[CT_TLF_BLOCKED] = th->blocked_ns;
	ct_tl_submit(e);
}

/* th was woken at now by the thread waker (CT_WAKER_IRQ: an interrupt). */
static __always_inline void ct_tl_waking(const struct ct_thread *th, __u32 waker, __u64 now)
{
	struct ct_tl_event *e = ct_tl_reserve(th, CT_TL_WAKING, now);

	if (!e)
		return;
	e->other = waker;
	e->fig[0] = e->fig[1] = e->fig[2] = e->fig[3] = 0;
	ct_tl_submit(e);
}

/* th's GIL figures after a probe that may have changed them: a record if they did. */
static __always_inline void ct_tl_gil(const struct ct_thread *th, __u32 old_state, __u64 old_ts)
{
	struct ct_tl_event *e;

	if (th->gil_state == old_state && th->gil_ts == old_ts)
		return;
	e = ct_tl_reserve(th, CT_TL_GIL, th->gil_ts);
	if (!e)
		return;
	e->how = (__u16)th->gil_state;
	e->fig[CT_TLF_GIL_WAIT] = th->gil_wait_ns;
	e->fig[CT_TLF_GIL_HOLD] = th->gil_hold_ns;
	e->fig[CT_TLF_GIL_REL] = th->gil_rel_ns;
	e->fig[3] = 0;
	ct_tl_submit(e);
}

/* After a switch-out's accounting: its GIL change (tier C, an exit) and the switch. */
static __always_inline void ct_tl_switched_out(const struct ct_thread *th, __u32 how, __u64 now,
					       __u32 gil_was, __u64 gil_ts)
{
	ct_tl_gil(th, gil_was, gil_ts);
	ct_tl_switch_out(th, how, now);
}

/* A GIL probe's change of th's state (stmt), and its record with --timeline. */
#define CT_TL_GIL_AROUND(th, stmt)                          \
	do {                                                \
		__u32 gil_was_ = 0;                         \
		__u64 gil_ts_ = 0;                          \
                                                            \
		if (ct_cfg.timeline) {                      \
			gil_was_ = (th)->gil_state;         \
			gil_ts_ = (th)->gil_ts;             \
		}                                           \
		stmt;                                       \
		if (ct_cfg.timeline)                        \
			ct_tl_gil((th), gil_was_, gil_ts_); \
	} while (0)

#endif /* CONTRACE_TIMELINE_BPF_H */
