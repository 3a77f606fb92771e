// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "probe/bpfmap.h"
#include "probe/syscalls.h"
#include "probe/task.h"
#include "util/vec.h"

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
