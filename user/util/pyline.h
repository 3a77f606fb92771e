/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * CPython line tables: the source line of an instruction of a code object,
 * computed from the code object's line table bytes as the interpreter itself
 * does (PyCode_Addr2Line) for CPython 3.8-3.13. The table is read from another
 * process's memory and may be torn or garbage: it is never read out of bounds,
 * and a lookup takes time linear in its length, whatever the bytes.
 *
 * Offsets are in BYTES from the start of the code object's bytecode for every
 * version (one rule for the caller). From a frame that is:
 *   3.8, 3.9:    f_lasti (already bytes);
 *   3.10:        f_lasti * 2 (3.10 counts 2-byte code units);
 *   3.11, 3.12:  (prev_instr - co_code_adaptive) * 2;
 *   3.13:        (instr_ptr - co_code_adaptive) * 2.
 * PyCode_Addr2Line takes bytes in every version too.
 */
#ifndef CONTRACE_PYLINE_H
#define CONTRACE_PYLINE_H

#include <stddef.h>
#include <stdint.h>

enum pyline_format {
	PYLINE_LNOTAB, /* 3.8, 3.9: co_lnotab */
	PYLINE_310, /* 3.10: co_linetable of (offset delta, line delta) pairs */
	PYLINE_311, /* 3.11, 3.12, 3.13: co_linetable location entries */
};

/* The format of CPython "3.N" or "3.N.P" (N = 8..13), or -1 for any other. */
int pyline_format_of(const char *version);

/*
 * The line of the instruction at byte offset `off` of the bytecode, given the
 * code object's co_firstlineno and its line table (co_lnotab for 3.8/3.9,
 * co_linetable from 3.10) of `len` bytes.
 *
 * 0 if the instruction has no line (3.10+: an artificial instruction; CPython
 * says -1) and for an offset past what the table covers in 3.10+ (CPython
 * says -1 too); 3.8/3.9 give the table's last line there, like CPython. Line 0
 * itself (3.11+: a module's first instruction, RESUME) also reads as 0.
 *
 * -EINVAL if the table is malformed where the lookup reads it: an odd-sized
 * co_lnotab, a 3.10 pair cut in half or zero-length ranges that end the table,
 * a 3.11+ entry that does not start with its marker bit, a truncated varint or
 * entry, a varint over 32 bits; or if the line is negative or past INT_MAX
 * (no real table gives one). Bytes past the entry holding `off` are not read:
 * a table torn after it still gives the right line.
 */
int pyline_at(enum pyline_format f, const uint8_t *table, size_t len, int firstlineno,
	      uint32_t off);

#endif
