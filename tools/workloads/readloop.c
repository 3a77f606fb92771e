// SPDX-License-Identifier: GPL-2.0-only
/*
 * A tight syscall loop with a known count, for the benchmarks against peer
 * tools (tools/bench/peers.py): read(2) of one byte from /dev/zero N times.
 *
 *   readloop N
 *
 * Output: "reads N" (exactly the read calls the loop made) and
 * "ns_per_call X" (wall time of the loop per call).
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? strtol(argv[1], NULL, 10) : 100000;
	long long t0, t1;
	char c;
	int fd;

	if (n <= 0) {
		fprintf(stderr, "usage: readloop N (N > 0)\n");
		return 2;
	}
	fd = open("/dev/zero", O_RDONLY);
	if (fd < 0) {
		perror("/dev/zero");
		return 1;
	}
	t0 = now_ns();
	for (long i = 0; i < n; i++)
		if (read(fd, &c, 1) != 1) {
			perror("read");
			return 1;
		}
	t1 = now_ns();
	printf("reads %ld\nns_per_call %.1f\n", n, (double)(t1 - t0) / (double)n);
	return 0;
}
