/*
 * cfgsync bundle unpack: write the tree of a bundle under a directory, the
 * inverse of pack.  The files go through output_install, so the write is
 * all or nothing and never leaves the directory (no symlink below it is
 * followed); each file gets its mode, 0644 where it has none.  What the
 * tree cannot hold (a leading "/", owner, group, digest, a mode of 0644
 * given explicitly) goes to the manifest at the top (bundle_tree.h), which
 * pack reads back.
 *
 * An archive is read as a stream: each file's content goes to a spool, an
 * unlinked file in DIR, through a fixed buffer, and is mapped back from
 * it to be installed, so memory does not grow with what the archive
 * holds and a bomb is refused at the block that passes a limit, before
 * anything is installed.  A refused bundle leaves nothing: a DIR this run
 * made is removed again.
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
#include "bundle_archive.h"
#include "bundle_file.h"
#include "bundle_tree.h"
#include "cli.h"
#include "cli_limits.h"
#include "cmds.h"
#include "errbuf.h"
#include "exitcode.h"
#include "fsx.h"
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

/*
 * Makes dir if it is absent (*made then 1) and returns an empty file in
 * it, open for reading and writing, that no name reaches: the spool.
 */
static int
open_spool(const char *dir, int *made)
{
	char name[FSX_TEMP_NAME_MAX];
	int dfd, fd;

	if (!(*made = mkdir(dir, 0755) == 0) && errno != EEXIST)
		cli_die(EC_WRITE, "mkdir %s: %s", dir, strerror(errno));
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		cli_die(EC_WRITE, "open %s: %s", dir, strerror(errno));
	if (*made)
		(void)fchmod(dfd, 0755);	/* whatever the umask */
	if ((fd = openat(dfd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC,
	    0600)) == -1) {
		/* No O_TMPFILE here: a temporary, unlinked at once. */
		if (fsx_temp_name(name, sizeof(name), "unpack") == -1 ||
		    (fd = openat(dfd, name, O_RDWR | O_CREAT | O_EXCL |
		    O_NOFOLLOW | O_CLOEXEC, 0600)) == -1)
			cli_die(EC_WRITE, "create a spool in %s: %s", dir,
			    strerror(errno));
		(void)unlinkat(dfd, name, 0);
	}
	close(dfd);
	return fd;
}

int
cmd_bundle_unpack(int argc, char **argv)
{
	struct bundle_content content;
	struct bundle_limits limits;
	struct output_opts oo;
	struct artifact_set files;
	struct bundle b;
	struct errbuf eb;
	struct buf manifest;
	const char *operands[2] = { NULL, NULL };
	char *empty = NULL;
	size_t i;
	int spool, made;

	cli_limits_only(&bundle_unpack_command, argc, argv, &limits, operands,
	    2, "BUNDLE and DIR");
	if (operands[1][0] == '\0')
		cli_usage_error("DIR: empty path");
	bundle_init(&b);
	artifact_set_init(&files);
	spool = open_spool(operands[1], &made);
	bundle_content_init(&content, BUNDLE_CONTENT_SPOOL, spool);
	if (bundle_file_read_with(&b, operands[0], &limits, &content, NULL,
	    &eb) == -1) {
		close(spool);
		if (made)
			(void)rmdir(operands[1]);
		cli_die_eb(&eb);
	}
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
	if (output_install(&files, &oo, &eb) == -1) {
		if (made)
			(void)rmdir(operands[1]);	/* if still empty */
		cli_die_eb(&eb);
	}
	make_dirs(operands[1], &b, empty, manifest.len > 0);
	buf_release(&manifest);
	free(empty);
	bundle_content_disown(&content, &files);
	artifact_set_release(&files);
	bundle_release(&b);
	bundle_content_release(&content);
	close(spool);
	return EC_OK;
}
