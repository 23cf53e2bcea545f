/*
 * The processes `fetch --watch` runs: the --on-change command, run to its
 * end under a timeout, and the supervised COMMAND, started with the
 * signal state a fresh process expects.  Only process primitives live
 * here (spawn, wait with a deadline, signal names); which signal goes
 * where and when is cmd/fetch.c's policy.  Nothing here exits or installs
 * a signal handler.
 */
#ifndef CFGSYNC_SUPERVISE_H
#define CFGSYNC_SUPERVISE_H

#include <sys/types.h>

struct errbuf;

/* How long a killed --on-change group gets between SIGTERM and SIGKILL. */
#define SUPERVISE_KILL_GRACE_MS	1000

/*
 * Parses a signal: "HUP", "SIGHUP" (any case) or a number from 1 to 64.
 * Returns the number, or -1 when s names none.
 */
int	supervise_signal_parse(const char *s);

/*
 * Starts argv[0], looked up in PATH, with argv and the environment, every
 * signal unblocked and SIGTERM, SIGINT, SIGHUP, SIGCHLD and SIGPIPE at
 * their defaults.  Returns 0 with the child in *pid, or -1 with *err the
 * errno of the failure (ENOENT: not found) and EC_INTERNAL in eb.
 */
int	supervise_spawn(char *const argv[], pid_t *pid, int *err,
	    struct errbuf *);

/*
 * Runs "/bin/sh -c cmd" in a process group of its own, as supervise_spawn
 * starts a child, and waits for it for at most timeout_ms (0: no limit);
 * past it, the whole group gets SIGTERM, then SIGKILL after
 * SUPERVISE_KILL_GRACE_MS, and *timed_out is set.  Returns 0 with the wait
 * status in *status, or -1 with EC_INTERNAL.
 */
int	supervise_run(const char *cmd, unsigned long timeout_ms, int *status,
	    int *timed_out, struct errbuf *);

/* A wait status as a shell's $?: the exit code, or 128 + the signal. */
int	supervise_exit_code(int status);

#endif
