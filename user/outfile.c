// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "outfile.h"

static int fail(char *err, size_t errlen, const char *path, int e)
{
	snprintf(err, errlen, "cannot write '%s': %s", path, strerror(e));
	return -e;
}

/* A new temporary file in path's directory: "DIR/.NAME.XXXXXX", 0644 less the umask. */
static int open_tmp(struct outfile *o, char *err, size_t errlen)
{
	size_t len = strlen(o->path);
	const char *base = strrchr(o->path, '/');
	size_t dirlen = base ? (size_t)(base - o->path) + 1 : 0;
	mode_t mask;
	int fd;

	base = base ? base + 1 : o->path;
	if (!*base)
		return fail(err, errlen, o->path, EISDIR);
	o->tmp = malloc(len + 10);
	if (!o->tmp)
		return fail(err, errlen, o->path, ENOMEM);
	snprintf(o->tmp, len + 10, "%.*s.%s.XXXXXX", (int)dirlen, o->path, base);
	fd = mkostemp(o->tmp, O_CLOEXEC);
	if (fd < 0) {
		int e = errno;

		free(o->tmp);
		o->tmp = NULL;
		return fail(err, errlen, o->path, e);
	}
	/* mkostemp makes 0600: give the file the mode a plain creat() would. */
	mask = umask(0);
	umask(mask);
	fchmod(fd, 0644 & ~mask);
	o->f = fdopen(fd, "w");
	if (!o->f) {
		int e = errno;

		close(fd);
		unlink(o->tmp);
		free(o->tmp);
		o->tmp = NULL;
		return fail(err, errlen, o->path, e);
	}
	return 0;
}

int outfile_open(struct outfile *o, const char *path, char *err, size_t errlen)
{
	struct stat st;

	memset(o, 0, sizeof(*o));
	o->path = path;
	if (!strcmp(path, "-")) {
		o->f = stdout;
		o->is_stdout = true;
		return 0;
	}
	if (!stat(path, &st) && S_ISDIR(st.st_mode))
		return fail(err, errlen, path, EISDIR);
	if (!stat(path, &st) && !S_ISREG(st.st_mode)) {
		/* A device or a FIFO: written as it is (O_NONBLOCK: a FIFO without a reader fails). */
		int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);

		if (fd < 0)
			return fail(err, errlen, path, errno);
		fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
		o->f = fdopen(fd, "w");
		if (!o->f) {
			close(fd);
			return fail(err, errlen, path, errno);
		}
		return 0;
	}
	return open_tmp(o, err, errlen);
}

int outfile_publish(struct outfile *o, char *err, size_t errlen)
{
	if (!o->tmp)
		return 0;
	if (rename(o->tmp, o->path))
		return fail(err, errlen, o->path, errno);
	free(o->tmp);
	o->tmp = NULL;
	return 0;
}

int outfile_close(struct outfile *o, char *err, size_t errlen)
{
	int e = 0;

	if (!o->f)
		return 0;
	if (fflush(o->f) || ferror(o->f))
		e = errno ? errno : EIO;
	if (o->is_stdout) {
		o->f = NULL;
		return e ? fail(err, errlen, "standard output", e) : 0;
	}
	if (fclose(o->f) && !e)
		e = errno ? errno : EIO;
	o->f = NULL;
	if (e) {
		if (o->tmp) {
			unlink(o->tmp);
			free(o->tmp);
			o->tmp = NULL;
		}
		return fail(err, errlen, o->path, e);
	}
	return outfile_publish(o, err, errlen);
}

void outfile_abort(struct outfile *o)
{
	if (o->f && !o->is_stdout)
		fclose(o->f);
	o->f = NULL;
	if (o->tmp) {
		unlink(o->tmp);
		free(o->tmp);
		o->tmp = NULL;
	}
}

/* The canonical path of a file that may not exist yet: its directory's, plus its name. */
static bool canonical(const char *path, char *out, size_t len)
{
	char dir[PATH_MAX], name[PATH_MAX], real[PATH_MAX];

	if (realpath(path, out))
		return true;
	snprintf(dir, sizeof(dir), "%s", path);
	snprintf(name, sizeof(name), "%s", path);
	if (!realpath(dirname(dir), real))
		return false;
	return snprintf(out, len, "%s/%s", real, basename(name)) < (int)len;
}

bool outfile_same(const char *a, const char *b)
{
	char ca[PATH_MAX], cb[PATH_MAX];
	struct stat sa, sb;

	if (!strcmp(a, "-") || !strcmp(b, "-"))
		return !strcmp(a, b);
	if (!stat(a, &sa) && !stat(b, &sb)) {
		/* Two reports to /dev/null, or to a terminal, harm nothing. */
		if (S_ISCHR(sa.st_mode))
			return false;
		return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
	}
	return canonical(a, ca, sizeof(ca)) && canonical(b, cb, sizeof(cb)) && !strcmp(ca, cb);
}
