/*
 * The caps of the commands that read a bundle (--max-entries,
 * --max-file-size, --max-total-size).  cmd/cli_limits.c.
 */
#ifndef CFGSYNC_CLI_LIMITS_H
#define CFGSYNC_CLI_LIMITS_H

#include "cli.h"

struct bundle_limits;

enum {
	CLI_OPT_MAX_ENTRIES = CLI_OPT_SHARED + 128,
	CLI_OPT_MAX_FILE_SIZE,
	CLI_OPT_MAX_TOTAL_SIZE
};

extern const struct cli_option cli_limits_options[];

/*
 * Takes one limit option into l (which bundle_limits_default filled);
 * returns 1 when id was one, else 0.
 */
int	cli_limits_opt(struct bundle_limits *, int id, const char *arg);

/*
 * Parses the options of cmd, a command that takes only the limit options,
 * into l, which starts from the defaults, and its n operands into
 * operands (cli_operand, naming want when they are not n).
 */
void	cli_limits_only(const struct cli_command *cmd, int argc, char **argv,
	    struct bundle_limits *l, const char **operands, int n,
	    const char *want);

#endif
