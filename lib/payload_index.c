/*
 * Bundles rendered for serving: see payload_index.h.
 *
 * A node's answer is its own part, the payload's head and its files, then
 * the shared tail, the shared files and the close, rendered once for all
 * nodes.  A small tail is copied into each answer; a large one is sent
 * from its one copy as a second part, so memory grows with each node's
 * own files, not with nodes times the shared files.  The parts outlive
 * the index while a response still sends them: each such response owns
 * its node part and one reference to the tail.
 */
#include "payload_index.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "bundle.h"
#include "errbuf.h"
#include "exitcode.h"
#include "http_server.h"
#include "protocol.h"
#include "registration.h"
#include "banned.h"

/* Shared tails up to this size are copied into each node's answer. */
#define PAYLOAD_INLINE_MAX	(16UL << 10)

/* The shared files and the close, with and without a leading comma. */
struct shared_tail {
	unsigned long	 refs;		/* atomic: the index and responses */
	char		*comma;		/* after a node's own files */
	size_t		 comma_len;
	char		*bare;		/* for a node without files */
	size_t		 bare_len;
};

struct node_part {
	char			*own;	/* head and the node's own files */
	struct shared_tail	*tail;	/* one reference */
};

/*
 * A node served other files than the bundle's (POST /node/replace): its
 * own files, rendered, kept to make its answer again with another
 * index's shared files.
 */
struct override {
	char			 identifier[REGISTRATION_ID_MAX + 1];
	char			*items;		/* its files, rendered */
	size_t			 items_len;
	struct http_body	*body;
};

struct payload_index {
	struct bundle		  bundle;	/* identifiers only, sorted */
	struct http_body	**bodies;	/* one per node, same order */
	struct shared_tail	 *tail;		/* one reference */
	struct override		 *overrides;	/* sorted by identifier */
	size_t			  noverrides;
};

static void
tail_unref(struct shared_tail *t)
{
	if (t == NULL || __atomic_sub_fetch(&t->refs, 1, __ATOMIC_ACQ_REL) > 0)
		return;
	free(t->comma);
	free(t->bare);
	free(t);
}

/* Called by libmicrohttpd once no response sends the part any more. */
static void
part_release(void *arg)
{
	struct node_part *p = arg;

	free(p->own);
	tail_unref(p->tail);
	free(p);
}

static struct shared_tail *
tail_new(const struct artifact_set *shared)
{
	struct shared_tail *t;
	struct buf b;

	if ((t = calloc(1, sizeof(*t))) == NULL)
		return NULL;
	t->refs = 1;
	buf_init(&b, SIZE_MAX);
	if (shared->len > 0 && buf_addc(&b, ',') == -1)
		goto fail;
	if (artifact_set_render_items(&b, shared) == -1 ||
	    buf_adds(&b, PROTOCOL_PAYLOAD_TAIL) == -1 ||
	    (t->bare = strdup(b.data + (shared->len > 0))) == NULL)
		goto fail;
	t->bare_len = b.len - (shared->len > 0);
	if ((t->comma = buf_detach(&b, &t->comma_len)) == NULL)
		goto fail;
	return t;
fail:
	buf_release(&b);
	tail_unref(t);
	return NULL;
}

/*
 * Makes the answer of one node: its own part (the head and its files,
 * items: rendered, comma-separated), then the shared tail.
 */
static struct http_body *
node_body(const char *items, size_t items_len, struct shared_tail *tail)
{
	struct http_part parts[2];
	struct http_body *body;
	struct node_part *p;
	struct buf b;
	size_t len;

	if ((p = calloc(1, sizeof(*p))) == NULL)
		return NULL;
	buf_init(&b, SIZE_MAX);
	if (buf_adds(&b, PROTOCOL_PAYLOAD_HEAD) == -1 ||
	    buf_add(&b, items, items_len) == -1 ||
	    (p->own = buf_detach(&b, &len)) == NULL) {
		buf_release(&b);
		free(p);
		return NULL;
	}
	parts[0].data = p->own;
	parts[0].len = len;
	parts[1].data = items_len > 0 ? tail->comma : tail->bare;
	parts[1].len = items_len > 0 ? tail->comma_len : tail->bare_len;
	if (parts[1].len <= PAYLOAD_INLINE_MAX) {
		/*
		 * A small tail is copied in: one buffer goes out with its
		 * headers in one write, half again as fast as two parts.
		 */
		if (buf_add(&b, p->own, len) == -1 ||
		    buf_add(&b, parts[1].data, parts[1].len) == -1) {
			buf_release(&b);
			part_release(p);
			return NULL;
		}
		part_release(p);
		body = http_body_new(200, b.data, b.len);
		buf_release(&b);
		return body;
	}
	__atomic_add_fetch(&tail->refs, 1, __ATOMIC_RELAXED);
	p->tail = tail;
	return http_body_new_parts(200, parts, 2, part_release, p);
}

void
payload_index_free(struct payload_index *idx)
{
	size_t i;

	if (idx == NULL)
		return;
	for (i = 0; idx->bodies != NULL && i < idx->bundle.nnodes; i++)
		http_body_free(idx->bodies[i]);
	free(idx->bodies);
	for (i = 0; i < idx->noverrides; i++) {
		free(idx->overrides[i].items);
		http_body_free(idx->overrides[i].body);
	}
	free(idx->overrides);
	tail_unref(idx->tail);
	bundle_release(&idx->bundle);
	free(idx);
}

struct payload_index *
payload_index_new(struct bundle *b, struct errbuf *eb)
{
	struct payload_index *idx;
	struct buf items;
	size_t i;

	if ((idx = calloc(1, sizeof(*idx))) == NULL) {
		bundle_release(b);
		errbuf_set(eb, EC_INTERNAL, "out of memory");
		return NULL;
	}
	idx->bundle = *b;
	bundle_init(b);
	if ((idx->tail = tail_new(&idx->bundle.shared)) == NULL)
		goto nomem;
	if (idx->bundle.nnodes > 0 && (idx->bodies = calloc(idx->bundle.nnodes,
	    sizeof(*idx->bodies))) == NULL)
		goto nomem;
	buf_init(&items, SIZE_MAX);
	for (i = 0; i < idx->bundle.nnodes; i++) {
		buf_reset(&items);
		if (artifact_set_render_items(&items,
		    &idx->bundle.nodes[i].files) == -1 ||
		    (idx->bodies[i] = node_body(items.data != NULL ?
		    items.data : "", items.len, idx->tail)) == NULL) {
			buf_release(&items);
			goto nomem;
		}
		/* Rendered: only the identifier is looked at from now on. */
		artifact_set_release(&idx->bundle.nodes[i].files);
	}
	buf_release(&items);
	artifact_set_release(&idx->bundle.shared);
	return idx;
nomem:
	payload_index_free(idx);
	errbuf_set(eb, EC_INTERNAL, "out of memory");
	return NULL;
}

static int
override_cmp(const void *key, const void *elt)
{
	return strcmp(key, ((const struct override *)elt)->identifier);
}

static struct override *
override_find(const struct payload_index *idx, const char *identifier)
{
	if (idx->noverrides == 0)
		return NULL;
	return bsearch(identifier, idx->overrides, idx->noverrides,
	    sizeof(idx->overrides[0]), override_cmp);
}

/* Sets identifier's override to items (taken over on success). */
static int
override_put(struct payload_index *idx, const char *identifier, char *items,
    size_t items_len, struct errbuf *eb)
{
	struct override *o, *grown;
	struct http_body *body;
	size_t at;

	if ((body = node_body(items, items_len, idx->tail)) == NULL)
		return errbuf_set(eb, EC_INTERNAL, "out of memory");
	if ((o = override_find(idx, identifier)) != NULL) {
		free(o->items);
		http_body_free(o->body);
	} else {
		if ((grown = reallocarray(idx->overrides, idx->noverrides + 1,
		    sizeof(*grown))) == NULL) {
			http_body_free(body);
			return errbuf_set(eb, EC_INTERNAL, "out of memory");
		}
		idx->overrides = grown;
		for (at = 0; at < idx->noverrides && strcmp(
		    idx->overrides[at].identifier, identifier) < 0; at++)
			;
		memmove(&idx->overrides[at + 1], &idx->overrides[at],
		    (idx->noverrides - at) * sizeof(*grown));
		idx->noverrides++;
		o = &idx->overrides[at];
		(void)snprintf(o->identifier, sizeof(o->identifier), "%s",
		    identifier);
	}
	o->items = items;
	o->items_len = items_len;
	o->body = body;
	return 0;
}

int
payload_index_override(struct payload_index *idx, const char *identifier,
    const struct artifact_set *files, struct errbuf *eb)
{
	struct buf items;
	size_t len;
	char *text;

	buf_init(&items, SIZE_MAX);
	if (artifact_set_render_items(&items, files) == -1 ||
	    buf_addc(&items, '\0') == -1 ||
	    (text = buf_detach(&items, &len)) == NULL) {
		buf_release(&items);
		return errbuf_set(eb, EC_INTERNAL, "out of memory");
	}
	if (override_put(idx, identifier, text, len - 1, eb) == -1) {
		free(text);
		return -1;
	}
	return 0;
}

int
payload_index_carry_overrides(struct payload_index *to,
    const struct payload_index *from, struct errbuf *eb)
{
	const struct override *o;
	size_t i;
	char *items;

	for (i = 0; from != NULL && i < from->noverrides; i++) {
		o = &from->overrides[i];
		if ((items = malloc(o->items_len + 1)) == NULL)
			return errbuf_set(eb, EC_INTERNAL, "out of memory");
		memcpy(items, o->items, o->items_len + 1);
		if (override_put(to, o->identifier, items, o->items_len,
		    eb) == -1) {
			free(items);
			return -1;
		}
	}
	return 0;
}

struct http_body *
payload_index_body_with(const struct payload_index *idx,
    const struct artifact_set *files, struct errbuf *eb)
{
	static const struct artifact_set none;
	struct shared_tail *tail = NULL;
	struct http_body *body = NULL;
	struct buf items;

	buf_init(&items, SIZE_MAX);
	if ((idx != NULL || (tail = tail_new(&none)) != NULL) &&
	    artifact_set_render_items(&items, files) == 0)
		body = node_body(items.data != NULL ? items.data : "",
		    items.len, idx != NULL ? idx->tail : tail);
	buf_release(&items);
	tail_unref(tail);
	if (body == NULL)
		errbuf_set(eb, EC_INTERNAL, "out of memory");
	return body;
}

size_t
payload_index_overrides(const struct payload_index *idx)
{
	return idx->noverrides;
}

const struct http_body *
payload_index_find(const struct payload_index *idx, const char *identifier)
{
	const struct bundle_node *node;
	const struct override *o;

	if ((o = override_find(idx, identifier)) != NULL)
		return o->body;
	if ((node = bundle_find(&idx->bundle, identifier)) == NULL)
		return NULL;
	return idx->bodies[node - idx->bundle.nodes];
}

size_t
payload_index_nodes(const struct payload_index *idx)
{
	return idx->bundle.nnodes;
}
