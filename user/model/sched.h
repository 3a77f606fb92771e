/* SPDX-License-Identifier: GPL-2.0-only */
/* The scheduler figures of a report: the figure table's, wakeup latencies, wakers. */
#ifndef CONTRACE_MODEL_SCHED_H
#define CONTRACE_MODEL_SCHED_H

#include "model/model.h"
#include "snap/snapshot.h"

/* Fill the scheduler figures of every thread and process of r. 0 or -ENOMEM. */
int sched_model(struct report *r, const struct snapshot *cur, const struct snapshot *prev);

/* Runners by time, longest first (qsort). */
int sched_cmp_runner(const void *a, const void *b);

#endif
