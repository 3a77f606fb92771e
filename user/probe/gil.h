/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * CPython's GIL: find the interpreter a traced process runs (the executable
 * or a mapped libpython3.X), its version, whether it is free-threaded, and
 * its GIL (from _PyRuntime and a per-version offset, checked by reading the
 * process's memory); place bpf/gil.bpf.c's uprobes on take_gil and drop_gil
 * when .symtab has them (tier A), else in the C library (tier B), else
 * follow it through its futex words (tier C, gil_tstate.c); read the per-thread
 * histograms into snapshots. The report's GIL part is model/gil.c's.
 */
#ifndef CONTRACE_GIL_H
#define CONTRACE_GIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model/model.h"
#include "snap/snapshot.h"

struct bpf_program;
struct bpf_link;

#define GIL_MAX_PROCS 256
#define GIL_MAX_LINKS 6 /* take_gil entry and return, a clone's, drop_gil */
#define GIL_MAX_DEAD 256

/*
 * The default is tier C: it adds nothing to the target, where the uprobe
 * tiers slowed a socket ping-pong 4x (tier A, pyenv 3.12) to 14x (tier B,
 * Debian's 3.11) by adding 1.8 or 5 us to every GIL release and re-take.
 */
enum gil_mode {
	GIL_AUTO = 0, /* the default: tier C, else (no thread layout known) B, its cost said */
	GIL_UPROBE, /* tier A where the interpreter has symbols, else B, else C */
	GIL_LIBC, /* tier B only */
	GIL_FUTEX, /* tier C only: no uprobes */
};

struct gil_proc {
	struct rpt_gil_info info;
	bool pending_libc; /* tier B or C chosen, waiting for the GIL's address */
	uint64_t dev, ino; /* of the interpreter file */
	uint64_t runtime; /* address of _PyRuntime in the process, 0 if unknown */
	uint64_t runtime_off; /* of _PyRuntime from the interpreter's first mapping */
	bool remark; /* execve'd: tell the BPF side the GIL's new address once found */
	bool execd; /* an execve was seen since it was probed */
	struct bpf_link *links[GIL_MAX_LINKS];
};

struct gil {
	struct bpf_program *take, *taken, *drop; /* tier A */
	struct bpf_program *lock, *unlock, *signal; /* tier B */
	int addrs_fd; /* ct_gil_addrs */
	int tstates_fd; /* ct_gil_tstates (tier C, and every tier with --stacks) */
	struct pyframes *py; /* --stacks: names the processes' Python frames; else NULL */
	uint32_t *futex_on; /* the BPF side's ct_gilc_on */
	uint32_t *addrs_gen; /* the BPF side's ct_gil_gen: bumped after each change of ct_gil_addrs */
	bool enabled; /* --gil not off */
	enum gil_mode mode;
	struct gil_proc procs[GIL_MAX_PROCS];
	size_t n;
	bool full_said; /* the warning that the table is full was given */
	bool cost_said; /* the uprobe tiers' cost was printed */
	struct bpf_link *dead[GIL_MAX_DEAD]; /* probes of former images, removed at detach */
	size_t ndead;
};

/*
 * Look at process pid (a tgid): if it runs CPython (again: after an
 * execve, the interpreter may change), record what it is and probe it.
 * 1 if a Python process was found now, 0 if nothing changed or it is not
 * Python, -errno with a message in err on failure (the process is then
 * reported without probes, with the reason).
 */
int gil_attach(struct gil *g, int pid, char *err, size_t errlen);

/* An execve of pid was seen: its next gil_attach() may find another interpreter. */
void gil_note_exec(struct gil *g, int pid);

/* Remove the uprobes (slow: after the report). */
void gil_detach(struct gil *g);

/* The Python processes found, for the report (valid until the next gil_attach). */
size_t gil_infos(const struct gil *g, struct rpt_gil_info *out, size_t max);

/*
 * Parse an interpreter file name: "python3.11", "libpython3.13t.so.1.0".
 * Fills version and free_threaded; false if it is no CPython 3 interpreter.
 */
bool gil_parse_name(const char *base, char *version, size_t len, bool *free_threaded);

/* Offset of the GIL from _PyRuntime for a version ("3.11"), 0 if unknown. */
uint64_t gil_runtime_offset(const char *version);

/* Snapshots: read ct_gil_hists (sched_close() closes the GIL intervals still open). */
int gil_read(struct snapshot *s, int hists_fd);

#endif
