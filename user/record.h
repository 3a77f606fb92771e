/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Recordings (docs/recording-format.md): what a trace needs to print its
 * reports again later, anywhere: the report metadata and every snapshot the
 * live run reported from (each -i interval's, and the final one), with the
 * names of addresses already resolved. A header, then zlib-compressed
 * blocks, each with its lengths and a CRC-32, written as the trace goes: a
 * recording cut short stays readable up to its last whole block.
 */
#ifndef CONTRACE_RECORD_H
#define CONTRACE_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "model.h"
#include "outfile.h"
#include "snapshot.h"

#define RECORD_VERSION 1
#define RECORD_MAX_BLOCK (1u << 30) /* raw bytes of one block, at most */

struct recorder {
	FILE *f;
	const char *path;
	struct outfile out; /* f's file: in place at path from record_begin() on */
	bool begun;
};

/*
 * Open path for a recording, not yet in place (before tracing: a bad path
 * fails early, and a failed start leaves an existing file as it was).
 * 0, or -errno with a message.
 */
int record_create(struct recorder *r, const char *path, char *err, size_t errlen);

/*
 * Write the header and the metadata (once tracing has begun), and put the
 * file in place: from now on it is a recording, readable while the trace
 * goes and after contrace is killed.
 */
int record_begin(struct recorder *r, const struct report_meta *m, char *err, size_t errlen);

/*
 * Append one snapshot (final: the one the total report is made from), with
 * the metadata that changes while tracing (probed processes, GIL infos,
 * the command's exit status). Flushed: a crash after it keeps it.
 */
enum record_kind {
	RECORD_START = 0, /* the snapshot -i intervals are measured from: not reported */
	RECORD_INTERVAL = 1, /* one -i interval's end */
	RECORD_FINAL = 2, /* the total report's */
};

int record_snapshot(struct recorder *r, const struct snapshot *s, const struct report_meta *m,
		    enum record_kind kind, char *err, size_t errlen);

/*
 * Close: 0, or -errno with a message (a write error). Before record_begin(),
 * the file is dropped and an existing one left as it was.
 */
int record_close(struct recorder *r, char *err, size_t errlen);

/* A recording read back. */
struct recording {
	struct report_meta meta; /* of the last snapshot block (gil points into gil below) */
	char version[32];
	struct rpt_gil_info *gil;
	size_t ngil_all;
	size_t nsnaps;
	struct snapshot *snaps; /* in order */
	bool final; /* the last snapshot is the final one */
	enum record_kind *kinds; /* per snapshot */
	bool truncated; /* the file ends inside a block, or without its final snapshot */
	/* Per snapshot: the metadata that changes while tracing. */
	struct record_dyn *dyn;
};

struct record_dyn {
	uint64_t holds_probed;
	uint64_t holds_unprobed;
	int exit_status;
	int exit_signal;
	size_t gil_first, ngil; /* into recording.gil */
};

/*
 * Read a recording from memory (the fuzz target's entry) or a file. On
 * error -EINVAL (or -errno) and a one-line message naming the problem; never
 * more memory than the blocks' sizes, bounded by RECORD_MAX_BLOCK each.
 */
int record_parse(const void *data, size_t len, struct recording *rec, char *err, size_t errlen);
int record_read(const char *path, struct recording *rec, char *err, size_t errlen);
void record_free(struct recording *rec);

/* Point rec->meta at snapshot i's changing metadata. */
void record_meta_at(struct recording *rec, size_t i);

/* Whether data (a file's first bytes) begins like a recording. */
bool record_is(const void *data, size_t len);

/*
 * Build the total report of a recording: what `contrace report` prints last
 * (of its final snapshot, or up to its last one if it was cut short).
 * 0, or -errno; model_free() it.
 */
int record_total(struct recording *rec, struct report *r);

#endif
