/*
 * krill-spawn: krilld's spawn server.
 *
 * Node.js starts a child by fork()ing the whole daemon and waiting for the
 * exec, which blocks krilld's event loop for milliseconds per child. krilld
 * starts this small process once instead; it starts every other child with
 * vfork(2) + execve(2) (no copy of its page tables; the server is tiny
 * anyway) and relays the children's pipes as messages. pkg/util/spawner.ts
 * is the other side.
 *
 * Messages travel on stdin (requests) and stdout (replies); both directions
 * use the same frame:
 *
 *   u32 length (of what follows, big-endian) | u8 type | u32 id | payload
 *
 * `id` names a child (chosen by krilld). Integers are big-endian.
 *
 * Requests:
 *   SPAWN        u32 flags (1: setsid, 2: umask 022) | u32 n | n x u8 mode (0 /dev/null,
 *                1 output pipe, 2 input pipe), the child's fds 0..n-1 |
 *                u32 argc | u32 envc | file\0 cwd\0 argv[0]\0 ... env[0]\0 ...
 *                (an empty cwd keeps ours; a file without a slash is looked
 *                up in the child's PATH)
 *   INPUT        u32 fd | bytes for the child's input pipe `fd`
 *   CLOSE_INPUT  u32 fd: close it once its bytes are written (EOF)
 *   CLOSE_OUTPUT u32 fd: stop reading it and close it
 *   PAUSE/RESUME u32 fd: stop/start reading an output pipe (backpressure)
 *   KILL         i32 signal | u32 flags (1: the process group): signals the
 *                child while it is not reaped (a group at any time); for a
 *                socket (DIAL): closes it, whatever the signal
 *   DIAL         u32 port | u32 timeout_ms (0: the kernel's) | address\0 |
 *                netns\0: a TCP connection to a loopback address (numeric
 *                IPv4 or IPv6) inside the network namespace at path `netns`
 *                ("" for ours), relayed like a child's pipes: fd 0 is its
 *                input (INPUT, CLOSE_INPUT: shutdown(SHUT_WR)), fd 1 its
 *                output (DATA, EOF, PAUSE, RESUME, CLOSE_OUTPUT)
 * Replies:
 *   SPAWNED      i32 pid
 *   SPAWN_ERROR  i32 errno
 *   DATA         u32 fd | bytes from an output pipe
 *   EOF          u32 fd
 *   ACK          u32 fd | u32 n: n input bytes were written to the child
 *   INPUT_ERROR  u32 fd | i32 errno: writing failed (EPIPE); the pipe is closed
 *   EXIT         i32 code (-1 when killed) | i32 signal
 *   DIALED       (empty): connected; the socket has no EXIT, it is gone once
 *                both its fds are closed (or it is killed)
 *   DIAL_ERROR   i32 errno | u32 step (1 address, 2 netns, 3 socket,
 *                4 connect; ETIMEDOUT at 4 when timeout_ms passed)
 *
 * A dial enters the pod's network namespace only to create the socket (a
 * socket belongs to the namespace it was created in for its whole life) and
 * returns to the server's own at once, before anything else happens: the
 * server is single-threaded, so no child or other socket ever starts in the
 * pod's namespace. Failing to return is fatal: the server exits rather than
 * run on in the wrong namespace (krilld starts another).
 *
 * Flow control: krilld keeps at most a window of unacknowledged input bytes
 * per pipe; this server stops reading every output pipe while more than
 * OUT_HIGH bytes of replies wait for krilld to read them, and one pipe while
 * krilld has paused it. Memory stays bounded whatever the children write.
 *
 * It is every child's parent and reaps each of them. It never kills a child
 * on its own: when krilld goes away (EOF on stdin) it exits and leaves the
 * children running (conmon outlives krilld by design). It ignores SIGINT,
 * SIGTERM, SIGHUP and SIGQUIT so that a signal meant for krilld's whole group
 * does not cut krilld off from its children while it shuts down.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* pkg/util/spawner_protocol.ts has the same numbers (a unit test compares them). */
enum { REQ_SPAWN = 1, REQ_INPUT, REQ_CLOSE_INPUT, REQ_CLOSE_OUTPUT, REQ_PAUSE, REQ_RESUME, REQ_KILL, REQ_DIAL };
enum { MSG_SPAWNED = 0x81, MSG_SPAWN_ERROR, MSG_DATA, MSG_EOF, MSG_ACK, MSG_INPUT_ERROR, MSG_EXIT, MSG_DIALED, MSG_DIAL_ERROR };
enum { MODE_NULL = 0, MODE_OUTPUT = 1, MODE_INPUT = 2 };
enum { DIAL_STEP_ADDRESS = 1, DIAL_STEP_NETNS, DIAL_STEP_SOCKET, DIAL_STEP_CONNECT };
enum { SOCKET_INPUT_FD = 0, SOCKET_OUTPUT_FD = 1 };

#define SPAWN_SETSID 1u
/*
 * Children inherit krilld's umask 077, but for the container runtime (conmon,
 * runc, crun), which makes files inside containers (mount points, device
 * nodes) that must have their usual modes there.
 */
#define SPAWN_UMASK_022 2u
#define KILL_GROUP 1u
#define HEADER 9 /* length + type + id */
#define MAX_FRAME (16u << 20)
#define MAX_FDS 256
#define READ_CHUNK 65536
#define OUT_HIGH (1u << 20)
#define OUT_LOW (256u << 10)
#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

struct buf {
	char *data;
	size_t off, len, cap;
};

struct child;

struct pipe_end {
	struct child *owner;
	uint32_t target; /* the fd number in the child */
	int fd;          /* our end; -1 once closed */
	int mode;
	int paused;      /* output: krilld asked us to stop reading */
	int watched;     /* in an epoll set */
	int eof_pending; /* input: close once `pending` is written */
	int connecting;  /* a socket's input end while its connect is in progress (watched for EPOLLOUT) */
	struct buf pending;
};

/* A child process, or a socket (DIAL): no pid, never "running", gone once its fds are. */
struct child {
	uint32_t id;
	pid_t pid;
	int socket;
	uint64_t deadline; /* a connecting socket's, in CLOCK_MONOTONIC ms; 0 for none */
	int exited;
	int npipes;
	struct pipe_end *pipes;
	struct child *next;
};

static struct child *children;
static struct child *graveyard; /* freed at the end of a loop turn: events may still point at them */
static struct buf out;          /* replies not yet written to stdout */
static struct buf in;           /* requests not yet parsed */
static int ep, out_ep, sig_fd;
static int outputs_watched, stdout_watched;
static int own_netns = -1; /* the namespace a dial returns to */
static int dialing;        /* sockets whose connect is in progress */
/* epoll tags of our own fds; a child's pipe is tagged with its pipe_end. */
static char tag_stdin, tag_stdout, tag_signal, tag_outputs;

static void die(const char *what)
{
	fprintf(stderr, "krill-spawn: %s: %s\n", what, strerror(errno));
	exit(2);
}

static void protocol_error(const char *what)
{
	fprintf(stderr, "krill-spawn: protocol error: %s\n", what);
	exit(2);
}

static void reserve(struct buf *b, size_t n)
{
	if (b->cap - b->len >= n)
		return;
	if (b->off > 0) {
		memmove(b->data, b->data + b->off, b->len - b->off);
		b->len -= b->off;
		b->off = 0;
		if (b->cap - b->len >= n)
			return;
	}
	size_t cap = b->cap ? b->cap : 4096;
	while (cap - b->len < n)
		cap *= 2;
	char *p = realloc(b->data, cap);
	if (p == NULL)
		die("realloc");
	b->data = p;
	b->cap = cap;
}

static size_t pending_bytes(const struct buf *b)
{
	return b->len - b->off;
}

static void consume(struct buf *b, size_t n)
{
	b->off += n;
	if (b->off == b->len)
		b->off = b->len = 0;
}

static void put32(char *p, uint32_t v)
{
	p[0] = (char)(v >> 24);
	p[1] = (char)(v >> 16);
	p[2] = (char)(v >> 8);
	p[3] = (char)v;
}

static uint32_t get32(const char *p)
{
	const unsigned char *u = (const unsigned char *)p;
	return (uint32_t)u[0] << 24 | (uint32_t)u[1] << 16 | (uint32_t)u[2] << 8 | u[3];
}

/* Appends a reply's header and returns where its payload of `n` bytes goes. */
static char *reply(uint8_t type, uint32_t id, size_t n)
{
	reserve(&out, HEADER + n);
	char *p = out.data + out.len;
	put32(p, (uint32_t)(5 + n));
	p[4] = (char)type;
	put32(p + 5, id);
	out.len += HEADER + n;
	return p + HEADER;
}

static void reply_ints(uint8_t type, uint32_t id, int n, uint32_t a, uint32_t b, uint32_t c)
{
	char *p = reply(type, id, (size_t)n * 4);
	uint32_t v[3] = {a, b, c};
	for (int i = 0; i < n; i++)
		put32(p + 4 * i, v[i]);
}

static void watch(int set, int fd, uint32_t events, void *tag)
{
	struct epoll_event ev = {.events = events, .data.ptr = tag};
	if (epoll_ctl(set, EPOLL_CTL_ADD, fd, &ev) < 0)
		die("epoll_ctl add");
}

static void unwatch(int set, int fd)
{
	if (epoll_ctl(set, EPOLL_CTL_DEL, fd, NULL) < 0 && errno != ENOENT && errno != EBADF)
		die("epoll_ctl del");
}

static void set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		die("fcntl O_NONBLOCK");
}

static struct child *find_id(uint32_t id)
{
	for (struct child *c = children; c; c = c->next)
		if (c->id == id)
			return c;
	return NULL;
}

static struct child *find_pid(pid_t pid)
{
	for (struct child *c = children; c; c = c->next)
		if (c->pid == pid)
			return c;
	return NULL;
}

static struct pipe_end *find_pipe(struct child *c, uint32_t target, int mode)
{
	if (c == NULL)
		return NULL;
	for (int i = 0; i < c->npipes; i++)
		if (c->pipes[i].target == target && c->pipes[i].mode == mode && c->pipes[i].fd >= 0 && !c->pipes[i].connecting)
			return &c->pipes[i];
	return NULL;
}

/* A child is forgotten once it is reaped and krilld has nothing left to read or write. */
static void maybe_forget(struct child *c)
{
	if (!c->exited)
		return;
	for (int i = 0; i < c->npipes; i++)
		if (c->pipes[i].fd >= 0)
			return;
	for (struct child **pp = &children; *pp; pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			c->next = graveyard;
			graveyard = c;
			return;
		}
	}
}

static void close_pipe(struct pipe_end *p)
{
	if (p->fd < 0)
		return;
	if (p->watched)
		unwatch(p->mode == MODE_OUTPUT ? out_ep : ep, p->fd);
	if (p->connecting) {
		p->connecting = 0;
		dialing--;
	} else if (p->owner->socket && p->mode == MODE_INPUT) {
		/* The output end is a dup of the same socket: closing this fd alone would not say EOF. */
		shutdown(p->fd, SHUT_WR);
	}
	close(p->fd);
	p->fd = -1;
	p->watched = 0;
	free(p->pending.data);
	p->pending = (struct buf){0};
	maybe_forget(p->owner);
}

static void update_output_watch(struct pipe_end *p)
{
	int want = p->fd >= 0 && !p->paused;
	if (want && !p->watched)
		watch(out_ep, p->fd, EPOLLIN, p);
	else if (!want && p->watched)
		unwatch(out_ep, p->fd);
	p->watched = want;
}

/* Writes what it can of an input pipe's pending bytes; EOF once all are written if asked. */
static void write_input(struct pipe_end *p)
{
	size_t written = 0;
	while (pending_bytes(&p->pending) > 0) {
		ssize_t n = write(p->fd, p->pending.data + p->pending.off, pending_bytes(&p->pending));
		if (n > 0) {
			consume(&p->pending, (size_t)n);
			written += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		int err = n < 0 ? errno : EIO;
		if (written > 0)
			reply_ints(MSG_ACK, p->owner->id, 2, p->target, (uint32_t)written, 0);
		reply_ints(MSG_INPUT_ERROR, p->owner->id, 2, p->target, (uint32_t)err, 0);
		close_pipe(p);
		return;
	}
	if (written > 0)
		reply_ints(MSG_ACK, p->owner->id, 2, p->target, (uint32_t)written, 0);
	int want = pending_bytes(&p->pending) > 0;
	if (want && !p->watched)
		watch(ep, p->fd, EPOLLOUT, p);
	else if (!want && p->watched)
		unwatch(ep, p->fd);
	p->watched = want;
	if (!want && p->eof_pending)
		close_pipe(p);
}

/* Reads one chunk of an output pipe into a DATA reply; EOF closes it. */
static void read_output(struct pipe_end *p)
{
	reserve(&out, HEADER + 4 + READ_CHUNK);
	char *frame = out.data + out.len;
	ssize_t n;
	do
		n = read(p->fd, frame + HEADER + 4, READ_CHUNK);
	while (n < 0 && errno == EINTR);
	if (n < 0 && errno == EAGAIN)
		return;
	if (n <= 0) {
		/* EOF, or an error that ends the stream just the same. */
		reply_ints(MSG_EOF, p->owner->id, 1, p->target, 0, 0);
		close_pipe(p);
		return;
	}
	put32(frame, (uint32_t)(5 + 4 + n));
	frame[4] = (char)MSG_DATA;
	put32(frame + 5, p->owner->id);
	put32(frame + HEADER, p->target);
	out.len += HEADER + 4 + (size_t)n;
}

/* The file to exec: `file` itself when it has a slash, else the first executable in PATH. */
static int resolve(const char *file, char *const *env, char *path, size_t size)
{
	if (strchr(file, '/') != NULL) {
		if (strlen(file) >= size)
			return ENAMETOOLONG;
		strcpy(path, file);
		return 0;
	}
	if (*file == '\0')
		return ENOENT;
	const char *search = DEFAULT_PATH;
	for (char *const *e = env; *e; e++)
		if (strncmp(*e, "PATH=", 5) == 0)
			search = *e + 5;
	int err = ENOENT;
	for (const char *dir = search;; dir++) {
		const char *end = strchrnul(dir, ':');
		size_t dlen = (size_t)(end - dir);
		if (dlen == 0) {
			dir = ".";
			dlen = 1;
		}
		if (dlen + 1 + strlen(file) < size) {
			memcpy(path, dir, dlen);
			path[dlen] = '/';
			strcpy(path + dlen + 1, file);
			struct stat st;
			if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
				if (access(path, X_OK) == 0)
					return 0;
				err = EACCES;
			}
		}
		if (*end == '\0')
			return err;
		dir = end;
	}
}

/* An fd above the child's fd numbers, so that installing one never overwrites another. */
static int lift(int fd, int above)
{
	if (fd > above)
		return fd;
	int hi = fcntl(fd, F_DUPFD_CLOEXEC, above + 1);
	if (hi < 0)
		die("fcntl F_DUPFD_CLOEXEC");
	close(fd);
	return hi;
}

/* What the child does between vfork() and exec, all of it async-signal-safe. */
struct plan {
	const char *path, *cwd;
	char **argv, **env; /* argv[-1] is a free slot: /bin/sh's argv when the file is a script without #! */
	int setsid;
	int umask022;
	uint32_t count;       /* fds 0..count-1 are set */
	const int *source;    /* per child fd: our fd to install there (above count, so none is clobbered) */
	volatile int err;     /* set by the child when it fails; the memory is shared until exec */
};

static int null_fd = -1;

static void __attribute__((noreturn)) child_exec(struct plan *pl)
{
	if (pl->setsid && setsid() < 0)
		goto fail;
	if (pl->umask022)
		umask(022);
	if (*pl->cwd && chdir(pl->cwd) < 0)
		goto fail;
	for (uint32_t fd = 0; fd < pl->count; fd++)
		if (dup2(pl->source[fd], (int)fd) < 0)
			goto fail;
	/* The server's own dispositions are not the child's. */
	static const int ours[] = {SIGPIPE, SIGINT, SIGTERM, SIGHUP, SIGQUIT};
	for (size_t k = 0; k < sizeof(ours) / sizeof(ours[0]); k++)
		signal(ours[k], SIG_DFL);
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	execve(pl->path, pl->argv, pl->env);
	if (errno == ENOEXEC) {
		/* What execvp(3) and so child_process do: a file the kernel cannot run is a shell script. */
		pl->argv[-1] = (char *)"/bin/sh";
		pl->argv[0] = (char *)pl->path;
		execve("/bin/sh", pl->argv - 1, pl->env);
	}
fail:
	pl->err = errno ? errno : EIO;
	_exit(127);
}

/* Only `pl` lives across the vfork(); the child's failure comes back in pl->err. */
static pid_t __attribute__((noinline)) start(struct plan *pl)
{
	pid_t pid = vfork();
	if (pid == 0)
		child_exec(pl);
	return pid;
}

static int spawn_child(uint32_t id, const char *payload, size_t len)
{
	const char *end = payload + len;
	if (len < 8)
		protocol_error("short SPAWN");
	uint32_t flags = get32(payload);
	uint32_t nfds = get32(payload + 4);
	const char *p = payload + 8;
	if (nfds > MAX_FDS || (size_t)(end - p) < nfds + 8)
		protocol_error("bad SPAWN fd count");
	const unsigned char *modes = (const unsigned char *)p;
	p += nfds;
	uint32_t argc = get32(p), envc = get32(p + 4);
	p += 8;
	if (argc == 0 || argc > (uint32_t)(end - p) || envc > (uint32_t)(end - p))
		protocol_error("bad SPAWN argument counts");
	char **strs = calloc((size_t)argc + envc + 4, sizeof(char *));
	if (strs == NULL)
		die("calloc");
	/* file, cwd, argv..., NULL, env..., NULL */
	uint32_t want = 2 + argc + envc;
	for (uint32_t i = 0, k = 0; i < want; i++) {
		const char *nul = memchr(p, '\0', (size_t)(end - p));
		if (nul == NULL)
			protocol_error("unterminated SPAWN string");
		strs[k++] = (char *)p;
		if (i == 1 + argc)
			strs[k++] = NULL; /* ends argv */
		p = nul + 1;
	}
	if (p != end)
		protocol_error("trailing bytes in SPAWN");
	for (uint32_t fd = 0; fd < nfds; fd++)
		if (modes[fd] > MODE_INPUT)
			protocol_error("bad SPAWN fd mode");

	char path[4096];
	/* The standard fds are never left closed: the child's first open would take their place. */
	uint32_t count = nfds < 3 ? 3 : nfds;
	struct pipe_end *pipes = calloc(count, sizeof(*pipes));
	int *source = calloc(count, sizeof(int));
	int *theirs = calloc(count, sizeof(int));
	if (pipes == NULL || source == NULL || theirs == NULL)
		die("calloc");
	int npipes = 0;
	int err = resolve(strs[0], strs + 3 + argc, path, sizeof(path));
	if (err == 0 && null_fd <= (int)count) {
		if (null_fd >= 0)
			close(null_fd);
		null_fd = lift(open("/dev/null", O_RDWR | O_CLOEXEC), (int)count);
	}
	for (uint32_t fd = 0; err == 0 && fd < count; fd++) {
		if (fd >= nfds || modes[fd] == MODE_NULL) {
			source[fd] = null_fd;
			continue;
		}
		int ends[2];
		if (pipe2(ends, O_CLOEXEC) < 0) {
			err = errno;
			break;
		}
		int output = modes[fd] == MODE_OUTPUT;
		int mine = lift(output ? ends[0] : ends[1], (int)count);
		int child_end = lift(output ? ends[1] : ends[0], (int)count);
		set_nonblock(mine);
		pipes[npipes] = (struct pipe_end){.target = fd, .fd = mine, .mode = modes[fd]};
		theirs[npipes++] = child_end;
		source[fd] = child_end;
	}
	pid_t pid = -1;
	if (err == 0) {
		struct plan pl = {.path = path, .cwd = strs[1], .argv = strs + 2, .env = strs + 3 + argc,
				  .setsid = (flags & SPAWN_SETSID) != 0, .umask022 = (flags & SPAWN_UMASK_022) != 0, .count = count, .source = source, .err = 0};
		/* vfork: the parent waits, without copying its page tables, until the child has exec'd or failed. */
		pid = start(&pl);
		if (pid < 0) {
			err = errno;
		} else if (pl.err != 0) {
			err = pl.err;
			waitpid(pid, NULL, 0); /* it has exited: reaped here, never reported */
			pid = -1;
		}
	}
	for (int i = 0; i < npipes; i++)
		close(theirs[i]);
	free(theirs);
	free(source);
	free(strs);
	if (err != 0) {
		for (int i = 0; i < npipes; i++)
			close(pipes[i].fd);
		free(pipes);
		reply_ints(MSG_SPAWN_ERROR, id, 1, (uint32_t)err, 0, 0);
		return 0;
	}
	struct child *c = calloc(1, sizeof(*c));
	if (c == NULL)
		die("calloc");
	*c = (struct child){.id = id, .pid = pid, .npipes = npipes, .pipes = pipes, .next = children};
	children = c;
	for (int i = 0; i < npipes; i++) {
		pipes[i].owner = c;
		if (pipes[i].mode == MODE_OUTPUT)
			update_output_watch(&pipes[i]);
	}
	reply_ints(MSG_SPAWNED, id, 1, (uint32_t)pid, 0, 0);
	return 0;
}

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void dial_error(uint32_t id, int err, uint32_t step)
{
	reply_ints(MSG_DIAL_ERROR, id, 2, (uint32_t)err, step, 0);
}

/*
 * A non-blocking TCP socket created in the network namespace at `netns` ("":
 * ours). Returns -1 with errno and *step set on failure.
 */
static int socket_in(const char *netns, int family, uint32_t *step)
{
	int flags = SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC;
	*step = DIAL_STEP_SOCKET;
	if (*netns == '\0')
		return socket(family, flags, 0);
	*step = DIAL_STEP_NETNS;
	int ns = open(netns, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (ns < 0)
		return -1;
	/* EINVAL when the file is not a network namespace. */
	int entered = setns(ns, CLONE_NEWNET);
	int err = errno;
	close(ns);
	if (entered < 0) {
		errno = err;
		return -1;
	}
	int s = socket(family, flags, 0);
	err = errno;
	if (setns(own_netns, CLONE_NEWNET) < 0)
		die("cannot return to its own network namespace after a dial; exiting rather than start anything in a pod's");
	*step = DIAL_STEP_SOCKET;
	errno = err;
	return s;
}

/* The socket of a dial is connected: its fd becomes the input end, a dup of it the output end. */
static void connected(struct child *c)
{
	struct pipe_end *in_end = &c->pipes[0], *out_end = &c->pipes[1];
	if (in_end->watched)
		unwatch(ep, in_end->fd);
	in_end->watched = 0;
	in_end->connecting = 0;
	dialing--;
	c->deadline = 0;
	int reader = fcntl(in_end->fd, F_DUPFD_CLOEXEC, 0);
	if (reader < 0) {
		dial_error(c->id, errno, DIAL_STEP_SOCKET);
		close_pipe(in_end); /* the child is forgotten with its last fd */
		return;
	}
	out_end->fd = reader;
	update_output_watch(out_end);
	reply(MSG_DIALED, c->id, 0);
}

/* A dial failed after its child was made: reports why and forgets it. */
static void dial_failed(struct child *c, int err)
{
	dial_error(c->id, err, DIAL_STEP_CONNECT);
	close_pipe(&c->pipes[0]);
}

/* EPOLLOUT (or an error) on a connecting socket: the connect has finished one way or the other. */
static void finish_connect(struct pipe_end *p)
{
	int err = 0;
	socklen_t len = sizeof(err);
	if (getsockopt(p->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		err = errno;
	if (err == 0)
		connected(p->owner);
	else
		dial_failed(p->owner, err);
}

static void dial(uint32_t id, const char *payload, size_t len)
{
	const char *end = payload + len;
	if (len < 8)
		protocol_error("short DIAL");
	uint32_t port = get32(payload), timeout_ms = get32(payload + 4);
	const char *address = payload + 8;
	const char *nul = memchr(address, '\0', (size_t)(end - address));
	if (nul == NULL)
		protocol_error("unterminated DIAL address");
	const char *netns = nul + 1;
	nul = memchr(netns, '\0', (size_t)(end - netns));
	if (nul == NULL || nul + 1 != end)
		protocol_error("bad DIAL netns");
	if (port == 0 || port > 65535)
		protocol_error("bad DIAL port");

	union {
		struct sockaddr sa;
		struct sockaddr_in in4;
		struct sockaddr_in6 in6;
	} to;
	memset(&to, 0, sizeof(to));
	socklen_t to_len;
	int family;
	if (inet_pton(AF_INET, address, &to.in4.sin_addr) == 1) {
		family = AF_INET;
		to.in4.sin_family = AF_INET;
		to.in4.sin_port = htons((uint16_t)port);
		to_len = sizeof(to.in4);
		if ((ntohl(to.in4.sin_addr.s_addr) >> 24) != 127) {
			dial_error(id, EADDRNOTAVAIL, DIAL_STEP_ADDRESS);
			return;
		}
	} else if (inet_pton(AF_INET6, address, &to.in6.sin6_addr) == 1) {
		family = AF_INET6;
		to.in6.sin6_family = AF_INET6;
		to.in6.sin6_port = htons((uint16_t)port);
		to_len = sizeof(to.in6);
		if (!IN6_IS_ADDR_LOOPBACK(&to.in6.sin6_addr)) {
			dial_error(id, EADDRNOTAVAIL, DIAL_STEP_ADDRESS);
			return;
		}
	} else {
		dial_error(id, EINVAL, DIAL_STEP_ADDRESS);
		return;
	}

	uint32_t step;
	int s = socket_in(netns, family, &step);
	if (s < 0) {
		dial_error(id, errno, step);
		return;
	}
	int r;
	do
		r = connect(s, &to.sa, to_len);
	while (r < 0 && errno == EINTR);
	if (r < 0 && errno != EINPROGRESS) {
		dial_error(id, errno, DIAL_STEP_CONNECT);
		close(s);
		return;
	}
	struct pipe_end *pipes = calloc(2, sizeof(*pipes));
	struct child *c = calloc(1, sizeof(*c));
	if (pipes == NULL || c == NULL)
		die("calloc");
	*c = (struct child){.id = id, .socket = 1, .exited = 1, .npipes = 2, .pipes = pipes, .next = children};
	children = c;
	pipes[0] = (struct pipe_end){.owner = c, .target = SOCKET_INPUT_FD, .fd = s, .mode = MODE_INPUT, .connecting = 1};
	pipes[1] = (struct pipe_end){.owner = c, .target = SOCKET_OUTPUT_FD, .fd = -1, .mode = MODE_OUTPUT};
	dialing++;
	if (r == 0) {
		connected(c);
		return;
	}
	if (timeout_ms > 0)
		c->deadline = now_ms() + timeout_ms;
	watch(ep, s, EPOLLOUT, &pipes[0]);
	pipes[0].watched = 1;
}

/* Fails the dials whose time is up. */
static void expire_dials(void)
{
	if (dialing == 0)
		return;
	uint64_t now = now_ms();
	for (struct child *c = children, *next; c; c = next) {
		next = c->next; /* dial_failed may move c to the graveyard */
		if (c->socket && c->pipes[0].connecting && c->deadline != 0 && c->deadline <= now)
			dial_failed(c, ETIMEDOUT);
	}
}

/* How long epoll_wait may sleep: until the next dial deadline, or forever. */
static int next_timeout(void)
{
	if (dialing == 0)
		return -1;
	uint64_t now = now_ms(), soonest = UINT64_MAX;
	for (struct child *c = children; c; c = c->next)
		if (c->socket && c->pipes[0].connecting && c->deadline != 0 && c->deadline < soonest)
			soonest = c->deadline;
	if (soonest == UINT64_MAX)
		return -1;
	return soonest <= now ? 0 : soonest - now > INT_MAX ? INT_MAX : (int)(soonest - now);
}

/* Closes a socket and forgets it, whatever state it is in. */
static void close_socket(struct child *c)
{
	for (int i = 0; i < c->npipes; i++)
		close_pipe(&c->pipes[i]); /* the last one forgets c */
}

static void handle_request(uint8_t type, uint32_t id, const char *payload, size_t len)
{
	if (type == REQ_SPAWN || type == REQ_DIAL) {
		if (find_id(id) != NULL)
			protocol_error(type == REQ_SPAWN ? "SPAWN of an id in use" : "DIAL of an id in use");
		if (type == REQ_SPAWN)
			spawn_child(id, payload, len);
		else
			dial(id, payload, len);
		return;
	}
	if (len < 4)
		protocol_error("short request");
	struct child *c = find_id(id);
	uint32_t fd = get32(payload);
	switch (type) {
	case REQ_INPUT: {
		struct pipe_end *p = find_pipe(c, fd, MODE_INPUT);
		if (p == NULL || p->eof_pending)
			return; /* closed already (the child went away): the bytes have nowhere to go */
		size_t n = len - 4;
		reserve(&p->pending, n);
		memcpy(p->pending.data + p->pending.len, payload + 4, n);
		p->pending.len += n;
		write_input(p);
		return;
	}
	case REQ_CLOSE_INPUT: {
		struct pipe_end *p = find_pipe(c, fd, MODE_INPUT);
		if (p == NULL)
			return;
		p->eof_pending = 1;
		if (pending_bytes(&p->pending) == 0)
			close_pipe(p);
		return;
	}
	case REQ_CLOSE_OUTPUT: {
		struct pipe_end *p = find_pipe(c, fd, MODE_OUTPUT);
		if (p != NULL)
			close_pipe(p);
		return;
	}
	case REQ_PAUSE:
	case REQ_RESUME: {
		struct pipe_end *p = find_pipe(c, fd, MODE_OUTPUT);
		if (p != NULL) {
			p->paused = type == REQ_PAUSE;
			update_output_watch(p);
		}
		return;
	}
	case REQ_KILL: {
		if (len < 8)
			protocol_error("short KILL");
		int sig = (int)get32(payload);
		uint32_t flags = get32(payload + 4);
		if (c == NULL)
			return; /* reaped and forgotten: its pid may belong to someone else now */
		if (c->socket) {
			close_socket(c);
			return;
		}
		if (flags & KILL_GROUP)
			kill(-c->pid, sig); /* a pid stays reserved while its process group exists */
		else if (!c->exited)
			kill(c->pid, sig); /* not reaped: the pid is still this child's */
		return;
	}
	default:
		protocol_error("unknown request type");
	}
}

static void read_requests(void)
{
	reserve(&in, READ_CHUNK);
	ssize_t n = read(STDIN_FILENO, in.data + in.len, in.cap - in.len);
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		/* krilld is gone. The children live on; init reaps them from now on. */
		while (waitpid(-1, NULL, WNOHANG) > 0)
			;
		exit(0);
	}
	in.len += (size_t)n;
	while (pending_bytes(&in) >= 4) {
		const char *f = in.data + in.off;
		uint32_t len = get32(f);
		if (len < 5 || len > MAX_FRAME)
			protocol_error("bad frame length");
		if (pending_bytes(&in) < 4 + (size_t)len) {
			reserve(&in, 4 + (size_t)len - pending_bytes(&in));
			break;
		}
		handle_request((uint8_t)f[4], get32(f + 5), f + HEADER, len - 5);
		consume(&in, 4 + (size_t)len);
	}
}

static void reap(void)
{
	struct signalfd_siginfo si;
	while (read(sig_fd, &si, sizeof(si)) > 0)
		;
	int status;
	pid_t pid;
	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		struct child *c = find_pid(pid);
		if (c == NULL || c->exited)
			continue;
		c->exited = 1;
		int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
		int sig = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
		reply_ints(MSG_EXIT, c->id, 2, (uint32_t)code, (uint32_t)sig, 0);
		maybe_forget(c);
	}
}

static void flush_replies(void)
{
	while (pending_bytes(&out) > 0) {
		ssize_t n = write(STDOUT_FILENO, out.data + out.off, pending_bytes(&out));
		if (n > 0) {
			consume(&out, (size_t)n);
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		exit(0); /* krilld closed its end: it is gone */
	}
	/* Large read buffers are given back once idle. */
	if (pending_bytes(&out) == 0 && out.cap > 4 * OUT_HIGH) {
		free(out.data);
		out = (struct buf){0};
	}
}

static void update_watches(void)
{
	int want_stdout = pending_bytes(&out) > 0;
	if (want_stdout && !stdout_watched)
		watch(ep, STDOUT_FILENO, EPOLLOUT, &tag_stdout);
	else if (!want_stdout && stdout_watched)
		unwatch(ep, STDOUT_FILENO);
	stdout_watched = want_stdout;
	/* Backpressure from krilld: no more reading of children until it catches up. */
	size_t queued = pending_bytes(&out);
	int want_outputs = outputs_watched ? queued < OUT_HIGH : queued < OUT_LOW;
	if (want_outputs && !outputs_watched)
		watch(ep, out_ep, EPOLLIN, &tag_outputs);
	else if (!want_outputs && outputs_watched)
		unwatch(ep, out_ep);
	outputs_watched = want_outputs;
}

static void read_outputs(void)
{
	struct epoll_event evs[64];
	int n = epoll_wait(out_ep, evs, 64, 0);
	for (int i = 0; i < n && pending_bytes(&out) < OUT_HIGH; i++) {
		struct pipe_end *p = evs[i].data.ptr;
		if (p->fd >= 0)
			read_output(p);
	}
}

/*
 * SIG_DFL through the system call: glibc's sigaction() refuses the two
 * signals it keeps for itself (32, 33), and an ignored one would pass on
 * to every child (libuv resets only signals below 32).
 */
static void default_disposition(int sig)
{
	struct {
		void (*handler)(int);
		unsigned long flags;
		void (*restorer)(void);
		unsigned long mask;
	} act = {.handler = SIG_DFL};
	syscall(SYS_rt_sigaction, sig, &act, NULL, sizeof(act.mask));
}

int main(void)
{
	/* Whatever else krilld's parent left open is not for the children. */
	close_range(3, ~0U, 0);
	for (int fd = 0; fd <= 2; fd++)
		fcntl(fd, F_SETFD, FD_CLOEXEC);
	/* Dispositions inherited as ignored would pass on to every child. */
	for (int sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			default_disposition(sig);
	if (fcntl(STDIN_FILENO, F_GETFD) < 0 || fcntl(STDOUT_FILENO, F_GETFD) < 0) {
		fprintf(stderr, "krill-spawn: stdin and stdout must be krilld's pipes\n");
		return 2;
	}
	set_nonblock(STDIN_FILENO);
	set_nonblock(STDOUT_FILENO);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGINT, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGQUIT, SIG_IGN);
	sigset_t chld;
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	if (sigprocmask(SIG_BLOCK, &chld, NULL) < 0)
		die("sigprocmask");
	sig_fd = signalfd(-1, &chld, SFD_NONBLOCK | SFD_CLOEXEC);
	ep = epoll_create1(EPOLL_CLOEXEC);
	out_ep = epoll_create1(EPOLL_CLOEXEC);
	if (sig_fd < 0 || ep < 0 || out_ep < 0)
		die("signalfd/epoll_create1");
	own_netns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (own_netns < 0)
		die("open /proc/self/ns/net");
	watch(ep, STDIN_FILENO, EPOLLIN, &tag_stdin);
	watch(ep, sig_fd, EPOLLIN, &tag_signal);

	struct epoll_event evs[64];
	for (;;) {
		update_watches();
		int n = epoll_wait(ep, evs, 64, next_timeout());
		if (n < 0) {
			if (errno == EINTR)
				continue;
			die("epoll_wait");
		}
		expire_dials();
		for (int i = 0; i < n; i++) {
			void *tag = evs[i].data.ptr;
			if (tag == &tag_stdin) {
				read_requests();
			} else if (tag == &tag_signal) {
				reap();
			} else if (tag == &tag_outputs) {
				read_outputs();
			} else if (tag != &tag_stdout) {
				struct pipe_end *p = tag;
				if (p->fd >= 0 && p->connecting)
					finish_connect(p);
				else if (p->fd >= 0)
					write_input(p);
			}
		}
		flush_replies();
		while (graveyard) {
			struct child *c = graveyard;
			graveyard = c->next;
			free(c->pipes);
			free(c);
		}
	}
}
