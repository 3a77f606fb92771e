// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>
#include <json-c/json.h>

#include "util/log.h"
#include "store/metrics.h"
#include "util/outfile.h"
#include "cli/repeat.h"

#define OPT_ARGS 32 /* at most, before the command */
#define SUMMARY_ROWS 10 /* rows per named group (locks, syscalls, threads) */

static volatile sig_atomic_t stop_signal;
static volatile pid_t child;

/* The runs stop at the first signal; the run in progress ends as a trace would. */
static void on_signal(int sig)
{
	stop_signal = sig;
	if (child > 0)
		kill(child, sig);
}

/*
 * The arguments of one run (o's options, the report as JSON to `json` and
 * no text) in av, which has room for OPT_ARGS plus the command's.
 */
static void run_argv(const struct opts *o, const char *json, char (*buf)[32], char **av)
{
	static const char *const gil_modes[] = { "auto", "uprobe", "libc", "futex" };
	int n = 0, b = 0;

	av[n++] = "contrace";
	if (o->duration > 0) {
		av[n++] = "-d";
		snprintf(buf[b], 32, "%.9g", o->duration);
		av[n++] = buf[b++];
	}
	if (o->follow)
		av[n++] = "-f";
	if (o->syscalls)
		av[n++] = "-S";
	if (o->holds)
		av[n++] = "--holds";
	for (int i = 0; i < o->verbose && i < 2; i++)
		av[n++] = "-v";
	av[n++] = "--top";
	snprintf(buf[b], 32, "%d", o->top);
	av[n++] = buf[b++];
	av[n++] = "--max-threads";
	snprintf(buf[b], 32, "%d", o->max_threads);
	av[n++] = buf[b++];
	if (o->locks_min_wait > 0) {
		av[n++] = "--locks-min-wait";
		snprintf(buf[b], 32, "%.9gs", o->locks_min_wait);
		av[n++] = buf[b++];
	}
	if (o->btf_path) {
		av[n++] = "--btf";
		av[n++] = (char *)o->btf_path;
	}
	av[n++] = "--gil";
	av[n++] = o->gil && o->gil_mode >= 0 && o->gil_mode < 4 ? (char *)gil_modes[o->gil_mode] :
								  "off";
	av[n++] = "-q";
	av[n++] = "--json";
	av[n++] = (char *)json;
	av[n++] = "--";
	for (int i = 0; i < o->cmd_argc; i++)
		av[n++] = o->cmd_argv[i];
	av[n] = NULL;
}

/* One traced run: its report, or NULL (said why); *status: its exit status. */
static struct json_object *run_once(const struct opts *o, int index, int *status)
{
	char path[] = "/tmp/contrace-repeat-XXXXXX", buf[8][32];
	char **av = calloc((size_t)o->cmd_argc + OPT_ARGS, sizeof(*av));
	struct json_object *report = NULL;
	sigset_t block, old;
	int fd, ws;
	pid_t pid;

	*status = 2;
	if (!av) {
		log_error("--repeat: out of memory");
		return NULL;
	}
	fd = mkstemp(path);
	if (fd < 0) {
		log_error("--repeat: cannot create a temporary file: %s", strerror(errno));
		free(av);
		return NULL;
	}
	close(fd);
	run_argv(o, path, buf, av);
	/* A signal from here to `child` being set would start a run it cannot stop. */
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGHUP);
	sigprocmask(SIG_BLOCK, &block, &old);
	if (stop_signal) {
		sigprocmask(SIG_SETMASK, &old, NULL);
		*status = 128 + stop_signal;
		goto out;
	}
	pid = fork();
	if (pid < 0) {
		sigprocmask(SIG_SETMASK, &old, NULL);
		log_error("--repeat: cannot fork: %s", strerror(errno));
		goto out;
	}
	if (pid == 0) {
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGHUP, SIG_DFL);
		sigprocmask(SIG_SETMASK, &old, NULL);
		execv("/proc/self/exe", av);
		fprintf(stderr, "contrace: --repeat: cannot run myself again: %s\n",
			strerror(errno));
		_exit(2);
	}
	child = pid;
	sigprocmask(SIG_SETMASK, &old, NULL);
	while (waitpid(pid, &ws, 0) < 0)
		if (errno != EINTR) {
			ws = 2 << 8;
			break;
		}
	child = 0;
	*status = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
	/* A run cut short by the signal is no sample of the command. */
	if (stop_signal)
		goto out;
	report = json_object_from_file(path);
	if (report && !json_object_is_type(report, json_type_object)) {
		json_object_put(report);
		report = NULL;
	}
	if (!report)
		log_error("--repeat: run %d ended with status %d and no report", index, *status);
out:
	unlink(path);
	free(av);
	return report;
}

static void print_summary(FILE *f, const struct opts *o, struct json_object *runs)
{
	struct metrics m = { 0 };
	char a[32], b[32], c[32], err[384];
	int group = -1, in_group = 0;

	if (metrics_add_runs(&m, 0, runs, err, sizeof(err))) {
		log_error("--repeat: cannot summarise the runs: %s", err);
		metrics_free(&m);
		return;
	}
	metrics_sort(&m);
	fprintf(f, "contrace --repeat: %zu runs of", json_object_array_length(runs));
	for (int i = 0; i < o->cmd_argc; i++)
		fprintf(f, " %s", o->cmd_argv[i]);
	fprintf(f, "\n\n  %-44s %10s %10s %10s %8s\n", "METRIC", "MEDIAN", "MIN", "MAX", "SPREAD");
	for (size_t i = 0; i < m.n; i++) {
		const struct metric *e = &m.v[i];

		if (e->group != group) {
			group = e->group;
			in_group = 0;
		}
		if (e->hi[0] == 0 || (e->group >= 3 && ++in_group > SUMMARY_ROWS))
			continue;
		fprintf(f, "  %-44s %10s %10s %10s", e->name,
			metrics_value(a, sizeof(a), e->unit, e->v[0]),
			metrics_value(b, sizeof(b), e->unit, e->lo[0]),
			metrics_value(c, sizeof(c), e->unit, e->hi[0]));
		if (e->v[0] != 0)
			fprintf(f, " %7.1f%%\n", 100 * (e->hi[0] - e->lo[0]) / e->v[0]);
		else
			fprintf(f, " %8s\n", "-");
	}
	fprintf(f,
		"\n  SPREAD is (max - min) / median: changes within it are noise to contrace diff.\n");
	metrics_free(&m);
}

static void json_error(const struct opts *o, int e)
{
	if (strcmp(o->json_path, "-"))
		log_error("cannot write JSON to '%s': %s", o->json_path, strerror(e));
	else
		log_error("cannot write the JSON report to standard output: %s", strerror(e));
}

/* The document, put in place at o->json_path: 0, or -1 (said why: exit 1). */
static int write_json(const struct opts *o, struct outfile *out, struct json_object *doc)
{
	char err[512];
	int ret;

	errno = 0;
	if (fprintf(out->f, "%s\n", json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PLAIN)) <
	    0) {
		json_error(o, errno ? errno : EIO);
		outfile_abort(out);
		return -1;
	}
	ret = outfile_close(out, err, sizeof(err));
	if (ret) {
		json_error(o, -ret);
		return -1;
	}
	return 0;
}

/*
 * The summary table on standard error, where a trace's report goes (the
 * command's standard output is its own): 0, or -1 (a write error, said: exit 1).
 */
static int write_summary(const struct opts *o, struct json_object *runs)
{
	errno = 0;
	print_summary(stderr, o, runs);
	if (fflush(stderr) || ferror(stderr)) {
		log_error("cannot write the summary to standard error: %s",
			  strerror(errno ? errno : EIO));
		return -1;
	}
	return 0;
}

int repeat_main(const struct opts *o)
{
	struct json_object *doc, *runs;
	struct sigaction sa = { .sa_handler = on_signal };
	struct outfile out = { 0 };
	int code = 0, status, done = 0;
	char err[512];

	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	/* A path that cannot be written fails now, not after the runs. */
	if (o->json_path) {
		int ret = outfile_open(&out, o->json_path, err, sizeof(err));

		if (ret) {
			json_error(o, -ret);
			return 1;
		}
	}
	doc = json_object_new_object();
	runs = json_object_new_array();
	for (int i = 1; i <= o->repeat && !stop_signal; i++) {
		struct json_object *r = run_once(o, i, &status);

		if (!r && stop_signal)
			break;
		if (!r) {
			code = status ? status : 1;
			break;
		}
		json_object_array_add(runs, r);
		done++;
		if (status && !code)
			code = status;
	}
	if (stop_signal && !done) {
		log_error("--repeat: stopped by a signal before a run was complete");
		code = 1;
	} else if (stop_signal && done < o->repeat)
		log_warn(
			"--repeat: stopped by a signal after %d of %d runs (the run cut short is left out)",
			done, o->repeat);
	if (done) {
		json_object_object_add(doc, "schema_version", json_object_new_int(1));
		json_object_object_add(doc, "kind", json_object_new_string("repeat"));
		json_object_object_add(doc, "repeat", json_object_new_int(done));
		json_object_object_add(doc, "runs", json_object_get(runs));
		if (!o->quiet && !(o->json_path && !strcmp(o->json_path, "-")) &&
		    write_summary(o, runs) && !code)
			code = 1;
		if (o->json_path && write_json(o, &out, doc) && !code)
			code = 1;
	} else {
		outfile_abort(&out); /* no run: an existing file stays as it was */
	}
	json_object_put(runs);
	json_object_put(doc);
	return code;
}
