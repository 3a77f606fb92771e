/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What a recording's records are: for each struct it stores, its name,
 * size and fields (name, type, offset, element count). The writer's
 * descriptions are generated from the structs themselves (offsetof, sizeof,
 * the member's type), one table per struct, and written into every
 * recording; a reader maps a file's fields onto this build's structs by
 * name, so a field added, removed or moved since the file was written is
 * read correctly or known to be missing, never misread
 * (docs/recording-format.md).
 */
#ifndef CONTRACE_RECORD_DESC_H
#define CONTRACE_RECORD_DESC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "contrace.h"

/* Field types: fixed-width little-endian integers, and text (NUL-padded). */
enum rec_type {
	REC_U8 = 1,
	REC_U16 = 2,
	REC_U32 = 3,
	REC_U64 = 4,
	REC_S8 = 5,
	REC_S16 = 6,
	REC_S32 = 7,
	REC_S64 = 8,
	REC_CHAR = 9,
};

#define REC_NAME_LEN 32 /* a struct's name in the file, NUL included */
#define REC_FIELD_LEN 48 /* a field's */

struct rec_field {
	const char *name; /* nested members as "key.slot", arrays of structs as "held[1].since" */
	uint32_t type; /* enum rec_type */
	uint32_t count; /* elements: 1, or an array's length */
	uint32_t offset;
	/*
	 * A bool's or an enum's largest valid value, checked when read: a
	 * file cannot put 255 where the code switches on 0..3. 0: any value.
	 */
	uint32_t max;
};

struct rec_struct {
	const char *name;
	uint32_t size; /* of one record */
	uint32_t nfields;
	const struct rec_field *fields; /* by offset, covering every byte (explicit padding) */
};

/* The structs a recording stores, in the order of their descriptions. */
enum rec_sid {
	RS_META, /* struct rec_meta: the trace's metadata */
	RS_SNAP, /* struct rec_snap: a snapshot block's header */
	RS_THREAD, /* struct ct_thread, by slot */
	RS_SYS, /* the keyed arrays of struct snapshot, in its order */
	RS_WAKER,
	RS_NAME,
	RS_PROC,
	RS_LOCK,
	RS_EDGE,
	RS_SITE,
	RS_SYM,
	RS_GILHIST,
	RS_GIL, /* struct rec_gil: a Python process found */
	RS_RUNNER, /* struct snap_runner (after the version 1 arrays) */
	RS_LSTACK, /* --stacks: struct snap_site, waits by (lock, stack id) */
	RS_STACK, /* struct snap_stack */
	RS_FRAME, /* struct snap_frame */
	RS_PYNAME, /* struct snap_pyname: Python threads' names */
	RS_NATIVE, /* struct snap_native: native code's samples by address */
	RS_EVENT, /* struct ct_tl_event: --timeline's records, in event blocks (keyed arrays come before) */
	RS_COUNT,
	RS_COUNT_V1 = RS_RUNNER /* the structs of format version 1 */
};

/* The metadata block. */
struct rec_meta {
	char version[32];
	char kernel[65];
	char hostname[65];
	char command[1024];
	char pad0[6];
	int32_t ncpus;
	int32_t target_pid;
	uint8_t launched, follow, syscalls, locks, holds, timeline, stacks, pad3[1];
	uint64_t locks_min_wait_ns;
	uint64_t trace_start_ns;
	uint64_t trace_start_real_ns;
	uint64_t interval_ns; /* -i; absent (0) in recordings before it */
	char argv[1024]; /* the launched command's arguments, NUL-terminated each */
	uint32_t argv_len; /* absent (0) in recordings before it */
	uint32_t sample_every; /* report_meta.sample_every; absent (0) before it: every tick */
};

/* A snapshot block's header; the changed elements follow (record.c). */
struct rec_snap {
	uint64_t seq; /* snapshot blocks before this one: a dropped or repeated block breaks it */
	uint64_t ts; /* monotonic ns, increasing */
	uint32_t kind; /* enum record_kind */
	uint32_t pad;
	struct ct_counters counters;
	uint64_t holds_probed;
	uint64_t holds_unprobed;
	int32_t exit_status;
	int32_t exit_signal;
	char names_missing[1024]; /* absent ("") in recordings before it */
};

/* struct rpt_gil_info with fixed-width fields (it holds a bool and an enum). */
struct rec_gil {
	int32_t pid;
	char file[64];
	char version[8];
	uint8_t free_threaded;
	uint8_t pad0[3];
	uint32_t tier; /* enum rpt_gil_tier */
	char why[160];
	uint32_t pad1;
	uint64_t addr;
	uint64_t interval_us;
};

/* This build's structs, and those of format version 1 (record_v1.c: frozen). */
extern const struct rec_struct rec_structs[RS_COUNT];
extern const struct rec_struct rec_structs_v1[RS_COUNT_V1];

/* Bytes of one element of a type (0: unknown type). */
uint32_t rec_type_size(uint32_t type);

/* "u32", "char"... */
const char *rec_type_name(uint32_t type);

const struct rec_field *rec_find_field(const struct rec_struct *st, const char *name);

/* One contiguous copy from a file record to a local one. */
struct rec_copy {
	uint32_t from, to, len;
};

/* How to read a file's records of one struct into this build's. */
struct rec_map {
	const struct rec_struct *local;
	uint32_t file_size; /* of a record in the file; 0: the file has none of these */
	size_t ncopies;
	struct rec_copy *copies; /* merged where both sides are contiguous */
	bool *absent; /* per local field: the file lacks it (read as 0: not measured) */
	bool identical; /* same layout: a record is copied whole */
	size_t nchecks;
	uint32_t *checks; /* local fields with a largest value (rec_field.max) */
};

/*
 * Map `file` (NULL: the file has no such struct) onto `local` by field
 * name: a field the file lacks is absent (zero); one it has that local does
 * not know is skipped; one of another type or length refuses the file:
 * -EINVAL and "cannot read ct_thread.oncpu_ns: u32 in the file, u64 here".
 */
int rec_map_build(struct rec_map *m, const struct rec_struct *local, const struct rec_struct *file,
		  char *err, size_t errlen);
void rec_map_free(struct rec_map *m);

/*
 * One record from the file (file_size bytes at src) into dst (local size):
 * fields absent are zero, text is copied as it is (callers terminate it),
 * bools and enums are checked: -EINVAL and "gil_info.tier: 9 is not a
 * valid value" if out of range.
 */
int rec_map_read(const struct rec_map *m, void *dst, const void *src, char *err, size_t errlen);

#endif
