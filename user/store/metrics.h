/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The metrics of a JSON report that stay comparable from run to run (the
 * target process's totals, its GIL, locks by symbol, syscalls by name,
 * threads by name), for `contrace diff` (two sides) and `--repeat` (the
 * median and range of each over several runs). Every value read is checked
 * against docs/report.schema.json: a report that breaks it is an input
 * error naming the JSON path of the first problem, never a metric read as 0.
 */
#ifndef CONTRACE_METRICS_H
#define CONTRACE_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <json-c/json.h>

enum unit { U_NS, U_COUNT, U_RATIO };

#define METRIC_NAME_LEN 160

struct metric {
	char name[METRIC_NAME_LEN];
	enum unit unit;
	int group; /* 0: process, 1: GIL, 2: locks total, 3: a lock, 4: a syscall, 5: a thread name */
	double v[2]; /* base, new (of several runs: the median) */
	double lo[2], hi[2]; /* the smallest and largest of the runs (of one: v) */
	unsigned runs[2]; /* how many runs the side has (0: not in it) */
	bool in[2]; /* present in that report */
};

struct metrics {
	struct metric *v;
	size_t n, cap;
	size_t *slots; /* hash index by name: 1 + index into v, 0 free */
	size_t nslots; /* a power of two, or 0: no index (after metrics_sort) */
	unsigned truncated[2]; /* reports of the side whose trace was cut short (trace.truncated) */
};

/*
 * Add the metrics of a report (its first process) as side 0 or 1. 0, or
 * -EINVAL with "JSON.PATH: problem" in err (a value of the wrong type,
 * missing, negative or not finite), or -ENOMEM.
 */
int metrics_add_report(struct metrics *m, int side, struct json_object *report, char *err,
		       size_t errlen);

/*
 * Add the metrics of several runs' reports (the "runs" array of a --repeat
 * document) as one side: each metric's median over the runs (0 in a run
 * that lacks it), and its range. Errors as metrics_add_report(), with the
 * path from the runs ("runs[2].processes[0].wall_ns: negative").
 */
int metrics_add_runs(struct metrics *m, int side, struct json_object *runs, char *err,
		     size_t errlen);

/* In report order: the process's totals, the GIL, locks in total, then each group largest first. */
void metrics_sort(struct metrics *m);

/* The metric of that name, or NULL. */
struct metric *metrics_find(struct metrics *m, const char *name);

void metrics_free(struct metrics *m);

/* Control characters in a name from a report (a newline in a lock's name) made '?'. */
void metrics_printable(char *s);

/* A metric's value as text: a duration, a count or a ratio. Returns buf. */
const char *metrics_value(char *buf, size_t len, enum unit u, double v);

/* A member of a JSON object: a number (0 if absent, *ok false), a string ("" if absent), an array. */
double jnum(struct json_object *o, const char *key, bool *ok);
const char *jstr(struct json_object *o, const char *key);
struct json_object *jarr(struct json_object *o, const char *key);

#endif
