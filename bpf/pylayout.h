/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Where CPython 3.8-3.13 keep a thread's Python frames, for --stacks: the
 * BPF side walks them at a wait (stacks.bpf.c), user space names their code
 * objects (probe/pyframes.c). One table for both sides. Offsets from the
 * DWARF of pyenv's 3.8.18, 3.9.18, 3.10.13, 3.11.7, 3.12.1 and 3.13.0
 * (gdb's ptype/o of struct _ts, _frame / _PyInterpreterFrame, _PyCFrame and
 * PyCodeObject); Debian's 3.11.2 has 3.11.7's layout (the same structs:
 * checked by the e2e tests' known lines).
 */
#ifndef CONTRACE_PYLAYOUT_H
#define CONTRACE_PYLAYOUT_H

/* A field a version does not have. */
#define CT_PY_NONE 0xffff

/* What a frame's instruction field holds. */
enum ct_py_instr {
	CT_PY_LASTI_BYTES = 0, /* 3.8, 3.9: f_lasti, an int, in bytes */
	CT_PY_LASTI_UNITS = 1, /* 3.10: f_lasti in 2-byte code units */
	CT_PY_INSTR_PTR = 2, /* 3.11+: a pointer into co_code_adaptive */
};

/* 3.12+: a frame owned by the C stack, the entry shim of an evaluation. */
#define CT_PY_OWNED_BY_CSTACK 3

/* Bytes of a frame read at once: every field below lies in them. */
#define CT_PY_FRAME_READ 128

/* A code object's bytes read for its stamp: from CT_PY_CODE_FROM, co_firstlineno and co_name. */
#define CT_PY_CODE_FROM 40
#define CT_PY_CODE_READ 88

/* The 24-bit stamp of a code object whose co_firstlineno and co_name (the str's address) these are. */
static inline __u32 ct_py_stamp(__u32 firstlineno, __u64 name)
{
	return ((firstlineno * 2654435761u) ^ (__u32)(name >> 4) ^ (__u32)(name >> 28)) & 0xffffff;
}

struct ct_py_layout {
	char version[8];
	/* PyThreadState: the current frame, or (3.11, 3.12) its _PyCFrame */
	__u16 tstate_frame;
	/* _PyCFrame.current_frame (3.11, 3.12), else CT_PY_NONE */
	__u16 cframe_frame;
	/* the frame: its code object, its caller, its instruction */
	__u16 f_code;
	__u16 f_back;
	__u16 f_instr;
	__u16 instr; /* enum ct_py_instr */
	__u16 f_entry; /* 3.11: is_entry (the first frame of an evaluation) */
	__u16 f_owner; /* 3.12+: owner (CT_PY_OWNED_BY_CSTACK: a shim) */
	/* PyCodeObject */
	__u16 co_code; /* 3.11+: co_code_adaptive, the bytecode the instruction points into */
	__u16 co_firstlineno;
	__u16 co_filename;
	__u16 co_name;
	__u16 co_lines; /* co_lnotab (3.8, 3.9), co_linetable (3.10+): a bytes object */
	__u16 tstate_tid; /* 3.11+: PyThreadState.native_thread_id (the kernel's tid) */
};

#define CT_PY_LAYOUTS 6

/* Indexed by ct_gil_addrs.py_layout - 1. */
static const struct ct_py_layout ct_py_layouts[CT_PY_LAYOUTS] = {
	{ "3.8", 24, CT_PY_NONE, 32, 24, 104, CT_PY_LASTI_BYTES, CT_PY_NONE, CT_PY_NONE, CT_PY_NONE,
	  40, 104, 112, 120, CT_PY_NONE },
	{ "3.9", 24, CT_PY_NONE, 32, 24, 104, CT_PY_LASTI_BYTES, CT_PY_NONE, CT_PY_NONE, CT_PY_NONE,
	  40, 104, 112, 120, CT_PY_NONE },
	{ "3.10", 24, CT_PY_NONE, 32, 24, 96, CT_PY_LASTI_UNITS, CT_PY_NONE, CT_PY_NONE, CT_PY_NONE,
	  40, 104, 112, 120, CT_PY_NONE },
	{ "3.11", 56, 8, 32, 48, 56, CT_PY_INSTR_PTR, 68, CT_PY_NONE, 184, 72, 112, 120, 136, 160 },
	{ "3.12", 56, 0, 0, 8, 56, CT_PY_INSTR_PTR, CT_PY_NONE, 70, 192, 68, 112, 120, 136, 144 },
	{ "3.13", 72, CT_PY_NONE, 0, 8, 56, CT_PY_INSTR_PTR, CT_PY_NONE, 70, 200, 68, 112, 120, 136,
	  160 },
};

#endif /* CONTRACE_PYLAYOUT_H */
