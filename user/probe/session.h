/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The BPF side as one object: open, configure, load, attach, find the
 * target's threads, take snapshots, detach, close. Owns the skeleton.
 */
#ifndef CONTRACE_SESSION_H
#define CONTRACE_SESSION_H

#include <stdbool.h>
#include <stdint.h>

#include "model/model.h"
#include "probe/gil.h"
#include "snap/snapshot.h"

struct ring_buffer;

struct contrace_bpf;

struct session_cfg {
	int target_pid;
	bool follow;
	/*
	 * contrace serve: no target_pid; the processes given by
	 * session_target_add(), all traced by one set of programs.
	 */
	bool multi;
	bool gate; /* launched command: account from its execve on */
	bool syscalls; /* attach sys_enter/sys_exit */
	bool holds; /* --holds: uprobes on pthread mutexes (placed by session_refresh) */
	bool gil; /* find CPython processes and probe their GIL */
	int gil_mode; /* enum gil_mode */
	bool stacks; /* --stacks: user stacks at futex waits */
	bool stacks_note; /* say what they cost when the session closes (not with -q) */
	uint32_t sample_every; /* --stacks: a stack at every Nth CPU-clock sample (0: none) */
	uint32_t max_threads;
	const char *btf_path; /* NULL: the running kernel's */
	/*
	 * --timeline: each state change of a traced thread, given to
	 * timeline_sink as it is drained (NULL: no timeline, and no cost).
	 */
	int (*timeline_sink)(void *ctx, const struct ct_tl_event *e);
	void *timeline_ctx;
};

/* The BPF side and what goes with it (symbols, uprobes, /proc facts): opaque. */
struct session;

/* Open and load a new session into *sp. On failure a one-line message in err. 0, or -errno. */
int session_open(struct session **sp, const struct session_cfg *cfg, char *err, size_t errlen);

/* Attach every probe. 0, or -errno with a message. */
int session_attach(struct session *s, char *err, size_t errlen);

/*
 * Find the target's threads; repeat until a pass finds no new one. Returns
 * threads found (multi mode: those of the processes added since the last
 * call; 0 is no error there).
 */
long session_seed(struct session *s, char *err, size_t errlen);

/*
 * Read the Python processes' thread names (each at most every 50 ms): more
 * often than the refreshes while a program starts its threads.
 */
void session_read_names(struct session *s);

/*
 * Multi mode: trace process pid too; its threads are found by the next
 * session_seed() (then session_target_seeded() says how many). 0, or
 * -errno with err said (-E2BIG: the table of targets is full).
 */
int session_target_add(struct session *s, int pid, char *err, size_t errlen);

/*
 * Multi mode: pid exited, or is no longer wanted: no thread of a process
 * that reuses its pid is seeded. Its threads' slots stay until the session
 * closes.
 */
void session_target_remove(struct session *s, int pid);

/* Multi mode: the threads of target pid seeded so far (late ones included). */
long session_target_seeded(const struct session *s, int pid);

/* The processes traced now that have a live thread (-f: the target and its children). */
size_t session_processes(const struct session *s);

/* A file descriptor that polls readable when the BPF side has news. */
int session_events_fd(const struct session *s);

/*
 * Read that news (and the timeline's records, to the sink); true if a
 * refresh (session_refresh) is due now.
 */
bool session_consume_events(struct session *s);

/*
 * Read /proc facts of newly traced processes (call now and then); with
 * --holds once holds_ready is set, probe their C libraries.
 */
void session_refresh(struct session *s);

/*
 * session_refresh() for process pid alone (a target just added: the
 * others' maps are read at the next refresh).
 */
void session_refresh_pid(struct session *s, int pid);

/*
 * --holds: probe the C library process pid maps now, if not done yet. For a
 * launched command before its execve: the probes stay on the C library
 * file, for the process, through the execve (a command that maps another C
 * library is probed again by session_refresh, but not from its first
 * instruction).
 */
void session_probe_holds(struct session *s, int pid);

/* Take a snapshot now (or at the detach time once detached). 0 or -errno. */
int session_snapshot(struct session *s, struct snapshot *snap);

/*
 * Thread slots taken so far (each traced thread takes one for the
 * session's life) out of max: a session near full is replaced by a new one
 * (contrace serve), or new threads go untraced (threads_dropped).
 */
uint32_t session_slots_used(const struct session *s, uint32_t *max);

/*
 * Half its thread slots taken, or half of its tables of processes probed
 * for the GIL or --holds (an entry lasts the session's life): contrace
 * serve replaces such a session with a new one.
 */
bool session_half_full(const struct session *s);

/* Remove the probes; the maps stay readable. */
void session_detach(struct session *s);

/* Remove everything and free s (NULL: nothing). */
void session_close(struct session *s);

/* The target runs its own image now: --holds may probe its C library. */
void session_holds_ready(struct session *s, bool ready);

/*
 * The metadata of the report that changes while tracing: processes probed
 * for --holds and not, the Python processes found (into gil, at most max).
 */
void session_meta(const struct session *s, struct report_meta *m, struct rpt_gil_info *gil,
		  size_t max);

/* Send libbpf's messages to ours: its warnings with -v, its debug output with -vv. */
void session_log_libbpf(void);

#endif
