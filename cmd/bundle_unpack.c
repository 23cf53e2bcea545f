/*
 * cfgsync bundle unpack: write the tree of a bundle under a directory, the
 * inverse of pack.  The files go through output_install, so the write is
 * all or nothing and never leaves the directory (no symlink below it is
 * followed); each file gets its mode, 0644 where it has none.  What the
 * tree cannot hold (a leading "/", owner, group, digest, a mode of 0644
 * given explicitly) goes to the manifest at the top (bundle_tree.h), which
 * pack reads back.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "artifacts.h"
#include "buf.h"
#include "bundle.h"
#include "bundle_file.h"
#include "bundle_tree.h"
#include "cli.h"
#include "cli_limits.h"
#include "cmds.h"
#include "errbuf.h"
#include "exitcode.h"
#include "output.h"
#include "banned.h"

const struct cli_command bundle_unpack_command = {
	.name = "bundle unpack",
	.operands = "BUNDLE DIR",
	.sets = { cli_limits_options, NULL },
};

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
 * installing the files did not make, so an empty node survives.  Without
 * a manifest of its own (has_manifest 0), removes one an earlier unpack
 * left, which no longer describes the tree.
 */
static void
make_dirs(const char *dir, const struct bundle *b, const char *empty,
    int has_manifest)
{
	int fd, nodes = -1, sub, made;
	size_t i;

	if (!(made = mkdir(dir, 0755) == 0) && errno != EEXIST)
		cli_die(EC_WRITE, "mkdir %s: %s", dir, strerror(errno));
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		cli_die(EC_WRITE, "open %s: %s", dir, strerror(errno));
	if (made)
		(void)fchmod(fd, 0755);
	if (!has_manifest && unlinkat(fd, BUNDLE_TREE_MANIFEST, 0) == -1 &&
	    errno != ENOENT)
		cli_die(EC_WRITE, "remove %s/%s: %s", dir,
		    BUNDLE_TREE_MANIFEST, strerror(errno));
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
	struct buf manifest;
	const char *operands[2] = { NULL, NULL };
	char *empty = NULL;
	size_t i;

	cli_limits_only(&bundle_unpack_command, argc, argv, &limits, operands,
	    2, "BUNDLE and DIR");
	if (operands[1][0] == '\0')
		cli_usage_error("DIR: empty path");
	bundle_init(&b);
	artifact_set_init(&files);
	if (bundle_file_read(&b, operands[0], &limits, NULL,
	    &eb) == -1)
		cli_die_eb(&eb);
	if (b.nnodes > 0 && (empty = calloc(b.nnodes, 1)) == NULL)
		cli_die(EC_INTERNAL, "out of memory");
	for (i = 0; i < b.nnodes; i++)
		empty[i] = b.nodes[i].files.len == 0;
	buf_init(&manifest, SIZE_MAX);
	if (bundle_tree_manifest_render(&manifest, &b) == -1)
		cli_die(EC_INTERNAL, "out of memory");
	if (bundle_tree_flatten(&b, &files, &eb) == -1)
		cli_die_eb(&eb);
	if (manifest.len > 0 && artifact_set_add_copy(&files,
	    BUNDLE_TREE_MANIFEST, manifest.data, manifest.len,
	    BUNDLE_TREE_PERM, &eb) == -1)
		cli_die_eb(&eb);
	memset(&oo, 0, sizeof(oo));
	oo.out_dir = operands[1];
	if (output_install(&files, &oo, &eb) == -1)
		cli_die_eb(&eb);
	make_dirs(operands[1], &b, empty, manifest.len > 0);
	buf_release(&manifest);
	free(empty);
	artifact_set_release(&files);
	bundle_release(&b);
	return EC_OK;
}
