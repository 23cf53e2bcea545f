/*
 * cfgsync serve-bundle: serve a precomputed bundle.  Every node's 200 body
 * is rendered once when the bundle loads, so answering /node is a binary
 * search and a reference to a prepared response.  SIGHUP loads the bundle
 * anew and swaps it in; a bad new bundle is refused and the old one kept.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bundle.h"
#include "cli.h"
#include "cmds.h"
#include "diag.h"
#include "errbuf.h"
#include "exitcode.h"
#include "http_server.h"
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

/* A loaded bundle with every node's answer rendered. */
struct served {
	struct bundle		  bundle;	/* identifiers only, sorted */
	struct http_body	**bodies;	/* one per node, same order */
};

struct serve_bundle {
	const char		*path;
	struct bundle_limits	 limits;
	pthread_rwlock_t	 lock;		/* guards cur */
	struct served		*cur;
	unsigned long		 reloads;
	unsigned long		 reload_failures;
};

static void
served_free(struct served *s)
{
	size_t i;

	if (s == NULL)
		return;
	for (i = 0; s->bodies != NULL && i < s->bundle.nnodes; i++)
		http_body_free(s->bodies[i]);
	free(s->bodies);
	bundle_release(&s->bundle);
	free(s);
}

/* Loads and renders the bundle at path; NULL with eb set on failure. */
static struct served *
served_load(const char *path, const struct bundle_limits *limits,
    struct errbuf *eb)
{
	struct served *s;
	struct buf body;
	size_t i;

	if ((s = calloc(1, sizeof(*s))) == NULL) {
		errbuf_set(eb, EC_INTERNAL, "out of memory");
		return NULL;
	}
	bundle_init(&s->bundle);
	if (bundle_load_file(&s->bundle, path, limits, eb) == -1)
		goto fail;
	if (s->bundle.nnodes > 0 &&
	    (s->bodies = calloc(s->bundle.nnodes, sizeof(*s->bodies))) == NULL)
		goto nomem;
	buf_init(&body, SIZE_MAX);
	for (i = 0; i < s->bundle.nnodes; i++) {
		buf_reset(&body);
		if (protocol_render_payload(&body, &s->bundle.nodes[i].files,
		    &s->bundle.shared) == -1 ||
		    (s->bodies[i] = http_body_new(200, body.data,
		    body.len)) == NULL) {
			buf_release(&body);
			goto nomem;
		}
		/* Rendered: only the identifier is looked at from now on. */
		artifact_set_release(&s->bundle.nodes[i].files);
	}
	buf_release(&body);
	artifact_set_release(&s->bundle.shared);
	return s;
nomem:
	errbuf_set(eb, EC_INTERNAL, "out of memory");
fail:
	served_free(s);
	return NULL;
}

static void
unlock(void *arg)
{
	struct serve_bundle *sb = arg;

	pthread_rwlock_unlock(&sb->lock);
}

/* Parses the registration body; answers 400 itself when it is bad. */
static int
parse_body(struct http_request *req, struct http_response *resp,
    struct registration *reg)
{
	struct errbuf eb;

	memset(reg, 0, sizeof(*reg));
	if (registration_parse(reg, req->body, req->body_len, SIZE_MAX,
	    &eb) == -1) {
		http_response_error(resp, 400, PROTOCOL_BAD_REQUEST, "%s",
		    eb.msg);
		return -1;
	}
	memcpy(req->identifier, reg->identifier, sizeof(reg->identifier));
	return 0;
}

static void
on_register(void *ctx, struct http_request *req, struct http_response *resp)
{
	struct serve_bundle *sb = ctx;
	struct registration reg;
	int known;

	if (parse_body(req, resp, &reg) == -1)
		return;
	pthread_rwlock_rdlock(&sb->lock);
	known = bundle_find(&sb->cur->bundle, reg.identifier) != NULL;
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
	const struct bundle_node *node;
	struct registration reg;

	if (parse_body(req, resp, &reg) == -1)
		return;
	pthread_rwlock_rdlock(&sb->lock);
	node = bundle_find(&sb->cur->bundle, reg.identifier);
	if (node == NULL) {
		pthread_rwlock_unlock(&sb->lock);
		http_response_error(resp, 404, PROTOCOL_MISSING_CONFIG,
		    "missing config for host %s", reg.identifier);
	} else {
		/* Held until the prepared body is queued (it takes a ref). */
		resp->prepared = sb->cur->bodies[node - sb->cur->bundle.nodes];
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
	nodes = sb->cur->bundle.nnodes;
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
	struct served *fresh, *old;
	struct errbuf eb;

	if ((fresh = served_load(sb->path, &sb->limits, &eb)) == NULL) {
		__atomic_fetch_add(&sb->reload_failures, 1, __ATOMIC_RELAXED);
		diag_warn("reload refused, keeping the old bundle: %s", eb.msg);
		return;
	}
	pthread_rwlock_wrlock(&sb->lock);
	old = sb->cur;
	sb->cur = fresh;
	pthread_rwlock_unlock(&sb->lock);
	served_free(old);
	__atomic_fetch_add(&sb->reloads, 1, __ATOMIC_RELAXED);
	diag_warn("reloaded %s: %zu nodes", sb->path, fresh->bundle.nnodes);
}

static const struct http_route routes[] = {
	{ "POST", "/init-with-node", "init-with-node", on_node },
	{ "POST", "/node", "node", on_node },
	{ "POST", "/register", "register", on_register },
};

enum {
	OPT_MAX_ENTRIES = CLI_OPT_OWN,
	OPT_MAX_FILE_SIZE,
	OPT_MAX_TOTAL_SIZE
};

int
cmd_serve_bundle(int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_SERVER_LONGOPTS,
		{ "help",		no_argument,	   NULL, 'h' },
		{ "max-entries",	required_argument, NULL, OPT_MAX_ENTRIES },
		{ "max-file-size",	required_argument, NULL, OPT_MAX_FILE_SIZE },
		{ "max-total-size",	required_argument, NULL, OPT_MAX_TOTAL_SIZE },
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
		if (cli_server_opt(&server, usage, ch, optarg))
			continue;
		switch (ch) {
		case 'h':
			cli_help(usage);
		case OPT_MAX_ENTRIES:
			sb.limits.max_entries = cli_uint_opt(usage,
			    "--max-entries", optarg, 1, 100000000);
			break;
		case OPT_MAX_FILE_SIZE:
			sb.limits.max_file_size = cli_uint_opt(usage,
			    "--max-file-size", optarg, 1, 1UL << 40);
			break;
		case OPT_MAX_TOTAL_SIZE:
			sb.limits.max_total_size = cli_uint_opt(usage,
			    "--max-total-size", optarg, 1, 1UL << 40);
			break;
		default:
			cli_bad_option(usage);
		}
	}
	if (argc - optind != 1)
		cli_usage_error(usage, "expected one BUNDLE");
	sb.path = argv[optind];
	if ((sb.cur = served_load(sb.path, &sb.limits, &eb)) == NULL)
		cli_die_eb(&eb);
	pthread_rwlock_init(&sb.lock, NULL);
	srv = cli_server_start(&server, routes,
	    sizeof(routes) / sizeof(routes[0]), &sb, metrics);
	diag_warn("serving %s: %zu nodes", sb.path, sb.cur->bundle.nnodes);
	cli_server_wait(reload, &sb);
	http_server_stop(srv);
	served_free(sb.cur);
	pthread_rwlock_destroy(&sb.lock);
	cli_server_release(&server);
	return EC_OK;
}
