// SPDX-License-Identifier: GPL-2.0-only
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>
#include <linux/capability.h>
#include <zlib.h>

#include "util/kernel.h"

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
