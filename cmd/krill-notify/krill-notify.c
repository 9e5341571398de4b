/*
 * krill-notify: sends one sd_notify(3) message to $NOTIFY_SOCKET.
 *
 *   krill-notify [--pid PID] ASSIGNMENT...
 *
 * A Type=notify systemd service tells systemd that it is ready (READY=1) or
 * stopping (STOPPING=1) with a datagram on the unix socket named by
 * NOTIFY_SOCKET (a path, or "@name" for an abstract socket). Node.js cannot
 * send a unix datagram, so krilld runs this helper (pkg/systemd/notify.ts).
 *
 * The assignments are sent as one message, one per line. With --pid, the
 * message carries PID in its credentials (SCM_CREDENTIALS; root may name
 * another process, as `systemd-notify --pid` does), so that systemd, with
 * NotifyAccess=main, takes it as coming from the service's main process,
 * krilld, and not from this short-lived helper. Where the kernel refuses
 * that, the message goes with the helper's own credentials.
 *
 * Without NOTIFY_SOCKET it sends nothing and exits 0. Exits 1 when the
 * message cannot be sent, 2 on bad usage.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define MAX_MESSAGE 4096

static int usage(const char *argv0)
{
	fprintf(stderr, "usage: %s [--pid PID] ASSIGNMENT...\n", argv0);
	return 2;
}

int main(int argc, char **argv)
{
	pid_t pid = 0;
	int i = 1;
	if (i + 1 < argc && strcmp(argv[i], "--pid") == 0) {
		char *end;
		long n = strtol(argv[i + 1], &end, 10);
		if (*argv[i + 1] == '\0' || *end != '\0' || n <= 0 || n > 0x3fffffff)
			return usage(argv[0]);
		pid = (pid_t)n;
		i += 2;
	}
	if (i >= argc)
		return usage(argv[0]);

	static char message[MAX_MESSAGE];
	size_t len = 0;
	for (; i < argc; i++) {
		size_t n = strlen(argv[i]);
		if (n == 0 || strchr(argv[i], '=') == NULL || strchr(argv[i], '\n') != NULL || len + n + 1 > sizeof(message)) {
			fprintf(stderr, "krill-notify: bad assignment: %s\n", argv[i]);
			return 2;
		}
		memcpy(message + len, argv[i], n);
		len += n;
		message[len++] = '\n';
	}

	const char *target = getenv("NOTIFY_SOCKET");
	if (target == NULL || *target == '\0')
		return 0;
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	size_t name_len = strlen(target);
	if ((target[0] != '/' && target[0] != '@') || name_len >= sizeof(addr.sun_path)) {
		fprintf(stderr, "krill-notify: unsupported NOTIFY_SOCKET: %s\n", target);
		return 1;
	}
	memcpy(addr.sun_path, target, name_len);
	if (target[0] == '@')
		addr.sun_path[0] = '\0'; /* abstract: no terminating NUL counted */
	else
		name_len++;
	socklen_t addr_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + name_len);

	int sock = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (sock < 0) {
		fprintf(stderr, "krill-notify: socket: %s\n", strerror(errno));
		return 1;
	}
	struct iovec iov = {.iov_base = message, .iov_len = len};
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(struct ucred))];
	} control;
	memset(&control, 0, sizeof(control));
	struct msghdr msg = {.msg_name = &addr, .msg_namelen = addr_len, .msg_iov = &iov, .msg_iovlen = 1};
	if (pid > 0) {
		msg.msg_control = control.buf;
		msg.msg_controllen = sizeof(control.buf);
		struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_CREDENTIALS;
		c->cmsg_len = CMSG_LEN(sizeof(struct ucred));
		struct ucred cred = {.pid = pid, .uid = getuid(), .gid = getgid()};
		memcpy(CMSG_DATA(c), &cred, sizeof(cred));
	}
	ssize_t sent;
	do
		sent = sendmsg(sock, &msg, MSG_NOSIGNAL);
	while (sent < 0 && errno == EINTR);
	if (sent < 0 && pid > 0 && (errno == EPERM || errno == ESRCH)) {
		msg.msg_control = NULL;
		msg.msg_controllen = 0;
		do
			sent = sendmsg(sock, &msg, MSG_NOSIGNAL);
		while (sent < 0 && errno == EINTR);
	}
	if (sent < 0) {
		fprintf(stderr, "krill-notify: send to %s: %s\n", target, strerror(errno));
		return 1;
	}
	close(sock);
	return 0;
}
