/* SPDX-License-Identifier: GPL-2.0-only */
/* The lock tables of a report: per futex word, its waits, holds, chains and sites. */
#ifndef CONTRACE_MODEL_LOCKS_H
#define CONTRACE_MODEL_LOCKS_H

#include <stdbool.h>

#include "model/model.h"
#include "snap/snapshot.h"

/* Waits on a PI futex, whose word holds its owner's tid (not FUTEX_WAIT_REQUEUE_PI: a condvar). */
static inline bool futex_op_is_pi(uint32_t op)
{
	return op == CT_FUTEX_LOCK_PI || op == CT_FUTEX_LOCK_PI2;
}

/* Whether a reason makes a word a lock (contention) or an event. */
static inline enum rpt_wait_kind lock_why_kind(enum rpt_kind_why why)
{
	return why == RPT_WHY_CONDVAR || why == RPT_WHY_JOIN || why == RPT_WHY_SIGNALLERS ||
			       why == RPT_WHY_UNWOKEN ?
		       RPT_KIND_EVENT :
		       RPT_KIND_LOCK;
}

/* The JSON key of a reason ("mutex", "signallers"...), and its words for the text report. */
/*
 * Whether an event word is a row of EVENTS: one whose only waits are
 * threads idle on it the whole window is in the idle line instead.
 */
static inline bool lock_event_row(const struct rpt_lock *l)
{
	if (l->kind != RPT_KIND_EVENT)
		return false;
	if (l->waits || !l->nnow)
		return true;
	for (size_t i = 0; i < l->nnow; i++)
		if (!l->now[i].idle)
			return true;
	return false;
}

const char *lock_why_key(enum rpt_kind_why why);
const char *lock_why_text(enum rpt_kind_why why);

/* Fill r->procs[i].locks. 0 or -ENOMEM. */
int futex_model(struct report *r, const struct snapshot *cur, const struct snapshot *prev);

/* "mutex", "PI mutex", "condvar or other futex"... for a futex command. */
const char *futex_kind(uint32_t op);

void futex_free_locks(struct rpt_process *p);

/*
 * --stacks: p's blocks in syscalls (not futex waits) by stack, its on-CPU
 * samples of Python threads by stack, and its GIL's
 * waits by the Python stack of the GIL's holder as they began, in the
 * window (lstacks' SNAP_SYSCALL, SNAP_ONCPU and SNAP_GIL_HOLDER entries).
 * 0 or -ENOMEM.
 */
int locks_tagged(struct rpt_process *p, const struct snapshot *cur, const struct snapshot *prev);

/*
 * The frames of stack id of s, named (pid's): into st->frames (malloc'ed;
 * none when the stack is not all there). 0 or -ENOMEM.
 */
int locks_stack_named(struct rpt_lock_stack *st, uint32_t pid, const struct snapshot *s,
		      uint64_t id);
void locks_tagged_free(struct rpt_tagged_stack **v, size_t *n);

#endif
