/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * --holds: exact hold times of pthread mutexes. Finds, in the C library a
 * process maps, where pthread_mutex_lock has taken a mutex and where
 * pthread_mutex_unlock begins, and attaches bpf/holds.bpf.c's uprobes there
 * for that process.
 *
 * A uprobe on an instruction the kernel must single-step (the `mov` that
 * begins both functions in Debian's glibc) costs ~40 us per hit on a VM; one
 * on a branch, which the kernel emulates, costs under 1 us. So the probes go
 * on branches: in pthread_mutex_lock, the branch after the owner check that
 * both the fast path and the return from __lll_lock_wait reach (every
 * acquisition of a normal mutex passes it, with the mutex in rdi); in
 * pthread_mutex_unlock, the jump that follows its first instruction. When
 * the C library's code does not match, the function entries are used, with
 * the cost said in a warning.
 */
#ifndef CONTRACE_HOLDS_H
#define CONTRACE_HOLDS_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/procfs.h"

struct bpf_program;
struct bpf_link;

/* Where to probe one C library: file offsets (uprobe offsets), and how cheap. */
struct holds_sites {
	uint64_t lock_off; /* pthread_mutex_lock has the mutex (rdi) here */
	uint64_t unlock_off; /* pthread_mutex_unlock, the mutex in rdi */
	bool lock_emulated; /* a branch the kernel emulates, not the entry */
	bool unlock_emulated;
};

/*
 * Find the probe sites in the ELF file open at fd (a C library with
 * pthread_mutex_lock and pthread_mutex_unlock in .dynsym; name: for
 * messages). 0, or -errno with a message in err (-ENOENT: the functions
 * are not there).
 */
int holds_find_sites(int fd, const char *name, struct holds_sites *sites, char *err, size_t errlen);

/*
 * Classify the code of pthread_mutex_lock (code: its first len bytes, at
 * file offset off) and of pthread_mutex_unlock: fill the offsets of the
 * cheapest sites found. Exposed for the unit tests.
 */
void holds_match_lock(const uint8_t *code, size_t len, uint64_t off, struct holds_sites *sites);
void holds_match_unlock(const uint8_t *code, size_t len, uint64_t off, struct holds_sites *sites);

/* The C library a process maps: one of its executable mappings. */
struct holds_libc {
	struct proc_map map; /* map.path points to path */
	char path[PATH_MAX];
};

/*
 * The C library process pid maps: libpthread (glibc before 2.34) if
 * mapped, else libc. 0, -EAGAIN if the dynamic loader has not mapped it
 * yet, -ENOENT if there is none (static), or -errno.
 */
int holds_find_libc(int pid, struct holds_libc *lib);

#define HOLDS_MAX_PROCS 64

/* A process tried: the C library probed (links NULL: not probed). */
struct holds_proc {
	int pid;
	uint64_t dev, ino; /* of the C library, as its maps line says */
	struct bpf_link *links[2]; /* acquired, release */
};

/* The uprobes attached so far. */
struct holds {
	struct bpf_program *acquired, *release;
	struct holds_proc procs[HOLDS_MAX_PROCS];
	struct bpf_link *retired[2 * HOLDS_MAX_PROCS]; /* of images replaced since */
	size_t nretired;
	size_t n; /* processes tried */
	size_t probed; /* of those, probed */
	size_t skipped; /* processes not probed: no C library found, or the table full */
	bool warned;
	bool full; /* HOLDS_MAX_PROCS tried: said once */
};

/*
 * Probe process pid (a tgid) if not yet done, or again if it maps another C
 * library since (an execve): find the C library it maps (libpthread before
 * glibc 2.34, else libc), open it with tfile_open(). A process is tried once
 * per library. 1 if probed now, 0 if nothing changed, -errno on failure
 * (with a message in err).
 */
int holds_attach(struct holds *h, int pid, char *err, size_t errlen);

/* Remove the uprobes (slow: call it once the report is out); the counts stay. */
void holds_detach(struct holds *h);

#endif
