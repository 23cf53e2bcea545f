/*
 * Unit tests for lib/artifacts (the one path check, unique paths, the JSON
 * form of a file with its extensions), lib/protocol (the payload and error
 * documents against the wire vectors) and lib/bundle (the bundle vector
 * parses, and renders back to the same JSON).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "artifacts.h"
#include "buf.h"
#include "bundle.h"
#include "errbuf.h"
#include "exitcode.h"
#include "protocol.h"

#include "check.h"

#define MAX_DOC	(1UL << 20)

/* Checks path[0..len) against want (0 or -1), naming it on failure. */
static void
check_path(const char *path, size_t len, int want)
{
	struct errbuf eb;
	int got;
	char *copy;

	/* An exact-size heap copy: any read past len trips the sanitizer. */
	if ((copy = malloc(len > 0 ? len : 1)) == NULL)
		exit(2);
	memcpy(copy, path, len);
	memset(&eb, 0, sizeof(eb));
	got = artifact_path_check(copy, len, &eb);
	if (got == want && (want == 0 || eb.code == EC_INVALID))
		check_passed++;
	else {
		check_failed++;
		fprintf(stderr, "path \"%.*s\" (%zu bytes): got %d, want %d\n",
		    (int)(len > 64 ? 64 : len), path, len, got, want);
	}
	free(copy);
}

#define PATH_OK(s)	check_path((s), strlen(s), 0)
#define PATH_BAD(s)	check_path((s), strlen(s), -1)

static void
test_path_check(void)
{
	struct errbuf eb;
	char *p;

	PATH_BAD("");
	PATH_BAD("/");
	PATH_BAD("//");
	PATH_BAD("a//b");
	PATH_BAD("//a");
	PATH_BAD("a/");
	PATH_BAD("/a/");
	PATH_BAD("..");
	PATH_BAD("/..");
	PATH_BAD("../x");
	PATH_BAD("a/..");
	PATH_BAD("a/../b");
	PATH_BAD("/a/../../etc/passwd");
	PATH_BAD(".");
	PATH_BAD("./a");
	PATH_BAD("a/.");
	PATH_BAD("a/./b");
	PATH_BAD("/./a");
	check_path("a\0b", 3, -1);
	check_path("\0", 1, -1);
	check_path("a\0", 2, -1);
	PATH_BAD("a\nb");
	PATH_BAD("a\rb");
	PATH_BAD("a\tb");
	PATH_BAD("\x01");
	PATH_BAD("a/\x1f");
	PATH_BAD("a\x7f");
	PATH_BAD("\x1b[31mred");

	PATH_OK("/config.yaml");
	PATH_OK("config.yaml");
	PATH_OK("a/b.c");
	PATH_OK("/etc/cfgsync/node.yaml");
	PATH_OK("...");
	PATH_OK(".hidden");
	PATH_OK("a/.b");
	PATH_OK("a/..b");
	PATH_OK("a../b");
	PATH_OK("spaces are fine");
	PATH_OK("caf\xc3\xa9");
	PATH_OK("a\\b");

	/* At most ARTIFACT_PATH_MAX bytes. */
	if ((p = malloc(ARTIFACT_PATH_MAX + 2)) == NULL)
		exit(2);
	memset(p, 'a', ARTIFACT_PATH_MAX + 1);
	p[ARTIFACT_PATH_MAX + 1] = '\0';
	check_path(p, ARTIFACT_PATH_MAX, 0);
	check_path(p, ARTIFACT_PATH_MAX + 1, -1);
	p[0] = '/';
	check_path(p, ARTIFACT_PATH_MAX + 1, -1);
	free(p);

	/* The message names the path. */
	CHECK(artifact_path_check("a/../b", 6, &eb) == -1);
	CHECK(strstr(eb.msg, "a/../b") != NULL);

	CHECK_STR(artifact_path_key("/x"), "x");
	CHECK_STR(artifact_path_key("x"), "x");
	CHECK_STR(artifact_path_key("/a/b"), "a/b");
}

static void
test_unique(void)
{
	struct artifact_set a, b;
	const struct artifact_set *sets[2];
	struct errbuf eb;

	artifact_set_init(&a);
	artifact_set_init(&b);
	sets[0] = &a;
	sets[1] = &b;
	CHECK(artifact_sets_check_unique(sets, 2, &eb) == 0);
	CHECK(artifact_set_add_copy(&a, "/x", "1", 1, ARTIFACT_MODE_NONE,
	    &eb) == 0);
	CHECK(artifact_sets_check_unique(sets, 1, &eb) == 0);
	CHECK(artifact_set_add_copy(&a, "y", "2", 1, ARTIFACT_MODE_NONE,
	    &eb) == 0);
	CHECK(artifact_set_add_copy(&b, "/w/z", "3", 1, ARTIFACT_MODE_NONE,
	    &eb) == 0);
	CHECK(artifact_sets_check_unique(sets, 2, &eb) == 0);

	/* "y" is a file, so "y/z" cannot be: no node could install both. */
	CHECK(artifact_set_add_copy(&b, "/y/z", "3", 1, ARTIFACT_MODE_NONE,
	    &eb) == 0);
	CHECK(artifact_sets_check_unique(sets + 1, 1, &eb) == 0);
	CHECK(artifact_sets_check_unique(sets, 2, &eb) == -1 &&
	    eb.code == EC_INVALID && strstr(eb.msg, "y is a file too") !=
	    NULL);
	b.len--;
	artifact_file_release(&b.files[b.len]);

	/* "/x" and "x" are one file. */
	CHECK(artifact_set_add_copy(&b, "x", "4", 1, ARTIFACT_MODE_NONE,
	    &eb) == 0);
	CHECK(artifact_sets_check_unique(sets, 1, &eb) == 0);
	CHECK(artifact_sets_check_unique(sets + 1, 1, &eb) == 0);
	CHECK(artifact_sets_check_unique(sets, 2, &eb) == -1 &&
	    eb.code == EC_INVALID && strstr(eb.msg, "duplicate path x") !=
	    NULL);

	/* Within one set, too. */
	artifact_set_release(&b);
	CHECK(artifact_set_add_copy(&a, "/y", "5", 1, ARTIFACT_MODE_NONE,
	    &eb) == 0);
	CHECK(artifact_sets_check_unique(sets, 1, &eb) == -1 &&
	    strstr(eb.msg, "y") != NULL);
	artifact_set_release(&a);
	artifact_set_release(&b);
	artifact_set_release(NULL);
}

/* Parses a JSON array of files; returns what artifact_set_from_json does. */
static int
files_from(struct artifact_set *set, const char *text, struct errbuf *eb)
{
	struct json_object *o;
	int rc;

	artifact_set_release(set);
	if ((o = json_tokener_parse(text)) == NULL)
		return -2;
	rc = artifact_set_from_json(set, o, eb);
	json_object_put(o);
	return rc;
}

static void
test_file_json(void)
{
	struct artifact_set set;
	struct errbuf eb;
	struct buf out;

	artifact_set_init(&set);
	CHECK(files_from(&set, "[{\"path\":\"a\",\"content\":\"x\\n\"},"
	    "{\"path\":\"/b\",\"content\":\"AAEC/w==\",\"encoding\":\"base64\","
	    "\"mode\":\"0600\"},{\"path\":\"c\",\"content\":\"\","
	    "\"mode\":\"755\","
	    "\"encoding\":\"utf-8\",\"owner\":\"root\",\"group\":\"0\"}]",
	    &eb) == 0);
	CHECK(set.len == 3);
	CHECK_STR(set.files[0].path, "a");
	CHECK(set.files[0].len == 2 && memcmp(set.files[0].content, "x\n",
	    2) == 0 && set.files[0].mode == ARTIFACT_MODE_NONE);
	CHECK(set.files[1].len == 4 && memcmp(set.files[1].content,
	    "\0\1\2\377", 4) == 0 && set.files[1].mode == 0600);
	CHECK(set.files[2].len == 0 && set.files[2].mode == 0755);
	CHECK_STR(set.files[2].owner, "root");
	CHECK_STR(set.files[2].group, "0");

	/* Extensions are emitted only where they differ from the default. */
	buf_init(&out, MAX_DOC);
	CHECK(artifact_set_render(&out, &set) == 0);
	CHECK_STR(out.data, "[{\"path\":\"a\",\"content\":\"x\\n\"},"
	    "{\"path\":\"/b\",\"content\":\"AAEC/w==\",\"mode\":\"0600\","
	    "\"encoding\":\"base64\"},{\"path\":\"c\",\"content\":\"\","
	    "\"mode\":\"0755\",\"owner\":\"root\",\"group\":\"0\"}]");
	buf_release(&out);

	/* A digest is checked against the decoded content. */
	CHECK(files_from(&set, "[{\"path\":\"a\",\"content\":\"abc\","
	    "\"sha256\":"
	    "\"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
	    "\"}]", &eb) == 0);
	CHECK(set.files[0].has_sha256 &&
	    artifact_file_digest_ok(&set.files[0]));
	set.files[0].content[0] = 'x';
	CHECK(!artifact_file_digest_ok(&set.files[0]));
	set.files[0].content[0] = 'a';
	set.files[0].has_sha256 = 0;
	artifact_file_hash(&set.files[0]);
	CHECK(set.files[0].has_sha256 &&
	    artifact_file_digest_ok(&set.files[0]));
	buf_init(&out, MAX_DOC);
	CHECK(artifact_file_render(&out, &set.files[0]) == 0);
	CHECK(strstr(out.data, "\"sha256\":\"ba7816bf8f01cfea414140de5dae2223"
	    "b00361a396177a9cb410ff61f20015ad\"") != NULL);
	buf_release(&out);

	/* Refused: each with EC_INVALID, naming the index. */
	CHECK(files_from(&set, "{}", &eb) == -1 && eb.code == EC_INVALID);
	CHECK(files_from(&set, "[1]", &eb) == -1 && eb.code == EC_INVALID);
	CHECK(files_from(&set, "[{\"content\":\"x\"}]", &eb) == -1 &&
	    strstr(eb.msg, "files[0]") != NULL);
	CHECK(files_from(&set, "[{\"path\":\"a\",\"content\":\"x\"},"
	    "{\"path\":\"../b\",\"content\":\"x\"}]", &eb) == -1 &&
	    strstr(eb.msg, "files[1]") != NULL && set.len == 1);
	CHECK(files_from(&set, "[{\"path\":\"a\"}]", &eb) == -1);
	CHECK(files_from(&set, "[{\"path\":\"a\",\"content\":1}]", &eb) == -1);
	CHECK(files_from(&set, "[{\"path\":1,\"content\":\"x\"}]", &eb) == -1);
	CHECK(files_from(&set, "[{\"path\":\"a\",\"content\":\"x\","
	    "\"mode\":\"0888\"}]", &eb) == -1);
	CHECK(files_from(&set, "[{\"path\":\"a\",\"content\":\"x\","
	    "\"mode\":420}]", &eb) == -1);
	CHECK(files_from(&set, "[{\"path\":\"a\",\"content\":\"x\","
	    "\"mode\":\"17777\"}]", &eb) == -1);
	CHECK(files_from(&set, "[{\"path\":\"a\",\"content\":\"x\","
	    "\"encoding\":\"rot13\"}]", &eb) == -1);
	CHECK(files_from(&set, "[{\"path\":\"a\",\"content\":\"!!\","
	    "\"encoding\":\"base64\"}]", &eb) == -1);
	CHECK(files_from(&set, "[{\"path\":\"a\",\"content\":\"x\","
	    "\"owner\":\"-rf\"}]", &eb) == -1);
	/* Ids past uid_t, or (uid_t)-1, would chown to another id. */
	CHECK(files_from(&set, "[{\"path\":\"a\",\"content\":\"x\","
	    "\"owner\":\"4294967297\"}]", &eb) == -1 && eb.code == EC_INVALID);
	CHECK(files_from(&set, "[{\"path\":\"a\",\"content\":\"x\","
	    "\"group\":\"4294967295\"}]", &eb) == -1);
	CHECK(files_from(&set, "[{\"path\":\"a\",\"content\":\"x\","
	    "\"owner\":\"99999999999999999999999\"}]", &eb) == -1);
	artifact_set_release(&set);
	CHECK(files_from(&set, "[{\"path\":\"a\",\"content\":\"x\","
	    "\"owner\":\"4294967294\",\"group\":\"007\"}]", &eb) == 0);
	artifact_set_release(&set);
	CHECK(files_from(&set, "[{\"path\":\"a\",\"content\":\"x\","
	    "\"sha256\":\"abc\"}]", &eb) == -1);
	CHECK(files_from(&set, "[{\"path\":\"a\\u0000b\",\"content\":\"x\"}]",
	    &eb) == -1);
	artifact_set_release(&set);
}

/* Parses payload text of at most max bytes into a fresh set. */
static int
payload_from(struct artifact_set *set, const char *text, size_t max,
    struct errbuf *eb)
{
	artifact_set_release(set);
	return protocol_parse_payload(set, text, strlen(text), max, eb);
}

static void
test_payload(void)
{
	struct artifact_set node, shared, parsed;
	struct errbuf eb;
	struct buf want, out;

	artifact_set_init(&node);
	artifact_set_init(&shared);
	artifact_set_init(&parsed);
	CHECK(artifact_set_add_copy(&node, "/config.yaml", "id: node-1\n", 11,
	    ARTIFACT_MODE_NONE, &eb) == 0);
	CHECK(artifact_set_add_copy(&shared, "deployment-settings.yaml",
	    "mode: local\n", 12, ARTIFACT_MODE_NONE, &eb) == 0);

	/* Node files first, then shared: the vector, structurally. */
	check_read_vector("payload.json", &want);
	buf_init(&out, MAX_DOC);
	CHECK(protocol_render_payload(&out, &node, &shared) == 0);
	CHECK(check_json_eq(out.data, want.data));
	CHECK(strstr(out.data, "config.yaml") <
	    strstr(out.data, "deployment-settings.yaml"));
	buf_reset(&out);
	CHECK(protocol_render_payload(&out, &shared, &node) == 0);
	CHECK(!check_json_eq(out.data, want.data));
	buf_reset(&out);
	CHECK(protocol_render_payload(&out, NULL, NULL) == 0);
	CHECK_STR(out.data, "{\"schema_version\":1,\"files\":[]}");
	buf_reset(&out);
	CHECK(protocol_render_payload(&out, &node, NULL) == 0);
	CHECK(check_json_eq(out.data, "{\"schema_version\":1,\"files\":["
	    "{\"path\":\"/config.yaml\",\"content\":\"id: node-1\\n\"}]}"));

	/* The vector parses into the same files, in order. */
	CHECK(protocol_parse_payload(&parsed, want.data, want.len, MAX_DOC,
	    &eb) == 0);
	CHECK(parsed.len == 2);
	if (parsed.len == 2) {
		CHECK_STR(parsed.files[0].path, "/config.yaml");
		CHECK_STR(parsed.files[0].content, "id: node-1\n");
		CHECK_STR(parsed.files[1].path, "deployment-settings.yaml");
		CHECK_STR(parsed.files[1].content, "mode: local\n");
	}
	buf_reset(&out);
	CHECK(protocol_render_payload(&out, &parsed, NULL) == 0);
	CHECK(check_json_eq(out.data, want.data));
	artifact_set_release(&parsed);

	/* Bad payloads are refused whole. */
	CHECK(protocol_parse_payload(&parsed, want.data, want.len, 10,
	    &eb) == -1 && eb.code == EC_INVALID && parsed.len == 0);
	CHECK(payload_from(&parsed, "{\"schema_version\":2,"
	    "\"files\":[]}", MAX_DOC, &eb) == -1);
	CHECK(payload_from(&parsed, "{\"schema_version\":1}",
	    MAX_DOC, &eb) == -1);
	CHECK(payload_from(&parsed, "[]", MAX_DOC, &eb) == -1);
	artifact_set_release(&parsed);
	CHECK(payload_from(&parsed, "{\"files\":[{\"path\":\"/x\","
	    "\"content\":\"\"},{\"path\":\"x\",\"content\":\"\"}]}",
	    MAX_DOC, &eb) == -1 && strstr(eb.msg, "duplicate") != NULL);
	artifact_set_release(&parsed);
	CHECK(payload_from(&parsed, "{\"files\":[{\"path\":\"../x\","
	    "\"content\":\"\"}]}", MAX_DOC, &eb) == -1 &&
	    eb.code == EC_INVALID);
	artifact_set_release(&parsed);

	buf_release(&want);
	buf_release(&out);
	artifact_set_release(&node);
	artifact_set_release(&shared);
}

static void
test_errors(void)
{
	struct buf want, out;
	const char *doc;
	char msg[64];

	buf_init(&out, MAX_DOC);
	check_read_vector("error-missing-config.json", &want);
	CHECK(protocol_render_error(&out, PROTOCOL_MISSING_CONFIG,
	    "missing config for host node-9") == 0);
	CHECK(check_json_eq(out.data, want.data));
	protocol_error_message(want.data, want.len, msg, sizeof(msg));
	CHECK_STR(msg, "missing config for host node-9");
	buf_release(&want);

	buf_reset(&out);
	check_read_vector("error-not-ready.json", &want);
	CHECK(protocol_render_error(&out, PROTOCOL_NOT_READY,
	    "config for host node-1 is not ready") == 0);
	CHECK(check_json_eq(out.data, want.data));
	buf_release(&want);

	buf_reset(&out);
	CHECK(protocol_render_error(&out, "x", "say \"hi\"\n") == 0);
	CHECK_STR(out.data,
	    "{\"code\":\"x\",\"message\":\"say \\\"hi\\\"\\n\"}");
	buf_release(&out);

	/* Read as sent; diag shows its control bytes as '?' when printed. */
	doc = "{\"message\":\"a\\u001b[2Jb\\n\"}";
	protocol_error_message(doc, strlen(doc), msg, sizeof(msg));
	CHECK_STR(msg, "a\033[2Jb\n");
	protocol_error_message("not json", 8, msg, sizeof(msg));
	CHECK_STR(msg, "");
	doc = "{\"message\":\"0123456789\"}";
	protocol_error_message(doc, strlen(doc), msg, 5);
	CHECK_STR(msg, "0123");
}

/* Parses bundle text; returns 0 or -1 with eb set. */
static int
bundle_from(struct bundle *b, const char *text, struct errbuf *eb)
{
	struct bundle_limits l;

	bundle_limits_default(&l);
	bundle_release(b);
	return bundle_parse_json(b, text, strlen(text), &l, NULL, eb);
}

static void
test_bundle(void)
{
	struct bundle b;
	struct bundle_limits l;
	struct errbuf eb;
	struct buf text, out;
	const struct bundle_node *n;
	const char *doc;

	bundle_init(&b);
	check_read_vector("bundle.json", &text);
	CHECK(bundle_from(&b, text.data, &eb) == 0);
	CHECK(b.nnodes == 2 && b.shared.len == 1);
	CHECK((n = bundle_find(&b, "node-1")) != NULL && n->files.len == 1 &&
	    strcmp(n->files.files[0].content, "id: node-1\n") == 0);
	CHECK((n = bundle_find(&b, "node-2")) != NULL && n->files.len == 1);
	CHECK(bundle_find(&b, "node-9") == NULL);
	CHECK(bundle_find(&b, "") == NULL);

	/* Rendered back: the same JSON value. */
	buf_init(&out, MAX_DOC);
	CHECK(bundle_render_json(&out, &b) == 0);
	CHECK(check_json_eq(out.data, text.data));
	buf_release(&out);

	/* node-1's payload from the bundle is the payload vector. */
	buf_release(&text);
	check_read_vector("payload.json", &text);
	buf_init(&out, MAX_DOC);
	n = bundle_find(&b, "node-1");
	CHECK(n != NULL && protocol_render_payload(&out, &n->files,
	    &b.shared) == 0 && check_json_eq(out.data, text.data));
	buf_release(&out);
	buf_release(&text);

	/* Node order in the document does not matter; lookups still work. */
	CHECK(bundle_from(&b, "{\"nodes\":[{\"identifier\":\"z\",\"files\":[]},"
	    "{\"identifier\":\"a\",\"files\":[]},{\"identifier\":\"m\","
	    "\"files\":[]}]}", &eb) == 0);
	CHECK(bundle_find(&b, "a") != NULL && bundle_find(&b, "m") != NULL &&
	    bundle_find(&b, "z") != NULL && bundle_find(&b, "b") == NULL);

	/* Refused bundles, each naming what is wrong. */
	CHECK(bundle_from(&b, "{\"nodes\":[{\"identifier\":\"n\",\"files\":"
	    "[{\"path\":\"../x\",\"content\":\"\"}]}]}", &eb) == -1 &&
	    eb.code == EC_INVALID && strstr(eb.msg, "node n") != NULL &&
	    strstr(eb.msg, "../x") != NULL);
	CHECK(bundle_from(&b, "{\"nodes\":[{\"identifier\":\"n\",\"files\":"
	    "[{\"path\":\"/a\",\"content\":\"\"},{\"path\":\"a\",\"content\":"
	    "\"\"}]}]}", &eb) == -1 && strstr(eb.msg, "duplicate") != NULL);
	CHECK(bundle_from(&b, "{\"nodes\":[{\"identifier\":\"n\",\"files\":"
	    "[{\"path\":\"a\",\"content\":\"\"}]}],\"shared_files\":"
	    "[{\"path\":\"/a\",\"content\":\"\"}]}", &eb) == -1 &&
	    strstr(eb.msg, "node n") != NULL &&
	    strstr(eb.msg, "duplicate path a") != NULL);
	CHECK(bundle_from(&b, "{\"nodes\":[],\"shared_files\":"
	    "[{\"path\":\"s\",\"content\":\"\"},{\"path\":\"s\",\"content\":"
	    "\"\"}]}", &eb) == -1 && strstr(eb.msg, "shared") != NULL);
	CHECK(bundle_from(&b, "{\"nodes\":[{\"identifier\":\"n\",\"files\":[]},"
	    "{\"identifier\":\"n\",\"files\":[]}]}", &eb) == -1 &&
	    strstr(eb.msg, "duplicate identifier") != NULL);
	CHECK(bundle_from(&b, "{\"nodes\":[{\"identifier\":\"a/b\","
	    "\"files\":[]}]}", &eb) == -1 && eb.code == EC_INVALID);
	CHECK(bundle_from(&b, "{\"nodes\":[{\"identifier\":\"..\","
	    "\"files\":[]}]}", &eb) == -1);
	CHECK(bundle_from(&b, "{\"nodes\":[{\"files\":[]}]}", &eb) == -1);
	/* A node without files has none; a map of nodes is the other shape. */
	CHECK(bundle_from(&b, "{\"nodes\":[{\"identifier\":\"n\"}]}",
	    &eb) == 0 && b.nnodes == 1 && b.nodes[0].files.len == 0);
	bundle_release(&b);
	CHECK(bundle_from(&b, "{\"shared_files\":[]}", &eb) == -1);
	CHECK(bundle_from(&b, "{\"nodes\":{}}", &eb) == 0 && b.nnodes == 0);
	bundle_release(&b);
	CHECK(bundle_from(&b, "{\"nodes\":\"n\"}", &eb) == -1);
	CHECK(bundle_from(&b, "[]", &eb) == -1);
	CHECK(bundle_from(&b, "{\"nodes\":[]", &eb) == -1);

	/* Limits. */
	bundle_limits_default(&l);
	l.max_entries = 1;
	bundle_release(&b);
	doc = "{\"nodes\":[{\"identifier\":\"n\",\"files\":[{\"path\":\"a\","
	    "\"content\":\"\"}]}],\"shared_files\":[{\"path\":\"b\","
	    "\"content\":\"\"}]}";
	CHECK(bundle_parse_json(&b, doc, strlen(doc), &l, NULL, &eb) == -1 &&
	    strstr(eb.msg, "limit") != NULL);
	bundle_limits_default(&l);
	l.max_file_size = 2;
	bundle_release(&b);
	doc = "{\"nodes\":[{\"identifier\":\"n\",\"files\":[{\"path\":\"a\","
	    "\"content\":\"abc\"}]}]}";
	CHECK(bundle_parse_json(&b, doc, strlen(doc), &l, NULL, &eb) == -1 &&
	    strstr(eb.msg, "over 2 bytes") != NULL);
	bundle_release(&b);
}

/* POST /node/replace: what the client renders, the server parses back. */
static void
test_replace(void)
{
	char id[REGISTRATION_ID_MAX + 1], code[64];
	struct artifact_set files, back;
	struct errbuf eb;
	struct buf out;
	const char *doc;

	artifact_set_init(&files);
	artifact_set_init(&back);
	buf_init(&out, 1 << 20);
	CHECK(artifact_set_add_copy(&files, "/etc/a.yaml", "a: 1\n", 5, 0640,
	    &eb) == 0);
	CHECK(protocol_render_replace(&out, "node-1", &files) == 0);
	CHECK_STR(out.data, "{\"identifier\":\"node-1\",\"files\":[{\"path\":"
	    "\"/etc/a.yaml\",\"content\":\"a: 1\\n\",\"mode\":\"0640\"}]}");
	CHECK(protocol_parse_replace(id, &back, out.data, out.len, out.max,
	    &eb) == 0);
	CHECK_STR(id, "node-1");
	CHECK(back.len == 1 && strcmp(back.files[0].path, "/etc/a.yaml") == 0 &&
	    back.files[0].mode == 0640);
	artifact_set_release(&back);

	/* Each bad document is refused, naming what is wrong. */
	doc = "{\"files\":[]}";
	CHECK(protocol_parse_replace(id, &back, doc, strlen(doc), 4096,
	    &eb) == -1 && eb.code == EC_INVALID &&
	    strstr(eb.msg, "identifier") != NULL);
	artifact_set_release(&back);
	doc = "{\"identifier\":\"../x\",\"files\":[]}";
	CHECK(protocol_parse_replace(id, &back, doc, strlen(doc), 4096,
	    &eb) == -1 && eb.code == EC_INVALID);
	artifact_set_release(&back);
	doc = "{\"identifier\":\"n\"}";
	CHECK(protocol_parse_replace(id, &back, doc, strlen(doc), 4096,
	    &eb) == -1 && strstr(eb.msg, "no files") != NULL);
	artifact_set_release(&back);
	doc = "{\"identifier\":\"n\",\"files\":[{\"path\":\"a/../b\","
	    "\"content\":\"\"}]}";
	CHECK(protocol_parse_replace(id, &back, doc, strlen(doc), 4096,
	    &eb) == -1 && eb.code == EC_INVALID);
	artifact_set_release(&back);
	doc = "{\"identifier\":\"n\",\"files\":[{\"path\":\"a\",\"content\":"
	    "\"\"},{\"path\":\"a\",\"content\":\"\"}]}";
	CHECK(protocol_parse_replace(id, &back, doc, strlen(doc), 4096,
	    &eb) == -1 && eb.code == EC_INVALID);
	artifact_set_release(&back);

	/* The code of an error document, read as its message is. */
	doc = "{\"code\":\"not_found\",\"message\":\"x\"}";
	protocol_error_code(doc, strlen(doc), code, sizeof(code));
	CHECK_STR(code, "not_found");
	protocol_error_code("[]", 2, code, sizeof(code));
	CHECK_STR(code, "");

	artifact_set_release(&files);
	buf_release(&out);
}

int
main(int argc, char **argv)
{
	check_init(argc, argv);
	test_path_check();
	test_unique();
	test_file_json();
	test_payload();
	test_errors();
	test_bundle();
	test_replace();
	return check_done("test_artifacts");
}
