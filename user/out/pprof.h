/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * --pprof: the waits' stacks (out/views.h: on locks and events, in other
 * syscalls) as a pprof profile (google/pprof's profile.proto, gzipped),
 * which `go tool pprof`, Grafana Pyroscope and Parca read. Encoded by
 * hand: two sample types (waits/count, wait/nanoseconds), one location
 * and function per frame, labels for the process and the lock or the
 * syscall. The GIL holders' and on-CPU views weigh other things (the
 * same waits again, CPU time): they are --folded's and --flamegraph's.
 */
#ifndef CONTRACE_PPROF_H
#define CONTRACE_PPROF_H

#include <stdio.h>

#include "model/model.h"

/* Write r's wait stacks to f. 0, -ENOMEM or -EIO. */
int report_pprof(FILE *f, const struct report *r);

#endif
