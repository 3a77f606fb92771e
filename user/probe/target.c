// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/procfs.h"
#include "probe/target.h"

static int pidfd_open(int pid)
{
	return (int)syscall(SYS_pidfd_open, pid, 0);
}

static void target_init(struct target *t)
{
	memset(t, 0, sizeof(*t));
	t->pidfd = -1;
	t->gate_fd = -1;
	t->err_fd = -1;
	t->exit_status = -1;
}

int target_attach(struct target *t, int pid, char *err, size_t errlen)
{
	struct proc_stat st;
	int tgid, ret;

	target_init(t);
	ret = proc_tgid(pid, &tgid);
	if (ret) {
		snprintf(err, errlen, "no such process: %d", pid);
		return ret == -ENOENT ? -ESRCH : ret;
	}
	if (tgid != pid) {
		fprintf(stderr, "contrace: %d is a thread of process %d: tracing process %d\n", pid,
			tgid, tgid);
		pid = tgid;
	}
	ret = proc_read_stat(pid, 0, &st);
	if (ret) {
		snprintf(err, errlen, "no such process: %d", pid);
		return -ESRCH;
	}
	if (st.flags & PROC_PF_KTHREAD) {
		snprintf(err, errlen,
			 "pid %d (%s) is a kernel thread: contrace traces user processes", pid,
			 st.comm);
		return -EINVAL;
	}
	if (st.state == 'Z' || st.state == 'X') {
		/* Its main thread called pthread_exit(): the others are the process. */
		if (proc_live_tid(pid) < 0) {
			snprintf(err, errlen, "pid %d (%s) is a zombie: it has exited already", pid,
				 st.comm);
			return -ESRCH;
		}
		fprintf(stderr,
			"contrace: the main thread of pid %d (%s) has exited: tracing its other threads\n",
			pid, st.comm);
	}
	t->pidfd = pidfd_open(pid);
	if (t->pidfd < 0) {
		ret = -errno;
		snprintf(err, errlen, "cannot watch pid %d: %s", pid, strerror(errno));
		return ret;
	}
	t->pid = pid;
	return 0;
}

/*
 * On the development VM the kernel hides its PID 1 agent from BPF: the task
 * iterator never shows its threads, and no trace event fires for them
 * (design.md, "Events the kernel does not report"). Said as it is, not as an
 * exit that did not happen.
 */
int target_unseen(int pid, char *err, size_t errlen)
{
	struct proc_stat st;
	int tid, n = proc_live_threads(pid, &tid);

	if (!n || proc_read_stat(pid, 0, &st))
		return 0;
	snprintf(
		err, errlen,
		"pid %d (%s) is running, but the kernel showed none of its %d threads to contrace's BPF task iterator: it hides this process from BPF programs, so it cannot be traced",
		pid, st.comm, n);
	return -EPERM;
}

/* Whether argv[0] names an executable file, directly or through PATH. */
static int find_command(const char *cmd)
{
	const char *path = getenv("PATH"), *p, *end;
	char buf[4096];
	int saved = ENOENT;

	if (strchr(cmd, '/'))
		return access(cmd, X_OK) ? -errno : 0;
	if (!path)
		path = "/usr/local/bin:/usr/bin:/bin";
	for (p = path; *p; p = *end ? end + 1 : end) {
		end = strchrnul(p, ':');
		snprintf(buf, sizeof(buf), "%.*s/%s", (int)(end - p), p, cmd);
		if (access(buf, X_OK) == 0)
			return 0;
		if (errno == EACCES)
			saved = EACCES;
	}
	return -saved;
}

int target_launch(struct target *t, char *const argv[], char *err, size_t errlen)
{
	int gate[2], errp[2], ret;
	sigset_t none;
	char c;
	pid_t pid;

	target_init(t);
	ret = find_command(argv[0]);
	if (ret) {
		if (ret == -ENOENT)
			snprintf(err, errlen, "command not found: %s", argv[0]);
		else
			snprintf(err, errlen, "cannot run '%s': %s", argv[0], strerror(-ret));
		return ret;
	}
	if (pipe2(gate, O_CLOEXEC))
		goto sys_fail;
	if (pipe2(errp, O_CLOEXEC)) {
		close(gate[0]);
		close(gate[1]);
		goto sys_fail;
	}
	pid = fork();
	if (pid < 0) {
		close(gate[0]);
		close(gate[1]);
		close(errp[0]);
		close(errp[1]);
		goto sys_fail;
	}
	if (pid == 0) {
		/* Child: wait until the probes are live, then become the command. */
		close(gate[1]);
		close(errp[0]);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		signal(SIGPIPE, SIG_DFL);
		if (read(gate[0], &c, 1) != 1)
			_exit(127); /* contrace gave up */
		close(gate[0]);
		execvp(argv[0], argv);
		ret = errno;
		if (write(errp[1], &ret, sizeof(ret)) < 0)
			_exit(127);
		_exit(127);
	}
	close(gate[0]);
	close(errp[1]);
	t->pid = pid;
	t->launched = true;
	t->gate_fd = gate[1];
	t->err_fd = errp[0];
	t->pidfd = pidfd_open(pid);
	if (t->pidfd < 0) {
		ret = -errno;
		snprintf(err, errlen, "cannot watch the command: %s", strerror(errno));
		target_close(t);
		return ret;
	}
	return 0;
sys_fail:
	ret = -errno;
	snprintf(err, errlen, "cannot start the command: %s", strerror(errno));
	return ret;
}

int target_release(struct target *t, const char *cmd, char *err, size_t errlen)
{
	int child_errno;
	ssize_t n;

	if (write(t->gate_fd, "x", 1) != 1) {
		snprintf(err, errlen, "cannot start the command: %s", strerror(errno));
		return -errno;
	}
	close(t->gate_fd);
	t->gate_fd = -1;
	/* EOF: the exec succeeded and closed the pipe; data: its errno. */
	do
		n = read(t->err_fd, &child_errno, sizeof(child_errno));
	while (n < 0 && errno == EINTR);
	close(t->err_fd);
	t->err_fd = -1;
	if (n == (ssize_t)sizeof(child_errno)) {
		snprintf(err, errlen, "cannot run '%s': %s", cmd, strerror(child_errno));
		target_reap(t, -1);
		return -child_errno;
	}
	return 0;
}

bool target_exited(struct target *t)
{
	struct pollfd p = { .fd = t->pidfd, .events = POLLIN };

	if (t->reaped)
		return true;
	return t->pidfd >= 0 && poll(&p, 1, 0) == 1;
}

bool target_reap(struct target *t, int timeout_ms)
{
	struct pollfd p = { .fd = t->pidfd, .events = POLLIN };
	int status;
	pid_t r;

	if (!t->launched || t->reaped)
		return t->reaped;
	if (timeout_ms >= 0 && t->pidfd >= 0) {
		while (poll(&p, 1, timeout_ms) < 0 && errno == EINTR)
			;
		if (!(p.revents & POLLIN))
			return false;
	}
	do
		r = waitpid(t->pid, &status, 0);
	while (r < 0 && errno == EINTR);
	if (r != t->pid)
		return false;
	t->reaped = true;
	if (WIFEXITED(status)) {
		t->exit_status = WEXITSTATUS(status);
	} else if (WIFSIGNALED(status)) {
		t->exit_signal = WTERMSIG(status);
	}
	return true;
}

void target_signal(struct target *t, int sig)
{
	if (t->launched && !t->reaped && t->pid > 0)
		kill(t->pid, sig);
}

void target_close(struct target *t)
{
	if (t->gate_fd >= 0)
		close(t->gate_fd); /* a child still waiting gives up */
	if (t->err_fd >= 0)
		close(t->err_fd);
	if (t->launched && !t->reaped && t->pid > 0 && t->exit_status < 0)
		target_reap(t, 2000);
	if (t->pidfd >= 0)
		close(t->pidfd);
	t->gate_fd = t->err_fd = t->pidfd = -1;
}
