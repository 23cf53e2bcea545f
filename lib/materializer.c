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
#include "cgroup.h"
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
#define RUN_CHUNK	65536	/* bytes a pipe is read or written by */
#define RUN_CGROUP_PREFIX	"cfgsync-run-"	/* then PID-N */

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
	if (ex->input_failed) {
		(void)snprintf(res->reason, sizeof(res->reason),
		    "materializer input: out of memory");
		return;
	}
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
	/*
	 * Node by node first: a tree of the whole output is many times its
	 * size, and the peak of a server with every node parked.  What that
	 * parse does not decide (an error, {"ready": false}) is parsed whole,
	 * for the verdict and the message.
	 */
	if (out != NULL && bundle_parse_json_lean(&res->bundle, out, len,
	    m->max_output, &m->limits, "ready") == 0) {
		res->outcome = MATERIALIZER_READY;
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

ssize_t
materializer_mem_read(void *ctx, char *out, size_t size)
{
	struct materializer_mem *mem = ctx;
	size_t n = mem->len - mem->off;

	if (n > size)
		n = size;
	if (n > 0)
		memcpy(out, mem->data + mem->off, n);
	mem->off += n;
	return (ssize_t)n;
}

/* One run, from spawn to reap: what the steps below share. */
struct run {
	const struct materializer	*m;
	const struct materializer_input	*input;
	struct materializer_result	*res;
	struct cgroup	 cg;		/* path "": not in a cgroup */
	pid_t		 pid;
	int		 pidfd;		/* -1: none (before Linux 5.3) */
	int		 in, out, err;	/* our ends; -1 once closed */
	/* stdin: in_buf[in_off..in_len) is read from input, not written */
	char		 in_buf[RUN_CHUNK];
	size_t		 in_off, in_len;
	int		 input_failed;
	struct buf	 outb, errb;
	size_t		 logged;	/* bytes of stderr logged */
	uint64_t	 start, deadline, killed_at;
	int		 timed_out, overflow, exited;
	char		 chunk[RUN_CHUNK];	/* read from stdout, stderr */
};

/* How many runs this process made: each cgroup gets a name of its own. */
static unsigned long run_serial;	/* atomic */

/*
 * Kills the run's process group and, in a cgroup, everything in it (an
 * escaped daemon holding a pipe included), and notes when.
 */
static void
run_kill(struct run *r)
{
	(void)kill(-r->pid, SIGKILL);
	(void)cgroup_kill(&r->cg);
	if (r->killed_at == 0)
		r->killed_at = clock_ms();
}

/* Kills the run when it is out of time; 1 when it did, now or before. */
static int
run_check_time(struct run *r)
{
	if (r->killed_at == 0 && out_of_time(r->m, r->deadline)) {
		r->timed_out = 1;
		run_kill(r);
	}
	return r->killed_at != 0;
}

/*
 * Step 1: pipes, a cgroup of its own when the server has a writable one
 * (else the session alone), the child, its pidfd.  Returns 0, or -1 with
 * EC_INTERNAL when nothing could be started.
 */
static int
run_spawn(struct run *r, const char *path, char **env, struct errbuf *eb)
{
	int in[2] = { -1, -1 }, out[2] = { -1, -1 }, err[2] = { -1, -1 };
	struct errbuf cgeb;
	char name[64];
	long maxfd;
	int n;

	if (pipe2(in, O_CLOEXEC) == -1 || pipe2(out, O_CLOEXEC) == -1 ||
	    pipe2(err, O_CLOEXEC) == -1) {
		errbuf_set(eb, EC_INTERNAL, "materializer: %s",
		    strerror(errno));
		goto fail;
	}
	if ((maxfd = sysconf(_SC_OPEN_MAX)) < 0)
		maxfd = FD_FALLBACK_MAX;
	if (r->m->cgroup != NULL) {
		n = snprintf(name, sizeof(name), RUN_CGROUP_PREFIX "%ld-%lu",
		    (long)getpid(), __atomic_add_fetch(&run_serial, 1,
		    __ATOMIC_RELAXED));
		if (n < 0 || (size_t)n >= sizeof(name) ||
		    cgroup_make(&r->cg, r->m->cgroup, name, &cgeb) == -1)
			diag_warn("materializer: no cgroup for this run, its "
			    "session only: %s", n < 0 || (size_t)n >=
			    sizeof(name) ? "name too long" : cgeb.msg);
	}
	r->pid = r->cg.path[0] != '\0' ? cgroup_fork(&r->cg) : fork();
	if (r->pid == -1) {
		errbuf_set(eb, EC_INTERNAL, "materializer: fork: %s",
		    strerror(errno));
		goto fail;
	}
	if (r->pid == 0)
		child(path, r->m->argv, env, in[0], out[1], err[1], maxfd);
	r->res->in_cgroup = r->cg.path[0] != '\0';
	/* Readable once the program itself has exited (Linux 5.3 on). */
	r->pidfd = (int)syscall(SYS_pidfd_open, r->pid, 0);
	close(in[0]);
	close(out[1]);
	close(err[1]);
	r->in = in[1];
	r->out = out[0];
	r->err = err[0];
	(void)fcntl(r->in, F_SETFL, O_NONBLOCK);
	(void)fcntl(r->out, F_SETFL, O_NONBLOCK);
	(void)fcntl(r->err, F_SETFL, O_NONBLOCK);
	return 0;
fail:
	for (n = 0; n < 2; n++) {
		if (in[n] != -1)
			close(in[n]);
		if (out[n] != -1)
			close(out[n]);
		if (err[n] != -1)
			close(err[n]);
	}
	(void)cgroup_remove(&r->cg, NULL);
	return -1;
}

/* Closes *fd if open. */
static void
close_fd(int *fd)
{
	if (*fd != -1)
		close(*fd);
	*fd = -1;
}

/*
 * Step 2: writes what the pipe takes of the snapshot, reading the next
 * chunk from the input source when the last one is all written; closes
 * stdin at its end, or when the program stopped reading (EPIPE).
 */
static void
run_feed(struct run *r)
{
	ssize_t n;

	for (;;) {
		if (r->in_off == r->in_len) {
			n = r->input->read(r->input->ctx, r->in_buf,
			    sizeof(r->in_buf));
			if (n <= 0) {
				if (n == -1) {
					/* It would read a cut document. */
					r->input_failed = 1;
					run_kill(r);
				}
				close_fd(&r->in);
				return;
			}
			r->in_off = 0;
			r->in_len = (size_t)n;
		}
		n = write(r->in, r->in_buf + r->in_off, r->in_len - r->in_off);
		if (n > 0) {
			r->in_off += (size_t)n;
			continue;
		}
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			return;
		close_fd(&r->in);	/* EPIPE: it stopped reading */
		return;
	}
}

/* Adds what stderr gave to the lines to log. */
static void
run_stderr(struct run *r, size_t n)
{
	size_t k;

	for (k = 0; k < n; k++) {
		if (buf_addc(&r->errb, r->chunk[k]) == -1)
			break;
		if (r->chunk[k] == '\n' || r->errb.len >= STDERR_LINE_MAX)
			log_lines(&r->errb, 0, &r->logged,
			    r->res->stderr_tail);
	}
}

/*
 * Step 3: reads what *fd (stdout or stderr) holds: stdout is kept under
 * the cap (past it the run is killed), stderr logged line by line.
 * Closes *fd at its end, which is also when the program has exited and
 * the pipe is read dry: its output is complete, whoever still holds the
 * pipe (a child that escaped the group).
 */
static void
run_collect(struct run *r, int *fd)
{
	ssize_t n;

	n = read(*fd, r->chunk, sizeof(r->chunk));
	if (n == -1 && errno == EAGAIN && r->exited)
		n = 0;
	else if (n == -1 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		close_fd(fd);
		return;
	}
	if (fd == &r->err)
		run_stderr(r, (size_t)n);
	else if (!r->overflow && buf_add(&r->outb, r->chunk, (size_t)n) ==
	    -1) {
		r->overflow = 1;
		run_kill(r);
	}
}

/*
 * The pipes' loop: steps 2 and 3 as poll says, until stdout and stderr
 * are closed, or a killed run's pipes stay open past the grace (an
 * escaped grandchild holding them is not waited on for ever).
 */
static void
run_io(struct run *r)
{
	struct pollfd pfd[4];		/* stdout, stderr, stdin, the pidfd */
	int npfd, i, wait_ms;

	while (r->out != -1 || r->err != -1) {
		npfd = 0;
		if (r->out != -1)
			pfd[npfd++] = (struct pollfd){ r->out, POLLIN, 0 };
		if (r->err != -1)
			pfd[npfd++] = (struct pollfd){ r->err, POLLIN, 0 };
		if (r->in != -1)
			pfd[npfd++] = (struct pollfd){ r->in, POLLOUT, 0 };
		if (r->pidfd != -1 && !r->exited)
			pfd[npfd++] = (struct pollfd){ r->pidfd, POLLIN, 0 };
		if (run_check_time(r) &&
		    clock_ms() >= r->killed_at + KILL_GRACE_MS)
			break;
		/* Short naps, so a cancel is seen within a poll interval. */
		wait_ms = r->exited ? 0 : r->killed_at != 0 ? 100 :
		    (int)MIN(r->deadline - clock_ms() + 1, 200);
		if (poll(pfd, (nfds_t)npfd, wait_ms) == -1) {
			if (errno == EINTR)
				continue;
			break;
		}
		for (i = 0; i < npfd; i++) {
			/* Once it has exited, read each pipe dry, then stop. */
			if (r->exited && (pfd[i].fd == r->out ||
			    pfd[i].fd == r->err))
				pfd[i].revents |= POLLIN;
			if (pfd[i].revents == 0)
				continue;
			if (pfd[i].fd == r->pidfd)
				r->exited = 1;
			else if (pfd[i].fd == r->in)
				run_feed(r);
			else
				run_collect(r, pfd[i].fd == r->out ? &r->out :
				    &r->err);
		}
	}
	close_fd(&r->in);
	if (r->errb.len > 0)
		log_lines(&r->errb, 1, &r->logged, r->res->stderr_tail);
}

/*
 * Step 4: the pipes are closed, the program may still run: waits for its
 * own exit, to its deadline.  WNOWAIT leaves the exited leader a zombie,
 * which keeps its process group id from being reused until the group
 * kill of step 5.
 */
static void
run_wait_exit(struct run *r)
{
	siginfo_t si;

	for (;;) {
		memset(&si, 0, sizeof(si));
		if (waitid(P_PID, (id_t)r->pid, &si, WEXITED | WNOHANG |
		    WNOWAIT) == -1) {
			if (errno == EINTR)
				continue;
			return;
		}
		if (si.si_pid == r->pid)
			return;
		(void)run_check_time(r);
		nanosleep(&(struct timespec){ 0, 5 * 1000000L }, NULL);
	}
}

/* Reaps every child that has exited, without waiting. */
static void
reap_exited(void)
{
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
}

/*
 * Step 5: nothing the program started outlives its run.  Kills the
 * group, reaps the program for its status, then ends the rest of its
 * tree: the cgroup killed until empty and removed, or, without one, the
 * scan for what was reparented to us.
 */
static void
run_reap(struct run *r, int *status)
{
	(void)kill(-r->pid, SIGKILL);
	(void)cgroup_kill(&r->cg);
	while (waitpid(r->pid, status, 0) == -1 && errno == EINTR)
		;
	if (r->cg.path[0] != '\0') {
		if (cgroup_remove(&r->cg, reap_exited) == -1)
			diag_warn("materializer: cgroup %s still populated; "
			    "left behind", r->cg.path);
		reap_exited();
	} else
		reap_escaped();
}

int
materializer_run(const struct materializer *m,
    const struct materializer_input *input, unsigned long generation,
    size_t count, struct materializer_result *res, struct errbuf *eb)
{
	char path[PATH_MAX], gen[64], cnt[64];
	struct materializer_exit ex;
	struct run *r;
	char **env = NULL;
	int rc = -1;

	/*
	 * What the program starts and leaves behind (a daemon that called
	 * setsid, out of its process group) is reparented to us, not to
	 * init, so it can be found and ended, and reaped.
	 */
	(void)prctl(PR_SET_CHILD_SUBREAPER, 1);
	memset(res, 0, sizeof(*res));
	memset(&ex, 0, sizeof(ex));
	bundle_init(&res->bundle);
	if (find_program(m->argv[0], m->envp, path, sizeof(path)) == -1) {
		res->outcome = MATERIALIZER_FAILED;
		(void)snprintf(res->reason, sizeof(res->reason),
		    "materializer %.100s: not found or not executable",
		    m->argv[0]);
		return 0;
	}
	/* Two chunks of 64 KiB: on the heap, not a worker's stack. */
	if ((r = calloc(1, sizeof(*r))) == NULL ||
	    (env = make_env(m->envp, generation, count, gen, sizeof(gen),
	    cnt, sizeof(cnt))) == NULL) {
		free(r);
		return errbuf_set(eb, EC_INTERNAL, "materializer: out of "
		    "memory");
	}
	r->m = m;
	r->input = input;
	r->res = res;
	r->cg.dirfd = -1;
	r->pidfd = r->in = r->out = r->err = -1;
	buf_init(&r->outb, m->max_output);
	buf_init(&r->errb, STDERR_LINE_MAX * 2);
	r->start = clock_ms();
	r->deadline = r->start + (uint64_t)m->timeout * 1000u;
	if (run_spawn(r, path, env, eb) == -1)
		goto out;
	run_io(r);
	run_wait_exit(r);
	run_reap(r, &ex.status);
	res->seconds = (double)(clock_ms() - r->start) / 1000.0;
	ex.overflow = r->overflow;
	ex.timed_out = r->timed_out;
	ex.input_failed = r->input_failed;
	ex.cancelled = m->cancel != NULL &&
	    __atomic_load_n(m->cancel, __ATOMIC_RELAXED);
	materializer_classify(m, &ex, r->outb.data, r->outb.len, res);
	rc = 0;
out:
	close_fd(&r->pidfd);
	close_fd(&r->in);
	close_fd(&r->out);
	close_fd(&r->err);
	free(env);
	buf_release(&r->outb);
	buf_release(&r->errb);
	free(r);
	return rc;
}

void
materializer_sweep(const char *dir)
{
	struct errbuf eb;
	struct cgroup cg;
	struct dirent *d;
	long pid;
	unsigned long n;
	char end;
	DIR *parent;

	if ((parent = opendir(dir)) == NULL)
		return;
	while ((d = readdir(parent)) != NULL) {
		if (sscanf(d->d_name, RUN_CGROUP_PREFIX "%ld-%lu%c", &pid, &n,
		    &end) != 2 || pid <= 0 || pid == (long)getpid() ||
		    kill((pid_t)pid, 0) == 0 || errno != ESRCH)
			continue;
		if (cgroup_open(&cg, dir, d->d_name, &eb) == -1)
			continue;
		diag_warn("materializer: removing %s, left by a server that "
		    "is gone", cg.path);
		if (cgroup_remove(&cg, reap_exited) == -1)
			diag_warn("materializer: %s/%s still populated",
			    dir, d->d_name);
	}
	closedir(parent);
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
