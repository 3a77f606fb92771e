// SPDX-License-Identifier: GPL-2.0-only
/* contrace diff BASE NEW: two reports read, compared, and the gate's verdict. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/outfile.h"
#include "util/readfile.h"
#include "store/diff.h"
#include "store/record.h"
#include "cli/commands.h"
#include "cli/paths.h"

/* What diff looks at before reading an input: whether it is a recording, or binary data. */
#define HEAD_LEN 4096

/*
 * An input: a recording is left to be read as a stream (in->data NULL); a
 * JSON report is checked by its first bytes and size, then read whole.
 */
static int read_input(struct diff_input *in, const char *path, char *err, size_t errlen)
{
	char head[HEAD_LEN], *buf = NULL;
	uint64_t size;
	ssize_t n;
	int fd, ret;

	in->name = path;
	ret = input_open(path, &fd, &size, err, errlen);
	if (ret)
		return ret;
	n = pread(fd, head, sizeof(head), 0);
	ret = n < 0 ? -errno : 0;
	close(fd);
	if (ret) {
		snprintf(err, errlen, "%s: cannot read: %s", path, strerror(-ret));
		return ret;
	}
	if (record_is(head, (size_t)n))
		return 0;
	ret = diff_check_start(path, head, (size_t)n, size, err, errlen);
	if (!ret)
		ret = read_file(path, &buf, &in->len, err, errlen);
	in->data = buf;
	return ret;
}

static int open_output(struct outfile *o, const char *path, FILE **f)
{
	char err[512];

	if (!path)
		return 0;
	if (outfile_open(o, path, err, sizeof(err))) {
		fprintf(stderr, "contrace diff: %s\n", err);
		return -1;
	}
	*f = o->f;
	return 0;
}

/* Close an output (in place if ok, else as it was). 0, or 2 after saying why. */
static int close_output(struct outfile *o, bool ok)
{
	char err[512];

	if (!o->f)
		return 0;
	if (!ok) {
		outfile_abort(o);
		return 0;
	}
	if (outfile_close(o, err, sizeof(err))) {
		fprintf(stderr, "contrace diff: %s\n", err);
		return 2;
	}
	return 0;
}

/* The comparison to the outputs asked for; the exit status, write errors included (2). */
static int diff_files(const struct diff_input in[2], const struct diff_rule *rules, size_t nrules,
		      const char *json_path, const char *md_path)
{
	struct outfile jf = { 0 }, mf = { 0 };
	struct diff_outputs out = { .warn = stderr };
	char err[512];
	int code = 2, ret;

	/* Text on stdout, unless an output goes there. */
	if (!(json_path && !strcmp(json_path, "-")) && !(md_path && !strcmp(md_path, "-")))
		out.text = stdout;
	if (open_output(&jf, json_path, &out.json) || open_output(&mf, md_path, &out.markdown))
		goto out;
	errno = 0;
	code = diff_run(in, rules, nrules, &out, err, sizeof(err));
	if (code == 2) {
		fprintf(stderr, "contrace diff: %s\n", err);
	} else if (fflush(stdout) || ferror(stdout)) {
		fprintf(stderr, "contrace diff: cannot write to standard output: %s\n",
			strerror(errno ? errno : EIO));
		code = 2;
	}
out:
	ret = close_output(&jf, code != 2);
	if (close_output(&mf, code != 2) || ret)
		code = 2;
	return code;
}

int diff_cmd(const struct opts *o)
{
	struct diff_input in[2] = { { 0 } };
	char err[512];
	int code = 2;

	if (paths_check(o))
		return 2;
	for (int i = 0; i < 2; i++)
		if (read_input(&in[i], o->files[i], err, sizeof(err))) {
			fprintf(stderr, "contrace diff: %s\n", err);
			goto out;
		}
	code = diff_files(in, o->rules, o->nrules, o->json_path, o->markdown_path);
out:
	for (int i = 0; i < 2; i++)
		free((void *)in[i].data);
	return code;
}
