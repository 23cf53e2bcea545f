/*
 * Unit tests for lib/supervise: signal names and numbers, a shell command
 * run to its end, one killed with its whole group at the timeout, the
 * spawned child's clean signal state, and wait statuses as exit codes.
 */
#include "supervise.h"

#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "clock.h"
#include "banned.h"

static void
test_signal_parse(void)
{
	CHECK(supervise_signal_parse("HUP") == SIGHUP);
	CHECK(supervise_signal_parse("SIGHUP") == SIGHUP);
	CHECK(supervise_signal_parse("sigusr1") == SIGUSR1);
	CHECK(supervise_signal_parse("TERM") == SIGTERM);
	CHECK(supervise_signal_parse("1") == 1);
	CHECK(supervise_signal_parse("64") == 64);
	CHECK(supervise_signal_parse("0") == -1);
	CHECK(supervise_signal_parse("65") == -1);
	CHECK(supervise_signal_parse("100") == -1);
	CHECK(supervise_signal_parse("1x") == -1);
	CHECK(supervise_signal_parse("") == -1);
	CHECK(supervise_signal_parse("SIG") == -1);
	CHECK(supervise_signal_parse("NOPE") == -1);
	CHECK(supervise_signal_parse("SIGSIGHUP") == -1);
}

static void
test_run(void)
{
	struct errbuf eb;
	uint64_t t0;
	int status, timed_out;

	CHECK(supervise_run("exit 3", 5000, &status, &timed_out, &eb) == 0);
	CHECK(!timed_out && supervise_exit_code(status) == 3);
	CHECK(supervise_run("true", 0, &status, &timed_out, &eb) == 0);
	CHECK(!timed_out && supervise_exit_code(status) == 0);
	CHECK(supervise_run("kill -KILL $$", 5000, &status, &timed_out,
	    &eb) == 0);
	CHECK(!timed_out && supervise_exit_code(status) == 128 + SIGKILL);
	/* A shell that ignores SIGTERM is killed after the grace. */
	t0 = clock_ms();
	CHECK(supervise_run("trap '' TERM; sleep 20; sleep 20", 200, &status,
	    &timed_out, &eb) == 0);
	CHECK(timed_out);
	CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	CHECK(clock_ms() - t0 < 200 + SUPERVISE_KILL_GRACE_MS + 3000);
}

/* Whether pid is gone or a zombie, waiting at most a second. */
static int
gone(long pid)
{
	char path[64], line[256], *p;
	FILE *f;
	int i, dead = 0;

	(void)snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	for (i = 0; i < 50 && !dead; i++) {
		if ((f = fopen(path, "r")) == NULL)
			return 1;
		dead = fgets(line, sizeof(line), f) != NULL &&
		    (p = strrchr(line, ')')) != NULL && p[1] == ' ' &&
		    (p[2] == 'Z' || p[2] == 'X');
		fclose(f);
		if (!dead)
			usleep(20000);
	}
	return dead;
}

/* A group whose leader exits on SIGTERM loses its other members too. */
static void
test_run_group(void)
{
	char cmd[256], pidfile[] = "/tmp/test_supervise.XXXXXX";
	struct errbuf eb;
	FILE *f;
	long pid = 0;
	int fd, status, timed_out, n;

	if ((fd = mkstemp(pidfile)) == -1) {
		CHECK(0);
		return;
	}
	close(fd);
	n = snprintf(cmd, sizeof(cmd), "sleep 30 & echo $! >%s; wait",
	    pidfile);
	CHECK(n > 0 && (size_t)n < sizeof(cmd));
	CHECK(supervise_run(cmd, 300, &status, &timed_out, &eb) == 0);
	CHECK(timed_out);
	if ((f = fopen(pidfile, "r")) != NULL) {
		CHECK(fscanf(f, "%ld", &pid) == 1);
		fclose(f);
	}
	CHECK(pid > 0 && gone(pid));
	unlink(pidfile);
}

/* The child starts with nothing blocked, whatever the parent blocks. */
static void
test_spawn(void)
{
	char *argv[] = { "sh", "-c",
	    "grep -q '^SigBlk:[[:space:]]*0*$' /proc/self/status", NULL };
	char *missing[] = { "/nonexistent/cfgsync-test", NULL };
	struct errbuf eb;
	sigset_t set, old;
	pid_t pid;
	int err = 0, status = -1;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	CHECK(pthread_sigmask(SIG_BLOCK, &set, &old) == 0);
	CHECK(supervise_spawn(argv, &pid, &err, &eb) == 0);
	CHECK(waitpid(pid, &status, 0) == pid);
	CHECK(supervise_exit_code(status) == 0);
	CHECK(pthread_sigmask(SIG_SETMASK, &old, NULL) == 0);
	CHECK(supervise_spawn(missing, &pid, &err, &eb) == -1);
	CHECK(err == ENOENT);
}

int
main(int argc, char **argv)
{
	check_init(argc, argv);
	test_signal_parse();
	test_run();
	test_run_group();
	test_spawn();
	return check_done("test_supervise");
}
