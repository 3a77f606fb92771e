/* SPDX-License-Identifier: GPL-2.0-only */
/* The traced process: an existing one (-p) or a command contrace launches. */
#ifndef CONTRACE_TARGET_H
#define CONTRACE_TARGET_H

#include <stdbool.h>
#include <stddef.h>

struct target {
	int pid;
	bool launched;
	int pidfd; /* readable once the process has exited */
	int gate_fd; /* launched: the child execs when this is written or closed */
	int err_fd; /* launched: carries errno if the exec fails */
	bool reaped;
	int exit_status; /* launched and reaped: exit code, or -1 */
	int exit_signal; /* launched and reaped: terminating signal, or 0 */
};

/*
 * Check that pid can be traced: it exists, is not a zombie or a kernel thread.
 * A thread id is turned into its process (with a note on stderr).
 * 0, or -errno with a message in err.
 */
int target_attach(struct target *t, int pid, char *err, size_t errlen);

/*
 * The probes found no thread of process pid: why, if it has not simply
 * exited. 0 if it has (nothing to add), else -EPERM with a message in err
 * (the kernel showed none of its live threads to the BPF task iterator).
 */
int target_unseen(int pid, char *err, size_t errlen);

/*
 * Fork the command, stopped before its execve until target_release().
 * 0, or -errno with a message (127 exit code advised for a command not found).
 */
int target_launch(struct target *t, char *const argv[], char *err, size_t errlen);

/* Let a launched command exec. 0, or -errno with a message if the exec failed. */
int target_release(struct target *t, const char *cmd, char *err, size_t errlen);

/* Whether the process has exited (non-blocking). */
bool target_exited(struct target *t);

/* Launched: reap the child, waiting up to timeout_ms (-1: forever). True if reaped. */
bool target_reap(struct target *t, int timeout_ms);

/* Send a signal to the process (launched only; never to a -p target). */
void target_signal(struct target *t, int sig);

void target_close(struct target *t);

#endif
