/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * --stacks: the user side of bpf/stacks.bpf.c. Each stack record is unwound
 * (libdw, from the binaries' call-frame information), interned, and
 * weighted by its wait once the wait's end arrives: waits by (lock, stack).
 */
#ifndef CONTRACE_STACKS_H
#define CONTRACE_STACKS_H

#include <stddef.h>
#include <stdint.h>

#include "probe/symbols.h"
#include "snap/snapshot.h"

struct pyframes;
struct ring_buffer;
struct stacks;

/*
 * Unwinding with the processes' files as sym knows them, Python frames
 * named by py (NULL: no Python); each on-CPU sample's stack weighs
 * sample_ns. NULL: out of memory.
 */
struct stacks *stacks_new(struct symbolizer *sym, struct pyframes *py, uint64_t sample_ns);

/*
 * --timeline: give each on-CPU sample whose stack was unwound to sink as a
 * CT_TL_SAMPLE record (its time, thread, class and stack id).
 */
void stacks_sample_sink(struct stacks *st, int (*sink)(void *ctx, const struct ct_tl_event *e),
			void *ctx);
void stacks_free(struct stacks *st);

/*
 * Read the records of ring buffer map fd through rb (polled with the
 * others); write the threads' copy hints into map hints_fd. 0 or -errno.
 */
int stacks_add_ring(struct stacks *st, struct ring_buffer *rb, int fd, int hints_fd);

/*
 * Into s: the stacks interned so far, the waits by (lock, stack), and the
 * counters of what unwinding lost (stacks_partial). 0 or -ENOMEM.
 */
int stacks_snapshot(struct stacks *st, struct snapshot *s);

/* After s is named (futex_name): count its frames that have no symbol (frames_unnamed). */
void stacks_count_unnamed(struct snapshot *s);

/* What unwinding cost, for -v and the benchmarks. */
struct stacks_stats {
	uint64_t records; /* stack records read */
	uint64_t unwinds; /* unwound by libdw: records (the others: the memo) and samples */
	uint64_t samples; /* native on-CPU samples (each unwound by libdw) */
	uint64_t hint_writes; /* copy hints given to the BPF side */
	uint64_t bytes; /* stack bytes the records held */
	uint64_t cpu_ns; /* contrace's CPU time reading and unwinding them */
};

void stacks_stats(const struct stacks *st, struct stacks_stats *out);

#endif
