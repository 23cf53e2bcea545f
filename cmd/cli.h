/*
 * What the commands share, defined in cmd/cfgsync.c beside the dispatcher:
 * option parsing helpers, the one way to die with an exit code, the
 * options every server takes and every node client takes, and the signal
 * loop of a server.  Only cmd/ includes this.
 */
#ifndef CFGSYNC_CLI_H
#define CFGSYNC_CLI_H

#include <getopt.h>
#include <stdnoreturn.h>

#include "http_server.h"
#include "node_client.h"

struct bundle_limits;
struct errbuf;

/* Names the command in every message ("cfgsync: fetch: ..."). */
void	cli_init(const char *command);

/* Prints "cfgsync: COMMAND: message" and exits with code. */
noreturn void cli_die(int code, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));

/* Dies with eb's code and message. */
noreturn void cli_die_eb(const struct errbuf *);

/* Prints the message and usage on stderr and exits 2. */
noreturn void cli_usage_error(const char *usage, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));

/* For getopt's '?': it said what was wrong; prints usage and exits 2. */
noreturn void cli_bad_option(const char *usage);

/* Prints usage on stdout and exits 0 (for -h). */
noreturn void cli_help(const char *usage);

/* Makes getopt_long start afresh on a new argv. */
void	cli_getopt_reset(void);

/*
 * Parses a decimal number in [min, max]; returns 0, or -1 when s is not
 * one.  No sign, no spaces, no trailing bytes.
 */
int	cli_parse_uint(const char *s, unsigned long min, unsigned long max,
	    unsigned long *out);

/* Like cli_parse_uint, but a bad value is a usage error naming opt. */
unsigned long cli_uint_opt(const char *usage, const char *opt, const char *s,
	    unsigned long min, unsigned long max);

/*
 * Reads a secret token from path: the first line, without its newline.
 * Returns a heap string the caller frees, or dies (exit 2).
 */
char	*cli_read_token(const char *path);

/* Flushes stdout and returns code, or 1 when stdout failed (git). */
int	cli_finish(int code);

/* Long options every server takes; ids from CLI_OPT_SERVER up. */
enum {
	CLI_OPT_SERVER = 256,
	CLI_OPT_CONN_TIMEOUT = CLI_OPT_SERVER,
	CLI_OPT_LISTEN,
	CLI_OPT_LOG_FORMAT,
	CLI_OPT_MAX_BODY,
	CLI_OPT_MAX_CONNECTIONS,
	CLI_OPT_PORT_FILE,
	CLI_OPT_THREADS,
	CLI_OPT_TLS_CERT,
	CLI_OPT_TLS_KEY,
	CLI_OPT_TOKEN_FILE,
	CLI_OPT_SERVER_END,
	/* Node client options. */
	CLI_OPT_CACERT = 320,
	CLI_OPT_ID,
	CLI_OPT_IP,
	CLI_OPT_METADATA,
	CLI_OPT_METADATA_FILE,
	CLI_OPT_SERVER_URL,
	CLI_OPT_TIMEOUT,
	CLI_OPT_CLIENT_END,
	/* Limits of the commands that read a bundle. */
	CLI_OPT_LIMITS = 360,
	CLI_OPT_MAX_ENTRIES = CLI_OPT_LIMITS,
	CLI_OPT_MAX_FILE_SIZE,
	CLI_OPT_MAX_TOTAL_SIZE,
	CLI_OPT_LIMITS_END,
	/* Each command's own options start here. */
	CLI_OPT_OWN = 400
};

#define CLI_SERVER_LONGOPTS \
	{ "connection-timeout",	required_argument, NULL, \
	    CLI_OPT_CONN_TIMEOUT }, \
	{ "listen",		required_argument, NULL, CLI_OPT_LISTEN }, \
	{ "log-format",		required_argument, NULL, CLI_OPT_LOG_FORMAT }, \
	{ "max-body",		required_argument, NULL, CLI_OPT_MAX_BODY }, \
	{ "max-connections",	required_argument, NULL, \
	    CLI_OPT_MAX_CONNECTIONS }, \
	{ "port-file",		required_argument, NULL, CLI_OPT_PORT_FILE }, \
	{ "quiet",		no_argument,	   NULL, 'q' }, \
	{ "threads",		required_argument, NULL, CLI_OPT_THREADS }, \
	{ "tls-cert",		required_argument, NULL, CLI_OPT_TLS_CERT }, \
	{ "tls-key",		required_argument, NULL, CLI_OPT_TLS_KEY }, \
	{ "token-file",		required_argument, NULL, CLI_OPT_TOKEN_FILE }

#define CLI_CLIENT_LONGOPTS \
	{ "cacert",		required_argument, NULL, CLI_OPT_CACERT }, \
	{ "id",			required_argument, NULL, CLI_OPT_ID }, \
	{ "ip",			required_argument, NULL, CLI_OPT_IP }, \
	{ "metadata",		required_argument, NULL, CLI_OPT_METADATA }, \
	{ "metadata-file",	required_argument, NULL, \
	    CLI_OPT_METADATA_FILE }, \
	{ "quiet",		no_argument,	   NULL, 'q' }, \
	{ "server",		required_argument, NULL, CLI_OPT_SERVER_URL }, \
	{ "timeout",		required_argument, NULL, CLI_OPT_TIMEOUT }, \
	{ "token-file",		required_argument, NULL, CLI_OPT_TOKEN_FILE }

#define CLI_LIMITS_LONGOPTS \
	{ "max-entries",    required_argument, NULL, CLI_OPT_MAX_ENTRIES }, \
	{ "max-file-size",  required_argument, NULL, CLI_OPT_MAX_FILE_SIZE }, \
	{ "max-total-size", required_argument, NULL, CLI_OPT_MAX_TOTAL_SIZE }

/*
 * Takes one limit option into l (which bundle_limits_default filled);
 * returns 1 when opt was one, else 0.
 */
int	cli_limits_opt(struct bundle_limits *, const char *usage, int opt,
	    const char *arg);

/*
 * Parses the options of a command that takes only -h and the limit
 * options, anywhere in argv (nothing runs after such a command), into l,
 * which starts from the defaults.  Returns the index of the first operand.
 */
int	cli_limits_only(int argc, char **argv, const char *usage,
	    struct bundle_limits *l);

struct cli_server {
	struct http_server_config cfg;
	const char	*port_file;
	char		*token;		/* read from --token-file */
};

/* Sets the server defaults. */
void	cli_server_init(struct cli_server *);

/* Takes one server option; returns 1 when opt was one, else 0. */
int	cli_server_opt(struct cli_server *, const char *usage, int opt,
	    const char *arg);

/*
 * Blocks SIGTERM, SIGINT and SIGHUP in this thread and every thread it
 * starts afterwards (cli_server_wait takes them with sigwait), and ignores
 * SIGPIPE.  Call before starting threads; cli_server_start calls it too.
 */
void	cli_block_signals(void);

/*
 * Starts the HTTP server for routes, handing ctx to the handlers, prints
 * "listening on URL" and writes the port file.  Dies on failure.
 */
struct http_server *cli_server_start(struct cli_server *,
	    const struct http_route *, size_t nroutes, void *ctx,
	    int (*metrics)(void *, struct buf *));

/*
 * Waits for signals: SIGHUP calls on_hup(arg) when not NULL; SIGTERM or
 * SIGINT return, so the caller stops the server.
 */
void	cli_server_wait(void (*on_hup)(void *), void *arg);

void	cli_server_release(struct cli_server *);

struct registration;

/*
 * Parses a request body as a NodeRegistration into reg and names it in the
 * request's log line.  Returns 0, or -1 having set resp to 400 bad_request.
 */
int	cli_request_registration(struct http_request *, struct http_response *,
	    struct registration *);

struct cli_client {
	struct node_client_opts	 opts;
	const char		*metadata_arg;
	const char		*metadata_file;
	const char		*token_file;
	char			 host[256];
	char			 ip[64];
	char			*token;
	char			*metadata;	/* from --metadata-file */
};

/* Defaults, then the CFG_* environment (SPEC 6). */
void	cli_client_init(struct cli_client *);

/* Takes one client option; returns 1 when opt was one, else 0. */
int	cli_client_opt(struct cli_client *, const char *usage, int opt,
	    const char *arg);

/* Fills what flags left open (host name, routed IP); dies on bad values. */
void	cli_client_finish(struct cli_client *, const char *usage);

void	cli_client_release(struct cli_client *);

#endif
