/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A snapshot: the BPF maps copied at one moment, with every interval still
 * open at that moment closed, so that two snapshots can be subtracted to get
 * what happened between them. task.c, sched.c and syscalls.c fill their parts.
 */
#ifndef CONTRACE_SNAPSHOT_H
#define CONTRACE_SNAPSHOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "contrace.h"

#define SNAP_CMDLINE_LEN 256

/* A ct_sysstats entry; `open` counts the calls in progress at the snapshot. */
struct snap_sys {
	struct ct_sys_key key;
	struct ct_sys_stat st;
	uint64_t open;
};

struct snap_waker {
	struct ct_waker_key key;
	struct ct_waker_val val;
};

/* Who had the CPU while a traced thread waited for it (ct_runners). */
struct snap_runner {
	struct ct_runner_key key;
	struct ct_runner_val val;
};

/* Samples of a Python process's native code with the GIL released, by address (ct_native). */
struct snap_native {
	struct ct_native_key key;
	uint64_t samples;
};

/* Name of a thread outside the trace that woke a traced one. */
struct snap_name {
	uint32_t tid;
	uint32_t pid;
	char comm[CT_COMM_LEN];
};

struct snap_lock {
	struct ct_lock_key key;
	struct ct_lock_stat st;
};

struct snap_edge {
	struct ct_edge_key key;
	struct ct_edge_val val;
};

struct snap_site {
	struct ct_site_key key;
	struct ct_site_val val;
};

/*
 * An lstacks entry whose uaddr has this bit holds GIL waits by the Python
 * stack of the thread holding the GIL when they began (--stacks, Python
 * processes); its low 32 bits are that thread's tid, 0 if unknown.
 */
#define SNAP_GIL_HOLDER (1ULL << 63)

/*
 * An lstacks entry whose uaddr has this bit (and not SNAP_GIL_HOLDER)
 * holds on-CPU samples of a process's Python threads by stack (waits:
 * samples, wait_ns: their CPU time); its low bits are what the threads were
 * doing (enum ct_smp_class).
 */
#define SNAP_ONCPU (1ULL << 62)

/*
 * An lstacks entry whose uaddr has this bit (and neither above) holds
 * blocks in a syscall other than a futex wait by stack; its low 32 bits
 * are the syscall's number.
 */
#define SNAP_SYSCALL CT_STK_SYSCALL

/*
 * --stacks: a distinct user stack of a process, interned (its id stays
 * for the whole trace); its frames are the snap_frame entries of its id,
 * index 0 the leaf: where the thread made the syscall. Every other frame
 * is the address of its call instruction's last byte (return address - 1),
 * which names the caller even when the call is the last thing it does.
 */
struct snap_stack {
	uint32_t id;
	uint32_t pid;
	uint32_t n; /* frames */
	uint32_t partial; /* not unwound to the thread's first function */
};

struct snap_frame {
	uint32_t stack;
	uint32_t index;
	uint64_t pc;
};

#define SNAP_SYM_LEN 128

enum snap_sym_kind {
	SNAP_SYM_DATA = 0, /* a lock word */
	SNAP_SYM_CODE = 1, /* a call site */
};

/* The name of an address of a traced process, resolved while it lived. */
struct snap_sym {
	uint32_t pid;
	uint32_t kind; /* enum snap_sym_kind */
	uint64_t addr;
	uint32_t found; /* a symbol, not only a mapping */
	uint32_t pad;
	char name[SNAP_SYM_LEN];
};

/* A Python thread's GIL wait histogram (ct_gil_hists). */
struct snap_gilhist {
	uint32_t slot;
	struct ct_gil_hist h;
};

/* A cgroup's CPU throttling count (cpu.stat) at one moment. */
struct snap_throttle {
	uint64_t nr_periods;
	uint64_t nr_throttled;
	uint64_t throttled_usec;
};

#define SNAP_PYNAME_LEN 64

/*
 * The name a Python program gave a thread (threading.Thread.name), read
 * from its memory at `ts` (monotonic ns), while that thread lived: a tid
 * reused later is another thread. Printable UTF-8, NUL-terminated.
 */
struct snap_pyname {
	uint32_t tid;
	uint32_t pid;
	uint64_t ts;
	char name[SNAP_PYNAME_LEN];
};

/* Whether name n was read while thread t lived (a tid reused later is another thread). */
static inline bool snap_pyname_fits(const struct snap_pyname *n, const struct ct_thread *t)
{
	return n->tid == t->tid && n->pid == t->tgid && t->start_ts <= n->ts &&
	       (!t->end_ts || n->ts <= t->end_ts);
}

/* What /proc said about a traced process while it lived. */
struct snap_proc {
	uint32_t pid;
	uint32_t ncpus; /* CPUs in its affinity mask */
	char comm[CT_COMM_LEN];
	char cmdline[SNAP_CMDLINE_LEN];
	/*
	 * The cgroup v2 CPU quota limiting it (cpu.max; quota_us 0: none),
	 * and its group's cpu.stat when that group was first seen (thr0) and
	 * at this snapshot (thr): the kernel's own count of the throttling.
	 */
	uint64_t quota_us;
	uint64_t period_us;
	uint32_t quota_v1; /* cgroup v1's cpu.cfs_quota_us, not cpu.max */
	uint32_t pad;
	uint64_t cg_ino; /* the group with the quota: thr0 is reset when it changes */
	struct snap_throttle thr0;
	struct snap_throttle thr;
	char quota_cgroup[128];
};

struct rec_schema; /* record.c */

struct snap_tid {
	uint32_t tid;
	uint32_t slot;
};

struct snapshot {
	uint64_t ts; /* monotonic ns: open intervals are closed at this time */
	/* Bit FIG_x (figs.h): a recording made before figure x existed lacks it. */
	uint64_t fig_absent;
	/* Bit DROP_x: drop counter x was not counted (a recording made before it existed). */
	uint64_t drop_absent;
	bool natives_absent; /* native code's samples by address not recorded (an older file) */
	bool claimed_late_absent; /* counters.claimed_late not recorded (an older file) */
	struct ct_counters counters;
	uint32_t nthreads;
	struct ct_thread *threads; /* index == slot */
	size_t nsys;
	struct snap_sys *sys; /* sorted by (slot, nr) */
	size_t nwakers;
	struct snap_waker *wakers; /* sorted by (slot, waker_tid) */
	size_t nrunners;
	struct snap_runner *runners; /* sorted by (slot, tid) */
	size_t nnames;
	struct snap_name *names; /* sorted by tid */
	size_t nprocs;
	struct snap_proc *procs; /* sorted by pid */
	size_t nlocks;
	struct snap_lock *locks; /* sorted by (tgid, uaddr) */
	size_t nedges;
	struct snap_edge *edges; /* sorted by key */
	size_t nsites;
	struct snap_site *sites; /* sorted by key */
	size_t nnatives;
	struct snap_native *natives; /* sorted by (tgid, ip) */
	size_t nsyms;
	struct snap_sym *syms; /* sorted by (pid, kind, addr) */
	size_t ngilhists;
	struct snap_gilhist *gilhists; /* sorted by slot */
	size_t npynames;
	struct snap_pyname *pynames; /* sorted by (tid, pid) */
	/* --stacks: waits by lock and stack: key.site is the stack's id. Sorted by key. */
	size_t nlstacks;
	struct snap_site *lstacks;
	size_t nstacks;
	struct snap_stack *stacks; /* sorted by id */
	size_t nframes;
	struct snap_frame *frames; /* sorted by (stack, index) */
	/* Made by snapshot_normalize(): accounted threads by tid, for task_by_tid(). */
	size_t ntids;
	struct snap_tid *tids; /* sorted by tid; of a tid reused, its last slot */
	/*
	 * Capacities of the arrays snapshot_add_*() grow (vec.h). 0 for an
	 * array allocated to its count; whoever replaces an array resets it.
	 */
	struct {
		size_t sys, wakers, runners, names, procs, locks, edges, sites, syms, natives;
	} cap;
	/*
	 * Read from a recording: which fields it had (record_has_field(); an
	 * older file may lack some: not measured). NULL: live, all measured.
	 */
	const struct rec_schema *schema;
};

void snapshot_free(struct snapshot *s);

/* The index entry of an accounted thread (NULL: none, or no index yet). */
const struct snap_tid *snapshot_find_tid(const struct snapshot *s, uint32_t tid);

/* Sort every array by key; merge duplicate keys of sys and wakers; index the threads by tid. */
void snapshot_normalize(struct snapshot *s);

/* The entry for a key, or NULL (arrays must be normalized). */
struct snap_sys *snapshot_find_sys(const struct snapshot *s, uint32_t slot, int32_t nr);
struct snap_waker *snapshot_find_waker(const struct snapshot *s, uint32_t slot, uint32_t tid);
struct snap_runner *snapshot_find_runner(const struct snapshot *s, uint32_t slot, uint32_t tid);
const struct snap_name *snapshot_find_name(const struct snapshot *s, uint32_t tid);
const struct snap_proc *snapshot_find_proc(const struct snapshot *s, uint32_t pid);
/* The Python name of thread tid of process pid, or NULL. */
const struct snap_pyname *snapshot_find_pyname(const struct snapshot *s, uint32_t tid,
					       uint32_t pid);

/*
 * Make a Python thread name printable: every control character, and every
 * byte not part of valid UTF-8, becomes '?'; it ends within its field.
 */
void snapshot_clean_pyname(char *name, size_t len);

const struct snap_lock *snapshot_find_lock(const struct snapshot *s, uint32_t tgid, uint64_t uaddr);
const struct snap_edge *snapshot_find_edge(const struct snapshot *s, const struct ct_edge_key *k);
const struct snap_site *snapshot_find_site(const struct snapshot *s, const struct ct_site_key *k);
const struct snap_site *snapshot_find_lstack(const struct snapshot *s, const struct ct_site_key *k);
const struct snap_stack *snapshot_find_stack(const struct snapshot *s, uint32_t id);
const struct snap_sym *snapshot_find_sym(const struct snapshot *s, uint32_t pid, uint32_t kind,
					 uint64_t addr);

/*
 * Where the entries of a key prefix begin in a normalized snapshot: the
 * index of the first entry at or after it (n if none). The entries of a
 * thread's slot, of a process (uaddr 0), or of one lock follow in order.
 */
size_t snapshot_sys_from(const struct snapshot *s, uint32_t slot);
size_t snapshot_waker_from(const struct snapshot *s, uint32_t slot);
size_t snapshot_runner_from(const struct snapshot *s, uint32_t slot);
size_t snapshot_lock_from(const struct snapshot *s, uint32_t tgid, uint64_t uaddr);
size_t snapshot_edge_from(const struct snapshot *s, uint32_t tgid, uint64_t uaddr);
size_t snapshot_site_from(const struct snapshot *s, uint32_t tgid, uint64_t uaddr);
size_t snapshot_lstack_from(const struct snapshot *s, uint32_t tgid, uint64_t uaddr);
size_t snapshot_frame_from(const struct snapshot *s, uint32_t stack);

/*
 * The order of the keyed arrays (by their keys: names by tid, processes by
 * pid, GIL histograms by slot), for qsort and bsearch.
 */
int snapshot_cmp_sys(const void *a, const void *b);
int snapshot_cmp_waker(const void *a, const void *b);
int snapshot_cmp_runner(const void *a, const void *b);
int snapshot_cmp_native(const void *a, const void *b);
/* The first native entry of process pid (== nnatives: none). */
size_t snapshot_native_from(const struct snapshot *s, uint32_t pid);
const struct snap_native *snapshot_find_native(const struct snapshot *s,
					       const struct ct_native_key *k);
int snapshot_cmp_name(const void *a, const void *b);
int snapshot_cmp_proc(const void *a, const void *b);
int snapshot_cmp_lock(const void *a, const void *b);
int snapshot_cmp_edge(const void *a, const void *b);
int snapshot_cmp_site(const void *a, const void *b);
int snapshot_cmp_sym(const void *a, const void *b);
int snapshot_cmp_gilhist(const void *a, const void *b);
int snapshot_cmp_pyname(const void *a, const void *b);
int snapshot_cmp_stack(const void *a, const void *b);
int snapshot_cmp_frame(const void *a, const void *b);

/* Append an entry, growing the array. NULL on allocation failure. */
struct snap_sys *snapshot_add_sys(struct snapshot *s, uint32_t slot, int32_t nr);
struct snap_waker *snapshot_add_waker(struct snapshot *s, uint32_t slot, uint32_t tid);
struct snap_runner *snapshot_add_runner(struct snapshot *s, uint32_t slot, uint32_t tid);
struct snap_native *snapshot_add_native(struct snapshot *s);
struct snap_name *snapshot_add_name(struct snapshot *s);
struct snap_proc *snapshot_add_proc(struct snapshot *s);
struct snap_lock *snapshot_add_lock(struct snapshot *s);
struct snap_edge *snapshot_add_edge(struct snapshot *s);
struct snap_site *snapshot_add_site(struct snapshot *s);
struct snap_sym *snapshot_add_sym(struct snapshot *s);

#endif
