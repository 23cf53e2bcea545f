/*
 * Unit tests for lib/registration: every registration vector parses and
 * renders back to the same JSON; the identifier charset, length and the
 * "." and ".." names; IPv4 and IPv6 addresses; missing and wrong-typed
 * fields; metadata kept byte for byte, and null metadata taken as none.
 */
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "errbuf.h"
#include "exitcode.h"
#include "registration.h"

#include "check.h"

#define MAX_DOC	65536

/* Parses text; returns what registration_parse returns, r left filled. */
static int
parse(struct registration *r, const char *text, struct errbuf *eb)
{
	registration_release(r);
	memset(r, 0, sizeof(*r));
	memset(eb, 0, sizeof(*eb));
	return registration_parse(r, text, strlen(text), MAX_DOC, eb);
}

/* A document with the given identifier and ip, refused with EC_INVALID. */
static void
check_refused(const char *text, const char *why)
{
	struct registration r;
	struct errbuf eb;

	memset(&r, 0, sizeof(r));
	if (parse(&r, text, &eb) == -1 && eb.code == EC_INVALID &&
	    strncmp(eb.msg, "registration", 12) == 0 &&
	    (why == NULL || strstr(eb.msg, why) != NULL))
		check_passed++;
	else {
		check_failed++;
		fprintf(stderr, "not refused as expected (%s): %s [%s]\n",
		    why != NULL ? why : "-", text, eb.msg);
	}
	registration_release(&r);
}

static void
test_vectors(void)
{
	struct registration r;
	struct errbuf eb;
	struct buf text, out;
	glob_t g;
	char pattern[CHECK_PATH_MAX];
	size_t i;

	(void)snprintf(pattern, sizeof(pattern), "%s/registration*.json",
	    check_vectors);
	CHECK(glob(pattern, 0, NULL, &g) == 0);
	CHECK(g.gl_pathc >= 2);
	memset(&r, 0, sizeof(r));
	for (i = 0; i < g.gl_pathc; i++) {
		const char *name = strrchr(g.gl_pathv[i], '/') + 1;

		check_read_vector(name, &text);
		if (parse(&r, text.data, &eb) == 0)
			check_passed++;
		else {
			check_failed++;
			fprintf(stderr, "vector %s: %s\n", name, eb.msg);
		}
		buf_init(&out, MAX_DOC);
		CHECK(registration_render(&out, &r) == 0);
		CHECK(check_json_eq(out.data, text.data));
		buf_release(&out);
		buf_release(&text);
	}
	globfree(&g);

	check_read_vector("registration.json", &text);
	CHECK(parse(&r, text.data, &eb) == 0);
	CHECK_STR(r.identifier, "node-1");
	CHECK_STR(r.ip, "10.0.0.1");
	CHECK_STR(r.metadata, "{\"network_port\":3000,\"api_port\":18080}");
	CHECK(r.metadata_len == strlen(r.metadata));
	buf_release(&text);

	check_read_vector("registration-minimal.json", &text);
	CHECK(parse(&r, text.data, &eb) == 0);
	CHECK_STR(r.identifier, "node-2");
	CHECK_STR(r.ip, "10.0.0.2");
	CHECK(r.metadata == NULL && r.metadata_len == 0);
	buf_release(&text);
	registration_release(&r);
}

static void
test_identifier(void)
{
	struct errbuf eb;
	char id[REGISTRATION_ID_MAX + 2];
	int c;

	CHECK(registration_identifier_check("node-1", 6, &eb) == 0);
	CHECK(registration_identifier_check("A.z_0:9@x-y", 11, &eb) == 0);
	CHECK(registration_identifier_check("...", 3, &eb) == 0);
	CHECK(registration_identifier_check(".a", 2, &eb) == 0);
	CHECK(registration_identifier_check("a..", 3, &eb) == 0);
	CHECK(registration_identifier_check("", 0, &eb) == -1 &&
	    eb.code == EC_INVALID);
	CHECK(registration_identifier_check(".", 1, &eb) == -1 &&
	    eb.code == EC_INVALID);
	CHECK(registration_identifier_check("..", 2, &eb) == -1 &&
	    eb.code == EC_INVALID);
	CHECK(registration_identifier_check("a/b", 3, &eb) == -1 &&
	    eb.code == EC_INVALID);
	CHECK(registration_identifier_check("/", 1, &eb) == -1);
	CHECK(registration_identifier_check("a b", 3, &eb) == -1);
	CHECK(registration_identifier_check("a\nb", 3, &eb) == -1);
	CHECK(registration_identifier_check("a\tb", 3, &eb) == -1);
	CHECK(registration_identifier_check("a\x01", 2, &eb) == -1);
	CHECK(registration_identifier_check("a\x7f", 2, &eb) == -1);
	CHECK(registration_identifier_check("a\0b", 3, &eb) == -1);
	CHECK(registration_identifier_check("caf\xc3\xa9", 5, &eb) == -1);
	CHECK(registration_identifier_check("a\\b", 3, &eb) == -1);
	CHECK(registration_identifier_check("a*", 2, &eb) == -1);

	/* Every byte outside [A-Za-z0-9._:@-] is refused. */
	for (c = 1; c < 256; c++) {
		int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || strchr("._:@-", c) != NULL;
		char s[3] = { 'x', (char)c, '\0' };

		if ((registration_identifier_check(s, 2, &eb) == 0) == ok)
			check_passed++;
		else {
			check_failed++;
			fprintf(stderr, "identifier byte 0x%02x: want %s\n",
			    c, ok ? "ok" : "refused");
		}
	}

	memset(id, 'a', sizeof(id));
	CHECK(registration_identifier_check(id, 255, &eb) == 0);
	CHECK(registration_identifier_check(id, 256, &eb) == -1 &&
	    eb.code == EC_INVALID && strstr(eb.msg, "255") != NULL);
}

static void
test_ip(void)
{
	static const char *const good[] = {
		"10.0.0.1", "0.0.0.0", "255.255.255.255", "127.0.0.1",
		"::1", "::", "fe80::1", "2001:db8::8a2e:370:7334",
		"::ffff:10.0.0.1", "2001:0db8:0000:0000:0000:0000:0000:0001",
	};
	static const char *const bad[] = {
		"", "1.2.3", "1.2.3.4.5", "256.1.1.1", "1.2.3.256",
		"x1.2.3.4", " 1.2.3.4", "1.2.3.4 ", "1.2.3.4x", "1.2.3.-1",
		"1..2.3", "a.b.c.d", "localhost", ":::1", "1:2:3:4:5:6:7:8:9",
		"fe80::1%eth0", "[::1]", "1.2.3.4/24", "0x1.2.3.4",
		"2001:0db8:0000:0000:0000:0000:0000:0001:0001:0001:0001",
	};
	struct errbuf eb;
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		if (registration_ip_check(good[i], &eb) == 0)
			check_passed++;
		else {
			check_failed++;
			fprintf(stderr, "ip %s refused: %s\n", good[i], eb.msg);
		}
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (registration_ip_check(bad[i], &eb) == -1 &&
		    eb.code == EC_INVALID)
			check_passed++;
		else {
			check_failed++;
			fprintf(stderr, "ip \"%s\" accepted\n", bad[i]);
		}
	}
}

static void
test_fields(void)
{
	char doc[512], id[300];

	check_refused("", "empty");
	check_refused("{", NULL);
	check_refused("not json", NULL);
	check_refused("[]", "not a JSON object");
	check_refused("\"node-1\"", "not a JSON object");
	check_refused("null", NULL);
	check_refused("{}", "identifier");
	check_refused("{\"ip\":\"10.0.0.1\"}", "identifier");
	check_refused("{\"identifier\":\"n\"}", "ip");
	check_refused("{\"identifier\":null,\"ip\":\"10.0.0.1\"}",
	    "identifier");
	check_refused("{\"identifier\":1,\"ip\":\"10.0.0.1\"}", "identifier");
	check_refused("{\"identifier\":[\"n\"],\"ip\":\"10.0.0.1\"}",
	    "identifier");
	check_refused("{\"identifier\":{},\"ip\":\"10.0.0.1\"}", "identifier");
	check_refused("{\"identifier\":true,\"ip\":\"10.0.0.1\"}",
	    "identifier");
	check_refused("{\"identifier\":\"n\",\"ip\":10}", "ip");
	check_refused("{\"identifier\":\"n\",\"ip\":[\"10.0.0.1\"]}", "ip");
	check_refused("{\"identifier\":\"\",\"ip\":\"10.0.0.1\"}",
	    "identifier");
	check_refused("{\"identifier\":\".\",\"ip\":\"10.0.0.1\"}",
	    "identifier");
	check_refused("{\"identifier\":\"..\",\"ip\":\"10.0.0.1\"}",
	    "identifier");
	check_refused("{\"identifier\":\"a/b\",\"ip\":\"10.0.0.1\"}",
	    "identifier");
	check_refused("{\"identifier\":\"../etc\",\"ip\":\"10.0.0.1\"}",
	    "identifier");
	check_refused("{\"identifier\":\"a\\nb\",\"ip\":\"10.0.0.1\"}",
	    "identifier");
	check_refused("{\"identifier\":\"a\\u0000b\",\"ip\":\"10.0.0.1\"}",
	    "identifier");
	check_refused("{\"identifier\":\"a\\u0001\",\"ip\":\"10.0.0.1\"}",
	    "identifier");
	check_refused("{\"identifier\":\"n\",\"ip\":\"1.2.3\"}", "ip");
	check_refused("{\"identifier\":\"n\",\"ip\":\"256.1.1.1\"}", "ip");
	check_refused("{\"identifier\":\"n\",\"ip\":\"x1.2.3.4\"}", "ip");
	check_refused("{\"identifier\":\"n\",\"ip\":\"1.2.3.4\\u0000x\"}",
	    "ip");
	check_refused("{\"identifier\":\"n\",\"ip\":\"\"}", "ip");
	check_refused("{\"identifier\":\"n\",\"ip\":\"1.2.3.4\"} x", NULL);
	check_refused("{\"identifier\":\"n\",\"ip\":\"1.2.3.4\",}", NULL);

	memset(id, 'a', 256);
	id[256] = '\0';
	(void)snprintf(doc, sizeof(doc),
	    "{\"identifier\":\"%s\",\"ip\":\"10.0.0.1\"}", id);
	check_refused(doc, "identifier");
}

static void
test_accepted(void)
{
	struct registration r;
	struct errbuf eb;
	char doc[512], id[300];

	memset(&r, 0, sizeof(r));
	memset(id, 'a', 255);
	id[255] = '\0';
	(void)snprintf(doc, sizeof(doc),
	    "{\"identifier\":\"%s\",\"ip\":\"10.0.0.1\"}", id);
	CHECK(parse(&r, doc, &eb) == 0);
	CHECK(strlen(r.identifier) == 255);

	CHECK(parse(&r, "{\"identifier\":\"n\",\"ip\":\"::1\"}", &eb) == 0);
	CHECK_STR(r.ip, "::1");
	CHECK(parse(&r, "{\"identifier\":\"n\",\"ip\":"
	    "\"2001:db8::8a2e:370:7334\"}", &eb) == 0);
	CHECK_STR(r.ip, "2001:db8::8a2e:370:7334");
	/* Unknown fields are ignored. */
	CHECK(parse(&r, "{\"extra\":{\"metadata\":5},\"identifier\":\"n\","
	    "\"ip\":\"10.0.0.1\",\"more\":[1,2]}", &eb) == 0);
	CHECK(r.metadata == NULL);
	/* Whitespace around the document is allowed. */
	CHECK(parse(&r, " \n{ \"identifier\" : \"n\" , \"ip\" : \"10.0.0.1\" }"
	    "\n", &eb) == 0);
	CHECK_STR(r.identifier, "n");
	registration_release(&r);
}

/* Parses doc and checks that metadata is want, byte for byte (or none). */
static void
check_metadata(const char *doc, const char *want)
{
	struct registration r, copy;
	struct errbuf eb;
	struct buf out;

	memset(&r, 0, sizeof(r));
	CHECK(parse(&r, doc, &eb) == 0);
	if (want == NULL)
		CHECK(r.metadata == NULL && r.metadata_len == 0);
	else {
		CHECK_STR(r.metadata, want);
		CHECK(r.metadata_len == strlen(want));
	}
	/* Rendering carries the same bytes on. */
	buf_init(&out, MAX_DOC);
	CHECK(registration_render(&out, &r) == 0);
	if (want == NULL)
		CHECK(strstr(out.data, "metadata") == NULL);
	else
		CHECK(strstr(out.data, want) != NULL);
	buf_release(&out);
	CHECK(registration_copy(&copy, &r) == 0);
	CHECK(registration_equal(&copy, &r));
	registration_release(&copy);
	registration_release(&r);
}

static void
test_metadata(void)
{
	struct registration a, b;
	struct errbuf eb;

	check_metadata("{\"identifier\":\"n\",\"ip\":\"10.0.0.1\","
	    "\"metadata\":{\"p\":1.50,\"q\":1e3,\"r\":-0.0,\"s\":1E+2}}",
	    "{\"p\":1.50,\"q\":1e3,\"r\":-0.0,\"s\":1E+2}");
	check_metadata("{\"identifier\":\"n\",\"ip\":\"10.0.0.1\","
	    "\"metadata\":{\"a\":1,\"b\":[true,false,null],\"c\":\"x\"}}",
	    "{\"a\":1,\"b\":[true,false,null],\"c\":\"x\"}");
	check_metadata("{\"identifier\":\"n\",\"ip\":\"10.0.0.1\","
	    "\"metadata\": { \"spaced\" : [ 1 , 2 ] } }",
	    "{ \"spaced\" : [ 1 , 2 ] }");
	check_metadata("{\"metadata\":\"a \\\"quoted\\\" }\",\"identifier\":"
	    "\"n\",\"ip\":\"10.0.0.1\"}", "\"a \\\"quoted\\\" }\"");
	check_metadata("{\"identifier\":\"n\",\"ip\":\"10.0.0.1\","
	    "\"metadata\":1.50}", "1.50");
	check_metadata("{\"identifier\":\"n\",\"ip\":\"10.0.0.1\","
	    "\"metadata\":1e3}", "1e3");
	check_metadata("{\"identifier\":\"n\",\"ip\":\"10.0.0.1\","
	    "\"metadata\":[]}", "[]");
	check_metadata("{\"identifier\":\"n\",\"ip\":\"10.0.0.1\","
	    "\"metadata\":{}}", "{}");
	check_metadata("{\"identifier\":\"n\",\"ip\":\"10.0.0.1\","
	    "\"metadata\":false}", "false");
	check_metadata("{\"identifier\":\"n\",\"ip\":\"10.0.0.1\","
	    "\"metadata\":\"\\u00e9\\n\"}", "\"\\u00e9\\n\"");
	check_metadata("{\"identifier\":\"n\",\"ip\":\"10.0.0.1\","
	    "\"metadata\":null}", NULL);
	check_metadata("{\"identifier\":\"n\",\"ip\":\"10.0.0.1\","
	    "\"metadata\" : null }", NULL);
	check_metadata("{\"identifier\":\"n\",\"ip\":\"10.0.0.1\"}", NULL);

	/* Equality sees the exact bytes. */
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	CHECK(parse(&a, "{\"identifier\":\"n\",\"ip\":\"10.0.0.1\","
	    "\"metadata\":{\"p\":1.5}}", &eb) == 0);
	CHECK(parse(&b, "{\"identifier\":\"n\",\"ip\":\"10.0.0.1\","
	    "\"metadata\":{\"p\":1.50}}", &eb) == 0);
	CHECK(!registration_equal(&a, &b));
	CHECK(parse(&b, "{\"identifier\":\"n\",\"ip\":\"10.0.0.1\","
	    "\"metadata\":{\"p\":1.5}}", &eb) == 0);
	CHECK(registration_equal(&a, &b));
	CHECK(parse(&b, "{\"identifier\":\"n\",\"ip\":\"10.0.0.2\","
	    "\"metadata\":{\"p\":1.5}}", &eb) == 0);
	CHECK(!registration_equal(&a, &b));
	registration_release(&a);
	registration_release(&b);
}

static void
test_set(void)
{
	struct registration r;
	struct errbuf eb;
	struct buf out;

	memset(&r, 0, sizeof(r));
	CHECK(registration_set(&r, "node-1", "10.0.0.1",
	    "{\"network_port\":3000}", &eb) == 0);
	buf_init(&out, MAX_DOC);
	CHECK(registration_render(&out, &r) == 0);
	CHECK_STR(out.data, "{\"identifier\":\"node-1\",\"ip\":\"10.0.0.1\","
	    "\"metadata\":{\"network_port\":3000}}");
	buf_release(&out);
	CHECK(registration_set(&r, "node-1", "10.0.0.1", "null", &eb) == 0);
	CHECK(r.metadata == NULL);
	CHECK(registration_set(&r, "a/b", "10.0.0.1", NULL, &eb) == -1 &&
	    eb.code == EC_INVALID);
	CHECK(registration_set(&r, "n", "1.2.3", NULL, &eb) == -1 &&
	    eb.code == EC_INVALID);
	registration_release(&r);
	registration_release(NULL);
}

/* One reader decides what a registration says: no member twice, no '. */
static void
test_strict(void)
{
	struct registration r;
	struct errbuf eb;

	check_refused("{\"identifier\":\"a\",\"ip\":\"10.0.0.1\","
	    "\"metadata\":1,\"metadata\":2}", "given twice");
	check_refused("{\"identifier\":\"a\",\"ip\":\"10.0.0.1\","
	    "\"metadata\":1,\"metad\\u0061ta\":2}", "\"metadata\" given twice");
	check_refused("{\"identifier\":\"a\",\"identifier\":\"b\","
	    "\"ip\":\"10.0.0.1\"}", "given twice");
	/* Deep inside the metadata too. */
	check_refused("{\"identifier\":\"a\",\"ip\":\"10.0.0.1\",\"metadata\":"
	    "[{\"x\":[1,{\"k\":1,\"\\u006b\":2}]}]}", "\"k\" given twice");
	check_refused("{'identifier':\"a\",\"ip\":\"10.0.0.1\"}", NULL);
	check_refused("{\"identifier\":\"a\",\"ip\":\"10.0.0.1\","
	    "\"metadata\":'x'}", NULL);
	/* Alike but not equal names, and the same name in two objects, pass. */
	memset(&r, 0, sizeof(r));
	CHECK(parse(&r, "{\"identifier\":\"a\",\"ip\":\"10.0.0.1\","
	    "\"metadata\":{\"k\":{\"k\":1},\"K\":2,\"k \":3,\"\":4,"
	    "\"\\ud83d\\ude00\":5,\"\\ud83d\\ude01\":6}}", &eb) == 0);
	registration_release(&r);
}

int
main(int argc, char **argv)
{
	check_init(argc, argv);
	test_vectors();
	test_identifier();
	test_ip();
	test_fields();
	test_accepted();
	test_metadata();
	test_set();
	test_strict();
	return check_done("test_registration");
}
