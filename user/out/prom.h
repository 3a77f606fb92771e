/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The Prometheus text exposition (format 0.0.4) of reports, for contrace
 * serve: the same model as the text and JSON reports, as metric families
 * named by Prometheus's conventions (contrace_ prefix, seconds, counters
 * ending in _total, cumulative histograms). Labels name processes, threads
 * and locks, never thread ids or raw addresses; docs/usage.md lists them.
 */
#ifndef CONTRACE_PROM_H
#define CONTRACE_PROM_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "model/model.h"

#define PROM_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* The label value of the series that sums what the cap left out. */
#define PROM_OTHER "[other]"

struct prom_cfg {
	size_t max_threads; /* thread names per process; the rest summed into [other] */
	size_t max_locks; /* locks per process; idem */
	/*
	 * NULL: each report's drops on its first process. Else these, once,
	 * labelled by kind only (serve: one session counts them for all).
	 */
	const struct rpt_drops *drops;
};

/*
 * What earlier sessions of a target counted, folded into its series so that
 * its counters only grow when its session is replaced: the capped rows and
 * sums of their last reports (a few KiB, however many threads they had).
 */
struct prom_carry;

/* Fold the final report of a target's session into *c (NULL: a new carry). 0, or -ENOMEM. */
int prom_carry_fold(struct prom_carry **c, const struct report *r, const struct prom_cfg *cfg);
/* The same for the process pid of r (a session of several processes). */
int prom_carry_fold_pid(struct prom_carry **c, const struct report *r, int pid,
			const struct prom_cfg *cfg);
void prom_carry_free(struct prom_carry *c);

/* dst += src, every drop counter. */
void prom_drops_add(struct rpt_drops *dst, const struct rpt_drops *src);

struct prom_target {
	const struct report *r; /* a total since its session's tracing began */
	int pid; /* that process of r only (0: every process of r) */
	const struct prom_carry *carry; /* its earlier sessions, or NULL */
};

/* Write the metric families of n targets to f. 0, -ENOMEM, or -EIO if f failed. */
int prom_write(FILE *f, const struct prom_target *t, size_t n, const struct prom_cfg *cfg);

/* "# HELP name help" and "# TYPE name type", help escaped. */
void prom_family(FILE *f, const char *name, const char *type, const char *help);

/* A label value, escaped (\\, \", \n) and made valid UTF-8 (a stray byte: '?'). */
void prom_label_value(FILE *f, const char *s);

/* Nanoseconds as seconds, exactly: 1500000 -> "0.001500000". */
void prom_seconds(FILE *f, uint64_t ns);

/*
 * The upper bounds of the exported histogram buckets, in nanoseconds:
 * powers of 4 from 1024 ns to 16 s (the report's quarter-octave buckets
 * merged, PROM_BUCKETS of them, then +Inf).
 */
#define PROM_BUCKETS 13
uint64_t prom_bucket_le(unsigned int i);

#endif
