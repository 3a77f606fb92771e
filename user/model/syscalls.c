// SPDX-License-Identifier: GPL-2.0-only
/* Syscall tables of a report. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "model/syscall_table.h"
#include "model/syscalls.h"
#include "snap/threads.h"
#include "util/vec.h"

const char *syscall_name(int nr, char *buf, size_t len)
{
	if (nr >= 0 && (size_t)nr < sizeof(syscall_names) / sizeof(syscall_names[0]) &&
	    syscall_names[nr])
		return syscall_names[nr];
	if (nr == CT_NR_SYSCALLS - 1)
		snprintf(buf, len, "syscall_other");
	else
		snprintf(buf, len, "syscall_%d", nr);
	return buf;
}

static int cmp_nr(const void *a, const void *b)
{
	const struct rpt_syscall *x = a, *y = b;

	return x->nr < y->nr ? -1 : x->nr > y->nr;
}

static void add_row(void *kept, const void *other)
{
	struct rpt_syscall *d = kept;
	const struct rpt_syscall *b = other;

	d->blocks += b->blocks;
	d->calls += b->calls;
	d->errors += b->errors;
	d->partial += b->partial;
	d->open += b->open;
	d->total_ns += b->total_ns;
	d->offcpu_ns += b->offcpu_ns;
	d->blocked_ns += b->blocked_ns;
	d->samples += b->samples;
	d->oncpu_ns += b->oncpu_ns;
	if (b->max_ns > d->max_ns)
		d->max_ns = b->max_ns;
}

int syscalls_merge(struct rpt_syscall **v, size_t *n, const struct rpt_syscall *b, size_t nb)
{
	size_t cap = *n;

	if (vec_append(*v, *n, cap, b, nb))
		return -ENOMEM;
	*n = vec_uniq(*v, *n, cmp_nr, add_row);
	return 0;
}

/* A thread's row of one ct_sysstats entry, as a difference from prev. */
static struct rpt_syscall sys_row(const struct snap_sys *e, const struct snapshot *prev,
				  uint32_t slot)
{
	const struct snap_sys *o = prev ? snapshot_find_sys(prev, slot, e->key.nr) : NULL;
	struct rpt_syscall row = { .nr = ct_gil_sys_nr(e->key.nr) };

	row.blocks = ct_delta(e->st.blocks, o ? o->st.blocks : 0);
	row.calls = ct_delta(e->st.calls, o ? o->st.calls : 0);
	row.errors = ct_delta(e->st.errors, o ? o->st.errors : 0);
	row.partial = ct_delta(e->st.partial, o ? o->st.partial : 0);
	row.open = e->open;
	row.total_ns = ct_delta(e->st.total_ns, o ? o->st.total_ns : 0);
	row.offcpu_ns = ct_delta(e->st.offcpu_ns, o ? o->st.offcpu_ns : 0);
	row.blocked_ns = ct_delta(e->st.blocked_ns, o ? o->st.blocked_ns : 0);
	row.max_ns = e->st.max_ns;
	row.samples = ct_delta(e->st.samples, o ? o->st.samples : 0);
	return row;
}

static int push_row(struct rpt_syscall **v, size_t *n, size_t *cap, const struct rpt_syscall *row)
{
	struct rpt_syscall *d = vec_push(*v, *n, *cap);

	if (!d)
		return -ENOMEM;
	*d = *row;
	return 0;
}

/*
 * A thread's rows, and of a Python thread its blocks while it held the GIL
 * or had released it (keyed apart by the GIL state, merged by syscall in
 * its plain rows). A row of samples alone (on a CPU in the syscall with the
 * GIL released) goes only in the released rows.
 */
static int thread_syscalls(struct rpt_thread *rt, const struct snapshot *cur,
			   const struct snapshot *prev)
{
	size_t cap = rt->nsys, rcap = rt->gil.nrel_sys, hcap = rt->gil.nheld_sys;
	struct rpt_syscall row;
	bool plain;
	int ret = 0;

	for (size_t i = snapshot_sys_from(cur, rt->slot);
	     i < cur->nsys && cur->sys[i].key.slot == rt->slot && !ret; i++) {
		const struct snap_sys *e = &cur->sys[i];
		uint32_t gil = ct_gil_sys_state(e->key.nr);

		row = sys_row(e, prev, rt->slot);
		plain = row.calls || row.partial || row.open || row.total_ns || row.blocks ||
			row.blocked_ns;
		if (plain)
			ret = push_row(&rt->sys, &rt->nsys, &cap, &row);
		if (!ret && gil == CT_GIL_RELEASED && (plain || row.samples))
			ret = push_row(&rt->gil.rel_sys, &rt->gil.nrel_sys, &rcap, &row);
		else if (!ret && gil == CT_GIL_HELD && plain)
			ret = push_row(&rt->gil.held_sys, &rt->gil.nheld_sys, &hcap, &row);
	}
	if (ret)
		return ret;
	rt->nsys = vec_uniq(rt->sys, rt->nsys, cmp_nr, add_row);
	rt->gil.nrel_sys = vec_uniq(rt->gil.rel_sys, rt->gil.nrel_sys, cmp_nr, add_row);
	rt->gil.nheld_sys = vec_uniq(rt->gil.held_sys, rt->gil.nheld_sys, cmp_nr, add_row);
	return 0;
}

int syscalls_model(struct report *r, const struct snapshot *cur, const struct snapshot *prev)
{
	for (size_t i = 0; i < r->nprocs; i++) {
		struct rpt_process *p = &r->procs[i];

		for (size_t j = 0; j < p->nthreads; j++) {
			struct rpt_thread *rt = &p->threads[j];

			if (thread_syscalls(rt, cur, prev) ||
			    syscalls_merge(&p->sys, &p->nsys, rt->sys, rt->nsys))
				return -ENOMEM;
		}
	}
	return 0;
}
