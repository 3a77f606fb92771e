/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Output files that never damage what the user had: written to a temporary
 * file beside the destination and renamed over it only once there is
 * something to put there, so a run that fails before that (a bad pid, a
 * command not found) leaves an existing file as it was. Destinations that
 * are not regular files (/dev/null, /dev/full, a FIFO, a terminal) and "-"
 * (standard output) are written directly.
 */
#ifndef CONTRACE_OUTFILE_H
#define CONTRACE_OUTFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

struct outfile {
	FILE *f; /* write here; NULL when not open */
	const char *path; /* the destination, as the user named it */
	char *tmp; /* the temporary file while not yet in place, else NULL */
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

/* Close and remove the temporary file: the destination is left as it was. */
void outfile_abort(struct outfile *o);

/*
 * Whether two output paths name the same file: the same existing file by
 * device and inode (a character device such as /dev/null is never the
 * same), or the same directory entry. "-" is the same as "-" only.
 */
bool outfile_same(const char *a, const char *b);

#endif
