/*
 * Bundle loading and validation: see bundle.h.
 */
#include "bundle.h"

#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "buf.h"
#include "errbuf.h"
#include "exitcode.h"
#include "fsx.h"
#include "jsonx.h"
#include "registration.h"
#include "banned.h"

void
bundle_limits_default(struct bundle_limits *l)
{
	l->max_entries = BUNDLE_MAX_ENTRIES;
	l->max_file_size = BUNDLE_MAX_FILE_SIZE;
	l->max_total_size = BUNDLE_MAX_TOTAL_SIZE;
}

void
bundle_init(struct bundle *b)
{
	memset(b, 0, sizeof(*b));
	artifact_set_init(&b->shared);
}

void
bundle_release(struct bundle *b)
{
	size_t i;

	if (b == NULL)
		return;
	for (i = 0; i < b->nnodes; i++) {
		free(b->nodes[i].identifier);
		artifact_set_release(&b->nodes[i].files);
	}
	free(b->nodes);
	artifact_set_release(&b->shared);
	bundle_init(b);
}

static struct bundle_node *
node_add(struct bundle *b, const char *identifier)
{
	struct bundle_node *n;
	size_t cap;

	if (b->nnodes == b->cap) {
		cap = b->cap ? b->cap * 2 : 8;
		if ((n = reallocarray(b->nodes, cap, sizeof(*n))) == NULL)
			return NULL;
		b->nodes = n;
		b->cap = cap;
	}
	n = &b->nodes[b->nnodes];
	artifact_set_init(&n->files);
	if ((n->identifier = strdup(identifier)) == NULL)
		return NULL;
	b->nnodes++;
	return n;
}

struct bundle_node *
bundle_node_get(struct bundle *b, const char *identifier)
{
	size_t i;

	/* Linear, but only archive readers call it, once per directory. */
	for (i = b->nnodes; i > 0; i--)
		if (strcmp(b->nodes[i - 1].identifier, identifier) == 0)
			return &b->nodes[i - 1];
	return node_add(b, identifier);
}

static int
cmp_nodes(const void *a, const void *b)
{
	const struct bundle_node *x = a, *y = b;

	return strcmp(x->identifier, y->identifier);
}

int
bundle_finish(struct bundle *b, const struct bundle_limits *l,
    struct errbuf *eb)
{
	const struct artifact_set *sets[2];
	size_t i, k, entries = b->shared.len, total = 0;

	for (i = 0; i < b->nnodes; i++) {
		if (registration_identifier_check(b->nodes[i].identifier,
		    strlen(b->nodes[i].identifier), eb) == -1)
			return errbuf_prefix(eb, "node %.64s",
			    b->nodes[i].identifier);
		entries += b->nodes[i].files.len;
	}
	if (entries > l->max_entries)
		return errbuf_set(eb, EC_INVALID,
		    "%zu files: over the limit of %zu", entries,
		    l->max_entries);
	if (b->nnodes > 1)
		qsort(b->nodes, b->nnodes, sizeof(*b->nodes), cmp_nodes);
	for (i = 1; i < b->nnodes; i++)
		if (strcmp(b->nodes[i - 1].identifier,
		    b->nodes[i].identifier) == 0)
			return errbuf_set(eb, EC_INVALID,
			    "node %s: duplicate identifier",
			    b->nodes[i].identifier);
	sets[0] = &b->shared;
	if (artifact_sets_check_unique(sets, 1, eb) == -1)
		return errbuf_prefix(eb, "shared files");
	for (i = 0; i < b->nnodes; i++) {
		sets[0] = &b->nodes[i].files;
		sets[1] = &b->shared;
		if (artifact_sets_check_unique(sets, 2, eb) == -1)
			return errbuf_prefix(eb, "node %s",
			    b->nodes[i].identifier);
		for (k = 0; k < sets[0]->len; k++) {
			if (sets[0]->files[k].len > l->max_file_size)
				return errbuf_set(eb, EC_INVALID,
				    "node %s: %s: over %zu bytes",
				    b->nodes[i].identifier,
				    sets[0]->files[k].path, l->max_file_size);
			total += sets[0]->files[k].len;
		}
	}
	for (k = 0; k < b->shared.len; k++) {
		if (b->shared.files[k].len > l->max_file_size)
			return errbuf_set(eb, EC_INVALID,
			    "shared %s: over %zu bytes",
			    b->shared.files[k].path, l->max_file_size);
		total += b->shared.files[k].len;
	}
	if (total > l->max_total_size)
		return errbuf_set(eb, EC_INVALID,
		    "%zu bytes of files: over the limit of %zu", total,
		    l->max_total_size);
	return 0;
}

int
bundle_from_json(struct bundle *b, struct json_object *doc,
    const struct bundle_limits *l, struct errbuf *eb)
{
	struct json_object *nodes, *node, *v;	/* borrowed */
	struct bundle_node *n;
	const char *id;
	size_t i, count, idlen;

	if (!json_object_is_type(doc, json_type_object))
		return errbuf_set(eb, EC_INVALID, "bundle: not a JSON object");
	if (!json_object_object_get_ex(doc, "nodes", &nodes) ||
	    !json_object_is_type(nodes, json_type_array))
		return errbuf_set(eb, EC_INVALID,
		    "bundle: nodes: missing or not an array");
	count = json_object_array_length(nodes);
	for (i = 0; i < count; i++) {
		node = json_object_array_get_idx(nodes, i);
		if (!json_object_is_type(node, json_type_object) ||
		    jsonx_get_string(node, "identifier", &id, &idlen) != 0)
			return errbuf_set(eb, EC_INVALID,
			    "bundle: nodes[%zu]: identifier: missing or not "
			    "a string", i);
		if (registration_identifier_check(id, idlen, eb) == -1)
			return errbuf_prefix(eb, "bundle: nodes[%zu]", i);
		if ((n = node_add(b, id)) == NULL)
			return errbuf_set(eb, EC_INTERNAL, "out of memory");
		if (!json_object_object_get_ex(node, "files", &v))
			return errbuf_set(eb, EC_INVALID,
			    "bundle: node %s: no files", id);
		if (artifact_set_from_json(&n->files, v, eb) == -1)
			return errbuf_prefix(eb, "bundle: node %s", id);
	}
	if (json_object_object_get_ex(doc, "shared_files", &v) && v != NULL &&
	    artifact_set_from_json(&b->shared, v, eb) == -1)
		return errbuf_prefix(eb, "bundle: shared_files");
	if (bundle_finish(b, l, eb) == -1)
		return errbuf_prefix(eb, "bundle");
	return 0;
}

int
bundle_parse_json(struct bundle *b, const char *text, size_t len,
    const struct bundle_limits *l, struct errbuf *eb)
{
	struct json_object *doc = NULL;
	int rc;

	if (jsonx_parse(text, len, l->max_total_size, "bundle", &doc,
	    eb) == -1)
		return -1;
	rc = bundle_from_json(b, doc, l, eb);
	json_object_put(doc);
	return rc;
}

int
bundle_load_file(struct bundle *b, const char *path,
    const struct bundle_limits *l, struct errbuf *eb)
{
	struct buf text;
	size_t i;
	int rc = -1;

	buf_init(&text, l->max_total_size);
	if (fsx_read_file(path, &text, eb) == -1)
		goto out;
	for (i = 0; i < text.len && strchr(" \t\r\n", text.data[i]) != NULL;
	    i++)
		;
	if (i == text.len || text.data[i] != '{') {
		errbuf_set(eb, EC_INVALID, "not a JSON bundle");
		goto out;
	}
	rc = bundle_parse_json(b, text.data, text.len, l, eb);
out:
	buf_release(&text);
	if (rc == -1)
		errbuf_prefix(eb, "%s", path);
	return rc;
}

const struct bundle_node *
bundle_find(const struct bundle *b, const char *identifier)
{
	struct bundle_node key;

	if (b->nnodes == 0)
		return NULL;
	key.identifier = (char *)identifier;
	return bsearch(&key, b->nodes, b->nnodes, sizeof(*b->nodes),
	    cmp_nodes);
}

int
bundle_render_json(struct buf *out, const struct bundle *b)
{
	size_t i;

	if (buf_adds(out, "{\"nodes\":[") == -1)
		return -1;
	for (i = 0; i < b->nnodes; i++) {
		if ((i > 0 && buf_addc(out, ',') == -1) ||
		    buf_adds(out, "{\"identifier\":") == -1 ||
		    buf_add_json_string(out, b->nodes[i].identifier,
		    strlen(b->nodes[i].identifier)) == -1 ||
		    buf_adds(out, ",\"files\":") == -1 ||
		    artifact_set_render(out, &b->nodes[i].files) == -1 ||
		    buf_addc(out, '}') == -1)
			return -1;
	}
	if (buf_adds(out, "],\"shared_files\":") == -1 ||
	    artifact_set_render(out, &b->shared) == -1)
		return -1;
	return buf_addc(out, '}');
}
