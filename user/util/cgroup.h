/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * cgroups: a process's cgroup, and the CPU quota that limits it (v2
 * cpu.max, or v1 cpu.cfs_quota_us where the cpu controller is in a v1
 * hierarchy, as on hybrid systems) with the kernel's own count of how
 * often it throttled (cpu.stat).
 */
#ifndef CONTRACE_CGROUP_H
#define CONTRACE_CGROUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CG_PATH_LEN 128

/* The cgroup v2 path of a process: the "0::" line of /proc/PID/cgroup. 0, or -errno. */
int proc_cgroup(int pid, char *buf, size_t len);

/* Its path in the v1 hierarchy of `controller` ("cpu"); "" for v2's. 0, or -errno. */
int proc_cgroup_of(int pid, const char *controller, char *buf, size_t len);

/* A CPU quota and the throttling of the group that has it, as read at one moment. */
struct cg_quota {
	uint64_t quota_us; /* cpu.max: runtime per period; 0: no quota on the way to the root */
	bool v1; /* cgroup v1's cpu.cfs_quota_us and cpu.cfs_period_us, not cpu.max */
	uint64_t period_us;
	uint64_t ino; /* the group's directory: tells one group from another between reads */
	uint64_t nr_periods; /* cpu.stat: periods with runnable tasks */
	uint64_t nr_throttled; /* periods in which the group ran out of quota */
	uint64_t throttled_usec; /* time its tasks were held back, summed over CPUs */
	char path[CG_PATH_LEN]; /* from the hierarchy's root: "/test.slice/app" */
};

/*
 * The quota that limits process pid: the nearest cgroup with a quota on
 * the way from its own group to the root, with that group's cpu.stat.
 * 0 (quota_us 0 when none), or -errno: no hierarchy with the cpu
 * controller is mounted, or the process is gone.
 */
int cg_cpu_quota(int pid, struct cg_quota *q);

#endif
