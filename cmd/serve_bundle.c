/*
 * cfgsync serve-bundle: serve a precomputed bundle, rendered once into a
 * payload_index when it loads, so answering /node is a lookup.  SIGHUP
 * loads the bundle anew and swaps it in; a bad new bundle is refused and
 * the old one kept.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "artifacts.h"
#include "bundle.h"
#include "cli.h"
#include "cli_limits.h"
#include "cli_server.h"
#include "cmds.h"
#include "diag.h"
#include "errbuf.h"
#include "exitcode.h"
#include "http_server.h"
#include "node_request.h"
#include "payload_index.h"
#include "protocol.h"
#include "registration.h"
#include "banned.h"

struct serve_bundle {
	const char		*path;
	struct bundle_limits	 limits;
	pthread_rwlock_t	 lock;		/* guards cur */
	struct payload_index	*cur;
	unsigned long		 reloads;
	unsigned long		 reload_failures;
};

/* Loads the bundle at path, ready to serve; NULL with eb set on failure. */
static struct payload_index *
load(const char *path, const struct bundle_limits *limits, struct errbuf *eb)
{
	struct bundle b;

	bundle_init(&b);
	if (bundle_load_file(&b, path, limits, eb) == -1) {
		bundle_release(&b);
		return NULL;
	}
	return payload_index_new(&b, eb);
}

static void
unlock(void *arg)
{
	struct serve_bundle *sb = arg;

	pthread_rwlock_unlock(&sb->lock);
}

static void
on_register(void *ctx, struct http_request *req, struct http_response *resp)
{
	struct serve_bundle *sb = ctx;
	struct registration reg;
	int known;

	if (node_request_parse(req, resp, &reg) == -1)
		return;
	pthread_rwlock_rdlock(&sb->lock);
	known = payload_index_find(sb->cur, reg.identifier) != NULL;
	pthread_rwlock_unlock(&sb->lock);
	if (known)
		resp->status = 202;
	else
		http_response_error(resp, 404, PROTOCOL_MISSING_CONFIG,
		    "missing config for host %s", reg.identifier);
	registration_release(&reg);
}

static void
on_node(void *ctx, struct http_request *req, struct http_response *resp)
{
	struct serve_bundle *sb = ctx;
	const struct http_body *body;
	struct registration reg;

	if (node_request_parse(req, resp, &reg) == -1)
		return;
	pthread_rwlock_rdlock(&sb->lock);
	if ((body = payload_index_find(sb->cur, reg.identifier)) == NULL) {
		pthread_rwlock_unlock(&sb->lock);
		http_response_error(resp, 404, PROTOCOL_MISSING_CONFIG,
		    "missing config for host %s", reg.identifier);
	} else {
		/* Held until the prepared body is queued (it takes a ref). */
		resp->prepared = body;
		resp->done = unlock;
		resp->done_arg = sb;
	}
	registration_release(&reg);
}

/* POST /node/replace: the node is served these files from now on. */
static void
on_replace(void *ctx, struct http_request *req, struct http_response *resp)
{
	char id[REGISTRATION_ID_MAX + 1];
	struct serve_bundle *sb = ctx;
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
	pthread_rwlock_wrlock(&sb->lock);
	rc = payload_index_override(sb->cur, id, &files, &eb);
	pthread_rwlock_unlock(&sb->lock);
	artifact_set_release(&files);
	if (rc == -1)
		http_response_error(resp, 500, PROTOCOL_INTERNAL, "%s",
		    eb.msg);
	else
		resp->status = 202;
}

static int
metrics(void *ctx, struct buf *b)
{
	struct serve_bundle *sb = ctx;
	size_t nodes;

	pthread_rwlock_rdlock(&sb->lock);
	nodes = payload_index_nodes(sb->cur);
	pthread_rwlock_unlock(&sb->lock);
	return buf_addf(b,
	    "# TYPE cfgsync_bundle_nodes gauge\ncfgsync_bundle_nodes %zu\n"
	    "# TYPE cfgsync_bundle_reloads_total counter\n"
	    "cfgsync_bundle_reloads_total{outcome=\"ok\"} %lu\n"
	    "cfgsync_bundle_reloads_total{outcome=\"refused\"} %lu\n",
	    nodes, __atomic_load_n(&sb->reloads, __ATOMIC_RELAXED),
	    __atomic_load_n(&sb->reload_failures, __ATOMIC_RELAXED));
}

static void
reload(void *arg)
{
	struct serve_bundle *sb = arg;
	struct payload_index *fresh, *old;
	struct errbuf eb;

	if ((fresh = load(sb->path, &sb->limits, &eb)) == NULL) {
		__atomic_fetch_add(&sb->reload_failures, 1, __ATOMIC_RELAXED);
		diag_warn("reload refused, keeping the old bundle: %s", eb.msg);
		return;
	}
	pthread_rwlock_wrlock(&sb->lock);
	/* An override outlives the bundle it was set on. */
	if (payload_index_carry_overrides(fresh, sb->cur, &eb) == -1) {
		pthread_rwlock_unlock(&sb->lock);
		payload_index_free(fresh);
		__atomic_fetch_add(&sb->reload_failures, 1, __ATOMIC_RELAXED);
		diag_warn("reload refused, keeping the old bundle: %s", eb.msg);
		return;
	}
	old = sb->cur;
	sb->cur = fresh;
	pthread_rwlock_unlock(&sb->lock);
	payload_index_free(old);
	__atomic_fetch_add(&sb->reloads, 1, __ATOMIC_RELAXED);
	diag_warn("reloaded %s: %zu nodes", sb->path,
	    payload_index_nodes(fresh));
}

static const struct http_route routes[] = {
	{ "POST", "/init-with-node", "init-with-node", on_node },
	{ "POST", "/node", "node", on_node },
	{ "POST", "/node/replace", "replace", on_replace },
	{ "POST", "/register", "register", on_register },
};

static const struct cli_command serve_bundle_command = {
	.name = "serve-bundle",
	.operands = "BUNDLE",
	.sets = { cli_server_options, cli_limits_options, NULL },
};

int
cmd_serve_bundle(int argc, char **argv)
{
	struct serve_bundle sb;
	struct cli_server server;
	struct cli_parser p;
	struct http_server *srv;
	struct errbuf eb;
	int id;

	memset(&sb, 0, sizeof(sb));
	bundle_limits_default(&sb.limits);
	cli_server_init(&server);
	cli_parser_init(&p, &serve_bundle_command, argc, argv);
	while ((id = cli_next(&p)) != CLI_DONE) {
		if (cli_server_opt(&server, id, p.arg) ||
		    cli_limits_opt(&sb.limits, id, p.arg))
			continue;
		if (sb.path != NULL)
			cli_usage_error("expected one BUNDLE, got %s and %s",
			    sb.path, p.arg);
		sb.path = p.arg;
	}
	if (p.rest != NULL && sb.path == NULL && p.nrest == 1)
		sb.path = p.rest[0];
	else if (p.rest != NULL)
		cli_usage_error("expected one BUNDLE");
	if (sb.path == NULL)
		cli_usage_error("expected one BUNDLE");
	if ((sb.cur = load(sb.path, &sb.limits, &eb)) == NULL)
		cli_die_eb(&eb);
	pthread_rwlock_init(&sb.lock, NULL);
	srv = cli_server_start(&server, routes,
	    sizeof(routes) / sizeof(routes[0]), &sb, metrics);
	diag_warn("serving %s: %zu nodes", sb.path,
	    payload_index_nodes(sb.cur));
	cli_server_wait(reload, &sb);
	http_server_stop(srv);
	payload_index_free(sb.cur);
	pthread_rwlock_destroy(&sb.lock);
	cli_server_release(&server);
	return EC_OK;
}
