/* SPDX-License-Identifier: GPL-2.0-only */
/* Lock contention: the user side of bpf/futex.bpf.c. */
#ifndef CONTRACE_FUTEX_H
#define CONTRACE_FUTEX_H

#include "snap/snapshot.h"
#include "probe/pyframes.h"
#include "probe/symbols.h"

struct futex_fds {
	int locks;
	int edges;
	int sites;
	int text;
};

/* Copy the lock, edge and call-site maps. 0, or -errno. */
int futex_read(struct snapshot *s, const struct futex_fds *fds);

/*
 * Name the lock words and call sites of s (from the symbolizer, which must
 * have seen the process alive), remembering them in `cache` across snapshots;
 * copy every name known for s's addresses into s->syms. Python frames'
 * synthetic pcs (--stacks) are named by py (NULL: none). 0 or -ENOMEM.
 */
int futex_name(struct snapshot *s, struct symbolizer *sym, const struct pyframes *py,
	       struct snapshot *cache);

/*
 * For each thread of s in a futex wait, in s's copy of its slot, the thread
 * the wait is for as the process's memory says now (fx_owner): a mutex's
 * owner (glibc's __owner field, a PI futex's word), or the thread a
 * pthread_join waits for (its tid word). 0 where unknown, and where the
 * wait ended before the read was done (/proc/PID/task/TID/syscall).
 */
void futex_owners(struct snapshot *s);

/*
 * Give the BPF side the user text ranges of processes (for call sites);
 * prune: pids is every live process, sorted, and the others' ranges go.
 */
void futex_update_text(int text_fd, struct symbolizer *sym, const int *pids, size_t npids,
		       bool prune);

#endif
