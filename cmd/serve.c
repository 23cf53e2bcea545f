/*
 * cfgsync serve CONFIG: read the original's server config and serve as
 * its cfgsync-server does (SPEC 9), so a deployment built around the
 * original switches by replacing the binary.  The config is YAML:
 *
 *	port: 4400
 *	source:
 *	  kind: registration	# static | bundle (= static) | registration
 *	  artifacts_path: cfgsync.artifacts.yaml
 *
 * or the older form, port, bundle_path and serving_mode (bundle |
 * registration).  Paths are relative to the config file's directory;
 * keys it does not know are ignored, as the original ignores them.
 */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "buf.h"
#include "bundle.h"
#include "bundle_service.h"
#include "cli.h"
#include "cli_limits.h"
#include "cli_server.h"
#include "cmds.h"
#include "diag.h"
#include "errbuf.h"
#include "exitcode.h"
#include "fsx.h"
#include "http_server.h"
#include "node_auth.h"
#include "yamlx.h"
#include "banned.h"

#define CONFIG_MAX_SIZE		(1UL << 20)
#define CONFIG_MAX_NODES	10000
#define CONFIG_PORT_MAX		65535

struct serve_config {
	unsigned long		 port;
	enum bundle_service_kind kind;
	char			 artifacts[PATH_MAX];
};

/* The string at key of obj, or NULL; a value of another type is exit 7. */
static const char *
config_string(const char *file, struct json_object *obj, const char *key)
{
	struct json_object *v;		/* borrowed */

	if (!json_object_object_get_ex(obj, key, &v) || v == NULL)
		return NULL;
	if (!json_object_is_type(v, json_type_string))
		cli_die(EC_INVALID, "%s: %s: not a string", file, key);
	return json_object_get_string(v);
}

static enum bundle_service_kind
config_kind(const char *file, const char *key, const char *kind)
{
	if (strcmp(kind, "static") == 0 || strcmp(kind, "bundle") == 0)
		return BUNDLE_SERVICE_STATIC;
	if (strcmp(kind, "registration") == 0)
		return BUNDLE_SERVICE_REGISTRATION;
	cli_die(EC_INVALID, "%s: %s: %s is not static, bundle or registration",
	    file, key, kind);
}

/* Reads the config file into sc; dies naming the key that is wrong. */
static void
read_config(const char *file, struct serve_config *sc)
{
	struct json_object *doc = NULL, *source;	/* source: borrowed */
	struct yamlx_limits limits;
	struct errbuf eb;
	const char *port, *path, *kind, *slash;
	struct buf text;
	int n;

	buf_init(&text, CONFIG_MAX_SIZE);
	if (fsx_read_file(file, &text, &eb) == -1)
		cli_die_eb(&eb);
	yamlx_limits_init(&limits, CONFIG_MAX_SIZE, CONFIG_MAX_NODES);
	if (yamlx_parse(text.data, text.len, &limits, file, &doc, &eb) == -1)
		cli_die_eb(&eb);
	buf_release(&text);
	if (!json_object_is_type(doc, json_type_object))
		cli_die(EC_INVALID, "%s: not a mapping", file);
	if ((port = config_string(file, doc, "port")) == NULL)
		cli_die(EC_INVALID, "%s: port: missing", file);
	if (cli_parse_uint(port, 1, CONFIG_PORT_MAX, &sc->port) == -1)
		cli_die(EC_INVALID, "%s: port: %s is not a port number", file,
		    port);
	if (json_object_object_get_ex(doc, "source", &source) &&
	    source != NULL) {
		if (!json_object_is_type(source, json_type_object))
			cli_die(EC_INVALID, "%s: source: not a mapping", file);
		if ((kind = config_string(file, source, "kind")) == NULL)
			cli_die(EC_INVALID, "%s: source.kind: missing", file);
		sc->kind = config_kind(file, "source.kind", kind);
		if ((path = config_string(file, source,
		    "artifacts_path")) == NULL)
			cli_die(EC_INVALID, "%s: source.artifacts_path: "
			    "missing", file);
	} else {
		kind = config_string(file, doc, "serving_mode");
		sc->kind = kind == NULL ? BUNDLE_SERVICE_STATIC :
		    config_kind(file, "serving_mode", kind);
		if ((path = config_string(file, doc, "bundle_path")) == NULL)
			cli_die(EC_INVALID, "%s: neither source nor "
			    "bundle_path", file);
	}
	if (path[0] == '\0')
		cli_die(EC_INVALID, "%s: empty artifacts path", file);
	/* Relative to the config file's directory, as the original has it. */
	slash = strrchr(file, '/');
	if (path[0] == '/' || slash == NULL)
		n = snprintf(sc->artifacts, sizeof(sc->artifacts), "%s", path);
	else
		n = snprintf(sc->artifacts, sizeof(sc->artifacts), "%.*s/%s",
		    (int)(slash - file), file, path);
	if (n < 0 || (size_t)n >= sizeof(sc->artifacts))
		cli_die(EC_INVALID, "%s: artifacts path too long", file);
	json_object_put(doc);
}

static const struct cli_command serve_command = {
	.name = "serve",
	.operands = "CONFIG",
	.sets = { cli_server_options, cli_limits_options, NULL },
};

int
cmd_serve(int argc, char **argv)
{
	const struct http_route *routes;
	struct bundle_limits limits;
	struct bundle_service *bs;
	struct cli_served sv;
	struct serve_config sc;
	struct cli_server server;
	struct cli_parser p;
	struct http_server *srv;
	struct errbuf eb;
	const char *config = NULL;
	char listen[32];
	size_t nroutes;
	int id;

	bundle_limits_default(&limits);
	cli_server_init(&server);
	cli_parser_init(&p, &serve_command, argc, argv);
	while ((id = cli_next(&p)) != CLI_DONE) {
		if (cli_server_opt(&server, id, p.arg) ||
		    cli_limits_opt(&limits, id, p.arg))
			continue;
		cli_operand(&p, &config, 1, "one CONFIG");
	}
	cli_operands_end(&p, &config, 1, "one CONFIG");
	memset(&sc, 0, sizeof(sc));
	read_config(config, &sc);
	/* The config's port on every address, unless --listen says else. */
	if (server.listen[0] == '\0') {
		(void)snprintf(listen, sizeof(listen), "0.0.0.0:%lu", sc.port);
		server.cfg.listen = listen;
	}
	if ((bs = bundle_service_new(sc.artifacts, &limits, sc.kind,
	    &eb)) == NULL)
		cli_die_eb(&eb);
	sv.bs = bs;
	sv.what = "artifacts";
	sv.auth = cli_server_node_auth(&server, NULL);
	bundle_service_set_auth(bs, sv.auth);
	routes = bundle_service_routes(&nroutes);
	srv = cli_server_start(&server, routes, nroutes, bs,
	    bundle_service_metrics);
	diag_warn("serving %s (%s): %zu nodes", sc.artifacts,
	    sc.kind == BUNDLE_SERVICE_REGISTRATION ? "registration" :
	    "static", bundle_service_nodes(bs));
	cli_server_wait(cli_server_reload_bundle, &sv);
	http_server_stop(srv);
	bundle_service_free(bs);
	node_auth_free(sv.auth);
	cli_server_release(&server);
	return EC_OK;
}
