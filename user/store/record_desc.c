// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/model.h"
#include "store/record_desc.h"
#include "snap/snapshot.h"

/* long is stored as 64 bits: the build is LP64 (x86_64, arm64). */
_Static_assert(sizeof(long) == 8, "contrace's recordings assume an LP64 build");

/* A member's type as stored: a plain char is text; a bool matches nothing and fails to build. */
#define REC_TYPE_OF(x)                         \
	_Generic((x), char                     \
		 : REC_CHAR, signed char       \
		 : REC_S8, unsigned char       \
		 : REC_U8, short               \
		 : REC_S16, unsigned short     \
		 : REC_U16, int                \
		 : REC_S32, unsigned int       \
		 : REC_U32, long               \
		 : REC_S64, unsigned long      \
		 : REC_U64, long long          \
		 : REC_S64, unsigned long long \
		 : REC_U64)

#define MEMBER(S, m) (((S *)0)->m)
/* A scalar member; then an array member, then a checked (bool, enum) one. */
#define F(S, m)                                                     \
	{                                                           \
#m, REC_TYPE_OF(MEMBER(S, m)), 1, offsetof(S, m), 0 \
	}
#define A(S, m)                                                                                   \
	{                                                                                         \
#m, REC_TYPE_OF(MEMBER(S, m)[0]), sizeof(MEMBER(S, m)) / sizeof(MEMBER(S, m)[0]), \
			offsetof(S, m), 0                                                         \
	}
/* A scalar member stored under another name (what an older build called it). */
#define NAMED(S, m, name)                                             \
	{                                                             \
		name, REC_TYPE_OF(MEMBER(S, m)), 1, offsetof(S, m), 0 \
	}
#define C(S, m, maxv)                                                    \
	{                                                                \
#m, REC_TYPE_OF(MEMBER(S, m)), 1, offsetof(S, m), (maxv) \
	}
#define STRUCT(id, S, name, table) \
	[id] = { name, sizeof(S), sizeof(table) / sizeof(table[0]), table }

#define T struct rec_meta
static const struct rec_field meta_fields[] = {
	A(T, version),	      A(T, kernel),
	A(T, hostname),	      A(T, command),
	A(T, pad0),	      F(T, ncpus),
	F(T, target_pid),     C(T, launched, 1),
	C(T, follow, 1),      C(T, syscalls, 1),
	C(T, locks, 1),	      C(T, holds, 1),
	C(T, timeline, 1),    C(T, stacks, 1),
	A(T, pad3),	      F(T, locks_min_wait_ns),
	F(T, trace_start_ns), F(T, trace_start_real_ns),
	F(T, interval_ns),    A(T, argv),
	F(T, argv_len),	      C(T, sample_every, 1000),
};
#undef T

#define T struct rec_snap
static const struct rec_field snap_fields[] = {
	F(T, seq),
	F(T, ts),
	C(T, kind, 3),
	F(T, pad),
	F(T, counters.seeded),
	F(T, counters.forked),
	F(T, counters.seeded_late),
	F(T, counters.claimed_late),
/* The drop counters (bpf/drops.def). */
#define CT_DROP(name, ...) F(T, counters.name),
#include "drops.def"
#undef CT_DROP
	F(T, holds_probed),
	F(T, holds_unprobed),
	F(T, exit_status),
	F(T, exit_signal),
	A(T, names_missing),
};
#undef T

#define HELD(T, i) F(T, held[i].uaddr), F(T, held[i].since)
_Static_assert(CT_RL_RUNNERS == 8, "ct_thread's description lists 8 entries of rl_run");
#define RL_RUN(T, i)                                                                               \
	F(T, rl_run[i].tid), F(T, rl_run[i].tgid), F(T, rl_run[i].kthread), F(T, rl_run[i].waits), \
		F(T, rl_run[i].ns)
_Static_assert(CT_RL_SYS == 4, "ct_thread's description lists 4 entries of bl");
_Static_assert(CT_RL_WAKERS == 4, "ct_thread's description lists 4 entries of rl_wak");
#define RL_WAK(T, i) F(T, rl_wak[i].tid), F(T, rl_wak[i].tgid), F(T, rl_wak[i].count)
/* The first entry under the names of the one-entry cache before it (a recording's pending count). */
#define RL_WAK0(T)                                                                          \
	NAMED(T, rl_wak[0].tid, "rl_waker_tid"), NAMED(T, rl_wak[0].tgid, "rl_waker_tgid"), \
		NAMED(T, rl_wak[0].count, "rl_waker_count")
#define RL_SYS(T, i) F(T, bl[i].nr), F(T, bl[i].pad), F(T, bl[i].ns), F(T, bl[i].count)

#define T struct ct_thread
static const struct rec_field thread_fields[] = {
	F(T, tid),
	F(T, tgid),
	F(T, slot),
	F(T, flags),
	C(T, state, CT_ST_DEAD),
	F(T, wake_pending),
	F(T, state_ts),
	F(T, start_ts),
	F(T, end_ts),
	A(T, comm),
/* The figures (bpf/figures.def), and each CT_KFIG's kernel counter. */
#define CT_FIG(name, ...) F(T, name),
#define CT_KFIG(name, kfield, ...) F(T, name), F(T, k_##name),
#include "figures.def"
#undef CT_FIG
#undef CT_KFIG
	F(T, k_exec),
	F(T, k_delay),
	F(T, wait_ts),
	F(T, k_clock_out),
	F(T, blk_ts),
	F(T, k_steal_in),
	F(T, kern_nvcsw),
	F(T, wake_ts),
	A(T, wakelat_hist),
	F(T, pend_waker_tid),
	F(T, pend_waker_tgid),
	RL_WAK0(T),
	RL_WAK(T, 1),
	RL_WAK(T, 2),
	RL_WAK(T, 3),
	F(T, rl_wak_next),
	F(T, rl_wak_pad),
	RL_RUN(T, 0),
	RL_RUN(T, 1),
	RL_RUN(T, 2),
	RL_RUN(T, 3),
	RL_RUN(T, 4),
	RL_RUN(T, 5),
	RL_RUN(T, 6),
	RL_RUN(T, 7),
	F(T, rl_run_next),
	F(T, rl_run_pad),
	F(T, sys_nr),
	F(T, blk_nr),
	F(T, sys_ts),
	F(T, sys_offcpu_ns),
	RL_SYS(T, 0),
	RL_SYS(T, 1),
	RL_SYS(T, 2),
	RL_SYS(T, 3),
	F(T, bl_next),
	F(T, rq_counted),
	F(T, fx_uaddr),
	F(T, fx_start),
	F(T, fx_site),
	F(T, fx_op),
	F(T, fx_owner),
	F(T, fx_val),
	F(T, rw_val),
	F(T, rw_uaddr),
	F(T, rw_ts),
	F(T, pend_fx_uaddr),
	F(T, pend_waker_site),
	F(T, pend_hold_since),
	F(T, pend_exit),
	F(T, pad_site),
	F(T, sys_fx_uaddr),
	F(T, sys_fx_op),
	F(T, held_next),
	HELD(T, 0),
	HELD(T, 1),
	HELD(T, 2),
	HELD(T, 3),
	C(T, gil_state, CT_GIL_RELEASED),
	C(T, gil_blk, CT_GIL_RELEASED),
	C(T, gil_in, CT_GIL_RELEASED),
	F(T, gil_handed),
	C(T, gil_run, CT_GIL_RUN_MINE),
	F(T, gil_pad),
	F(T, gil_ts),

	F(T, gil_sn),
	F(T, gil_tstate),
	F(T, gil_read_ts),
	F(T, gil_g),
	F(T, gil_g_gen),
	F(T, gil_g_pad),
	F(T, stk_seq),
	F(T, stk_next),
};
#undef T

#define T struct snap_sys
static const struct rec_field sys_fields[] = {
	F(T, key.slot),	 F(T, key.nr),	     F(T, st.blocks),  F(T, st.blocked_ns),
	F(T, st.calls),	 F(T, st.errors),    F(T, st.partial), F(T, st.total_ns),
	F(T, st.max_ns), F(T, st.offcpu_ns), F(T, st.samples), F(T, open),
};
#undef T

#define T struct snap_waker
static const struct rec_field waker_fields[] = {
	F(T, key.slot), F(T, key.waker_tid), F(T, val.count), F(T, val.waker_tgid), F(T, val.pad),
};
#undef T

#define T struct snap_name
static const struct rec_field name_fields[] = { F(T, tid), F(T, pid), A(T, comm) };
#undef T

#define T struct snap_proc
static const struct rec_field proc_fields[] = {
	F(T, pid),
	F(T, ncpus),
	A(T, comm),
	A(T, cmdline),
	F(T, quota_us),
	F(T, period_us),
	F(T, quota_v1),
	F(T, pad),
	F(T, cg_ino),
	F(T, thr0.nr_periods),
	F(T, thr0.nr_throttled),
	F(T, thr0.throttled_usec),
	F(T, thr.nr_periods),
	F(T, thr.nr_throttled),
	F(T, thr.throttled_usec),
	A(T, quota_cgroup),
};
#undef T

#define RELEASE(T, i)                                                                         \
	F(T, st.rel[i].ts), F(T, st.rel[i].start), F(T, st.rel[i].site), F(T, st.rel[i].tid), \
		F(T, st.rel[i].pad)

#define T struct snap_lock
static const struct rec_field lock_fields[] = {
	F(T, key.tgid),	      F(T, key.pad),	   F(T, key.uaddr),	  F(T, st.waits),
	F(T, st.wait_ns),     F(T, st.wait_max),   F(T, st.wakes),	  F(T, st.timeouts),
	F(T, st.exit_wakes),  F(T, st.holds),	   F(T, st.hold_ns),	  F(T, st.hold_max),
	F(T, st.owner_since), F(T, st.release_ts), F(T, st.block_ts),	  F(T, st.busy_ns),
	F(T, st.busy_since),  RELEASE(T, 0),	   RELEASE(T, 1),	  RELEASE(T, 2),
	RELEASE(T, 3),	      F(T, st.rel_next),   F(T, st.owner_tid),	  F(T, st.op),
	F(T, st.nblocked),    F(T, st.retries),	   F(T, st.timeouts_ret), F(T, st.wake_calls),
	F(T, st.woken),	      A(T, st.wait_hist),  A(T, st.hold_hist),	  F(T, st.xholds),
	F(T, st.xhold_ns),    F(T, st.xhold_max),  A(T, st.xhold_hist),	  F(T, st.passes),
	F(T, st.pass_ns),     F(T, st.pass_since), F(T, st.pass_tid),	  F(T, st.pass_pad),
	F(T, st.futile),      F(T, st.futile_ns),
};
#undef T

#define T struct snap_edge
static const struct rec_field edge_fields[] = {
	F(T, key.tgid),	   F(T, key.waiter),	  F(T, key.uaddr),
	F(T, key.holder),  F(T, key.pad),	  F(T, val.waits),
	F(T, val.wait_ns), F(T, val.holder_site), F(T, val.waiter_site),
};
#undef T

#define T struct snap_site
static const struct rec_field site_fields[] = {
	F(T, key.tgid), F(T, key.tid),	 F(T, key.uaddr),
	F(T, key.site), F(T, val.waits), F(T, val.wait_ns),
};
#undef T

#define T struct snap_native
static const struct rec_field native_fields[] = { F(T, key.tgid), F(T, key.pad), F(T, key.ip),
						  F(T, samples) };
#undef T

#define T struct snap_runner
static const struct rec_field runner_fields[] = {
	F(T, key.slot),	 F(T, key.tid),	 F(T, val.ns),
	F(T, val.waits), F(T, val.tgid), F(T, val.kthread),
};
#undef T

#define T struct snap_stack
static const struct rec_field stack_fields[] = {
	F(T, id),
	F(T, pid),
	F(T, n),
	C(T, partial, 1),
};
#undef T

#define T struct snap_pyname
static const struct rec_field pyname_fields[] = { F(T, tid), F(T, pid), F(T, ts), A(T, name) };
#undef T

#define T struct snap_frame
static const struct rec_field frame_fields[] = { F(T, stack), F(T, index), F(T, pc) };
#undef T

#define T struct snap_sym
static const struct rec_field sym_fields[] = {
	F(T, pid), C(T, kind, SNAP_SYM_CODE), F(T, addr), C(T, found, 1), F(T, pad), A(T, name),
};
#undef T

#define T struct snap_gilhist
static const struct rec_field gilhist_fields[] = { F(T, slot), A(T, h.wait) };
#undef T

#define T struct rec_gil
static const struct rec_field gil_fields[] = {
	F(T, pid),     A(T, file),
	A(T, version), C(T, free_threaded, 1),
	A(T, pad0),    C(T, tier, RPT_GIL_FUTEX),
	A(T, why),     F(T, pad1),
	F(T, addr),    F(T, interval_us),
};
#undef T

_Static_assert(sizeof(MEMBER(struct rec_gil, file)) == sizeof(MEMBER(struct rpt_gil_info, file)) &&
		       sizeof(MEMBER(struct rec_gil, version)) ==
			       sizeof(MEMBER(struct rpt_gil_info, version)) &&
		       sizeof(MEMBER(struct rec_gil, why)) ==
			       sizeof(MEMBER(struct rpt_gil_info, why)),
	       "struct rec_gil stores struct rpt_gil_info's text whole");

#define T struct ct_tl_event
static const struct rec_field event_fields[] = {
	F(T, ts),    F(T, slot), C(T, kind, CT_TL_SAMPLE), F(T, how), F(T, nr), F(T, other),
	F(T, uaddr), A(T, fig),
};
#undef T

const struct rec_struct rec_structs[RS_COUNT] = {
	STRUCT(RS_META, struct rec_meta, "meta", meta_fields),
	STRUCT(RS_SNAP, struct rec_snap, "snapshot", snap_fields),
	STRUCT(RS_THREAD, struct ct_thread, "ct_thread", thread_fields),
	STRUCT(RS_SYS, struct snap_sys, "snap_sys", sys_fields),
	STRUCT(RS_WAKER, struct snap_waker, "snap_waker", waker_fields),
	STRUCT(RS_NAME, struct snap_name, "snap_name", name_fields),
	STRUCT(RS_PROC, struct snap_proc, "snap_proc", proc_fields),
	STRUCT(RS_LOCK, struct snap_lock, "snap_lock", lock_fields),
	STRUCT(RS_EDGE, struct snap_edge, "snap_edge", edge_fields),
	STRUCT(RS_SITE, struct snap_site, "snap_site", site_fields),
	STRUCT(RS_SYM, struct snap_sym, "snap_sym", sym_fields),
	STRUCT(RS_GILHIST, struct snap_gilhist, "snap_gilhist", gilhist_fields),
	STRUCT(RS_GIL, struct rec_gil, "gil_info", gil_fields),
	STRUCT(RS_RUNNER, struct snap_runner, "snap_runner", runner_fields),
	STRUCT(RS_LSTACK, struct snap_site, "snap_lstack", site_fields),
	STRUCT(RS_STACK, struct snap_stack, "snap_stack", stack_fields),
	STRUCT(RS_FRAME, struct snap_frame, "snap_frame", frame_fields),
	STRUCT(RS_PYNAME, struct snap_pyname, "snap_pyname", pyname_fields),
	STRUCT(RS_NATIVE, struct snap_native, "snap_native", native_fields),
	STRUCT(RS_EVENT, struct ct_tl_event, "ct_tl_event", event_fields),
};

uint32_t rec_type_size(uint32_t type)
{
	static const uint8_t size[] = {
		[REC_U8] = 1,  [REC_U16] = 2, [REC_U32] = 4, [REC_U64] = 8, [REC_S8] = 1,
		[REC_S16] = 2, [REC_S32] = 4, [REC_S64] = 8, [REC_CHAR] = 1
	};

	return type < sizeof(size) ? size[type] : 0;
}

const char *rec_type_name(uint32_t type)
{
	static const char *const names[] = {
		[REC_U8] = "u8",   [REC_U16] = "u16", [REC_U32] = "u32",
		[REC_U64] = "u64", [REC_S8] = "s8",   [REC_S16] = "s16",
		[REC_S32] = "s32", [REC_S64] = "s64", [REC_CHAR] = "char"
	};

	return type < sizeof(names) / sizeof(names[0]) && names[type] ? names[type] : "?";
}

const struct rec_field *rec_find_field(const struct rec_struct *st, const char *name)
{
	for (uint32_t i = 0; i < st->nfields; i++)
		if (!strcmp(st->fields[i].name, name))
			return &st->fields[i];
	return NULL;
}

void rec_map_free(struct rec_map *m)
{
	free(m->copies);
	free(m->absent);
	free(m->checks);
	memset(m, 0, sizeof(*m));
}

/* "u64", "char[16]", "u32[160]" */
static void type_str(char *buf, size_t len, const struct rec_field *f)
{
	if (f->count == 1)
		snprintf(buf, len, "%s", rec_type_name(f->type));
	else
		snprintf(buf, len, "%s[%u]", rec_type_name(f->type), f->count);
}

/* Whether a file's field can be read into a local one; else the message. */
static int compatible(const struct rec_struct *local, const struct rec_field *lf,
		      const struct rec_field *ff, char *err, size_t errlen)
{
	char have[32], want[32];

	/* Text may change length: it is copied up to the shorter, and terminated. */
	if (ff->type == lf->type && (ff->count == lf->count || lf->type == REC_CHAR))
		return 0;
	type_str(have, sizeof(have), ff);
	type_str(want, sizeof(want), lf);
	snprintf(err, errlen, "cannot read %s.%s: %s in the file, %s here", local->name, lf->name,
		 have, want);
	return -EINVAL;
}

static void add_copy(struct rec_map *m, uint32_t from, uint32_t to, uint32_t len)
{
	struct rec_copy *c = m->ncopies ? &m->copies[m->ncopies - 1] : NULL;

	/* Local fields come in offset order: a run that continues on both sides grows. */
	if (c && c->from + c->len == from && c->to + c->len == to) {
		c->len += len;
		return;
	}
	c = &m->copies[m->ncopies++];
	*c = (struct rec_copy){ .from = from, .to = to, .len = len };
}

int rec_map_build(struct rec_map *m, const struct rec_struct *local, const struct rec_struct *file,
		  char *err, size_t errlen)
{
	memset(m, 0, sizeof(*m));
	m->local = local;
	m->absent = calloc(local->nfields ? local->nfields : 1, sizeof(*m->absent));
	m->copies = calloc(local->nfields ? local->nfields : 1, sizeof(*m->copies));
	m->checks = calloc(local->nfields ? local->nfields : 1, sizeof(*m->checks));
	if (!m->absent || !m->copies || !m->checks) {
		rec_map_free(m);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	m->file_size = file ? file->size : 0;
	for (uint32_t i = 0; i < local->nfields; i++) {
		const struct rec_field *lf = &local->fields[i];
		const struct rec_field *ff = file ? rec_find_field(file, lf->name) : NULL;
		uint32_t n;

		if (lf->max)
			m->checks[m->nchecks++] = i;
		if (!ff) {
			m->absent[i] = true;
			continue;
		}
		if (compatible(local, lf, ff, err, errlen)) {
			rec_map_free(m);
			return -EINVAL;
		}
		n = (ff->count < lf->count ? ff->count : lf->count) * rec_type_size(lf->type);
		add_copy(m, ff->offset, lf->offset, n);
	}
	m->identical = file && file->size == local->size && m->ncopies == 1 &&
		       m->copies[0].from == 0 && m->copies[0].to == 0 &&
		       m->copies[0].len == local->size;
	return 0;
}

static uint64_t load_uint(const unsigned char *p, uint32_t type)
{
	uint8_t u8;
	uint16_t u16;
	uint32_t u32;
	uint64_t u64;

	switch (rec_type_size(type)) {
	case 1:
		memcpy(&u8, p, 1);
		return u8;
	case 2:
		memcpy(&u16, p, 2);
		return u16;
	case 4:
		memcpy(&u32, p, 4);
		return u32;
	default:
		memcpy(&u64, p, 8);
		return u64;
	}
}

int rec_map_read(const struct rec_map *m, void *dst, const void *src, char *err, size_t errlen)
{
	const struct rec_struct *st = m->local;
	unsigned char *d = dst;
	const unsigned char *s = src;

	if (m->identical) {
		memcpy(d, s, st->size);
	} else {
		memset(d, 0, st->size);
		for (size_t i = 0; i < m->ncopies; i++)
			memcpy(d + m->copies[i].to, s + m->copies[i].from, m->copies[i].len);
	}
	for (size_t i = 0; i < m->nchecks; i++) {
		const struct rec_field *f = &st->fields[m->checks[i]];
		uint64_t v;

		v = load_uint(d + f->offset, f->type);
		if (v > f->max) {
			snprintf(err, errlen, "%s.%s: %llu is not a valid value (0 to %u)",
				 st->name, f->name, (unsigned long long)v, f->max);
			return -EINVAL;
		}
	}
	return 0;
}
