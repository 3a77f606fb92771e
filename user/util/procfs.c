// SPDX-License-Identifier: GPL-2.0-only
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util/format.h"
#include "util/procfs.h"

static ssize_t read_file(const char *path, char *buf, size_t len)
{
	ssize_t n, total = 0;
	int fd, err;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	while ((size_t)total < len - 1) {
		n = read(fd, buf + total, len - 1 - total);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			err = -errno;
			close(fd);
			return err;
		}
		if (n == 0)
			break;
		total += n;
	}
	close(fd);
	buf[total] = '\0';
	return total;
}

int proc_parse_map(char *line, struct proc_map *m)
{
	static const char deleted[] = " (deleted)";
	size_t n, dl = sizeof(deleted) - 1;
	int pos = 0;

	memset(m, 0, sizeof(*m));
	line[strcspn(line, "\n")] = '\0';
	if (sscanf(line, "%" SCNx64 "-%" SCNx64 " %4s %" SCNx64 " %x:%x %" SCNu64 "%n", &m->start,
		   &m->end, m->perms, &m->offset, &m->dev_major, &m->dev_minor, &m->inode,
		   &pos) != 7 ||
	    !pos || m->start >= m->end || strlen(m->perms) != 4)
		return -EINVAL;
	line += pos;
	while (*line == ' ' || *line == '\t')
		line++;
	if (!*line)
		return 0;
	m->path = line;
	n = strlen(line);
	if (n > dl && !strcmp(line + n - dl, deleted)) {
		line[n - dl] = '\0';
		m->deleted = true;
	}
	return 0;
}

int proc_maps_each(int pid, int (*fn)(struct proc_map *m, void *ctx), void *ctx)
{
	char path[64], line[PATH_MAX + 128];
	int ret = 0, tid = proc_live_tid(pid);
	struct proc_map m;
	FILE *f;

	/* A main thread that has exited shows no maps: another thread shows the process's. */
	snprintf(path, sizeof(path), "/proc/%d/maps", tid < 0 ? pid : tid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (!ret && fgets(line, sizeof(line), f))
		if (!proc_parse_map(line, &m))
			ret = fn(&m, ctx);
	fclose(f);
	return ret;
}

int proc_read_stat(int pid, int tid, struct proc_stat *st)
{
	char path[64], buf[1024], *open_paren, *close_paren, *p;
	unsigned long flags;
	size_t n;
	ssize_t len;
	int ppid;
	char state;

	if (tid > 0)
		snprintf(path, sizeof(path), "/proc/%d/task/%d/stat", pid, tid);
	else
		snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	len = read_file(path, buf, sizeof(buf));
	if (len < 0)
		return (int)len;
	/* comm may hold spaces and parentheses: it ends at the last ')'. */
	open_paren = strchr(buf, '(');
	close_paren = strrchr(buf, ')');
	if (!open_paren || !close_paren || close_paren < open_paren)
		return -EINVAL;
	n = (size_t)(close_paren - open_paren - 1);
	if (n >= sizeof(st->comm))
		n = sizeof(st->comm) - 1;
	memcpy(st->comm, open_paren + 1, n);
	st->comm[n] = '\0';
	p = close_paren + 1;
	/* state ppid pgrp session tty_nr tpgid flags */
	if (sscanf(p, " %c %d %*d %*d %*d %*d %lu", &state, &ppid, &flags) != 3)
		return -EINVAL;
	st->state = state;
	st->ppid = ppid;
	st->flags = (unsigned int)flags;
	return 0;
}

static bool alive(const struct proc_stat *st)
{
	return st->state != 'Z' && st->state != 'X';
}

int proc_live_threads(int pid, int *tid)
{
	struct proc_stat st;
	struct dirent *d;
	char path[64];
	int n = 0, t;
	DIR *dir;

	*tid = -ESRCH;
	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	dir = opendir(path);
	if (!dir)
		return 0;
	while ((d = readdir(dir))) {
		t = atoi(d->d_name);
		if (t <= 0 || proc_read_stat(pid, t, &st) || !alive(&st))
			continue;
		if (!n++ || t == pid)
			*tid = t;
	}
	closedir(dir);
	return n;
}

int proc_live_tid(int pid)
{
	struct proc_stat st;
	int tid;

	if (!proc_read_stat(pid, 0, &st) && alive(&st))
		return pid;
	return proc_live_threads(pid, &tid) ? tid : -ESRCH;
}

int proc_tgid(int pid, int *tgid)
{
	char path[64], buf[4096], *p;
	ssize_t len;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	len = read_file(path, buf, sizeof(buf));
	if (len < 0)
		return (int)len;
	p = strstr(buf, "\nTgid:");
	if (!p || sscanf(p + 6, "%d", tgid) != 1)
		return -EINVAL;
	return 0;
}

/* Longest command line read: arguments past it are left out, "..." said. */
#define CMDLINE_READ 8192

int proc_cmdline(int pid, char *buf, size_t len)
{
	char path[64], *raw, *argv[256];
	int argc = 0;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/cmdline", pid);
	raw = malloc(CMDLINE_READ + 1);
	if (!raw)
		return -ENOMEM;
	n = read_file(path, raw, CMDLINE_READ + 1);
	if (n < 0) {
		free(raw);
		return (int)n;
	}
	raw[n] = '\0';
	/*
	 * A process that rewrote its title (redis-server, postgres, nginx:
	 * setproctitle) pads the old argument area with NULs: a run of empty
	 * arguments at the end, not arguments. Two or more are taken as that
	 * (an argv ending in '' '' is rarer than a rewritten title).
	 */
	if (n >= 3 && !raw[n - 1] && !raw[n - 2] && !raw[n - 3])
		while (n > 0 && !raw[n - 1])
			n--;
	/* A read cut short leaves a partial last argument: not shown as whole. */
	for (char *a = raw; a < raw + n && argc < (int)(sizeof(argv) / sizeof(*argv));
	     a += strlen(a) + 1)
		argv[argc++] = a;
	if (n >= CMDLINE_READ && argc > 1)
		argc--;
	fmt_argv(buf, len, argv, argc);
	free(raw);
	return 0;
}

int proc_argv0(int pid, char *buf, size_t len)
{
	char path[64];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/cmdline", pid);
	n = read_file(path, buf, len); /* NUL-terminated: the first argument */
	return n < 0 ? (int)n : 0;
}

int proc_comm(int pid, int tid, char *buf, size_t len)
{
	char path[64];
	ssize_t n;

	if (tid > 0)
		snprintf(path, sizeof(path), "/proc/%d/task/%d/comm", pid, tid);
	else
		snprintf(path, sizeof(path), "/proc/%d/comm", pid);
	n = read_file(path, buf, len);
	if (n < 0)
		return (int)n;
	if (n > 0 && buf[n - 1] == '\n')
		buf[n - 1] = '\0';
	return 0;
}

int proc_syscall(int pid, int tid, long *nr, uint64_t *arg0)
{
	char path[64], buf[256], *end;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/syscall", pid, tid);
	n = read_file(path, buf, sizeof(buf));
	if (n < 0)
		return (int)n;
	*nr = -1;
	*arg0 = 0;
	/* "202 0x55d0c8 0x80 ..." in a syscall; "running", or "-1 sp pc" outside one. */
	if (!n || buf[0] < '0' || buf[0] > '9')
		return 0;
	*nr = strtol(buf, &end, 10);
	if (*end == ' ')
		*arg0 = strtoull(end + 1, NULL, 16);
	return 0;
}

int proc_ns_tid(int pid, int tid, int *ns_tid)
{
	char path[64], buf[4096], *line, *end;
	long v, last = -1;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/status", pid, tid);
	n = read_file(path, buf, sizeof(buf));
	if (n < 0)
		return (int)n;
	line = strstr(buf, "\nNSpid:");
	if (!line)
		return -ENOENT;
	line += 7;
	for (;;) {
		v = strtol(line, &end, 10);
		if (end == line)
			break;
		last = v;
		line = end;
	}
	if (last <= 0)
		return -ENOENT;
	*ns_tid = (int)last;
	return 0;
}

int proc_ncpus(int pid)
{
	cpu_set_t set;

	if (sched_getaffinity(pid, sizeof(set), &set) == 0 && CPU_COUNT(&set) > 0)
		return CPU_COUNT(&set);
	return sys_ncpus();
}

int sys_ncpus(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n > 0 ? (int)n : 1;
}

uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

uint64_t real_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}
