/*
 * JSON helpers around json-c: see jsonx.h.
 */
#include "jsonx.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "buf.h"
#include "errbuf.h"
#include "exitcode.h"
#include "banned.h"

/* The longest number or literal jsonx_parse_inner takes on its own. */
#define JSONX_SCALAR_MAX	64

int
jsonx_parse(const char *text, size_t len, size_t max, const char *what,
    struct json_object **out, struct errbuf *eb)
{
	struct json_tokener *tok = NULL;
	struct json_object *obj = NULL;
	enum json_tokener_error jerr;
	size_t used;
	int rc = -1;

	*out = NULL;
	if (len > max || len > INT_MAX)
		return errbuf_set(eb, EC_INVALID, "%s: over %zu bytes",
		    what, max);
	if (len == 0)
		return errbuf_set(eb, EC_INVALID, "%s: empty document", what);
	if (memchr(text, '\0', len) != NULL)
		return errbuf_set(eb, EC_INVALID, "%s: NUL byte in JSON", what);
	if ((tok = json_tokener_new_ex(JSONX_MAX_DEPTH)) == NULL)
		return errbuf_set(eb, EC_INTERNAL, "out of memory");
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT |
	    JSON_TOKENER_VALIDATE_UTF8);
	obj = json_tokener_parse_ex(tok, text, (int)len);
	jerr = json_tokener_get_error(tok);
	if (jerr == json_tokener_continue) {
		errbuf_set(eb, EC_INVALID, "%s: truncated JSON", what);
		goto out;
	}
	if (jerr != json_tokener_success) {
		errbuf_set(eb, EC_INVALID, "%s: bad JSON at byte %zu: %s", what,
		    json_tokener_get_parse_end(tok),
		    json_tokener_error_desc(jerr));
		goto out;
	}
	for (used = json_tokener_get_parse_end(tok); used < len; used++) {
		if (strchr(" \t\r\n", text[used]) == NULL) {
			errbuf_set(eb, EC_INVALID,
			    "%s: trailing data at byte %zu", what, used);
			goto out;
		}
	}
	if (jsonx_check_members(text, len, what, eb) == -1)
		goto out;
	*out = obj;
	obj = NULL;
	rc = 0;
out:
	json_object_put(obj);
	json_tokener_free(tok);
	return rc;
}

int
jsonx_get_string(struct json_object *obj, const char *key, const char **s,
    size_t *len)
{
	struct json_object *v;		/* borrowed */

	if (!json_object_object_get_ex(obj, key, &v) || v == NULL)
		return 1;
	if (!json_object_is_type(v, json_type_string))
		return -1;
	*s = json_object_get_string(v);
	*len = (size_t)json_object_get_string_len(v);
	return 0;
}

static size_t
skip_ws(const char *t, size_t i, size_t len)
{
	while (i < len && (t[i] == ' ' || t[i] == '\t' || t[i] == '\n' ||
	    t[i] == '\r'))
		i++;
	return i;
}

/* Returns the index just past the string starting at t[i] == '"'. */
static size_t
skip_string(const char *t, size_t i, size_t len)
{
	for (i++; i < len; i++) {
		if (t[i] == '\\')
			i++;
		else if (t[i] == '"')
			return i + 1;
	}
	return len;
}

/* Returns the index just past the value starting at t[i]. */
static size_t
skip_value(const char *t, size_t i, size_t len)
{
	size_t depth = 0;

	if (i >= len)
		return len;
	if (t[i] == '"')
		return skip_string(t, i, len);
	if (t[i] != '{' && t[i] != '[') {
		while (i < len && strchr(",}] \t\r\n", t[i]) == NULL)
			i++;
		return i;
	}
	for (; i < len; i++) {
		if (t[i] == '"') {
			i = skip_string(t, i, len) - 1;
		} else if (t[i] == '{' || t[i] == '[') {
			depth++;
		} else if (t[i] == '}' || t[i] == ']') {
			if (--depth == 0)
				return i + 1;
		}
	}
	return len;
}

int
jsonx_raw_member(const char *t, size_t len, const char *key, size_t *off,
    size_t *vlen)
{
	size_t klen = strlen(key), i, kstart, kend, vstart, vend;
	int found = 0;

	i = skip_ws(t, 0, len);
	if (i >= len || t[i] != '{')
		return -1;
	i = skip_ws(t, i + 1, len);
	while (i < len && t[i] == '"') {
		kstart = i + 1;
		kend = skip_string(t, i, len) - 1;
		/*
		 * An escaped key may spell key ("metad\u0061ta") and win in
		 * json-c: the bytes cannot be told apart here, so give up.
		 */
		if (kend > kstart &&
		    memchr(t + kstart, '\\', kend - kstart) != NULL)
			return -1;
		i = skip_ws(t, kend + 1, len);
		if (i >= len || t[i] != ':')
			return -1;
		vstart = skip_ws(t, i + 1, len);
		vend = skip_value(t, vstart, len);
		if (kend - kstart == klen &&
		    memcmp(t + kstart, key, klen) == 0) {
			*off = vstart;
			*vlen = vend - vstart;
			found = 1;
		}
		i = skip_ws(t, vend, len);
		if (i < len && t[i] == ',')
			i = skip_ws(t, i + 1, len);
	}
	return found ? 0 : -1;
}

int
jsonx_utf8_valid(const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0, n, k;
	unsigned int cp, min;

	while (i < len) {
		if (s[i] == 0)
			return 0;
		if (s[i] < 0x80) {
			i++;
			continue;
		}
		if ((s[i] & 0xe0) == 0xc0) {
			n = 1; cp = s[i] & 0x1f; min = 0x80;
		} else if ((s[i] & 0xf0) == 0xe0) {
			n = 2; cp = s[i] & 0x0f; min = 0x800;
		} else if ((s[i] & 0xf8) == 0xf0) {
			n = 3; cp = s[i] & 0x07; min = 0x10000;
		} else
			return 0;
		if (len - i <= n)
			return 0;
		for (k = 1; k <= n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return 0;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		i += n + 1;
	}
	return 1;
}

static long
hex4(const char *s)
{
	long v = 0;
	int i;

	for (i = 0; i < 4; i++) {
		v <<= 4;
		if (s[i] >= '0' && s[i] <= '9')
			v |= s[i] - '0';
		else if (s[i] >= 'a' && s[i] <= 'f')
			v |= s[i] - 'a' + 10;
		else if (s[i] >= 'A' && s[i] <= 'F')
			v |= s[i] - 'A' + 10;
		else
			return -1;
	}
	return v;
}

/* Skips the string at s[i] == '"'; returns the index past it, or 0. */
static size_t
plain_string(const char *s, size_t i, size_t len)
{
	long cp, lo;

	for (i++; i < len && s[i] != '"'; i++) {
		if ((unsigned char)s[i] < 0x20)
			return 0;
		if (s[i] != '\\')
			continue;
		if (++i >= len)
			return 0;
		if (s[i] != 'u') {
			if (s[i] == '\0' || strchr("\"\\/bfnrt", s[i]) == NULL)
				return 0;
			continue;
		}
		if (len - i <= 4 || (cp = hex4(s + i + 1)) < 0)
			return 0;
		i += 4;
		if (cp >= 0xdc00 && cp <= 0xdfff)
			return 0;	/* a low surrogate alone */
		if (cp >= 0xd800 && cp <= 0xdbff) {
			if (len - i <= 6 || s[i + 1] != '\\' ||
			    s[i + 2] != 'u' ||
			    (lo = hex4(s + i + 3)) < 0xdc00 || lo > 0xdfff)
				return 0;
			i += 6;
		}
	}
	return i < len ? i + 1 : 0;
}

int
jsonx_raw_plain(const char *s, size_t len)
{
	size_t i = 0;
	char c;

	while (i < len) {
		c = s[i];
		if (c == '"') {
			if ((i = plain_string(s, i, len)) == 0)
				return 0;
		} else if (c != '\0' &&
		    (strchr(" \t\r\n{}[]:,+-.eE", c) != NULL ||
		    (c >= '0' && c <= '9'))) {
			i++;
		} else if (len - i >= 4 && (memcmp(s + i, "true", 4) == 0 ||
		    memcmp(s + i, "null", 4) == 0)) {
			i += 4;
		} else if (len - i >= 5 && memcmp(s + i, "false", 5) == 0) {
			i += 5;
		} else
			return 0;
	}
	return 1;
}

/*
 * What json-c's strict mode still lets through, and other readers take
 * another way: single-quoted strings, and an object naming one member
 * twice ("metadata" and "metad\u0061ta": json-c keeps the last, a
 * materializer's reader may keep the first).  Runs on text json-c has
 * accepted, so only these two are looked for.
 */

struct member_key {
	size_t	off;	/* in the object's decoded keys */
	size_t	len;
};

/* Appends code point cp to out as UTF-8 (a lone surrogate as 3 bytes). */
static int
add_utf8(struct buf *out, long cp)
{
	char u[4];
	size_t n;

	if (cp < 0x80) {
		u[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		u[0] = (char)(0xc0 | (cp >> 6));
		u[1] = (char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		u[0] = (char)(0xe0 | (cp >> 12));
		u[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		u[2] = (char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		u[0] = (char)(0xf0 | (cp >> 18));
		u[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
		u[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
		u[3] = (char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	return buf_add(out, u, n);
}

/* Decodes the string at t[i] == '"' onto out; returns the index past it. */
static size_t
decode_string(const char *t, size_t i, size_t len, struct buf *out,
    int *nomem)
{
	static const char esc[] = "\"\"\\\\//b\bf\fn\nr\rt\t";
	const char *e;
	long cp, lo;

	for (i++; i < len && t[i] != '"'; i++) {
		if (t[i] != '\\') {
			*nomem |= buf_addc(out, t[i]) == -1;
			continue;
		}
		if (++i >= len)
			break;
		if (t[i] == 'u' && i + 4 < len && (cp = hex4(t + i + 1)) >= 0) {
			i += 4;
			if (cp >= 0xd800 && cp < 0xdc00 && i + 6 < len &&
			    t[i + 1] == '\\' && t[i + 2] == 'u' &&
			    (lo = hex4(t + i + 3)) >= 0xdc00 && lo < 0xe000) {
				cp = 0x10000 + ((cp - 0xd800) << 10) +
				    (lo - 0xdc00);
				i += 6;
			}
			*nomem |= add_utf8(out, cp) == -1;
		} else if ((e = strchr(esc, t[i])) != NULL &&
		    (e - esc) % 2 == 0)
			*nomem |= buf_addc(out, e[1]) == -1;
	}
	return i < len ? i + 1 : len;
}

static int
key_cmp(const void *a, const void *b, void *arg)
{
	const struct member_key *x = a, *y = b;
	const char *base = arg;
	int c;

	/* Only empty names: base is NULL, and memcmp may not take it. */
	c = x->len == 0 || y->len == 0 ? 0 : memcmp(base + x->off,
	    base + y->off, x->len < y->len ? x->len : y->len);
	return c != 0 ? c : (x->len > y->len) - (x->len < y->len);
}

static int	strict_value(const char *, size_t *, size_t, const char *,
		    struct errbuf *);

/* Checks the object at t[*ip] == '{' and what it holds. */
static int
strict_object(const char *t, size_t *ip, size_t len, const char *what,
    struct errbuf *eb)
{
	struct member_key *keys = NULL, *grown;
	size_t i = *ip + 1, n = 0, cap = 0, k;
	struct buf names;
	int nomem = 0, rc = -1;

	buf_init(&names, len + 1);
	for (;;) {
		i = skip_ws(t, i, len);
		if (i >= len || t[i] == '}')
			break;
		if (t[i] == ',') {
			i++;
			continue;
		}
		if (t[i] != '"') {
			errbuf_set(eb, EC_INVALID, "%s: a member name not in "
			    "double quotes at byte %zu", what, i);
			goto out;
		}
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			if ((grown = reallocarray(keys, cap,
			    sizeof(*keys))) == NULL)
				goto nomem;
			keys = grown;
		}
		keys[n].off = names.len;
		i = decode_string(t, i, len, &names, &nomem);
		keys[n].len = names.len - keys[n].off;
		n++;
		if (nomem)
			goto nomem;
		i = skip_ws(t, i, len);
		if (i < len && t[i] == ':')
			i++;
		if (strict_value(t, &i, len, what, eb) == -1)
			goto out;
	}
	if (n > 1) {
		qsort_r(keys, n, sizeof(*keys), key_cmp, names.data);
		for (k = 1; k < n; k++)
			if (key_cmp(&keys[k - 1], &keys[k], names.data) == 0) {
				errbuf_set(eb, EC_INVALID, "%s: member \"%.*s\" "
				    "given twice", what, (int)(keys[k].len < 64 ?
				    keys[k].len : 64), names.data != NULL ?
				    names.data + keys[k].off : "");
				goto out;
			}
	}
	*ip = i < len ? i + 1 : len;
	rc = 0;
	goto out;
nomem:
	errbuf_set(eb, EC_INTERNAL, "out of memory");
out:
	free(keys);
	buf_release(&names);
	return rc;
}

static int
strict_value(const char *t, size_t *ip, size_t len, const char *what,
    struct errbuf *eb)
{
	size_t i = skip_ws(t, *ip, len);

	if (i < len && t[i] == '\'')
		return errbuf_set(eb, EC_INVALID, "%s: a single-quoted string "
		    "at byte %zu", what, i);
	if (i < len && t[i] == '{') {
		*ip = i;
		return strict_object(t, ip, len, what, eb);
	}
	if (i < len && t[i] == '[') {
		for (i++;;) {
			i = skip_ws(t, i, len);
			if (i >= len || t[i] == ']')
				break;
			if (t[i] == ',') {
				i++;
				continue;
			}
			if (strict_value(t, &i, len, what, eb) == -1)
				return -1;
		}
		*ip = i < len ? i + 1 : len;
		return 0;
	}
	*ip = skip_value(t, i, len);
	return 0;
}

int
jsonx_check_members(const char *text, size_t len, const char *what,
    struct errbuf *eb)
{
	size_t i = 0;

	return strict_value(text, &i, len, what, eb);
}

int
jsonx_walk_begin(struct jsonx_walk *w, const char *text, size_t len,
    size_t off)
{
	if (off >= len || (text[off] != '{' && text[off] != '['))
		return -1;
	w->text = text;
	w->len = len;
	w->pos = off + 1;
	w->close = text[off] == '{' ? '}' : ']';
	w->first = 1;
	return 0;
}

int
jsonx_walk_next(struct jsonx_walk *w, const char **key, size_t *klen,
    size_t *voff, size_t *vlen)
{
	const char *t = w->text;
	size_t i = skip_ws(t, w->pos, w->len), k;

	if (i >= w->len)
		return -1;
	if (t[i] == w->close) {
		w->pos = i + 1;
		return 0;
	}
	if (!w->first) {
		if (t[i] != ',')
			return -1;
		i = skip_ws(t, i + 1, w->len);
	}
	*key = NULL;
	*klen = 0;
	if (w->close == '}') {
		if (i >= w->len || t[i] != '"')
			return -1;
		for (k = i + 1; k < w->len && t[k] != '"'; k++)
			if (t[k] < 0x20 || t[k] > 0x7e || t[k] == '\\')
				return -1;
		if (k >= w->len)
			return -1;
		*key = t + i + 1;
		*klen = k - i - 1;
		i = skip_ws(t, k + 1, w->len);
		if (i >= w->len || t[i] != ':')
			return -1;
		i = skip_ws(t, i + 1, w->len);
	}
	/* No value: a comma past the last one, or nothing. */
	if (i >= w->len || memchr(",:}]", t[i], 4) != NULL)
		return -1;
	*voff = i;
	*vlen = skip_value(t, i, w->len) - i;
	w->pos = i + *vlen;
	w->first = 0;
	return *vlen > 0 ? 1 : -1;
}

int
jsonx_parse_inner(const char *text, size_t len, unsigned level,
    struct json_object **out)
{
	char scalar[JSONX_SCALAR_MAX + 1];
	struct json_tokener *tok;
	struct json_object *obj;
	struct errbuf eb;
	const char *p = text;
	size_t plen = len;
	int rc = -1;

	*out = NULL;
	if (len == 0 || len >= INT_MAX || level >= JSONX_MAX_DEPTH ||
	    memchr(text, '\0', len) != NULL)
		return -1;
	if (text[0] != '{' && text[0] != '[' && text[0] != '"') {
		/*
		 * A number or a literal ends where something follows it, as
		 * in the document: here the NUL, counted in the length.
		 */
		if (len > JSONX_SCALAR_MAX)
			return -1;
		memcpy(scalar, text, len);
		scalar[len] = '\0';
		p = scalar;
		plen = len + 1;
	}
	/* json-c counts the levels a value is nested in, its own included. */
	if ((tok = json_tokener_new_ex(JSONX_MAX_DEPTH - (int)level)) == NULL)
		return -1;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT |
	    JSON_TOKENER_VALIDATE_UTF8);
	obj = json_tokener_parse_ex(tok, p, (int)plen);
	if (json_tokener_get_error(tok) == json_tokener_success &&
	    json_tokener_get_parse_end(tok) == len &&
	    jsonx_check_members(text, len, "", &eb) == 0) {
		*out = obj;
		obj = NULL;
		rc = 0;
	}
	json_object_put(obj);
	json_tokener_free(tok);
	return rc;
}
