/* SPDX-License-Identifier: GPL-2.0-only */
/* Messages to the user: errors and warnings always, details with -v. */
#ifndef CONTRACE_LOG_H
#define CONTRACE_LOG_H

#include <stdarg.h>

extern int log_verbosity;

void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
