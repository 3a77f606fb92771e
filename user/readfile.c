// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "readfile.h"

int read_file(const char *path, char **buf, size_t *len, char *err, size_t errlen)
{
	FILE *f = fopen(path, "re");
	size_t n, cap = 0;
	char *b = NULL, *nb;
	int ret = 0;

	*buf = NULL;
	*len = 0;
	if (!f) {
		ret = -errno;
		snprintf(err, errlen, "%s: cannot read: %s", path, strerror(errno));
		return ret;
	}
	for (;;) {
		if (*len + 1 >= cap) {
			cap = cap ? cap * 2 : 1 << 20;
			nb = realloc(b, cap);
			if (!nb) {
				snprintf(err, errlen, "%s: out of memory", path);
				ret = -ENOMEM;
				break;
			}
			b = nb;
		}
		n = fread(b + *len, 1, cap - *len - 1, f);
		*len += n;
		if (!n) {
			if (ferror(f)) {
				ret = -EIO;
				snprintf(err, errlen, "%s: cannot read: %s", path, strerror(EIO));
			}
			break;
		}
	}
	fclose(f);
	if (ret) {
		free(b);
		*len = 0;
		return ret;
	}
	b[*len] = 0;
	*buf = b;
	return 0;
}
