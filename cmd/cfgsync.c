/*
 * cfgsync: the dispatcher.  Global options, `help`, `--version`, the
 * sorted command table, and the fallback that runs `cfgsync-NAME` from
 * PATH for a name not in the table (extension commands in any language).
 * Below main, what every command shares (cli.h): dying with an exit code,
 * option helpers, and the option sets of servers and node clients.
 */
#include "cli.h"

#include <sys/resource.h>

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "bundle.h"
#include "cmds.h"
#include "diag.h"
#include "errbuf.h"
#include "exitcode.h"
#include "fsx.h"
#include "http_server.h"
#include "protocol.h"
#include "registration.h"
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

static const char main_usage[] =
    "usage: cfgsync [--version] [help] COMMAND [ARGS]\n";

static void
list_commands(FILE *f)
{
	size_t i;

	fputs(main_usage, f);
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
	return -1;
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

int
main(int argc, char **argv)
{
	static char progname[64];
	const struct command *cmd;
	char *help_argv[3];

	cli_init(NULL);
	raise_open_files();
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
		fputs(main_usage, stderr);
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

/*
 * What the commands share (cli.h).
 */

#define CLI_TOKEN_MAX		4096
#define CLI_METADATA_MAX	(1UL << 20)

void
cli_init(const char *command)
{
	diag_init(command);
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
cli_usage_error(const char *usage, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	diag_vwarn(fmt, ap);
	va_end(ap);
	fputs(usage, stderr);
	exit(EC_USAGE);
}

noreturn void
cli_bad_option(const char *usage)
{
	fputs(usage, stderr);
	exit(EC_USAGE);
}

noreturn void
cli_help(const char *usage)
{
	fputs(usage, stdout);
	exit(cli_finish(EC_OK));
}

void
cli_getopt_reset(void)
{
	optind = 0;	/* glibc: also resets its internal state */
	opterr = 1;
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
cli_uint_opt(const char *usage, const char *opt, const char *s,
    unsigned long min, unsigned long max)
{
	unsigned long v;

	if (cli_parse_uint(s, min, max, &v) == -1)
		cli_usage_error(usage, "%s %s: not a number from %lu to %lu",
		    opt, s, min, max);
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
	return buf_detach(&b, NULL);
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

int
cli_limits_opt(struct bundle_limits *l, const char *usage, int opt,
    const char *arg)
{
	switch (opt) {
	case CLI_OPT_MAX_ENTRIES:
		l->max_entries = cli_uint_opt(usage, "--max-entries", arg, 1,
		    100000000);
		break;
	case CLI_OPT_MAX_FILE_SIZE:
		l->max_file_size = cli_uint_opt(usage, "--max-file-size", arg,
		    1, 1UL << 40);
		break;
	case CLI_OPT_MAX_TOTAL_SIZE:
		l->max_total_size = cli_uint_opt(usage, "--max-total-size",
		    arg, 1, 1UL << 40);
		break;
	default:
		return 0;
	}
	return 1;
}

int
cli_limits_only(int argc, char **argv, const char *usage,
    struct bundle_limits *l)
{
	static const struct option longopts[] = {
		CLI_LIMITS_LONGOPTS,
		{ "help",	no_argument,	NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	int ch;

	bundle_limits_default(l);
	/* No '+': options may come after the operands too. */
	while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if (cli_limits_opt(l, usage, ch, optarg))
			continue;
		if (ch == 'h')
			cli_help(usage);
		cli_bad_option(usage);
	}
	return optind;
}

void
cli_server_init(struct cli_server *s)
{
	memset(s, 0, sizeof(*s));
	http_server_config_init(&s->cfg);
}

int
cli_server_opt(struct cli_server *s, const char *usage, int opt,
    const char *arg)
{
	switch (opt) {
	case 'q':
		s->cfg.quiet = 1;
		break;
	case CLI_OPT_CONN_TIMEOUT:
		s->cfg.connection_timeout = (unsigned)cli_uint_opt(usage,
		    "--connection-timeout", arg, 1, 3600);
		break;
	case CLI_OPT_LISTEN:
		s->cfg.listen = arg;
		break;
	case CLI_OPT_LOG_FORMAT:
		if (strcmp(arg, "json") == 0)
			s->cfg.log_json = 1;
		else if (strcmp(arg, "text") == 0)
			s->cfg.log_json = 0;
		else
			cli_usage_error(usage,
			    "--log-format %s: not text or json", arg);
		diag_set_json(s->cfg.log_json);
		break;
	case CLI_OPT_MAX_BODY:
		s->cfg.max_body = cli_uint_opt(usage, "--max-body", arg, 64,
		    64UL << 20);
		break;
	case CLI_OPT_MAX_CONNECTIONS:
		s->cfg.max_connections = (unsigned)cli_uint_opt(usage,
		    "--max-connections", arg, 1, 1000000);
		break;
	case CLI_OPT_PORT_FILE:
		s->port_file = arg;
		break;
	case CLI_OPT_THREADS:
		s->cfg.threads = (unsigned)cli_uint_opt(usage, "--threads",
		    arg, 1, 1024);
		break;
	case CLI_OPT_TLS_CERT:
		s->cfg.tls_cert = arg;
		break;
	case CLI_OPT_TLS_KEY:
		s->cfg.tls_key = arg;
		break;
	case CLI_OPT_TOKEN_FILE:
		free(s->token);
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
	char port[16];
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

void
cli_server_release(struct cli_server *s)
{
	if (s->token != NULL) {
		explicit_bzero(s->token, strlen(s->token));
		free(s->token);
		s->token = NULL;
	}
}

int
cli_request_registration(struct http_request *req, struct http_response *resp,
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
	_Static_assert(sizeof(req->identifier) == sizeof(reg->identifier),
	    "an identifier fits the request's log field");
	memcpy(req->identifier, reg->identifier, sizeof(reg->identifier));
	return 0;
}

void
cli_client_init(struct cli_client *c)
{
	const char *v;

	memset(c, 0, sizeof(*c));
	c->opts.server = "http://127.0.0.1:4400";
	c->opts.timeout = 300;
	c->opts.poll_wait = 30;
	if ((v = getenv("CFG_SERVER_ADDR")) != NULL && v[0] != '\0')
		c->opts.server = v;
	if ((v = getenv("CFG_HOST_IDENTIFIER")) != NULL && v[0] != '\0')
		c->opts.identifier = v;
	if ((v = getenv("CFG_HOST_IP")) != NULL && v[0] != '\0')
		c->opts.ip = v;
	if ((v = getenv("CFG_REGISTRATION_METADATA_JSON")) != NULL &&
	    v[0] != '\0')
		c->metadata_arg = v;
}

int
cli_client_opt(struct cli_client *c, const char *usage, int opt,
    const char *arg)
{
	switch (opt) {
	case 'q':
		diag_set_quiet(1);
		break;
	case CLI_OPT_CACERT:
		c->opts.cacert = arg;
		break;
	case CLI_OPT_ID:
		c->opts.identifier = arg;
		break;
	case CLI_OPT_IP:
		c->opts.ip = arg;
		break;
	case CLI_OPT_METADATA:
		c->metadata_arg = arg;
		c->metadata_file = NULL;
		break;
	case CLI_OPT_METADATA_FILE:
		c->metadata_file = arg;
		c->metadata_arg = NULL;
		break;
	case CLI_OPT_SERVER_URL:
		c->opts.server = arg;
		break;
	case CLI_OPT_TIMEOUT:
		c->opts.timeout = (unsigned)cli_uint_opt(usage, "--timeout",
		    arg, 0, 31 * 24 * 3600);
		break;
	case CLI_OPT_TOKEN_FILE:
		c->token_file = arg;
		break;
	default:
		return 0;
	}
	return 1;
}

/*
 * Checks that text is one JSON value by wrapping it in a registration, and
 * returns its exact bytes without surrounding space (NULL for null).
 */
static char *
check_metadata(const char *usage, const char *what, const char *text)
{
	struct registration r;
	struct errbuf eb;
	struct buf doc;
	size_t len;
	char *raw;

	buf_init(&doc, CLI_METADATA_MAX + 64);
	if (buf_adds(&doc, "{\"identifier\":\"x\",\"ip\":\"127.0.0.1\","
	    "\"metadata\":") == -1 || buf_adds(&doc, text) == -1 ||
	    buf_addc(&doc, '}') == -1)
		cli_usage_error(usage, "%s: over %lu bytes", what,
		    CLI_METADATA_MAX);
	memset(&r, 0, sizeof(r));
	if (registration_parse(&r, doc.data, doc.len, doc.max, &eb) == -1)
		cli_usage_error(usage, "%s: not one JSON value", what);
	/*
	 * The member must be the whole text: '1,"identifier":"x"' parses as
	 * a document too, with metadata 1 and the rest taken as more members.
	 */
	while (*text != '\0' && strchr(" \t\r\n", *text) != NULL)
		text++;
	len = strlen(text);
	while (len > 0 && strchr(" \t\r\n", text[len - 1]) != NULL)
		len--;
	if (r.metadata == NULL ? len != 4 || strncmp(text, "null", 4) != 0 :
	    len != r.metadata_len || memcmp(text, r.metadata, len) != 0)
		cli_usage_error(usage, "%s: not one JSON value", what);
	raw = r.metadata;	/* taken over from r */
	buf_release(&doc);
	return raw;
}

void
cli_client_finish(struct cli_client *c, const char *usage)
{
	struct errbuf eb;
	struct buf b;

	if (strncmp(c->opts.server, "http://", 7) != 0 &&
	    strncmp(c->opts.server, "https://", 8) != 0)
		cli_usage_error(usage, "--server %s: not an http:// or "
		    "https:// URL", c->opts.server);
	if (c->opts.identifier == NULL) {
		if (gethostname(c->host, sizeof(c->host) - 1) == -1)
			cli_die(EC_INTERNAL, "gethostname: %s",
			    strerror(errno));
		c->opts.identifier = c->host;
	}
	if (registration_identifier_check(c->opts.identifier,
	    strlen(c->opts.identifier), &eb) == -1)
		cli_usage_error(usage, "--id %s: %s", c->opts.identifier,
		    eb.msg);
	if (c->opts.ip == NULL) {
		if (node_client_default_ip(c->opts.server, c->ip,
		    sizeof(c->ip), &eb) == -1)
			cli_die_eb(&eb);
		c->opts.ip = c->ip;
	}
	if (registration_ip_check(c->opts.ip, &eb) == -1)
		cli_usage_error(usage, "--ip: %s", eb.msg);
	if (c->metadata_file != NULL) {
		buf_init(&b, CLI_METADATA_MAX);
		if (fsx_read_file(c->metadata_file, &b, &eb) == -1)
			cli_die(EC_USAGE, "--metadata-file: %s", eb.msg);
		c->metadata = check_metadata(usage, c->metadata_file, b.data);
		buf_release(&b);
	} else if (c->metadata_arg != NULL)
		c->metadata = check_metadata(usage, "--metadata",
		    c->metadata_arg);
	c->opts.metadata = c->metadata;
	if (c->token_file != NULL) {
		c->token = cli_read_token(c->token_file);
		c->opts.token = c->token;
	}
}

void
cli_client_release(struct cli_client *c)
{
	if (c->token != NULL) {
		explicit_bzero(c->token, strlen(c->token));
		free(c->token);
	}
	free(c->metadata);
}
