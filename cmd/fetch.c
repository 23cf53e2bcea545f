/*
 * cfgsync fetch: register, wait until this node's files are ready, fetch
 * them in one payload, write them all or nothing, and optionally exec the
 * rest of argv, so `cfgsync fetch ... -- app` is a whole entrypoint.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "artifacts.h"
#include "buf.h"
#include "cli.h"
#include "cmds.h"
#include "diag.h"
#include "errbuf.h"
#include "exitcode.h"
#include "node_client.h"
#include "output.h"
#include "banned.h"

#define FETCH_MAX_ROUTES	64

static const char usage[] =
    "usage: cfgsync fetch [-q] [--server URL] [--id IDENTIFIER] "
    "[--ip ADDRESS]\n"
    "           [--metadata JSON | --metadata-file FILE] "
    "[--token-file FILE]\n"
    "           [--cacert FILE] [--timeout SECONDS] [--poll-wait SECONDS]\n"
    "           [--max-payload BYTES] [--out DIR] [--route ARTIFACT=PATH ...]\n"
    "           [--print] [--no-register]\n"
    "           [-- COMMAND [ARG ...]]\n";

struct fetch_opts {
	struct output_route	 routes[FETCH_MAX_ROUTES];
	char			*route_args[FETCH_MAX_ROUTES];
	size_t			 nroutes;
	const char		*out_dir;
	int			 print;
};

static void
add_route(struct fetch_opts *fo, const char *artifact, const char *target)
{
	if (fo->nroutes == FETCH_MAX_ROUTES)
		cli_usage_error(usage, "more than %d routes", FETCH_MAX_ROUTES);
	if (target[0] == '\0' || artifact[0] == '\0')
		cli_usage_error(usage, "--route %s=%s: empty side", artifact,
		    target);
	fo->routes[fo->nroutes].artifact = artifact;
	fo->routes[fo->nroutes].target = target;
	fo->nroutes++;
}

/* --route ARTIFACT=PATH; the copy lives until exit. */
static void
route_opt(struct fetch_opts *fo, const char *arg)
{
	char *copy, *eq;

	if ((eq = strchr(arg, '=')) == NULL)
		cli_usage_error(usage, "--route %s: not ARTIFACT=PATH", arg);
	if (fo->nroutes == FETCH_MAX_ROUTES)
		cli_usage_error(usage, "more than %d routes", FETCH_MAX_ROUTES);
	if ((copy = strdup(arg)) == NULL)
		cli_die(EC_INTERNAL, "out of memory");
	fo->route_args[fo->nroutes] = copy;
	eq = copy + (eq - arg);
	*eq = '\0';
	add_route(fo, copy, eq + 1);
}

/* The CFG_* routes of the original client, after explicit --route. */
static void
env_routes(struct fetch_opts *fo)
{
	const char *v;

	if ((v = getenv("CFG_FILE_PATH")) != NULL && v[0] != '\0')
		add_route(fo, "config.yaml", v);
	if ((v = getenv("CFG_DEPLOYMENT_PATH")) != NULL && v[0] != '\0') {
		add_route(fo, "deployment.yaml", v);
		add_route(fo, "deployment-settings.yaml", v);
	}
}

enum {
	OPT_MAX_PAYLOAD = CLI_OPT_OWN,
	OPT_NO_REGISTER,
	OPT_OUT,
	OPT_POLL_WAIT,
	OPT_PRINT,
	OPT_ROUTE
};

int
cmd_fetch(int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_CLIENT_LONGOPTS,
		{ "help",	 no_argument,	    NULL, 'h' },
		{ "max-payload", required_argument, NULL, OPT_MAX_PAYLOAD },
		{ "no-register", no_argument,	    NULL, OPT_NO_REGISTER },
		{ "out",	 required_argument, NULL, OPT_OUT },
		{ "poll-wait",	 required_argument, NULL, OPT_POLL_WAIT },
		{ "print",	 no_argument,	    NULL, OPT_PRINT },
		{ "route",	 required_argument, NULL, OPT_ROUTE },
		{ NULL, 0, NULL, 0 }
	};
	struct cli_client client;
	struct fetch_opts fo;
	struct output_opts oo;
	struct artifact_set files;
	struct errbuf eb;
	struct buf raw;
	char **command = NULL;
	size_t i;
	int ch;

	memset(&fo, 0, sizeof(fo));
	cli_client_init(&client);
	while ((ch = getopt_long(argc, argv, "+hq", longopts, NULL)) != -1) {
		if (cli_client_opt(&client, usage, ch, optarg))
			continue;
		switch (ch) {
		case 'h':
			cli_help(usage);
		case OPT_NO_REGISTER:
			client.opts.no_register = 1;
			break;
		case OPT_MAX_PAYLOAD:
			client.opts.max_payload = cli_uint_opt(usage,
			    "--max-payload", optarg, 1024, 1UL << 34);
			break;
		case OPT_OUT:
			if (optarg[0] == '\0')
				cli_usage_error(usage, "--out: empty path");
			fo.out_dir = optarg;
			break;
		case OPT_POLL_WAIT:
			client.opts.poll_wait = (unsigned)cli_uint_opt(usage,
			    "--poll-wait", optarg, 0, 60);
			break;
		case OPT_PRINT:
			fo.print = 1;
			break;
		case OPT_ROUTE:
			route_opt(&fo, optarg);
			break;
		default:
			cli_bad_option(usage);
		}
	}
	if (optind < argc) {
		if (strcmp(argv[optind - 1], "--") != 0)
			cli_usage_error(usage, "unexpected argument %s "
			    "(a command goes after --)", argv[optind]);
		command = argv + optind;
	}
	env_routes(&fo);
	cli_client_finish(&client, usage);

	artifact_set_init(&files);
	buf_init(&raw, SIZE_MAX);	/* capped as it arrives */
	if (node_client_fetch(&client.opts, &files, fo.print ? &raw : NULL,
	    &eb) == -1)
		cli_die_eb(&eb);
	if (fo.print) {
		fwrite(raw.data, 1, raw.len, stdout);
		if (raw.len == 0 || raw.data[raw.len - 1] != '\n')
			putchar('\n');
	} else {
		memset(&oo, 0, sizeof(oo));
		oo.out_dir = fo.out_dir;
		oo.routes = fo.routes;
		oo.nroutes = fo.nroutes;
		oo.apply_owner = geteuid() == 0;
		if (output_install(&files, &oo, &eb) == -1)
			cli_die_eb(&eb);
		diag_info("wrote %zu files", files.len);
	}
	artifact_set_release(&files);
	buf_release(&raw);
	for (i = 0; i < fo.nroutes; i++)
		free(fo.route_args[i]);
	cli_client_release(&client);
	if (command == NULL)
		return EC_OK;
	if (cli_finish(EC_OK) != EC_OK)
		return EC_INTERNAL;
	execvp(command[0], command);
	cli_die(EC_INTERNAL, "exec %s: %s", command[0], strerror(errno));
}
