/*
 * cfgsync bundle unpack: write the tree of a bundle under a directory, the
 * inverse of pack.  The files go through output_install, so the write is
 * all or nothing and never leaves the directory (no symlink below it is
 * followed); each file gets its mode, 0644 where it has none.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "artifacts.h"
#include "bundle.h"
#include "bundle_file.h"
#include "bundle_tree.h"
#include "cli.h"
#include "cmds.h"
#include "errbuf.h"
#include "exitcode.h"
#include "output.h"
#include "banned.h"

static const char usage[] =
    "usage: cfgsync bundle unpack [--max-entries N] "
    "[--max-file-size BYTES]\n"
    "           [--max-total-size BYTES] BUNDLE DIR\n";

/* Opens (making it 0755 if absent) the directory name below dfd. */
static int
open_sub(int dfd, const char *name, const char *show)
{
	int fd, made;

	if (!(made = mkdirat(dfd, name, 0755) == 0) && errno != EEXIST)
		cli_die(EC_WRITE, "mkdir %s: %s", show, strerror(errno));
	if ((fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1)
		cli_die(EC_WRITE, "open %s: %s", show, errno == ELOOP ||
		    errno == ENOTDIR ? "unsafe path: not a directory "
		    "(symlink?)" : strerror(errno));
	if (made)
		(void)fchmod(fd, 0755);	/* whatever the umask, as fetch */
	return fd;
}

/*
 * Makes dir, and nodes/<identifier> for each node without files, which
 * installing the files did not make, so an empty node survives.
 */
static void
make_dirs(const char *dir, const struct bundle *b, const char *empty)
{
	int fd, nodes = -1, sub, made;
	size_t i;

	if (!(made = mkdir(dir, 0755) == 0) && errno != EEXIST)
		cli_die(EC_WRITE, "mkdir %s: %s", dir, strerror(errno));
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		cli_die(EC_WRITE, "open %s: %s", dir, strerror(errno));
	if (made)
		(void)fchmod(fd, 0755);
	for (i = 0; i < b->nnodes; i++) {
		if (!empty[i])
			continue;
		if (nodes == -1)
			nodes = open_sub(fd, "nodes", "nodes");
		sub = open_sub(nodes, b->nodes[i].identifier,
		    b->nodes[i].identifier);
		close(sub);
	}
	if (nodes != -1)
		close(nodes);
	close(fd);
}

int
cmd_bundle_unpack(int argc, char **argv)
{
	struct bundle_limits limits;
	struct output_opts oo;
	struct artifact_set files;
	struct bundle b;
	struct errbuf eb;
	char *empty = NULL;
	size_t i;

	optind = cli_limits_only(argc, argv, usage, &limits);
	if (argc - optind != 2)
		cli_usage_error(usage, "expected BUNDLE and DIR");
	if (argv[optind + 1][0] == '\0')
		cli_usage_error(usage, "DIR: empty path");
	bundle_init(&b);
	artifact_set_init(&files);
	if (bundle_file_read(&b, argv[optind], &limits, NULL, &eb) == -1)
		cli_die_eb(&eb);
	if (b.nnodes > 0 && (empty = calloc(b.nnodes, 1)) == NULL)
		cli_die(EC_INTERNAL, "out of memory");
	for (i = 0; i < b.nnodes; i++)
		empty[i] = b.nodes[i].files.len == 0;
	if (bundle_tree_flatten(&b, &files, &eb) == -1)
		cli_die_eb(&eb);
	memset(&oo, 0, sizeof(oo));
	oo.out_dir = argv[optind + 1];
	if (output_install(&files, &oo, &eb) == -1)
		cli_die_eb(&eb);
	make_dirs(argv[optind + 1], &b, empty);
	free(empty);
	artifact_set_release(&files);
	bundle_release(&b);
	return EC_OK;
}
