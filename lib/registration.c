/*
 * NodeRegistration parsing and validation: see registration.h.
 */
#include "registration.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "buf.h"
#include "errbuf.h"
#include "exitcode.h"
#include "jsonx.h"
#include "banned.h"

int
registration_identifier_check(const char *id, size_t len, struct errbuf *eb)
{
	size_t i;
	char c;

	if (len == 0)
		return errbuf_set(eb, EC_INVALID, "identifier: empty");
	if (len > REGISTRATION_ID_MAX)
		return errbuf_set(eb, EC_INVALID,
		    "identifier: over %d bytes", REGISTRATION_ID_MAX);
	if ((len == 1 && id[0] == '.') || (len == 2 && id[0] == '.' &&
	    id[1] == '.'))
		return errbuf_set(eb, EC_INVALID,
		    "identifier: '%.*s' not allowed", (int)len, id);
	for (i = 0; i < len; i++) {
		c = id[i];
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '.' || c == '_' ||
		    c == ':' || c == '@' || c == '-')
			continue;
		return errbuf_set(eb, EC_INVALID,
		    "identifier: byte 0x%02x at %zu not in [A-Za-z0-9._:@-]",
		    (unsigned char)c, i);
	}
	return 0;
}

int
registration_ip_check(const char *ip, struct errbuf *eb)
{
	unsigned char addr[sizeof(struct in6_addr)];

	if (strlen(ip) > REGISTRATION_IP_MAX ||
	    (inet_pton(AF_INET, ip, addr) != 1 &&
	    inet_pton(AF_INET6, ip, addr) != 1))
		return errbuf_set(eb, EC_INVALID,
		    "ip: '%.64s' is not an IPv4 or IPv6 address", ip);
	return 0;
}

int
registration_set(struct registration *r, const char *id, const char *ip,
    const char *metadata, struct errbuf *eb)
{
	size_t idlen = strlen(id);

	if (registration_identifier_check(id, idlen, eb) == -1 ||
	    registration_ip_check(ip, eb) == -1)
		return -1;
	memcpy(r->identifier, id, idlen + 1);
	memcpy(r->ip, ip, strlen(ip) + 1);
	free(r->metadata);
	r->metadata = NULL;
	r->metadata_len = 0;
	if (metadata != NULL && strcmp(metadata, "null") != 0) {
		if ((r->metadata = strdup(metadata)) == NULL)
			return errbuf_set(eb, EC_INTERNAL, "out of memory");
		r->metadata_len = strlen(metadata);
	}
	return 0;
}

int
registration_parse(struct registration *r, const char *text, size_t len,
    size_t max, struct errbuf *eb)
{
	struct json_object *doc = NULL, *v;	/* v: borrowed */
	const char *id, *ip;
	size_t idlen, iplen, off, vlen;
	int rc = -1;

	if (jsonx_parse(text, len, max, "registration", &doc, eb) == -1)
		return -1;
	if (!json_object_is_type(doc, json_type_object)) {
		errbuf_set(eb, EC_INVALID, "registration: not a JSON object");
		goto out;
	}
	if (jsonx_get_string(doc, "identifier", &id, &idlen) != 0) {
		errbuf_set(eb, EC_INVALID,
		    "registration: identifier: missing or not a string");
		goto out;
	}
	if (jsonx_get_string(doc, "ip", &ip, &iplen) != 0) {
		errbuf_set(eb, EC_INVALID,
		    "registration: ip: missing or not a string");
		goto out;
	}
	if (iplen != strlen(ip)) {
		errbuf_set(eb, EC_INVALID, "registration: ip: NUL byte");
		goto out;
	}
	if (registration_identifier_check(id, idlen, eb) == -1 ||
	    registration_ip_check(ip, eb) == -1) {
		errbuf_prefix(eb, "registration");
		goto out;
	}
	memcpy(r->identifier, id, idlen + 1);
	memcpy(r->ip, ip, iplen + 1);
	free(r->metadata);
	r->metadata = NULL;
	r->metadata_len = 0;
	if (json_object_object_get_ex(doc, "metadata", &v) && v != NULL) {
		if (jsonx_raw_member(text, len, "metadata", &off,
		    &vlen) == -1) {
			/* An escaped key: fall back to json-c's rendering. */
			text = json_object_to_json_string_ext(v,
			    JSON_C_TO_STRING_PLAIN |
			    JSON_C_TO_STRING_NOSLASHESCAPE);
			off = 0;
			vlen = strlen(text);
		}
		/*
		 * Handed on as it came, so it must be JSON every reader takes:
		 * one bad registration must not break the materializer.
		 */
		if (!jsonx_raw_plain(text + off, vlen)) {
			errbuf_set(eb, EC_INVALID, "registration: metadata: "
			    "NaN, Infinity, a raw control byte or a lone "
			    "surrogate");
			goto out;
		}
		if ((r->metadata = strndup(text + off, vlen)) == NULL) {
			errbuf_set(eb, EC_INTERNAL, "out of memory");
			goto out;
		}
		r->metadata_len = vlen;
	}
	rc = 0;
out:
	json_object_put(doc);
	return rc;
}

static int
is_json_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

int
registration_metadata_check(const char *text, size_t len, size_t max,
    char **raw, struct errbuf *eb)
{
	struct json_object *doc = NULL;
	struct buf b;
	size_t start = 0, end = len;
	int rc = -1;

	*raw = NULL;
	while (start < end && is_json_space(text[start]))
		start++;
	while (end > start && is_json_space(text[end - 1]))
		end--;
	/*
	 * In an array, a number at the end of the text is complete and
	 * "1,2" is two values, not one.
	 */
	buf_init(&b, max + 2);
	if (buf_addc(&b, '[') == -1 || buf_add(&b, text + start,
	    end - start) == -1 || buf_addc(&b, ']') == -1) {
		errbuf_set(eb, EC_INVALID, "over %zu bytes", max);
		goto out;
	}
	/* Its offsets would be one off: say only what is wrong. */
	if (jsonx_parse(b.data, b.len, b.max, "metadata", &doc, eb) == -1 ||
	    json_object_array_length(doc) != 1) {
		errbuf_set(eb, EC_INVALID, "not one JSON value");
		goto out;
	}
	if (!jsonx_raw_plain(text + start, end - start)) {
		errbuf_set(eb, EC_INVALID, "NaN, Infinity, a raw control "
		    "byte or a lone surrogate");
		goto out;
	}
	if (end - start == 4 && memcmp(text + start, "null", 4) == 0) {
		rc = 0;
		goto out;
	}
	if ((*raw = strndup(text + start, end - start)) == NULL) {
		errbuf_set(eb, EC_INTERNAL, "out of memory");
		goto out;
	}
	rc = 0;
out:
	json_object_put(doc);
	buf_release(&b);
	return rc;
}

int
registration_render(struct buf *b, const struct registration *r)
{
	if (buf_addc(b, '{') == -1 || registration_render_members(b, r) == -1)
		return -1;
	return buf_addc(b, '}');
}

int
registration_render_members(struct buf *b, const struct registration *r)
{
	if (buf_adds(b, "\"identifier\":") == -1 ||
	    buf_add_json_string(b, r->identifier,
	    strlen(r->identifier)) == -1 ||
	    buf_adds(b, ",\"ip\":") == -1 ||
	    buf_add_json_string(b, r->ip, strlen(r->ip)) == -1)
		return -1;
	if (r->metadata != NULL && (buf_adds(b, ",\"metadata\":") == -1 ||
	    buf_add(b, r->metadata, r->metadata_len) == -1))
		return -1;
	return 0;
}

int
registration_equal(const struct registration *a, const struct registration *b)
{
	if (strcmp(a->identifier, b->identifier) != 0 ||
	    strcmp(a->ip, b->ip) != 0 || a->metadata_len != b->metadata_len)
		return 0;
	return a->metadata_len == 0 ||
	    memcmp(a->metadata, b->metadata, a->metadata_len) == 0;
}

int
registration_copy(struct registration *dst, const struct registration *src)
{
	memcpy(dst->identifier, src->identifier, sizeof(dst->identifier));
	memcpy(dst->ip, src->ip, sizeof(dst->ip));
	dst->metadata = NULL;
	dst->metadata_len = 0;
	if (src->metadata != NULL) {
		if ((dst->metadata = malloc(src->metadata_len + 1)) == NULL)
			return -1;
		memcpy(dst->metadata, src->metadata, src->metadata_len + 1);
		dst->metadata_len = src->metadata_len;
	}
	return 0;
}

void
registration_release(struct registration *r)
{
	if (r == NULL)
		return;
	free(r->metadata);
	r->metadata = NULL;
	r->metadata_len = 0;
}
