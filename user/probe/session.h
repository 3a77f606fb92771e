/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The BPF side as one object: open, configure, load, attach, find the
 * target's threads, take snapshots, detach, close. Owns the skeleton.
 */
#ifndef CONTRACE_SESSION_H
#define CONTRACE_SESSION_H

#include <stdbool.h>
#include <stdint.h>

#include "probe/gil.h"
#include "probe/holds.h"
#include "snap/snapshot.h"
#include "probe/symbols.h"
#include "probe/task.h"

struct ring_buffer;

struct contrace_bpf;

struct session_cfg {
	int target_pid;
	bool follow;
	bool gate; /* launched command: account from its execve on */
	bool syscalls; /* attach sys_enter/sys_exit */
	bool holds; /* --holds: uprobes on pthread mutexes (placed by session_refresh) */
	bool gil; /* find CPython processes and probe their GIL */
	int gil_mode; /* enum gil_mode */
	uint32_t max_threads;
	const char *btf_path; /* NULL: the running kernel's */
};

struct session {
	struct contrace_bpf *skel;
	const struct ct_thread *slots; /* ct_threads, mapped read-only */
	size_t slots_len;
	uint32_t max_threads;
	uint64_t detach_ts; /* monotonic time the probes were removed, 0 while live */
	struct proc_cache procs;
	struct snapshot names; /* names of wakers outside the trace */
	struct symbolizer *sym; /* names of lock words and call sites */
	struct snapshot syms; /* those names, kept across snapshots */
	struct ring_buffer *events; /* ct_events: exec and new processes */
	bool refresh_due; /* an event asked for a refresh */
	int *news; /* processes an event named (a new image, a new process): read first */
	size_t nnews, news_cap;
	bool holds_on; /* --holds requested */
	bool holds_ready; /* the target runs its own image: probe its C library */
	struct holds holds;
	struct gil gil;
};

/* Open and load. On failure a one-line message in err. 0, or -errno. */
int session_open(struct session *s, const struct session_cfg *cfg, char *err, size_t errlen);

/* Attach every probe. 0, or -errno with a message. */
int session_attach(struct session *s, char *err, size_t errlen);

/* Find the target's threads; repeat until a pass finds no new one. Returns threads found. */
long session_seed(struct session *s, char *err, size_t errlen);

/* A file descriptor that polls readable when the BPF side has news. */
int session_events_fd(const struct session *s);

/* Read that news; true if a refresh (session_refresh) is due now. */
bool session_consume_events(struct session *s);

/*
 * Read /proc facts of newly traced processes (call now and then); with
 * --holds once holds_ready is set, probe their C libraries.
 */
void session_refresh(struct session *s);

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

/* Remove the probes; the maps stay readable. */
void session_detach(struct session *s);

void session_close(struct session *s);

#endif
