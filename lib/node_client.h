/*
 * What a node does (SPEC 6): register, then poll POST /node until the
 * server has its files, retrying connection errors, 5xx and 425 with
 * capped exponential back-off and jitter until a deadline, using long polls
 * (?wait=) where the server holds them and plain polls where it does not.
 */
#ifndef CFGSYNC_NODE_CLIENT_H
#define CFGSYNC_NODE_CLIENT_H

#include <stddef.h>

struct artifact_set;
struct buf;
struct errbuf;

#define NODE_CLIENT_MAX_PAYLOAD	(256UL << 20)

struct node_client_opts {
	const char	*server;	/* URL, or URL,URL... */
	const char	*identifier;	/* checked by the caller */
	const char	*ip;		/* checked; NULL: the routed one */
	const char	*metadata;	/* raw JSON text, or NULL */
	const char	*token;		/* bearer token, or NULL */
	const char	*cacert;	/* CA file, or NULL */
	const char	*pin;		/* "sha256//BASE64", or NULL */
	unsigned	 timeout;	/* seconds; 0 waits forever */
	unsigned	 poll_wait;	/* long-poll seconds; 0: plain polls */
	int		 no_register;	/* skip POST /register */
	size_t		 max_payload;	/* cap on the 200 answer */
};

/*
 * Registers once, retrying until the deadline.  Returns 0, or -1 with
 * EC_MISSING (404), EC_INVALID (the server refused the data), EC_REMOTE
 * (401, or errors past the deadline) or EC_INTERNAL.
 */
int	node_client_register(const struct node_client_opts *, struct errbuf *);

/*
 * Sends files as what the server serves the node identifier from now on
 * (POST /node/replace), retrying until the deadline; the registration
 * fields of o other than identifier are not sent.  Returns 0, or -1 with
 * EC_MISSING, EC_INVALID (the server refused the files), EC_REMOTE or
 * EC_INTERNAL.
 */
int	node_client_replace(const struct node_client_opts *,
	    const struct artifact_set *files, struct errbuf *);

/*
 * Registers (unless no_register), waits and fetches this node's payload:
 * returns 0 with the checked files appended to files and the raw document
 * in raw (unless raw is NULL), or -1 with EC_MISSING, EC_TIMEOUT (still not
 * ready at the deadline), EC_REMOTE, EC_INVALID (a bad payload) or
 * EC_INTERNAL.
 */
int	node_client_fetch(const struct node_client_opts *,
	    struct artifact_set *files, struct buf *raw, struct errbuf *);

/*
 * Called with each new payload (the files checked, borrowed for the call):
 * returns 0 when it took the payload, 1 when it could not (the payload is
 * asked for and offered again after the back-off), or -1 with eb set to
 * stop the watch.
 */
typedef int node_client_payload_fn(void *arg,
	    const struct artifact_set *files, struct errbuf *eb);

/*
 * Fetches as node_client_fetch does, calls fn with the payload, then stays:
 * asks again with If-None-Match and the payload's ETag, held by a server
 * that parks such polls until the payload changes, and calls fn with each
 * payload that differs from the last one taken.  A 304, or the same bytes
 * again from a server that ignores If-None-Match, counts as unchanged and
 * is asked again after the back-off (at once after a held 304).  After
 * the first payload there is no deadline, and every failure but a failed
 * TLS verification or pin is retried with the back-off: a server that goes
 * away is waited for forever.  Returns only -1: with fn's eb when fn
 * failed, else with the codes of node_client_fetch (before the first
 * payload) or EC_REMOTE (a final TLS failure).
 */
int	node_client_watch(const struct node_client_opts *,
	    node_client_payload_fn *fn, void *arg, struct errbuf *eb);

#endif
