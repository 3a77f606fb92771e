/* SPDX-License-Identifier: GPL-2.0-only */
/* The processes and threads of a report's window. */
#ifndef CONTRACE_MODEL_PROCS_H
#define CONTRACE_MODEL_PROCS_H

#include "model/model.h"
#include "snap/snapshot.h"

/*
 * Create r->procs and their threads for the window [w0, w1]: identity,
 * lifetime, started and exited. 0 or -ENOMEM.
 */
int task_model(struct report *r, const struct snapshot *cur, const struct snapshot *prev,
	       uint64_t w0, uint64_t w1);

#endif
