/*
 * The options every node client takes (SPEC 6): identity, server, token,
 * timeout, resolved from defaults, then the CFG_* environment, then flags.
 * cmd/cli_client.c.
 */
#ifndef CFGSYNC_CLI_CLIENT_H
#define CFGSYNC_CLI_CLIENT_H

#include "cli.h"
#include "node_client.h"

enum {
	CLI_OPT_CACERT = CLI_OPT_SHARED + 64,
	CLI_OPT_ID,
	CLI_OPT_IP,
	CLI_OPT_METADATA,
	CLI_OPT_METADATA_FILE,
	CLI_OPT_PIN,
	CLI_OPT_CLIENT_QUIET,
	CLI_OPT_SERVER_URL,
	CLI_OPT_TIMEOUT,
	CLI_OPT_CLIENT_TOKEN_FILE
};

/*
 * The rows of the client options, for a cli_command's sets: how to reach
 * the server, and the node's identity (--id, --ip, --metadata...).
 */
extern const struct cli_option cli_client_options[];
extern const struct cli_option cli_client_identity_options[];

struct cli_client {
	struct node_client_opts	 opts;
	const char		*metadata_arg;
	const char		*metadata_file;
	const char		*token_file;
	char			 host[256];
	char			 server[64];	/* the default URL, made */
	char			*token;
	char			*metadata;	/* checked, exact bytes */
};

/* Defaults, then the CFG_* environment (SPEC 6). */
void	cli_client_init(struct cli_client *);

/* Takes one client option; returns 1 when id was one, else 0. */
int	cli_client_opt(struct cli_client *, int id, const char *arg);

/*
 * Fills what flags left open (host name) and dies on bad values.  Without
 * --ip, the node client finds the routed address itself, retrying while
 * the server's name does not resolve yet.
 */
void	cli_client_finish(struct cli_client *);

void	cli_client_release(struct cli_client *);

#endif
