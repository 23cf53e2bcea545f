/*
 * Unit tests for lib/buf (the cap, failure leaving the buffer unchanged,
 * JSON string escaping, detach) and lib/jsonx (the UTF-8 check, strict
 * capped parsing, the raw text of a member).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "buf.h"
#include "errbuf.h"
#include "exitcode.h"
#include "jsonx.h"

#include "check.h"

/* Returns 1 when b holds exactly s (and its NUL). */
static int
holds(const struct buf *b, const char *s)
{
	size_t n = strlen(s);

	return b->len == n && (n == 0 ? b->data == NULL ||
	    b->data[0] == '\0' : memcmp(b->data, s, n + 1) == 0);
}

static void
test_cap(void)
{
	struct buf b;
	size_t cap;
	char *big;

	buf_init(&b, 8);
	CHECK(b.data == NULL && b.len == 0 && b.max == 8);
	CHECK(buf_adds(&b, "abcd") == 0);
	CHECK(holds(&b, "abcd"));
	CHECK(buf_addf(&b, "%d", 123) == 0);
	CHECK(holds(&b, "abcd123"));
	CHECK(buf_addc(&b, 'x') == 0);
	CHECK(holds(&b, "abcd123x"));
	CHECK(b.len == b.max);

	/* Past max: EMSGSIZE, and the buffer as it was. */
	cap = b.cap;
	errno = 0;
	CHECK(buf_addc(&b, 'y') == -1 && errno == EMSGSIZE);
	CHECK(holds(&b, "abcd123x") && b.cap == cap);
	errno = 0;
	CHECK(buf_add(&b, "yz", 2) == -1 && errno == EMSGSIZE);
	CHECK(holds(&b, "abcd123x"));
	errno = 0;
	CHECK(buf_addf(&b, "%s", "more") == -1 && errno == EMSGSIZE);
	CHECK(holds(&b, "abcd123x"));
	errno = 0;
	CHECK(buf_add_json_string(&b, "", 0) == -1 && errno == EMSGSIZE);
	CHECK(holds(&b, "abcd123x"));
	/* Adding nothing at the cap is fine. */
	CHECK(buf_add(&b, "", 0) == 0);
	CHECK(holds(&b, "abcd123x"));

	buf_reset(&b);
	CHECK(holds(&b, ""));
	CHECK(buf_adds(&b, "12345678") == 0);
	CHECK(buf_adds(&b, "9") == -1);
	buf_release(&b);
	CHECK(b.data == NULL && b.len == 0 && b.max == 8);

	/* A json string that only partly fits leaves nothing behind. */
	buf_init(&b, 10);
	CHECK(buf_adds(&b, "ab") == 0);
	errno = 0;
	CHECK(buf_add_json_string(&b, "\x01\x02", 2) == -1 &&
	    errno == EMSGSIZE);
	CHECK(holds(&b, "ab"));
	buf_release(&b);

	/* Sizes that would overflow are refused, not wrapped. */
	buf_init(&b, SIZE_MAX);
	CHECK(buf_adds(&b, "a") == 0);
	errno = 0;
	CHECK(buf_add(&b, "", SIZE_MAX) == -1 && errno == EMSGSIZE);
	CHECK(holds(&b, "a"));
	buf_release(&b);

	/* A zero cap takes nothing. */
	buf_init(&b, 0);
	CHECK(buf_addc(&b, 'a') == -1 && errno == EMSGSIZE);
	CHECK(b.len == 0);
	buf_release(&b);

	/* Growth past the first allocation keeps the bytes. */
	buf_init(&b, 100000);
	if ((big = malloc(100000)) == NULL)
		exit(2);
	memset(big, 'q', 100000);
	CHECK(buf_add(&b, big, 99999) == 0);
	CHECK(buf_addc(&b, 'z') == 0);
	CHECK(b.len == 100000 && b.data[99999] == 'z' &&
	    b.data[100000] == '\0' && memcmp(b.data, big, 99999) == 0);
	CHECK(buf_addc(&b, 'z') == -1);
	free(big);
	buf_release(&b);
}

static void
test_detach(void)
{
	struct buf b;
	size_t len = 99;
	char *p;

	buf_init(&b, 16);
	p = buf_detach(&b, &len);
	CHECK(p != NULL && p[0] == '\0' && len == 0);
	free(p);
	CHECK(buf_adds(&b, "hello") == 0);
	p = buf_detach(&b, &len);
	CHECK(p != NULL && strcmp(p, "hello") == 0 && len == 5);
	CHECK(b.data == NULL && b.len == 0 && b.cap == 0 && b.max == 16);
	free(p);
	/* The buffer is reusable after detach. */
	CHECK(buf_adds(&b, "again") == 0 && holds(&b, "again"));
	buf_release(&b);
	buf_release(NULL);
}

/* Escapes s[0..n) and checks the literal, and that json-c reads it back. */
static void
check_escape(const char *s, size_t n, const char *want)
{
	struct json_object *o;
	struct buf b;

	buf_init(&b, 1024);
	CHECK(buf_add_json_string(&b, s, n) == 0);
	CHECK_STR(b.data, want);
	o = json_tokener_parse(b.data);
	CHECK(o != NULL && json_object_is_type(o, json_type_string) &&
	    (size_t)json_object_get_string_len(o) == n &&
	    memcmp(json_object_get_string(o), s, n) == 0);
	json_object_put(o);
	buf_release(&b);
}

static void
test_json_string(void)
{
	check_escape("", 0, "\"\"");
	check_escape("plain", 5, "\"plain\"");
	check_escape("a\"b\\c", 5, "\"a\\\"b\\\\c\"");
	check_escape("l1\nl2\tx\r", 8, "\"l1\\nl2\\tx\\r\"");
	check_escape("\x01\x1f\x7f", 3, "\"\\u0001\\u001f\\u007f\"");
	check_escape("nul\0byte", 8, "\"nul\\u0000byte\"");
	check_escape("/path/é", 8, "\"/path/é\"");
	/* C1 controls, U+FFFE and U+FFFF escaped; past U+FFFF raw UTF-8. */
	check_escape("\xc2\x80\xc2\x85\xc2\x9f\xc2\xa0", 8,
	    "\"\\u0080\\u0085\\u009f\xc2\xa0\"");
	check_escape("\xef\xbf\xbe\xef\xbf\xbf\xef\xbf\xbd", 9,
	    "\"\\ufffe\\uffff\xef\xbf\xbd\"");
	check_escape("\xf0\x9f\x98\x80", 4, "\"\xf0\x9f\x98\x80\"");
}

static void
test_utf8(void)
{
	static const struct {
		const char	*s;
		size_t		 len;
		int		 ok;
	} cases[] = {
		{ "", 0, 1 },
		{ "ascii text\n", 11, 1 },
		{ "caf\xc3\xa9", 5, 1 },	/* é */
		{ "\xe2\x82\xac", 3, 1 },	/* € */
		{ "\xf0\x9f\x98\x80", 4, 1 },	/* U+1F600 */
		{ "\xf4\x8f\xbf\xbf", 4, 1 },	/* U+10FFFF */
		{ "\xed\x9f\xbf", 3, 1 },	/* U+D7FF */
		{ "a\0b", 3, 0 },	/* NUL */
		{ "\x80", 1, 0 },	/* stray continuation */
		{ "\xbf", 1, 0 },
		{ "\xc3", 1, 0 },	/* truncated */
		{ "\xe2\x82", 2, 0 },
		{ "\xf0\x9f\x98", 3, 0 },
		{ "caf\xc3", 4, 0 },
		{ "\xc3\x28", 2, 0 },	/* bad continuation */
		{ "\xc0\xaf", 2, 0 },	/* overlong "/" */
		{ "\xc1\xbf", 2, 0 },
		{ "\xe0\x80\xaf", 3, 0 },	/* overlong */
		{ "\xf0\x80\x80\xaf", 4, 0 },	/* overlong */
		{ "\xed\xa0\x80", 3, 0 },	/* surrogate D800 */
		{ "\xed\xbf\xbf", 3, 0 },	/* surrogate DFFF */
		{ "\xf4\x90\x80\x80", 4, 0 },	/* past U+10FFFF */
		{ "\xf8\x88\x80\x80\x80", 5, 0 },	/* 5-byte form */
		{ "\xfe", 1, 0 },
		{ "\xff", 1, 0 },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (jsonx_utf8_valid(cases[i].s, cases[i].len) == cases[i].ok)
			check_passed++;
		else {
			check_failed++;
			fprintf(stderr, "utf8 case %zu: want %d\n", i,
			    cases[i].ok);
		}
	}
	/* The length is honoured: a valid prefix of invalid bytes. */
	CHECK(jsonx_utf8_valid("ok\xff", 2) == 1);
}

static void
test_parse(void)
{
	struct json_object *o;
	struct errbuf eb;
	size_t off, len;
	const char *s;
	const char *doc = "{\"a\":1, \"m\" : {\"x\":[1,\"}\"]} ,\"z\":\"q\"}";

	CHECK(jsonx_parse("{\"a\":1}", 7, 64, "doc", &o, &eb) == 0);
	CHECK(o != NULL && json_object_is_type(o, json_type_object));
	json_object_put(o);
	CHECK(jsonx_parse("{\"a\":1}  \n", 10, 64, "doc", &o, &eb) == 0);
	json_object_put(o);
	CHECK(jsonx_parse("{\"a\":1}", 7, 6, "doc", &o, &eb) == -1 &&
	    eb.code == EC_INVALID && o == NULL);
	CHECK(strstr(eb.msg, "doc: over 6 bytes") != NULL);
	CHECK(jsonx_parse("", 0, 64, "doc", &o, &eb) == -1 &&
	    eb.code == EC_INVALID);
	CHECK(jsonx_parse("{\"a\":", 5, 64, "doc", &o, &eb) == -1 &&
	    eb.code == EC_INVALID);
	CHECK(jsonx_parse("{} x", 4, 64, "doc", &o, &eb) == -1 &&
	    eb.code == EC_INVALID);
	CHECK(jsonx_parse("{}{}", 4, 64, "doc", &o, &eb) == -1);
	CHECK(jsonx_parse("{\"a\":1,}", 8, 64, "doc", &o, &eb) == -1);
	CHECK(jsonx_parse("{\"a\":1}\0", 8, 64, "doc", &o, &eb) == -1);

	CHECK(jsonx_raw_member(doc, strlen(doc), "m", &off, &len) == 0);
	CHECK(len == 13 && strncmp(doc + off, "{\"x\":[1,\"}\"]}", len) == 0);
	CHECK(jsonx_raw_member(doc, strlen(doc), "a", &off, &len) == 0);
	CHECK(len == 1 && doc[off] == '1');
	CHECK(jsonx_raw_member(doc, strlen(doc), "z", &off, &len) == 0);
	CHECK(len == 3 && strncmp(doc + off, "\"q\"", 3) == 0);
	CHECK(jsonx_raw_member(doc, strlen(doc), "x", &off, &len) == -1);
	CHECK(jsonx_raw_member("[1]", 3, "a", &off, &len) == -1);

	CHECK(jsonx_parse(doc, strlen(doc), 1024, "doc", &o, &eb) == 0);
	CHECK(jsonx_get_string(o, "z", &s, &len) == 0 && len == 1 &&
	    strcmp(s, "q") == 0);
	CHECK(jsonx_get_string(o, "a", &s, &len) == -1);
	CHECK(jsonx_get_string(o, "none", &s, &len) == 1);
	json_object_put(o);
}

int
main(int argc, char **argv)
{
	check_init(argc, argv);
	test_cap();
	test_detach();
	test_json_string();
	test_utf8();
	test_parse();
	return check_done("test_buf");
}
