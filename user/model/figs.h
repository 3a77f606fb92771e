/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The per-thread figures of bpf/figures.def, as the report model sees them:
 * a table with what each row says, and the generic operations on a struct
 * figs (a window's values, sums over threads and processes). Renderers
 * and the diff read the same table.
 */
#ifndef CONTRACE_FIGS_H
#define CONTRACE_FIGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "contrace.h"

enum fig_sum {
	SUM = 0, /* a window's growth; added up over threads */
	MAX = 1, /* the largest since tracing began; the largest of the threads */
};

enum fig_unit {
	NS = 0,
	COUNT = 1,
};

#define DIFF_P 1 /* contrace diff compares the process's figure */
#define DIFF_T 2 /* and thread[NAME]'s, summed over the threads of a name */
#define NULLABLE 4 /* newer than recording format 1: older recordings lack it */

/* The index of each figure: FIG_oncpu_ns, ... */
enum fig_id {
#define CT_FIG(name, ...) FIG_##name,
#define CT_KFIG(name, kfield, ...) FIG_##name,
#include "figures.def"
#undef CT_FIG
#undef CT_KFIG
	FIG_COUNT
};

/* A thread's or a process's figures over a window. */
struct figs {
#define CT_FIG(name, ...) uint64_t name;
#define CT_KFIG(name, kfield, ...) uint64_t name;
#include "figures.def"
#undef CT_FIG
#undef CT_KFIG
	/* Bit FIG_x: figure x was not measured (a recording made before it existed). */
	uint64_t absent;
};

_Static_assert(FIG_COUNT <= 64, "struct figs.absent has a bit per figure");

struct fig_desc {
	const char *name; /* the field of ct_thread and struct figs */
	size_t slot_off; /* offsetof(struct ct_thread, name) */
	size_t off; /* offsetof(struct figs, name) */
	enum fig_sum sum;
	const char *json; /* thread JSON key, or NULL */
	const char *pjson; /* process JSON key, or NULL */
	const char *heading; /* THREADS column, or NULL */
	int width;
	enum fig_unit unit;
	int flags; /* DIFF_P, DIFF_T, NULLABLE */
	bool kernel; /* a CT_KFIG: the kernel's own counter */
	const char *doc;
};

extern const struct fig_desc fig_table[FIG_COUNT];

/* The drop counters of bpf/drops.def. */
enum drop_id {
#define CT_DROP(name, ...) DROP_##name,
#include "drops.def"
#undef CT_DROP
	DROP_COUNT
};

/* How a loss is said (drops.def): a warning, or a note with its share of what. */
enum drop_grade {
	DROP_WARN = 1, /* a figure shown is short */
	DROP_NOTE = 2, /* only a sample thins */
	DROP_OF_WAKEUPS = 4, /* a note's share: of the wakeups */
};

struct drop_desc {
	const char *name; /* the field of struct ct_counters and struct rpt_drops */
	unsigned int grade; /* enum drop_grade */
	size_t counter_off; /* offsetof(struct ct_counters, name) */
	const char *json; /* key in the report's drops object */
	const char *text; /* what was lost, and why */
};

extern const struct drop_desc drop_table[DROP_COUNT];

_Static_assert(DROP_COUNT <= 64, "snapshot.drop_absent has a bit per drop counter");

static inline uint64_t drop_counter(const struct ct_counters *c, const struct drop_desc *d)
{
	return *(const uint64_t *)((const char *)c + d->counter_off);
}

static inline uint64_t fig_get(const struct figs *f, const struct fig_desc *d)
{
	return *(const uint64_t *)((const char *)f + d->off);
}

static inline bool fig_absent(const struct figs *f, enum fig_id id)
{
	return f->absent & (1ULL << id);
}

/*
 * The figures of a thread over the window from slot `prev` (NULL: from the
 * start) to slot `cur`. `absent`: the figures the snapshot lacks.
 */
void figs_window(struct figs *dst, const struct ct_thread *cur, const struct ct_thread *prev,
		 uint64_t absent);

/* Fold src into a sum over threads or processes (dst starts zeroed). */
void figs_add(struct figs *dst, const struct figs *src);

#endif
