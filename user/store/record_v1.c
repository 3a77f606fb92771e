// SPDX-License-Identifier: GPL-2.0-only
/*
 * Format version 1 (contrace 0.1.0): its files carry no description of
 * their records, so this is it, frozen. It was generated from the 0.1.0
 * structs (rec_structs[] as they were, with version 1's snapshot header,
 * whose `n` counts the arrays that follow it) and must never change with
 * them: a version 1 file is read through it, by field name, onto whatever
 * the structs have become. Its layout hash (the header's) is
 * RECORD_V1_LAYOUT; tests/data/rec-0.1.0 holds recordings it must read.
 */
#include "store/record_desc.h"

static const struct rec_field meta_v1[] = {
	{ "version", REC_CHAR, 32, 0, 0 },
	{ "kernel", REC_CHAR, 65, 32, 0 },
	{ "hostname", REC_CHAR, 65, 97, 0 },
	{ "command", REC_CHAR, 1024, 162, 0 },
	{ "pad0", REC_CHAR, 6, 1186, 0 },
	{ "ncpus", REC_S32, 1, 1192, 0 },
	{ "target_pid", REC_S32, 1, 1196, 0 },
	{ "launched", REC_U8, 1, 1200, 0 },
	{ "follow", REC_U8, 1, 1201, 0 },
	{ "syscalls", REC_U8, 1, 1202, 0 },
	{ "locks", REC_U8, 1, 1203, 0 },
	{ "holds", REC_U8, 1, 1204, 0 },
	{ "pad1", REC_U8, 3, 1205, 0 },
	{ "locks_min_wait_ns", REC_U64, 1, 1208, 0 },
	{ "trace_start_ns", REC_U64, 1, 1216, 0 },
	{ "trace_start_real_ns", REC_U64, 1, 1224, 0 },
};

static const struct rec_field snap_v1[] = {
	{ "ts", REC_U64, 1, 0, 0 },
	{ "counters.seeded", REC_U64, 1, 8, 0 },
	{ "counters.forked", REC_U64, 1, 16, 0 },
	{ "counters.threads_dropped", REC_U64, 1, 24, 0 },
	{ "counters.storage_failed", REC_U64, 1, 32, 0 },
	{ "counters.sys_dropped", REC_U64, 1, 40, 0 },
	{ "counters.wakers_dropped", REC_U64, 1, 48, 0 },
	{ "counters.missed_wakeups", REC_U64, 1, 56, 0 },
	{ "counters.missed_switch_ins", REC_U64, 1, 64, 0 },
	{ "counters.locks_dropped", REC_U64, 1, 72, 0 },
	{ "counters.sites_unknown", REC_U64, 1, 80, 0 },
	{ "counters.events_dropped", REC_U64, 1, 88, 0 },
	{ "counters.holds_dropped", REC_U64, 1, 96, 0 },
	{ "counters.gil_hists_dropped", REC_U64, 1, 104, 0 },
	{ "holds_probed", REC_U64, 1, 112, 0 },
	{ "holds_unprobed", REC_U64, 1, 120, 0 },
	{ "exit_status", REC_S32, 1, 128, 0 },
	{ "exit_signal", REC_S32, 1, 132, 0 },
	{ "kind", REC_U32, 1, 136, 0 },
	{ "pad", REC_U32, 1, 140, 0 },
	{ "n", REC_U64, 11, 144, 0 },
};

static const struct rec_field thread_v1[] = {
	{ "tid", REC_U32, 1, 0, 0 },
	{ "tgid", REC_U32, 1, 4, 0 },
	{ "slot", REC_U32, 1, 8, 0 },
	{ "flags", REC_U32, 1, 12, 0 },
	{ "state", REC_U32, 1, 16, 0 },
	{ "wake_pending", REC_U32, 1, 20, 0 },
	{ "state_ts", REC_U64, 1, 24, 0 },
	{ "start_ts", REC_U64, 1, 32, 0 },
	{ "end_ts", REC_U64, 1, 40, 0 },
	{ "comm", REC_CHAR, 16, 48, 0 },
	{ "oncpu_ns", REC_U64, 1, 64, 0 },
	{ "stolen_ns", REC_U64, 1, 72, 0 },
	{ "runq_ns", REC_U64, 1, 80, 0 },
	{ "blocked_ns", REC_U64, 1, 88, 0 },
	{ "blocked_nosys_ns", REC_U64, 1, 96, 0 },
	{ "k_exec", REC_U64, 1, 104, 0 },
	{ "k_delay", REC_U64, 1, 112, 0 },
	{ "wait_ts", REC_U64, 1, 120, 0 },
	{ "k_clock_out", REC_U64, 1, 128, 0 },
	{ "blk_ts", REC_U64, 1, 136, 0 },
	{ "k_steal_in", REC_U64, 1, 144, 0 },
	{ "nvcsw", REC_U64, 1, 152, 0 },
	{ "nivcsw", REC_U64, 1, 160, 0 },
	{ "kern_nvcsw", REC_U64, 1, 168, 0 },
	{ "wakeups", REC_U64, 1, 176, 0 },
	{ "wake_ts", REC_U64, 1, 184, 0 },
	{ "wakelat_sum", REC_U64, 1, 192, 0 },
	{ "wakelat_max", REC_U64, 1, 200, 0 },
	{ "wakelat_hist", REC_U32, 160, 208, 0 },
	{ "pend_waker_tid", REC_U32, 1, 848, 0 },
	{ "pend_waker_tgid", REC_U32, 1, 852, 0 },
	{ "rl_waker_tid", REC_U32, 1, 856, 0 },
	{ "rl_waker_tgid", REC_U32, 1, 860, 0 },
	{ "rl_waker_count", REC_U64, 1, 864, 0 },
	{ "sys_nr", REC_S32, 1, 872, 0 },
	{ "blk_nr", REC_S32, 1, 876, 0 },
	{ "sys_ts", REC_U64, 1, 880, 0 },
	{ "sys_offcpu_ns", REC_U64, 1, 888, 0 },
	{ "bl_nr", REC_S32, 1, 896, 0 },
	{ "pad1", REC_U32, 1, 900, 0 },
	{ "bl_ns", REC_U64, 1, 904, 0 },
	{ "bl_count", REC_U64, 1, 912, 0 },
	{ "fx_uaddr", REC_U64, 1, 920, 0 },
	{ "fx_start", REC_U64, 1, 928, 0 },
	{ "fx_site", REC_U64, 1, 936, 0 },
	{ "fx_op", REC_U32, 1, 944, 0 },
	{ "fx_owner", REC_U32, 1, 948, 0 },
	{ "pend_fx_uaddr", REC_U64, 1, 952, 0 },
	{ "pend_waker_site", REC_U64, 1, 960, 0 },
	{ "pend_hold_since", REC_U64, 1, 968, 0 },
	{ "site_cache[0].site", REC_U64, 1, 976, 0 },
	{ "site_cache[0].sp", REC_U64, 1, 984, 0 },
	{ "site_cache[0].ip", REC_U64, 1, 992, 0 },
	{ "site_cache[0].off", REC_U64, 1, 1000, 0 },
	{ "site_cache[1].site", REC_U64, 1, 1008, 0 },
	{ "site_cache[1].sp", REC_U64, 1, 1016, 0 },
	{ "site_cache[1].ip", REC_U64, 1, 1024, 0 },
	{ "site_cache[1].off", REC_U64, 1, 1032, 0 },
	{ "site_next", REC_U32, 1, 1040, 0 },
	{ "pend_exit", REC_U32, 1, 1044, 0 },
	{ "sys_fx_uaddr", REC_U64, 1, 1048, 0 },
	{ "sys_fx_op", REC_U32, 1, 1056, 0 },
	{ "held_next", REC_U32, 1, 1060, 0 },
	{ "held[0].uaddr", REC_U64, 1, 1064, 0 },
	{ "held[0].since", REC_U64, 1, 1072, 0 },
	{ "held[1].uaddr", REC_U64, 1, 1080, 0 },
	{ "held[1].since", REC_U64, 1, 1088, 0 },
	{ "held[2].uaddr", REC_U64, 1, 1096, 0 },
	{ "held[2].since", REC_U64, 1, 1104, 0 },
	{ "held[3].uaddr", REC_U64, 1, 1112, 0 },
	{ "held[3].since", REC_U64, 1, 1120, 0 },
	{ "gil_state", REC_U32, 1, 1128, 0 },
	{ "gil_blk", REC_U32, 1, 1132, 0 },
	{ "gil_in", REC_U32, 1, 1136, 0 },
	{ "gil_handed", REC_U32, 1, 1140, 0 },
	{ "gil_ts", REC_U64, 1, 1144, 0 },
	{ "gil_hold_ns", REC_U64, 1, 1152, 0 },
	{ "gil_hold_max", REC_U64, 1, 1160, 0 },
	{ "gil_wait_ns", REC_U64, 1, 1168, 0 },
	{ "gil_wait_max", REC_U64, 1, 1176, 0 },
	{ "gil_takes", REC_U64, 1, 1184, 0 },
	{ "gil_waits", REC_U64, 1, 1192, 0 },
	{ "gil_rel_ns", REC_U64, 1, 1200, 0 },
	{ "gil_rel_runq_ns", REC_U64, 1, 1208, 0 },
	{ "gil_rel_blocked_ns", REC_U64, 1, 1216, 0 },
};

static const struct rec_field sys_v1[] = {
	{ "key.slot", REC_U32, 1, 0, 0 },    { "key.nr", REC_S32, 1, 4, 0 },
	{ "st.blocks", REC_U64, 1, 8, 0 },   { "st.blocked_ns", REC_U64, 1, 16, 0 },
	{ "st.calls", REC_U64, 1, 24, 0 },   { "st.errors", REC_U64, 1, 32, 0 },
	{ "st.partial", REC_U64, 1, 40, 0 }, { "st.total_ns", REC_U64, 1, 48, 0 },
	{ "st.max_ns", REC_U64, 1, 56, 0 },  { "st.offcpu_ns", REC_U64, 1, 64, 0 },
	{ "open", REC_U64, 1, 72, 0 },
};

static const struct rec_field waker_v1[] = {
	{ "key.slot", REC_U32, 1, 0, 0 },  { "key.waker_tid", REC_U32, 1, 4, 0 },
	{ "val.count", REC_U64, 1, 8, 0 }, { "val.waker_tgid", REC_U32, 1, 16, 0 },
	{ "val.pad", REC_U32, 1, 20, 0 },
};

static const struct rec_field name_v1[] = {
	{ "tid", REC_U32, 1, 0, 0 },
	{ "pid", REC_U32, 1, 4, 0 },
	{ "comm", REC_CHAR, 16, 8, 0 },
};

static const struct rec_field proc_v1[] = {
	{ "pid", REC_U32, 1, 0, 0 },
	{ "ncpus", REC_U32, 1, 4, 0 },
	{ "comm", REC_CHAR, 16, 8, 0 },
	{ "cmdline", REC_CHAR, 256, 24, 0 },
};

static const struct rec_field lock_v1[] = {
	{ "key.tgid", REC_U32, 1, 0, 0 },	    { "key.pad", REC_U32, 1, 4, 0 },
	{ "key.uaddr", REC_U64, 1, 8, 0 },	    { "st.waits", REC_U64, 1, 16, 0 },
	{ "st.wait_ns", REC_U64, 1, 24, 0 },	    { "st.wait_max", REC_U64, 1, 32, 0 },
	{ "st.wakes", REC_U64, 1, 40, 0 },	    { "st.timeouts", REC_U64, 1, 48, 0 },
	{ "st.exit_wakes", REC_U64, 1, 56, 0 },	    { "st.holds", REC_U64, 1, 64, 0 },
	{ "st.hold_ns", REC_U64, 1, 72, 0 },	    { "st.hold_max", REC_U64, 1, 80, 0 },
	{ "st.owner_since", REC_U64, 1, 88, 0 },    { "st.release_ts", REC_U64, 1, 96, 0 },
	{ "st.block_ts", REC_U64, 1, 104, 0 },	    { "st.busy_ns", REC_U64, 1, 112, 0 },
	{ "st.busy_since", REC_U64, 1, 120, 0 },    { "st.rel[0].ts", REC_U64, 1, 128, 0 },
	{ "st.rel[0].start", REC_U64, 1, 136, 0 },  { "st.rel[0].site", REC_U64, 1, 144, 0 },
	{ "st.rel[0].tid", REC_U32, 1, 152, 0 },    { "st.rel[0].pad", REC_U32, 1, 156, 0 },
	{ "st.rel[1].ts", REC_U64, 1, 160, 0 },	    { "st.rel[1].start", REC_U64, 1, 168, 0 },
	{ "st.rel[1].site", REC_U64, 1, 176, 0 },   { "st.rel[1].tid", REC_U32, 1, 184, 0 },
	{ "st.rel[1].pad", REC_U32, 1, 188, 0 },    { "st.rel[2].ts", REC_U64, 1, 192, 0 },
	{ "st.rel[2].start", REC_U64, 1, 200, 0 },  { "st.rel[2].site", REC_U64, 1, 208, 0 },
	{ "st.rel[2].tid", REC_U32, 1, 216, 0 },    { "st.rel[2].pad", REC_U32, 1, 220, 0 },
	{ "st.rel[3].ts", REC_U64, 1, 224, 0 },	    { "st.rel[3].start", REC_U64, 1, 232, 0 },
	{ "st.rel[3].site", REC_U64, 1, 240, 0 },   { "st.rel[3].tid", REC_U32, 1, 248, 0 },
	{ "st.rel[3].pad", REC_U32, 1, 252, 0 },    { "st.rel_next", REC_U32, 1, 256, 0 },
	{ "st.owner_tid", REC_U32, 1, 260, 0 },	    { "st.op", REC_U32, 1, 264, 0 },
	{ "st.nblocked", REC_U32, 1, 268, 0 },	    { "st.retries", REC_U64, 1, 272, 0 },
	{ "st.timeouts_ret", REC_U64, 1, 280, 0 },  { "st.wake_calls", REC_U64, 1, 288, 0 },
	{ "st.woken", REC_U64, 1, 296, 0 },	    { "st.wait_hist", REC_U32, 160, 304, 0 },
	{ "st.hold_hist", REC_U32, 160, 944, 0 },   { "st.xholds", REC_U64, 1, 1584, 0 },
	{ "st.xhold_ns", REC_U64, 1, 1592, 0 },	    { "st.xhold_max", REC_U64, 1, 1600, 0 },
	{ "st.xhold_hist", REC_U32, 160, 1608, 0 },
};

static const struct rec_field edge_v1[] = {
	{ "key.tgid", REC_U32, 1, 0, 0 },	  { "key.waiter", REC_U32, 1, 4, 0 },
	{ "key.uaddr", REC_U64, 1, 8, 0 },	  { "key.holder", REC_U32, 1, 16, 0 },
	{ "key.pad", REC_U32, 1, 20, 0 },	  { "val.waits", REC_U64, 1, 24, 0 },
	{ "val.wait_ns", REC_U64, 1, 32, 0 },	  { "val.holder_site", REC_U64, 1, 40, 0 },
	{ "val.waiter_site", REC_U64, 1, 48, 0 },
};

static const struct rec_field site_v1[] = {
	{ "key.tgid", REC_U32, 1, 0, 0 },   { "key.pad", REC_U32, 1, 4, 0 },
	{ "key.uaddr", REC_U64, 1, 8, 0 },  { "key.site", REC_U64, 1, 16, 0 },
	{ "val.waits", REC_U64, 1, 24, 0 }, { "val.wait_ns", REC_U64, 1, 32, 0 },
};

static const struct rec_field sym_v1[] = {
	{ "pid", REC_U32, 1, 0, 0 },  { "kind", REC_U32, 1, 4, 0 },
	{ "addr", REC_U64, 1, 8, 0 }, { "found", REC_U32, 1, 16, 0 },
	{ "pad", REC_U32, 1, 20, 0 }, { "name", REC_CHAR, 128, 24, 0 },
};

static const struct rec_field gilhist_v1[] = {
	{ "slot", REC_U32, 1, 0, 0 },
	{ "h.wait", REC_U32, 160, 4, 0 },
};

static const struct rec_field gil_v1[] = {
	{ "pid", REC_S32, 1, 0, 0 },	   { "file", REC_CHAR, 64, 4, 0 },
	{ "version", REC_CHAR, 8, 68, 0 }, { "free_threaded", REC_U8, 1, 76, 0 },
	{ "pad0", REC_U8, 3, 77, 0 },	   { "tier", REC_U32, 1, 80, 0 },
	{ "why", REC_CHAR, 160, 84, 0 },   { "pad1", REC_U32, 1, 244, 0 },
	{ "addr", REC_U64, 1, 248, 0 },	   { "interval_us", REC_U64, 1, 256, 0 },
};

const struct rec_struct rec_structs_v1[RS_COUNT_V1] = {
	[RS_META] = { "meta", 1232, 16, meta_v1 },
	[RS_SNAP] = { "snapshot", 232, 21, snap_v1 },
	[RS_THREAD] = { "ct_thread", 1224, 85, thread_v1 },
	[RS_SYS] = { "snap_sys", 80, 11, sys_v1 },
	[RS_WAKER] = { "snap_waker", 24, 5, waker_v1 },
	[RS_NAME] = { "snap_name", 24, 3, name_v1 },
	[RS_PROC] = { "snap_proc", 280, 4, proc_v1 },
	[RS_LOCK] = { "snap_lock", 2248, 51, lock_v1 },
	[RS_EDGE] = { "snap_edge", 56, 9, edge_v1 },
	[RS_SITE] = { "snap_site", 40, 6, site_v1 },
	[RS_SYM] = { "snap_sym", 152, 6, sym_v1 },
	[RS_GILHIST] = { "snap_gilhist", 644, 2, gilhist_v1 },
	[RS_GIL] = { "gil_info", 264, 10, gil_v1 },
};
