/*
 * JSON helpers around json-c: see jsonx.h.
 */
#include "jsonx.h"

#include <limits.h>
#include <string.h>

#include <json-c/json.h>

#include "errbuf.h"
#include "exitcode.h"
#include "banned.h"

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
