/*
 * cfgsync bundle pack: read a tree nodes/<identifier>/... and shared/...
 * from a directory and write it as a bundle, JSON or an archive, the
 * same bytes for the same tree every time.
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
#include "cli.h"
#include "cmds.h"
#include "errbuf.h"
#include "exitcode.h"
#include "fsx.h"
#include "banned.h"

#define PACK_TRIM_THRESHOLD	(32 << 20)

static const char usage[] =
    "usage: cfgsync bundle pack "
    "[--format json|tar|tar.gz|tar.xz|tar.zst|zip] [--hash]\n"
    "           [--max-entries N] [--max-file-size BYTES] "
    "[--max-total-size BYTES]\n"
    "           DIR -o OUT\n";

static void
hash_set(struct artifact_set *set)
{
	size_t i;

	for (i = 0; i < set->len; i++)
		artifact_file_hash(&set->files[i]);
}

enum {
	OPT_FORMAT = CLI_OPT_OWN,
	OPT_HASH
};

int
cmd_bundle_pack(int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_LIMITS_LONGOPTS,
		{ "format",	required_argument, NULL, OPT_FORMAT },
		{ "hash",	no_argument,	   NULL, OPT_HASH },
		{ "help",	no_argument,	   NULL, 'h' },
		{ "output",	required_argument, NULL, 'o' },
		{ NULL, 0, NULL, 0 }
	};
	enum bundle_archive_format fmt = BUNDLE_ARCHIVE_JSON;
	struct bundle_limits limits;
	struct bundle b;
	struct errbuf eb;
	struct buf data;
	const char *out = NULL;
	size_t i;
	int ch, have_fmt = 0, hash = 0;

	/*
	 * No '+': nothing runs after pack, so options may follow DIR, as
	 * the synopsis has it.
	 */
	bundle_limits_default(&limits);
	while ((ch = getopt_long(argc, argv, "ho:", longopts, NULL)) != -1) {
		if (cli_limits_opt(&limits, usage, ch, optarg))
			continue;
		switch (ch) {
		case 'h':
			cli_help(usage);
		case 'o':
			out = optarg;
			break;
		case OPT_FORMAT:
			if (bundle_archive_format_parse(optarg, &fmt) == -1)
				cli_usage_error(usage, "--format %s: not json, "
				    "tar, tar.gz, tar.xz, tar.zst or zip",
				    optarg);
			have_fmt = 1;
			break;
		case OPT_HASH:
			hash = 1;
			break;
		default:
			cli_bad_option(usage);
		}
	}
	if (argc - optind != 1)
		cli_usage_error(usage, "expected one DIR");
	if (out == NULL || out[0] == '\0')
		cli_usage_error(usage, "no -o OUT");
	if (!have_fmt && strcmp(out, "-") != 0 &&
	    bundle_archive_format_from_path(out, &fmt) == -1)
		cli_usage_error(usage, "%s: no known extension (.json, .tar, "
		    ".tar.gz, .tgz, .tar.xz, .tar.zst, .zip); use --format",
		    out);
	if (hash && fmt != BUNDLE_ARCHIVE_JSON)
		cli_usage_error(usage, "--hash: only a JSON bundle carries "
		    "digests");

	/*
	 * The zip writer allocates and frees a deflate state per entry;
	 * without this, glibc hands the memory back and takes it again each
	 * time, a brk(2) pair per file (five times slower for small files).
	 */
	(void)mallopt(M_TRIM_THRESHOLD, PACK_TRIM_THRESHOLD);
	bundle_init(&b);
	buf_init(&data, SIZE_MAX);
	if (fmt != BUNDLE_ARCHIVE_JSON) {
		if (bundle_dir_read_archive(&b, argv[optind], &limits, fmt,
		    &data, &eb) == -1)
			cli_die_eb(&eb);
	} else {
		if (bundle_dir_read(&b, argv[optind], &limits, &eb) == -1)
			cli_die_eb(&eb);
		if (hash) {
			for (i = 0; i < b.nnodes; i++)
				hash_set(&b.nodes[i].files);
			hash_set(&b.shared);
		}
		if (bundle_archive_write(&data, &b, fmt, &eb) == -1)
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
