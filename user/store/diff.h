/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * contrace diff BASE NEW: compare two JSON reports by stable keys (the
 * target process's totals, its GIL, locks by name, syscalls by name,
 * threads by name), print the change of each metric, and set the exit
 * status from --fail-on rules (or the default gate): 0 within limits,
 * 1 a regression, 2 a usage or input error.
 */
#ifndef CONTRACE_DIFF_H
#define CONTRACE_DIFF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* A rule: METRIC OP CHANGE, e.g. "gil.wait_fraction>+10%" or "locks.wait_ns>+5ms". */
struct diff_rule {
	char metric[128];
	int op; /* '>' or '<' */
	bool or_equal; /* >= or <= */
	bool relative; /* CHANGE in percent of the base value */
	double change; /* signed: percent, or an absolute amount (ns for times) */
	char text[160]; /* as written */
};

/* Parse one rule. 0, or -EINVAL with a message in err. */
int diff_parse_rule(const char *s, struct diff_rule *r, char *err, size_t errlen);

/* Whether a change from base to new breaks the rule. */
bool diff_rule_broken(const struct diff_rule *r, double base, double new);

/*
 * One side of a comparison: a document in memory, named (its file) in
 * messages; or, with data NULL, the recording in the file `name`, read as
 * a stream.
 */
struct diff_input {
	const char *name;
	const void *data; /* a JSON report, a --repeat document, or a recording */
	size_t len;
};

/*
 * The largest JSON input: a report takes about 4 KB a thread (10,000
 * threads: 41 MB; 6 --repeat runs of them: 246 MB), and json-c holds a
 * document in about 13 times its size (a --repeat document of 199 MB:
 * 2.7 GB of RSS, 17 s), so the cap is about 3.5 GB of memory. Recordings,
 * read as a stream, have no such limit.
 */
#define DIFF_MAX_JSON ((uint64_t)256 << 20)

/*
 * Whether a JSON input of `size` bytes that begins with head[len] can be
 * a report, before the rest is read: at most DIFF_MAX_JSON, and no NUL
 * byte (binary data; a sparse file of 1 GB was read whole). 0, or -EFBIG
 * or -EINVAL with "NAME: problem" in err.
 */
int diff_check_start(const char *name, const void *head, size_t len, uint64_t size, char *err,
		     size_t errlen);

/* Where the comparison goes; any may be NULL. */
struct diff_outputs {
	FILE *text; /* the table and the rules */
	FILE *markdown; /* the table as Markdown (a CI job summary) */
	FILE *json; /* every metric and rule */
	FILE *warn; /* warnings, one line each (a side cut short) */
};

/*
 * Compare in[0] (the base) with in[1] (the new) under rules (nrules 0: the
 * default gate, at most DIFF_MAX_RULES), and write the outputs. The exit
 * status: 0 within limits, 1 a regression, or 2 an input error with a
 * one-line message in err naming the file and, for a value that breaks
 * the schema, its JSON path. Nothing is written on an input error; write
 * errors are the caller's to check.
 */
#define DIFF_MAX_RULES 32
int diff_run(const struct diff_input in[2], const struct diff_rule *rules, size_t nrules,
	     const struct diff_outputs *out, char *err, size_t errlen);

/* The metrics diff knows, for its help. */
void diff_usage_metrics(FILE *f);

#endif
