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

#include "bundle.h"
#include "bundle_file.h"
#include "cli.h"
#include "cmds.h"
#include "diag.h"
#include "errbuf.h"
#include "exitcode.h"
#include "http_server.h"
#include "payload_index.h"
#include "protocol.h"
#include "registration.h"
#include "banned.h"

static const char usage[] =
    "usage: cfgsync serve-bundle [-q] [--listen [HOST:]PORT] "
    "[--port-file FILE]\n"
    "           [--token-file FILE] [--tls-cert FILE --tls-key FILE]\n"
    "           [--max-body BYTES] [--max-connections N] "
    "[--connection-timeout SECONDS]\n"
    "           [--threads N] [--log-format text|json] [--max-entries N]\n"
    "           [--max-file-size BYTES] [--max-total-size BYTES] BUNDLE\n";

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
	if (bundle_file_read(&b, path, limits, NULL, eb) == -1) {
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

	if (cli_request_registration(req, resp, &reg) == -1)
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

	if (cli_request_registration(req, resp, &reg) == -1)
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
	{ "POST", "/register", "register", on_register },
};

int
cmd_serve_bundle(int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_SERVER_LONGOPTS,
		{ "help",		no_argument,	   NULL, 'h' },
		CLI_LIMITS_LONGOPTS,
		{ NULL, 0, NULL, 0 }
	};
	struct serve_bundle sb;
	struct cli_server server;
	struct http_server *srv;
	struct errbuf eb;
	int ch;

	memset(&sb, 0, sizeof(sb));
	bundle_limits_default(&sb.limits);
	cli_server_init(&server);
	while ((ch = getopt_long(argc, argv, "+hq", longopts, NULL)) != -1) {
		if (cli_server_opt(&server, usage, ch, optarg) ||
		    cli_limits_opt(&sb.limits, usage, ch, optarg))
			continue;
		switch (ch) {
		case 'h':
			cli_help(usage);
		default:
			cli_bad_option(usage);
		}
	}
	if (argc - optind != 1)
		cli_usage_error(usage, "expected one BUNDLE");
	sb.path = argv[optind];
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
