/*
 * The tree form of a bundle (SPEC 5), which archives and directories share:
 * nodes/<identifier>/<path> holds one node's files, shared/<path> the files
 * every node gets.  Entry names are checked here, once for every reader, so
 * an archive and a directory refuse the same things with the same words.
 *
 * The mode rule lives here too: in a tree every file has permission bits,
 * but a file object carries "mode" only when they are not 0644, the mode a
 * node gives a new file without one, or when the manifest says so.  So a
 * plain tree packs to the plain JSON the original reads, and JSON, tree
 * and archive convert both ways without a change.
 */
#ifndef CFGSYNC_BUNDLE_TREE_H
#define CFGSYNC_BUNDLE_TREE_H

#include <stddef.h>

#include "registration.h"

struct artifact_file;
struct artifact_set;
struct buf;
struct bundle;
struct bundle_limits;
struct bundle_report;
struct errbuf;

#define BUNDLE_TREE_PERM	0644	/* a file without a mode */
#define BUNDLE_TREE_DIR_PERM	0755	/* a directory */

/*
 * What an entry name designates: a node's identifier or "", and a file's
 * path (borrowed from the name) or NULL for a directory.
 */
struct bundle_tree_entry {
	char		 identifier[REGISTRATION_ID_MAX + 1];
	const char	*path;
};

/*
 * Parses the name of a tree entry, a directory when isdir (which may end
 * in "/").  Leading "./" are dropped.  A directory is fine anywhere in the
 * tree (the top, nodes, nodes/<identifier>/..., shared/...); a file must be
 * below nodes/<identifier>/ or shared/.  Fills e: the identifier of the
 * node (or "" for the shared files and the top directories) and, for a
 * file, its path below that directory.  Returns 0, or -1 with EC_INVALID
 * naming the entry: an absolute name, a ".", ".." or empty component, a
 * control byte, a name that is not UTF-8, an entry outside nodes/ and
 * shared/, a bad identifier.
 */
int	bundle_tree_parse(const char *name, int isdir,
	    struct bundle_tree_entry *, struct errbuf *);

/*
 * Adds the entry e to b.  A directory only adds the node it names, if any
 * (so an empty node survives); a file becomes a file object of that node,
 * or a shared one, holding content (malloc'd and NUL-terminated; taken,
 * even on failure), len bytes and mode (see bundle_tree_mode).  Returns 0
 * or -1 with EC_INTERNAL.
 */
int	bundle_tree_add(struct bundle *, const struct bundle_tree_entry *,
	    char *content, size_t len, int mode, struct errbuf *);

/* How much of an entry name a message shows. */
#define BUNDLE_TREE_SHOW	160

/*
 * Says why an entry of file type type (the S_IFMT bits of a mode, as
 * stat(2) and libarchive give them) cannot be in a bundle: "symbolic
 * link", "device", "FIFO", "socket"; NULL for a regular file or a
 * directory.  Every reader refuses with these words.
 */
const char *bundle_tree_refusal(unsigned type);

/* Returns the mode a file object records for permission bits perm. */
int	bundle_tree_mode(unsigned perm);

/* Returns the permission bits of f in a tree: its mode, else 0644. */
unsigned bundle_tree_perm(const struct artifact_file *);

/*
 * Appends the tree name of a file: nodes/<identifier>/<path>, or
 * shared/<path> when identifier is NULL, path without its leading "/".
 * Returns 0 or -1 (errno as buf_add).
 */
int	bundle_tree_name(struct buf *, const char *identifier,
	    const char *path);

/*
 * What a reader of a tree calls last: sorts every node's files and the
 * shared files by path, as archive order and readdir order mean nothing,
 * then validates b as bundle_check does.
 */
int	bundle_tree_finish(struct bundle *, const struct bundle_limits *,
	    struct bundle_report *, struct errbuf *);

/*
 * The manifest: a file at the top of a tree that records, per file, what
 * the tree itself cannot hold, so JSON, tree and archive convert without a
 * loss.  It is JSON, one entry a line, sorted by tree name:
 *
 *	{"cfgsync_manifest":1,"files":[
 *	{"name":"nodes/n1/config.yaml","absolute":true,"owner":"root",...}
 *	]}
 *
 * An entry names a file by its tree name and says: "absolute", the path
 * has a leading "/"; "explicit_mode", the file object carries its mode
 * even when it is 0644; "owner" and "group"; "sha256", the digest of the
 * content.  A bundle that needs none of it has no manifest.  Archives
 * carry it as their last entry, under the same name, so every format
 * carries every attribute.
 */
#define BUNDLE_TREE_MANIFEST		".cfgsync-manifest.json"
#define BUNDLE_TREE_MANIFEST_VERSION	1

/*
 * Returns 1 when name, an entry name (leading "./" allowed), is the
 * manifest at the top of a tree, else 0.
 */
int	bundle_tree_is_manifest(const char *name);

/*
 * Appends the manifest of b to out, nothing when no file of b needs an
 * entry.  Returns 0, or -1 (errno as buf_add).
 */
int	bundle_tree_manifest_render(struct buf *out, const struct bundle *);

/*
 * Applies the manifest text[0..len) to b, as read from a tree (before
 * bundle_tree_finish): every entry must name a file of b and be well
 * formed, a digest must match the file's content (when b->hashed, the
 * digest its reader left in the file's sha256).  Returns 0, or -1 with
 * EC_INVALID naming the manifest and the entry, or EC_INTERNAL.
 */
int	bundle_tree_manifest_apply(struct bundle *, const char *text,
	    size_t len, const struct bundle_limits *, struct errbuf *);

/*
 * Moves every file of b into set, renamed to its tree name and with its
 * permission bits as an explicit mode, so installing set under a directory
 * writes the tree back.  b keeps its nodes, without files.  Returns 0, or
 * -1 with EC_INTERNAL (some files may have moved; release both).
 */
int	bundle_tree_flatten(struct bundle *, struct artifact_set *,
	    struct errbuf *);

#endif
