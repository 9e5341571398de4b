/*
 * krill-exec: the monitor of one ExecSync command.
 *
 *   krill-exec PIDFILE RUNTIME ARG...
 *
 * Runs RUNTIME ARG... (an `<runc|crun> ... exec --detach --pid-file PIDFILE
 * ...` command line) with this process's stdio, as a child subreaper: the
 * runtime starts the command and exits, the command is re-parented here, and
 * this process waits for it alone (not for background children it leaves
 * behind), then reports on fd 3:
 *
 *   "exit N\n"      the command exited with N (128+S when killed by signal S)
 *   "runtime N\n"   the runtime itself failed with status N (its error is on stderr)
 *
 * It is what conmon's exec mode does for ExecSync, without conmon's start-up
 * cost; krilld kills the command at the timeout (by the pid in PIDFILE) and
 * this process reaps it like any exit.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

static int status_code(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return 255;
}

static void report(const char *what, int code)
{
	dprintf(3, "%s %d\n", what, code);
	close(3);
}

static pid_t read_pid(const char *file)
{
	char buf[32] = {0};
	int fd = open(file, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	return n > 0 ? (pid_t)atol(buf) : -1;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: %s PIDFILE RUNTIME ARG...\n", argv[0]);
		return 2;
	}
	if (fcntl(3, F_GETFD) < 0) {
		fprintf(stderr, "krill-exec: fd 3 (the report pipe) is not open\n");
		return 2;
	}
	fcntl(3, F_SETFD, FD_CLOEXEC);
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0) {
		fprintf(stderr, "krill-exec: cannot become a subreaper: %s\n", strerror(errno));
		return 2;
	}
	pid_t runtime = fork();
	if (runtime < 0) {
		fprintf(stderr, "krill-exec: fork: %s\n", strerror(errno));
		return 2;
	}
	if (runtime == 0) {
		execv(argv[2], argv + 2);
		fprintf(stderr, "krill-exec: cannot run %s: %s\n", argv[2], strerror(errno));
		_exit(127);
	}

	/* Children reaped before the command's pid was known: the command may be among them. */
	struct {
		pid_t pid;
		int status;
	} early[64];
	int nearly = 0;
	int status;
	pid_t command = -1;
	for (;;) {
		pid_t pid = waitpid(-1, &status, 0);
		if (pid < 0) {
			if (errno == EINTR)
				continue;
			break; /* no children left */
		}
		if (pid == runtime) {
			if (status_code(status) != 0) {
				report("runtime", status_code(status));
				return 0;
			}
			command = read_pid(argv[1]);
			if (command <= 0) {
				fprintf(stderr, "krill-exec: the runtime wrote no pid to %s\n", argv[1]);
				report("runtime", 255);
				return 0;
			}
			for (int i = 0; i < nearly; i++) {
				if (early[i].pid == command) {
					report("exit", status_code(early[i].status));
					return 0;
				}
			}
			continue;
		}
		if (command > 0 && pid == command) {
			report("exit", status_code(status));
			return 0;
		}
		if (command <= 0 && nearly < (int)(sizeof(early) / sizeof(early[0]))) {
			early[nearly].pid = pid;
			early[nearly].status = status;
			nearly++;
		}
		/* Otherwise: a background child of the command, reaped and forgotten. */
	}
	fprintf(stderr, "krill-exec: the command's exit was not seen\n");
	report("runtime", 255);
	return 0;
}
