/*
 * Per-node credentials for the servers (--node-tokens, --bind-first): a
 * table of nodes and the SHA-256 digests of their tokens, so no token is
 * kept in clear.  Tokens come from a file of "IDENTIFIER TOKEN" lines or
 * a directory of one file per node, and are re-read on request (SIGHUP):
 * a bad new file keeps the old table.  With bind-first, the first
 * registration of an identifier not listed binds the token it presented;
 * the bindings may be kept in a file, one "IDENTIFIER HEXDIGEST" a line,
 * appended durably on each bind and rewritten on an unbind.
 *
 * Threads: every function may be called from any thread; one read-write
 * lock guards the tables, one mutex the bindings file.
 */
#ifndef CFGSYNC_NODE_AUTH_H
#define CFGSYNC_NODE_AUTH_H

#include <stddef.h>

struct errbuf;
struct http_request;
struct http_response;
struct node_auth;

/*
 * The longest token (a node's or the operator's), and the largest tokens
 * or bindings file.  A token travels in the request head, which the
 * server's per-connection pool caps at about 2.4 KiB (http_listen.c):
 * 1 KiB leaves as much again for the rest of the head.
 */
#define NODE_AUTH_TOKEN_MAX	1024
#define NODE_AUTH_FILE_MAX	(64UL << 20)
/* What --state FILE's bindings are kept beside it as. */
#define NODE_AUTH_BINDINGS_SUFFIX ".bindings"

enum node_auth_verdict {
	NODE_AUTH_DENY = 0,
	NODE_AUTH_ALLOW = 1,
	NODE_AUTH_FULL = 2		/* would bind past the cap */
};

/*
 * Makes the table: the nodes of tokens (a file or a directory; NULL for
 * none), first-come binding when bind_first, and the bindings kept in
 * bindings (NULL: in memory only), read back now.  Returns the table, or
 * NULL with EC_USAGE (a bad tokens file or directory, the message names
 * FILE:LINE or DIR/NAME), EC_INVALID (a bad bindings file) or
 * EC_INTERNAL.  Free it with node_auth_free.
 */
struct node_auth *node_auth_new(const char *tokens, int bind_first,
	    const char *bindings, struct errbuf *);

/*
 * Reads the tokens file or directory again and swaps the new table in.
 * Returns 0, or -1 with eb set as node_auth_new and the old table kept.
 * Without a tokens path, 0 at once.
 */
int	node_auth_reload(struct node_auth *, struct errbuf *);

/*
 * Caps the bindings at max (by default, none): a registration that would
 * bind one more is NODE_AUTH_FULL, until the operator deletes some.
 */
void	node_auth_set_max_bound(struct node_auth *, size_t max);

/* The number of nodes listed, and of those bound. */
size_t	node_auth_listed(struct node_auth *);
size_t	node_auth_bound(struct node_auth *);

/*
 * Finds the bearer token in an Authorization header value (or NULL): the
 * scheme in any case, blanks around.  Returns 0 with *token (borrowed
 * from header) and *len set, or -1 when there is none.
 */
int	node_auth_bearer(const char *header, const char **token, size_t *len);

/*
 * Whether the request's Authorization (header, or NULL) may act for the
 * node id: a listed node with its own token; an unlisted one, with
 * bind-first, with the token it is bound to, or when bind is set (its
 * registration) and it is not bound yet, with any token, which it then
 * binds (kept before this returns).  Returns NODE_AUTH_ALLOW,
 * NODE_AUTH_DENY, NODE_AUTH_FULL (past the cap of bindings), or -1 with EC_WRITE or EC_INTERNAL when a binding could
 * not be kept.
 */
int	node_auth_check(struct node_auth *, const char *id,
	    const char *header, int bind, struct errbuf *);

/*
 * Forgets the binding of id (its registration was deleted), so it may
 * bind again.  Returns 1, 0 when it had none, or -1 with EC_WRITE or
 * EC_INTERNAL when the bindings file could not be rewritten (the binding
 * is gone from memory all the same).
 */
int	node_auth_unbind(struct node_auth *, const char *id, struct errbuf *);

/*
 * The check every node-scoped handler makes once the identifier is
 * known: returns 0 when na is NULL, the request carries the operator's
 * token (req->is_operator) or node_auth_check allows it; else makes resp a
 * 401 unauthorized (the same for no token, a wrong one and another
 * node's), a 503 at the cap of bindings or a 500 when a binding could
 * not be kept, and returns -1.
 */
int	node_auth_request(struct node_auth *na, const struct http_request *,
	    struct http_response *, const char *id, int bind);

void	node_auth_free(struct node_auth *);

#endif
