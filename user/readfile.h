/* SPDX-License-Identifier: GPL-2.0-only */
/* Reading a whole input file (a recording, a JSON report) into memory. */
#ifndef CONTRACE_READFILE_H
#define CONTRACE_READFILE_H

#include <stddef.h>

/*
 * The whole of `path` in a new buffer (*buf, freed by the caller), with a
 * NUL after its *len bytes. 0, or -errno with "PATH: problem" in err.
 */
int read_file(const char *path, char **buf, size_t *len, char *err, size_t errlen);

#endif
