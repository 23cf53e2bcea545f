/*
 * YAML at the edge, with libyaml: a capped, strict reader that turns one
 * YAML document into the json-c tree the JSON readers already walk, and a
 * deterministic writer of such a tree.  The reader is for untrusted input:
 * it refuses explicit tags, duplicate keys, keys that are not strings,
 * more than one document, invalid UTF-8 and control characters, and
 * counts every alias as the whole subtree it stands for, so a "billion
 * laughs" document stops at the node or byte cap instead of filling the
 * memory.  Scalars are read as strings, as the original reads its string
 * fields ("0644" and 0644 are the same), except a plain null (empty, "~",
 * "null"), which is JSON null.
 */
#ifndef CFGSYNC_YAMLX_H
#define CFGSYNC_YAMLX_H

#include <stddef.h>

struct buf;
struct errbuf;
struct json_object;

#define YAMLX_MAX_DEPTH		64	/* nested collections */
#define YAMLX_MAX_ANCHORS	1024	/* anchors in one document */

struct yamlx_limits {
	size_t	max_size;	/* bytes of text */
	size_t	max_nodes;	/* nodes, each alias counted expanded */
	size_t	max_bytes;	/* bytes of scalars, each alias expanded */
};

/*
 * Fills l for a document of at most max_size bytes and max_nodes nodes,
 * with as many bytes of scalars as of text: aliases may not make a tree
 * bigger than the largest document without them.
 */
void	yamlx_limits_init(struct yamlx_limits *, size_t max_size,
	    size_t max_nodes);

/*
 * Parses text[0..len) as one YAML document within l.  Returns 0 and an
 * owned object in *out (put it with json_object_put; an aliased subtree
 * is shared, so treat the tree as read-only), or -1 with EC_INVALID
 * naming the line and column ("what: YAML 3:7: duplicate key files") or
 * EC_INTERNAL.  An empty document gives JSON null.
 */
int	yamlx_parse(const char *text, size_t len, const struct yamlx_limits *,
	    const char *what, struct json_object **out, struct errbuf *);

/*
 * Appends obj (borrowed) to out as a YAML document in block style: keys
 * in the object's order, strings plain only where every YAML 1.1 and 1.2
 * reader takes them for the same string, else literal (multi-line text)
 * or double-quoted, and never a raw control character or a surrogate.
 * The same tree always gives the same bytes.  Returns 0, or -1 with
 * EC_INTERNAL.
 */
int	yamlx_emit(struct buf *out, struct json_object *obj, struct errbuf *);

#endif
