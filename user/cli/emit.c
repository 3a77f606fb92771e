// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util/log.h"
#include "out/flamegraph.h"
#include "out/folded.h"
#include "out/pprof.h"
#include "out/report_json.h"
#include "out/report_text.h"
#include "cli/emit.h"

void emitter_init(struct emitter *e, const struct opts *o)
{
	memset(e, 0, sizeof(*e));
	e->o = o;
	e->text = !o->quiet && !(o->json_path && !strcmp(o->json_path, "-")) &&
		  !(o->folded && !strcmp(o->folded, "-")) &&
		  !(o->pprof && !strcmp(o->pprof, "-")) &&
		  !(o->flamegraph && !strcmp(o->flamegraph, "-"));
	/*
	 * A trace's report goes where perf stat, strace -c and time put
	 * theirs: a launched command's standard output is its own, byte for
	 * byte (pigz -c > out.gz). A recording's report is what contrace
	 * report is run for: standard output.
	 */
	e->tf = o->cmd == OPTS_REPORT ? stdout : stderr;
	e->lines = o->interval > 0;
}

/* One message for every failure of --json. */
static void json_error(const struct emitter *e, int err)
{
	if (strcmp(e->o->json_path, "-"))
		log_error("cannot write JSON to '%s': %s", e->o->json_path, strerror(err));
	else
		log_error("cannot write the JSON report to standard output: %s", strerror(err));
}

int emitter_open(struct emitter *e)
{
	char err[512];
	int ret;

	if (!e->o->json_path)
		return 0;
	ret = outfile_open(&e->json_out, e->o->json_path, err, sizeof(err));
	if (ret) {
		json_error(e, -ret);
		return -1;
	}
	e->json = e->json_out.f;
	return 0;
}

int emitter_publish(struct emitter *e)
{
	char err[512];
	int ret;

	if (!e->json)
		return 0;
	ret = outfile_publish(&e->json_out, err, sizeof(err));
	if (ret) {
		json_error(e, -ret);
		return -1;
	}
	return 0;
}

/*
 * The text report, made in memory and written at once: standard error is
 * unbuffered (a write per field otherwise), and a message contrace logs
 * meanwhile must not land inside the report. 0, or -EIO after saying why.
 */
static int emit_text(struct emitter *e, const struct report *r)
{
	struct text_opts to = { .top = e->o->top, .verbose = e->o->verbose };
	char *buf = NULL;
	size_t len = 0;
	FILE *m;

	m = open_memstream(&buf, &len);
	if (!m) {
		log_error("cannot make the text report: %s", strerror(errno));
		return -EIO;
	}
	report_text(m, r, &to);
	if (fclose(m)) {
		log_error("cannot make the text report: %s", strerror(errno));
		free(buf);
		return -EIO;
	}
	errno = 0;
	fwrite(buf, 1, len, e->tf);
	free(buf);
	/* Now, not at exit: a full disk or a closed pipe fails the run (exit 1). */
	if (fflush(e->tf) || ferror(e->tf)) {
		log_error("cannot write the report to standard %s: %s",
			  e->tf == stdout ? "output" : "error", strerror(errno ? errno : EIO));
		return -EIO;
	}
	return 0;
}

/* --folded, --pprof, --flamegraph: the whole trace's stacks, put in place once written. 0 or -EIO. */
static int write_stacks(const char *path, const char *what, const struct report *r,
			int (*render)(FILE *, const struct report *))
{
	struct outfile of;
	char err[512];
	int ret;

	if (!path || r->interval)
		return 0;
	if (outfile_open(&of, path, err, sizeof(err))) {
		log_error("%s", err);
		return -EIO;
	}
	ret = render(of.f, r);
	if (ret) {
		log_error("cannot write %s to '%s': %s", what, path, strerror(-ret));
		outfile_abort(&of);
		return -EIO;
	}
	if (outfile_close(&of, err, sizeof(err))) {
		log_error("%s", err);
		return -EIO;
	}
	return 0;
}

static int emit(struct emitter *e, const struct report *r)
{
	int ret = 0;

	if (e->text)
		ret = emit_text(e, r);
	if (e->json && !e->json_failed) {
		e->json_written = true;
		errno = 0;
		if (report_json(e->json, r, !e->lines)) {
			json_error(e, errno ? errno : EIO);
			e->json_failed = true; /* and not put in place */
			ret = -EIO;
		}
	}
	if (write_stacks(e->o->folded, "folded stacks", r, report_folded) ||
	    write_stacks(e->o->pprof, "the pprof profile", r, report_pprof) ||
	    write_stacks(e->o->flamegraph, "the flame graph", r, report_flamegraph))
		ret = -EIO;
	return ret;
}

int emitter_print(struct emitter *e, struct report *r, int index)
{
	int ret;

	r->index = index;
	if (e->text && index > 0)
		fputc('\n', e->tf);
	ret = emit(e, r);
	model_free(r);
	return ret;
}

int emitter_close(struct emitter *e)
{
	char err[512];
	int ret = 0;

	if (!e->json)
		return 0;
	if (e->json_written && !e->json_failed)
		ret = outfile_close(&e->json_out, err, sizeof(err));
	else
		outfile_abort(&e->json_out);
	e->json = NULL;
	if (ret)
		json_error(e, -ret);
	return e->json_failed ? -EIO : ret;
}

void emitter_abort(struct emitter *e)
{
	if (e->json)
		outfile_abort(&e->json_out);
	e->json = NULL;
}
