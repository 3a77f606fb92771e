// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <linux/openat2.h>

#include <zlib.h>

#include "util/log.h"
#include "util/readfile.h"
#include "probe/tfile.h"

/* glibc 2.36 has no openat2() wrapper. */
static int sys_openat2(int dirfd, const char *path, const struct open_how *how)
{
	return (int)syscall(SYS_openat2, dirfd, path, how, sizeof(*how));
}

int tfile_root(int pid)
{
	char root[32];
	int fd, tid;

	snprintf(root, sizeof(root), "/proc/%d/root", pid);
	fd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0 || errno != ENOENT)
		return fd >= 0 ? fd : -errno;
	/* A main thread that has exited has no root any more: another thread has. */
	tid = proc_live_tid(pid);
	if (tid < 0 || tid == pid)
		return -ENOENT;
	snprintf(root, sizeof(root), "/proc/%d/root", tid);
	fd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	return fd >= 0 ? fd : -errno;
}

/*
 * An O_PATH descriptor of path as the process whose root is open at rootfd
 * sees it: "/" and ".." stop at its root, absolute symlinks start there,
 * and procfs magic links (a /proc/N/root inside its root) are refused.
 * O_PATH opens nothing: no FIFO can block, no device's open runs. -errno on
 * failure.
 */
static int open_at_root(int rootfd, const char *path)
{
	struct open_how how = {
		.flags = O_PATH | O_CLOEXEC,
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};
	int fd = sys_openat2(rootfd, path, &how);

	return fd < 0 ? -errno : fd;
}

static int open_in_root(int pid, const char *path)
{
	int rootfd = tfile_root(pid), fd;

	if (rootfd < 0)
		return rootfd;
	fd = open_at_root(rootfd, path);
	close(rootfd);
	return fd;
}

int tfile_stat_at(int rootfd, const char *path, struct stat *st)
{
	int fd = open_at_root(rootfd, path), ret = 0;

	if (fd < 0)
		return fd;
	if (fstat(fd, st))
		ret = -errno;
	close(fd);
	return ret;
}

bool tfile_is_mapped(const struct stat *st, const struct proc_map *m)
{
	return st->st_ino == m->inode && major(st->st_dev) == m->dev_major &&
	       minor(st->st_dev) == m->dev_minor;
}

/*
 * Open the regular file an O_PATH descriptor names for reading (the same
 * inode: /proc/self/fd/N is no path lookup); opath is closed. O_NONBLOCK and
 * O_NOCTTY in case. The fd, or -errno.
 */
static int reopen(int opath, struct stat *st, char *why, size_t whylen)
{
	char self[32];
	int fd, err;

	if (fstat(opath, st)) {
		err = errno;
		snprintf(why, whylen, "%s", strerror(err));
		close(opath);
		return -err;
	}
	if (!S_ISREG(st->st_mode)) {
		snprintf(why, whylen, "%s", file_kind(st->st_mode));
		close(opath);
		return -EINVAL;
	}
	snprintf(self, sizeof(self), "/proc/self/fd/%d", opath);
	fd = open(self, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	err = errno;
	close(opath);
	if (fd < 0) {
		snprintf(why, whylen, "%s", strerror(err));
		return -err;
	}
	return fd;
}

/*
 * The mapping's path, if it still leads to the mapped file: fd, or -errno
 * with why said, and f->path_problem when the path leads somewhere else.
 */
static int open_path(struct tfile *f, int pid, const struct proc_map *m, char *why, size_t whylen)
{
	char *problem = f->path_problem, kind[64];
	size_t plen = sizeof(f->path_problem);
	int fd;

	if (m->deleted || !m->path || m->path[0] != '/') {
		snprintf(why, whylen, "%s", m->deleted ? "it was deleted" : "it has no file path");
		return -ENOENT;
	}
	fd = open_in_root(pid, m->path);
	if (fd == -ELOOP) { /* RESOLVE_NO_MAGICLINKS says ELOOP too */
		snprintf(problem, plen, "leads to a symlink loop or a procfs magic link");
	} else if (fd < 0) {
		snprintf(why, whylen, "its path: %s", strerror(-fd));
		return fd;
	} else {
		fd = reopen(fd, &f->st, kind, sizeof(kind));
		if (fd == -EINVAL) {
			snprintf(problem, plen, "leads to %s", kind);
		} else if (fd < 0) {
			snprintf(why, whylen, "its path: %s", kind);
			return fd;
		} else if (!tfile_is_mapped(&f->st, m)) {
			close(fd);
			fd = -ESTALE;
			snprintf(problem, plen, "leads to another file");
		}
	}
	if (problem[0])
		snprintf(why, whylen, "its path %s", problem);
	return fd;
}

/*
 * /proc/PID/map_files/START-END: the mapped file itself, whatever its path
 * has become (root, or CAP_CHECKPOINT_RESTORE, may follow it). No identity
 * check: before 6.8 an overlayfs file shows its lower inode in maps, and a
 * target that remaps the range meanwhile can only swap in a file it maps.
 */
static int open_map_files(int pid, const struct proc_map *m, struct stat *st, char *why,
			  size_t whylen)
{
	char path[80], kind[64];
	int fd, tid = proc_live_tid(pid);

	/* A thread's own /proc entry shows its process's mappings too. */
	snprintf(path, sizeof(path), "/proc/%d/map_files/%" PRIx64 "-%" PRIx64, tid < 0 ? pid : tid,
		 m->start, m->end);
	fd = open(path, O_PATH | O_CLOEXEC);
	if (fd < 0) {
		fd = -errno;
		snprintf(why, whylen, "/proc/%d/map_files: %s", pid, strerror(errno));
		return fd;
	}
	fd = reopen(fd, st, kind, sizeof(kind));
	if (fd < 0)
		snprintf(why, whylen, "/proc/%d/map_files: %s", pid, kind);
	return fd;
}

/*
 * A process gone (or a zombie: no root left) mapped this file: its path as
 * contrace's own root sees it, accepted only if it is the very file mapped
 * (its device and inode): a file elsewhere with that path is another.
 * Stacks are unwound after the waits, and a short program may be gone.
 */
static int open_gone(int pid, const struct proc_map *m, struct stat *st)
{
	char kind[64];
	int rootfd, fd;

	rootfd = tfile_root(pid);
	if (rootfd >= 0) {
		close(rootfd);
		return -EEXIST;
	}
	if (m->deleted || !m->path || m->path[0] != '/')
		return -ENOENT;
	rootfd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return -errno;
	fd = open_at_root(rootfd, m->path);
	close(rootfd);
	if (fd >= 0)
		fd = reopen(fd, st, kind, sizeof(kind));
	if (fd >= 0 && !tfile_is_mapped(st, m)) {
		close(fd);
		fd = -ESTALE;
	}
	return fd;
}

int tfile_open(struct tfile *f, int pid, const struct proc_map *m, char *err, size_t errlen)
{
	char why[160], alt[96];
	int fd;

	memset(f, 0, sizeof(*f));
	fd = open_path(f, pid, m, why, sizeof(why));
	if (fd < 0) {
		fd = open_map_files(pid, m, &f->st, alt, sizeof(alt));
		f->map_files = true;
	}
	if (fd < 0) {
		int gone = open_gone(pid, m, &f->st);

		if (gone >= 0) {
			fd = gone;
			f->map_files = false;
		}
	}
	if (fd < 0) {
		snprintf(err, errlen, "cannot open %s of pid %d: %s, and %s",
			 m->path ? m->path : "a mapping", pid, why, alt);
		f->fd = -1;
		return fd;
	}
	f->fd = fd;
	snprintf(f->probe_path, sizeof(f->probe_path), "/proc/self/fd/%d", fd);
	return 0;
}

void tfile_warn(const struct tfile *f, const char *who, int pid, const char *path)
{
	if (f->path_problem[0])
		log_warn(
			"%s: the path %s of pid %d %s, not to the file it maps: reading that file through /proc/%d/map_files",
			who, path, pid, f->path_problem, pid);
}

void tfile_close(struct tfile *f)
{
	if (f->fd >= 0)
		close(f->fd);
	f->fd = -1;
}

/* A regular file at path inside the root open at rootfd, for reading: fd, or -errno. */
static int open_regular_at(int rootfd, const char *path)
{
	char why[64];
	struct stat st;
	int fd = open_at_root(rootfd, path);

	return fd < 0 ? fd : reopen(fd, &st, why, sizeof(why));
}

/* The CRC32 .gnu_debuglink speaks of, of the file open at fd: 0, or -errno. */
static int file_crc(int fd, uint32_t *crc)
{
	unsigned char buf[65536];
	uLong c = crc32(0L, Z_NULL, 0);
	ssize_t n;

	for (off_t off = 0; (n = pread(fd, buf, sizeof(buf), off)) > 0; off += n)
		c = crc32(c, buf, (uInt)n);
	if (n < 0)
		return -errno;
	*crc = (uint32_t)c;
	return 0;
}

/* The debuglink candidates of d: next to the file, in .debug/, under /usr/lib/debug. */
static int debuglink_open(int rootfd, const struct tfile_debug *d, char *found, size_t foundlen,
			  char *want, size_t wantlen)
{
	const char *slash = strrchr(d->path, '/');
	int dirlen = slash ? (int)(slash - d->path) : 0;
	char cand[3][4096];
	uint32_t crc = 0;
	int fd;

	snprintf(cand[0], sizeof(cand[0]), "%.*s/%s", dirlen, d->path, d->link);
	snprintf(cand[1], sizeof(cand[1]), "%.*s/.debug/%s", dirlen, d->path, d->link);
	snprintf(cand[2], sizeof(cand[2]), "/usr/lib/debug%.*s/%s", dirlen, d->path, d->link);
	if (want[0] == '\0')
		snprintf(want, wantlen, "%s", cand[2]);
	for (int i = 0; i < 3; i++) {
		/* the file itself (a link naming its own name) is no debug file */
		if (!strcmp(cand[i], d->path))
			continue;
		fd = open_regular_at(rootfd, cand[i]);
		if (fd < 0)
			continue;
		if (!file_crc(fd, &crc) && crc == d->crc) {
			snprintf(found, foundlen, "%s", cand[i]);
			return fd;
		}
		close(fd);
	}
	return -ENOENT;
}

int tfile_debug_open(int rootfd, const struct tfile_debug *d, char *found, size_t foundlen,
		     char *want, size_t wantlen)
{
	char path[256];
	int fd;

	want[0] = '\0';
	if (rootfd < 0)
		return -EBADF;
	if (d->build_id && strlen(d->build_id) > 2) {
		snprintf(path, sizeof(path), "/usr/lib/debug/.build-id/%.2s/%s.debug", d->build_id,
			 d->build_id + 2);
		snprintf(want, wantlen, "%s", path);
		fd = open_regular_at(rootfd, path);
		if (fd >= 0) {
			snprintf(found, foundlen, "%s", path);
			return fd;
		}
	}
	if (d->link && d->link[0])
		return debuglink_open(rootfd, d, found, foundlen, want, wantlen);
	return -ENOENT;
}
