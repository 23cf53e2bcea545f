/*
 * Running the application's materializer (SPEC 4): PROGRAM is executed
 * directly (no shell) in its own process group with the snapshot on stdin;
 * its stdout is collected under a cap, its stderr goes to the log line by
 * line, and a run past its timeout has its whole process group killed and
 * reaped.  The outcome is classified as ready, not ready or failed.
 */
#ifndef CFGSYNC_MATERIALIZER_H
#define CFGSYNC_MATERIALIZER_H

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
};

struct materializer_result {
	enum materializer_outcome outcome;
	struct bundle	 bundle;	/* READY: owned; release it */
	char		 reason[MATERIALIZER_REASON_MAX];	/* FAILED */
	double		 seconds;	/* how long the run took */
	/* the last lines of its stderr, each ending in a newline */
	char		 stderr_tail[MATERIALIZER_TAIL_MAX];
};

/* How a run ended, as materializer_run saw it. */
struct materializer_exit {
	int		 status;	/* as waitpid(2) reports it */
	int		 overflow;	/* stdout went past max_output */
	int		 timed_out;	/* killed: timeout or cancel */
	int		 cancelled;	/* *cancel was set when it was killed */
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
 * Checks, before a server starts, that argv[0] names an executable regular
 * file (searched in PATH as a run searches it).  Returns 0, or -1 with
 * EC_USAGE saying what is wrong.
 */
int	materializer_check(const struct materializer *, struct errbuf *);

/*
 * Runs the materializer once with snapshot[0..len) on stdin and
 * CFGSYNC_GENERATION and CFGSYNC_REGISTRATIONS in its environment.  Fills
 * result (bundle_init'ed by this call).  Returns 0 whatever the program
 * did, or -1 with EC_INTERNAL when it could not be run at all (no pipe, no
 * fork); an unknown program is a FAILED outcome.
 */
int	materializer_run(const struct materializer *, const char *snapshot,
	    size_t len, unsigned long generation, size_t count,
	    struct materializer_result *, struct errbuf *);

#endif
