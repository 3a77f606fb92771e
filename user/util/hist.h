/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Latency histograms in user space: the BPF side's CT_HIST_BUCKETS buckets
 * (four per power of two of nanoseconds) with 64-bit counts.
 */
#ifndef CONTRACE_HIST_H
#define CONTRACE_HIST_H

#include <stdint.h>
#include <stdio.h>

#include "contrace.h"

struct hist {
	uint64_t b[CT_HIST_BUCKETS];
};

/* Smallest value of bucket i, and the first value past it. */
uint64_t hist_lo(unsigned int i);
uint64_t hist_hi(unsigned int i);

void hist_add_u32(struct hist *h, const uint32_t *src);
void hist_merge(struct hist *dst, const struct hist *src);
/* dst -= src, bucket by bucket, saturating at zero. */
void hist_sub(struct hist *dst, const struct hist *src);
void hist_record(struct hist *h, uint64_t v);
uint64_t hist_count(const struct hist *h);

/*
 * The p-quantile (0 < p <= 1) by linear interpolation inside its bucket,
 * capped at `max` when max is non-zero. Buckets are 1/4 octave wide, so the
 * error is below 25% of the value. 0 for an empty histogram.
 */
uint64_t hist_quantile(const struct hist *h, double p, uint64_t max);

/* bcc-style log2 rendering, one row per power of two, `indent` spaces first. */
void hist_print(FILE *f, const struct hist *h, int indent);

#endif
