/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * --stacks' weighted stacks, by what they weigh: the one walk --folded,
 * --pprof and --flamegraph draw from, so that each shows the same stacks
 * with the same weights and the same last frame.
 */
#ifndef CONTRACE_VIEWS_H
#define CONTRACE_VIEWS_H

#include <stdbool.h>
#include <stddef.h>

#include "model/model.h"

/*
 * The function of a frame name "FILE:function+0xOFF": "function" (into buf),
 * or the name itself when it has no symbol ("FILE+0xOFF", "0x7f..") or is
 * a Python frame ("FUNCTION (FILE.py:LINE)").
 */
const char *frame_function(const char *frame, char *buf, size_t len);

/*
 * A Python frame's name, "FUNCTION (FILE:LINE)", taken apart (into func,
 * file and line). false: not one.
 */
bool python_frame(const char *frame, char *func, size_t flen, char *file, size_t filelen,
		  unsigned *line);

enum stack_view {
	/* A thread blocked: on a lock or an event (futex), or in another syscall. */
	VIEW_WAIT,
	/* What the GIL's holder ran while others waited for it (weighs their wait). */
	VIEW_GIL_HOLDER,
	/* On-CPU samples (weigh the CPU time each stands for). */
	VIEW_ONCPU,
	VIEW_COUNT
};

struct view_stack {
	enum stack_view view;
	const struct rpt_process *p;
	const char *first; /* a frame before the root ("[GIL holder]"), or NULL */
	/* the last frame's kind: "lock", "event", "GIL", "syscall", "GIL held by", "on-CPU" */
	const char *what;
	const char *object; /* the lock's, syscall's or holder thread's name, what a sample found */
	const struct rpt_lock_stack *st; /* st->wait_ns: the weight; st->waits: waits or samples */
};

/*
 * fn for each stack of r with a weight, process by process: lock waits,
 * GIL holders, on-CPU samples, blocked syscalls. Stops at fn's first
 * non-zero return, and returns it.
 */
int each_view_stack(const struct report *r, int (*fn)(void *ctx, const struct view_stack *v),
		    void *ctx);

/* A view stack's process as the outputs name it: "COMM (PID)", into buf. */
const char *view_proc(const struct view_stack *v, char *buf, size_t len);

/* How a view is named and what its weights are, for a reader. */
struct view_desc {
	const char *key; /* "waits", "gil", "oncpu" */
	const char *title; /* "waits", "GIL holders", "on-CPU" */
	const char *weighs; /* what its weight is a time of */
	const char *counts; /* what st->waits counts: "waits", "samples" */
};

extern const struct view_desc view_descs[VIEW_COUNT];

#endif
