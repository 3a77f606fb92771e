// SPDX-License-Identifier: GPL-2.0-only
/*
 * --perfetto: a recording's timeline as a Perfetto trace (out/perfetto.c),
 * for `contrace report REC --perfetto OUT` and a live `--perfetto OUT`. The
 * recording is read twice, as a stream each time: first to its end for
 * the total report (the threads' names and final figures: the tracks are
 * described before any event), then for its records. Memory stays that of
 * two snapshots and the writer's per-thread state, whatever the length.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "util/log.h"
#include "util/outfile.h"
#include "model/model.h"
#include "out/perfetto.h"
#include "store/record.h"
#include "cli/timeline.h"

static int on_event(void *ctx, const struct ct_tl_event *e)
{
	return perfetto_event(ctx, e);
}

/* Pass 1: the total report and the final snapshot's time. 0, or 2 (said why). */
static int read_total(const char *rec_path, struct recording *rec, struct report *r,
		      uint64_t *end_ts)
{
	char err[512];
	int ret;

	ret = record_open(rec_path, rec, err, sizeof(err));
	while (!ret && (ret = record_next(rec, err, sizeof(err))) > 0)
		ret = 0;
	if (!ret && !rec->meta.timeline) {
		snprintf(err, sizeof(err),
			 "%s holds no timeline: record it with --timeline (or --perfetto)",
			 rec_path);
		ret = -ENODATA;
	} else if (!ret) {
		ret = record_total(rec, r);
		if (ret == -ENODATA)
			snprintf(err, sizeof(err), "%s: cut off before its first whole snapshot",
				 rec_path);
		else if (ret)
			snprintf(err, sizeof(err), "%s: %s", rec_path, strerror(-ret));
	}
	if (ret) {
		log_error("%s", err);
		if (rec->rd)
			record_free(rec);
		return 2;
	}
	if (rec->truncated)
		log_warn("%s was cut short: its timeline ends at its last whole snapshot",
			 rec_path);
	*end_ts = rec->cur.s.ts;
	return 0;
}

/* Pass 2: every record through the writer. 0, or -errno with err said. */
static int stream_events(const char *rec_path, struct perfetto *pf, char *err, size_t errlen)
{
	struct recording rec;
	int ret;

	ret = record_open(rec_path, &rec, err, errlen);
	if (ret)
		return ret;
	rec.on_event = on_event;
	rec.event_ctx = pf;
	while ((ret = record_next(&rec, err, errlen)) > 0)
		;
	record_free(&rec);
	return ret;
}

/* The trace into out: its tracks, every record, the threads' last states. 0, or -errno with err. */
static int write_trace(const char *rec_path, FILE *out, struct recording *rec, struct report *r,
		       uint64_t end_ts, struct perfetto_stats *st, char *err, size_t errlen)
{
	struct perfetto *pf = NULL;
	int ret;

	ret = perfetto_open(&pf, out, r, &rec->cur.s);
	if (ret) {
		snprintf(err, errlen, "%s", strerror(-ret));
		return ret;
	}
	ret = stream_events(rec_path, pf, err, errlen);
	if (ret) {
		perfetto_abort(pf);
		return ret;
	}
	/* A full disk (/dev/full) shows here, when the last of it is flushed. */
	ret = perfetto_close(pf, end_ts, st);
	if (ret)
		snprintf(err, errlen, "%s", strerror(-ret));
	return ret;
}

int timeline_perfetto(const char *rec_path, const char *out_path)
{
	struct perfetto_stats st = { 0 };
	struct recording rec;
	struct outfile out;
	struct report r;
	uint64_t end_ts;
	char err[512];
	int ret, code;

	code = read_total(rec_path, &rec, &r, &end_ts);
	if (code)
		return code;
	ret = outfile_open(&out, out_path, err, sizeof(err));
	if (ret) {
		log_error("%s", err);
		goto done;
	}
	ret = write_trace(rec_path, out.f, &rec, &r, end_ts, &st, err, sizeof(err));
	if (ret) {
		outfile_abort(&out);
		log_error("cannot write the timeline '%s': %s", out_path, err);
		goto done;
	}
	ret = outfile_close(&out, err, sizeof(err));
	if (ret) {
		log_error("%s", err); /* "cannot write 'PATH': why" */
		goto done;
	}
	log_info(
		"timeline: %llu records, %llu slices, %llu flows, %llu lock holds (%llu overlapping left out), %llu samples, %llu bytes in %s",
		(unsigned long long)st.events, (unsigned long long)st.slices,
		(unsigned long long)st.flows, (unsigned long long)st.holds,
		(unsigned long long)st.holds_left_out, (unsigned long long)st.samples,
		(unsigned long long)st.bytes, out_path);
done:
	model_free(&r);
	record_free(&rec);
	return ret ? (ret == -EINVAL ? 2 : 1) : 0;
}
