/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The SUMMARY that opens a report: the one to three findings that matter
 * most for the process, from every section, ranked by the time they explain.
 */
#ifndef CONTRACE_MODEL_SUMMARY_H
#define CONTRACE_MODEL_SUMMARY_H

#include "model/model.h"

/* Fill r->findings from the built report (its locks, GIL verdicts, run-queue wait). */
void summary_model(struct report *r);

#endif
