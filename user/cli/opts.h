/* SPDX-License-Identifier: GPL-2.0-only */
/* Command line of contrace. */
#ifndef CONTRACE_OPTS_H
#define CONTRACE_OPTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "store/diff.h"

#define OPTS_DEFAULT_TOP 10
/* --sample-hz: the GIL sampler's clock, 1 kHz; the stacks' samples take every Nth tick. */
#define OPTS_SAMPLE_HZ_MAX 1000
#define OPTS_DEFAULT_MAX_THREADS 16384

/* The subcommands, each with its options from one table (opts.c). */
enum opts_cmd {
	OPTS_TRACE, /* contrace [OPTIONS] (-p PID | -- COMMAND) */
	OPTS_RECORD, /* contrace record -o FILE ... */
	OPTS_REPORT, /* contrace report FILE */
	OPTS_DIFF, /* contrace diff BASE NEW */
	OPTS_SERVE, /* contrace serve: metrics for Prometheus */
};

#define OPTS_MAX_PIDS 64 /* serve -p, several */
#define OPTS_MAX_COMMS 16 /* serve --comm */
#define OPTS_DEFAULT_LISTEN "127.0.0.1:9477"
#define OPTS_DEFAULT_MAX_SERIES 20

struct opts {
	enum opts_cmd cmd;
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
	bool timeline; /* --timeline: record every state change too (-o) */
	const char *perfetto_path; /* --perfetto FILE: the timeline as a Perfetto trace */
	bool holds; /* --holds: uprobes on pthread_mutex_lock/unlock for exact holds */
	bool stacks; /* --stacks (or --folded, --pprof, --flamegraph): user stacks at waits */
	bool no_stacks; /* --no-stacks given last: the stacks' outputs are refused */
	bool stacks_implied; /* --folded, --pprof or --flamegraph given */
	int sample_hz; /* --sample-hz: on-CPU stack samples a second (-1: not given, 1000) */
	const char *folded; /* --folded FILE: the lock waits' stacks, folded */
	const char *pprof; /* --pprof FILE: the waits' stacks as a gzipped pprof profile */
	const char *flamegraph; /* --flamegraph FILE: every view's stacks as an HTML flame graph */
	double locks_min_wait; /* --locks-min-wait seconds: smaller locks are left out */
	int repeat; /* --repeat N: run the command N times (0: once, no summary) */
	char **files; /* report FILE, diff BASE NEW (point into argv) */
	int nfiles;
	const char *markdown_path; /* diff --markdown */
	struct diff_rule rules[DIFF_MAX_RULES]; /* diff --fail-on */
	size_t nrules;
	const char *listen; /* serve --listen ADDR:PORT */
	int pids[OPTS_MAX_PIDS]; /* serve -p, each */
	size_t npids;
	const char *comms[OPTS_MAX_COMMS]; /* serve --comm NAME, each */
	size_t ncomms;
	const char *exes[OPTS_MAX_COMMS]; /* serve --exe PATH, each */
	size_t nexes;
	const char
		*cgroups[OPTS_MAX_COMMS]; /* serve --cgroup PATH, each (cgroup v2, from its root) */
	size_t ncgroups;
	int max_series; /* serve --max-series: threads and locks per process */
};

enum opts_result {
	OPTS_OK = 0, /* run with these options */
	OPTS_EXIT = 1, /* --help or --version printed: exit 0 */
	OPTS_ERROR = 2, /* usage error: message in err, exit 2 */
};

/*
 * Parse the arguments of subcommand cmd (argv[0] its name). Help and version
 * go to `out`. On error, a one-line message in err, to be said after
 * opts_cmd_name(cmd) and a colon.
 */
enum opts_result opts_parse(struct opts *o, enum opts_cmd cmd, int argc, char **argv, FILE *out,
			    char *err, size_t errlen);

void opts_usage(enum opts_cmd cmd, FILE *f);

/* "contrace", "contrace report", ...: what its messages begin with. */
const char *opts_cmd_name(enum opts_cmd cmd);

#endif
