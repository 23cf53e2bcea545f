/*
 * cfgsync replace: push new files for one node to a server (POST
 * /node/replace, the original's admin route): from then on the server
 * serves the node these files, plus the shared ones, instead of what its
 * bundle or materializer gives it.  The files are the node's own in a
 * bundle, or in a bundle tree (a directory holding nodes/ID/...).
 */
#include <sys/stat.h>

#include <errno.h>
#include <string.h>

#include "artifacts.h"
#include "bundle.h"
#include "bundle_dir.h"
#include "bundle_file.h"
#include "cli.h"
#include "cli_client.h"
#include "cli_limits.h"
#include "cmds.h"
#include "diag.h"
#include "errbuf.h"
#include "exitcode.h"
#include "node_client.h"
#include "banned.h"

enum {
	OPT_ID = CLI_OPT_OWN
};

static const struct cli_option replace_options[] = {
	{ "id", 0, "IDENTIFIER", OPT_ID, "the node whose files to replace" },
	CLI_OPTIONS_END
};

static const struct cli_command replace_command = {
	.name = "replace",
	.operands = "SOURCE",
	.sets = { cli_client_options, replace_options, cli_limits_options,
	    NULL },
};

/* Reads SOURCE, a bundle file or a bundle tree, into b. */
static void
load_source(struct bundle *b, const char *source,
    const struct bundle_limits *limits)
{
	struct errbuf eb;
	struct stat st;

	if (stat(source, &st) == -1)
		cli_die(EC_USAGE, "%s: %s", source, strerror(errno));
	if ((S_ISDIR(st.st_mode) ? bundle_dir_read(b, source, limits, &eb) :
	    bundle_file_read(b, source, limits, NULL, &eb)) == -1)
		cli_die_eb(&eb);
}

int
cmd_replace(int argc, char **argv)
{
	struct bundle_limits limits;
	const struct bundle_node *node;
	struct cli_client client;
	struct cli_parser p;
	struct bundle b;
	struct errbuf eb;
	const char *source = NULL, *id = NULL;
	int opt;

	cli_client_init(&client);
	bundle_limits_default(&limits);
	cli_parser_init(&p, &replace_command, argc, argv);
	while ((opt = cli_next(&p)) != CLI_DONE) {
		if (cli_client_opt(&client, opt, p.arg) ||
		    cli_limits_opt(&limits, opt, p.arg))
			continue;
		switch (opt) {
		case CLI_OPERAND:
			cli_operand(&p, &source, 1, "one SOURCE");
			break;
		case OPT_ID:
			id = p.arg;
			break;
		}
	}
	cli_operands_end(&p, &source, 1, "one SOURCE");
	/* Never a default: replacing the wrong node's files is no typo. */
	if (id == NULL)
		cli_usage_error("--id is required");
	client.opts.identifier = id;
	cli_client_finish(&client);

	bundle_init(&b);
	load_source(&b, source, &limits);
	if ((node = bundle_find(&b, id)) == NULL)
		cli_die(EC_INVALID, "%s: no node %s", source, id);
	if (node_client_replace(&client.opts, &node->files, &eb) == -1)
		cli_die_eb(&eb);
	diag_info("replaced the files of %s: %zu files", id, node->files.len);
	bundle_release(&b);
	cli_client_release(&client);
	return EC_OK;
}
