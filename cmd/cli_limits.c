/*
 * The caps of the commands that read a bundle (cli_limits.h).
 */
#include "cli_limits.h"

#include "bundle.h"
#include "banned.h"

#define CLI_LIMIT_MAX	(1UL << 40)

const struct cli_option cli_limits_options[] = {
	{ "max-entries", 0, "N", CLI_OPT_MAX_ENTRIES,
	    "most files in a bundle" },
	{ "max-file-size", 0, "BYTES", CLI_OPT_MAX_FILE_SIZE,
	    "largest file in a bundle" },
	{ "max-total-size", 0, "BYTES", CLI_OPT_MAX_TOTAL_SIZE,
	    "most bytes of all files in a bundle" },
	CLI_OPTIONS_END
};

int
cli_limits_opt(struct bundle_limits *l, int id, const char *arg)
{
	switch (id) {
	case CLI_OPT_MAX_ENTRIES:
		l->max_entries = cli_uint_opt("--max-entries", arg, 1,
		    100000000);
		break;
	case CLI_OPT_MAX_FILE_SIZE:
		l->max_file_size = cli_uint_opt("--max-file-size", arg, 1,
		    CLI_LIMIT_MAX);
		break;
	case CLI_OPT_MAX_TOTAL_SIZE:
		l->max_total_size = cli_uint_opt("--max-total-size", arg, 1,
		    CLI_LIMIT_MAX);
		break;
	default:
		return 0;
	}
	return 1;
}

void
cli_limits_only(const struct cli_command *cmd, int argc, char **argv,
    struct bundle_limits *l, const char **operands, int n, const char *want)
{
	struct cli_parser p;
	int id;

	bundle_limits_default(l);
	cli_parser_init(&p, cmd, argc, argv);
	while ((id = cli_next(&p)) != CLI_DONE)
		/* Only operands are left: the parser knows no other ids. */
		if (!cli_limits_opt(l, id, p.arg))
			cli_operand(&p, operands, n, want);
	cli_operands_end(&p, operands, n, want);
}
