/*
 * Bundle loading and validation: see bundle.h.
 */
#include "bundle.h"

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "array.h"
#include "buf.h"
#include "errbuf.h"
#include "exitcode.h"
#include "jsonx.h"
#include "registration.h"
#include "strmap.h"
#include "yamlx.h"
#include "banned.h"

/* How much of an identifier that failed its check a message shows. */
#define BUNDLE_BAD_ID_SHOW	64

/*
 * The node cap of a YAML bundle: a file is a mapping of at most eight
 * members (seventeen nodes), plus room for the nodes around the files.
 */
#define BUNDLE_YAML_NODES_PER_ENTRY	17
#define BUNDLE_YAML_NODES		(1UL << 20)

/* Top-level members bundle_parse_json_lean takes; more: undecided. */
#define BUNDLE_LEAN_MEMBERS	32

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
	strmap_init(&b->index);
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
	strmap_release(&b->index);
	artifact_set_release(&b->shared);
	bundle_init(b);
}

static struct bundle_node *
node_add(struct bundle *b, const char *identifier)
{
	struct bundle_node *n;

	if (ARRAY_GROW(b->nodes, b->nnodes + 1, b->cap) == -1)
		return NULL;
	n = &b->nodes[b->nnodes];
	artifact_set_init(&n->files);
	if ((n->identifier = strdup(identifier)) == NULL)
		return NULL;
	if (strmap_put(&b->index, n->identifier, b->nnodes) == -1) {
		free(n->identifier);
		return NULL;
	}
	b->nnodes++;
	return n;
}

struct bundle_node *
bundle_node_get(struct bundle *b, const char *identifier)
{
	size_t i;

	/*
	 * Hashed: archive readers call it for every entry, and a linear
	 * search made an archive of many nodes quadratic.  Every node added
	 * is in the index, so an empty index over nodes was dropped by
	 * bundle_check's sort: rebuild it.
	 */
	for (i = b->index.len == 0 ? 0 : b->nnodes; i < b->nnodes; i++)
		if (strmap_put(&b->index, b->nodes[i].identifier, i) == -1) {
			strmap_release(&b->index);
			return NULL;
		}
	if (strmap_get(&b->index, identifier, &i))
		return &b->nodes[i];
	return node_add(b, identifier);
}

static int
cmp_nodes(const void *a, const void *b)
{
	const struct bundle_node *x = a, *y = b;

	return strcmp(x->identifier, y->identifier);
}

int
bundle_report_problem(struct bundle_report *r, const struct errbuf *eb)
{
	if (r == NULL)
		return -1;
	r->problem(r->arg, eb);
	r->count++;
	return 0;
}

int
bundle_report_end(const struct bundle_report *r, size_t start,
    struct errbuf *eb)
{
	if (r == NULL || r->count == start)
		return 0;
	return errbuf_set(eb, EC_INVALID, "%zu problem%s", r->count - start,
	    r->count - start == 1 ? "" : "s");
}

/*
 * Checks each file of set on its own (path, size, digest) and adds its
 * size to *total; who names the set in messages.
 */
static int
check_files(const struct artifact_set *set, const char *who, int hashed,
    const struct bundle_limits *l, size_t *total, struct bundle_report *r,
    struct errbuf *eb)
{
	const struct artifact_file *f;
	size_t i;

	for (i = 0; i < set->len; i++) {
		f = &set->files[i];
		if (artifact_path_check(f->path, strlen(f->path), eb) == -1) {
			errbuf_prefix(eb, "%s", who);
			if (bundle_report_problem(r, eb) == -1)
				return -1;
			continue;
		}
		if (artifact_mode_check(f->mode, f->path, eb) == -1) {
			errbuf_prefix(eb, "%s", who);
			if (bundle_report_problem(r, eb) == -1)
				return -1;
		}
		if (!jsonx_utf8_valid(f->path, strlen(f->path))) {
			errbuf_set(eb, EC_INVALID, "%s: %s: path not UTF-8",
			    who, f->path);
			if (bundle_report_problem(r, eb) == -1)
				return -1;
		}
		if (f->len > l->max_file_size) {
			errbuf_set(eb, EC_INVALID, "%s: %s: over %zu bytes",
			    who, f->path, l->max_file_size);
			if (bundle_report_problem(r, eb) == -1)
				return -1;
		}
		if (!hashed && !artifact_file_digest_ok(f)) {
			errbuf_set(eb, EC_INVALID, "%s: %s: sha256 mismatch",
			    who, f->path);
			if (bundle_report_problem(r, eb) == -1)
				return -1;
		}
		*total += f->len;
	}
	return 0;
}

/* artifact_keys_check's report, into a bundle_report. */
static int
report_into(void *arg, const struct errbuf *eb)
{
	return bundle_report_problem(arg, eb);
}

/*
 * Reports each path twice in set, and each also among the shared files
 * (shared: their sorted keys, NULL when checking the shared files).
 */
static int
check_unique(const struct artifact_set *set, const char *who,
    const char *const *shared, size_t nshared, struct bundle_report *r,
    struct errbuf *eb)
{
	const char **keys;
	size_t n;
	int rc;

	if (artifact_sorted_keys(&set, 1, &keys, &n) == -1)
		return errbuf_set(eb, EC_INTERNAL, "out of memory");
	rc = artifact_keys_check(keys, n, shared, nshared, who,
	    r != NULL ? report_into : NULL, r, eb);
	free(keys);
	return rc;
}

int
bundle_check(struct bundle *b, const struct bundle_limits *l,
    struct bundle_report *r, struct errbuf *eb)
{
	const struct artifact_set *sets[1];
	const char **shared = NULL;
	char who[REGISTRATION_ID_MAX + 16];
	size_t i, start = r != NULL ? r->count : 0;
	size_t entries = b->shared.len, total = 0, nshared = 0;
	int rc = -1;

	for (i = 0; i < b->nnodes; i++) {
		if (registration_identifier_check(b->nodes[i].identifier,
		    strlen(b->nodes[i].identifier), eb) == -1) {
			errbuf_prefix(eb, "node %.*s", BUNDLE_BAD_ID_SHOW,
			    b->nodes[i].identifier);
			if (bundle_report_problem(r, eb) == -1)
				goto out;
		}
		entries += b->nodes[i].files.len;
	}
	if (entries > l->max_entries) {
		errbuf_set(eb, EC_INVALID, "%zu files: over the limit of %zu",
		    entries, l->max_entries);
		if (bundle_report_problem(r, eb) == -1)
			goto out;
	}
	strmap_release(&b->index);	/* the sort moves the nodes */
	if (b->nnodes > 1)
		qsort(b->nodes, b->nnodes, sizeof(*b->nodes), cmp_nodes);
	for (i = 1; i < b->nnodes; i++) {
		if (strcmp(b->nodes[i - 1].identifier,
		    b->nodes[i].identifier) != 0)
			continue;
		errbuf_set(eb, EC_INVALID, "node %s: duplicate identifier",
		    b->nodes[i].identifier);
		if (bundle_report_problem(r, eb) == -1)
			goto out;
	}
	if (check_files(&b->shared, "shared", b->hashed, l, &total, r,
	    eb) == -1 ||
	    check_unique(&b->shared, "shared", NULL, 0, r, eb) == -1)
		goto out;
	sets[0] = &b->shared;
	if (artifact_sorted_keys(sets, 1, &shared, &nshared) == -1) {
		errbuf_set(eb, EC_INTERNAL, "out of memory");
		goto out;
	}
	for (i = 0; i < b->nnodes; i++) {
		/* Identifiers are at most this long once checked. */
		(void)snprintf(who, sizeof(who), "node %.*s",
		    REGISTRATION_ID_MAX, b->nodes[i].identifier);
		if (check_files(&b->nodes[i].files, who, b->hashed, l,
		    &total, r, eb) == -1 ||
		    check_unique(&b->nodes[i].files, who, shared, nshared, r,
		    eb) == -1)
			goto out;
	}
	if (total > l->max_total_size) {
		errbuf_set(eb, EC_INVALID,
		    "%zu bytes of files: over the limit of %zu", total,
		    l->max_total_size);
		if (bundle_report_problem(r, eb) == -1)
			goto out;
	}
	rc = bundle_report_end(r, start, eb);
out:
	free(shared);
	return rc;
}

/* Parses a node's or the shared files, reporting each bad one. */
static int
files_from_json(struct artifact_set *set, struct json_object *arr,
    const char *who, struct bundle_report *r, struct errbuf *eb)
{
	struct artifact_file *f;
	size_t i, n;

	if (!json_object_is_type(arr, json_type_array)) {
		errbuf_set(eb, EC_INVALID, "bundle: %s: files: not an array",
		    who);
		return bundle_report_problem(r, eb);
	}
	n = json_object_array_length(arr);
	/*
	 * Sized to the array at once, not to ARRAY_GROW's first 4 (within
	 * the limit: an array past it grows as it is read, to be refused).
	 */
	if (set->cap == 0 && n > 0 && n <= BUNDLE_MAX_ENTRIES) {
		if ((set->files = reallocarray(NULL, n,
		    sizeof(*set->files))) == NULL)
			return errbuf_set(eb, EC_INTERNAL, "out of memory");
		set->cap = n;
	}
	for (i = 0; i < n; i++) {
		if ((f = artifact_set_push(set)) == NULL)
			return errbuf_set(eb, EC_INTERNAL, "out of memory");
		if (artifact_file_from_json(f,
		    json_object_array_get_idx(arr, i), eb) == 0)
			continue;
		artifact_file_release(f);
		set->len--;
		if (eb->code != EC_INVALID)
			return -1;
		errbuf_prefix(eb, "bundle: %s: files[%zu]", who, i);
		if (bundle_report_problem(r, eb) == -1)
			return -1;
	}
	return 0;
}

/*
 * Reads nodes[i] of the NodeArtifactsBundle shape (SPEC 5): node
 * (borrowed) one {identifier, files}.
 */
static int
static_node(struct bundle *b, size_t i, struct json_object *node,
    struct bundle_report *r, struct errbuf *eb)
{
	struct json_object *v;		/* borrowed */
	struct bundle_node *n;
	char who[REGISTRATION_ID_MAX + 16];
	const char *id;
	size_t idlen;

	if (!json_object_is_type(node, json_type_object) ||
	    jsonx_get_string(node, "identifier", &id, &idlen) != 0) {
		errbuf_set(eb, EC_INVALID, "bundle: nodes[%zu]: "
		    "identifier: missing or not a string", i);
		return bundle_report_problem(r, eb);
	}
	if (registration_identifier_check(id, idlen, eb) == -1) {
		errbuf_prefix(eb, "bundle: nodes[%zu]", i);
		return bundle_report_problem(r, eb);
	}
	if ((n = node_add(b, id)) == NULL)
		return errbuf_set(eb, EC_INTERNAL, "out of memory");
	(void)snprintf(who, sizeof(who), "node %s", id);
	/* A node without files has none (SPEC 5). */
	if (json_object_object_get_ex(node, "files", &v) && v != NULL &&
	    files_from_json(&n->files, v, who, r, eb) == -1)
		return -1;
	return 0;
}

/*
 * Reads node id of the MaterializedArtifacts shape (SPEC 5): node
 * (borrowed) a {files: [...]}, where a missing or null files is none.
 */
static int
materialized_node(struct bundle *b, const char *id, struct json_object *node,
    struct bundle_report *r, struct errbuf *eb)
{
	struct json_object *v;		/* borrowed */
	struct bundle_node *n;
	char who[REGISTRATION_ID_MAX + 16];

	if (registration_identifier_check(id, strlen(id), eb) == -1) {
		errbuf_prefix(eb, "bundle: nodes: %.64s", id);
		return bundle_report_problem(r, eb);
	}
	if (node != NULL && !json_object_is_type(node, json_type_object)) {
		errbuf_set(eb, EC_INVALID, "bundle: nodes: %s: not a map with "
		    "files", id);
		return bundle_report_problem(r, eb);
	}
	if ((n = node_add(b, id)) == NULL)
		return errbuf_set(eb, EC_INTERNAL, "out of memory");
	(void)snprintf(who, sizeof(who), "node %s", id);
	if (node != NULL && json_object_object_get_ex(node, "files", &v) &&
	    v != NULL && files_from_json(&n->files, v, who, r, eb) == -1)
		return -1;
	return 0;
}

/*
 * Reads the shared files: v (borrowed, NULL when absent) the value of
 * shared_files (NodeArtifactsBundle) or of shared, one {files: [...]}
 * (MaterializedArtifacts).
 */
static int
shared_files(struct bundle *b, int materialized, struct json_object *v,
    struct bundle_report *r, struct errbuf *eb)
{
	if (v == NULL)
		return 0;
	if (!materialized)
		return files_from_json(&b->shared, v, "shared_files", r, eb);
	if (!json_object_is_type(v, json_type_object)) {
		errbuf_set(eb, EC_INVALID, "bundle: shared: not a map with "
		    "files");
		return bundle_report_problem(r, eb);
	}
	if (json_object_object_get_ex(v, "files", &v) && v != NULL &&
	    files_from_json(&b->shared, v, "shared", r, eb) == -1)
		return -1;
	return 0;
}

/*
 * Reads the NodeArtifactsBundle shape (SPEC 5): nodes (borrowed from doc)
 * a list of {identifier, files}, and shared_files.
 */
static int
static_from_json(struct bundle *b, struct json_object *doc,
    struct json_object *nodes, struct bundle_report *r, struct errbuf *eb)
{
	struct json_object *v;		/* borrowed */
	size_t i, count;

	count = json_object_array_length(nodes);
	for (i = 0; i < count; i++)
		if (static_node(b, i, json_object_array_get_idx(nodes, i), r,
		    eb) == -1)
			return -1;
	if (!json_object_object_get_ex(doc, "shared_files", &v))
		v = NULL;
	return shared_files(b, 0, v, r, eb);
}

/*
 * Reads the MaterializedArtifacts shape (SPEC 5): nodes (borrowed from
 * doc) a map from identifier to {files: [...]}, shared one {files: [...]}.
 */
static int
materialized_from_json(struct bundle *b, struct json_object *doc,
    struct json_object *nodes, struct bundle_report *r, struct errbuf *eb)
{
	struct json_object *v;		/* borrowed */

	json_object_object_foreach(nodes, id, node)
		if (materialized_node(b, id, node, r, eb) == -1)
			return -1;
	if (!json_object_object_get_ex(doc, "shared", &v))
		v = NULL;
	return shared_files(b, 1, v, r, eb);
}

static int
from_json(struct bundle *b, struct json_object *doc,
    const struct bundle_limits *l, struct bundle_report *r,
    struct errbuf *eb)
{
	struct json_object *nodes;	/* borrowed */
	size_t start = r != NULL ? r->count : 0;

	if (!json_object_is_type(doc, json_type_object)) {
		errbuf_set(eb, EC_INVALID, "bundle: not a JSON object");
		(void)bundle_report_problem(r, eb);
		return -1;
	}
	if (!json_object_object_get_ex(doc, "nodes", &nodes) ||
	    !(json_object_is_type(nodes, json_type_array) ||
	    json_object_is_type(nodes, json_type_object))) {
		errbuf_set(eb, EC_INVALID,
		    "bundle: nodes: missing or neither a list nor a map");
		(void)bundle_report_problem(r, eb);
		return -1;
	}
	if ((json_object_is_type(nodes, json_type_array) ?
	    static_from_json(b, doc, nodes, r, eb) :
	    materialized_from_json(b, doc, nodes, r, eb)) == -1)
		return -1;
	if (bundle_check(b, l, r, eb) == -1 &&
	    (r == NULL || eb->code != EC_INVALID))
		return errbuf_prefix(eb, "bundle");
	return bundle_report_end(r, start, eb);
}

int
bundle_from_json(struct bundle *b, struct json_object *doc,
    const struct bundle_limits *l, struct errbuf *eb)
{
	return from_json(b, doc, l, NULL, eb);
}

int
bundle_parse_json(struct bundle *b, const char *text, size_t len,
    const struct bundle_limits *l, struct bundle_report *r,
    struct errbuf *eb)
{
	struct json_object *doc = NULL;
	int rc;

	if (jsonx_parse(text, len, l->max_total_size, "bundle", &doc,
	    eb) == -1) {
		(void)bundle_report_problem(r, eb);
		return -1;
	}
	rc = from_json(b, doc, l, r, eb);
	json_object_put(doc);
	return rc;
}

/* A member of the top-level object, for bundle_parse_json_lean. */
struct lean_member {
	const char	*key;		/* in the text, not NUL-terminated */
	size_t		 klen, voff, vlen;
};

/* The index of member key among top[0..n), or n. */
static size_t
lean_find(const struct lean_member *top, size_t n, const char *key)
{
	size_t i, klen = strlen(key);

	for (i = 0; i < n; i++)
		if (top[i].klen == klen && memcmp(top[i].key, key, klen) == 0)
			break;
	return i;
}

/*
 * Reads the nodes one at a time: each element (or member) of the value
 * top (a list or a map) parsed, read into b and put before the next.
 */
static int
lean_nodes(struct bundle *b, const char *text, size_t len,
    const struct lean_member *top, struct errbuf *eb)
{
	struct json_object *node;
	struct jsonx_walk w;
	char id[REGISTRATION_ID_MAX + 1];
	const char *key;
	size_t klen, voff, vlen, i;
	int rc;

	if (jsonx_walk_begin(&w, text, len, top->voff) == -1)
		return -1;
	for (i = 0; (rc = jsonx_walk_next(&w, &key, &klen, &voff,
	    &vlen)) == 1; i++) {
		if (jsonx_parse_inner(text + voff, vlen, 2, &node) == -1 ||
		    (key != NULL && klen >= sizeof(id))) {
			json_object_put(node);
			return -1;
		}
		if (key != NULL) {
			memcpy(id, key, klen);
			id[klen] = '\0';
			rc = materialized_node(b, id, node, NULL, eb);
		} else
			rc = static_node(b, i, node, NULL, eb);
		json_object_put(node);
		if (rc == -1)
			return -1;
	}
	/* The walk must end where the whole value was found to. */
	return rc == 0 && w.pos == top->voff + top->vlen ? 0 : -1;
}

int
bundle_parse_json_lean(struct bundle *b, const char *text, size_t len,
    size_t max, const struct bundle_limits *l, const char *veto)
{
	struct lean_member top[BUNDLE_LEAN_MEMBERS];
	struct json_object *v = NULL, *shared = NULL;
	struct jsonx_walk w;
	struct errbuf eb;
	const char *key;
	size_t klen, voff, vlen, n = 0, i, nodes, sh;
	int rc;

	if (len == 0 || len > max || len >= INT_MAX ||
	    memchr(text, '\0', len) != NULL)
		return 1;
	for (i = 0; i < len && memchr(" \t\r\n", text[i], 4) != NULL; i++)
		;
	if (i >= len || text[i] != '{' ||
	    jsonx_walk_begin(&w, text, len, i) == -1)
		return 1;
	while ((rc = jsonx_walk_next(&w, &key, &klen, &voff, &vlen)) == 1) {
		if (n == nitems(top))
			return 1;
		/* A member named twice: jsonx_parse refuses it. */
		for (i = 0; i < n; i++)
			if (top[i].klen == klen &&
			    memcmp(top[i].key, key, klen) == 0)
				return 1;
		top[n++] = (struct lean_member){ key, klen, voff, vlen };
	}
	if (rc == -1)
		return 1;
	for (i = w.pos; i < len; i++)
		if (memchr(" \t\r\n", text[i], 4) == NULL)
			return 1;
	if ((nodes = lean_find(top, n, "nodes")) == n)
		return 1;
	sh = lean_find(top, n, text[top[nodes].voff] == '{' ? "shared" :
	    "shared_files");
	/* The other members, small beside the nodes: each parsed whole. */
	for (i = 0; i < n; i++) {
		if (i == nodes)
			continue;
		if (jsonx_parse_inner(text + top[i].voff, top[i].vlen, 1,
		    &v) == -1)
			goto undecided;
		if (veto != NULL && i == lean_find(top, n, veto) &&
		    json_object_is_type(v, json_type_boolean) &&
		    !json_object_get_boolean(v))
			goto undecided;
		if (i == sh) {
			shared = v;
			v = NULL;
		}
		json_object_put(v);
		v = NULL;
	}
	if (lean_nodes(b, text, len, &top[nodes], &eb) == -1 ||
	    shared_files(b, text[top[nodes].voff] == '{', shared, NULL,
	    &eb) == -1 ||
	    bundle_check(b, l, NULL, &eb) == -1)
		goto undecided;
	json_object_put(shared);
	return 0;
undecided:
	json_object_put(v);
	json_object_put(shared);
	bundle_release(b);
	return 1;
}

/* Parses YAML text within the caps l implies (yamlx_parse). */
static int
yaml_doc(const char *text, size_t len, const struct bundle_limits *l,
    struct json_object **doc, struct errbuf *eb)
{
	struct yamlx_limits yl;

	yamlx_limits_init(&yl, l->max_total_size, l->max_entries <
	    (SIZE_MAX - BUNDLE_YAML_NODES) / BUNDLE_YAML_NODES_PER_ENTRY ?
	    BUNDLE_YAML_NODES_PER_ENTRY * l->max_entries + BUNDLE_YAML_NODES :
	    SIZE_MAX);
	return yamlx_parse(text, len, &yl, "bundle", doc, eb);
}

static int
parse_yaml(struct bundle *b, const char *text, size_t len,
    const struct bundle_limits *l, struct bundle_report *r,
    struct errbuf *eb)
{
	struct json_object *doc = NULL;
	int rc = -1;

	if (yaml_doc(text, len, l, &doc, eb) == -1)
		goto out;
	if (doc == NULL || json_object_is_type(doc, json_type_string)) {
		/* Not YAML meant as one: say what it is not. */
		errbuf_set(eb, EC_INVALID, "not a JSON bundle, nor a tar or "
		    "zip archive: text, but no YAML mapping");
		goto out;
	}
	if (!json_object_is_type(doc, json_type_object)) {
		errbuf_set(eb, EC_INVALID, "bundle: YAML: a list, not a "
		    "mapping");
		goto out;
	}
	rc = from_json(b, doc, l, r, eb);
	json_object_put(doc);
	return rc;
out:
	(void)bundle_report_problem(r, eb);
	json_object_put(doc);
	return rc;
}

/*
 * Text that starts with '{': JSON, or else YAML in flow style
 * ({nodes: {...}}), which starts so too.  When it is neither, the JSON
 * error is the one reported.
 */
static int
parse_brace(struct bundle *b, const char *text, size_t len,
    const struct bundle_limits *l, struct bundle_report *r,
    struct errbuf *eb)
{
	struct json_object *doc = NULL;
	struct errbuf yeb;
	int rc;

	if (jsonx_parse(text, len, l->max_total_size, "bundle", &doc,
	    eb) == -1 && (eb->code != EC_INVALID ||
	    yaml_doc(text, len, l, &doc, &yeb) == -1 ||
	    !json_object_is_type(doc, json_type_object))) {
		json_object_put(doc);
		(void)bundle_report_problem(r, eb);
		return -1;
	}
	rc = from_json(b, doc, l, r, eb);
	json_object_put(doc);
	return rc;
}

int
bundle_parse_text(struct bundle *b, const char *text, size_t len,
    const struct bundle_limits *l, struct bundle_report *r,
    struct errbuf *eb)
{
	size_t i;

	/* memchr, not strchr, which would take a NUL for a space. */
	for (i = 0; i < len && memchr(" \t\r\n", text[i], 4) != NULL; i++)
		;
	if (i < len && text[i] == '{')
		return parse_brace(b, text, len, l, r, eb);
	return parse_yaml(b, text, len, l, r, eb);
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
