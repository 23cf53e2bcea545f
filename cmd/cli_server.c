/*
 * The options every server takes and a server's life (cli_server.h).
 */
#include "cli_server.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bundle_service.h"
#include "diag.h"
#include "errbuf.h"
#include "exitcode.h"
#include "fsx.h"
#include "node_auth.h"
#include "tls_pin.h"
#include "banned.h"

#define CLI_PORT_MAX	65535

const struct cli_option cli_server_options[] = {
	{ "connection-timeout", 0, "SECONDS", CLI_OPT_CONN_TIMEOUT,
	    "close one idle or sending a request this long (30)" },
	{ "listen", 0, "[HOST:]PORT", CLI_OPT_LISTEN,
	    "where to listen (default 0.0.0.0:4400; port 0: any)" },
	{ "log-format", 0, "text|json", CLI_OPT_LOG_FORMAT,
	    "format of every log line (default text)" },
	{ "max-body", 0, "BYTES", CLI_OPT_MAX_BODY,
	    "largest request body (default 65536)" },
	{ "max-connections", 0, "N", CLI_OPT_MAX_CONNECTIONS,
	    "most connections at a time (default: open files)" },
	{ "max-connections-per-ip", 0, "N", CLI_OPT_MAX_CONN_PER_IP,
	    "most from one address (default 1/2; 0: no limit)" },
	{ "node-tokens", 0, "FILE|DIR", CLI_OPT_NODE_TOKENS,
	    "a token per node: IDENTIFIER TOKEN lines, or a DIR" },
	{ "port-file", 0, "FILE", CLI_OPT_PORT_FILE,
	    "write the port number here once listening" },
	{ "quiet", 'q', NULL, CLI_OPT_SERVER_QUIET,
	    "write no request log lines" },
	{ "threads", 0, "N", CLI_OPT_THREADS,
	    "HTTP worker threads (default one per core)" },
	{ "tls-cert", 0, "FILE", CLI_OPT_TLS_CERT,
	    "PEM certificate chain: serve HTTPS (with --tls-key)" },
	{ "tls-key", 0, "FILE", CLI_OPT_TLS_KEY,
	    "PEM private key of --tls-cert" },
	{ "token-file", 0, "FILE", CLI_OPT_SERVER_TOKEN_FILE,
	    "require the bearer token on the first line of FILE" },
	CLI_OPTIONS_END
};

const struct cli_option cli_bind_options[] = {
	{ "bind-first", 0, NULL, CLI_OPT_BIND_FIRST,
	    "a node's first registration binds the token it shows" },
	CLI_OPTIONS_END
};

void
cli_server_init(struct cli_server *s)
{
	memset(s, 0, sizeof(*s));
	http_server_config_init(&s->cfg);
}

/*
 * Checks "[HOST:]PORT" (HOST may be "[v6]"; empty or absent means every
 * address) and keeps it with the host spelled out.
 */
static void
listen_opt(struct cli_server *s, const char *arg)
{
	const char *colon = strrchr(arg, ':'), *port = arg;
	unsigned long v;
	int n;

	if (colon != NULL)
		port = colon + 1;
	if (cli_parse_uint(port, 0, CLI_PORT_MAX, &v) == -1)
		cli_usage_error("--listen %s: port %s is not a number from 0 "
		    "to %d", arg, port, CLI_PORT_MAX);
	if (colon == NULL || colon == arg)
		n = snprintf(s->listen, sizeof(s->listen), "0.0.0.0:%lu", v);
	else
		n = snprintf(s->listen, sizeof(s->listen), "%s", arg);
	if (n < 0 || (size_t)n >= sizeof(s->listen))
		cli_usage_error("--listen %s: too long", arg);
	s->cfg.listen = s->listen;
}

int
cli_server_opt(struct cli_server *s, int id, const char *arg)
{
	switch (id) {
	case CLI_OPT_CONN_TIMEOUT:
		s->cfg.connection_timeout = (unsigned)cli_uint_opt(
		    "--connection-timeout", arg, 1, 3600);
		break;
	case CLI_OPT_LISTEN:
		listen_opt(s, arg);
		break;
	case CLI_OPT_LOG_FORMAT:
		if (strcmp(arg, "json") == 0)
			s->cfg.log_json = 1;
		else if (strcmp(arg, "text") == 0)
			s->cfg.log_json = 0;
		else
			cli_usage_error("--log-format %s: not text or json",
			    arg);
		diag_set_json(s->cfg.log_json);
		break;
	case CLI_OPT_MAX_BODY:
		s->cfg.max_body = cli_uint_opt("--max-body", arg, 64,
		    64UL << 20);
		break;
	case CLI_OPT_MAX_CONNECTIONS:
		s->cfg.max_connections = (unsigned)cli_uint_opt(
		    "--max-connections", arg, 1, 1000000);
		break;
	case CLI_OPT_MAX_CONN_PER_IP:
		s->cfg.max_connections_per_ip = (unsigned)cli_uint_opt(
		    "--max-connections-per-ip", arg, 0, 1000000);
		break;
	case CLI_OPT_PORT_FILE:
		s->port_file = arg;
		break;
	case CLI_OPT_SERVER_QUIET:
		s->cfg.quiet = 1;
		break;
	case CLI_OPT_THREADS:
		s->cfg.threads = (unsigned)cli_uint_opt("--threads", arg, 1,
		    1024);
		break;
	case CLI_OPT_TLS_CERT:
		s->cfg.tls_cert = arg;
		break;
	case CLI_OPT_TLS_KEY:
		s->cfg.tls_key = arg;
		break;
	case CLI_OPT_NODE_TOKENS:
		s->node_tokens = arg;
		break;
	case CLI_OPT_BIND_FIRST:
		s->bind_first = 1;
		break;
	case CLI_OPT_SERVER_TOKEN_FILE:
		cli_token_free(s->token);
		s->token = cli_read_token(arg);
		s->cfg.token = s->token;
		break;
	default:
		return 0;
	}
	return 1;
}

void
cli_block_signals(void)
{
	sigset_t set;

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
}

struct http_server *
cli_server_start(struct cli_server *s, const struct http_route *routes,
    size_t nroutes, void *ctx, int (*metrics)(void *, struct buf *))
{
	struct http_server *srv;
	struct errbuf eb;
	char port[16], pin[TLS_PIN_LEN];
	int n;

	if ((s->cfg.tls_cert == NULL) != (s->cfg.tls_key == NULL))
		cli_die(EC_USAGE, "--tls-cert and --tls-key go together");
	cli_block_signals();
	s->cfg.routes = routes;
	s->cfg.nroutes = nroutes;
	s->cfg.ctx = ctx;
	s->cfg.metrics = metrics;
	if ((srv = http_server_start(&s->cfg, &eb)) == NULL)
		cli_die_eb(&eb);
	/* Nodes may trust the key itself: say what to pin. */
	if (s->cfg.tls_cert != NULL &&
	    tls_pin_of_cert(s->cfg.tls_cert, pin, &eb) == 0)
		diag_warn("listening on %s (key pin %s)", http_server_url(srv),
		    pin);
	else
		diag_warn("listening on %s", http_server_url(srv));
	if (s->port_file != NULL) {
		n = snprintf(port, sizeof(port), "%u\n", http_server_port(srv));
		if (fsx_write_atomic(s->port_file, port, (size_t)n, 0644,
		    &eb) == -1) {
			http_server_stop(srv);
			cli_die_eb(&eb);
		}
	}
	return srv;
}

void
cli_server_wait(void (*on_hup)(void *), void *arg)
{
	sigset_t set;
	int sig;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	for (;;) {
		if (sigwait(&set, &sig) != 0)
			continue;
		if (sig == SIGHUP) {
			if (on_hup != NULL)
				on_hup(arg);
			continue;
		}
		diag_warn("signal %d: stopping", sig);
		return;
	}
}

struct node_auth *
cli_server_node_auth(struct cli_server *s, const char *bindings)
{
	struct node_auth *na;
	struct errbuf eb;

	if (s->node_tokens == NULL && !s->bind_first)
		return NULL;
	if ((na = node_auth_new(s->node_tokens, s->bind_first, bindings,
	    &eb)) == NULL)
		cli_die_eb(&eb);
	s->cfg.node_auth = 1;
	if (s->node_tokens != NULL)
		diag_warn("node tokens %s: %zu nodes", s->node_tokens,
		    node_auth_listed(na));
	if (s->bind_first)
		diag_warn("bind-first: %zu nodes bound%s%s",
		    node_auth_bound(na), bindings != NULL ? ", kept in " : "",
		    bindings != NULL ? bindings : "");
	if (s->token == NULL)
		diag_warn("no --token-file: the operator's routes answer 401 "
		    "to every request");
	return na;
}

void
cli_server_node_auth_reload(struct node_auth *na)
{
	struct errbuf eb;

	if (na == NULL)
		return;
	if (node_auth_reload(na, &eb) == -1)
		diag_warn("node tokens: reload refused, keeping the old "
		    "table: %s", eb.msg);
	else
		diag_warn("node tokens: reloaded, %zu nodes",
		    node_auth_listed(na));
}

void
cli_server_release(struct cli_server *s)
{
	cli_token_free(s->token);
	s->token = NULL;
}

void
cli_server_reload_bundle(void *arg)
{
	struct cli_served *sv = arg;
	struct errbuf eb;

	cli_server_node_auth_reload(sv->auth);
	if (bundle_service_reload(sv->bs, &eb) == -1)
		diag_warn("reload refused, keeping the old %s: %s", sv->what,
		    eb.msg);
	else
		diag_warn("reloaded: %zu nodes", bundle_service_nodes(sv->bs));
}
