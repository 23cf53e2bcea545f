/*
 * cfgsync bundle pack: read a tree nodes/<identifier>/... and shared/...
 * from a directory and write it as a bundle, JSON, YAML or an archive,
 * the same bytes for the same tree every time.
 */
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "artifacts.h"
#include "buf.h"
#include "bundle.h"
#include "bundle_archive.h"
#include "bundle_dir.h"
#include "bundle_shape.h"
#include "cli.h"
#include "cli_limits.h"
#include "cmds.h"
#include "errbuf.h"
#include "exitcode.h"
#include "fsx.h"
#include "banned.h"

#define PACK_TRIM_THRESHOLD	(32 << 20)

static void
hash_set(struct artifact_set *set)
{
	size_t i;

	for (i = 0; i < set->len; i++)
		artifact_file_hash(&set->files[i]);
}

enum {
	OPT_FORMAT = CLI_OPT_OWN,
	OPT_HASH,
	OPT_OUTPUT,
	OPT_SHAPE
};

static const struct cli_option pack_options[] = {
	{ "format", 0, "json|yaml|tar|tar.gz|tar.xz|tar.zst|zip", OPT_FORMAT,
	    "the output's format (default: from its extension)" },
	{ "hash", 0, NULL, OPT_HASH,
	    "add each file's SHA-256 (JSON and YAML only)" },
	{ "output", 'o', "OUT", OPT_OUTPUT,
	    "write the bundle to OUT (\"-\": stdout)" },
	{ "shape", 0, "static|materialized", OPT_SHAPE,
	    "the document's shape, JSON or YAML (default: static)" },
	CLI_OPTIONS_END
};

const struct cli_command bundle_pack_command = {
	.name = "bundle pack",
	.operands = "DIR",
	.sets = { pack_options, cli_limits_options, NULL },
};

int
cmd_bundle_pack(int argc, char **argv)
{
	enum bundle_archive_format fmt = BUNDLE_ARCHIVE_JSON;
	enum bundle_shape shape = BUNDLE_SHAPE_STATIC;
	struct bundle_limits limits;
	struct cli_parser p;
	struct bundle b;
	struct errbuf eb;
	struct buf data;
	const char *out = NULL, *dir = NULL;
	size_t i;
	int id, have_fmt = 0, have_shape = 0, hash = 0, doc;

	bundle_limits_default(&limits);
	cli_parser_init(&p, &bundle_pack_command, argc, argv);
	while ((id = cli_next(&p)) != CLI_DONE) {
		if (cli_limits_opt(&limits, id, p.arg))
			continue;
		switch (id) {
		case CLI_OPERAND:
			cli_operand(&p, &dir, 1, "one DIR");
			break;
		case OPT_FORMAT:
			if (bundle_archive_format_parse(p.arg, &fmt) == -1)
				cli_usage_error("--format %s: not json, yaml, "
				    "tar, tar.gz, tar.xz, tar.zst or zip",
				    p.arg);
			have_fmt = 1;
			break;
		case OPT_HASH:
			hash = 1;
			break;
		case OPT_OUTPUT:
			out = p.arg;
			break;
		case OPT_SHAPE:
			if (bundle_shape_parse(p.arg, &shape) == -1)
				cli_usage_error("--shape %s: not static or "
				    "materialized", p.arg);
			have_shape = 1;
			break;
		}
	}
	cli_operands_end(&p, &dir, 1, "one DIR");
	if (out == NULL || out[0] == '\0')
		cli_usage_error("no -o OUT");
	if (!have_fmt && strcmp(out, "-") != 0 &&
	    bundle_archive_format_from_path(out, &fmt) == -1)
		cli_usage_error("%s: no known extension (.json, .yaml, "
		    ".yml, .tar, .tar.gz, .tgz, .tar.xz, .tar.zst, .zip); use "
		    "--format", out);
	doc = fmt == BUNDLE_ARCHIVE_JSON || fmt == BUNDLE_ARCHIVE_YAML;
	if (hash && !doc)
		cli_usage_error("--hash: only a JSON bundle carries "
		    "digests, or a YAML one");
	if (have_shape && !doc)
		cli_usage_error("--shape: only a JSON or YAML bundle has a "
		    "shape");

	/*
	 * The zip writer allocates and frees a deflate state per entry;
	 * without this, glibc hands the memory back and takes it again each
	 * time, a brk(2) pair per file (five times slower for small files).
	 */
	(void)mallopt(M_TRIM_THRESHOLD, PACK_TRIM_THRESHOLD);
	bundle_init(&b);
	buf_init(&data, SIZE_MAX);
	if (!doc) {
		if (bundle_dir_read_archive(&b, dir, &limits, fmt,
		    &data, &eb) == -1)
			cli_die_eb(&eb);
	} else {
		if (bundle_dir_read(&b, dir, &limits, &eb) == -1)
			cli_die_eb(&eb);
		if (hash) {
			for (i = 0; i < b.nnodes; i++)
				hash_set(&b.nodes[i].files);
			hash_set(&b.shared);
		}
		if (bundle_shape_render(&data, &b, shape,
		    fmt == BUNDLE_ARCHIVE_YAML, &eb) == -1)
			cli_die_eb(&eb);
	}
	if (strcmp(out, "-") == 0)
		fwrite(data.data, 1, data.len, stdout);
	else if (fsx_write_atomic(out, data.data, data.len, 0644, &eb) == -1)
		cli_die_eb(&eb);
	buf_release(&data);
	bundle_release(&b);
	return EC_OK;
}
