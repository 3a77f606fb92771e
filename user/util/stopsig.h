/* SPDX-License-Identifier: GPL-2.0-only */
/* The signals that stop contrace, read from a file descriptor. */
#ifndef CONTRACE_STOPSIG_H
#define CONTRACE_STOPSIG_H

/*
 * Block SIGINT, SIGTERM and SIGHUP and return a non-blocking signalfd
 * that reads them, or -errno. Blocked from the very start, a signal that
 * comes while the probes load (100-300 ms) is seen at the next step
 * instead of killing contrace with its probes half placed. A launched
 * command unblocks them before its execve.
 */
int stopsig_fd(void);

#endif
