/*
 * Artifact files and sets: the unit every bundle, payload and materializer
 * result is made of.  This module holds the one path check for untrusted
 * paths, the uniqueness check, and the JSON form of an ArtifactFile with its
 * extensions (mode, encoding, owner, group, sha256), each emitted only where
 * it differs from the default.
 */
#ifndef CFGSYNC_ARTIFACTS_H
#define CFGSYNC_ARTIFACTS_H

#include <stddef.h>

struct buf;
struct errbuf;
struct json_object;

#define ARTIFACT_PATH_MAX	4096
#define ARTIFACT_MODE_NONE	(-1)	/* no mode given: SPEC 6 rules apply */
#define ARTIFACT_SHA256_LEN	32
#define ARTIFACT_OWNER_MAX	64	/* bytes of an owner or group name */

/*
 * Numeric owner and group ids are below this: uid_t is 32 bits, and
 * (uid_t)-1 means "no change" to chown.
 */
#define ARTIFACT_ID_LIMIT	0xffffffffULL

struct artifact_file {
	char		*path;		/* as in the document, checked */
	char		*content;	/* decoded bytes, NUL-terminated */
	size_t		 len;		/* bytes in content */
	int		 mode;		/* 0..07777 or ARTIFACT_MODE_NONE */
	char		*owner;		/* name or numeric id, or NULL */
	char		*group;		/* name or numeric id, or NULL */
	int		 has_sha256;
	unsigned char	 sha256[ARTIFACT_SHA256_LEN];
};

struct artifact_set {
	struct artifact_file	*files;
	size_t			 len;
	size_t			 cap;
};

/*
 * The one check for an untrusted artifact path: non-empty, at most
 * ARTIFACT_PATH_MAX bytes, no NUL or control byte, no "." or ".."
 * component, no empty component other than a leading "/".  Returns 0, or -1
 * with EC_INVALID naming the path.
 */
int	artifact_path_check(const char *path, size_t len, struct errbuf *);

/* Returns path without its leading "/": the form compared for uniqueness. */
const char *artifact_path_key(const char *path);

/*
 * Refuses a mode with set-id or sticky bits: a bundle or a server must not
 * be able to make a set-uid file on a node.  Returns 0, or -1 with
 * EC_INVALID naming path.
 */
int	artifact_mode_check(int mode, const char *path, struct errbuf *);

/*
 * Returns 1 when s[0..len) may be an owner or a group: a user or group
 * name or a numeric id, at most 64 bytes of [A-Za-z0-9_.$-] not starting
 * with '-'; else 0.
 */
int	artifact_owner_ok(const char *s, size_t len);

void	artifact_file_release(struct artifact_file *);

void	artifact_set_init(struct artifact_set *);
void	artifact_set_release(struct artifact_set *);

/*
 * Appends a new file to set and returns it zeroed (mode NONE) for the
 * caller to fill, or NULL when out of memory.  The set owns what the caller
 * stores in it.
 */
struct artifact_file *artifact_set_push(struct artifact_set *);

/*
 * Adds a copy of path and content[0..len) to set with the given mode;
 * returns 0 or -1 with EC_INTERNAL.
 */
int	artifact_set_add_copy(struct artifact_set *, const char *path,
	    const void *content, size_t len, int mode, struct errbuf *);

/*
 * Refuses duplicate paths (compared without the leading "/") across the
 * given sets, taken together, and a path that another needs as a directory
 * ("a" and "a/b"): returns 0, or -1 with EC_INVALID naming the path.
 */
int	artifact_sets_check_unique(const struct artifact_set *const *sets,
	    size_t nsets, struct errbuf *);

/*
 * Fills *keys with the path keys of every file of the sets, sorted with
 * strcmp (a heap array the caller frees; the strings are borrowed from the
 * sets), and *n with their count.  Returns 0 or -1 (out of memory).
 */
int	artifact_sorted_keys(const struct artifact_set *const *sets,
	    size_t nsets, const char ***keys, size_t *n);

/* Takes one problem found; returns 0 to go on, -1 to stop. */
typedef int artifact_report_fn(void *arg, const struct errbuf *);

/*
 * Checks sorted keys[0..n) of one set, and against the sorted keys of
 * other files installed beside them (the shared files; NULL and 0 for
 * none): a path twice, a path also among the others, a file where another
 * path needs a directory.  Each problem, prefixed by who when not NULL,
 * goes to report; without one the first problem ends the check.  Returns
 * 0, or -1 with EC_INVALID.
 */
int	artifact_keys_check(const char *const *keys, size_t n,
	    const char *const *other, size_t nother, const char *who,
	    artifact_report_fn *report, void *arg, struct errbuf *);

/* Sorts a set by path key (bytewise), for deterministic output. */
void	artifact_set_sort(struct artifact_set *);

/*
 * Parses one ArtifactFile object (borrowed) into f, which must be zeroed
 * (artifact_set_push gives one), as artifact_set_from_json does for each
 * element.  Returns 0, or -1 with EC_INVALID or EC_INTERNAL; on failure f
 * may hold parts the caller releases with artifact_file_release.
 */
int	artifact_file_from_json(struct artifact_file *, struct json_object *,
	    struct errbuf *);

/*
 * Parses a JSON array of ArtifactFile objects into set (appending), checking
 * each path and decoding base64 content and the sha256 digest.  Returns 0,
 * or -1 with EC_INVALID ("files[3]: path: ...") or EC_INTERNAL.
 */
int	artifact_set_from_json(struct artifact_set *, struct json_object *,
	    struct errbuf *);

/*
 * Appends the JSON object form of file to b: text stays a plain string,
 * other bytes travel as base64 with "encoding":"base64".  Returns 0 or -1
 * with errno set as buf_add does.
 */
int	artifact_file_render(struct buf *, const struct artifact_file *);

/*
 * Appends the members that say who owns f and what it hashes to,
 * ",\"owner\":...,\"group\":...,\"sha256\":...", each only where set (for
 * a file object and a manifest entry alike); 0 or -1.
 */
int	artifact_file_render_owners(struct buf *, const struct artifact_file *);

/* Appends "[file,file,...]" for a whole set; returns as above. */
int	artifact_set_render(struct buf *, const struct artifact_set *);

/* Appends "file,file,..." (no brackets), for a list that goes on. */
int	artifact_set_render_items(struct buf *, const struct artifact_set *);

/* Reads 64 hex digits s[0..len) into out; 0, or -1 when they are not. */
int	artifact_sha256_parse(const char *s, size_t len,
	    unsigned char out[ARTIFACT_SHA256_LEN]);

/* Computes the SHA-256 of content into file->sha256 and sets has_sha256. */
void	artifact_file_hash(struct artifact_file *);

/* Returns 1 when file's content matches its digest (or it has none). */
int	artifact_file_digest_ok(const struct artifact_file *);

#endif
