/*
 * The options every server takes (SPEC 7), and a server's life: start the
 * HTTP server, print where it listens, write the port file, wait for
 * signals.  cmd/cli_server.c.
 */
#ifndef CFGSYNC_CLI_SERVER_H
#define CFGSYNC_CLI_SERVER_H

#include <stddef.h>

#include "cli.h"
#include "http_server.h"

struct buf;
struct bundle_service;
struct node_auth;

enum {
	CLI_OPT_CONN_TIMEOUT = CLI_OPT_SHARED,
	CLI_OPT_LISTEN,
	CLI_OPT_LOG_FORMAT,
	CLI_OPT_MAX_BODY,
	CLI_OPT_MAX_CONNECTIONS,
	CLI_OPT_MAX_CONN_PER_IP,
	CLI_OPT_PORT_FILE,
	CLI_OPT_SERVER_QUIET,
	CLI_OPT_THREADS,
	CLI_OPT_TLS_CERT,
	CLI_OPT_TLS_KEY,
	CLI_OPT_SERVER_TOKEN_FILE,
	CLI_OPT_NODE_TOKENS,
	CLI_OPT_BIND_FIRST
};

/* The rows of the server options, for a cli_command's sets. */
extern const struct cli_option cli_server_options[];

/* --bind-first, for the servers that take it (serve-bundle, serve-exec). */
extern const struct cli_option cli_bind_options[];

struct cli_server {
	struct http_server_config cfg;
	const char	*port_file;
	char		*token;		/* read from --token-file */
	char		 listen[300];	/* --listen, HOST filled in */
	const char	*node_tokens;	/* --node-tokens FILE|DIR */
	int		 bind_first;	/* --bind-first */
};

/* Sets the server defaults. */
void	cli_server_init(struct cli_server *);

/* Takes one server option; returns 1 when id was one, else 0. */
int	cli_server_opt(struct cli_server *, int id, const char *arg);

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

/*
 * With --node-tokens or --bind-first, makes the per-node credentials
 * (bindings kept in the file of that name when not NULL) and turns them
 * on in the server's config; call before cli_server_start.  Returns them
 * (the caller frees them with node_auth_free after the server stops), or
 * NULL without either option.  Dies on a bad tokens file (exit 2).
 */
struct node_auth *cli_server_node_auth(struct cli_server *,
	    const char *bindings);

/* Reads the node tokens again (SIGHUP), saying so in one log line. */
void	cli_server_node_auth_reload(struct node_auth *);

/* What SIGHUP reloads on a bundle server (serve-bundle, serve). */
struct cli_served {
	struct bundle_service	*bs;
	struct node_auth	*auth;		/* NULL: none */
	const char		*what;		/* for the log: "bundle" */
};

/*
 * cli_server_wait's reload for a struct cli_served: the node tokens and
 * the bundle, each kept as it was when its new one is refused.
 */
void	cli_server_reload_bundle(void *served);

void	cli_server_release(struct cli_server *);

#endif
