/*
 * Serving a precomputed bundle: the routes of `serve-bundle` and of the
 * original's servers over a payload_index rendered once when the bundle
 * loads, so answering /node is a lookup.  Reloading swaps a new index in
 * and keeps the old one when the new bundle is bad.  In the original's
 * registration kind a node must register before it is served: /register
 * takes any valid identifier, /node is 425 until then.
 *
 * Threads: the handlers run on the HTTP server's threads and a reload on
 * the caller's; one read-write lock guards the index, read by lookups and
 * taken for writing by a reload and by /node/replace.  A /node answer
 * holds the read lock until the HTTP server has queued the prepared body
 * (which takes its own reference), then releases it through the
 * response's done callback.
 */
#ifndef CFGSYNC_BUNDLE_SERVICE_H
#define CFGSYNC_BUNDLE_SERVICE_H

#include <stddef.h>

#include "bundle.h"

struct buf;
struct bundle_service;
struct errbuf;
struct http_route;
struct http_server;
struct node_auth;

/* Registrations the registration kind holds at most. */
#define BUNDLE_SERVICE_MAX_REGISTRATIONS	100000

enum bundle_service_kind {
	BUNDLE_SERVICE_STATIC,		/* serve every node it names */
	BUNDLE_SERVICE_REGISTRATION	/* serve a node once registered */
};

/*
 * Loads the bundle at path (borrowed for the service's life) within
 * limits.  Returns the service, or NULL with the codes of
 * bundle_file_read.
 */
struct bundle_service *bundle_service_new(const char *path,
	    const struct bundle_limits *, enum bundle_service_kind,
	    struct errbuf *);

/* The routes to hand the HTTP server, with the service as their ctx. */
const struct http_route *bundle_service_routes(size_t *nroutes);

/* Appends the service's metrics (Prometheus text) to b; 0 or -1. */
int	bundle_service_metrics(void *service, struct buf *);

/*
 * Loads the bundle again and swaps it in, with the overrides set so far.
 * Returns 0, or -1 with eb set, the old bundle still served.
 */
int	bundle_service_reload(struct bundle_service *, struct errbuf *);

/*
 * The server serving the routes (borrowed; NULL to forget it): woken
 * after a reload or a /node/replace, so a long poll parked on an
 * unchanged answer (If-None-Match) sees the new one.
 */
void	bundle_service_set_server(struct bundle_service *,
	    struct http_server *);

/*
 * The per-node credentials the node routes check (borrowed for the
 * service's life; NULL: none).  Set before the server starts.
 */
void	bundle_service_set_auth(struct bundle_service *, struct node_auth *);

/* The number of nodes the bundle names. */
size_t	bundle_service_nodes(struct bundle_service *);

void	bundle_service_free(struct bundle_service *);

#endif
