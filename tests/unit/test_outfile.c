// SPDX-License-Identifier: GPL-2.0-only
/* Output files: an existing file survives a failed run; write errors fail. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "util/outfile.h"

#include "tmpdir.h"

TMPDIR_FIXTURE("outfile")

static void put(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void expect(const char *path, const char *text)
{
	char buf[256] = "";
	FILE *f = fopen(path, "r");
	size_t n;

	assert_non_null(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = 0;
	fclose(f);
	assert_string_equal(buf, text);
}

/* Temporary files left behind in the directory (".NAME.XXXXXX"). */
static int leftovers(void)
{
	char cmd[128];
	int n = -1;
	FILE *p;

	snprintf(cmd, sizeof(cmd), "ls -A %s | grep -c '^\\.'", dir);
	p = popen(cmd, "r");
	assert_non_null(p);
	assert_int_equal(fscanf(p, "%d", &n), 1);
	pclose(p);
	return n;
}

static void abort_keeps_old_file(void **state)
{
	char path[128], err[256];
	struct outfile o;

	(void)state;
	snprintf(path, sizeof(path), "%s/keep.json", dir);
	put(path, "old");
	assert_int_equal(outfile_open(&o, path, err, sizeof(err)), 0);
	fputs("new, half written", o.f);
	outfile_abort(&o);
	expect(path, "old");
	assert_int_equal(leftovers(), 0);
}

static void close_replaces(void **state)
{
	char path[128], err[256];
	struct outfile o;
	struct stat st;

	(void)state;
	snprintf(path, sizeof(path), "%s/out.json", dir);
	put(path, "old");
	assert_int_equal(outfile_open(&o, path, err, sizeof(err)), 0);
	fputs("new", o.f);
	expect(path, "old"); /* not in place before the close */
	assert_int_equal(outfile_close(&o, err, sizeof(err)), 0);
	expect(path, "new");
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0644 & ~022);
	assert_int_equal(leftovers(), 0);
}

static void publish_early(void **state)
{
	char path[128], err[256];
	struct outfile o;

	(void)state;
	snprintf(path, sizeof(path), "%s/rec.ctr", dir);
	assert_int_equal(outfile_open(&o, path, err, sizeof(err)), 0);
	fputs("head", o.f);
	fflush(o.f);
	assert_int_equal(outfile_publish(&o, err, sizeof(err)), 0);
	expect(path, "head");
	fputs("+tail", o.f);
	assert_int_equal(outfile_close(&o, err, sizeof(err)), 0);
	expect(path, "head+tail");
}

/* A run killed before its output is in place leaves the old file and no stray file. */
static void killed_leaves_nothing(void **state)
{
	char path[128], err[256];
	struct outfile o;
	int status;
	pid_t pid;

	(void)state;
	snprintf(path, sizeof(path), "%s/killed.json", dir);
	put(path, "old");
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (outfile_open(&o, path, err, sizeof(err)))
			_exit(1);
		fputs("new, half written", o.f);
		fflush(o.f);
		_exit(0); /* no close: as SIGKILL would leave it */
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_int_equal(status, 0);
	expect(path, "old");
	assert_int_equal(leftovers(), 0);
}

/* The file put in place keeps the old one's mode; a symbolic link is written through. */
static void mode_and_symlink_kept(void **state)
{
	char path[128], link[128], err[256];
	struct outfile o;
	struct stat st;

	(void)state;
	snprintf(path, sizeof(path), "%s/private.json", dir);
	snprintf(link, sizeof(link), "%s/link.json", dir);
	put(path, "old");
	assert_int_equal(chmod(path, 0600), 0);
	assert_int_equal(symlink("private.json", link), 0);
	assert_int_equal(outfile_open(&o, link, err, sizeof(err)), 0);
	fputs("new", o.f);
	assert_int_equal(outfile_close(&o, err, sizeof(err)), 0);
	assert_int_equal(lstat(link, &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	expect(path, "new");
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(leftovers(), 0);
}

/* /dev/stdout names the file the shell redirected to: written there, not replaced. */
static void dev_paths_written_directly(void **state)
{
	char path[128], err[256];
	struct outfile o;
	struct stat before, after;
	FILE *f;

	(void)state;
	snprintf(path, sizeof(path), "%s/redirected", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fstat(fileno(f), &before), 0);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fileno(f));
	assert_int_equal(outfile_open(&o, path, err, sizeof(err)), 0);
	fputs("through", o.f);
	assert_int_equal(outfile_close(&o, err, sizeof(err)), 0);
	assert_int_equal(fstat(fileno(f), &after), 0);
	fclose(f);
	assert_int_equal(before.st_ino, after.st_ino);
	assert_int_equal(after.st_size, 7);
}

static void write_error_fails(void **state)
{
	char err[256];
	struct outfile o;

	(void)state;
	assert_int_equal(outfile_open(&o, "/dev/full", err, sizeof(err)), 0);
	fputs("x", o.f);
	assert_int_equal(outfile_close(&o, err, sizeof(err)), -ENOSPC);
	assert_non_null(strstr(err, "/dev/full"));
}

static void bad_destinations(void **state)
{
	char path[128], err[256];
	struct outfile o;

	(void)state;
	assert_int_equal(outfile_open(&o, dir, err, sizeof(err)), -EISDIR);
	snprintf(path, sizeof(path), "%s/no/such/dir/x.json", dir);
	assert_int_equal(outfile_open(&o, path, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, path));
}

static void same_paths(void **state)
{
	char a[128], b[128], c[128];

	(void)state;
	snprintf(a, sizeof(a), "%s/x", dir);
	snprintf(b, sizeof(b), "%s/./x", dir);
	snprintf(c, sizeof(c), "%s/y", dir);
	assert_true(outfile_same(a, b)); /* neither exists yet */
	assert_false(outfile_same(a, c));
	put(a, "x");
	assert_int_equal(link(a, c), 0);
	assert_true(outfile_same(a, c)); /* hard links: one file */
	assert_true(outfile_same("-", "-"));
	assert_false(outfile_same("-", a));
	assert_false(outfile_same("/dev/null", "/dev/null"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(abort_keeps_old_file),
		cmocka_unit_test(close_replaces),
		cmocka_unit_test(publish_early),
		cmocka_unit_test(write_error_fails),
		cmocka_unit_test(bad_destinations),
		cmocka_unit_test(same_paths),
		cmocka_unit_test(killed_leaves_nothing),
		cmocka_unit_test(mode_and_symlink_kept),
		cmocka_unit_test(dev_paths_written_directly),
	};

	umask(022);
	return cmocka_run_group_tests(tests, setup, teardown);
}
