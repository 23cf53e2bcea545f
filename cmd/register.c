/*
 * cfgsync register: register this node with the config service, retrying
 * until --timeout, and nothing else.
 */
#include "cli.h"
#include "cli_client.h"
#include "cmds.h"
#include "errbuf.h"
#include "exitcode.h"
#include "node_client.h"
#include "banned.h"

static const struct cli_command register_command = {
	.name = "register",
	.operands = "",
	.sets = { cli_client_options, cli_client_identity_options, NULL },
};

int
cmd_register(int argc, char **argv)
{
	struct cli_client client;
	struct cli_parser p;
	struct errbuf eb;
	int id;

	cli_client_init(&client);
	cli_parser_init(&p, &register_command, argc, argv);
	while ((id = cli_next(&p)) != CLI_DONE)
		if (!cli_client_opt(&client, id, p.arg))
			cli_operand(&p, NULL, 0, "no operands");
	cli_operands_end(&p, NULL, 0, "no operands");
	cli_client_finish(&client);
	if (node_client_register(&client.opts, &eb) == -1)
		cli_die_eb(&eb);
	cli_client_release(&client);
	return EC_OK;
}
