/*
 * Unit tests for lib/yamlx: scalars read as strings, plain nulls as null,
 * the refusals (tags, duplicate and non-string keys, aliases past the
 * caps, a second document, bad UTF-8, depth) each naming line and column,
 * and the writer: every tricky string read back exactly, no control byte
 * written raw, the same bytes for the same tree.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "buf.h"
#include "errbuf.h"
#include "exitcode.h"
#include "yamlx.h"

#include "check.h"

static struct yamlx_limits lim;

/* Parses s; returns the tree's JSON text (static) or NULL, eb filled. */
static const char *
parse(const char *s, struct errbuf *eb)
{
	static char out[4096];
	struct json_object *o = NULL;

	memset(eb, 0, sizeof(*eb));
	if (yamlx_parse(s, strlen(s), &lim, "doc", &o, eb) == -1)
		return NULL;
	(void)snprintf(out, sizeof(out), "%s",
	    json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
	return out;
}

/* Checks that s is refused with EC_INVALID and a message holding want. */
static int
refused(const char *s, const char *want)
{
	struct errbuf eb;

	if (parse(s, &eb) != NULL || eb.code != EC_INVALID)
		return 0;
	if (strstr(eb.msg, want) == NULL) {
		fprintf(stderr, "message \"%s\" lacks \"%s\"\n", eb.msg, want);
		return 0;
	}
	return 1;
}

static void
test_read(void)
{
	struct errbuf eb;

	CHECK_STR(parse("a: 1\nb: '0644'\nc: 0644\nd: true\ne: ~\nf:\n"
	    "g: \"x\\ty\"\n", &eb),
	    "{\"a\":\"1\",\"b\":\"0644\",\"c\":\"0644\",\"d\":\"true\","
	    "\"e\":null,\"f\":null,\"g\":\"x\\ty\"}");
	CHECK_STR(parse("- |\n  line 1\n  line 2\n- ''\n- \"null\"\n", &eb),
	    "[\"line 1\\nline 2\\n\",\"\",\"null\"]");
	CHECK_STR(parse("{\"nodes\":[{\"identifier\":\"n\",\"files\":[]}]}",
	    &eb), "{\"nodes\":[{\"identifier\":\"n\",\"files\":[]}]}");
	CHECK_STR(parse("", &eb), "null");
	CHECK_STR(parse("x: &a [1, 2]\ny: *a\n", &eb),
	    "{\"x\":[\"1\",\"2\"],\"y\":[\"1\",\"2\"]}");
	CHECK_STR(parse("\"1\": one\n'true': t\n", &eb),
	    "{\"1\":\"one\",\"true\":\"t\"}");
}

static void
test_refuse(void)
{
	CHECK(refused("a: 1\nb: 2\na: 3\n", "doc: YAML 3:1: duplicate key a"));
	CHECK(refused("a: !!str 1\n", "YAML 1:4: tag tag:yaml.org,2002:str"));
	CHECK(refused("a: !x {}\n", "tags are refused"));
	CHECK(refused("1: x\n", "YAML 1:1: key 1: a number"));
	CHECK(refused("a: 1\n~: x\n", "YAML 2:1: key ~: a null"));
	CHECK(refused("true: x\n", "a boolean"));
	CHECK(refused("[a]: x\n", "a collection as a key"));
	CHECK(refused("? [a]\n: x\n", "a collection as a key"));
	CHECK(refused("a: &k x\n*k : y\n", "YAML 2:1: an alias as a key"));
	CHECK(refused("a: *nope\n", "YAML 1:4: alias *nope: no anchor"));
	CHECK(refused("a: &r [*r]\n", "alias *r: no anchor"));
	CHECK(refused("a: 1\n---\nb: 2\n", "YAML 2:1: a second document"));
	CHECK(refused("a: \"\xff\"\n", "YAML 1:5: invalid leading UTF-8"));
	CHECK(refused("a: b\nc: \xc3\x28\n", "YAML 2:5: invalid trailing"));
	CHECK(refused("a: \x01\n", "control characters are not allowed"));
	CHECK(refused("a: b: c\n", "YAML 1:5: mapping values are not allowed"));
	CHECK(refused("a: [\n", "doc: YAML "));
}

static void
test_caps(void)
{
	struct buf b;
	struct errbuf eb;
	struct json_object *o = NULL;
	struct yamlx_limits small;
	const char *bomb2 = "a: &x aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n"
	    "b: [*x,*x,*x,*x,*x,*x,*x,*x,*x,*x]\n";
	int i;

	/* Billion laughs: nine levels of ten aliases each. */
	buf_init(&b, 1 << 20);
	CHECK(buf_adds(&b, "a0: &a0 [lol]\n") == 0);
	for (i = 1; i < 10; i++) {
		CHECK(buf_addf(&b, "a%d: &a%d [*a%d,*a%d,*a%d,*a%d,*a%d,*a%d,"
		    "*a%d,*a%d,*a%d,*a%d]\n", i, i, i - 1, i - 1, i - 1, i - 1,
		    i - 1, i - 1, i - 1, i - 1, i - 1, i - 1) == 0);
	}
	memset(&eb, 0, sizeof(*&eb));
	CHECK(yamlx_parse(b.data, b.len, &lim, "doc", &o, &eb) == -1);
	CHECK(eb.code == EC_INVALID);
	CHECK(strstr(eb.msg, "nodes with aliases expanded") != NULL);
	CHECK(o == NULL);
	buf_release(&b);

	/* Bytes: one big scalar aliased past max_bytes. */
	yamlx_limits_init(&small, 1000, 1000);
	CHECK(yamlx_parse(bomb2, strlen(bomb2), &small, "doc", &o, &eb) == -1);
	CHECK(strstr(eb.msg, "bytes of scalars with aliases expanded") != NULL);
	CHECK(yamlx_parse("a: b\n", 5, &(struct yamlx_limits){ 4, 10, 10 },
	    "doc", &o, &eb) == -1 && strstr(eb.msg, "over 4 bytes") != NULL);

	/* Depth. */
	buf_init(&b, 1 << 20);
	for (i = 0; i < YAMLX_MAX_DEPTH + 1; i++)
		CHECK(buf_addc(&b, '[') == 0);
	for (i = 0; i < YAMLX_MAX_DEPTH + 1; i++)
		CHECK(buf_addc(&b, ']') == 0);
	CHECK(yamlx_parse(b.data, b.len, &lim, "doc", &o, &eb) == -1);
	CHECK(strstr(eb.msg, "levels deep") != NULL);
	buf_release(&b);
}

/* Emits a one-member tree holding s, reads it back, compares. */
static int
round_trip(const char *s, size_t len)
{
	struct json_object *o, *back = NULL, *v;
	struct errbuf eb;
	struct buf out, again;
	size_t i;
	int ok = 0;

	o = json_object_new_object();
	json_object_object_add(o, "content", json_object_new_string_len(s,
	    (int)len));
	json_object_object_add(o, "files", json_object_new_array());
	buf_init(&out, 1 << 20);
	buf_init(&again, 1 << 20);
	memset(&eb, 0, sizeof(*&eb));
	if (yamlx_emit(&out, o, &eb) == -1 || yamlx_emit(&again, o, &eb) == -1)
		goto out;
	if (out.len != again.len || memcmp(out.data, again.data, out.len))
		goto out;
	for (i = 0; i < out.len; i++) {
		unsigned char c = (unsigned char)out.data[i];

		if ((c < 0x20 && c != '\n') || c == 0x7f)
			goto out;
		if (c == 0xc2 && i + 1 < out.len &&
		    (unsigned char)out.data[i + 1] < 0xa0)
			goto out;
		if (c == 0xed)		/* a surrogate, encoded */
			goto out;
	}
	if (yamlx_parse(out.data, out.len, &lim, "back", &back, &eb) == -1) {
		fprintf(stderr, "%s\n%s\n", eb.msg, out.data);
		goto out;
	}
	ok = json_object_object_get_ex(back, "content", &v) &&
	    json_object_is_type(v, json_type_string) &&
	    (size_t)json_object_get_string_len(v) == len &&
	    memcmp(json_object_get_string(v), s, len) == 0;
	if (!ok)
		fprintf(stderr, "round trip of \"%.*s\" gave:\n%s", (int)len, s,
		    out.data);
out:
	json_object_put(o);
	json_object_put(back);
	buf_release(&out);
	buf_release(&again);
	return ok;
}

#define RT(lit)	round_trip(lit, sizeof(lit) - 1)

static void
test_emit(void)
{
	struct json_object *o;
	struct errbuf eb;
	struct buf out;

	CHECK(RT("plain"));
	CHECK(RT(""));
	CHECK(RT("0644"));
	CHECK(RT("yes"));
	CHECK(RT("null"));
	CHECK(RT("~"));
	CHECK(RT("1e3"));
	CHECK(RT("a: 1\n"));
	CHECK(RT("a: 1\nb: 2"));
	CHECK(RT("a\n\n\n"));
	CHECK(RT("\n"));
	CHECK(RT("  indented\nnext\n"));
	CHECK(RT("trailing space \nx\n"));
	CHECK(RT("crlf\r\nline\r\n"));
	CHECK(RT("tab\there\n"));
	CHECK(RT("bell\x07 esc\x1b del\x7f nul"));
	CHECK(round_trip("a\0b", 3));
	CHECK(RT("c1 \xc2\x80 nel \xc2\x85 \xc2\x9f end"));
	CHECK(RT("astral \xf0\x9f\x98\x80 bmp \xe2\x82\xac"));
	CHECK(RT("ls \xe2\x80\xa8 ps \xe2\x80\xa9\n"));
	CHECK(RT("bom \xef\xbb\xbf nonchar \xef\xbf\xbe \xef\xbf\xbf"));
	CHECK(RT("# not a comment"));
	CHECK(RT("- not a list"));
	CHECK(RT("key: value"));
	CHECK(RT("'quoted'"));
	CHECK(RT("\"dq\""));
	CHECK(RT("--- \n..."));
	CHECK(RT("%TAG"));
	CHECK(RT("*alias &anchor !tag"));

	o = json_object_new_object();
	json_object_object_add(o, "path", json_object_new_string("/a.yaml"));
	json_object_object_add(o, "mode", json_object_new_string("0644"));
	json_object_object_add(o, "content", json_object_new_string("x: 1\n"));
	json_object_object_add(o, "files", json_object_new_array());
	buf_init(&out, 1 << 20);
	CHECK(yamlx_emit(&out, o, &eb) == 0);
	CHECK_STR(out.data, "path: /a.yaml\nmode: \"0644\"\ncontent: |\n"
	    "  x: 1\nfiles: []\n");
	buf_release(&out);
	json_object_put(o);
}

int
main(int argc, char **argv)
{
	check_init(argc, argv);
	yamlx_limits_init(&lim, 1 << 20, 10000);
	test_read();
	test_refuse();
	test_caps();
	test_emit();
	return check_done("test_yamlx");
}
