/*
 * What every command shares (cmd/cli.c): the option table that is the one
 * source of a command's getopt table, usage text, --help and
 * --list-options; dying with an exit code; number and token parsing.
 * The option sets of servers and of node clients are in cli_server.h and
 * cli_client.h, the limits of the bundle readers in cli_limits.h.  Only
 * cmd/ includes these.
 */
#ifndef CFGSYNC_CLI_H
#define CFGSYNC_CLI_H

#include <stdnoreturn.h>

struct errbuf;

/*
 * One option.  A command's options are a few such tables (its own and the
 * shared sets), each ended by CLI_OPTIONS_END.
 */
struct cli_option {
	const char	*name;		/* long name without "--", or NULL */
	int		 letter;	/* short option, or 0 */
	const char	*arg;		/* argument's name; NULL for a flag */
	int		 id;		/* what cli_next returns for it */
	const char	*help;		/* one line for --help */
};

#define CLI_OPTIONS_END		{ NULL, 0, NULL, 0, NULL }
#define CLI_SETS_MAX		4

/* Ids cli_next returns besides the options' own. */
enum {
	CLI_DONE = -1,		/* no more options or operands */
	CLI_OPERAND = 1,	/* an operand, in p->arg */
	/* Ids of the shared sets start here; a command's own at CLI_OPT_OWN. */
	CLI_OPT_SHARED = 256,
	CLI_OPT_OWN = 512
};

struct cli_command {
	const char	*name;		/* "fetch", "bundle pack" */
	const char	*operands;	/* synopsis after the options */
	const struct cli_option *sets[CLI_SETS_MAX];	/* NULL-ended */
	/* Verbs whose usage lines --help shows too, NULL-ended; or NULL. */
	const struct cli_command *const *verbs;
};

struct cli_parser {
	const struct cli_command *cmd;	/* borrowed */
	int		 argc;
	char		**argv;		/* borrowed */
	const char	*arg;		/* the option's argument, or operand */
	int		 next;		/* argv index cli_next reads next */
	char		**rest;		/* what follows "--", or NULL */
	int		 nrest;
};

/* Names the command in every message ("cfgsync: fetch: ..."). */
void	cli_init(const char *command);

/*
 * Starts parsing argv (argv[0] the command's name) against cmd's options.
 * Options may come before or after operands; "--" ends them.
 */
void	cli_parser_init(struct cli_parser *, const struct cli_command *,
	    int argc, char **argv);

/*
 * Returns the id of the next option (its argument in p->arg), CLI_OPERAND
 * with the operand in p->arg, or CLI_DONE, with p->rest set to what
 * follows "--" when there was one.  Handles -h/--help, --list-options and
 * --version itself (prints, exits 0) and a bad option (reason and usage on
 * stderr, exit 2).
 */
int	cli_next(struct cli_parser *);

/*
 * For a command of n operands: cli_operand stores the operand cli_next
 * returned in the first free of slots[0..n), and cli_operands_end, after
 * the loop, those that followed "--" too.  A missing or surplus operand is
 * a usage error saying "expected " want.  slots start NULL.
 */
void	cli_operand(const struct cli_parser *, const char **slots, int n,
	    const char *want);
void	cli_operands_end(const struct cli_parser *, const char **slots,
	    int n, const char *want);

/* Prints "cfgsync: COMMAND: message" and exits with code. */
noreturn void cli_die(int code, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));

/* Dies with eb's code and message. */
noreturn void cli_die_eb(const struct errbuf *);

/*
 * Prints the message and the usage of the command being parsed on stderr
 * and exits 2.
 */
noreturn void cli_usage_error(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2)));

/*
 * Parses a decimal number in [min, max]; returns 0, or -1 when s is not
 * one.  No sign, no spaces, no trailing bytes.
 */
int	cli_parse_uint(const char *s, unsigned long min, unsigned long max,
	    unsigned long *out);

/* Like cli_parse_uint, but a bad value is a usage error naming opt. */
unsigned long cli_uint_opt(const char *opt, const char *s, unsigned long min,
	    unsigned long max);

/*
 * Reads a secret token from path: the first line, without its newline.
 * Returns a heap string the caller frees, or dies (exit 2).
 */
char	*cli_read_token(const char *path);

/* Wipes and frees a token from cli_read_token; NULL is fine. */
void	cli_token_free(char *);

/* Flushes stdout and returns code, or 1 when stdout failed (git). */
int	cli_finish(int code);

#endif
