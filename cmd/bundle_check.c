/*
 * cfgsync bundle check: validate a bundle as every reader would, and list
 * every problem, one line each, rather than stop at the first.
 */
#include "bundle.h"
#include "bundle_archive.h"
#include "bundle_file.h"
#include "cli.h"
#include "cli_limits.h"
#include "cmds.h"
#include "diag.h"
#include "errbuf.h"
#include "exitcode.h"
#include "banned.h"

const struct cli_command bundle_check_command = {
	.name = "bundle check",
	.operands = "BUNDLE",
	.sets = { cli_limits_options, NULL },
};

static void
print_problem(void *arg, const struct errbuf *eb)
{
	diag_warn("%s: %s", (const char *)arg, eb->msg);
}

int
cmd_bundle_check(int argc, char **argv)
{
	struct bundle_content content;
	struct bundle_limits limits;
	struct bundle_report report;
	struct bundle b;
	struct errbuf eb;
	const char *path = NULL;
	int rc;

	cli_limits_only(&bundle_check_command, argc, argv, &limits, &path, 1,
	    "one BUNDLE");
	report.problem = print_problem;
	report.arg = (void *)path;	/* print_problem only reads it */
	report.count = 0;
	/* Only sizes and digests are needed: no content is kept. */
	bundle_content_init(&content, BUNDLE_CONTENT_DROP, -1);
	bundle_init(&b);
	rc = bundle_file_read_with(&b, path, &limits, &content, &report, &eb);
	bundle_release(&b);
	/* Problems are printed as found; other failures say so here. */
	if (rc == -1 && (eb.code != EC_INVALID || report.count == 0))
		cli_die_eb(&eb);
	return rc == -1 ? EC_INVALID : EC_OK;
}
