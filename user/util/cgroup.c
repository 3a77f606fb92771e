// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "util/cgroup.h"

int proc_cgroup(int pid, char *buf, size_t len)
{
	return proc_cgroup_of(pid, "", buf, len);
}

/* Whether the comma-separated list `list` (of length n) holds `word`. */
static bool has_word(const char *list, size_t n, const char *word)
{
	size_t w = strlen(word);

	for (const char *p = list, *end = list + n; p < end;) {
		const char *c = memchr(p, ',', (size_t)(end - p));
		size_t k = c ? (size_t)(c - p) : (size_t)(end - p);

		if (k == w && !strncmp(p, word, w))
			return true;
		p += k + 1;
	}
	return false;
}

int proc_cgroup_of(int pid, const char *controller, char *buf, size_t len)
{
	char path[64], line[4096], *a, *b;
	int err = -ENOENT;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/cgroup", pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	/* "ID:CONTROLLERS:PATH"; v2 is "0::PATH" */
	while (err && fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		a = strchr(line, ':');
		b = a ? strchr(a + 1, ':') : NULL;
		if (!b)
			continue;
		if (controller[0] ? !has_word(a + 1, (size_t)(b - a - 1), controller) :
				    strncmp(line, "0::", 3))
			continue;
		err = strlen(b + 1) < len ? 0 : -ENAMETOOLONG;
		if (!err)
			strcpy(buf, b + 1);
	}
	fclose(f);
	return err;
}

/* Where the hierarchy with the cpu controller is mounted, and whether it is v2. */
struct cpu_mount {
	bool found;
	bool v2;
	char dir[256];
};

/* A cgroup2 mount whose cgroup.controllers offers "cpu". */
static bool v2_has_cpu(const char *dir)
{
	char path[300], line[512];
	bool ok = false;
	FILE *f;

	snprintf(path, sizeof(path), "%s/cgroup.controllers", dir);
	f = fopen(path, "re");
	if (!f)
		return false;
	if (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		for (char *s = line; *s; s++)
			if (*s == ' ')
				*s = ',';
		ok = has_word(line, strlen(line), "cpu");
	}
	fclose(f);
	return ok;
}

/*
 * One mountinfo line: "ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS ... - TYPE
 * SOURCE SUPEROPTS". The v2 hierarchy if it has the cpu controller (a
 * hybrid system keeps cpu in v1: /sys/fs/cgroup/cpu), else v1's cpu.
 */
static void mount_line(char *line, struct cpu_mount *m)
{
	char root[256], dir[256], type[32], opts[512], *dash = strstr(line, " - ");

	if (!dash || sscanf(line, "%*s %*s %*s %255s %255s", root, dir) != 2 ||
	    sscanf(dash + 3, "%31s %*s %511s", type, opts) != 2 || strcmp(root, "/"))
		return;
	if (!strcmp(type, "cgroup2") && v2_has_cpu(dir)) {
		m->found = m->v2 = true;
		snprintf(m->dir, sizeof(m->dir), "%s", dir);
	} else if (!strcmp(type, "cgroup") && !m->found && has_word(opts, strlen(opts), "cpu")) {
		m->found = true;
		snprintf(m->dir, sizeof(m->dir), "%s", dir);
	}
}

static const struct cpu_mount *cpu_mount(void)
{
	static struct cpu_mount m;
	static bool read;
	char line[1024];
	FILE *f;

	if (read)
		return &m;
	read = true;
	f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return &m;
	while (fgets(line, sizeof(line), f) && !(m.found && m.v2))
		mount_line(line, &m);
	fclose(f);
	return &m;
}

static int read_u64s(const char *dir, const char *file, const char *fmt, uint64_t *a, uint64_t *b)
{
	char path[CG_PATH_LEN + 300];
	int n;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	n = fscanf(f, fmt, a, b);
	fclose(f);
	return n >= 1 ? n : -EINVAL;
}

/* The quota of one group, in microseconds (0: none). v2 cpu.max: "QUOTA PERIOD" or "max PERIOD". */
static int read_quota(const char *dir, bool v2, uint64_t *quota, uint64_t *period)
{
	char path[CG_PATH_LEN + 300], word[32];
	int64_t v1q;
	FILE *f;
	int ok;

	*quota = 0;
	if (!v2) {
		snprintf(path, sizeof(path), "%s/cpu.cfs_quota_us", dir);
		f = fopen(path, "re");
		if (!f)
			return -errno;
		ok = fscanf(f, "%" SCNd64, &v1q) == 1;
		fclose(f);
		if (!ok)
			return -EINVAL;
		*quota = v1q > 0 ? (uint64_t)v1q : 0; /* -1: none */
		return read_u64s(dir, "cpu.cfs_period_us", "%" SCNu64, period, period) == 1 ?
			       0 :
			       -EINVAL;
	}
	snprintf(path, sizeof(path), "%s/cpu.max", dir);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	ok = fscanf(f, "%31s %" SCNu64, word, period) == 2;
	fclose(f);
	if (!ok || (strcmp(word, "max") && sscanf(word, "%" SCNu64, quota) != 1))
		return -EINVAL;
	return 0;
}

/* cpu.stat: v2 counts throttled_usec, v1 throttled_time in ns. */
static int read_stat(const char *dir, bool v2, struct cg_quota *q)
{
	char path[CG_PATH_LEN + 300], key[64];
	uint64_t v;
	FILE *f;

	snprintf(path, sizeof(path), "%s/cpu.stat", dir);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fscanf(f, "%63s %" SCNu64, key, &v) == 2) {
		if (!strcmp(key, "nr_periods"))
			q->nr_periods = v;
		else if (!strcmp(key, "nr_throttled"))
			q->nr_throttled = v;
		else if (v2 && !strcmp(key, "throttled_usec"))
			q->throttled_usec = v;
		else if (!v2 && !strcmp(key, "throttled_time"))
			q->throttled_usec = v / 1000;
	}
	fclose(f);
	return 0;
}

/* Group `cg` (a path from the root) has a quota: fill q from its files. 1 if so, 0 if not. */
static int group_quota(const struct cpu_mount *m, const char *cg, struct cg_quota *q)
{
	char dir[CG_PATH_LEN + 256];
	struct stat st;
	uint64_t quota, period;

	snprintf(dir, sizeof(dir), "%s%s", m->dir, cg);
	if (read_quota(dir, m->v2, &quota, &period) || !quota || stat(dir, &st))
		return 0;
	memset(q, 0, sizeof(*q));
	q->quota_us = quota;
	q->period_us = period;
	q->v1 = !m->v2;
	q->ino = st.st_ino;
	snprintf(q->path, sizeof(q->path), "%s", cg);
	return read_stat(dir, m->v2, q) ? 0 : 1;
}

int cg_cpu_quota(int pid, struct cg_quota *q)
{
	const struct cpu_mount *m = cpu_mount();
	char cg[CG_PATH_LEN], *slash;
	int err;

	memset(q, 0, sizeof(*q));
	if (!m->found)
		return -ENOTSUP;
	err = proc_cgroup_of(pid, m->v2 ? "" : "cpu", cg, sizeof(cg));
	if (err)
		return err;
	/* The root group has no quota: stop before it. */
	while (cg[0] && strcmp(cg, "/")) {
		if (group_quota(m, cg, q))
			return 0;
		slash = strrchr(cg, '/');
		if (!slash)
			break;
		*slash = '\0';
	}
	memset(q, 0, sizeof(*q));
	return 0;
}
