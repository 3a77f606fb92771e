// SPDX-License-Identifier: GPL-2.0-only
/*
 * contrace report FILE: the reports of a recording, through the live run's
 * renderers. It reads files only: no BPF, no privileges.
 */
#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <string.h>

#include "util/log.h"
#include "model/model.h"
#include "store/record.h"
#include "cli/commands.h"
#include "cli/emit.h"
#include "cli/paths.h"
#include "cli/timeline.h"

/* The first report: the JSON file is opened only now, with something to write. */
static int replay_emit(struct emitter *e, struct report *r, int index, bool *opened)
{
	if (!*opened && emitter_open(e)) {
		model_free(r);
		return -EIO;
	}
	*opened = true;
	return emitter_print(e, r, index);
}

/*
 * The reports of a recording, as it is read: each -i interval's (two
 * snapshots in memory at a time, whatever the file's length), then the
 * total, of its final snapshot or of its last whole one. 0, 1 (a write
 * error) or 2 (a bad recording, after a one-line message).
 */
static int replay(struct emitter *e, const char *path)
{
	struct recording rec;
	struct report_meta meta;
	struct report r;
	bool opened = false;
	char err[512];
	int index = 0, code = 0, ret;

	ret = record_open(path, &rec, err, sizeof(err));
	while (!ret && !code && (ret = record_next(&rec, err, sizeof(err))) > 0) {
		ret = 0;
		/* The last interval, up to the final snapshot: as the live run made it. */
		if (rec.cur.kind == RECORD_FINAL &&
		    !(rec.has_base &&
		      model_interval_left(rec.meta.interval_ns, rec.base.s.ts, rec.cur.s.ts)))
			continue;
		if (rec.cur.kind != RECORD_INTERVAL && rec.cur.kind != RECORD_FINAL)
			continue;
		e->lines = true; /* JSON lines: each interval's report, then the total */
		meta = rec.meta;
		ret = model_build(&r, &meta, &rec.cur.s, rec.has_base ? &rec.base.s : NULL);
		if (ret)
			break;
		code = replay_emit(e, &r, ++index, &opened) ? 1 : 0;
	}
	if (!ret && !code && record_total(&rec, &r) == -ENODATA) {
		snprintf(err, sizeof(err),
			 "%s: the recording was cut off before its first whole snapshot: "
			 "nothing to report",
			 path);
		ret = -ENODATA;
	} else if (!ret && !code) {
		if (rec.truncated)
			log_warn("%s was cut short: reporting up to its last whole snapshot", path);
		code = replay_emit(e, &r, 0, &opened) ? 1 : 0;
	}
	if (ret == -ENOMEM)
		log_error("%s: out of memory", path);
	else if (ret)
		fprintf(stderr, "contrace report: %s\n", err);
	if (rec.rd)
		record_free(&rec);
	return ret == -ENOMEM ? 1 : ret ? 2 : code;
}

int report_cmd(const struct opts *o)
{
	struct emitter e;
	int code;

	if (paths_check(o))
		return 2;
	/*
	 * One report after another builds and frees the same large JSON trees
	 * and buffers: keep the freed memory (no mmap, no trim, no fastbin
	 * consolidation) instead of faulting it in again each time. A 400-thread
	 * recording reported as JSON went from 0.56 s to 0.35 s.
	 */
	mallopt(M_MMAP_THRESHOLD, 256 << 20);
	mallopt(M_TRIM_THRESHOLD, 256 << 20);
	mallopt(M_MXFAST, 0);
	log_verbosity = o->verbose > 1 ? 2 : o->verbose;
	emitter_init(&e, o);
	code = replay(&e, o->files[0]);
	/* JSON Lines cut off by a damaged block are no report: the file is left as it was. */
	if (code)
		emitter_abort(&e);
	else if (emitter_close(&e))
		code = 1;
	if (!code && o->perfetto_path)
		code = timeline_perfetto(o->files[0], o->perfetto_path);
	return code;
}
