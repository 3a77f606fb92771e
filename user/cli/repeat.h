/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * contrace --repeat N -- COMMAND: the command traced N times, each run by a
 * contrace of its own (this program again, with the same options, writing
 * its JSON report to a temporary file); then each metric's median and range
 * over the runs (metrics.c). --json writes every run's report in one
 * document, which `contrace diff` compares by medians, calling no change
 * inside the measured spread a regression.
 */
#ifndef CONTRACE_REPEAT_H
#define CONTRACE_REPEAT_H

#include "cli/opts.h"

/* Returns the exit status. */
int repeat_main(const struct opts *o);

#endif
