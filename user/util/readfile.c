// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/readfile.h"

const char *file_kind(mode_t mode)
{
	if (S_ISDIR(mode))
		return "a directory";
	if (S_ISFIFO(mode))
		return "a FIFO";
	if (S_ISCHR(mode))
		return "a character device";
	if (S_ISBLK(mode))
		return "a block device";
	if (S_ISSOCK(mode))
		return "a socket";
	return "not a regular file";
}

int input_open(const char *path, int *fd, uint64_t *size, char *err, size_t errlen)
{
	struct stat st;
	int ret;

	*fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (*fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "%s: cannot read: %s", path, strerror(errno));
		return ret;
	}
	if (fstat(*fd, &st)) {
		ret = -errno;
		snprintf(err, errlen, "%s: cannot read: %s", path, strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		ret = -EINVAL;
		snprintf(err, errlen, "%s: cannot read: %s, not a regular file", path,
			 file_kind(st.st_mode));
		goto fail;
	}
	*size = (uint64_t)st.st_size;
	return 0;
fail:
	close(*fd);
	*fd = -1;
	return ret;
}

int read_file(const char *path, char **buf, size_t *len, char *err, size_t errlen)
{
	uint64_t size;
	char *b;
	ssize_t n;
	int fd, ret;

	*buf = NULL;
	*len = 0;
	ret = input_open(path, &fd, &size, err, errlen);
	if (ret)
		return ret;
	if (size >= SIZE_MAX || !(b = malloc((size_t)size + 1))) {
		close(fd);
		snprintf(err, errlen, "%s: out of memory", path);
		return -ENOMEM;
	}
	/* Up to the size it had: a file that grows meanwhile is read as it was. */
	while (*len < size) {
		n = read(fd, b + *len, (size_t)size - *len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ret = -errno;
			snprintf(err, errlen, "%s: cannot read: %s", path, strerror(errno));
			close(fd);
			free(b);
			*len = 0;
			return ret;
		}
		if (!n)
			break;
		*len += (size_t)n;
	}
	close(fd);
	b[*len] = 0;
	*buf = b;
	return 0;
}
