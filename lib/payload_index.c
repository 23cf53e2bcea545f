/*
 * Bundles rendered for serving: see payload_index.h.
 */
#include "payload_index.h"

#include <stdint.h>
#include <stdlib.h>

#include "buf.h"
#include "bundle.h"
#include "errbuf.h"
#include "exitcode.h"
#include "http_server.h"
#include "protocol.h"
#include "banned.h"

struct payload_index {
	struct bundle		  bundle;	/* identifiers only, sorted */
	struct http_body	**bodies;	/* one per node, same order */
};

void
payload_index_free(struct payload_index *idx)
{
	size_t i;

	if (idx == NULL)
		return;
	for (i = 0; idx->bodies != NULL && i < idx->bundle.nnodes; i++)
		http_body_free(idx->bodies[i]);
	free(idx->bodies);
	bundle_release(&idx->bundle);
	free(idx);
}

struct payload_index *
payload_index_new(struct bundle *b, struct errbuf *eb)
{
	struct payload_index *idx;
	struct buf body;
	size_t i;

	if ((idx = calloc(1, sizeof(*idx))) == NULL) {
		bundle_release(b);
		errbuf_set(eb, EC_INTERNAL, "out of memory");
		return NULL;
	}
	idx->bundle = *b;
	bundle_init(b);
	if (idx->bundle.nnodes > 0 && (idx->bodies = calloc(idx->bundle.nnodes,
	    sizeof(*idx->bodies))) == NULL)
		goto nomem;
	buf_init(&body, SIZE_MAX);
	for (i = 0; i < idx->bundle.nnodes; i++) {
		buf_reset(&body);
		if (protocol_render_payload(&body, &idx->bundle.nodes[i].files,
		    &idx->bundle.shared) == -1 ||
		    (idx->bodies[i] = http_body_new(200, body.data,
		    body.len)) == NULL) {
			buf_release(&body);
			goto nomem;
		}
		/* Rendered: only the identifier is looked at from now on. */
		artifact_set_release(&idx->bundle.nodes[i].files);
	}
	buf_release(&body);
	artifact_set_release(&idx->bundle.shared);
	return idx;
nomem:
	payload_index_free(idx);
	errbuf_set(eb, EC_INTERNAL, "out of memory");
	return NULL;
}

const struct http_body *
payload_index_find(const struct payload_index *idx, const char *identifier)
{
	const struct bundle_node *node;

	if ((node = bundle_find(&idx->bundle, identifier)) == NULL)
		return NULL;
	return idx->bodies[node - idx->bundle.nodes];
}

size_t
payload_index_nodes(const struct payload_index *idx)
{
	return idx->bundle.nnodes;
}
