/*
 * Serving a precomputed bundle: see bundle_service.h.
 */
#include "bundle_service.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "array.h"
#include "artifacts.h"
#include "buf.h"
#include "bundle_file.h"
#include "errbuf.h"
#include "exitcode.h"
#include "http_server.h"
#include "node_auth.h"
#include "node_request.h"
#include "payload_index.h"
#include "prom.h"
#include "protocol.h"
#include "registration.h"
#include "registry.h"
#include "banned.h"

struct bundle_service {
	const char		*path;		/* borrowed */
	struct bundle_limits	 limits;
	enum bundle_service_kind kind;
	struct registry		*registered;	/* REGISTRATION only */
	pthread_rwlock_t	 lock;		/* guards cur */
	struct payload_index	*cur;
	unsigned long		 reloads;	/* atomic */
	unsigned long		 reload_failures;	/* atomic */
	struct http_server	*srv;		/* borrowed; atomic */
	struct node_auth	*auth;		/* borrowed; NULL: none */
};

/* Resumes parked requests: the answers they wait on may have changed. */
static void
wake(struct bundle_service *bs)
{
	struct http_server *srv;

	if ((srv = __atomic_load_n(&bs->srv, __ATOMIC_ACQUIRE)) != NULL)
		http_server_wake(srv);
}

void
bundle_service_set_server(struct bundle_service *bs, struct http_server *srv)
{
	__atomic_store_n(&bs->srv, srv, __ATOMIC_RELEASE);
}

void
bundle_service_set_auth(struct bundle_service *bs, struct node_auth *na)
{
	bs->auth = na;
}

/* Loads the bundle at path, ready to serve; NULL with eb set on failure. */
static struct payload_index *
load(const char *path, const struct bundle_limits *limits, struct errbuf *eb)
{
	struct bundle b;

	bundle_init(&b);
	if (bundle_file_read(&b, path, limits, NULL, eb) == -1) {
		bundle_release(&b);
		return NULL;
	}
	return payload_index_new(&b, eb);
}

static void
unlock(void *arg)
{
	struct bundle_service *bs = arg;

	pthread_rwlock_unlock(&bs->lock);
}

static void
missing(struct http_response *resp, const char *identifier)
{
	http_response_error(resp, 404, PROTOCOL_MISSING_CONFIG,
	    "missing config for host %s", identifier);
}

static void
on_register(void *ctx, struct http_request *req, struct http_response *resp)
{
	struct bundle_service *bs = ctx;
	struct registration reg;
	struct errbuf eb;
	int known, r;

	if (node_request_parse(req, resp, &reg) == -1)
		return;
	if (bs->kind == BUNDLE_SERVICE_REGISTRATION) {
		/* As the original: any valid node may register. */
		if (node_auth_request(bs->auth, req, resp, reg.identifier,
		    1) == -1) {
			registration_release(&reg);
			return;
		}
		r = registry_put(bs->registered, &reg, time(NULL), &eb);
		if (r == -1)
			http_response_error(resp, 500, PROTOCOL_INTERNAL, "%s",
			    eb.msg);
		else if (r == REGISTRY_FULL)
			http_response_error(resp, 503, PROTOCOL_UNAVAILABLE,
			    "registration cap reached");
		else
			resp->status = 202;
		registration_release(&reg);
		return;
	}
	pthread_rwlock_rdlock(&bs->lock);
	known = payload_index_find(bs->cur, reg.identifier) != NULL;
	pthread_rwlock_unlock(&bs->lock);
	/* Only a node the bundle holds may bind a token. */
	if (node_auth_request(bs->auth, req, resp, reg.identifier,
	    known) == 0) {
		if (known)
			resp->status = 202;
		else
			missing(resp, reg.identifier);
	}
	registration_release(&reg);
}

static void
on_node(void *ctx, struct http_request *req, struct http_response *resp)
{
	struct bundle_service *bs = ctx;
	const struct http_body *body;
	struct registration reg;

	if (node_request_parse(req, resp, &reg) == -1)
		return;
	if (node_auth_request(bs->auth, req, resp, reg.identifier, 0) == -1) {
		registration_release(&reg);
		return;
	}
	if (bs->kind == BUNDLE_SERVICE_REGISTRATION &&
	    !registry_contains(bs->registered, reg.identifier)) {
		http_response_error(resp, 425, PROTOCOL_NOT_READY,
		    "config for host %s is not ready", reg.identifier);
		registration_release(&reg);
		return;
	}
	pthread_rwlock_rdlock(&bs->lock);
	if ((body = payload_index_find(bs->cur, reg.identifier)) == NULL) {
		pthread_rwlock_unlock(&bs->lock);
		missing(resp, reg.identifier);
	} else {
		/*
		 * Held until the prepared body is queued (it takes a ref).
		 * The server sends it, a variant of it, or a 304 that asks to
		 * wait (If-None-Match): parked, this runs again after a wake.
		 */
		resp->prepared = body;
		resp->done = unlock;
		resp->done_arg = bs;
	}
	registration_release(&reg);
}

/* POST /node/replace: the node is served these files from now on. */
static void
on_replace(void *ctx, struct http_request *req, struct http_response *resp)
{
	char id[REGISTRATION_ID_MAX + 1];
	struct bundle_service *bs = ctx;
	struct artifact_set files;
	struct errbuf eb;
	int rc;

	artifact_set_init(&files);
	if (protocol_parse_replace(id, &files, req->body, req->body_len,
	    SIZE_MAX, &eb) == -1) {
		artifact_set_release(&files);
		http_response_error(resp, 400, PROTOCOL_BAD_REQUEST, "%s",
		    eb.msg);
		return;
	}
	memcpy(req->identifier, id, sizeof(id));
	pthread_rwlock_wrlock(&bs->lock);
	rc = payload_index_override(bs->cur, id, &files, &eb);
	pthread_rwlock_unlock(&bs->lock);
	artifact_set_release(&files);
	if (rc == -1) {
		http_response_error(resp, 500, PROTOCOL_INTERNAL, "%s",
		    eb.msg);
		return;
	}
	resp->status = 202;
	wake(bs);
}

/* GET /status: what cfgsync status shows of a bundle server. */
static void
on_status(void *ctx, struct http_request *req, struct http_response *resp)
{
	struct bundle_service *bs = ctx;
	size_t nodes, overrides;

	pthread_rwlock_rdlock(&bs->lock);
	nodes = payload_index_nodes(bs->cur);
	overrides = payload_index_overrides(bs->cur);
	pthread_rwlock_unlock(&bs->lock);
	if (buf_addf(&resp->body, "{\"server\":\"bundle\",\"kind\":\"%s\","
	    "\"nodes\":%zu,\"overrides\":%zu,\"reloads\":{\"ok\":%lu,"
	    "\"refused\":%lu}",
	    bs->kind == BUNDLE_SERVICE_REGISTRATION ? "registration" :
	    "static", nodes, overrides,
	    __atomic_load_n(&bs->reloads, __ATOMIC_RELAXED),
	    __atomic_load_n(&bs->reload_failures, __ATOMIC_RELAXED)) == -1 ||
	    (bs->registered != NULL && buf_addf(&resp->body,
	    ",\"registrations\":%zu", registry_count(bs->registered)) == -1) ||
	    buf_adds(&resp->body, "}\n") == -1) {
		http_response_error(resp, 500, PROTOCOL_INTERNAL,
		    "out of memory");
		return;
	}
	resp->status = 200;
	(void)req;
}

static const struct http_route routes[] = {
	{ "POST", "/init-with-node", "init-with-node", on_node, HTTP_NODE },
	{ "POST", "/node", "node", on_node, HTTP_NODE },
	{ "POST", "/node/replace", "replace", on_replace, HTTP_OPERATOR },
	{ "POST", "/register", "register", on_register, HTTP_NODE },
	{ "GET", "/status", "status", on_status, HTTP_OPERATOR },
};

const struct http_route *
bundle_service_routes(size_t *nroutes)
{
	*nroutes = nitems(routes);
	return routes;
}

int
bundle_service_metrics(void *ctx, struct buf *b)
{
	static const struct prom_label ok = { "outcome", "ok" };
	static const struct prom_label refused = { "outcome", "refused" };
	struct bundle_service *bs = ctx;
	size_t nodes;

	pthread_rwlock_rdlock(&bs->lock);
	nodes = payload_index_nodes(bs->cur);
	pthread_rwlock_unlock(&bs->lock);
	return prom_family(b, "cfgsync_bundle_nodes", PROM_GAUGE,
	    "Nodes in the bundle being served.") |
	    prom_sample_u64(b, "cfgsync_bundle_nodes", NULL, 0, nodes) |
	    prom_family(b, "cfgsync_bundle_reloads_total", PROM_COUNTER,
	    "Bundle reloads on SIGHUP, by outcome.") |
	    prom_sample_u64(b, "cfgsync_bundle_reloads_total", &ok, 1,
	    __atomic_load_n(&bs->reloads, __ATOMIC_RELAXED)) |
	    prom_sample_u64(b, "cfgsync_bundle_reloads_total", &refused, 1,
	    __atomic_load_n(&bs->reload_failures, __ATOMIC_RELAXED));
}

struct bundle_service *
bundle_service_new(const char *path, const struct bundle_limits *limits,
    enum bundle_service_kind kind, struct errbuf *eb)
{
	struct bundle_service *bs;

	if ((bs = calloc(1, sizeof(*bs))) == NULL) {
		errbuf_set(eb, EC_INTERNAL, "out of memory");
		return NULL;
	}
	bs->path = path;
	bs->limits = *limits;
	bs->kind = kind;
	if (kind == BUNDLE_SERVICE_REGISTRATION &&
	    (bs->registered = registry_new(BUNDLE_SERVICE_MAX_REGISTRATIONS,
	    NULL, eb)) == NULL) {
		free(bs);
		return NULL;
	}
	if ((bs->cur = load(path, limits, eb)) == NULL) {
		registry_free(bs->registered);
		free(bs);
		return NULL;
	}
	pthread_rwlock_init(&bs->lock, NULL);
	return bs;
}

int
bundle_service_reload(struct bundle_service *bs, struct errbuf *eb)
{
	struct payload_index *fresh, *old;

	if ((fresh = load(bs->path, &bs->limits, eb)) == NULL)
		goto refused;
	pthread_rwlock_wrlock(&bs->lock);
	/* An override outlives the bundle it was set on. */
	if (payload_index_carry_overrides(fresh, bs->cur, eb) == -1) {
		pthread_rwlock_unlock(&bs->lock);
		payload_index_free(fresh);
		goto refused;
	}
	old = bs->cur;
	bs->cur = fresh;
	pthread_rwlock_unlock(&bs->lock);
	payload_index_free(old);
	__atomic_fetch_add(&bs->reloads, 1, __ATOMIC_RELAXED);
	wake(bs);
	return 0;
refused:
	__atomic_fetch_add(&bs->reload_failures, 1, __ATOMIC_RELAXED);
	return -1;
}

size_t
bundle_service_nodes(struct bundle_service *bs)
{
	size_t n;

	pthread_rwlock_rdlock(&bs->lock);
	n = payload_index_nodes(bs->cur);
	pthread_rwlock_unlock(&bs->lock);
	return n;
}

void
bundle_service_free(struct bundle_service *bs)
{
	if (bs == NULL)
		return;
	payload_index_free(bs->cur);
	registry_free(bs->registered);
	pthread_rwlock_destroy(&bs->lock);
	free(bs);
}
