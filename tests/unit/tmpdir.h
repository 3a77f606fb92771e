/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A fresh directory under /tmp for a cmocka test group, removed after it:
 * TMPDIR_FIXTURE(name) defines `dir`, setup() and teardown().
 */
#ifndef CONTRACE_TEST_TMPDIR_H
#define CONTRACE_TEST_TMPDIR_H

#include <stdio.h>
#include <stdlib.h>

#define TMPDIR_FIXTURE(name)                                           \
	static char dir[64];                                           \
                                                                       \
	static int setup(void **state)                                 \
	{                                                              \
		(void)state;                                           \
		snprintf(dir, sizeof(dir), "/tmp/ct-" name "-XXXXXX"); \
		return mkdtemp(dir) ? 0 : -1;                          \
	}                                                              \
                                                                       \
	static int teardown(void **state)                              \
	{                                                              \
		char cmd[128];                                         \
                                                                       \
		(void)state;                                           \
		snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);          \
		return system(cmd);                                    \
	}

#endif
