// SPDX-License-Identifier: GPL-2.0-only
/*
 * A lock wait whose stack no unwinder can follow to its thread's start:
 * a thread enters `waits_above_zero` through a thunk that pushes a return
 * address of 0, then waits for `gate`, which the main thread holds for
 * HOLD_MS. elfutils ends an unwind at a return address of 0 as if the
 * stack were whole; contrace must call that stack partial (cut short), and
 * the main thread's own sleep meanwhile (down to _start) whole. The waiter
 * never returns: it parks until the program exits.
 *
 *   stackcut [HOLD_MS]
 *
 * Output: "lock gate ADDRESS", then "waiter TID".
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

pthread_mutex_t gate = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t started_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t started_cond = PTHREAD_COND_INITIALIZER;
static int started, passed;

void waits_above_zero(void);
void enter_with_zero_return(void);

/* The waiter's steps, told to the main thread and waited for by it. */
static void announce(int *flag)
{
	pthread_mutex_lock(&started_lock);
	*flag = 1;
	pthread_cond_signal(&started_cond);
	pthread_mutex_unlock(&started_lock);
}

static void await_flag(const int *flag)
{
	pthread_mutex_lock(&started_lock);
	while (!*flag)
		pthread_cond_wait(&started_cond, &started_lock);
	pthread_mutex_unlock(&started_lock);
}

/* Entered with 0 as its return address: it must never return. */
__attribute__((noinline, used)) void waits_above_zero(void)
{
	printf("waiter %ld\n", (long)syscall(SYS_gettid));
	fflush(stdout);
	announce(&started);
	pthread_mutex_lock(&gate);
	pthread_mutex_unlock(&gate);
	announce(&passed);
	for (;;)
		pause();
}

/*
 * A jump to waits_above_zero with 0 where its return address goes, and the
 * stack aligned as a call leaves it (8 bytes below a 16-byte boundary).
 */
__asm__(".text\n"
	".globl enter_with_zero_return\n"
	".type enter_with_zero_return, @function\n"
	"enter_with_zero_return:\n"
	"	subq $8, %rsp\n"
	"	pushq $0\n"
	"	jmp waits_above_zero\n"
	".size enter_with_zero_return, .-enter_with_zero_return\n");

static void *thread_main(void *arg)
{
	(void)arg;
	enter_with_zero_return();
	return NULL;
}

int main(int argc, char **argv)
{
	int hold_ms = argc > 1 ? atoi(argv[1]) : 300;
	struct timespec hold;
	pthread_t t;

	if (hold_ms < 1 || hold_ms > 60000) {
		fprintf(stderr, "usage: stackcut [HOLD_MS<=60000]\n");
		return 2;
	}
	printf("lock gate %p\n", (void *)&gate);
	fflush(stdout);
	pthread_mutex_lock(&gate);
	if (pthread_create(&t, NULL, thread_main, NULL))
		return 1;
	await_flag(&started);
	hold.tv_sec = hold_ms / 1000;
	hold.tv_nsec = (long)(hold_ms % 1000) * 1000000L;
	nanosleep(&hold, NULL);
	pthread_mutex_unlock(&gate);
	await_flag(&passed);
	return 0;
}
