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
	while (cli_next(&p) != CLI_DONE) {
		if (cert != NULL)
			cli_usage_error("expected one CERT");
		cert = p.arg;
	}
	if (p.rest != NULL && cert == NULL && p.nrest == 1)
		cert = p.rest[0];
	else if (p.rest != NULL || cert == NULL)
		cli_usage_error("expected one CERT");
	if (tls_pin_of_cert(cert, pin, &eb) == -1)
		cli_die_eb(&eb);
	printf("%s\n", pin);
	return EC_OK;
}
