/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * --folded: every view's stacks (out/views.h) as folded stacks (Brendan
 * Gregg's flamegraph.pl input, also read by speedscope): one line per
 * process, object and stack, root first, the object ("[lock NAME]",
 * "[event NAME]", "[GIL NAME]", "[syscall read]", "[GIL held by NAME]",
 * "[on-CPU holding the GIL]") as
 * the last frame, the weight in microseconds.
 */
#ifndef CONTRACE_FOLDED_H
#define CONTRACE_FOLDED_H

#include <stdio.h>

#include "model/model.h"

/* Write r's stacks to f. 0, or -EIO (a write error). */
int report_folded(FILE *f, const struct report *r);

#endif
