/*
 * krill-seqpacket: bridges a SOCK_SEQPACKET unix socket to standard I/O.
 *
 * conmon serves a container's (or exec session's) stdio on a SOCK_SEQPACKET
 * socket, which Node.js cannot open. krilld runs this helper per attach:
 *
 *   socket -> stdout   every packet as a 4-byte big-endian length, then its bytes
 *                      (conmon's packets start with a stream byte: 2 stdout, 3 stderr)
 *   stdin  -> socket   bytes as they come, one packet per read
 *   stdin EOF          shutdown(SHUT_WR): conmon closes the container's stdin
 *                      when it runs without --leave-stdin-open
 *
 * It exits 0 when the socket closes, 1 when stdout goes away, 2 on errors.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define BUF_SIZE 65536
/* conmon reads at most 32767 bytes of one packet (CONN_SOCK_BUF_SIZE - 1). */
#define STDIN_PACKET 8192

static int write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s SOCKET\n", argv[0]);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);

	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	if (strlen(argv[1]) < sizeof(addr.sun_path)) {
		strcpy(addr.sun_path, argv[1]);
	} else {
		/* Too long for sun_path: go through an fd of its directory, as conmon binds it. */
		char *slash = strrchr(argv[1], '/');
		if (slash == NULL) {
			fprintf(stderr, "krill-seqpacket: bad socket path: %s\n", argv[1]);
			return 2;
		}
		*slash = '\0';
		int dirfd = open(argv[1], O_PATH | O_DIRECTORY | O_CLOEXEC);
		*slash = '/';
		if (dirfd < 0) {
			fprintf(stderr, "krill-seqpacket: open %s: %s\n", argv[1], strerror(errno));
			return 2;
		}
		int n = snprintf(addr.sun_path, sizeof(addr.sun_path), "/proc/self/fd/%d/%s", dirfd, slash + 1);
		if (n < 0 || (size_t)n >= sizeof(addr.sun_path)) {
			fprintf(stderr, "krill-seqpacket: socket name too long: %s\n", slash + 1);
			return 2;
		}
	}
	int sock = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (sock < 0 || connect(sock, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		fprintf(stderr, "krill-seqpacket: connect %s: %s\n", argv[1], strerror(errno));
		return 2;
	}

	static char buf[BUF_SIZE + 4];
	struct pollfd fds[2] = {{.fd = sock, .events = POLLIN}, {.fd = STDIN_FILENO, .events = POLLIN}};
	int nfds = 2;
	for (;;) {
		if (poll(fds, nfds, -1) < 0) {
			if (errno == EINTR)
				continue;
			return 2;
		}
		if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
			ssize_t n = recv(sock, buf + 4, BUF_SIZE, 0);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				return 0;
			uint32_t len = (uint32_t)n;
			buf[0] = (char)(len >> 24);
			buf[1] = (char)(len >> 16);
			buf[2] = (char)(len >> 8);
			buf[3] = (char)len;
			if (write_all(STDOUT_FILENO, buf, (size_t)n + 4) < 0)
				return 1;
		}
		if (nfds == 2 && fds[1].revents & (POLLIN | POLLHUP | POLLERR)) {
			ssize_t n = read(STDIN_FILENO, buf, STDIN_PACKET);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				shutdown(sock, SHUT_WR);
				nfds = 1;
				continue;
			}
			if (send(sock, buf, (size_t)n, 0) < 0 && errno != EINTR)
				return 2;
		}
	}
}
