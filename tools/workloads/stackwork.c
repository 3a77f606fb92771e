// SPDX-License-Identifier: GPL-2.0-only
/*
 * Lock waits with a known call chain, for --stacks: THREADS threads (the
 * main thread one of them) take `ledger_lock` through
 *
 *   main -> run_worker -> transfer -> pthread_mutex_lock        (main thread)
 *   start_thread -> worker_main -> run_worker -> transfer -> ... (the others)
 *
 * each function noinline and each call followed by more work (no tail
 * calls), holding the lock HOLD_US per transfer for ITERATIONS transfers.
 * Built twice: with frame pointers (stackwork) and -O2
 * -fomit-frame-pointer (stackwork-nofp), where only .eh_frame can unwind.
 *
 *   stackwork [THREADS] [ITERATIONS] [HOLD_US]
 *
 * Output: "lock ledger_lock ADDRESS", "main TID", then "elapsed_ns NS".
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

pthread_mutex_t ledger_lock = PTHREAD_MUTEX_INITIALIZER;
static volatile unsigned long balance;
static int iterations = 200, hold_us = 200;

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void spin_us(int us)
{
	long long end = now_ns() + (long long)us * 1000;

	while (now_ns() < end)
		balance++;
}

__attribute__((noinline)) void transfer(int amount)
{
	pthread_mutex_lock(&ledger_lock);
	spin_us(hold_us);
	balance += (unsigned long)amount;
	pthread_mutex_unlock(&ledger_lock);
	__asm__ volatile("" ::: "memory"); /* not a tail call */
}

__attribute__((noinline)) void run_worker(int id)
{
	for (int i = 0; i < iterations; i++) {
		transfer(id + i);
		spin_us(hold_us / 4);
	}
	__asm__ volatile("" ::: "memory");
}

__attribute__((noinline)) void *worker_main(void *arg)
{
	run_worker((int)(long)arg);
	__asm__ volatile("" ::: "memory");
	return NULL;
}

int main(int argc, char **argv)
{
	int threads = argc > 1 ? atoi(argv[1]) : 4;
	pthread_t tid[64];
	long long t0;

	if (argc > 2)
		iterations = atoi(argv[2]);
	if (argc > 3)
		hold_us = atoi(argv[3]);
	if (threads < 1 || threads > 64 || iterations < 1 || hold_us < 0) {
		fprintf(stderr, "usage: stackwork [THREADS<=64] [ITERATIONS] [HOLD_US]\n");
		return 2;
	}
	printf("lock ledger_lock %p\nmain %ld\n", (void *)&ledger_lock, (long)syscall(SYS_gettid));
	fflush(stdout);
	t0 = now_ns();
	for (int i = 1; i < threads; i++)
		pthread_create(&tid[i], NULL, worker_main, (void *)(long)i);
	run_worker(0);
	for (int i = 1; i < threads; i++)
		pthread_join(tid[i], NULL);
	printf("elapsed_ns %lld\n", now_ns() - t0);
	return 0;
}
