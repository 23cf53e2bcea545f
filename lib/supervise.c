/*
 * Process primitives of `fetch --watch`: see supervise.h.
 *
 * posix_spawn rather than fork: the caller may have threads (the watch
 * runs beside the supervisor), and what a child needs before exec (a
 * clean signal mask, default dispositions, a process group) is all in
 * posix_spawnattr.  libcurl's sockets are opened close-on-exec.
 */
#include "supervise.h"

#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "errbuf.h"
#include "exitcode.h"
#include "banned.h"

#define SUPERVISE_SIGNAL_MAX	64
#define WAIT_STEP_MS		20

extern char **environ;

static const struct {
	const char	*name;
	int		 sig;
} signal_names[] = {
	{ "ABRT", SIGABRT },
	{ "ALRM", SIGALRM },
	{ "CONT", SIGCONT },
	{ "HUP", SIGHUP },
	{ "INT", SIGINT },
	{ "KILL", SIGKILL },
	{ "QUIT", SIGQUIT },
	{ "STOP", SIGSTOP },
	{ "TERM", SIGTERM },
	{ "TSTP", SIGTSTP },
	{ "USR1", SIGUSR1 },
	{ "USR2", SIGUSR2 },
	{ "WINCH", SIGWINCH },
};

int
supervise_signal_parse(const char *s)
{
	const char *name = s;
	unsigned long n = 0;
	size_t i;

	if (s[0] >= '0' && s[0] <= '9') {
		for (i = 0; s[i] != '\0'; i++) {
			if (s[i] < '0' || s[i] > '9' || i >= 2)
				return -1;
			n = n * 10 + (unsigned long)(s[i] - '0');
		}
		return n >= 1 && n <= SUPERVISE_SIGNAL_MAX ? (int)n : -1;
	}
	if (strncasecmp(name, "SIG", 3) == 0)
		name += 3;
	for (i = 0; i < sizeof(signal_names) / sizeof(signal_names[0]); i++)
		if (strcasecmp(name, signal_names[i].name) == 0)
			return signal_names[i].sig;
	return -1;
}

/* The attributes of every child: clean mask, default dispositions. */
static int
spawn_attr(posix_spawnattr_t *attr, int own_group)
{
	sigset_t none, def;
	short flags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF;

	if (posix_spawnattr_init(attr) != 0)
		return -1;
	sigemptyset(&none);
	sigemptyset(&def);
	sigaddset(&def, SIGTERM);
	sigaddset(&def, SIGINT);
	sigaddset(&def, SIGHUP);
	sigaddset(&def, SIGCHLD);
	sigaddset(&def, SIGPIPE);
	if (own_group)
		flags |= POSIX_SPAWN_SETPGROUP;
	if (posix_spawnattr_setsigmask(attr, &none) != 0 ||
	    posix_spawnattr_setsigdefault(attr, &def) != 0 ||
	    (own_group && posix_spawnattr_setpgroup(attr, 0) != 0) ||
	    posix_spawnattr_setflags(attr, flags) != 0) {
		posix_spawnattr_destroy(attr);
		return -1;
	}
	return 0;
}

int
supervise_spawn(char *const argv[], pid_t *pid, int *err, struct errbuf *eb)
{
	posix_spawnattr_t attr;
	int e;

	if (spawn_attr(&attr, 0) == -1) {
		*err = ENOMEM;
		return errbuf_set(eb, EC_INTERNAL, "spawn %s: out of memory",
		    argv[0]);
	}
	e = posix_spawnp(pid, argv[0], NULL, &attr, argv, environ);
	posix_spawnattr_destroy(&attr);
	if (e != 0) {
		*err = e;
		return errbuf_set(eb, EC_INTERNAL, "exec %s: %s", argv[0],
		    strerror(e));
	}
	return 0;
}

static void
sleep_ms(unsigned ms)
{
	struct timespec ts;

	ts.tv_sec = (time_t)(ms / 1000);
	ts.tv_nsec = (long)(ms % 1000) * 1000000L;
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/*
 * Waits for pid until the clock passes until_ms (0: no limit).  Returns 1
 * with *status, 0 at the deadline, -1 on a waitpid failure.
 */
static int
wait_until(pid_t pid, uint64_t until_ms, int *status)
{
	pid_t r;

	for (;;) {
		r = waitpid(pid, status, until_ms == 0 ? 0 : WNOHANG);
		if (r == pid)
			return 1;
		if (r == -1 && errno != EINTR)
			return -1;
		if (until_ms != 0 && clock_ms() >= until_ms)
			return 0;
		if (until_ms != 0)
			sleep_ms(WAIT_STEP_MS);
	}
}

int
supervise_run(const char *cmd, unsigned long timeout_ms, int *status,
    int *timed_out, struct errbuf *eb)
{
	char *argv[] = { "sh", "-c", NULL, NULL };
	posix_spawnattr_t attr;
	pid_t pid;
	int e, r;

	*timed_out = 0;
	argv[2] = (char *)cmd;
	if (spawn_attr(&attr, 1) == -1)
		return errbuf_set(eb, EC_INTERNAL, "out of memory");
	e = posix_spawn(&pid, "/bin/sh", NULL, &attr, argv, environ);
	posix_spawnattr_destroy(&attr);
	if (e != 0)
		return errbuf_set(eb, EC_INTERNAL, "spawn /bin/sh: %s",
		    strerror(e));
	r = wait_until(pid, timeout_ms ? clock_ms() + timeout_ms : 0, status);
	if (r == 0) {
		*timed_out = 1;
		(void)kill(-pid, SIGTERM);
		r = wait_until(pid, clock_ms() + SUPERVISE_KILL_GRACE_MS,
		    status);
		/* The group may outlive its leader: SIGKILL it either way. */
		(void)kill(-pid, SIGKILL);
		if (r == 0)
			r = wait_until(pid, 0, status);
	}
	if (r == -1)
		return errbuf_set(eb, EC_INTERNAL, "wait for /bin/sh: %s",
		    strerror(errno));
	return 0;
}

int
supervise_exit_code(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return EC_INTERNAL;
}
