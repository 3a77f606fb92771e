// SPDX-License-Identifier: GPL-2.0-only
/*
 * The example `make demo` traces: a small program whose threads fight in
 * the usual ways, so each part of contrace's report has something to show.
 *
 *   3 "worker" threads  take turns on one mutex, holding it 2 ms for each
 *                       item (serialised: futex waits), 1 ms of work outside
 *   1 "cruncher"        pure CPU, competing with the workers for 2 CPUs
 *   1 "logger"          writes a line to a pipe each 5 ms and sleeps between
 *   1 "reader"          blocked in read() on that pipe, woken by the logger
 *
 * Runs for about 2 seconds (or argv[1] seconds).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

static pthread_mutex_t queue_lock = PTHREAD_MUTEX_INITIALIZER;
static double deadline;
static int pipefd[2];
static volatile unsigned long sink;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void burn(double seconds)
{
	double end = now() + seconds;

	while (now() < end)
		for (int i = 0; i < 1000; i++)
			sink += (unsigned long)i;
}

static void *worker(void *arg)
{
	prctl(PR_SET_NAME, arg);
	while (now() < deadline) {
		pthread_mutex_lock(&queue_lock);
		burn(0.002); /* the critical section everyone waits for */
		pthread_mutex_unlock(&queue_lock);
		burn(0.001);
	}
	return NULL;
}

static void *cruncher(void *arg)
{
	(void)arg;
	prctl(PR_SET_NAME, "cruncher");
	while (now() < deadline)
		burn(0.01);
	return NULL;
}

static void *logger(void *arg)
{
	struct timespec ms5 = { 0, 5000000 };
	char line[64];
	int n = 0;

	(void)arg;
	prctl(PR_SET_NAME, "logger");
	while (now() < deadline) {
		int len = snprintf(line, sizeof(line), "event %d\n", n++);

		if (write(pipefd[1], line, (size_t)len) != len)
			break;
		nanosleep(&ms5, NULL);
	}
	close(pipefd[1]);
	return NULL;
}

static void *reader(void *arg)
{
	char buf[256];

	(void)arg;
	prctl(PR_SET_NAME, "reader");
	while (read(pipefd[0], buf, sizeof(buf)) > 0)
		;
	return NULL;
}

int main(int argc, char **argv)
{
	static char names[3][16];
	pthread_t t[6];
	int n = 0;

	deadline = now() + (argc > 1 ? atof(argv[1]) : 2.0);
	if (pipe(pipefd))
		return 1;
	for (int i = 0; i < 3; i++) {
		snprintf(names[i], sizeof(names[i]), "worker-%d", i);
		pthread_create(&t[n++], NULL, worker, names[i]);
	}
	pthread_create(&t[n++], NULL, cruncher, NULL);
	pthread_create(&t[n++], NULL, logger, NULL);
	pthread_create(&t[n++], NULL, reader, NULL);
	for (int i = 0; i < n; i++)
		pthread_join(t[i], NULL);
	printf("demo: done\n");
	return 0;
}
