// SPDX-License-Identifier: GPL-2.0-only
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "util/outfile.h"
#include "cli/paths.h"

/* -o, --json, --perfetto, --folded, --pprof, --flamegraph, --markdown. */
#define MAX_OUTPUTS 7
/* The command's two reports, --btf, the command. */
#define MAX_INPUTS 4

struct named {
	const char *opt; /* "--json", "the recording" */
	const char *path;
};

struct paths {
	struct named out[MAX_OUTPUTS], in[MAX_INPUTS];
	int nout, nin;
};

static void add(struct named *v, int *n, const char *opt, const char *path)
{
	if (path)
		v[(*n)++] = (struct named){ opt, path };
}

static void collect(const struct opts *o, struct paths *p)
{
	const char *input = o->cmd == OPTS_REPORT ? "the recording" : "the input";

	add(p->out, &p->nout, "-o", o->output);
	add(p->out, &p->nout, "--json", o->json_path);
	add(p->out, &p->nout, "--perfetto", o->perfetto_path);
	add(p->out, &p->nout, "--folded", o->folded);
	add(p->out, &p->nout, "--pprof", o->pprof);
	add(p->out, &p->nout, "--flamegraph", o->flamegraph);
	add(p->out, &p->nout, "--markdown", o->markdown_path);
	for (int i = 0; i < o->nfiles && i < 2; i++)
		add(p->in, &p->nin, input, o->files[i]);
	add(p->in, &p->nin, "the BTF file", o->btf_path);
	/* A command found through PATH is no file the user named here. */
	if (o->cmd_argc && strchr(o->cmd_argv[0], '/'))
		add(p->in, &p->nin, "the command", o->cmd_argv[0]);
}

/* Two outputs in one file: the last one written would be all that is left. */
static int same_outputs(const struct opts *o, const struct named *a, const struct named *b)
{
	if (!strcmp(a->path, "-"))
		fprintf(stderr, "%s: %s and %s would both write to standard output\n",
			opts_cmd_name(o->cmd), a->opt, b->opt);
	else
		fprintf(stderr, "%s: %s and %s name the same file '%s'\n", opts_cmd_name(o->cmd),
			a->opt, b->opt, a->path);
	return 2;
}

/* An output over an input: replaced by the report made of it. */
static int overwrites(const struct opts *o, const struct named *out, const struct named *in)
{
	fprintf(stderr, "%s: %s '%s' would overwrite %s '%s'\n", opts_cmd_name(o->cmd), out->opt,
		out->path, in->opt, in->path);
	return 2;
}

int paths_check(const struct opts *o)
{
	struct paths p = { 0 };

	collect(o, &p);
	for (int i = 0; i < p.nout; i++) {
		for (int j = i + 1; j < p.nout; j++)
			if (outfile_same(p.out[i].path, p.out[j].path))
				return same_outputs(o, &p.out[i], &p.out[j]);
		/* "-" is standard output: an input "-" is a file of that name. */
		for (int j = 0; j < p.nin && strcmp(p.out[i].path, "-"); j++)
			if (outfile_same(p.out[i].path,
					 strcmp(p.in[j].path, "-") ? p.in[j].path : "./-"))
				return overwrites(o, &p.out[i], &p.in[j]);
	}
	return 0;
}
