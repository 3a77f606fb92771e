// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "bpfmap.h"
#include "syscall_table.h"
#include "syscalls.h"
#include "task.h"

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

int syscalls_read(struct snapshot *s, int fd)
{
	struct ct_sys_key *keys;
	struct ct_sys_stat *vals;
	struct snap_sys *e;
	size_t n;
	int ret;

	ret = bpfmap_dump(fd, sizeof(*keys), sizeof(*vals), (void **)&keys, (void **)&vals, &n);
	if (ret)
		return ret;
	for (size_t i = 0; i < n && !ret; i++) {
		e = snapshot_add_sys(s, keys[i].slot, keys[i].nr);
		if (e)
			e->st = vals[i];
		else
			ret = -ENOMEM;
	}
	free(keys);
	free(vals);
	return ret;
}

int syscalls_close(struct snapshot *s)
{
	for (uint32_t i = 0; i < s->nthreads; i++) {
		struct ct_thread *t = &s->threads[i];
		struct snap_sys *e;

		if (!task_accounted(t))
			continue;
		if (t->state == CT_ST_DEAD || t->sys_nr == CT_SYS_NONE)
			continue;
		e = snapshot_add_sys(s, i, t->sys_nr);
		if (!e)
			return -ENOMEM;
		e->st.total_ns = s->ts > t->sys_ts ? s->ts - t->sys_ts : 0;
		e->st.offcpu_ns = t->sys_offcpu_ns;
		e->open = 1;
	}
	return 0;
}

static uint64_t sub(uint64_t a, uint64_t b)
{
	return a > b ? a - b : 0;
}

int syscalls_merge(struct rpt_syscall **v, size_t *n, const struct rpt_syscall *b, size_t nb)
{
	for (size_t i = 0; i < nb; i++) {
		struct rpt_syscall *d = NULL, *nv;

		for (size_t j = 0; j < *n; j++)
			if ((*v)[j].nr == b[i].nr)
				d = &(*v)[j];
		if (!d) {
			nv = realloc(*v, (*n + 1) * sizeof(**v));
			if (!nv)
				return -ENOMEM;
			*v = nv;
			d = &(*v)[(*n)++];
			memset(d, 0, sizeof(*d));
			d->nr = b[i].nr;
		}
		d->blocks += b[i].blocks;
		d->calls += b[i].calls;
		d->errors += b[i].errors;
		d->partial += b[i].partial;
		d->open += b[i].open;
		d->total_ns += b[i].total_ns;
		d->offcpu_ns += b[i].offcpu_ns;
		d->blocked_ns += b[i].blocked_ns;
		if (b[i].max_ns > d->max_ns)
			d->max_ns = b[i].max_ns;
	}
	return 0;
}

static int thread_syscalls(struct rpt_thread *rt, const struct snapshot *cur,
			   const struct snapshot *prev)
{
	const struct snap_sys *e, *end;
	size_t first = 0;

	if (!cur->nsys)
		return 0;
	end = cur->sys + cur->nsys;
	while (first < cur->nsys && cur->sys[first].key.slot < rt->slot)
		first++;
	for (e = cur->sys + first; e < end && e->key.slot == rt->slot; e++) {
		const struct snap_sys *o = prev ? snapshot_find_sys(prev, rt->slot, e->key.nr) :
						  NULL;
		/* Blocks of a Python thread are keyed apart by its GIL state. */
		uint32_t gil = ct_gil_sys_state(e->key.nr);
		struct rpt_syscall row = { .nr = ct_gil_sys_nr(e->key.nr) };

		row.blocks = sub(e->st.blocks, o ? o->st.blocks : 0);
		row.calls = sub(e->st.calls, o ? o->st.calls : 0);
		row.errors = sub(e->st.errors, o ? o->st.errors : 0);
		row.partial = sub(e->st.partial, o ? o->st.partial : 0);
		row.open = e->open;
		row.total_ns = sub(e->st.total_ns, o ? o->st.total_ns : 0);
		row.offcpu_ns = sub(e->st.offcpu_ns, o ? o->st.offcpu_ns : 0);
		row.blocked_ns = sub(e->st.blocked_ns, o ? o->st.blocked_ns : 0);
		row.max_ns = e->st.max_ns;
		if (!row.calls && !row.partial && !row.open && !row.total_ns && !row.blocks &&
		    !row.blocked_ns)
			continue;
		if (syscalls_merge(&rt->sys, &rt->nsys, &row, 1))
			return -ENOMEM;
		if (gil == CT_GIL_RELEASED &&
		    syscalls_merge(&rt->gil.rel_sys, &rt->gil.nrel_sys, &row, 1))
			return -ENOMEM;
		if (gil == CT_GIL_HELD &&
		    syscalls_merge(&rt->gil.held_sys, &rt->gil.nheld_sys, &row, 1))
			return -ENOMEM;
	}
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
