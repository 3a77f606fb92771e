/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * --folded: the lock waits' stacks as folded stacks (Brendan Gregg's
 * flamegraph.pl input, also read by speedscope): one line per process,
 * lock and stack, root first, the lock as the last frame, the weight in
 * microseconds of wait.
 */
#ifndef CONTRACE_FOLDED_H
#define CONTRACE_FOLDED_H

#include <stddef.h>
#include <stdio.h>

#include "model/model.h"

/* Write r's lock stacks to f. 0, or -EIO (a write error). */
int report_folded(FILE *f, const struct report *r);

/*
 * The function of a frame name "FILE:function+0xOFF": "function" (into buf),
 * or the name itself when it has no symbol ("FILE+0xOFF", "0x7f..").
 */
const char *frame_function(const char *frame, char *buf, size_t len);

#endif
