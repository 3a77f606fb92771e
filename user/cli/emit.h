/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Where reports go, for a live trace and a recording alike: the text report
 * and --json, each report written as it is made, the JSON file put in place
 * only once something was written to it.
 */
#ifndef CONTRACE_EMIT_H
#define CONTRACE_EMIT_H

#include <stdbool.h>
#include <stdio.h>

#include "util/outfile.h"
#include "model/model.h"
#include "cli/opts.h"

struct emitter {
	const struct opts *o;
	bool text; /* the text report */
	FILE *tf; /* where it goes: stderr for a trace, stdout for contrace report */
	bool lines; /* JSON Lines: a report per interval, then the total */
	struct outfile json_out; /* --json */
	FILE *json; /* json_out's stream, while open */
	bool json_written; /* a report went to it: it is put in place at the end */
	bool json_failed; /* a write error (said): it is not */
};

void emitter_init(struct emitter *e, const struct opts *o);

/* Open --json (if given). 0, or -1 after saying why. */
int emitter_open(struct emitter *e);

/* Make --json visible while it grows (JSON Lines). 0, or -1 after saying why. */
int emitter_publish(struct emitter *e);

/*
 * Write a built report (the interval `index`, 0 for the total) to the
 * outputs, and free it. 0, or -EIO after saying why.
 */
int emitter_print(struct emitter *e, struct report *r, int index);

/*
 * Put --json in place if a report went to it, or leave the destination as
 * it was: a run that reported nothing does not replace a user's file with
 * an empty one. 0, or -errno (a write error, said).
 */
int emitter_close(struct emitter *e);

/*
 * Close --json without putting it in place: a run that failed part way (a
 * damaged recording) leaves the destination as it was, not a part of a report.
 */
void emitter_abort(struct emitter *e);

#endif
