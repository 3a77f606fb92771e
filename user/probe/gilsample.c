// SPDX-License-Identifier: GPL-2.0-only
/* CPU-clock samples of released GIL time (gilsample.h). */
#include <errno.h>
#include <linux/perf_event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "contrace.h"
#include "probe/bpfmap.h"
#include "probe/gilsample.h"
#include "snap/snapshot.h"

/* One CPU-clock event on cpu, for every thread: its fd, or -errno (-ENODEV: offline). */
static int open_cpu_clock(int cpu)
{
	struct perf_event_attr attr = {
		.type = PERF_TYPE_SOFTWARE,
		.size = sizeof(attr),
		.config = PERF_COUNT_SW_CPU_CLOCK,
		.sample_period = CT_GIL_SAMPLE_NS,
	};
	long fd = syscall(SYS_perf_event_open, &attr, -1, cpu, -1, PERF_FLAG_FD_CLOEXEC);

	return fd < 0 ? -errno : (int)fd;
}

/* Sample cpu with prog: 0, 1 if the CPU is offline, or -errno. */
static int attach_cpu(struct gilsample *gs, struct bpf_program *prog, int cpu)
{
	struct bpf_link *l;
	int fd = open_cpu_clock(cpu);

	if (fd == -ENODEV)
		return 1;
	if (fd < 0)
		return fd;
	l = bpf_program__attach_perf_event(prog, fd);
	if (!l) {
		int ret = -errno;

		close(fd);
		return ret;
	}
	/* The link owns the event's fd from now on. */
	gs->links[cpu] = l;
	return 0;
}

int gilsample_attach(struct gilsample *gs, struct bpf_program *prog, char *err, size_t errlen)
{
	int n = libbpf_num_possible_cpus(), ret = 0, on = 0;

	if (n <= 0) {
		snprintf(err, errlen, "cannot count the CPUs: %s", strerror(n ? -n : EINVAL));
		return n ? n : -EINVAL;
	}
	gs->links = calloc((size_t)n, sizeof(*gs->links));
	if (!gs->links) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	gs->ncpus = n;
	for (int cpu = 0; cpu < n && ret >= 0; cpu++) {
		ret = attach_cpu(gs, prog, cpu);
		on += ret == 0;
		if (ret < 0)
			snprintf(err, errlen,
				 "cannot sample CPU %d (perf_event_open, cpu-clock): %s", cpu,
				 strerror(-ret));
	}
	if (ret >= 0 && !on) {
		ret = -ENODEV;
		snprintf(err, errlen, "cannot sample any CPU: none online");
	}
	if (ret < 0) {
		gilsample_detach(gs);
		return ret;
	}
	return 0;
}

void gilsample_detach(struct gilsample *gs)
{
	for (int cpu = 0; cpu < gs->ncpus; cpu++)
		bpf_link__destroy(gs->links[cpu]);
	free(gs->links);
	gs->links = NULL;
	gs->ncpus = 0;
}

int gilsample_read(struct snapshot *s, int fd)
{
	struct ct_native_key *keys = NULL;
	uint64_t *vals = NULL;
	size_t n = 0;
	int ret = bpfmap_dump(fd, sizeof(*keys), sizeof(*vals), (void **)&keys, (void **)&vals, &n);

	for (size_t i = 0; i < n && !ret; i++) {
		struct snap_native *e = snapshot_add_native(s);

		if (e) {
			e->key = keys[i];
			e->samples = vals[i];
		} else {
			ret = -ENOMEM;
		}
	}
	free(keys);
	free(vals);
	return ret;
}
