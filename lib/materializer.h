/*
 * Running the application's materializer (SPEC 4): PROGRAM is executed
 * directly (no shell) in its own session, and in a cgroup of its own when
 * the server's cgroup v2 directory is writable, with the snapshot on
 * stdin, streamed from an input source as the pipe takes it; its stdout is
 * collected under a cap, its stderr goes to the log line by line.  At the
 * end of a run (its exit, its timeout, a cancel) its whole tree is killed
 * and reaped: the cgroup, or else the process group and a scan of the
 * processes reparented to the server.  The outcome is classified as
 * ready, not ready or failed.
 */
#ifndef CFGSYNC_MATERIALIZER_H
#define CFGSYNC_MATERIALIZER_H

#include <sys/types.h>

#include <stddef.h>

#include "bundle.h"

struct errbuf;

#define MATERIALIZER_TIMEOUT		30
#define MATERIALIZER_MAX_OUTPUT		(64UL << 20)
#define MATERIALIZER_EX_TEMPFAIL	75
#define MATERIALIZER_REASON_MAX		320
#define MATERIALIZER_TAIL_MAX		1024	/* of stderr, for status */

enum materializer_outcome {
	MATERIALIZER_READY,	/* a bundle in result->bundle */
	MATERIALIZER_NOT_READY,	/* {"ready":false} */
	MATERIALIZER_TEMPFAIL,	/* exit 75: not ready, ask again later */
	MATERIALIZER_FAILED	/* result->reason says why */
};

struct materializer {
	char *const	*argv;		/* borrowed; argv[0] searched in PATH */
	char *const	*envp;		/* borrowed base environment */
	unsigned	 timeout;	/* seconds */
	size_t		 max_output;	/* bytes of stdout */
	struct bundle_limits limits;	/* on the bundle it prints */
	/* when *cancel turns 1, kill and fail */
	const int	*cancel;
	/*
	 * borrowed: a cgroup v2 directory (cgroup_probe's) under which each
	 * run gets a cgroup of its own; NULL: the session and the scan
	 */
	const char	*cgroup;
};

/*
 * Where a run's stdin comes from: read(ctx, out, size) copies up to size
 * next bytes to out and returns their number, 0 at the end, or -1 (out
 * of memory: the run is killed and fails).
 */
struct materializer_input {
	ssize_t		(*read)(void *ctx, char *out, size_t size);
	void		*ctx;
};

/* An input from memory: data[off..len) is what is left to read. */
struct materializer_mem {
	const char	*data;		/* borrowed */
	size_t		 len, off;
};

/* The read of a struct materializer_mem (ctx); never fails. */
ssize_t	materializer_mem_read(void *ctx, char *out, size_t size);

struct materializer_result {
	enum materializer_outcome outcome;
	struct bundle	 bundle;	/* READY: owned; release it */
	char		 reason[MATERIALIZER_REASON_MAX];	/* FAILED */
	double		 seconds;	/* how long the run took */
	int		 in_cgroup;	/* it ran in a cgroup of its own */
	/* the last lines of its stderr, each ending in a newline */
	char		 stderr_tail[MATERIALIZER_TAIL_MAX];
};

/* How a run ended, as materializer_run saw it. */
struct materializer_exit {
	int		 status;	/* as waitpid(2) reports it */
	int		 overflow;	/* stdout went past max_output */
	int		 timed_out;	/* killed: timeout or cancel */
	int		 cancelled;	/* *cancel was set when it was killed */
	int		 input_failed;	/* the input source failed */
};

/*
 * Classifies a run that ended as ex says, having written out[0..len) on
 * stdout (SPEC 4): exit 0 with a bundle is READY, exit 0 with
 * {"ready":false} NOT_READY, exit 75 TEMPFAIL, anything else FAILED with
 * a one-line reason.  Fills result's outcome, reason and bundle (which it
 * bundle_init's; READY: the caller releases it) and leaves its seconds
 * alone.  Runs nothing and reads no clock, so it can be tested alone.
 */
void	materializer_classify(const struct materializer *,
	    const struct materializer_exit *, const char *out, size_t len,
	    struct materializer_result *);

/*
 * Kills and removes the run cgroups under dir (cgroup_probe's) that a
 * server which is gone left behind (killed before its runs ended).
 */
void	materializer_sweep(const char *dir);

/*
 * Checks, before a server starts, that argv[0] names an executable regular
 * file (searched in PATH as a run searches it).  Returns 0, or -1 with
 * EC_USAGE saying what is wrong.
 */
int	materializer_check(const struct materializer *, struct errbuf *);

/*
 * Runs the materializer once with what input yields on stdin (read a
 * chunk at a time as the pipe takes it, so the snapshot is never held
 * whole) and CFGSYNC_GENERATION and CFGSYNC_REGISTRATIONS in its
 * environment.  Fills result (bundle_init'ed by this call).  Returns 0
 * whatever the program did, or -1 with EC_INTERNAL when it could not be
 * run at all (no pipe, no fork, no memory); an unknown program is a
 * FAILED outcome.
 */
int	materializer_run(const struct materializer *,
	    const struct materializer_input *input, unsigned long generation,
	    size_t count, struct materializer_result *, struct errbuf *);

#endif
