/*
 * Bundles read from a directory holding the tree of bundle_tree.h, for
 * `bundle pack`.  Nothing below the directory is followed through a
 * symbolic link: every step is an openat(2) with O_NOFOLLOW, so what is
 * read is what the tree holds, and links, devices, FIFOs and sockets are
 * refused rather than read.
 */
#ifndef CFGSYNC_BUNDLE_DIR_H
#define CFGSYNC_BUNDLE_DIR_H

#include "bundle_archive.h"

struct buf;
struct bundle;
struct bundle_limits;
struct errbuf;

/*
 * Reads the tree under dir into b, which must be empty (bundle_init),
 * recording each file's permission bits by the rule of bundle_tree_mode,
 * applies the manifest at its top if there is one
 * (bundle_tree_manifest_apply), then sorts and validates it
 * (bundle_tree_finish).  Returns 0, or -1 with EC_USAGE (dir cannot be
 * opened), EC_INVALID naming the entry (anything bundle_tree_parse
 * refuses, a symbolic link, a device, a FIFO, a socket, a file that cannot
 * be read, a limit passed, a manifest entry that is malformed, names no
 * file or holds a digest the file does not match) or EC_INTERNAL.
 */
int	bundle_dir_read(struct bundle *, const char *dir,
	    const struct bundle_limits *, struct errbuf *);

/*
 * Like bundle_dir_read, and writes the archive form of the tree in format
 * fmt (not JSON) to out as it goes: the same bytes bundle_archive_write
 * gives for b (the manifest, re-rendered, last), but read on a second
 * thread while this one compresses.
 * On failure out holds garbage.
 */
int	bundle_dir_read_archive(struct bundle *, const char *dir,
	    const struct bundle_limits *, enum bundle_archive_format fmt,
	    struct buf *out, struct errbuf *);

#endif
