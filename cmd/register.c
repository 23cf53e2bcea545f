/*
 * cfgsync register: register this node with the config service, retrying
 * until --timeout, and nothing else.
 */
#include <string.h>

#include "cli.h"
#include "cmds.h"
#include "errbuf.h"
#include "exitcode.h"
#include "node_client.h"
#include "banned.h"

static const char usage[] =
    "usage: cfgsync register [-q] [--server URL] [--id IDENTIFIER] "
    "[--ip ADDRESS]\n"
    "           [--metadata JSON | --metadata-file FILE] "
    "[--token-file FILE]\n"
    "           [--cacert FILE] [--timeout SECONDS]\n";

int
cmd_register(int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_CLIENT_LONGOPTS,
		{ "help",	no_argument,	NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct cli_client client;
	struct errbuf eb;
	int ch;

	cli_client_init(&client);
	while ((ch = getopt_long(argc, argv, "+hq", longopts, NULL)) != -1) {
		if (cli_client_opt(&client, usage, ch, optarg))
			continue;
		if (ch == 'h')
			cli_help(usage);
		cli_bad_option(usage);
	}
	if (optind != argc)
		cli_usage_error(usage, "unexpected argument %s", argv[optind]);
	cli_client_finish(&client, usage);
	if (node_client_register(&client.opts, &eb) == -1)
		cli_die_eb(&eb);
	cli_client_release(&client);
	return EC_OK;
}
