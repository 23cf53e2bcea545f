/*
 * What every command shares (cli.h).  The heart is the option table: each
 * command lists its options once, as struct cli_option rows, and this
 * file derives from them the getopt_long table, the usage line (the man
 * page's SYNOPSIS, which a test compares both ways), the one-line-per-
 * option --help and the --list-options that the completions read, as
 * curl's tool keeps one table for its options.
 */
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "diag.h"
#include "errbuf.h"
#include "exitcode.h"
#include "fsx.h"
#include "node_auth.h"
#include "banned.h"

#define CLI_TOKEN_MAX		4096
#define CLI_OPTIONS_MAX		64	/* options of one command, all sets */
#define CLI_USAGE_WIDTH		79	/* wrap the usage line here */
#define CLI_HELP_COLUMN		28	/* where --help's explanations start */
#define CLI_LONGOPT_BASE	1000	/* getopt val of row i: base + i */

/* What every command takes, handled here. */
enum {
	CLI_HELP = 2,
	CLI_LIST_OPTIONS,
	CLI_VERSION
};

static const struct cli_option builtin_options[] = {
	{ "help",	  'h', NULL, CLI_HELP,	"print this help and exit" },
	{ "list-options", 0, NULL, CLI_LIST_OPTIONS,
	    "print every option, one a line, and exit" },
	{ "version",	  0, NULL, CLI_VERSION,	"print the version and exit" },
	CLI_OPTIONS_END
};

/* The command being parsed, for cli_usage_error. */
static const struct cli_command *current;

/* Its rows, flattened, and the getopt tables made from them. */
static const struct cli_option *rows[CLI_OPTIONS_MAX];
static size_t nrows;
static struct option longopts[CLI_OPTIONS_MAX + 1];
static char optstring[2 * CLI_OPTIONS_MAX + 2];

void
cli_init(const char *command)
{
	diag_init(command);
}

static void
add_rows(const struct cli_option **to, size_t *n, const struct cli_option *set)
{
	for (; set->name != NULL || set->letter != 0; set++) {
		if (*n == CLI_OPTIONS_MAX)
			cli_die(EC_INTERNAL, "more than %d options",
			    CLI_OPTIONS_MAX);
		to[(*n)++] = set;
	}
}

static int
row_cmp(const void *a, const void *b)
{
	const struct cli_option *x = *(const struct cli_option *const *)a;
	const struct cli_option *y = *(const struct cli_option *const *)b;
	char kx[2] = { (char)x->letter, '\0' }, ky[2] = { (char)y->letter,
	    '\0' };

	return strcmp(x->name != NULL ? x->name : kx,
	    y->name != NULL ? y->name : ky);
}

/* Fills to with cmd's rows and the built-in ones, sorted; returns how many. */
static size_t
collect_rows(const struct cli_command *cmd, const struct cli_option **to)
{
	size_t i, n = 0;

	add_rows(to, &n, builtin_options);
	for (i = 0; i < CLI_SETS_MAX && cmd->sets[i] != NULL; i++)
		add_rows(to, &n, cmd->sets[i]);
	qsort(to, n, sizeof(to[0]), row_cmp);
	return n;
}

void
cli_parser_init(struct cli_parser *p, const struct cli_command *cmd,
    int argc, char **argv)
{
	size_t i, nl = 0, no = 0;

	memset(p, 0, sizeof(*p));
	p->cmd = cmd;
	p->argc = argc;
	p->argv = argv;
	current = cmd;
	nrows = collect_rows(cmd, rows);
	/* '-': operands come back in order as 1, so "--" stays visible. */
	optstring[no++] = '-';
	for (i = 0; i < nrows; i++) {
		if (rows[i]->letter != 0) {
			optstring[no++] = (char)rows[i]->letter;
			if (rows[i]->arg != NULL)
				optstring[no++] = ':';
		}
		if (rows[i]->name == NULL)
			continue;
		longopts[nl].name = rows[i]->name;
		longopts[nl].has_arg = rows[i]->arg != NULL ?
		    required_argument : no_argument;
		longopts[nl].flag = NULL;
		longopts[nl].val = CLI_LONGOPT_BASE + (int)i;
		nl++;
	}
	optstring[no] = '\0';
	memset(&longopts[nl], 0, sizeof(longopts[nl]));
	optind = 0;	/* glibc: also resets its internal state */
	opterr = 1;
}

/* Appends one synopsis item, wrapping before it when the line is full. */
static void
usage_item(struct buf *b, size_t *col, size_t indent, const char *item)
{
	size_t len = strlen(item), i;

	if (*col + 1 + len > CLI_USAGE_WIDTH && *col > indent) {
		(void)buf_addc(b, '\n');
		for (i = 0; i < indent; i++)
			(void)buf_addc(b, ' ');
		*col = indent;
	} else {
		(void)buf_addc(b, ' ');
		(*col)++;
	}
	(void)buf_adds(b, item);
	*col += len;
}

static int
char_cmp(const void *a, const void *b)
{
	return *(const char *)a - *(const char *)b;
}

/* Whether a row appears in the usage line (the man page's SYNOPSIS). */
static int
in_synopsis(const struct cli_option *o)
{
	return o->id != CLI_LIST_OPTIONS && o->id != CLI_VERSION;
}

/* Writes cmd's synopsis, the line starting with lead ("usage:"). */
static void
print_synopsis(FILE *f, const struct cli_command *cmd, const char *lead)
{
	const struct cli_option *own[CLI_OPTIONS_MAX];
	char item[128], flags[CLI_OPTIONS_MAX + 4];
	size_t i, n, col, indent, nf = 0;
	struct buf b;

	n = collect_rows(cmd, own);
	buf_init(&b, 1UL << 16);
	(void)buf_addf(&b, "%s cfgsync %s", lead, cmd->name);
	col = indent = b.len + 1;
	/* The flags that have a letter go in one cluster, as "[-hq]". */
	for (i = 0; i < n; i++)
		if (own[i]->letter != 0 && own[i]->arg == NULL)
			flags[nf++] = (char)own[i]->letter;
	qsort(flags, nf, 1, char_cmp);
	if (nf > 0) {
		(void)snprintf(item, sizeof(item), "[-%.*s]", (int)nf, flags);
		usage_item(&b, &col, indent, item);
	}
	for (i = 0; i < n; i++) {
		const struct cli_option *o = own[i];

		if (!in_synopsis(o) || (o->letter != 0 && o->arg == NULL))
			continue;
		if (o->letter != 0)
			(void)snprintf(item, sizeof(item), "[-%c %s]",
			    o->letter, o->arg);
		else if (o->arg != NULL)
			(void)snprintf(item, sizeof(item), "[--%s %s]",
			    o->name, o->arg);
		else
			(void)snprintf(item, sizeof(item), "[--%s]", o->name);
		usage_item(&b, &col, indent, item);
	}
	if (cmd->operands != NULL && cmd->operands[0] != '\0')
		usage_item(&b, &col, indent, cmd->operands);
	(void)buf_addc(&b, '\n');
	if (b.data != NULL)
		fputs(b.data, f);
	buf_release(&b);
}

/* The usage of the command being parsed, or of each of its verbs. */
static void
print_usage(FILE *f)
{
	size_t i;

	if (current->verbs == NULL) {
		print_synopsis(f, current, "usage:");
		return;
	}
	for (i = 0; current->verbs[i] != NULL; i++)
		print_synopsis(f, current->verbs[i], i == 0 ? "usage:" :
		    "      ");
}

static noreturn void
print_help(void)
{
	char left[128];
	size_t i;
	int n;

	print_usage(stdout);
	putchar('\n');
	for (i = 0; i < nrows; i++) {
		const struct cli_option *o = rows[i];

		if (o->letter != 0 && o->name != NULL)
			n = snprintf(left, sizeof(left), "  -%c, --%s%s%s",
			    o->letter, o->name, o->arg ? " " : "",
			    o->arg ? o->arg : "");
		else if (o->letter != 0)
			n = snprintf(left, sizeof(left), "  -%c%s%s", o->letter,
			    o->arg ? " " : "", o->arg ? o->arg : "");
		else
			n = snprintf(left, sizeof(left), "      --%s%s%s",
			    o->name, o->arg ? " " : "", o->arg ? o->arg : "");
		if (n < 0)
			continue;
		if ((size_t)n + 2 > CLI_HELP_COLUMN)
			printf("%s\n%*s%s\n", left, CLI_HELP_COLUMN, "",
			    o->help);
		else
			printf("%-*s%s\n", CLI_HELP_COLUMN, left, o->help);
	}
	exit(cli_finish(EC_OK));
}

/*
 * One option a line, for completions and tests: its spellings joined by a
 * comma, the letter first, then the argument's name if it takes one
 * ("-o,--output OUT", "--print").
 */
static noreturn void
list_options(void)
{
	size_t i;

	for (i = 0; i < nrows; i++) {
		const struct cli_option *o = rows[i];

		if (o->letter != 0)
			printf("-%c%s", o->letter, o->name != NULL ? "," : "");
		if (o->name != NULL)
			printf("--%s", o->name);
		if (o->arg != NULL)
			printf(" %s", o->arg);
		putchar('\n');
	}
	exit(cli_finish(EC_OK));
}

int
cli_next(struct cli_parser *p)
{
	const struct cli_option *o = NULL;
	size_t i;
	int ch;

	p->arg = NULL;
	ch = getopt_long(p->argc, p->argv, optstring, longopts, NULL);
	p->next = optind;
	if (ch == -1) {
		if (optind < p->argc) {		/* stopped at "--" */
			p->rest = p->argv + optind;
			p->nrest = p->argc - optind;
		}
		return CLI_DONE;
	}
	if (ch == 1) {
		p->arg = optarg;
		return CLI_OPERAND;
	}
	if (ch >= CLI_LONGOPT_BASE && (size_t)(ch - CLI_LONGOPT_BASE) < nrows)
		o = rows[ch - CLI_LONGOPT_BASE];
	for (i = 0; o == NULL && ch != '?' && ch != ':' && i < nrows; i++)
		if (rows[i]->letter == ch)
			o = rows[i];
	if (o == NULL) {	/* getopt said what was wrong */
		print_usage(stderr);
		exit(EC_USAGE);
	}
	switch (o->id) {
	case CLI_HELP:
		print_help();
	case CLI_LIST_OPTIONS:
		list_options();
	case CLI_VERSION:
		printf("cfgsync %s\n", CFGSYNC_VERSION);
		exit(cli_finish(EC_OK));
	}
	p->arg = optarg;
	return o->id;
}

static void
operand_put(const char *arg, const char **slots, int n, const char *want)
{
	int i;

	for (i = 0; i < n; i++)
		if (slots[i] == NULL) {
			slots[i] = arg;
			return;
		}
	cli_usage_error("unexpected argument %s: expected %s", arg, want);
}

void
cli_operand(const struct cli_parser *p, const char **slots, int n,
    const char *want)
{
	operand_put(p->arg, slots, n, want);
}

void
cli_operands_end(const struct cli_parser *p, const char **slots, int n,
    const char *want)
{
	int i;

	for (i = 0; i < p->nrest; i++)
		operand_put(p->rest[i], slots, n, want);
	for (i = 0; i < n; i++)
		if (slots[i] == NULL)
			cli_usage_error("expected %s", want);
}

noreturn void
cli_die(int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	diag_vwarn(fmt, ap);
	va_end(ap);
	exit(code);
}

noreturn void
cli_die_eb(const struct errbuf *eb)
{
	cli_die(eb->code, "%s", eb->msg);
}

noreturn void
cli_usage_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	diag_vwarn(fmt, ap);
	va_end(ap);
	if (current != NULL)
		print_usage(stderr);
	exit(EC_USAGE);
}

int
cli_parse_uint(const char *s, unsigned long min, unsigned long max,
    unsigned long *out)
{
	unsigned long v;
	char *end;

	if (s[0] < '0' || s[0] > '9')
		return -1;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

unsigned long
cli_uint_opt(const char *opt, const char *s, unsigned long min,
    unsigned long max)
{
	unsigned long v;

	if (cli_parse_uint(s, min, max, &v) == -1)
		cli_usage_error("%s %s: not a number from %lu to %lu", opt, s,
		    min, max);
	return v;
}

char *
cli_read_token(const char *path)
{
	struct errbuf eb;
	struct buf b;
	size_t len;

	buf_init(&b, CLI_TOKEN_MAX);
	if (fsx_read_file(path, &b, &eb) == -1)
		cli_die(EC_USAGE, "token file: %s", eb.msg);
	len = strcspn(b.data, "\r\n");
	b.data[len] = '\0';
	if (len == 0)
		cli_die(EC_USAGE, "token file %s: empty first line", path);
	if (len > NODE_AUTH_TOKEN_MAX)
		cli_die(EC_USAGE, "token file %s: a token over %d bytes", path,
		    NODE_AUTH_TOKEN_MAX);
	return buf_detach(&b, NULL);
}

void
cli_token_free(char *token)
{
	if (token == NULL)
		return;
	explicit_bzero(token, strlen(token));
	free(token);
}

int
cli_finish(int code)
{
	if (fflush(stdout) != 0 || ferror(stdout)) {
		diag_warn("write stdout: %s", strerror(errno));
		return code == EC_OK ? EC_INTERNAL : code;
	}
	return code;
}
