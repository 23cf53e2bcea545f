/*
 * cfgsync pin CERT: print the public-key pin of a server certificate, the
 * value a node's `fetch --pin` trusts without a CA file (as kubeadm's
 * discovery hash does).
 */
#include <stdio.h>

#include "cli.h"
#include "cmds.h"
#include "errbuf.h"
#include "exitcode.h"
#include "tls_pin.h"
#include "banned.h"

static const struct cli_command pin_command = {
	.name = "pin",
	.operands = "CERT",
	.sets = { NULL },
};

int
cmd_pin(int argc, char **argv)
{
	char pin[TLS_PIN_LEN];
	struct cli_parser p;
	struct errbuf eb;
	const char *cert = NULL;

	cli_parser_init(&p, &pin_command, argc, argv);
	while (cli_next(&p) != CLI_DONE)
		cli_operand(&p, &cert, 1, "one CERT");
	cli_operands_end(&p, &cert, 1, "one CERT");
	if (tls_pin_of_cert(cert, pin, &eb) == -1)
		cli_die_eb(&eb);
	printf("%s\n", pin);
	return EC_OK;
}
