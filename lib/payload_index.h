/*
 * A bundle made ready to serve: every node's 200 answer (its files, then
 * the shared files) rendered once, when the bundle is loaded, so answering
 * POST /node is a binary search and a reference to a prepared response.
 * Both serve commands build one per bundle or materializer result.
 */
#ifndef CFGSYNC_PAYLOAD_INDEX_H
#define CFGSYNC_PAYLOAD_INDEX_H

#include <stddef.h>

struct bundle;
struct errbuf;
struct http_body;
struct payload_index;

/*
 * Renders every node of b and takes b over: its file contents are freed
 * once rendered, its identifiers kept for lookups.  Returns the index, or
 * NULL with EC_INTERNAL (b is released either way).
 */
struct payload_index *payload_index_new(struct bundle *b, struct errbuf *);

/* The prepared answer for identifier (borrowed from idx), or NULL. */
const struct http_body *payload_index_find(const struct payload_index *,
	    const char *identifier);

/* The number of nodes. */
size_t	payload_index_nodes(const struct payload_index *);

void	payload_index_free(struct payload_index *);

#endif
