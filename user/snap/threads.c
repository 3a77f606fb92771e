// SPDX-License-Identifier: GPL-2.0-only
#include <stdlib.h>
#include <string.h>

#include "snap/threads.h"

const struct ct_thread *task_by_tid(const struct snapshot *s, uint32_t tid)
{
	const struct ct_thread *found = NULL;
	const struct snap_tid *t;

	if (s->tids) {
		t = snapshot_find_tid(s, tid);
		return t ? &s->threads[t->slot] : NULL;
	}
	for (uint32_t i = 0; i < s->nthreads; i++)
		if (s->threads[i].tid == tid && task_accounted(&s->threads[i]))
			found = &s->threads[i];
	return found;
}

const char *task_comm(const struct snapshot *s, uint32_t tid)
{
	const struct ct_thread *t = task_by_tid(s, tid);
	const struct snap_name *n;

	if (t)
		return t->comm;
	n = snapshot_find_name(s, tid);
	return n ? n->comm : "?";
}

const struct ct_thread *task_slot(const struct snapshot *s, uint32_t slot)
{
	const struct ct_thread *t;

	if (!s || slot >= s->nthreads)
		return NULL;
	t = &s->threads[slot];
	if (!task_accounted(t))
		return NULL;
	return t;
}
