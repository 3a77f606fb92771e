// SPDX-License-Identifier: GPL-2.0-only
/*
 * Opening the files a process maps (user/probe/tfile.c), on this test's own
 * mappings: its C library by its path; and when a maps line's path leads to
 * a FIFO, a device, another file, a procfs magic link or nowhere, the mapped
 * file through /proc/self/map_files, or a one-line error, never a blocked
 * open.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/procfs.h"
#include "probe/tfile.h"

/* A mapping of this process's C library (its path copied into path). */
struct libc_map {
	struct proc_map m;
	char path[PATH_MAX];
};

static int find_libc(struct proc_map *m, void *ctx)
{
	struct libc_map *l = ctx;

	if (!m->path || !strstr(m->path, "/libc.so"))
		return 0;
	l->m = *m;
	snprintf(l->path, sizeof(l->path), "%s", m->path);
	l->m.path = l->path;
	return 1;
}

static void my_libc(struct libc_map *l)
{
	memset(l, 0, sizeof(*l));
	assert_int_equal(proc_maps_each(getpid(), find_libc, l), 1);
}

static bool map_files_usable(const struct proc_map *m)
{
	char path[128];
	int fd;

	snprintf(path, sizeof(path), "/proc/self/map_files/%lx-%lx", (unsigned long)m->start,
		 (unsigned long)m->end);
	fd = open(path, O_PATH | O_CLOEXEC);
	if (fd >= 0)
		close(fd);
	return fd >= 0;
}

/* The opened file is the C library mapped: its device and inode, and its ELF magic. */
static void assert_is_libc(const struct tfile *f, const struct proc_map *m)
{
	char magic[4];

	assert_true(f->fd >= 0);
	assert_true(tfile_is_mapped(&f->st, m));
	assert_int_equal(pread(f->fd, magic, 4, 0), 4);
	assert_memory_equal(magic, "\177ELF", 4);
	assert_true(fcntl(f->fd, F_GETFD) & FD_CLOEXEC);
	assert_int_equal(fcntl(f->fd, F_GETFL) & O_ACCMODE, O_RDONLY);
}

static void test_by_path(void **state)
{
	struct libc_map l;
	char link[64];
	struct tfile f;
	char err[512] = "";
	struct stat st;
	ssize_t n;
	int root;

	(void)state;
	my_libc(&l);
	assert_int_equal(tfile_open(&f, getpid(), &l.m, err, sizeof(err)), 0);
	assert_is_libc(&f, &l.m);
	assert_false(f.map_files);
	assert_string_equal(f.path_problem, "");
	/* The path a uprobe is given leads the kernel to this very file. */
	assert_int_equal(stat(f.probe_path, &st), 0);
	assert_true(st.st_ino == f.st.st_ino && st.st_dev == f.st.st_dev);
	n = readlink(f.probe_path, link, sizeof(link) - 1);
	assert_true(n > 0);
	tfile_close(&f);
	assert_int_equal(f.fd, -1);
	root = tfile_root(getpid());
	assert_true(root >= 0);
	assert_int_equal(tfile_stat_at(root, l.path, &st), 0);
	assert_true(tfile_is_mapped(&st, &l.m));
	assert_int_equal(tfile_stat_at(root, "/nonexistent", &st), -ENOENT);
	close(root);
}

/*
 * A path that leads elsewhere than the mapped file: the mapped file through
 * map_files, with the reason kept; and without map_files, a one-line error
 * giving both reasons.
 */
static void expect_elsewhere(struct proc_map *m, const char *problem)
{
	struct tfile f;
	char err[512] = "";
	int ret;

	ret = tfile_open(&f, getpid(), m, err, sizeof(err));
	if (!map_files_usable(m)) {
		assert_true(ret < 0);
		assert_non_null(strstr(err, problem));
		assert_non_null(strstr(err, "map_files"));
		assert_null(strchr(err, '\n'));
		return;
	}
	if (ret)
		fail_msg("%s", err);
	assert_is_libc(&f, m);
	assert_true(f.map_files);
	if (!strstr(f.path_problem, problem))
		fail_msg("'%s' does not say '%s'", f.path_problem, problem);
	tfile_close(&f);
}

static void test_path_leads_elsewhere(void **state)
{
	char dir[] = "/tmp/ct-tfile-XXXXXX", fifo[PATH_MAX], other[PATH_MAX], magic[PATH_MAX + 32];
	struct libc_map l;
	int fd;

	(void)state;
	assert_non_null(mkdtemp(dir));
	my_libc(&l);
	/* A FIFO: an open for reading would wait for a writer forever. */
	snprintf(fifo, sizeof(fifo), "%s/libc.so.6", dir);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	l.m.path = fifo;
	expect_elsewhere(&l.m, "leads to a FIFO");
	/* A device: its open would run its driver. */
	l.m.path = "/dev/null";
	expect_elsewhere(&l.m, "leads to a character device");
	l.m.path = "/";
	expect_elsewhere(&l.m, "leads to a directory");
	/* Another regular file. */
	snprintf(other, sizeof(other), "%s/other.so", dir);
	fd = open(other, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	close(fd);
	l.m.path = other;
	expect_elsewhere(&l.m, "leads to another file");
	/* A procfs magic link (the process's root, from inside it). */
	snprintf(magic, sizeof(magic), "/proc/%d/root%s", getpid(), l.path);
	l.m.path = magic;
	expect_elsewhere(&l.m, "magic link");
	unlink(fifo);
	unlink(other);
	rmdir(dir);
}

/* Deleted, or gone: the mapped file through map_files, nothing said about the path. */
static void test_deleted_and_missing(void **state)
{
	struct libc_map l;
	struct tfile f;
	char err[512] = "";

	(void)state;
	my_libc(&l);
	if (!map_files_usable(&l.m))
		skip();
	l.m.deleted = true;
	assert_int_equal(tfile_open(&f, getpid(), &l.m, err, sizeof(err)), 0);
	assert_true(f.map_files);
	assert_string_equal(f.path_problem, "");
	tfile_close(&f);
	l.m.deleted = false;
	l.m.path = "/nonexistent/libc.so.6";
	assert_int_equal(tfile_open(&f, getpid(), &l.m, err, sizeof(err)), 0);
	assert_true(f.map_files);
	assert_string_equal(f.path_problem, "");
	assert_is_libc(&f, &l.m);
	tfile_close(&f);
}

/*
 * No such mapping: an error in one line. A process gone: its file found by
 * path from contrace's root, only if it is the very file (device, inode).
 */
static void test_errors(void **state)
{
	struct libc_map l;
	struct tfile f;
	char err[512] = "";

	(void)state;
	my_libc(&l);
	l.m.path = "/nonexistent/libc.so.6";
	l.m.start = 0x1000;
	l.m.end = 0x2000;
	assert_true(tfile_open(&f, getpid(), &l.m, err, sizeof(err)) < 0);
	assert_int_equal(f.fd, -1);
	assert_non_null(strstr(err, "cannot open /nonexistent/libc.so.6 of pid"));
	assert_non_null(strstr(err, "No such file or directory"));
	assert_null(strchr(err, '\n'));
	my_libc(&l);
	assert_int_equal(tfile_root(INT_MAX), -ENOENT);
	assert_int_equal(tfile_open(&f, INT_MAX, &l.m, err, sizeof(err)), 0);
	assert_is_libc(&f, &l.m);
	tfile_close(&f);
	l.m.inode++;
	assert_true(tfile_open(&f, INT_MAX, &l.m, err, sizeof(err)) < 0);
	assert_int_equal(f.fd, -1);
	assert_null(strchr(err, '\n'));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_by_path),
		cmocka_unit_test(test_path_leads_elsewhere),
		cmocka_unit_test(test_deleted_and_missing),
		cmocka_unit_test(test_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
