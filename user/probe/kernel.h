/* SPDX-License-Identifier: GPL-2.0-only */
/* Facts about the running kernel that the probes depend on. */
#ifndef CONTRACE_KERNEL_H
#define CONTRACE_KERNEL_H

#include <stdbool.h>
#include <stddef.h>

#define KERNEL_BTF_PATH "/sys/kernel/btf/vmlinux"

/*
 * Whether path is kernel BTF that libbpf can read (--btf FILE): a readable
 * regular file, not empty, raw BTF or an ELF file with a .BTF section. 0,
 * or -errno with a one-line message in err saying which it is not.
 */
int kernel_btf_check(const char *path, char *err, size_t errlen);

/* uname -r */
void kernel_release(char *buf, size_t len);

/*
 * Whether `name` is set to y in the kernel's configuration (/proc/config.gz
 * or /boot/config-RELEASE). -1 when no configuration can be read.
 */
int kernel_config_enabled(const char *name);

/* Size of a task's kernel stack (THREAD_SIZE): 16 KiB, 32 KiB with KASAN. */
unsigned long kernel_thread_size(void);

/* Whether the current process may load and attach the probes. */
bool kernel_may_trace(void);

#endif
