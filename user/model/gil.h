/* SPDX-License-Identifier: GPL-2.0-only */
/* The GIL part of a report: per Python thread and process, and the verdicts. */
#ifndef CONTRACE_MODEL_GIL_H
#define CONTRACE_MODEL_GIL_H

#include "model/model.h"
#include "snap/snapshot.h"

/*
 * Fill the threads' and processes' GIL parts of a report: after the syscall
 * parts (it splits released time by syscall), before the locks (whose rows
 * of the GIL's words it labels).
 */
/* The versions whose GIL contrace follows (layouts known), as the report words them. */
#define GIL_VERSIONS "3.8-3.13"

/* Whether CPython version ("3.11", "2.7") is one of GIL_VERSIONS. */
bool gil_version_supported(const char *version);

int gil_model(struct report *r, const struct snapshot *cur, const struct snapshot *prev);

#endif
