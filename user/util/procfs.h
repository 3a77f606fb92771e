/* SPDX-License-Identifier: GPL-2.0-only */
/* What /proc says about processes and threads. */
#ifndef CONTRACE_PROCFS_H
#define CONTRACE_PROCFS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct proc_stat {
	char state; /* R, S, D, Z, T, ... */
	int ppid;
	unsigned int flags; /* PF_* */
	char comm[16];
};

#define PROC_PF_KTHREAD 0x00200000u

/* One line of /proc/PID/maps. */
struct proc_map {
	uint64_t start, end, offset, inode;
	unsigned int dev_major, dev_minor;
	char perms[5]; /* "r-xp" */
	char *path; /* into the line, NUL-terminated, " (deleted)" cut; NULL: anonymous */
	bool deleted; /* the path ended with " (deleted)": the file was unlinked */
};

/*
 * Parse one line of /proc/PID/maps (its newline, if any, is cut; so is a
 * path's " (deleted)"). 0, or -EINVAL for a line that is not one.
 */
int proc_parse_map(char *line, struct proc_map *m);

/*
 * Call fn for each line of /proc/PID/maps, parsed (valid during the call),
 * until fn returns non-zero. What fn returned last, or -errno.
 */
int proc_maps_each(int pid, int (*fn)(struct proc_map *m, void *ctx), void *ctx);

/* /proc/PID/stat (or /proc/PID/task/TID/stat with tid > 0). 0, or -errno. */
int proc_read_stat(int pid, int tid, struct proc_stat *st);

/*
 * A live thread of process pid, for what /proc says through one: pid itself
 * while its main thread lives, else another thread (a main thread that
 * called pthread_exit() is a zombie, with no memory, root or maps to show).
 * The tid, or -ESRCH if every thread has exited.
 */
int proc_live_tid(int pid);

/* How many threads of process pid live (not zombies); *tid: one of them, pid if it does. */
int proc_live_threads(int pid, int *tid);

/* Tgid of a pid that may be a thread id. 0, or -errno. */
int proc_tgid(int pid, int *tgid);

/*
 * /proc/PID/cmdline as a shell would take it back (fmt_argv: arguments with
 * spaces or quotes quoted, an empty one ''); "" for a kernel thread. 0, or -errno.
 */
int proc_cmdline(int pid, char *buf, size_t len);

/* The first argument of /proc/PID/cmdline as it is; "" for a kernel thread. 0, or -errno. */
int proc_argv0(int pid, char *buf, size_t len);

/* /proc/PID/task/TID/comm (tid 0: the process's). 0, or -errno. */
int proc_comm(int pid, int tid, char *buf, size_t len);

/*
 * The thread's id in its own PID namespace (the last NSpid of
 * /proc/PID/task/TID/status): tid itself outside any child namespace.
 * 0, or -errno.
 */
int proc_ns_tid(int pid, int tid, int *ns_tid);

/*
 * The syscall thread tid is blocked in and its first argument, from
 * /proc/PID/task/TID/syscall (-1 when it runs, or is not in a syscall).
 * 0, or -errno (it exited, or no ptrace rights).
 */
int proc_syscall(int pid, int tid, long *nr, uint64_t *arg0);

/* CPUs the process may run on (its affinity mask), or the online CPUs if unknown. */
int proc_ncpus(int pid);

/* Online CPUs of the machine. */
int sys_ncpus(void);

/* Monotonic clock in ns: the clock of bpf_ktime_get_ns(). */
uint64_t mono_ns(void);

/* Realtime clock in ns. */
uint64_t real_ns(void);

#endif
