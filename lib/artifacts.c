/*
 * Artifact files and sets: see artifacts.h.  SHA-256 and base64 come from
 * nettle (which GnuTLS, and so libmicrohttpd and libcurl, already bring).
 */
#include "artifacts.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <nettle/base64.h>
#include <nettle/sha2.h>

#include "array.h"
#include "buf.h"
#include "errbuf.h"
#include "exitcode.h"
#include "jsonx.h"
#include "banned.h"

int
artifact_path_check(const char *path, size_t len, struct errbuf *eb)
{
	size_t i, start;

	if (len == 0)
		return errbuf_set(eb, EC_INVALID, "empty path");
	if (len > ARTIFACT_PATH_MAX)
		return errbuf_set(eb, EC_INVALID, "path over %d bytes",
		    ARTIFACT_PATH_MAX);
	for (i = 0; i < len; i++) {
		if ((unsigned char)path[i] < 0x20 || path[i] == 0x7f)
			return errbuf_set(eb, EC_INVALID,
			    "path %.*s: control byte", (int)i, path);
	}
	start = path[0] == '/' ? 1 : 0;
	if (start == len)
		return errbuf_set(eb, EC_INVALID, "path /: no file name");
	for (i = start; i <= len; i++) {
		if (i < len && path[i] != '/')
			continue;
		/* path need not be NUL-terminated: print len bytes. */
		if (i == start)
			return errbuf_set(eb, EC_INVALID,
			    "path %.*s: empty component", (int)len, path);
		if ((i - start == 1 && path[start] == '.') ||
		    (i - start == 2 && path[start] == '.' &&
		    path[start + 1] == '.'))
			return errbuf_set(eb, EC_INVALID,
			    "path %.*s: '%.*s' component", (int)len, path,
			    (int)(i - start), path + start);
		start = i + 1;
	}
	return 0;
}

const char *
artifact_path_key(const char *path)
{
	return path[0] == '/' ? path + 1 : path;
}

void
artifact_file_release(struct artifact_file *f)
{
	if (f == NULL)
		return;
	free(f->path);
	free(f->content);
	free(f->owner);
	free(f->group);
	memset(f, 0, sizeof(*f));
	f->mode = ARTIFACT_MODE_NONE;
}

void
artifact_set_init(struct artifact_set *set)
{
	set->files = NULL;
	set->len = 0;
	set->cap = 0;
}

void
artifact_set_release(struct artifact_set *set)
{
	size_t i;

	if (set == NULL)
		return;
	for (i = 0; i < set->len; i++)
		artifact_file_release(&set->files[i]);
	free(set->files);
	artifact_set_init(set);
}

struct artifact_file *
artifact_set_push(struct artifact_set *set)
{
	struct artifact_file *f;

	if (ARRAY_GROW(set->files, set->len + 1, set->cap) == -1)
		return NULL;
	f = &set->files[set->len++];
	memset(f, 0, sizeof(*f));
	f->mode = ARTIFACT_MODE_NONE;
	return f;
}

int
artifact_set_add_copy(struct artifact_set *set, const char *path,
    const void *content, size_t len, int mode, struct errbuf *eb)
{
	struct artifact_file *f;

	if ((f = artifact_set_push(set)) == NULL)
		return errbuf_set(eb, EC_INTERNAL, "out of memory");
	f->mode = mode;
	f->len = len;
	if ((f->path = strdup(path)) == NULL ||
	    (f->content = malloc(len + 1)) == NULL) {
		artifact_file_release(f);
		set->len--;
		return errbuf_set(eb, EC_INTERNAL, "out of memory");
	}
	if (len > 0)
		memcpy(f->content, content, len);
	f->content[len] = '\0';
	return 0;
}

static int
cmp_keys(const void *a, const void *b)
{
	const char *const *x = a, *const *y = b;

	return strcmp(*x, *y);
}

int
artifact_sorted_keys(const struct artifact_set *const *sets, size_t nsets,
    const char ***keys, size_t *n)
{
	size_t i, k, total = 0;

	*keys = NULL;
	*n = 0;
	for (i = 0; i < nsets; i++)
		total += sets[i]->len;
	if (total == 0)
		return 0;
	if ((*keys = calloc(total, sizeof(**keys))) == NULL)
		return -1;
	for (i = 0; i < nsets; i++)
		for (k = 0; k < sets[i]->len; k++)
			(*keys)[(*n)++] =
			    artifact_path_key(sets[i]->files[k].path);
	qsort(*keys, *n, sizeof(**keys), cmp_keys);
	return 0;
}

struct prefix {
	const char	*s;
	size_t		 len;
};

/* Orders a prefix (its len bytes) against a key, as strcmp would. */
static int
cmp_prefix(const void *a, const void *b)
{
	const struct prefix *p = a;
	const char *const *key = b;
	int r;

	if ((r = strncmp(p->s, *key, p->len)) != 0)
		return r;
	return (*key)[p->len] == '\0' ? 0 : -1;
}

/*
 * Finds a file standing where key needs a directory ("a" for "a/b"): returns
 * the length of the first proper directory prefix of key that is itself a
 * key in sorted[0..n) (sorted with strcmp), or 0 when there is none.
 */
static size_t
key_prefix_file(const char *key, const char *const *sorted, size_t n)
{
	struct prefix p;
	const char *slash;

	if (n == 0)
		return 0;	/* bsearch wants a real array, even empty */
	p.s = key;
	for (slash = strchr(key, '/'); slash != NULL;
	    slash = strchr(slash + 1, '/')) {
		p.len = (size_t)(slash - key);
		if (bsearch(&p, sorted, n, sizeof(*sorted), cmp_prefix) != NULL)
			return p.len;
	}
	return 0;
}

/* Says the problem, prefixed by who; returns what report says, or -1. */
static int
problem(struct errbuf *eb, const char *who, artifact_report_fn *report,
    void *arg)
{
	if (who != NULL)
		errbuf_prefix(eb, "%s", who);
	return report != NULL ? report(arg, eb) : -1;
}

int
artifact_keys_check(const char *const *keys, size_t n,
    const char *const *other, size_t nother, const char *who,
    artifact_report_fn *report, void *arg, struct errbuf *eb)
{
	size_t i, k;

	for (i = 0; i < n; i++) {
		if (i > 0 && strcmp(keys[i - 1], keys[i]) == 0)
			errbuf_set(eb, EC_INVALID, "duplicate path %s",
			    keys[i]);
		else if (nother > 0 && bsearch(&keys[i], other, nother,
		    sizeof(*other), cmp_keys) != NULL)
			errbuf_set(eb, EC_INVALID,
			    "duplicate path %s (also a shared file)", keys[i]);
		else if ((k = key_prefix_file(keys[i], keys,
		    n)) > 0 || (k = key_prefix_file(keys[i], other,
		    nother)) > 0)
			errbuf_set(eb, EC_INVALID,
			    "path %s: %.*s is a file too", keys[i], (int)k,
			    keys[i]);
		else
			continue;
		if (problem(eb, who, report, arg) == -1)
			return -1;
	}
	/* A file of this set where one of the others needs a directory. */
	for (i = 0; i < nother; i++) {
		if ((k = key_prefix_file(other[i], keys, n)) == 0)
			continue;
		errbuf_set(eb, EC_INVALID, "path %.*s: shared %s needs it as "
		    "a directory", (int)k, other[i], other[i]);
		if (problem(eb, who, report, arg) == -1)
			return -1;
	}
	return 0;
}

int
artifact_sets_check_unique(const struct artifact_set *const *sets,
    size_t nsets, struct errbuf *eb)
{
	const char **keys;
	size_t n;
	int rc;

	if (artifact_sorted_keys(sets, nsets, &keys, &n) == -1)
		return errbuf_set(eb, EC_INTERNAL, "out of memory");
	rc = artifact_keys_check(keys, n, NULL, 0, NULL, NULL, NULL, eb);
	free(keys);
	return rc;
}

static int
cmp_files(const void *a, const void *b)
{
	const struct artifact_file *x = a, *y = b;

	return strcmp(artifact_path_key(x->path), artifact_path_key(y->path));
}

void
artifact_set_sort(struct artifact_set *set)
{
	if (set->len > 1)
		qsort(set->files, set->len, sizeof(*set->files), cmp_files);
}

void
artifact_file_hash(struct artifact_file *f)
{
	struct sha256_ctx ctx;

	sha256_init(&ctx);
	sha256_update(&ctx, f->len, (const uint8_t *)f->content);
	sha256_digest(&ctx, sizeof(f->sha256), f->sha256);
	f->has_sha256 = 1;
}

int
artifact_file_digest_ok(const struct artifact_file *f)
{
	struct sha256_ctx ctx;
	unsigned char d[ARTIFACT_SHA256_LEN];

	if (!f->has_sha256)
		return 1;
	sha256_init(&ctx);
	sha256_update(&ctx, f->len, (const uint8_t *)f->content);
	sha256_digest(&ctx, sizeof(d), d);
	return memcmp(d, f->sha256, sizeof(d)) == 0;
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
artifact_sha256_parse(const char *s, size_t len,
    unsigned char out[ARTIFACT_SHA256_LEN])
{
	size_t i;
	int hi, lo;

	if (len != 2 * ARTIFACT_SHA256_LEN)
		return -1;
	for (i = 0; i < ARTIFACT_SHA256_LEN; i++) {
		if ((hi = hexval(s[2 * i])) < 0 ||
		    (lo = hexval(s[2 * i + 1])) < 0)
			return -1;
		out[i] = (unsigned char)(hi << 4 | lo);
	}
	return 0;
}

static int
decode_base64(struct artifact_file *f, const char *s, size_t len)
{
	struct base64_decode_ctx ctx;
	size_t out = BASE64_DECODE_LENGTH(len);

	if ((f->content = malloc(out + 1)) == NULL)
		return -1;
	base64_decode_init(&ctx);
	if (!base64_decode_update(&ctx, &out, (uint8_t *)f->content, len, s) ||
	    !base64_decode_final(&ctx))
		return 1;
	f->content[out] = '\0';
	f->len = out;
	return 0;
}

static int
parse_mode(const char *s, size_t len)
{
	size_t i;
	int mode = 0;

	if (len == 0 || len > 5)
		return -1;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '7')
			return -1;
		mode = mode * 8 + (s[i] - '0');
	}
	return mode > 07777 ? -1 : mode;
}

int
artifact_mode_check(int mode, const char *path, struct errbuf *eb)
{
	if (mode == ARTIFACT_MODE_NONE || (mode & ~0777) == 0)
		return 0;
	return errbuf_set(eb, EC_INVALID, "%s: mode %04o: set-id and sticky "
	    "bits are refused", path, (unsigned)mode);
}

/*
 * Owner and group names: a user name or a numeric id, nothing else.  An
 * id must fit uid_t and gid_t and not be (uid_t)-1, which chown reads as
 * "leave it": "4294967297" would otherwise install the file as uid 1.
 */
static int
name_ok(const char *s, size_t len)
{
	unsigned long long id = 0;
	size_t i, digits = 0;

	if (len == 0 || len > ARTIFACT_OWNER_MAX || s[0] == '-')
		return 0;
	for (i = 0; i < len; i++) {
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' &&
		    s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') ||
		    s[i] == '_' || s[i] == '-' || s[i] == '.' || s[i] == '$'))
			return 0;
		digits += s[i] >= '0' && s[i] <= '9';
	}
	if (digits != len)
		return 1;
	for (i = 0; i < len; i++)
		if ((id = id * 10 + (unsigned)(s[i] - '0')) >= ARTIFACT_ID_LIMIT)
			return 0;
	return 1;
}

int
artifact_owner_ok(const char *s, size_t len)
{
	return name_ok(s, len);
}

int
artifact_file_from_json(struct artifact_file *f, struct json_object *o,
    struct errbuf *eb)
{
	const char *s, *content;
	size_t len, clen;
	int r, base64 = 0;

	if (!json_object_is_type(o, json_type_object))
		return errbuf_set(eb, EC_INVALID, "not an object");
	if (jsonx_get_string(o, "path", &s, &len) != 0)
		return errbuf_set(eb, EC_INVALID,
		    "path: missing or not a string");
	if (artifact_path_check(s, len, eb) == -1)
		return -1;
	if ((f->path = strdup(s)) == NULL)
		return errbuf_set(eb, EC_INTERNAL, "out of memory");
	if (jsonx_get_string(o, "content", &content, &clen) != 0)
		return errbuf_set(eb, EC_INVALID,
		    "%s: content: missing or not a string", f->path);
	if ((r = jsonx_get_string(o, "encoding", &s, &len)) == -1)
		return errbuf_set(eb, EC_INVALID, "%s: encoding: not a string",
		    f->path);
	if (r == 0) {
		if (strcmp(s, "base64") == 0)
			base64 = 1;
		else if (strcmp(s, "utf-8") != 0 && strcmp(s, "utf8") != 0)
			return errbuf_set(eb, EC_INVALID,
			    "%s: encoding %s: not utf-8 or base64", f->path, s);
	}
	if (base64) {
		if ((r = decode_base64(f, content, clen)) == -1)
			return errbuf_set(eb, EC_INTERNAL, "out of memory");
		if (r == 1)
			return errbuf_set(eb, EC_INVALID, "%s: bad base64",
			    f->path);
	} else {
		if ((f->content = malloc(clen + 1)) == NULL)
			return errbuf_set(eb, EC_INTERNAL, "out of memory");
		memcpy(f->content, content, clen);
		f->content[clen] = '\0';
		f->len = clen;
	}
	if ((r = jsonx_get_string(o, "mode", &s, &len)) == -1 ||
	    (r == 0 && (f->mode = parse_mode(s, len)) == -1))
		return errbuf_set(eb, EC_INVALID,
		    "%s: mode: not an octal string like \"0644\"", f->path);
	if (artifact_mode_check(f->mode, f->path, eb) == -1)
		return -1;
	if ((r = jsonx_get_string(o, "owner", &s, &len)) == -1 ||
	    (r == 0 && !name_ok(s, len)))
		return errbuf_set(eb, EC_INVALID, "%s: bad owner", f->path);
	if (r == 0 && (f->owner = strdup(s)) == NULL)
		return errbuf_set(eb, EC_INTERNAL, "out of memory");
	if ((r = jsonx_get_string(o, "group", &s, &len)) == -1 ||
	    (r == 0 && !name_ok(s, len)))
		return errbuf_set(eb, EC_INVALID, "%s: bad group", f->path);
	if (r == 0 && (f->group = strdup(s)) == NULL)
		return errbuf_set(eb, EC_INTERNAL, "out of memory");
	if ((r = jsonx_get_string(o, "sha256", &s, &len)) == -1 ||
	    (r == 0 && artifact_sha256_parse(s, len, f->sha256) == -1))
		return errbuf_set(eb, EC_INVALID,
		    "%s: sha256: not 64 hex digits", f->path);
	f->has_sha256 = r == 0;
	return 0;
}

int
artifact_set_from_json(struct artifact_set *set, struct json_object *arr,
    struct errbuf *eb)
{
	struct artifact_file *f;
	size_t i, n;

	if (!json_object_is_type(arr, json_type_array))
		return errbuf_set(eb, EC_INVALID, "files: not an array");
	n = json_object_array_length(arr);
	for (i = 0; i < n; i++) {
		if ((f = artifact_set_push(set)) == NULL)
			return errbuf_set(eb, EC_INTERNAL, "out of memory");
		if (artifact_file_from_json(f,
		    json_object_array_get_idx(arr, i), eb) == -1) {
			artifact_file_release(f);
			set->len--;
			return errbuf_prefix(eb, "files[%zu]", i);
		}
	}
	return 0;
}

static int
add_base64(struct buf *b, const char *data, size_t len)
{
	char *p;
	int rc;

	if ((p = malloc(BASE64_ENCODE_RAW_LENGTH(len) + 1)) == NULL)
		return -1;
	base64_encode_raw(p, len, (const uint8_t *)data);
	rc = buf_add(b, p, BASE64_ENCODE_RAW_LENGTH(len));
	free(p);
	return rc;
}

int
artifact_file_render_owners(struct buf *b, const struct artifact_file *f)
{
	static const char hex[] = "0123456789abcdef";
	char digest[2 * ARTIFACT_SHA256_LEN];
	size_t i;

	if (f->owner != NULL && (buf_adds(b, ",\"owner\":") == -1 ||
	    buf_add_json_string(b, f->owner, strlen(f->owner)) == -1))
		return -1;
	if (f->group != NULL && (buf_adds(b, ",\"group\":") == -1 ||
	    buf_add_json_string(b, f->group, strlen(f->group)) == -1))
		return -1;
	if (!f->has_sha256)
		return 0;
	for (i = 0; i < ARTIFACT_SHA256_LEN; i++) {
		digest[2 * i] = hex[f->sha256[i] >> 4];
		digest[2 * i + 1] = hex[f->sha256[i] & 0xf];
	}
	if (buf_adds(b, ",\"sha256\":\"") == -1 ||
	    buf_add(b, digest, sizeof(digest)) == -1)
		return -1;
	return buf_addc(b, '"');
}

int
artifact_file_render(struct buf *b, const struct artifact_file *f)
{
	int text = jsonx_utf8_valid(f->content, f->len);

	if (buf_adds(b, "{\"path\":") == -1 ||
	    buf_add_json_string(b, f->path, strlen(f->path)) == -1 ||
	    buf_adds(b, ",\"content\":") == -1)
		return -1;
	if (text) {
		if (buf_add_json_string(b, f->content, f->len) == -1)
			return -1;
	} else if (buf_addc(b, '"') == -1 ||
	    add_base64(b, f->content, f->len) == -1 || buf_addc(b, '"') == -1)
		return -1;
	if (f->mode != ARTIFACT_MODE_NONE &&
	    buf_addf(b, ",\"mode\":\"%04o\"", (unsigned)f->mode) == -1)
		return -1;
	if (!text && buf_adds(b, ",\"encoding\":\"base64\"") == -1)
		return -1;
	if (artifact_file_render_owners(b, f) == -1)
		return -1;
	return buf_addc(b, '}');
}

int
artifact_set_render_items(struct buf *b, const struct artifact_set *set)
{
	size_t i;

	for (i = 0; i < set->len; i++) {
		if ((i > 0 && buf_addc(b, ',') == -1) ||
		    artifact_file_render(b, &set->files[i]) == -1)
			return -1;
	}
	return 0;
}

int
artifact_set_render(struct buf *b, const struct artifact_set *set)
{
	if (buf_addc(b, '[') == -1 || artifact_set_render_items(b, set) == -1)
		return -1;
	return buf_addc(b, ']');
}
