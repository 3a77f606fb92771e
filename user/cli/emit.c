// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <string.h>

#include "util/log.h"
#include "out/report_json.h"
#include "out/report_text.h"
#include "cli/emit.h"

void emitter_init(struct emitter *e, const struct opts *o)
{
	memset(e, 0, sizeof(*e));
	e->o = o;
	e->text = !o->quiet && !(o->json_path && !strcmp(o->json_path, "-"));
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

static int emit(struct emitter *e, const struct report *r)
{
	struct text_opts to = { .top = e->o->top, .verbose = e->o->verbose };
	int ret = 0;

	if (e->text) {
		errno = 0;
		report_text(stdout, r, &to);
		/* Now, not at exit: a full disk or a closed pipe fails the run (exit 1). */
		if (fflush(stdout) || ferror(stdout)) {
			log_error("cannot write the report to standard output: %s",
				  strerror(errno ? errno : EIO));
			ret = -EIO;
		}
	}
	if (e->json && !e->json_failed) {
		e->json_written = true;
		errno = 0;
		if (report_json(e->json, r, !e->lines)) {
			json_error(e, errno ? errno : EIO);
			e->json_failed = true; /* and not put in place */
			ret = -EIO;
		}
	}
	return ret;
}

int emitter_print(struct emitter *e, struct report *r, int index)
{
	int ret;

	r->index = index;
	if (e->text && index > 0)
		printf("\n");
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
