/*
 * Running the materializer: see materializer.h.
 *
 * fork, not posix_spawn, because the child must do three things spawn
 * cannot before exec: close every descriptor past stderr (the server's
 * sockets must not leak into the program), unblock the signals the server
 * thread takes with sigwait, and restore SIGPIPE.  The child calls only
 * async-signal-safe functions; PATH is searched and the environment built
 * in the parent.
 */
#include "materializer.h"

#include <sys/param.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "buf.h"
#include "clock.h"
#include "diag.h"
#include "errbuf.h"
#include "exitcode.h"
#include "jsonx.h"
#include "banned.h"

#define STDERR_LINE_MAX	1024
#define STDERR_MAX	(256UL << 10)	/* logged per run, then cut */
#define KILL_GRACE_MS	2000
#define REAP_ROUNDS_MAX	50	/* scans for what a run left behind */
#define FD_FALLBACK_MAX	1024	/* closed in the child without sysconf */

/* Finds prog in PATH (from envp) the way execvp would; 0 or -1. */
static int
find_program(const char *prog, char *const *envp, char *out, size_t size)
{
	const char *path = "/usr/local/bin:/usr/bin:/bin", *p, *end;
	size_t i;
	int n;

	if (strchr(prog, '/') != NULL) {
		n = snprintf(out, size, "%s", prog);
		return n < 0 || (size_t)n >= size ? -1 : 0;
	}
	for (i = 0; envp != NULL && envp[i] != NULL; i++)
		if (strncmp(envp[i], "PATH=", 5) == 0)
			path = envp[i] + 5;
	for (p = path; ; p = end + 1) {
		end = strchr(p, ':');
		if (end == NULL)
			end = p + strlen(p);
		n = snprintf(out, size, "%.*s%s%s", (int)(end - p), p,
		    end == p ? "" : "/", prog);
		if (n > 0 && (size_t)n < size && access(out, X_OK) == 0)
			return 0;
		if (*end == '\0')
			return -1;
	}
}

/* envp plus the two CFGSYNC_ variables, in one allocation set. */
static char **
make_env(char *const *envp, unsigned long generation, size_t count,
    char *gen, size_t gensize, char *cnt, size_t cntsize)
{
	char **env;
	size_t n = 0, i, k = 0;

	while (envp != NULL && envp[n] != NULL)
		n++;
	if ((env = calloc(n + 3, sizeof(*env))) == NULL)
		return NULL;
	for (i = 0; i < n; i++)
		if (strncmp(envp[i], "CFGSYNC_GENERATION=", 19) != 0 &&
		    strncmp(envp[i], "CFGSYNC_REGISTRATIONS=", 22) != 0)
			env[k++] = envp[i];
	(void)snprintf(gen, gensize, "CFGSYNC_GENERATION=%lu", generation);
	(void)snprintf(cnt, cntsize, "CFGSYNC_REGISTRATIONS=%zu", count);
	env[k++] = gen;
	env[k++] = cnt;
	env[k] = NULL;
	return env;
}

/*
 * Closes every descriptor from lowfd below maxfd, in the child: maxfd
 * comes from sysconf in the parent, which is not async-signal-safe.
 */
static void
close_from(int lowfd, long maxfd)
{
#ifdef SYS_close_range
	if (syscall(SYS_close_range, (unsigned)lowfd, ~0U, 0) == 0)
		return;
#endif
	for (long fd = lowfd; fd < maxfd; fd++)
		(void)close((int)fd);
}

/* Returns 1 once the run must end: its deadline passed, or a cancel. */
static int
out_of_time(const struct materializer *m, uint64_t deadline)
{
	return clock_ms() >= deadline || (m->cancel != NULL &&
	    __atomic_load_n(m->cancel, __ATOMIC_RELAXED));
}

/* In the child, between fork and exec: async-signal-safe calls only. */
static void
child(const char *path, char *const *argv, char **env, int in, int out,
    int err, long maxfd)
{
	sigset_t none;

	/* A session of its own: its process group is ours to kill. */
	(void)setsid();
	sigemptyset(&none);
	(void)sigprocmask(SIG_SETMASK, &none, NULL);
	(void)signal(SIGPIPE, SIG_DFL);
	if (dup2(in, 0) == -1 || dup2(out, 1) == -1 || dup2(err, 2) == -1)
		_exit(127);
	close_from(3, maxfd);
	execve(path, argv, env);
	_exit(127);
}

/*
 * Keeps line at the end of tail, the last lines of the run's stderr for
 * GET /status, dropping the oldest whole lines to make room.
 */
static void
tail_add(char tail[MATERIALIZER_TAIL_MAX], const char *line, size_t len)
{
	size_t have = strlen(tail), cut;
	char *nl;

	if (len > MATERIALIZER_TAIL_MAX - 2) {
		line += len - (MATERIALIZER_TAIL_MAX - 2);
		len = MATERIALIZER_TAIL_MAX - 2;
	}
	while (have > 0 && have + len + 1 > MATERIALIZER_TAIL_MAX - 1) {
		nl = memchr(tail, '\n', have);
		cut = nl != NULL ? (size_t)(nl - tail) + 1 : have;
		memmove(tail, tail + cut, have - cut + 1);
		have -= cut;
	}
	memcpy(tail + have, line, len);
	tail[have + len] = '\n';
	tail[have + len + 1] = '\0';
}

/* Logs one line of the program's stderr and keeps it in the tail. */
static void
log_line(const char *p, size_t len, size_t *logged, char *tail)
{
	if (len > STDERR_LINE_MAX)
		len = STDERR_LINE_MAX;
	if (*logged < STDERR_MAX)
		diag_warn("materializer: %.*s", (int)len, p);
	tail_add(tail, p, len);
}

/* Logs complete lines of b (the program's stderr), keeps a partial one. */
static void
log_lines(struct buf *b, int flush, size_t *logged, char *tail)
{
	char *nl, *p = b->data;
	size_t len, rest;

	while (p != NULL && (nl = memchr(p, '\n', b->len - (size_t)(p -
	    b->data))) != NULL) {
		len = (size_t)(nl - p);
		log_line(p, len, logged, tail);
		*logged += len + 1;
		p = nl + 1;
	}
	if (p == NULL)
		return;
	rest = b->len - (size_t)(p - b->data);
	if (flush && rest > 0) {
		log_line(p, rest, logged, tail);
		rest = 0;
	}
	memmove(b->data, p, rest);
	b->len = rest;
	/* A line longer than the buffer is logged in pieces. */
	if (b->len >= STDERR_LINE_MAX) {
		log_line(b->data, STDERR_LINE_MAX, logged, tail);
		*logged += b->len;
		b->len = 0;
	}
}

void
materializer_classify(const struct materializer *m,
    const struct materializer_exit *ex, const char *out, size_t len,
    struct materializer_result *res)
{
	struct json_object *doc = NULL, *v;	/* v: borrowed */
	struct errbuf eb;
	int status = ex->status;

	bundle_init(&res->bundle);
	res->reason[0] = '\0';
	res->outcome = MATERIALIZER_FAILED;
	if (ex->overflow) {
		(void)snprintf(res->reason, sizeof(res->reason),
		    "materializer output over %zu bytes", m->max_output);
		return;
	}
	if (ex->timed_out && ex->cancelled) {
		(void)snprintf(res->reason, sizeof(res->reason),
		    "materializer stopped: the server is shutting down");
		return;
	}
	if (ex->timed_out) {
		(void)snprintf(res->reason, sizeof(res->reason),
		    "materializer ran past its timeout of %u s", m->timeout);
		return;
	}
	if (WIFSIGNALED(status)) {
		(void)snprintf(res->reason, sizeof(res->reason),
		    "materializer killed by signal %d", WTERMSIG(status));
		return;
	}
	if (WEXITSTATUS(status) == MATERIALIZER_EX_TEMPFAIL) {
		res->outcome = MATERIALIZER_TEMPFAIL;
		return;
	}
	if (WEXITSTATUS(status) != 0) {
		(void)snprintf(res->reason, sizeof(res->reason),
		    WEXITSTATUS(status) == 127 ? "materializer could not be "
		    "run (exit 127)" : "materializer exited %d",
		    WEXITSTATUS(status));
		return;
	}
	if (jsonx_parse(out != NULL ? out : "", len, m->max_output,
	    "materializer output", &doc, &eb) == -1) {
		(void)snprintf(res->reason, sizeof(res->reason), "%s", eb.msg);
		return;
	}
	if (json_object_is_type(doc, json_type_object) &&
	    json_object_object_get_ex(doc, "ready", &v) &&
	    json_object_is_type(v, json_type_boolean) &&
	    !json_object_get_boolean(v)) {
		res->outcome = MATERIALIZER_NOT_READY;
	} else if (bundle_from_json(&res->bundle, doc, &m->limits, &eb) ==
	    -1) {
		bundle_release(&res->bundle);
		(void)snprintf(res->reason, sizeof(res->reason),
		    "materializer output: %s", eb.msg);
	} else
		res->outcome = MATERIALIZER_READY;
	json_object_put(doc);
}

/*
 * Kills and reaps the processes the last run left behind: as we are a
 * subreaper, each is our child once its parent is gone.  Killing one may
 * hand us its own children, so the scan repeats until none is left.
 * serve-exec starts no other children, so every child is the run's.
 */
static void
reap_escaped(void)
{
	char path[16 + NAME_MAX], stat[512], *p;
	struct dirent *d;
	pid_t self = getpid(), ppid;
	int round, found, fd;
	ssize_t n;
	DIR *proc;

	for (round = 0; round < REAP_ROUNDS_MAX; round++) {
		if ((proc = opendir("/proc")) == NULL)
			return;
		found = 0;
		while ((d = readdir(proc)) != NULL) {
			if (d->d_name[0] < '1' || d->d_name[0] > '9')
				continue;
			n = snprintf(path, sizeof(path), "/proc/%s/stat",
			    d->d_name);
			if (n < 0 || (size_t)n >= sizeof(path) ||
			    (fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
				continue;
			n = read(fd, stat, sizeof(stat) - 1);
			close(fd);
			if (n <= 0)
				continue;
			stat[n] = '\0';
			/* "pid (comm) state ppid ...": comm may hold ")". */
			if ((p = strrchr(stat, ')')) == NULL ||
			    sscanf(p + 1, " %*c %d", &ppid) != 1 ||
			    ppid != self)
				continue;
			(void)kill((pid_t)strtol(d->d_name, NULL, 10),
			    SIGKILL);
			found = 1;
		}
		closedir(proc);
		while (waitpid(-1, NULL, WNOHANG) > 0)
			;
		if (!found)
			return;
		nanosleep(&(struct timespec){ 0, 10 * 1000000L }, NULL);
		while (waitpid(-1, NULL, WNOHANG) > 0)
			;
	}
}

int
materializer_run(const struct materializer *m, const char *snapshot,
    size_t len, unsigned long generation, size_t count,
    struct materializer_result *res, struct errbuf *eb)
{
	char path[PATH_MAX], gen[64], cnt[64], chunk[65536];
	int in[2] = { -1, -1 }, out[2] = { -1, -1 }, err[2] = { -1, -1 };
	struct materializer_exit ex;
	struct pollfd pfd[4];		/* stdout, stderr, stdin, the pidfd */
	struct buf outb, errb;
	char **env = NULL;
	size_t written = 0, logged = 0;
	uint64_t start = clock_ms(), deadline = 0, killed_at = 0;
	pid_t pid = -1;
	long maxfd;
	ssize_t n;
	int timed_out = 0, overflow = 0, rc = -1, npfd, i, pidfd = -1;
	int exited = 0;

	/*
	 * What the program starts and leaves behind (a daemon that called
	 * setsid, out of its process group) is reparented to us, not to
	 * init, so reap_escaped can find and end it.
	 */
	(void)prctl(PR_SET_CHILD_SUBREAPER, 1);
	memset(res, 0, sizeof(*res));
	memset(&ex, 0, sizeof(ex));
	bundle_init(&res->bundle);
	buf_init(&outb, m->max_output);
	buf_init(&errb, STDERR_LINE_MAX * 2);
	if (find_program(m->argv[0], m->envp, path, sizeof(path)) == -1) {
		res->outcome = MATERIALIZER_FAILED;
		(void)snprintf(res->reason, sizeof(res->reason),
		    "materializer %.100s: not found or not executable",
		    m->argv[0]);
		return 0;
	}
	if ((env = make_env(m->envp, generation, count, gen, sizeof(gen), cnt,
	    sizeof(cnt))) == NULL ||
	    pipe2(in, O_CLOEXEC) == -1 || pipe2(out, O_CLOEXEC) == -1 ||
	    pipe2(err, O_CLOEXEC) == -1) {
		errbuf_set(eb, EC_INTERNAL, "materializer: %s",
		    strerror(errno));
		goto out;
	}
	if ((maxfd = sysconf(_SC_OPEN_MAX)) < 0)
		maxfd = FD_FALLBACK_MAX;
	if ((pid = fork()) == -1) {
		errbuf_set(eb, EC_INTERNAL, "materializer: fork: %s",
		    strerror(errno));
		goto out;
	}
	if (pid == 0)
		child(path, m->argv, env, in[0], out[1], err[1], maxfd);
	/* Readable once the program itself has exited (Linux 5.3 on). */
	pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	close(in[0]);
	close(out[1]);
	close(err[1]);
	in[0] = out[1] = err[1] = -1;
	(void)fcntl(in[1], F_SETFL, O_NONBLOCK);
	(void)fcntl(out[0], F_SETFL, O_NONBLOCK);
	(void)fcntl(err[0], F_SETFL, O_NONBLOCK);
	deadline = start + (uint64_t)m->timeout * 1000u;
	while (out[0] != -1 || err[0] != -1) {
		npfd = 0;
		if (out[0] != -1)
			pfd[npfd++] = (struct pollfd){ out[0], POLLIN, 0 };
		if (err[0] != -1)
			pfd[npfd++] = (struct pollfd){ err[0], POLLIN, 0 };
		if (in[1] != -1)
			pfd[npfd++] = (struct pollfd){ in[1], POLLOUT, 0 };
		if (pidfd != -1 && !exited)
			pfd[npfd++] = (struct pollfd){ pidfd, POLLIN, 0 };
		if (killed_at == 0 && out_of_time(m, deadline)) {
			timed_out = 1;
			(void)kill(-pid, SIGKILL);
			killed_at = clock_ms();
		}
		/* A killed group whose pipes stay open (an escaped
		 * grandchild holding them) is not waited on for ever. */
		if (killed_at != 0 && clock_ms() >= killed_at + KILL_GRACE_MS)
			break;
		/* Short naps, so a cancel is seen within a poll interval. */
		if (poll(pfd, (nfds_t)npfd, exited ? 0 : killed_at != 0 ? 100 :
		    (int)MIN(deadline - clock_ms() + 1, 200)) == -1) {
			if (errno == EINTR)
				continue;
			break;
		}
		for (i = 0; i < npfd; i++) {
			/* Once it has exited, read each pipe dry, then stop. */
			if (exited && (pfd[i].fd == out[0] ||
			    pfd[i].fd == err[0]))
				pfd[i].revents |= POLLIN;
			if (pfd[i].revents == 0)
				continue;
			if (pfd[i].fd == pidfd) {
				exited = 1;
				continue;
			}
			if (pfd[i].fd == in[1]) {
				n = write(in[1], snapshot + written,
				    len - written);
				if (n > 0)
					written += (size_t)n;
				if (n == -1 && errno == EAGAIN)
					continue;
				if (n == -1 || written == len) {
					/* Done, or EPIPE: stopped reading. */
					close(in[1]);
					in[1] = -1;
				}
				continue;
			}
			n = read(pfd[i].fd, chunk, sizeof(chunk));
			if (n == -1 && errno == EAGAIN && exited) {
				/*
				 * The program exited and all it wrote is read:
				 * its output is complete, whoever still holds
				 * the pipe (a child that escaped the group).
				 */
				n = 0;
			} else if (n == -1 && (errno == EINTR ||
			    errno == EAGAIN))
				continue;
			if (n <= 0) {
				if (pfd[i].fd == out[0]) {
					close(out[0]);
					out[0] = -1;
				} else {
					close(err[0]);
					err[0] = -1;
				}
				continue;
			}
			if (pfd[i].fd == err[0]) {
				for (size_t k = 0; k < (size_t)n; k++) {
					if (buf_addc(&errb, chunk[k]) == -1)
						break;
					if (chunk[k] == '\n' ||
					    errb.len >= STDERR_LINE_MAX)
						log_lines(&errb, 0, &logged,
						    res->stderr_tail);
				}
			} else if (!overflow &&
			    buf_add(&outb, chunk, (size_t)n) == -1) {
				overflow = 1;
				(void)kill(-pid, SIGKILL);
				killed_at = clock_ms();
			}
		}
	}
	if (errb.len > 0)
		log_lines(&errb, 1, &logged, res->stderr_tail);
	/*
	 * Pipes closed; the program may still run: wait to its deadline.
	 * WNOWAIT leaves the exited leader a zombie, which keeps its
	 * process group id from being reused until the group kill below.
	 */
	for (;;) {
		siginfo_t si;

		memset(&si, 0, sizeof(si));
		if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG |
		    WNOWAIT) == -1) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (si.si_pid == pid)
			break;
		if (killed_at == 0 && out_of_time(m, deadline)) {
			timed_out = 1;
			(void)kill(-pid, SIGKILL);
			killed_at = clock_ms();
		}
		nanosleep(&(struct timespec){ 0, 5 * 1000000L }, NULL);
	}
	/* Nothing the program started outlives its run. */
	(void)kill(-pid, SIGKILL);
	while (waitpid(pid, &ex.status, 0) == -1 && errno == EINTR)
		;
	reap_escaped();
	res->seconds = (double)(clock_ms() - start) / 1000.0;
	ex.overflow = overflow;
	ex.timed_out = timed_out;
	ex.cancelled = m->cancel != NULL &&
	    __atomic_load_n(m->cancel, __ATOMIC_RELAXED);
	materializer_classify(m, &ex, outb.data, outb.len, res);
	rc = 0;
out:
	if (pidfd != -1)
		close(pidfd);
	for (i = 0; i < 2; i++) {
		if (in[i] != -1)
			close(in[i]);
		if (out[i] != -1)
			close(out[i]);
		if (err[i] != -1)
			close(err[i]);
	}
	free(env);
	buf_release(&outb);
	buf_release(&errb);
	return rc;
}

int
materializer_check(const struct materializer *m, struct errbuf *eb)
{
	char path[PATH_MAX];
	struct stat st;

	if (find_program(m->argv[0], m->envp, path, sizeof(path)) == -1)
		return errbuf_set(eb, EC_USAGE, "materializer %s: not found "
		    "in PATH", m->argv[0]);
	if (stat(path, &st) == -1)
		return errbuf_set(eb, EC_USAGE, "materializer %s: %s",
		    m->argv[0], strerror(errno));
	if (!S_ISREG(st.st_mode) || access(path, X_OK) == -1)
		return errbuf_set(eb, EC_USAGE, "materializer %s: not an "
		    "executable file", m->argv[0]);
	return 0;
}
