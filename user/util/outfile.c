// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/outfile.h"

/* Tries at a free name for the hidden link made when the file is put in place. */
#define LINK_TRIES 100

static int fail(char *err, size_t errlen, const char *path, int e)
{
	snprintf(err, errlen, "cannot write '%s': %s", path, strerror(e));
	return -e;
}

/* Written as it is: "-", a device, a FIFO, or a name the kernel gives (/dev/stdout). */
static bool written_directly(const char *path)
{
	struct stat st;

	if (!strncmp(path, "/dev/", 5) || !strncmp(path, "/proc/", 6))
		return true;
	return !stat(path, &st) && !S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode);
}

static int open_direct(struct outfile *o, char *err, size_t errlen)
{
	/* O_NONBLOCK: a FIFO without a reader fails instead of blocking the trace. */
	int fd = open(o->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOCTTY | O_NONBLOCK,
		      0666);

	if (fd < 0)
		return fail(err, errlen, o->path, errno);
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	o->f = fdopen(fd, "w");
	if (!o->f) {
		int e = errno;

		close(fd);
		return fail(err, errlen, o->path, e);
	}
	return 0;
}

/* The new file gets the mode and owner of the one it replaces (best effort: not root). */
static void keep_owner(int fd, const char *dest)
{
	struct stat st;

	if (stat(dest, &st) || !S_ISREG(st.st_mode))
		return;
	if (fchown(fd, st.st_uid, st.st_gid)) {
		/* Not the owner and not root: the file becomes the writer's. */
	}
	fchmod(fd, st.st_mode & 07777);
}

/* A file with no name in dir: it vanishes if contrace dies before it is put in place. */
static int open_unnamed(const char *dir)
{
	return open(dir, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0666);
}

/* Without O_TMPFILE (some file systems): "DIR/.NAME.XXXXXX", with the mode creat() gives. */
static int open_named(struct outfile *o, size_t dirlen, const char *base)
{
	size_t len = strlen(o->dest) + 10;
	mode_t mask;
	int fd;

	o->tmp = malloc(len);
	if (!o->tmp)
		return -1;
	snprintf(o->tmp, len, "%.*s.%s.XXXXXX", (int)dirlen, o->dest, base);
	fd = mkostemp(o->tmp, O_CLOEXEC);
	if (fd < 0) {
		free(o->tmp);
		o->tmp = NULL;
		return -1;
	}
	mask = umask(0);
	umask(mask);
	fchmod(fd, 0666 & ~mask);
	return fd;
}

/* The destination: the file a symbolic link names, so that the link stays. */
static int set_dest(struct outfile *o)
{
	char real[PATH_MAX];
	struct stat st;

	if (!lstat(o->path, &st) && S_ISLNK(st.st_mode) && realpath(o->path, real))
		o->dest = strdup(real);
	else
		o->dest = strdup(o->path);
	return o->dest ? 0 : -ENOMEM;
}

static int open_pending(struct outfile *o, char *err, size_t errlen)
{
	const char *slash = strrchr(o->dest, '/'), *base = slash ? slash + 1 : o->dest;
	size_t dirlen = slash ? (size_t)(slash - o->dest) + 1 : 0;
	char dir[PATH_MAX];
	int fd;

	if (!*base)
		return fail(err, errlen, o->path, EISDIR);
	snprintf(dir, sizeof(dir), "%.*s", dirlen ? (int)dirlen : 1, dirlen ? o->dest : ".");
	fd = open_unnamed(dir);
	o->unnamed = fd >= 0;
	if (fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL))
		fd = open_named(o, dirlen, base);
	if (fd < 0)
		return fail(err, errlen, o->path, errno);
	keep_owner(fd, o->dest);
	o->f = fdopen(fd, "w");
	if (!o->f) {
		int e = errno;

		close(fd);
		outfile_abort(o);
		return fail(err, errlen, o->path, e);
	}
	return 0;
}

int outfile_open(struct outfile *o, const char *path, char *err, size_t errlen)
{
	struct stat st;
	int ret;

	memset(o, 0, sizeof(*o));
	o->path = path;
	if (!strcmp(path, "-")) {
		o->f = stdout;
		o->is_stdout = true;
		return 0;
	}
	if (!stat(path, &st) && S_ISDIR(st.st_mode))
		return fail(err, errlen, path, EISDIR);
	if (written_directly(path))
		return open_direct(o, err, errlen);
	ret = set_dest(o);
	if (ret)
		return fail(err, errlen, path, -ret);
	ret = open_pending(o, err, errlen);
	if (ret) {
		free(o->dest);
		o->dest = NULL;
	}
	return ret;
}

/* A name for the unnamed file beside the destination ("DIR/.NAME.PID.N"), into *name. */
static int link_unnamed(struct outfile *o, char **name)
{
	size_t len = strlen(o->dest) + 40;
	char proc[64];
	int e = 0;

	*name = malloc(len);
	if (!*name)
		return ENOMEM;
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fileno(o->f));
	for (int i = 0; i < LINK_TRIES; i++) {
		const char *slash = strrchr(o->dest, '/');
		int dirlen = slash ? (int)(slash - o->dest) + 1 : 0;

		snprintf(*name, len, "%.*s.%s.%d.%d", dirlen, o->dest, o->dest + dirlen,
			 (int)getpid(), i);
		if (!linkat(AT_FDCWD, proc, AT_FDCWD, *name, AT_SYMLINK_FOLLOW))
			return 0;
		e = errno;
		/* Without /proc: by the descriptor itself (needs CAP_DAC_READ_SEARCH). */
		if (e == ENOENT && !linkat(fileno(o->f), "", AT_FDCWD, *name, AT_EMPTY_PATH))
			return 0;
		if (e != EEXIST)
			break;
	}
	free(*name);
	*name = NULL;
	return e;
}

int outfile_publish(struct outfile *o, char *err, size_t errlen)
{
	int e;

	if (o->unnamed) {
		e = link_unnamed(o, &o->tmp);
		if (e)
			return fail(err, errlen, o->path, e);
		o->unnamed = false;
	}
	if (!o->tmp)
		return 0;
	if (rename(o->tmp, o->dest)) {
		e = errno;
		unlink(o->tmp);
		free(o->tmp);
		o->tmp = NULL;
		return fail(err, errlen, o->path, e);
	}
	free(o->tmp);
	o->tmp = NULL;
	return 0;
}

int outfile_close(struct outfile *o, char *err, size_t errlen)
{
	int e = 0, ret;

	if (!o->f)
		return 0;
	errno = 0;
	if (fflush(o->f) || ferror(o->f))
		e = errno ? errno : EIO;
	if (o->is_stdout) {
		o->f = NULL;
		return e ? fail(err, errlen, "standard output", e) : 0;
	}
	if (e) {
		/* Nothing damaged: what was there stays, if this was not put in place yet. */
		outfile_abort(o);
		return fail(err, errlen, o->path, e);
	}
	ret = outfile_publish(o, err, errlen);
	if (ret) {
		outfile_abort(o);
		return ret;
	}
	errno = 0;
	if (fclose(o->f))
		e = errno ? errno : EIO;
	o->f = NULL;
	free(o->dest);
	o->dest = NULL;
	return e ? fail(err, errlen, o->path, e) : 0;
}

void outfile_abort(struct outfile *o)
{
	if (o->f && !o->is_stdout)
		fclose(o->f);
	o->f = NULL;
	o->unnamed = false;
	if (o->tmp) {
		unlink(o->tmp);
		free(o->tmp);
		o->tmp = NULL;
	}
	free(o->dest);
	o->dest = NULL;
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
