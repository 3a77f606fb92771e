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

int timeline_perfetto(const char *rec_path, const char *out_path)
{
	struct perfetto_stats st = { 0 };
	struct recording rec;
	struct outfile out;
	struct perfetto *pf;
	struct report r;
	uint64_t end_ts;
	char err[512];
	int ret, code;

	code = read_total(rec_path, &rec, &r, &end_ts);
	if (code)
		return code;
	ret = outfile_open(&out, out_path, err, sizeof(err));
	if (ret) {
		log_error("cannot write '%s': %s", out_path, strerror(-ret));
		goto done;
	}
	ret = perfetto_open(&pf, out.f, &r, &rec.cur.s);
	if (!ret)
		ret = stream_events(rec_path, pf, err, sizeof(err));
	else
		snprintf(err, sizeof(err), "%s", strerror(-ret));
	if (!ret)
		ret = perfetto_close(pf, end_ts, &st);
	else
		perfetto_abort(pf);
	if (!ret)
		ret = outfile_close(&out, err, sizeof(err));
	else
		outfile_abort(&out);
	if (ret)
		log_error("cannot write the timeline '%s': %s", out_path, err);
	else
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
