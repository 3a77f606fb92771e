/* SPDX-License-Identifier: GPL-2.0-only */
/* Human-readable numbers for the text report. */
#ifndef CONTRACE_FORMAT_H
#define CONTRACE_FORMAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FMT_LEN 32

/* A duration with three significant digits and a unit: "0", "850ns", "12.3us", "4.56s", "2m03s". */
const char *fmt_dur(char *buf, size_t len, uint64_t ns);

/*
 * Length of the valid UTF-8 sequence at s (1 to 4), or 0 if the byte there
 * starts none. Names are bytes the kernel cut at 15, maybe inside a
 * character: JSON and Prometheus labels must be UTF-8.
 */
size_t utf8_seq_len(const unsigned char *s);

/* A ratio as a percentage: "97.6%", "0.4%", "100%". */
const char *fmt_pct(char *buf, size_t len, double ratio);

/*
 * A command line as a shell would take it back: each argument as is when
 * it has only characters no shell treats specially, else in single quotes
 * (a ' inside as '\''); an empty one is ''. Arguments that do not fit in
 * len whole are left out and "..." ends the line. Returns buf.
 */
const char *fmt_argv(char *buf, size_t len, char *const *argv, int argc);

/*
 * Numbers from the command line are plain decimal: strtod and strtoll would
 * also take " 5", "5 " (strtod's end pointer aside), "0x10" (16), "1e-300",
 * "inf" and "nan", none of which a user means as a duration or a count.
 */

/*
 * A plain decimal number at the start of s: an optional sign if `sign`,
 * then digits with at most one '.' ("10", "0.5", ".5", "-3"; at most 63
 * characters). *end (if end) is set after it. 0, or -1 if there is none.
 */
int parse_decimal(const char *s, bool sign, double *out, const char **end);

/* A non-negative decimal number of seconds, nothing around it ("2", "0.5"). 0, or -1. */
int parse_seconds(const char *s, double *out);

/*
 * A duration: a non-negative decimal number of seconds, or one with a unit
 * ns, us, ms, s ("10ms"). 0, or -1.
 */
int parse_duration(const char *s, double *seconds);

/* A decimal integer in [min, max] (a '-' only if min < 0). 0, or -1 if invalid or out of range. */
int parse_int(const char *s, long long min, long long max, long long *out);

#endif
