/*
 * cfgsync serve-bundle: serve a precomputed bundle (lib/bundle_service).
 * SIGHUP loads the bundle anew and swaps it in; a bad new bundle is
 * refused and the old one kept.
 */
#include "bundle.h"
#include "bundle_service.h"
#include "cli.h"
#include "cli_limits.h"
#include "cli_server.h"
#include "cmds.h"
#include "diag.h"
#include "errbuf.h"
#include "exitcode.h"
#include "http_server.h"
#include "node_auth.h"
#include "banned.h"

static const struct cli_command serve_bundle_command = {
	.name = "serve-bundle",
	.operands = "BUNDLE",
	.sets = { cli_server_options, cli_bind_options, cli_limits_options,
	    NULL },
};

int
cmd_serve_bundle(int argc, char **argv)
{
	const struct http_route *routes;
	struct bundle_limits limits;
	struct bundle_service *bs;
	struct cli_served sv;
	struct cli_server server;
	struct cli_parser p;
	struct http_server *srv;
	struct errbuf eb;
	const char *path = NULL;
	size_t nroutes;
	int id;

	bundle_limits_default(&limits);
	cli_server_init(&server);
	cli_parser_init(&p, &serve_bundle_command, argc, argv);
	while ((id = cli_next(&p)) != CLI_DONE) {
		if (cli_server_opt(&server, id, p.arg) ||
		    cli_limits_opt(&limits, id, p.arg))
			continue;
		cli_operand(&p, &path, 1, "one BUNDLE");
	}
	cli_operands_end(&p, &path, 1, "one BUNDLE");
	if ((bs = bundle_service_new(path, &limits, BUNDLE_SERVICE_STATIC,
	    &eb)) == NULL)
		cli_die_eb(&eb);
	sv.bs = bs;
	sv.what = "bundle";
	sv.auth = cli_server_node_auth(&server, NULL);
	bundle_service_set_auth(bs, sv.auth);
	routes = bundle_service_routes(&nroutes);
	srv = cli_server_start(&server, routes, nroutes, bs,
	    bundle_service_metrics);
	bundle_service_set_server(bs, srv);
	diag_warn("serving %s: %zu nodes", path, bundle_service_nodes(bs));
	cli_server_wait(cli_server_reload_bundle, &sv);
	bundle_service_set_server(bs, NULL);
	http_server_stop(srv);
	bundle_service_free(bs);
	node_auth_free(sv.auth);
	cli_server_release(&server);
	return EC_OK;
}
