/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Tier C of the GIL (--gil=futex) needs to know which PyThreadState is
 * whose: the BPF side compares the GIL's last_holder with the thread's own.
 * This walks the main interpreter's list of thread states in the target's
 * memory (per-version offsets, from the DWARF of CPython 3.8-3.13 builds)
 * and keeps ct_gil_tstates ({tgid, pthread_t} -> PyThreadState *) in step.
 */
#ifndef CONTRACE_GIL_TSTATE_H
#define CONTRACE_GIL_TSTATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Whether the thread list of this CPython version ("3.11") can be walked. */
bool gil_tstate_known(const char *version);

/* PyThreadState.thread_id's offset in this version (0: unknown). */
uint64_t gil_tstate_tid_offset(const char *version);

/*
 * The main interpreter (PyInterpreterState *) of process pid, whose
 * _PyRuntime is at `runtime`. 0, or -errno (-ENOENT: none yet).
 */
int gil_tstate_interp(int pid, const char *version, uint64_t runtime, uint64_t *interp);

/*
 * Read the thread states of process pid, whose _PyRuntime is at `runtime`,
 * into at most max pairs (pthread_t, PyThreadState *). Their number, or
 * -errno (-ENOENT: no interpreter yet, -EINVAL: the list does not look
 * like one).
 */
int gil_tstate_read(int pid, const char *version, uint64_t runtime, uint64_t (*pairs)[2],
		    size_t max);

/*
 * Make the entries of pid in the map `fd` those of the process now: add the
 * new threads, drop the ones gone (pthread_t values are reused). The number
 * of threads, or -errno.
 */
int gil_tstate_refresh(int fd, int pid, const char *version, uint64_t runtime);

#endif
