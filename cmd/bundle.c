/*
 * cfgsync bundle: the dispatcher of the bundle verbs, each a command of
 * its own in cmd/bundle_VERB.c.  Messages then read "cfgsync: bundle
 * pack: ...", and the verb gets an argv that starts at its own name.
 */
#include <stdio.h>
#include <string.h>

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

static const char usage[] =
    "usage: cfgsync bundle pack [--format FORMAT] [--hash] [--max-entries N]\n"
    "           [--max-file-size BYTES] [--max-total-size BYTES] DIR -o OUT\n"
    "       cfgsync bundle list [--json] [--max-entries N] "
    "[--max-file-size BYTES]\n"
    "           [--max-total-size BYTES] BUNDLE\n"
    "       cfgsync bundle unpack [--max-entries N] "
    "[--max-file-size BYTES]\n"
    "           [--max-total-size BYTES] BUNDLE DIR\n"
    "       cfgsync bundle check [--max-entries N] "
    "[--max-file-size BYTES]\n"
    "           [--max-total-size BYTES] BUNDLE\n";

int
cmd_bundle(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help",	no_argument,	NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	static char progname[64];
	const struct verb *v = NULL;
	size_t i;
	int ch;

	while ((ch = getopt_long(argc, argv, "+h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'h':
			cli_help(usage);
		default:
			cli_bad_option(usage);
		}
	}
	if (optind >= argc)
		cli_usage_error(usage, "expected a verb: pack, list, unpack "
		    "or check");
	for (i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		if (strcmp(verbs[i].name, argv[optind]) == 0)
			v = &verbs[i];
	if (v == NULL)
		cli_usage_error(usage, "'%s' is not a bundle verb",
		    argv[optind]);
	cli_init(v->command);
	(void)snprintf(progname, sizeof(progname), "cfgsync: %s", v->command);
	argv[optind] = progname;
	argc -= optind;
	argv += optind;
	cli_getopt_reset();
	return v->run(argc, argv);
}
