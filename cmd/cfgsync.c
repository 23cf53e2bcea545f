/*
 * cfgsync: the dispatcher, as git's git.c.  Global options, `help`,
 * `--version`, the sorted command table, and the fallback that runs
 * `cfgsync-NAME` from PATH for a name not in the table (extension
 * commands in any language).  What the commands share is in cli*.c.
 */
#include <sys/resource.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "array.h"
#include "cli.h"
#include "cmds.h"
#include "diag.h"
#include "exitcode.h"
#include "banned.h"

#define SUGGEST_MAX_DISTANCE	2	/* edits for "did you mean" */

struct command {
	const char	*name;
	int		(*run)(int argc, char **argv);
	const char	*summary;	/* one line for `cfgsync help` */
};

static const struct command commands[] = {	/* sorted by name */
	{ "bundle",	  cmd_bundle,
	    "pack, list, unpack or check a bundle" },
	{ "fetch",	  cmd_fetch,	    "register, wait, write files, exec" },
	{ "pin",	  cmd_pin,
	    "print the public-key pin of a certificate" },
	{ "register",	  cmd_register,	    "register this node, nothing else" },
	{ "replace",	  cmd_replace,
	    "push new files for one node to a server" },
	{ "serve",	  cmd_serve,
	    "serve as the original's cfgsync-server does" },
	{ "serve-bundle", cmd_serve_bundle, "serve a precomputed bundle" },
	{ "serve-exec",	  cmd_serve_exec,
	    "serve what a materializer decides" },
	{ "status",	  cmd_status,
	    "show what a server is doing" },
};

/*
 * The original's program names (SPEC 9): installed as links to cfgsync,
 * each runs its command with the rest of the command line.
 */
static const struct program {
	const char	*name;
	const char	*command;
} programs[] = {
	{ "cfgsync-client", "fetch" },
	{ "cfgsync-server", "serve" },
};

static const char main_usage[] =
    "usage: cfgsync [--version] [help [COMMAND]] COMMAND [ARGS]\n";

static void
list_commands(FILE *f)
{
	size_t i;

	fputs(main_usage, f);
	fputs("\ncommands:\n", f);
	for (i = 0; i < nitems(commands); i++)
		fprintf(f, "  %-14s %s\n", commands[i].name,
		    commands[i].summary);
	fputs("\n'cfgsync help COMMAND' shows a command's manual, 'cfgsync "
	    "COMMAND --help'\nits options; 'cfgsync-NAME' on PATH adds a "
	    "command NAME.\n", f);
}

static const struct command *
find_command(const char *name)
{
	size_t i;

	for (i = 0; i < nitems(commands); i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

/* Edit distance of a and b (insertions, deletions, substitutions). */
static size_t
edit_distance(const char *a, const char *b)
{
	size_t row[NAME_MAX + 1], i, j, diag, up, lb = strlen(b);

	if (lb > NAME_MAX || strlen(a) > NAME_MAX)
		return SIZE_MAX;
	for (j = 0; j <= lb; j++)
		row[j] = j;
	for (i = 1; a[i - 1] != '\0'; i++) {
		diag = row[0];
		row[0] = i;
		for (j = 1; j <= lb; j++) {
			up = row[j];
			row[j] = diag + (a[i - 1] != b[j - 1]);
			if (up + 1 < row[j])
				row[j] = up + 1;
			if (row[j - 1] + 1 < row[j])
				row[j] = row[j - 1] + 1;
			diag = up;
		}
	}
	return row[lb];
}

/* The closest name to a mistyped one, as git's "did you mean", or NULL. */
static const char *
suggest(const char *name)
{
	const char *best = NULL;
	size_t i, d, best_d = SUGGEST_MAX_DISTANCE + 1;

	if ((d = edit_distance(name, "help")) < best_d) {
		best = "help";
		best_d = d;
	}
	for (i = 0; i < nitems(commands); i++)
		if ((d = edit_distance(name, commands[i].name)) < best_d) {
			best = commands[i].name;
			best_d = d;
		}
	return best;
}

/* Runs cfgsync-NAME from PATH with the rest of argv; returns on failure. */
static int
run_extension(char **argv)
{
	char prog[NAME_MAX + 1], *name = argv[0];
	int n;

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
	return -1;
}

/* Whether `man -w page` finds the page, asked quietly. */
static int
man_page_installed(const char *page)
{
	pid_t pid;
	int status, fd;

	if ((pid = fork()) == -1)
		return 0;
	if (pid == 0) {
		if ((fd = open("/dev/null", O_RDWR)) != -1) {
			(void)dup2(fd, STDOUT_FILENO);
			(void)dup2(fd, STDERR_FILENO);
		}
		execlp("man", "man", "-w", page, (char *)NULL);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) == -1)
		if (errno != EINTR)
			return 0;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/*
 * `cfgsync help COMMAND`: execs man for the command's page where man
 * finds one (git help); returns when it does not, for the usage instead.
 */
static void
help_command(const char *name)
{
	char page[NAME_MAX + 1];
	int n;

	n = snprintf(page, sizeof(page), "cfgsync-%s", name);
	if (n > 0 && (size_t)n < sizeof(page) && strchr(name, '/') == NULL &&
	    man_page_installed(page)) {
		if (fflush(stdout) == 0)
			execlp("man", "man", page, (char *)NULL);
		/* man vanished since: the usage will do. */
	}
}

/*
 * Lifts the soft limit on open files to the hard one: a server holds one
 * descriptor per connection and a payload write one per directory, and
 * the usual soft limit of 1024 is below what either may need.
 */
static void
raise_open_files(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static int
run_command(const struct command *cmd, int argc, char **argv)
{
	static char progname[64];

	cli_init(cmd->name);
	/* getopt's own messages then read "cfgsync: fetch: ...". */
	(void)snprintf(progname, sizeof(progname), "cfgsync: %s", cmd->name);
	argv[0] = progname;
	return cli_finish(cmd->run(argc, argv));
}

/* The command a program name stands for, or NULL. */
static const struct command *
program_command(const char *argv0)
{
	const char *base = strrchr(argv0, '/');
	size_t i;

	base = base != NULL ? base + 1 : argv0;
	for (i = 0; i < nitems(programs); i++)
		if (strcmp(programs[i].name, base) == 0)
			return find_command(programs[i].command);
	return NULL;
}

int
main(int argc, char **argv)
{
	const struct command *cmd;
	const char *near;
	char *help_argv[3];

	cli_init(NULL);
	raise_open_files();
	if (argc > 0 && (cmd = program_command(argv[0])) != NULL)
		return run_command(cmd, argc, argv);
	if (argc < 2) {
		fputs(main_usage, stderr);
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
		if (argc > 3) {
			diag_warn("help takes one COMMAND");
			fputs(main_usage, stderr);
			return EC_USAGE;
		}
		if (find_command(argv[2]) != NULL)
			help_command(argv[2]);
		/* As "cfgsync COMMAND --help", extensions included. */
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
		fputs(main_usage, stderr);
		return EC_USAGE;
	}
	if ((cmd = find_command(argv[0])) != NULL)
		return run_command(cmd, argc, argv);
	run_extension(argv);
	if ((near = suggest(argv[0])) != NULL) {
		diag_warn("'%s' is not a cfgsync command; did you mean '%s'?",
		    argv[0], near);
		return EC_USAGE;
	}
	diag_warn("'%s' is not a cfgsync command", argv[0]);
	list_commands(stderr);
	return EC_USAGE;
}
