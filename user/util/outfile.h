/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Output files that never damage what the user had: written to a file with
 * no name yet (O_TMPFILE; where the file system has none, a hidden
 * temporary file) in the destination's directory, and put in place by a
 * rename only once there is something to put there. A run that fails or is
 * stopped before that (a bad pid, a command not found, Ctrl-C during the
 * start) leaves an existing file as it was, and a run killed by SIGKILL
 * leaves no stray file behind. The file put in place keeps the mode and
 * owner of the one it replaces; a symbolic link is written through, not
 * replaced. Destinations that are not regular files (/dev/null, /dev/full,
 * a FIFO, a terminal), paths under /dev/ and /proc/ (/dev/stdout names
 * what the shell redirected), and "-" (standard output) are written
 * directly.
 */
#ifndef CONTRACE_OUTFILE_H
#define CONTRACE_OUTFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

struct outfile {
	FILE *f; /* write here; NULL when not open */
	const char *path; /* the destination, as the user named it (for messages) */
	char *dest; /* the file to replace: path, or the file a symbolic link names */
	char *tmp; /* the hidden temporary file, without O_TMPFILE */
	bool unnamed; /* an O_TMPFILE file not yet in place */
	bool is_stdout;
};

/*
 * Open for writing to path ("-": standard output). Close-on-exec: a
 * launched command does not inherit it. 0, or -errno with a message.
 */
int outfile_open(struct outfile *o, const char *path, char *err, size_t errlen);

/*
 * Put the file in place now, and go on writing to it: a recording is
 * readable at its path while the trace goes (and after contrace is killed).
 * 0, or -errno with a message.
 */
int outfile_publish(struct outfile *o, char *err, size_t errlen);

/*
 * Flush and close; put the file in place if it is not yet. A write error
 * (a full disk, /dev/full) fails: -errno with a message, and the
 * destination is left as it was if it was not published yet.
 */
int outfile_close(struct outfile *o, char *err, size_t errlen);

/* Close, and forget what was written: the destination is left as it was if not published. */
void outfile_abort(struct outfile *o);

/*
 * Whether two output paths name the same file: the same existing file by
 * device and inode (a character device such as /dev/null is never the
 * same), or the same directory entry. "-" is the same as "-" only.
 */
bool outfile_same(const char *a, const char *b);

#endif
