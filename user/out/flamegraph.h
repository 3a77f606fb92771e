/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * --flamegraph: the stacks of every view (out/views.h) as one
 * self-contained HTML page: an interactive flame graph (root at the top),
 * a tab per view, click to zoom, search, and the losses that thin it. No
 * network: the data, the style and the script are inline.
 */
#ifndef CONTRACE_FLAMEGRAPH_H
#define CONTRACE_FLAMEGRAPH_H

#include <stdio.h>

#include "model/model.h"

/* Write r's flame graph page to f. 0, -ENOMEM or -EIO. */
int report_flamegraph(FILE *f, const struct report *r);

#endif
