/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The names a Python program gives its threads (threading.Thread(name=...),
 * "MainThread", "ThreadPoolExecutor-0_1"). CPython before 3.14 does not pass
 * them to the kernel (every thread's comm is the interpreter's), so they are
 * read from the process's memory: _PyRuntime -> the main interpreter -> its
 * modules dict -> "threading" -> its dict -> `_active` {ident: Thread} ->
 * each Thread's attributes `_name` and `_native_id` (the kernel's tid, set
 * by threading since 3.8). Offsets per version (3.8-3.13) from the DWARF of
 * the pyenv builds; every read goes through process_vm_readv and every
 * size is checked: the memory is the target's, and may be changing or
 * hostile. Names seen are kept after their thread exits, for the report.
 */
#ifndef CONTRACE_PYNAMES_H
#define CONTRACE_PYNAMES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "snap/snapshot.h"

struct pynames;

struct pynames *pynames_new(void);
void pynames_free(struct pynames *pn);

/* Whether the threading state of this CPython version ("3.11") can be read. */
bool pynames_known(const char *version);

/*
 * Read the thread names of process pid (CPython `version`, _PyRuntime at
 * `runtime`), at most once per min_gap_ns unless forced. The number of
 * Python threads named now, or -errno (-ENOENT: threading not imported yet,
 * -EINVAL: memory that does not look like the structures expected).
 */
int pynames_update(struct pynames *pn, int pid, const char *version, uint64_t runtime,
		   uint64_t now_ns, uint64_t min_gap_ns);

/*
 * The str object at obj of process pid (CPython `version`) as printable
 * UTF-8 in out, cut to fit cap and SNAP_PYNAME_LEN - 1 code points: its
 * start, or with tail its end (a file's path). Its length in code points,
 * or -errno (-EINVAL: not a str).
 */
int pynames_str(int pid, const char *version, uint64_t obj, char *out, size_t cap, bool tail);

/*
 * Copy the names seen so far into the snapshot (snap->pynames), its thread
 * slots read: those of threads it no longer has are forgotten. 0 or -ENOMEM.
 */
int pynames_snapshot(struct pynames *pn, struct snapshot *snap);

#endif
