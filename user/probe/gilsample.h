/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The CPU-clock samples that split a Python thread's released GIL time on
 * a CPU between syscalls and native code (bpf/gilsample.bpf.c): one
 * software perf event per CPU, every CT_GIL_SAMPLE_NS of its time, with
 * the sampling program attached.
 */
#ifndef CONTRACE_GILSAMPLE_H
#define CONTRACE_GILSAMPLE_H

#include <stddef.h>

struct bpf_program;
struct bpf_link;

struct gilsample {
	struct bpf_link **links; /* per possible CPU; NULL where none (offline) */
	int ncpus;
};

/*
 * Open the events and attach prog on every online CPU: 0, or -errno with
 * a message in err (nothing stays attached then).
 */
int gilsample_attach(struct gilsample *gs, struct bpf_program *prog, char *err, size_t errlen);

/* Stop sampling; the figures counted so far stay. Idempotent. */
void gilsample_detach(struct gilsample *gs);

struct snapshot;

/* Copy ct_native (native code's samples by address) into s. 0, or -errno. */
int gilsample_read(struct snapshot *s, int fd);

#endif
