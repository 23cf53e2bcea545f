/*
 * cfgsync fetch: register, wait until this node's files are ready, fetch
 * them in one payload, write them all or nothing, and optionally exec the
 * rest of argv, so `cfgsync fetch ... -- app` is a whole entrypoint.
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "artifacts.h"
#include "buf.h"
#include "cli.h"
#include "cli_client.h"
#include "cmds.h"
#include "diag.h"
#include "errbuf.h"
#include "exitcode.h"
#include "node_client.h"
#include "output.h"
#include "banned.h"

#define FETCH_MAX_ROUTES	64

struct fetch_opts {
	struct output_route	 routes[FETCH_MAX_ROUTES];
	char			*route_args[FETCH_MAX_ROUTES];
	size_t			 nroutes;
	const char		*out_dir;
	const char		*check_cmd;
	const char		*check_dir_cmd;
	unsigned		 check_timeout;
	int			 print;
};

static void
add_route(struct fetch_opts *fo, const char *artifact, const char *target)
{
	if (fo->nroutes == FETCH_MAX_ROUTES)
		cli_usage_error("more than %d routes", FETCH_MAX_ROUTES);
	if (target[0] == '\0' || artifact[0] == '\0')
		cli_usage_error("--route %s=%s: empty side", artifact,
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
		cli_usage_error("--route %s: not ARTIFACT=PATH", arg);
	if (fo->nroutes == FETCH_MAX_ROUTES)
		cli_usage_error("more than %d routes", FETCH_MAX_ROUTES);
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
	OPT_CHECK_CMD = CLI_OPT_OWN,
	OPT_CHECK_DIR_CMD,
	OPT_CHECK_TIMEOUT,
	OPT_MAX_PAYLOAD,
	OPT_NO_REGISTER,
	OPT_OUT,
	OPT_POLL_WAIT,
	OPT_PRINT,
	OPT_ROUTE
};

static const struct cli_option fetch_options[] = {
	{ "check-cmd", 0, "CMD", OPT_CHECK_CMD,
	    "run CMD on each staged file {} before any is written" },
	{ "check-dir-cmd", 0, "CMD", OPT_CHECK_DIR_CMD,
	    "run CMD once on a tree {} of the files to be" },
	{ "check-timeout", 0, "SECONDS", OPT_CHECK_TIMEOUT,
	    "give each check this long (default 30)" },
	{ "max-payload", 0, "BYTES", OPT_MAX_PAYLOAD,
	    "largest payload to accept (default 256 MiB)" },
	{ "no-register", 0, NULL, OPT_NO_REGISTER,
	    "skip POST /register, only poll for the files" },
	{ "out", 0, "DIR", OPT_OUT,
	    "write every file under DIR, never outside it" },
	{ "poll-wait", 0, "SECONDS", OPT_POLL_WAIT,
	    "long-poll this long (default 30; 0: plain polls)" },
	{ "print", 0, NULL, OPT_PRINT,
	    "print the payload JSON instead of writing files" },
	{ "route", 0, "ARTIFACT=PATH", OPT_ROUTE,
	    "write one artifact to PATH (repeatable)" },
	CLI_OPTIONS_END
};

static const struct cli_command fetch_command = {
	.name = "fetch",
	.operands = "[-- COMMAND [ARG ...]]",
	.sets = { cli_client_options, cli_client_identity_options,
	    fetch_options, NULL },
};

/* The exit status of a command that could not be run, as env(1) has it. */
static int
exec_status(int err)
{
	return err == ENOENT || err == ENOTDIR ? 127 : 126;
}

int
cmd_fetch(int argc, char **argv)
{
	struct cli_client client;
	struct cli_parser p;
	struct fetch_opts fo;
	struct output_opts oo;
	struct output_result res;
	struct artifact_set files;
	struct errbuf eb;
	struct buf raw;
	size_t i;
	int id, err;

	memset(&fo, 0, sizeof(fo));
	cli_client_init(&client);
	cli_parser_init(&p, &fetch_command, argc, argv);
	while ((id = cli_next(&p)) != CLI_DONE) {
		if (cli_client_opt(&client, id, p.arg))
			continue;
		switch (id) {
		case CLI_OPERAND:
			cli_usage_error("unexpected argument %s (a command "
			    "goes after --)", p.arg);
		case OPT_CHECK_CMD:
			fo.check_cmd = p.arg;
			break;
		case OPT_CHECK_DIR_CMD:
			fo.check_dir_cmd = p.arg;
			break;
		case OPT_CHECK_TIMEOUT:
			fo.check_timeout = (unsigned)cli_uint_opt(
			    "--check-timeout", p.arg, 1, 86400);
			break;
		case OPT_MAX_PAYLOAD:
			client.opts.max_payload = cli_uint_opt("--max-payload",
			    p.arg, 1024, 1UL << 34);
			break;
		case OPT_NO_REGISTER:
			client.opts.no_register = 1;
			break;
		case OPT_OUT:
			if (p.arg[0] == '\0')
				cli_usage_error("--out: empty path");
			fo.out_dir = p.arg;
			break;
		case OPT_POLL_WAIT:
			client.opts.poll_wait = (unsigned)cli_uint_opt(
			    "--poll-wait", p.arg, 0, 60);
			break;
		case OPT_PRINT:
			fo.print = 1;
			break;
		case OPT_ROUTE:
			route_opt(&fo, p.arg);
			break;
		}
	}
	env_routes(&fo);
	cli_client_finish(&client);

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
		oo.check_cmd = fo.check_cmd;
		oo.check_dir_cmd = fo.check_dir_cmd;
		oo.check_timeout = fo.check_timeout;
		oo.tmpdir = getenv("TMPDIR");
		oo.result = &res;
		/* A file over ulimit -f is EFBIG, exit 6, not a kill. */
		(void)signal(SIGXFSZ, SIG_IGN);
		if (output_install(&files, &oo, &eb) == -1)
			cli_die_eb(&eb);
		if (res.replayed > 0)
			diag_info("finished %zu renames of an interrupted "
			    "fetch", res.replayed);
		diag_info("wrote %zu files, %zu unchanged", res.written,
		    res.unchanged);
	}
	artifact_set_release(&files);
	buf_release(&raw);
	for (i = 0; i < fo.nroutes; i++)
		free(fo.route_args[i]);
	cli_client_release(&client);
	if (p.rest == NULL)
		return EC_OK;
	if (cli_finish(EC_OK) != EC_OK)
		return EC_INTERNAL;
	execvp(p.rest[0], p.rest);
	err = errno;
	diag_warn("exec %s: %s", p.rest[0], strerror(err));
	return exec_status(err);
}
