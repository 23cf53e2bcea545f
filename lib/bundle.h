/*
 * Bundles (SPEC 5): every node's files plus the shared files, validated
 * whole at load time (identifiers, paths, duplicates) and kept sorted by
 * identifier so a lookup is a binary search.  The document, JSON or YAML,
 * is either of the original's shapes, NodeArtifactsBundle or
 * MaterializedArtifacts; a materializer prints one of them as JSON.
 */
#ifndef CFGSYNC_BUNDLE_H
#define CFGSYNC_BUNDLE_H

#include <stddef.h>

#include "artifacts.h"
#include "strmap.h"

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
	/* Identifier to node for bundle_node_get; emptied by the sort. */
	struct strmap		 index;
	/*
	 * Set by a reader that hashed every file as it streamed it: each
	 * file's sha256 holds its content's digest, declared (has_sha256)
	 * or not, and a declared one was compared then, so neither the
	 * manifest nor bundle_check reads the content again (which such a
	 * reader may not keep: content is then NULL, or spooled).
	 */
	int			 hashed;
};

/* Caps on what a bundle may hold; archive readers enforce them per entry. */
struct bundle_limits {
	size_t	max_entries;	/* files in all */
	size_t	max_file_size;	/* bytes in one file */
	size_t	max_total_size;	/* bytes in all files, and in the file read */
};

/*
 * Where a validator sends each problem it finds, so `bundle check` can list
 * them all.  Functions that take one stop at the first problem when it is
 * NULL; given one, they hand it every EC_INVALID problem, go on past each
 * one they can, and fail at the end with EC_INVALID saying how many.
 */
struct bundle_report {
	void	(*problem)(void *arg, const struct errbuf *);
	void	 *arg;		/* borrowed; handed to problem */
	size_t	  count;	/* problems reported so far */
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
 * (leaving the order to bundle_check), or NULL when out of memory.
 */
struct bundle_node *bundle_node_get(struct bundle *, const char *identifier);

/*
 * Hands eb to report and returns 0 so the caller goes on, or returns -1
 * when report is NULL, so the caller stops at this problem.
 */
int	bundle_report_problem(struct bundle_report *, const struct errbuf *);

/*
 * Closes a run that started when report->count was start: returns 0 when
 * it found no problem (or report is NULL), else -1 with EC_INVALID saying
 * how many it found.
 */
int	bundle_report_end(const struct bundle_report *, size_t start,
	    struct errbuf *);

/*
 * Validates a bundle filled node by node and sorts its nodes: every
 * identifier checked and unique, every path checked and UTF-8, no path
 * twice in one node's files plus the shared files, every digest matching
 * its content, within limits.  Returns 0, or -1 with EC_INVALID naming the
 * node and path (with a report: after reporting every problem).
 */
int	bundle_check(struct bundle *, const struct bundle_limits *,
	    struct bundle_report *, struct errbuf *);

/*
 * Parses and validates a bundle from a parsed JSON document (borrowed),
 * in either shape (see bundle_parse_text).  Returns 0, or -1 with EC_INVALID or
 * EC_INTERNAL.
 */
int	bundle_from_json(struct bundle *, struct json_object *,
	    const struct bundle_limits *, struct errbuf *);

/*
 * Like bundle_from_json, from JSON text of at most limits->max_total_size;
 * with a report, it hands every problem to it (see struct bundle_report).
 */
int	bundle_parse_json(struct bundle *, const char *, size_t,
	    const struct bundle_limits *, struct bundle_report *,
	    struct errbuf *);

/*
 * Like jsonx_parse(text, len, max) and then bundle_from_json, but never
 * holding a json-c tree of more than one node (or one other top-level
 * member): the document is walked, and each node parsed, read into b and
 * put before the next, for a materializer's output of many nodes.
 * Returns 0 with b filled when the whole parse would have given this
 * bundle, or 1 with b empty when it did not decide: the text is not
 * plainly a valid bundle (any error, or what the walk does not take: see
 * jsonx_walk_next), or its member veto (when not NULL) is false; parse it
 * whole then, for the verdict and the message.
 */
int	bundle_parse_json_lean(struct bundle *, const char *, size_t,
	    size_t max, const struct bundle_limits *, const char *veto);

/*
 * Parses and validates a bundle from text[0..len) of at most
 * limits->max_total_size bytes, JSON or YAML (yamlx.h), sniffed from the
 * content, not a name: a first non-space byte '{' means JSON (else YAML in
 * flow style, with the JSON error reported when it is neither), anything
 * else YAML.  Either shape of SPEC 5 is read: NodeArtifactsBundle (nodes
 * a list of {identifier, files}, shared_files) or MaterializedArtifacts
 * (nodes a map from identifier to {files}, shared: {files}); a node
 * without files has none.  A report takes every problem, as for
 * bundle_parse_json.  Returns 0, or -1 with EC_INVALID (YAML problems name
 * the line and column) or EC_INTERNAL.
 */
int	bundle_parse_text(struct bundle *, const char *, size_t,
	    const struct bundle_limits *, struct bundle_report *,
	    struct errbuf *);

/* Returns the node named identifier (borrowed from b), or NULL. */
const struct bundle_node *bundle_find(const struct bundle *,
	    const char *identifier);

/*
 * Appends the bundle's JSON document to out: nodes sorted by identifier
 * (as bundle_check left them), each node's files in the order held.
 * Returns 0 or -1.
 */
int	bundle_render_json(struct buf *, const struct bundle *);

#endif
