/*
 * Bundles (SPEC 5): every node's files plus the shared files, validated
 * whole at load time (identifiers, paths, duplicates) and kept sorted by
 * identifier so a lookup is a binary search.  The JSON document is the
 * original's NodeArtifactsBundle; it is also what a materializer prints.
 */
#ifndef CFGSYNC_BUNDLE_H
#define CFGSYNC_BUNDLE_H

#include <stddef.h>

#include "artifacts.h"

struct buf;
struct errbuf;
struct json_object;

struct bundle_node {
	char			*identifier;
	struct artifact_set	 files;
};

struct bundle {
	struct bundle_node	*nodes;		/* sorted by identifier */
	size_t			 nnodes;
	size_t			 cap;
	struct artifact_set	 shared;
};

/* Caps on what a bundle may hold; archive readers enforce them per entry. */
struct bundle_limits {
	size_t	max_entries;	/* files in all */
	size_t	max_file_size;	/* bytes in one file */
	size_t	max_total_size;	/* bytes in all files, and in the file read */
};

#define BUNDLE_MAX_ENTRIES	100000
#define BUNDLE_MAX_FILE_SIZE	(64UL << 20)
#define BUNDLE_MAX_TOTAL_SIZE	(1UL << 30)

/* Fills limits with the defaults above. */
void	bundle_limits_default(struct bundle_limits *);

void	bundle_init(struct bundle *);
void	bundle_release(struct bundle *);

/*
 * Returns the node named identifier, adding an empty one when absent
 * (leaving the order to bundle_finish), or NULL when out of memory.
 */
struct bundle_node *bundle_node_get(struct bundle *, const char *identifier);

/*
 * Validates a bundle filled node by node and sorts it: every identifier
 * checked and unique, every path checked, no path twice in one node's files
 * plus the shared files, within limits.  Returns 0, or -1 with EC_INVALID
 * naming the node and path.
 */
int	bundle_finish(struct bundle *, const struct bundle_limits *,
	    struct errbuf *);

/*
 * Parses and validates a bundle from a parsed JSON document (borrowed).
 * Returns 0, or -1 with EC_INVALID or EC_INTERNAL.
 */
int	bundle_from_json(struct bundle *, struct json_object *,
	    const struct bundle_limits *, struct errbuf *);

/* Like bundle_from_json, from JSON text of at most limits->max_total_size. */
int	bundle_parse_json(struct bundle *, const char *, size_t,
	    const struct bundle_limits *, struct errbuf *);

/*
 * Reads a bundle file, JSON or an archive (sniffed from the content, not
 * the name).  Returns 0, or -1 with EC_INVALID, EC_USAGE (cannot read the
 * file) or EC_INTERNAL.
 */
int	bundle_load_file(struct bundle *, const char *path,
	    const struct bundle_limits *, struct errbuf *);

/* Returns the node named identifier (borrowed from b), or NULL. */
const struct bundle_node *bundle_find(const struct bundle *,
	    const char *identifier);

/*
 * Appends the bundle's JSON document to out, nodes and files in sorted
 * order, so equal bundles give equal bytes.  Returns 0 or -1.
 */
int	bundle_render_json(struct buf *, const struct bundle *);

#endif
