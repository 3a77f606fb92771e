/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * With -f, the summary across processes that opens the report (issue 15):
 * postgres gave 22 process sections and 1,036 lines with nothing to say
 * which process mattered. Every figure here is one of a process's
 * section, ranked across processes, each row naming its process.
 */
#ifndef CONTRACE_MODEL_ACROSS_H
#define CONTRACE_MODEL_ACROSS_H

#include "model/model.h"

/* Build r->across when the report has more than one process. 0 or -ENOMEM. */
int across_model(struct report *r);

void across_free(struct rpt_across *a);

#endif
