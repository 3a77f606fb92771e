/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Recordings (docs/recording-format.md): what a trace needs to print its
 * reports again later, anywhere: the report metadata and the snapshots the
 * live run reported from (each -i interval's, checkpoints every few seconds,
 * and the final one), with the names of addresses already resolved. A
 * header, the description of every struct stored, then zlib-compressed
 * blocks, each with its lengths and a CRC-32, written as the trace goes: a
 * recording cut short stays readable up to its last whole snapshot. Each
 * snapshot stores only what changed since the one before it.
 */
#ifndef CONTRACE_RECORD_H
#define CONTRACE_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "model/model.h"
#include "util/outfile.h"
#include "store/record_desc.h"
#include "snap/snapshot.h"

#define RECORD_VERSION 2
#define RECORD_V1_LAYOUT 0x4a6ab96bu /* version 1's header: a hash of its struct sizes */
#define RECORD_MAX_BLOCK (1u << 30) /* raw bytes of one block, at most */
/*
 * A checkpoint snapshot is stored when none was for this long (without -i,
 * or with a longer -i), so that a recording whose contrace is killed holds
 * the trace up to at most this long before it. One costs about 10 ms of CPU
 * for 400 busy threads (docs/performance.md): 0.5% of a CPU at this period.
 */
#define RECORD_CHECKPOINT_NS 2000000000ull

enum record_kind {
	RECORD_START = 0, /* the snapshot -i intervals are measured from: not reported */
	RECORD_INTERVAL = 1, /* one -i interval's end */
	RECORD_FINAL = 2, /* the total report's */
	RECORD_CHECKPOINT = 3, /* not reported: the total if the recording ends without a final */
};

/* A snapshot as stored, and the metadata that changes with it. */
struct rec_frame {
	struct snapshot s;
	enum record_kind kind;
	uint64_t holds_probed;
	uint64_t holds_unprobed;
	int exit_status;
	int exit_signal;
	char names_missing[1024];
	size_t ngil;
	struct rec_gil *gil; /* by pid */
};

struct recorder {
	FILE *f;
	const char *path;
	struct outfile out; /* f's file: in place at path from record_begin() on */
	bool begun;
	struct rec_frame
		last; /* the last snapshot stored (sorted): the next one is stored against it */
	bool has_last;
	uint64_t seq; /* snapshots stored */
	uint64_t due; /* monotonic time a checkpoint is due: a period after the last snapshot */
	unsigned char *buf; /* a block's raw bytes, and scratch lists */
	size_t len, cap;
	unsigned char *zbuf;
	size_t zcap;
	uint32_t *idx;
	size_t nidx, idxcap;
	struct ct_tl_event *ev; /* --timeline: records not yet in a block */
	size_t nev, evcap;
	uint64_t events; /* records written */
	int ev_ret; /* a failed event block: the error the next call returns */
	char ev_err[256];
};

/*
 * --timeline's records go into event blocks of at most this many (1 MiB
 * raw): the recorder's memory stays bounded whatever the rate.
 */
#define RECORD_EVENTS_BLOCK 16384

/*
 * Open path for a recording, not yet in place (before tracing: a bad path
 * fails early, and a failed start leaves an existing file as it was).
 * 0, or -errno with a message.
 */
int record_create(struct recorder *r, const char *path, char *err, size_t errlen);

/*
 * Write the header, the descriptions and the metadata (once tracing has
 * begun), and put the file in place: from now on it is a recording,
 * readable while the trace goes and after contrace is killed.
 */
int record_begin(struct recorder *r, const struct report_meta *m, char *err, size_t errlen);

/*
 * Append one snapshot of a kind, with the metadata that changes while
 * tracing (probed processes, GIL infos, the command's exit status), as
 * what changed since the last one stored. Flushed: a crash after it keeps
 * it.
 */
int record_snapshot(struct recorder *r, const struct snapshot *s, const struct report_meta *m,
		    enum record_kind kind, char *err, size_t errlen);

/*
 * Append a --timeline record; written in an event block once enough are
 * held, and before the next snapshot. 0, or -errno (the message at the next
 * record_snapshot or record_close).
 */
int record_event(struct recorder *r, const struct ct_tl_event *e);

/* When a checkpoint is due (monotonic ns; 0: never, nothing is recorded). */
uint64_t record_checkpoint_due(const struct recorder *r);

/*
 * Close: 0, or -errno with a message (a write error). Before record_begin(),
 * the file is dropped and an existing one left as it was.
 */
int record_close(struct recorder *r, char *err, size_t errlen);

struct rec_reader;

/*
 * A recording being read, one snapshot at a time: memory for two
 * snapshots (the current one, and the start of the interval it ends),
 * whatever the file's length.
 */
struct recording {
	struct report_meta meta; /* with the current snapshot's changing part */
	char version[32]; /* of the contrace that recorded it */
	uint32_t format; /* its format version */
	struct rec_frame cur; /* the snapshot read last */
	struct rec_frame base; /* the last start or interval snapshot before it (has_base) */
	bool has_base;
	size_t nsnaps; /* read so far */
	bool final; /* the final snapshot was read */
	bool truncated; /* at the end: the file ends inside a block, or without its final snapshot */
	struct rpt_gil_info *gil; /* cur's Python processes (meta.gil) */
	size_t gilcap;
	/*
	 * --timeline records, as record_next meets their blocks: given to
	 * on_event (NULL: skipped), which returns 0 or -errno to stop.
	 */
	int (*on_event)(void *ctx, const struct ct_tl_event *e);
	void *event_ctx;
	uint64_t nevents; /* records read */
	struct rec_reader *rd;
};

/*
 * Open a recording: a regular file (anything else is refused: a FIFO,
 * a device, a directory; never more than its size at opening is read) or
 * bytes in memory (the fuzz target, diff). Reads the header, descriptions
 * and metadata. 0, or -errno and a one-line message naming the problem
 * (and the file).
 */
int record_open(const char *path, struct recording *rec, char *err, size_t errlen);
int record_open_mem(const void *data, size_t len, struct recording *rec, char *err, size_t errlen);

/*
 * Read the next snapshot into rec->cur (and the one before it into
 * rec->base if it starts an interval): 1; 0 at the end (rec->truncated
 * says whether it was cut short); -errno with a message on a damaged file,
 * blocks out of order, dropped or repeated.
 */
int record_next(struct recording *rec, char *err, size_t errlen);

void record_free(struct recording *rec);

/*
 * Read a whole recording from memory, keeping its last snapshot (for
 * record_total). An error if it holds no snapshot at all.
 */
int record_parse(const void *data, size_t len, struct recording *rec, char *err, size_t errlen);

/* Whether data (a file's first bytes) begins like a recording. */
bool record_is(const void *data, size_t len);

/*
 * Whether a snapshot has a field ("ct_thread", "oncpu_ns"): a snapshot
 * read from an older recording may lack fields this build has (read as 0:
 * not measured). Live snapshots have every field.
 */
bool record_has_field(const struct snapshot *s, const char *strct, const char *field);

/*
 * Build the total report of a recording read to its end: what `contrace
 * report` prints last (of its final snapshot, or of its last one if it was
 * cut short). -ENODATA if it ends before anything to report (no snapshot
 * but the start); else 0 or -errno; model_free() it.
 */
int record_total(struct recording *rec, struct report *r);

#endif
