/*
 * Bundles as archives (SPEC 5), read and written with libarchive: tar,
 * plain or compressed with gzip, xz or zstd, and zip, each holding the tree
 * of bundle_tree.h.  Reading is for untrusted input: the format is sniffed
 * from the content, every entry is checked, and the limits are counted
 * while reading, so a bomb stops at the entry that passes one.  Writing is
 * deterministic: the same bundle always gives the same bytes.
 *
 * The module is not called "archive": its header would shadow libarchive's
 * <archive.h> under -Ilib, and archive_ is libarchive's prefix.
 */
#ifndef CFGSYNC_BUNDLE_ARCHIVE_H
#define CFGSYNC_BUNDLE_ARCHIVE_H

#include <stddef.h>

struct artifact_file;
struct artifact_set;
struct buf;
struct bundle;
struct bundle_limits;
struct bundle_report;
struct errbuf;

/*
 * The forms a bundle is written in; JSON and YAML are not archives, but
 * forms too.
 */
enum bundle_archive_format {
	BUNDLE_ARCHIVE_JSON,
	BUNDLE_ARCHIVE_YAML,
	BUNDLE_ARCHIVE_TAR,
	BUNDLE_ARCHIVE_TAR_GZ,
	BUNDLE_ARCHIVE_TAR_XZ,
	BUNDLE_ARCHIVE_TAR_ZST,
	BUNDLE_ARCHIVE_ZIP
};

/*
 * Sets *fmt to the format named name ("json", "yaml", "tar", "tar.gz",
 * "tar.xz", "tar.zst", "zip"); returns 0, or -1 when name is none of them.
 */
int	bundle_archive_format_parse(const char *name,
	    enum bundle_archive_format *fmt);

/*
 * Sets *fmt to the format the extension of path names (.json, .yaml,
 * .yml, .tar, .tar.gz, .tgz, .tar.xz, .tar.zst, .zip); returns 0, or -1
 * for another.
 */
int	bundle_archive_format_from_path(const char *path,
	    enum bundle_archive_format *fmt);

/*
 * What a reader does with each file's content.  Only an archive's files
 * can be left out of memory; those of a JSON or YAML bundle are always
 * kept, as its text is.
 */
enum bundle_content_mode {
	BUNDLE_CONTENT_KEEP,	/* in memory: content malloc'd */
	BUNDLE_CONTENT_DROP,	/* measured and hashed: content NULL */
	BUNDLE_CONTENT_SPOOL	/* to a file, mapped back: see below */
};

/*
 * Where the contents go.  DROP and SPOOL read each file through a fixed
 * buffer, hash it (bundle.h, hashed) and count it against the limits as
 * it streams, so the memory a read takes does not grow with the content.
 * SPOOL appends each file's content and a NUL to the file spool (borrowed;
 * empty, open for reading and writing), then maps the spool read-only
 * (map, map_len) and points each file's content into the map: the pages
 * are the spool's, read in only when a content is read.  Such a content
 * is not the bundle's to free: hand the bundle, or the set its files move
 * to, to bundle_content_disown before releasing it; a failed read does so
 * itself.
 */
struct bundle_content {
	enum bundle_content_mode mode;
	int			 spool;
	char			*map;		/* or NULL */
	size_t			 map_len;
};

/* Readies c for mode, spool a file descriptor for SPOOL, else -1. */
void	bundle_content_init(struct bundle_content *,
	    enum bundle_content_mode, int spool);

/*
 * Sets to NULL every content of set that points into c's map, so
 * releasing set frees only what it owns.
 */
void	bundle_content_disown(const struct bundle_content *,
	    struct artifact_set *);

/* Unmaps the spool (NULL is fine); the spool itself is the caller's. */
void	bundle_content_release(struct bundle_content *);

/*
 * Reads the archive data[0..len) into b, which must be empty (bundle_init),
 * applies its manifest entry if it has one (bundle_tree_manifest_apply),
 * then sorts and validates it (bundle_tree_finish).  Refuses with
 * EC_INVALID naming the entry: links, devices, FIFOs and sockets, a bad
 * name (see bundle_tree_parse), a second or bad manifest, more entries
 * than l->max_entries (counting directories), an entry over
 * l->max_file_size, more than
 * l->max_total_size bytes in all, and data libarchive cannot read as a
 * tar or zip archive.  Without a report the first problem stops the
 * reading; with one, every problem goes to it, and only an unreadable
 * archive or a passed limit stops it (see struct bundle_report).
 * Returns 0, or -1 with EC_INVALID or EC_INTERNAL.
 */
int	bundle_archive_read(struct bundle *, const void *data, size_t len,
	    const struct bundle_limits *, struct bundle_report *,
	    struct errbuf *);

/*
 * Like bundle_archive_read, with the contents going where c says (NULL:
 * kept), read from fd when it is not -1 (a regular file, at its start,
 * read in blocks and never whole; not closed), else from data[0..len).
 */
int	bundle_archive_read_with(struct bundle *, int fd, const void *data,
	    size_t len, const struct bundle_limits *, struct bundle_content *,
	    struct bundle_report *, struct errbuf *);

/* An archive being written, entry by entry. */
struct bundle_archive_out;

/*
 * Starts an archive in format fmt (not JSON) appended to out.  Returns the
 * writer (free it with bundle_archive_close), or NULL with EC_INTERNAL.
 */
struct bundle_archive_out *bundle_archive_open(struct buf *out,
	    enum bundle_archive_format fmt, struct errbuf *);

/*
 * Appends the entry name to w: file f (borrowed) with its permission bits
 * (bundle_tree_perm), or a directory when f is NULL; mtime 0, uid and gid
 * 0, no owner names, no atime or ctime.  The caller adds entries in the
 * order it wants.  Returns 0, or -1 with EC_INTERNAL.
 */
int	bundle_archive_add(struct bundle_archive_out *, const char *name,
	    const struct artifact_file *f, struct errbuf *);

/*
 * Ends the archive and frees w (NULL is fine): returns 0, or -1 with
 * EC_INTERNAL.  After a failure, call it only to free w; eb may be NULL.
 */
int	bundle_archive_close(struct bundle_archive_out *, struct errbuf *);

/*
 * Appends b in format fmt to out.  Archive entries come sorted by name, a
 * "nodes/<identifier>/" directory for every node (so empty nodes survive)
 * and each file with its permission bits (bundle_tree_perm); every entry
 * has mtime 0, uid and gid 0 and no owner names, and nothing else that
 * varies (no atime or ctime, no gzip timestamp), so equal bundles give
 * equal bytes.  What a tree cannot hold (a leading "/", owners, groups,
 * digests, an explicit 0644) goes to the manifest of bundle_tree.h, the
 * archive's last entry, so nothing is dropped.  JSON is
 * bundle_render_json and a newline, YAML the same document in YAML
 * (bundle_shape_render, the static shape).
 * Returns 0, or -1 with EC_INTERNAL (out of memory, out->max passed).
 */
int	bundle_archive_write(struct buf *out, const struct bundle *,
	    enum bundle_archive_format fmt, struct errbuf *);

#endif
