/* SPDX-License-Identifier: GPL-2.0-only */
/* Command line of contrace. */
#ifndef CONTRACE_OPTS_H
#define CONTRACE_OPTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define OPTS_DEFAULT_TOP 10
#define OPTS_DEFAULT_MAX_THREADS 16384

struct opts {
	int pid; /* -p, 0 if a command is launched */
	char **cmd_argv; /* after "--", NULL-terminated (points into argv) */
	int cmd_argc;
	double duration; /* -d seconds, 0: until the end */
	double interval; /* -i seconds, 0: one report at the end */
	bool follow; /* -f */
	bool syscalls; /* -S: per-syscall calls and times (slows every syscall) */
	const char *json_path; /* --json, "-" for stdout */
	bool quiet; /* -q: no text report */
	int top; /* --top rows per table, 0: all */
	int verbose; /* -v count */
	int max_threads; /* --max-threads */
	const char *btf_path; /* --btf */
	bool gil; /* --gil: find CPython processes and probe their GIL (default) */
	int gil_mode; /* --gil: enum gil_mode (auto, uprobe, libc) */
	const char *output; /* -o FILE: record the trace */
	bool holds; /* --holds: uprobes on pthread_mutex_lock/unlock for exact holds */
	bool stacks; /* --stacks (or --folded, --pprof): user stacks at lock waits */
	bool no_stacks; /* --no-stacks given last: --folded and --pprof are refused */
	bool stacks_implied; /* --folded or --pprof given */
	const char *folded; /* --folded FILE: the lock waits' stacks, folded */
	const char *pprof; /* --pprof FILE: the same as a gzipped pprof profile */
	double locks_min_wait; /* --locks-min-wait seconds: smaller locks are left out */
	int repeat; /* --repeat N: run the command N times (0: once, no summary) */
};

enum opts_result {
	OPTS_OK = 0, /* run with these options */
	OPTS_EXIT = 1, /* --help or --version printed: exit 0 */
	OPTS_ERROR = 2, /* usage error: message in err, exit 2 */
};

/* Parse argv. Help and version go to `out`. On error, a one-line message in err. */
enum opts_result opts_parse(struct opts *o, int argc, char **argv, FILE *out, char *err,
			    size_t errlen);

void opts_usage(FILE *f);

#endif
