/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * --stacks in Python: the frames the BPF side found at a wait (a code
 * object and an instruction offset each: bpf/pylayout.h) named from the
 * process's memory while it lives: "function (file.py:line)". Each
 * distinct (process, code object, line) becomes a synthetic program
 * counter (PYFRAME_PC | id) that stacks intern like a native one and the
 * naming of a snapshot's addresses asks this module for.
 */
#ifndef CONTRACE_PYFRAMES_H
#define CONTRACE_PYFRAMES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "probe/symbols.h"

/* The bit of a Python frame's synthetic pc: never set in a user-space address. */
#define PYFRAME_PC (1ULL << 63)

struct pyframes;

struct pyframes *pyframes_new(void);
void pyframes_free(struct pyframes *pf);

/* For ct_gil_addrs.py_layout: the layout of CPython "3.N" (index + 1), 0 if none is known. */
uint32_t pyframes_layout(const char *version);

/* Process pid runs CPython `version`: its frames can be named. 0 or -ENOMEM. */
int pyframes_add_process(struct pyframes *pf, int pid, const char *version);

/*
 * The pc of a frame of process pid: code object `code` with that stamp (as
 * the BPF side read it: a code object freed and another made at its
 * address has another), instruction at byte offset off of its bytecode. 0
 * if the process is not known; [unknown Python frame]'s if the code
 * object cannot be read (counted: pyframes_unnamed).
 */
uint64_t pyframes_pc(struct pyframes *pf, int pid, uint64_t code, uint32_t stamp, int32_t off);

/*
 * Whether native pc of process pid is in the interpreter's evaluation
 * function (each call of it runs Python frames: their place in a native
 * stack). Known per pc once asked.
 */
bool pyframes_is_eval(struct pyframes *pf, struct symbolizer *sym, int pid, uint64_t pc);

/* The name of a pc pyframes_pc() gave for pid: 1, or 0 if it is not one. */
int pyframes_name(const struct pyframes *pf, int pid, uint64_t pc, char *buf, size_t len);

/* Frames whose code object could not be read. */
uint64_t pyframes_unnamed(const struct pyframes *pf);

#endif
