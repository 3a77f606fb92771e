/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The files a traced process maps, opened as the kernel mapped them. The
 * paths in /proc/PID/maps are the target's: in its own mount namespace or
 * root, one may lead by now to a FIFO (whose open blocks for as long as the
 * target likes), to a device (whose open has side effects), to another file,
 * or through an absolute symlink to a file of the host's that the target
 * chose. Every open of such a file goes through tfile_open(), and a uprobe
 * is placed on the file it opened (tfile.probe_path), never on a path.
 */
#ifndef CONTRACE_TFILE_H
#define CONTRACE_TFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "util/procfs.h"

struct tfile {
	int fd; /* read-only, non-blocking: the regular file mapped */
	struct stat st;
	bool map_files; /* reached through /proc/PID/map_files, not its path */
	/* Why the path was not used though it exists: "leads to a FIFO" ("": it was used) */
	char path_problem[96];
	/* "/proc/self/fd/N": the kernel resolves it to this very file (a uprobe's path) */
	char probe_path[32];
};

/*
 * Open the file of mapping m of process pid: its path resolved inside the
 * process's root (openat2 with RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS, as
 * O_PATH: no open of a FIFO or a device), accepted if it is a regular file
 * with the mapping's device and inode; else (a deleted, replaced or
 * mismatching path) /proc/PID/map_files/START-END, the mapped file itself.
 * 0, or -errno with a one-line message in err saying both reasons.
 */
int tfile_open(struct tfile *f, int pid, const struct proc_map *m, char *err, size_t errlen);

/* If the path of f leads elsewhere than to the file mapped, say so (who: "--holds"). */
void tfile_warn(const struct tfile *f, const char *who, int pid, const char *path);

void tfile_close(struct tfile *f);

/* Whether st is the file mapping m maps (its device and inode). */
bool tfile_is_mapped(const struct stat *st, const struct proc_map *m);

/*
 * An O_PATH descriptor of process pid's root directory (through a live
 * thread if its main thread has exited), for tfile_stat_at(); or -errno.
 */
int tfile_root(int pid);

/*
 * stat() of a path of the process whose root is open at rootfd, resolved
 * inside that root as tfile_open() does; nothing is opened for reading.
 * 0, or -errno.
 */
int tfile_stat_at(int rootfd, const char *path, struct stat *st);

/* Where a stripped file's names are: what its ELF says to look for. */
struct tfile_debug {
	const char *path; /* the file's path, as the process sees it */
	const char *build_id; /* hex, or "" */
	const char *link; /* its .gnu_debuglink name, or NULL */
	uint32_t crc; /* and the CRC32 of the file it names */
};

/*
 * Open the separate debug file of a stripped file inside the process's root
 * (rootfd), as gdb looks for it: /usr/lib/debug/.build-id/xx/rest.debug by
 * its build-id, then its .gnu_debuglink name next to the file, in .debug/
 * beside it, and under /usr/lib/debug/ with the file's directory (that one
 * checked by its CRC32). Each path resolved as tfile_stat_at() does, and
 * opened only if it is a regular file. The fd (its path in found), or -errno;
 * `want` gets the build-id path (or the first debuglink one), to name in the
 * report when none is there.
 */
int tfile_debug_open(int rootfd, const struct tfile_debug *d, char *found, size_t foundlen,
		     char *want, size_t wantlen);

#endif
