/*
 * cfgsync bundle list: one line per file of a bundle, node files first:
 * identifier (or "shared"), path, mode in octal, size, tab-separated; or
 * with --json an array of {"identifier","path","mode","size"} objects, the
 * identifier null for a shared file (a node may be called "shared").
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "artifacts.h"
#include "buf.h"
#include "bundle.h"
#include "bundle_archive.h"
#include "bundle_file.h"
#include "bundle_tree.h"
#include "cli.h"
#include "cli_limits.h"
#include "cmds.h"
#include "errbuf.h"
#include "exitcode.h"
#include "banned.h"

static int
list_set(struct buf *out, const struct artifact_set *set, const char *id,
    int json)
{
	const struct artifact_file *f;
	size_t i;

	for (i = 0; i < set->len; i++) {
		f = &set->files[i];
		if (!json) {
			if (buf_addf(out, "%s\t%s\t%04o\t%zu\n",
			    id != NULL ? id : "shared", f->path,
			    bundle_tree_perm(f), f->len) == -1)
				return -1;
			continue;
		}
		if ((out->len > 1 && buf_addc(out, ',') == -1) ||
		    buf_adds(out, "{\"identifier\":") == -1 ||
		    (id != NULL ? buf_add_json_string(out, id,
		    strlen(id)) : buf_adds(out, "null")) == -1 ||
		    buf_adds(out, ",\"path\":") == -1 ||
		    buf_add_json_string(out, f->path, strlen(f->path)) == -1 ||
		    buf_addf(out, ",\"mode\":\"%04o\",\"size\":%zu}",
		    bundle_tree_perm(f), f->len) == -1)
			return -1;
	}
	return 0;
}

enum {
	OPT_JSON = CLI_OPT_OWN
};

static const struct cli_option list_options[] = {
	{ "json", 0, NULL, OPT_JSON, "print one JSON array" },
	CLI_OPTIONS_END
};

const struct cli_command bundle_list_command = {
	.name = "bundle list",
	.operands = "BUNDLE",
	.sets = { list_options, cli_limits_options, NULL },
};

int
cmd_bundle_list(int argc, char **argv)
{
	struct bundle_content content;
	struct bundle_limits limits;
	struct cli_parser p;
	struct bundle b;
	struct errbuf eb;
	struct buf out;
	const char *path = NULL;
	size_t i;
	int id, json = 0;

	bundle_limits_default(&limits);
	cli_parser_init(&p, &bundle_list_command, argc, argv);
	while ((id = cli_next(&p)) != CLI_DONE) {
		if (cli_limits_opt(&limits, id, p.arg))
			continue;
		switch (id) {
		case CLI_OPERAND:
			cli_operand(&p, &path, 1, "one BUNDLE");
			break;
		case OPT_JSON:
			json = 1;
			break;
		}
	}
	cli_operands_end(&p, &path, 1, "one BUNDLE");
	/* Only sizes and modes are printed: no content is kept. */
	bundle_content_init(&content, BUNDLE_CONTENT_DROP, -1);
	bundle_init(&b);
	if (bundle_file_read_with(&b, path, &limits, &content, NULL,
	    &eb) == -1)
		cli_die_eb(&eb);
	buf_init(&out, SIZE_MAX);
	if (json && buf_addc(&out, '[') == -1)
		cli_die(EC_INTERNAL, "out of memory");
	for (i = 0; i < b.nnodes; i++)
		if (list_set(&out, &b.nodes[i].files, b.nodes[i].identifier,
		    json) == -1)
			cli_die(EC_INTERNAL, "out of memory");
	if (list_set(&out, &b.shared, NULL, json) == -1 ||
	    (json && buf_adds(&out, "]\n") == -1))
		cli_die(EC_INTERNAL, "out of memory");
	if (out.len > 0)
		fwrite(out.data, 1, out.len, stdout);
	buf_release(&out);
	bundle_release(&b);
	return EC_OK;
}
