/* SPDX-License-Identifier: GPL-2.0-only */
/* Reading input files (a recording, a JSON report): regular files only, never past their size. */
#ifndef CONTRACE_READFILE_H
#define CONTRACE_READFILE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* What a file that is not a regular one is: "a directory", "a FIFO", ... */
const char *file_kind(mode_t mode);

/*
 * Open path for reading if it is a regular file: a FIFO would block (it is
 * opened non-blocking, so the open itself cannot), /dev/zero never ends, a
 * directory is no input. Close-on-exec. 0 with *fd and its *size now, or
 * -errno with "PATH: problem" in err.
 */
int input_open(const char *path, int *fd, uint64_t *size, char *err, size_t errlen);

/*
 * The whole of `path` (a regular file, up to its size when opened) in a
 * new buffer (*buf, freed by the caller), with a NUL after its *len bytes.
 * 0, or -errno with "PATH: problem" in err.
 */
int read_file(const char *path, char **buf, size_t *len, char *err, size_t errlen);

#endif
