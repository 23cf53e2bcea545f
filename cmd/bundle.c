/*
 * cfgsync bundle: the dispatcher of the bundle verbs, each a command of
 * its own in cmd/bundle_VERB.c.  Messages then read "cfgsync: bundle
 * pack: ...", and the verb gets an argv that starts at its own name.
 */
#include <stdio.h>
#include <string.h>

#include "array.h"
#include "cli.h"
#include "cmds.h"
#include "banned.h"

struct verb {
	const char	*name;
	int		(*run)(int argc, char **argv);
	const char	*command;	/* names it in messages */
};

static const struct verb verbs[] = {	/* sorted by name */
	{ "check",	cmd_bundle_check,	"bundle check" },
	{ "list",	cmd_bundle_list,	"bundle list" },
	{ "pack",	cmd_bundle_pack,	"bundle pack" },
	{ "unpack",	cmd_bundle_unpack,	"bundle unpack" },
};

static const struct cli_command *const bundle_verbs[] = {
	&bundle_pack_command,
	&bundle_list_command,
	&bundle_unpack_command,
	&bundle_check_command,
	NULL
};

static const struct cli_command bundle_command = {
	.name = "bundle",
	.operands = "pack|list|unpack|check [ARG ...]",
	.sets = { NULL },
	.verbs = bundle_verbs,
};

int
cmd_bundle(int argc, char **argv)
{
	static char progname[64];
	const struct verb *v = NULL;
	struct cli_parser p;
	const char *name = NULL;
	size_t i;
	int at;

	/* Options before the verb are bundle's, those after it the verb's. */
	cli_parser_init(&p, &bundle_command, argc, argv);
	if (cli_next(&p) == CLI_OPERAND)
		name = p.arg;
	else if (p.rest != NULL)
		name = p.rest[0];
	if (name == NULL)
		cli_usage_error("expected a verb: pack, list, unpack or check");
	for (i = 0; i < nitems(verbs); i++)
		if (strcmp(verbs[i].name, name) == 0)
			v = &verbs[i];
	if (v == NULL)
		cli_usage_error("'%s' is not a bundle verb", name);
	at = p.rest != NULL ? (int)(p.rest - argv) : p.next - 1;
	cli_init(v->command);
	(void)snprintf(progname, sizeof(progname), "cfgsync: %s", v->command);
	argv[at] = progname;
	return v->run(argc - at, argv + at);
}
