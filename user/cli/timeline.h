/* SPDX-License-Identifier: GPL-2.0-only */
/* --perfetto: a recording's timeline written as a Perfetto trace. */
#ifndef CONTRACE_TIMELINE_H
#define CONTRACE_TIMELINE_H

/*
 * Write the timeline of the recording rec_path (made with --timeline) to
 * out_path. 0; 1 (a write error) or 2 (no timeline, a bad recording), said.
 */
int timeline_perfetto(const char *rec_path, const char *out_path);

#endif
