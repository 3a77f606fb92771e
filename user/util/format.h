/* SPDX-License-Identifier: GPL-2.0-only */
/* Human-readable numbers for the text report. */
#ifndef CONTRACE_FORMAT_H
#define CONTRACE_FORMAT_H

#include <stddef.h>
#include <stdint.h>

#define FMT_LEN 32

/* A duration with three significant digits and a unit: "0", "850ns", "12.3us", "4.56s", "2m03s". */
const char *fmt_dur(char *buf, size_t len, uint64_t ns);

/* A ratio as a percentage: "97.6%", "0.4%", "100%". */
const char *fmt_pct(char *buf, size_t len, double ratio);

/* Parse a positive decimal number of seconds ("2", "0.5", "1e-3") into *out. -1 if invalid. */
int parse_seconds(const char *s, double *out);

/* Parse a duration: a number of seconds, or with a unit ns, us, ms, s ("10ms"). -1 if invalid. */
int parse_duration(const char *s, double *seconds);

/* Parse a decimal integer in [min, max] into *out. -1 if invalid. */
int parse_int(const char *s, long long min, long long max, long long *out);

#endif
