// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>
#include <linux/capability.h>
#include <bpf/btf.h>
#include <zlib.h>

#include "probe/kernel.h"
#include "util/readfile.h"

/*
 * The first bytes of path, a regular file with some (input_open: a FIFO is
 * never read, a directory is said as such). Bytes read, or -errno with err
 * said.
 */
static ssize_t btf_head(const char *path, unsigned char *head, size_t len, char *err, size_t errlen)
{
	char why[512];
	uint64_t size;
	ssize_t n;
	int fd = -1;

	n = input_open(path, &fd, &size, why, sizeof(why));
	if (!n && size == 0) {
		snprintf(why, sizeof(why), "%s: empty", path);
		n = -ENODATA;
	} else if (!n && (n = pread(fd, head, len, 0)) < 0) {
		n = -errno;
		snprintf(why, sizeof(why), "%s: cannot read: %s", path, strerror(errno));
	}
	if (fd >= 0)
		close(fd);
	if (n < 0)
		snprintf(err, errlen, "--btf %s", why);
	return n;
}

int kernel_btf_check(const char *path, char *err, size_t errlen)
{
	unsigned char head[4] = { 0 };
	struct btf *btf;
	ssize_t n;

	n = btf_head(path, head, sizeof(head), err, errlen);
	if (n < 0)
		return (int)n;
	btf = btf__parse(path, NULL);
	if (btf) {
		btf__free(btf);
		return 0;
	}
	/* The BTF magic 0xeB9F, in either byte order. */
	if (n >= 2 &&
	    ((head[0] == 0x9f && head[1] == 0xeb) || (head[0] == 0xeb && head[1] == 0x9f)))
		snprintf(err, errlen, "--btf %s: damaged BTF: truncated or corrupted", path);
	else if (n == 4 && !memcmp(head, "\177ELF", 4))
		snprintf(err, errlen,
			 "--btf %s: an ELF file without valid BTF (no usable .BTF section)", path);
	else
		snprintf(
			err, errlen,
			"--btf %s: not BTF: neither raw BTF (as /sys/kernel/btf/vmlinux is) nor an ELF file with a .BTF section",
			path);
	return -EINVAL;
}

void kernel_release(char *buf, size_t len)
{
	struct utsname u;

	if (uname(&u) == 0)
		snprintf(buf, len, "%s", u.release);
	else
		snprintf(buf, len, "unknown");
}

static int scan_config(gzFile f, const char *name)
{
	char line[512];
	size_t n = strlen(name);

	while (gzgets(f, line, sizeof(line))) {
		if (strncmp(line, name, n) == 0 && line[n] == '=')
			return line[n + 1] == 'y';
	}
	return 0;
}

int kernel_config_enabled(const char *name)
{
	char path[128], rel[65];
	gzFile f;
	int ret;

	/* gzopen reads plain files too. */
	f = gzopen("/proc/config.gz", "rb");
	if (!f) {
		kernel_release(rel, sizeof(rel));
		snprintf(path, sizeof(path), "/boot/config-%s", rel);
		f = gzopen(path, "rb");
	}
	if (!f)
		return -1;
	ret = scan_config(f, name);
	gzclose(f);
	return ret;
}

unsigned long kernel_thread_size(void)
{
	return kernel_config_enabled("CONFIG_KASAN") == 1 ? 32768 : 16384;
}

bool kernel_may_trace(void)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2];
	unsigned long long eff;

	if (syscall(SYS_capget, &hdr, data))
		return geteuid() == 0;
	eff = (unsigned long long)data[1].effective << 32 | data[0].effective;
	/* CAP_SYS_ADMIN (21), or CAP_BPF (39) and CAP_PERFMON (38). */
	return (eff >> 21 & 1) || ((eff >> 39 & 1) && (eff >> 38 & 1));
}
