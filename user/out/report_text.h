/* SPDX-License-Identifier: GPL-2.0-only */
/* The human-readable report. */
#ifndef CONTRACE_REPORT_TEXT_H
#define CONTRACE_REPORT_TEXT_H

#include <stdio.h>

#include "model/model.h"

struct text_opts {
	int top; /* rows per table, 0: all */
	int verbose; /* 1: per-thread histograms and syscall tables */
};

void report_text(FILE *f, const struct report *r, const struct text_opts *o);

#endif
