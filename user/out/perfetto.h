/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A recording's timeline (--timeline's records) as a Perfetto trace, in
 * Perfetto's native protobuf (TracePacket, TrackDescriptor, TrackEvent),
 * written without a protobuf library (util/pb.h): a track per process and
 * per thread, named; on each thread's track its states as slices (running,
 * runnable, blocked in a syscall, waiting for a lock), on a child track its
 * GIL (waiting for it, holding it); flows from waker to wakee (and from a
 * lock's release to its next holder); names interned. docs/usage.md
 * describes the tracks.
 *
 * The slices are laid out from the records' figures, the kernel's own
 * counters the report shows: each thread's running, runnable and blocked
 * slices add up to its on-CPU (with stolen), run-queue and blocked time in
 * the report of the same recording, and its GIL slices to its hold and
 * wait times. Memory: a few words per thread, whatever the trace's length.
 */
#ifndef CONTRACE_PERFETTO_H
#define CONTRACE_PERFETTO_H

#include <stdint.h>
#include <stdio.h>

#include "contrace.h"
#include "model/model.h"

struct perfetto;

/* What a trace holds, for the user and the tests. */
struct perfetto_stats {
	uint64_t slices; /* state slices written (thread and GIL tracks) */
	uint64_t flows; /* waker -> wakee flows */
	uint64_t events; /* records read */
	uint64_t unknown; /* records of a thread the report does not have: left out */
	uint64_t samples; /* on-CPU samples (--stacks): instants on the threads' sample tracks */
	uint64_t holds; /* contended lock holds: slices on the threads' tracks of holds */
	uint64_t holds_left_out; /* holds that would overlap another of their thread's */
	uint64_t bytes;
};

/*
 * Begin a trace into f for the threads and processes of r, the recording's
 * total report (names, start times, final figures) of its final snapshot s
 * (its tid index): their tracks are written now. 0, or -errno (-ENOMEM).
 */
int perfetto_open(struct perfetto **pp, FILE *f, const struct report *r, const struct snapshot *s);

/* One record, in the order they were recorded. 0, or -errno (a write error). */
int perfetto_event(struct perfetto *p, const struct ct_tl_event *e);

/*
 * End: each living thread's last states up to end_ts (the final snapshot's
 * time) from the report's figures; everything written and flushed. 0, or
 * -errno. Frees p.
 */
int perfetto_close(struct perfetto *p, uint64_t end_ts, struct perfetto_stats *st);

/* Free p after a failure, writing nothing more. */
void perfetto_abort(struct perfetto *p);

#endif
