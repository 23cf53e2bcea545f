/*
 * The options every node client takes (cli_client.h).
 */
#include "cli_client.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "diag.h"
#include "errbuf.h"
#include "exitcode.h"
#include "fsx.h"
#include "registration.h"
#include "server_list.h"
#include "tls_pin.h"
#include "banned.h"

#define CLI_METADATA_MAX	(1UL << 20)
#define CLI_TIMEOUT_MAX		(31UL * 24 * 3600)

const struct cli_option cli_client_options[] = {
	{ "cacert", 0, "FILE", CLI_OPT_CACERT,
	    "trust the CA certificates in FILE for HTTPS" },
	{ "pin", 0, "sha256//BASE64", CLI_OPT_PIN,
	    "trust the server whose public key has this hash" },
	{ "quiet", 'q', NULL, CLI_OPT_CLIENT_QUIET,
	    "print no progress, only errors" },
	{ "server", 0, "URL[,URL...]", CLI_OPT_SERVER_URL,
	    "config servers (default http://127.0.0.1:4400)" },
	{ "timeout", 0, "SECONDS", CLI_OPT_TIMEOUT,
	    "give up after this long (default 300; 0: never)" },
	{ "token-file", 0, "FILE", CLI_OPT_CLIENT_TOKEN_FILE,
	    "send the bearer token on the first line of FILE" },
	CLI_OPTIONS_END
};

const struct cli_option cli_client_identity_options[] = {
	{ "id", 0, "IDENTIFIER", CLI_OPT_ID,
	    "this node's identifier (default the host name)" },
	{ "ip", 0, "ADDRESS", CLI_OPT_IP,
	    "this node's address (default: routed to the server)" },
	{ "metadata", 0, "JSON", CLI_OPT_METADATA,
	    "metadata for the materializer, one JSON value" },
	{ "metadata-file", 0, "FILE", CLI_OPT_METADATA_FILE,
	    "read the metadata from FILE" },
	CLI_OPTIONS_END
};

void
cli_client_init(struct cli_client *c)
{
	unsigned long port;
	const char *v;
	int n;

	memset(c, 0, sizeof(*c));
	c->opts.server = "http://127.0.0.1:4400";
	/* The original's stack names its port so; CFG_SERVER_ADDR wins. */
	if ((v = getenv("LOGOS_BLOCKCHAIN_CFGSYNC_PORT")) != NULL &&
	    cli_parse_uint(v, 1, 65535, &port) == 0) {
		n = snprintf(c->server, sizeof(c->server),
		    "http://127.0.0.1:%lu", port);
		if (n > 0 && (size_t)n < sizeof(c->server))
			c->opts.server = c->server;
	}
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
cli_client_opt(struct cli_client *c, int id, const char *arg)
{
	struct errbuf eb;

	switch (id) {
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
	case CLI_OPT_PIN:
		if (tls_pin_check(arg, &eb) == -1)
			cli_usage_error("--pin %s", eb.msg);
		c->opts.pin = arg;
		break;
	case CLI_OPT_CLIENT_QUIET:
		diag_set_quiet(1);
		break;
	case CLI_OPT_SERVER_URL:
		c->opts.server = arg;
		break;
	case CLI_OPT_TIMEOUT:
		c->opts.timeout = (unsigned)cli_uint_opt("--timeout", arg, 0,
		    CLI_TIMEOUT_MAX);
		break;
	case CLI_OPT_CLIENT_TOKEN_FILE:
		c->token_file = arg;
		break;
	default:
		return 0;
	}
	return 1;
}

/* Checks that text is one JSON value; returns its exact bytes. */
static char *
check_metadata(const char *what, const char *text)
{
	struct errbuf eb;
	char *raw;

	if (registration_metadata_check(text, strlen(text), CLI_METADATA_MAX,
	    &raw, &eb) == -1)
		cli_usage_error("%s: %s", what, eb.msg);
	return raw;
}

void
cli_client_finish(struct cli_client *c)
{
	struct server_list servers;
	struct errbuf eb;
	struct buf b;

	/* Each URL of a list is checked now, as the node client splits it. */
	if (server_list_parse(&servers, c->opts.server, &eb) == -1) {
		if (eb.code == EC_USAGE)
			cli_usage_error("%s", eb.msg);
		cli_die_eb(&eb);
	}
	server_list_release(&servers);
	if (c->opts.identifier == NULL) {
		if (gethostname(c->host, sizeof(c->host) - 1) == -1)
			cli_die(EC_INTERNAL, "gethostname: %s",
			    strerror(errno));
		c->opts.identifier = c->host;
	}
	if (registration_identifier_check(c->opts.identifier,
	    strlen(c->opts.identifier), &eb) == -1)
		cli_usage_error("--id %s: %s", c->opts.identifier, eb.msg);
	/* A CA file that cannot be read will not be readable on a retry. */
	if (c->opts.cacert != NULL && access(c->opts.cacert, R_OK) == -1)
		cli_usage_error("--cacert %s: %s", c->opts.cacert,
		    strerror(errno));
	if (c->opts.ip != NULL && registration_ip_check(c->opts.ip, &eb) == -1)
		cli_usage_error("--ip: %s", eb.msg);
	if (c->metadata_file != NULL) {
		buf_init(&b, CLI_METADATA_MAX);
		if (fsx_read_file(c->metadata_file, &b, &eb) == -1)
			cli_die(EC_USAGE, "--metadata-file: %s", eb.msg);
		c->metadata = check_metadata(c->metadata_file, b.data);
		buf_release(&b);
	} else if (c->metadata_arg != NULL)
		c->metadata = check_metadata("--metadata", c->metadata_arg);
	c->opts.metadata = c->metadata;
	if (c->token_file != NULL) {
		c->token = cli_read_token(c->token_file);
		c->opts.token = c->token;
	}
}

void
cli_client_release(struct cli_client *c)
{
	cli_token_free(c->token);
	c->token = NULL;
	free(c->metadata);
	c->metadata = NULL;
}
