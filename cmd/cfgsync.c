/*
 * cfgsync: the dispatcher.  Global options, `help`, `--version`, the
 * sorted command table, and the fallback that runs `cfgsync-NAME` from
 * PATH for a name not in the table (extension commands in any language).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "cmds.h"
#include "diag.h"
#include "exitcode.h"
#include "banned.h"

struct command {
	const char	*name;
	int		(*run)(int argc, char **argv);
	const char	*summary;	/* one line for `cfgsync help` */
};

static const struct command commands[] = {	/* sorted by name */
	{ "bundle",	 cmd_bundle,
	    "pack, list, unpack or check a bundle" },
	{ "fetch",	 cmd_fetch,
	    "register, wait, write files, exec" },
	{ "register",	 cmd_register,	   "register this node, nothing else" },
	{ "serve-bundle", cmd_serve_bundle, "serve a precomputed bundle" },
	{ "serve-exec",	 cmd_serve_exec,
	    "serve what a materializer decides" },
};

static const char usage[] =
    "usage: cfgsync [--version] [help] COMMAND [ARGS]\n";

static void
list_commands(FILE *f)
{
	size_t i;

	fputs(usage, f);
	fputs("\ncommands:\n", f);
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-14s %s\n", commands[i].name,
		    commands[i].summary);
	fputs("\n'cfgsync COMMAND --help' shows a command's options;"
	    " 'cfgsync-NAME' on PATH\nadds a command NAME.\n", f);
}

static const struct command *
find_command(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

/* Runs cfgsync-NAME from PATH with the rest of argv; returns on failure. */
static int
run_extension(int argc, char **argv)
{
	char prog[NAME_MAX + 1], *name = argv[0];
	int n;

	(void)argc;
	if (strchr(name, '/') != NULL)
		return -1;
	n = snprintf(prog, sizeof(prog), "cfgsync-%s", name);
	if (n < 0 || (size_t)n >= sizeof(prog))
		return -1;
	argv[0] = prog;
	execvp(prog, argv);
	/* prog dies with this frame: give the caller its name back. */
	argv[0] = name;
	if (errno != ENOENT)
		cli_die(EC_INTERNAL, "exec %s: %s", prog, strerror(errno));
	/* The caller names the command the user typed. */
	argv[0] = name;
	return -1;
}

int
main(int argc, char **argv)
{
	static char progname[64];
	const struct command *cmd;
	char *help_argv[3];

	cli_init(NULL);
	if (argc < 2) {
		fputs(usage, stderr);
		return EC_USAGE;
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf("cfgsync %s\n", CFGSYNC_VERSION);
		return cli_finish(EC_OK);
	}
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
	    (strcmp(argv[1], "help") == 0 && argc == 2)) {
		list_commands(stdout);
		return cli_finish(EC_OK);
	}
	if (strcmp(argv[1], "help") == 0) {
		/* "cfgsync help fetch" is "cfgsync fetch --help". */
		help_argv[0] = argv[2];
		help_argv[1] = "--help";
		help_argv[2] = NULL;
		argc = 2;
		argv = help_argv;
	} else {
		argc--;
		argv++;
	}
	if (argv[0][0] == '-') {
		diag_warn("unknown option %s", argv[0]);
		fputs(usage, stderr);
		return EC_USAGE;
	}
	if ((cmd = find_command(argv[0])) != NULL) {
		cli_init(cmd->name);
		/* getopt's own messages then read "cfgsync: fetch: ...". */
		(void)snprintf(progname, sizeof(progname), "cfgsync: %s",
		    cmd->name);
		argv[0] = progname;
		cli_getopt_reset();
		return cli_finish(cmd->run(argc, argv));
	}
	run_extension(argc, argv);
	diag_warn("'%s' is not a cfgsync command", argv[0]);
	list_commands(stderr);
	return EC_USAGE;
}
