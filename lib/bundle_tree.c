/*
 * The tree form of a bundle: see bundle_tree.h.
 */
#include "bundle_tree.h"

#include <sys/stat.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "array.h"
#include "artifacts.h"
#include "buf.h"
#include "bundle.h"
#include "errbuf.h"
#include "exitcode.h"
#include "jsonx.h"
#include "banned.h"

#define SHOW	BUNDLE_TREE_SHOW	/* of an entry name, in messages */

/* Names in messages are cut here, so the reason after them still fits. */

static int
outside(const char *name, struct errbuf *eb)
{
	return errbuf_set(eb, EC_INVALID,
	    "%.*s: outside nodes/<identifier>/ and shared/", SHOW, name);
}

/*
 * Copies name to buf with every byte that is not printable ASCII as '?',
 * for a message about a name whose bytes are not text.
 */
static const char *
ascii(char *buf, size_t size, const char *name)
{
	size_t i;

	for (i = 0; i + 1 < size && name[i] != '\0'; i++)
		buf[i] = name[i] >= 0x20 && name[i] < 0x7f ? name[i] : '?';
	buf[i] = '\0';
	return buf;
}

int
bundle_tree_parse(const char *name, int isdir, struct bundle_tree_entry *e,
    struct errbuf *eb)
{
	const char *p = name, *id, *slash;
	char shown[SHOW + 1];
	size_t len, idlen;

	e->identifier[0] = '\0';
	e->path = NULL;
	while (p[0] == '.' && p[1] == '/')
		p += 2;
	if (p[0] == '/')
		return errbuf_set(eb, EC_INVALID, "%.*s: %s", SHOW, name,
		    p == name ? "absolute name" : "empty component");
	len = strlen(p);
	if (isdir && len > 0 && p[len - 1] == '/')
		len--;
	if (len == 0 || (len == 1 && p[0] == '.')) {
		if (isdir)
			return 0;
		return errbuf_set(eb, EC_INVALID, "%.*s: no file name", SHOW,
		    name);
	}
	if (!jsonx_utf8_valid(p, len))
		return errbuf_set(eb, EC_INVALID, "%s: name not UTF-8",
		    ascii(shown, sizeof(shown), name));
	if (artifact_path_check(p, len, eb) == -1)
		return -1;
	if (len >= 5 && memcmp(p, "nodes", 5) == 0 &&
	    (len == 5 || p[5] == '/')) {
		if (len == 5)
			return isdir ? 0 : outside(name, eb);
		id = p + 6;
		slash = memchr(id, '/', len - 6);
		idlen = slash != NULL ? (size_t)(slash - id) : len - 6;
		if (registration_identifier_check(id, idlen, eb) == -1)
			return errbuf_prefix(eb, "%.*s", SHOW, name);
		memcpy(e->identifier, id, idlen);
		e->identifier[idlen] = '\0';
		if (isdir)
			return 0;
		if (slash == NULL)
			return outside(name, eb);
		e->path = slash + 1;
		return 0;
	}
	if (len >= 6 && memcmp(p, "shared", 6) == 0 &&
	    (len == 6 || p[6] == '/')) {
		if (isdir)
			return 0;
		if (len == 6)
			return outside(name, eb);
		e->path = p + 7;
		return 0;
	}
	return outside(name, eb);
}

int
bundle_tree_add(struct bundle *b, const struct bundle_tree_entry *e,
    char *content, size_t len, int mode, struct errbuf *eb)
{
	struct bundle_node *node = NULL;
	struct artifact_set *set;
	struct artifact_file *f;

	if (e->identifier[0] != '\0' &&
	    (node = bundle_node_get(b, e->identifier)) == NULL)
		goto nomem;
	if (e->path == NULL)
		return 0;
	set = node != NULL ? &node->files : &b->shared;
	if ((f = artifact_set_push(set)) == NULL)
		goto nomem;
	if ((f->path = strdup(e->path)) == NULL) {
		set->len--;
		goto nomem;
	}
	f->content = content;
	f->len = len;
	f->mode = mode;
	return 0;
nomem:
	free(content);
	return errbuf_set(eb, EC_INTERNAL, "out of memory");
}

const char *
bundle_tree_refusal(unsigned type)
{
	switch (type & S_IFMT) {
	case S_IFREG:
	case S_IFDIR:
		return NULL;
	case S_IFLNK:
		return "symbolic link";
	case S_IFCHR:
	case S_IFBLK:
		return "device";
	case S_IFIFO:
		return "FIFO";
	case S_IFSOCK:
		return "socket";
	default:
		return "not a regular file or a directory";
	}
}

int
bundle_tree_mode(unsigned perm)
{
	perm &= 07777;
	return perm == BUNDLE_TREE_PERM ? ARTIFACT_MODE_NONE : (int)perm;
}

unsigned
bundle_tree_perm(const struct artifact_file *f)
{
	return f->mode == ARTIFACT_MODE_NONE ? BUNDLE_TREE_PERM :
	    (unsigned)f->mode;
}

int
bundle_tree_name(struct buf *b, const char *identifier, const char *path)
{
	if (identifier != NULL)
		return buf_addf(b, "nodes/%s/%s", identifier,
		    artifact_path_key(path));
	return buf_addf(b, "shared/%s", artifact_path_key(path));
}

int
bundle_tree_finish(struct bundle *b, const struct bundle_limits *l,
    struct bundle_report *r, struct errbuf *eb)
{
	size_t i;

	for (i = 0; i < b->nnodes; i++)
		artifact_set_sort(&b->nodes[i].files);
	artifact_set_sort(&b->shared);
	return bundle_check(b, l, r, eb);
}

int
bundle_tree_is_manifest(const char *name)
{
	while (name[0] == '.' && name[1] == '/')
		name += 2;
	return strcmp(name, BUNDLE_TREE_MANIFEST) == 0;
}

/* A file of a bundle that needs a manifest entry, under its tree name. */
struct mfile {
	char				*name;
	const struct artifact_file	*file;	/* borrowed */
};

/* An entry of a manifest being applied. */
struct mentry {
	const char	*name;		/* borrowed from the document */
	const char	*owner;		/* borrowed, or NULL */
	const char	*group;		/* borrowed, or NULL */
	int		 absolute;
	int		 explicit_mode;
	int		 has_sha256;
	unsigned char	 sha256[ARTIFACT_SHA256_LEN];
	int		 used;
};

static int
cmp_mfiles(const void *a, const void *b)
{
	const struct mfile *x = a, *y = b;

	return strcmp(x->name, y->name);
}

static int
cmp_mentries(const void *a, const void *b)
{
	const struct mentry *x = a, *y = b;

	return strcmp(x->name, y->name);
}

/* Says whether f has something its tree form cannot hold. */
static int
needs_entry(const struct artifact_file *f)
{
	return f->path[0] == '/' || f->mode == BUNDLE_TREE_PERM ||
	    f->owner != NULL || f->group != NULL || f->has_sha256;
}

static int
render_entry(struct buf *out, const struct mfile *m)
{
	const struct artifact_file *f = m->file;

	if (buf_adds(out, "{\"name\":") == -1 ||
	    buf_add_json_string(out, m->name, strlen(m->name)) == -1 ||
	    (f->path[0] == '/' && buf_adds(out, ",\"absolute\":true") == -1) ||
	    (f->mode == BUNDLE_TREE_PERM &&
	    buf_adds(out, ",\"explicit_mode\":true") == -1))
		return -1;
	if (artifact_file_render_owners(out, f) == -1)
		return -1;
	return buf_addc(out, '}');
}

int
bundle_tree_manifest_render(struct buf *out, const struct bundle *b)
{
	const struct artifact_set *set;
	const char *id;
	struct mfile *v = NULL, *nv;
	struct buf name;
	size_t n = 0, cap = 0, i, k;
	int rc = -1;

	for (i = 0; i <= b->nnodes; i++) {
		set = i < b->nnodes ? &b->nodes[i].files : &b->shared;
		id = i < b->nnodes ? b->nodes[i].identifier : NULL;
		for (k = 0; k < set->len; k++) {
			if (!needs_entry(&set->files[k]))
				continue;
			if (n == cap) {
				cap = cap ? cap * 2 : 16;
				if ((nv = reallocarray(v, cap,
				    sizeof(*v))) == NULL)
					goto out;
				v = nv;
			}
			buf_init(&name, SIZE_MAX);
			if (bundle_tree_name(&name, id,
			    set->files[k].path) == -1 ||
			    (v[n].name = buf_detach(&name, NULL)) == NULL) {
				buf_release(&name);
				goto out;
			}
			v[n++].file = &set->files[k];
		}
	}
	if (n == 0) {
		rc = 0;
		goto out;
	}
	qsort(v, n, sizeof(*v), cmp_mfiles);
	if (buf_addf(out, "{\"cfgsync_manifest\":%d,\"files\":[\n",
	    BUNDLE_TREE_MANIFEST_VERSION) == -1)
		goto out;
	for (i = 0; i < n; i++)
		if ((i > 0 && buf_adds(out, ",\n") == -1) ||
		    render_entry(out, &v[i]) == -1)
			goto out;
	if (buf_adds(out, "\n]}\n") == -1)
		goto out;
	rc = 0;
out:
	for (i = 0; i < n; i++)
		free(v[i].name);
	free(v);
	return rc;
}

/* Gets member key of o as a boolean: 0 (absent is false) or -1. */
static int
get_bool(struct json_object *o, const char *key, int *out)
{
	struct json_object *v;	/* borrowed */

	*out = 0;
	if (!json_object_object_get_ex(o, key, &v))
		return 0;
	if (!json_object_is_type(v, json_type_boolean))
		return -1;
	*out = json_object_get_boolean(v);
	return 0;
}

/* A problem with entry i of the manifest. */
static int
bad_entry(struct errbuf *eb, size_t i, const char *why)
{
	return errbuf_set(eb, EC_INVALID, "%s: files[%zu]: %s",
	    BUNDLE_TREE_MANIFEST, i, why);
}

/* Parses entry i, o (borrowed), of a manifest into m. */
static int
entry_from_json(struct mentry *m, struct json_object *o, size_t i,
    struct errbuf *eb)
{
	static const char *const keys[] = {
		"absolute", "explicit_mode", "group", "name", "owner", "sha256"
	};
	struct bundle_tree_entry te;
	const char *s;
	size_t len, k;
	int r;

	if (!json_object_is_type(o, json_type_object))
		return bad_entry(eb, i, "not an object");
	json_object_object_foreach(o, mkey, mval) {
		(void)mval;
		for (k = 0; k < nitems(keys); k++)
			if (strcmp(mkey, keys[k]) == 0)
				break;
		if (k == nitems(keys))
			return errbuf_set(eb, EC_INVALID, "%s: files[%zu]: "
			    "unknown member %.*s", BUNDLE_TREE_MANIFEST, i,
			    SHOW, mkey);
	}
	if (jsonx_get_string(o, "name", &s, &len) != 0)
		return bad_entry(eb, i, "name: missing or not a string");
	if (strlen(s) != len)
		return bad_entry(eb, i, "name: NUL byte");
	if (bundle_tree_parse(s, 0, &te, eb) == -1)
		return errbuf_prefix(eb, "%s: files[%zu]",
		    BUNDLE_TREE_MANIFEST, i);
	while (s[0] == '.' && s[1] == '/')
		s += 2;		/* as bundle_tree_parse reads it */
	m->name = s;
	if (get_bool(o, "absolute", &m->absolute) == -1)
		return bad_entry(eb, i, "absolute: not true or false");
	if (get_bool(o, "explicit_mode", &m->explicit_mode) == -1)
		return bad_entry(eb, i, "explicit_mode: not true or false");
	if ((r = jsonx_get_string(o, "owner", &s, &len)) == -1 ||
	    (r == 0 && !artifact_owner_ok(s, len)))
		return bad_entry(eb, i, "owner: not a user name or id");
	m->owner = r == 0 ? s : NULL;
	if ((r = jsonx_get_string(o, "group", &s, &len)) == -1 ||
	    (r == 0 && !artifact_owner_ok(s, len)))
		return bad_entry(eb, i, "group: not a group name or id");
	m->group = r == 0 ? s : NULL;
	if ((r = jsonx_get_string(o, "sha256", &s, &len)) == -1 ||
	    (r == 0 && artifact_sha256_parse(s, len, m->sha256) == -1))
		return bad_entry(eb, i, "sha256: not 64 hex digits");
	m->has_sha256 = r == 0;
	return 0;
}

/* Gives f what its entry m records. */
static int
apply_entry(const struct mentry *m, struct artifact_file *f, int hashed,
    struct errbuf *eb)
{
	size_t len;
	char *p;

	if (m->has_sha256) {
		/* Hashed: the reader left the content's digest in sha256. */
		if (!hashed)
			artifact_file_hash(f);
		f->has_sha256 = 1;
		if (memcmp(f->sha256, m->sha256, sizeof(f->sha256)) != 0)
			return errbuf_set(eb, EC_INVALID, "%s: %.*s: sha256 "
			    "does not match the file (changed since unpacked? "
			    "drop or mend its sha256)", BUNDLE_TREE_MANIFEST,
			    SHOW, m->name);
	}
	if (m->absolute && f->path[0] != '/') {
		len = strlen(f->path);
		if ((p = malloc(len + 2)) == NULL)
			goto nomem;
		p[0] = '/';
		memcpy(p + 1, f->path, len + 1);
		free(f->path);
		f->path = p;
	}
	if (m->explicit_mode && f->mode == ARTIFACT_MODE_NONE)
		f->mode = BUNDLE_TREE_PERM;
	if (m->owner != NULL) {
		free(f->owner);
		if ((f->owner = strdup(m->owner)) == NULL)
			goto nomem;
	}
	if (m->group != NULL) {
		free(f->group);
		if ((f->group = strdup(m->group)) == NULL)
			goto nomem;
	}
	return 0;
nomem:
	return errbuf_set(eb, EC_INTERNAL, "out of memory");
}

/* Applies the sorted entries m[0..n) to the files of set. */
static int
apply_set(struct artifact_set *set, const char *identifier, int hashed,
    struct mentry *m, size_t n, struct errbuf *eb)
{
	struct mentry key, *hit;
	struct buf name;
	size_t i;
	int rc = 0;

	if (n == 0)
		return 0;	/* bsearch takes no NULL array */
	buf_init(&name, SIZE_MAX);
	for (i = 0; i < set->len && rc == 0; i++) {
		buf_reset(&name);
		if (bundle_tree_name(&name, identifier,
		    set->files[i].path) == -1) {
			rc = errbuf_set(eb, EC_INTERNAL, "out of memory");
			break;
		}
		key.name = name.data;
		if ((hit = bsearch(&key, m, n, sizeof(*m),
		    cmp_mentries)) == NULL)
			continue;
		hit->used = 1;
		rc = apply_entry(hit, &set->files[i], hashed, eb);
	}
	buf_release(&name);
	return rc;
}

int
bundle_tree_manifest_apply(struct bundle *b, const char *text, size_t len,
    const struct bundle_limits *l, struct errbuf *eb)
{
	struct json_object *doc = NULL, *v, *files;	/* v, files borrowed */
	struct mentry *m = NULL;
	size_t n = 0, i;
	int rc = -1;

	if (jsonx_parse(text, len, l->max_total_size, BUNDLE_TREE_MANIFEST,
	    &doc, eb) == -1)
		return -1;
	if (!json_object_is_type(doc, json_type_object)) {
		errbuf_set(eb, EC_INVALID, "%s: not a JSON object",
		    BUNDLE_TREE_MANIFEST);
		goto out;
	}
	json_object_object_foreach(doc, dkey, dval) {
		(void)dval;
		if (strcmp(dkey, "cfgsync_manifest") != 0 &&
		    strcmp(dkey, "files") != 0) {
			errbuf_set(eb, EC_INVALID, "%s: unknown member %.*s",
			    BUNDLE_TREE_MANIFEST, SHOW, dkey);
			goto out;
		}
	}
	if (!json_object_object_get_ex(doc, "cfgsync_manifest", &v) ||
	    !json_object_is_type(v, json_type_int) ||
	    json_object_get_int64(v) != BUNDLE_TREE_MANIFEST_VERSION) {
		errbuf_set(eb, EC_INVALID, "%s: cfgsync_manifest: missing or "
		    "not %d", BUNDLE_TREE_MANIFEST,
		    BUNDLE_TREE_MANIFEST_VERSION);
		goto out;
	}
	if (!json_object_object_get_ex(doc, "files", &files) ||
	    !json_object_is_type(files, json_type_array)) {
		errbuf_set(eb, EC_INVALID, "%s: files: missing or not an "
		    "array", BUNDLE_TREE_MANIFEST);
		goto out;
	}
	n = json_object_array_length(files);
	if (n > 0 && (m = calloc(n, sizeof(*m))) == NULL) {
		errbuf_set(eb, EC_INTERNAL, "out of memory");
		goto out;
	}
	for (i = 0; i < n; i++)
		if (entry_from_json(&m[i], json_object_array_get_idx(files, i),
		    i, eb) == -1)
			goto out;
	if (n > 1)
		qsort(m, n, sizeof(*m), cmp_mentries);
	for (i = 1; i < n; i++) {
		if (strcmp(m[i - 1].name, m[i].name) == 0) {
			errbuf_set(eb, EC_INVALID, "%s: %.*s: listed twice",
			    BUNDLE_TREE_MANIFEST, SHOW, m[i].name);
			goto out;
		}
	}
	for (i = 0; i < b->nnodes; i++)
		if (apply_set(&b->nodes[i].files, b->nodes[i].identifier,
		    b->hashed, m, n, eb) == -1)
			goto out;
	if (apply_set(&b->shared, NULL, b->hashed, m, n, eb) == -1)
		goto out;
	for (i = 0; i < n; i++) {
		if (!m[i].used) {
			errbuf_set(eb, EC_INVALID, "%s: %.*s: no such file in "
			    "the tree", BUNDLE_TREE_MANIFEST, SHOW, m[i].name);
			goto out;
		}
	}
	rc = 0;
out:
	free(m);
	json_object_put(doc);
	return rc;
}

/* Moves the files of from into to, named as bundle_tree_name says. */
static int
move_files(struct artifact_set *from, const char *identifier,
    struct artifact_set *to, struct errbuf *eb)
{
	struct artifact_file *f, *g;
	struct buf name;
	size_t i;

	for (i = 0; i < from->len; i++) {
		f = &from->files[i];
		buf_init(&name, (size_t)-1);
		if (bundle_tree_name(&name, identifier, f->path) == -1 ||
		    (g = artifact_set_push(to)) == NULL) {
			buf_release(&name);
			return errbuf_set(eb, EC_INTERNAL, "out of memory");
		}
		free(f->path);
		*g = *f;
		if ((g->path = buf_detach(&name, NULL)) == NULL) {
			artifact_file_release(g);
			to->len--;
			memset(f, 0, sizeof(*f));
			return errbuf_set(eb, EC_INTERNAL, "out of memory");
		}
		g->mode = (int)bundle_tree_perm(g);
		/* Moved: what f pointed to is g's now. */
		memset(f, 0, sizeof(*f));
	}
	artifact_set_release(from);
	return 0;
}

int
bundle_tree_flatten(struct bundle *b, struct artifact_set *set,
    struct errbuf *eb)
{
	size_t i;

	for (i = 0; i < b->nnodes; i++)
		if (move_files(&b->nodes[i].files, b->nodes[i].identifier, set,
		    eb) == -1)
			return -1;
	return move_files(&b->shared, NULL, set, eb);
}
