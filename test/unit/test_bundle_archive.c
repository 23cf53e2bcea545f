/*
 * Unit tests for the tree form of bundles and their archives: entry names,
 * the mode rule, format names, and a write-then-read round trip in every
 * archive format that must give back the same bundle and, written twice,
 * the same bytes, and the manifest that carries what a tree cannot hold.
 */
#include <sys/stat.h>

#include <fcntl.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "artifacts.h"
#include "buf.h"
#include "bundle.h"
#include "bundle_file.h"
#include "bundle_archive.h"
#include "bundle_dir.h"
#include "bundle_tree.h"
#include "errbuf.h"
#include "exitcode.h"
#include "check.h"
#include "banned.h"


/* Parses name; returns 0 or -1, and the identifier and path found. */
static int
parse(const char *name, int isdir, char *id, size_t idsize,
    const char **path)
{
	struct bundle_tree_entry e;
	struct errbuf eb;

	if (bundle_tree_parse(name, isdir, &e, &eb) == -1)
		return -1;
	(void)snprintf(id, idsize, "%s", e.identifier);
	*path = e.path;
	return 0;
}

static void
test_parse(void)
{
	static const char *refused[] = {
		"/etc/passwd", "nodes/../x", "nodes/n1/../../x", "README",
		"nodes/n1", "shared", "nodes", "nodes/bad id/x",
		"nodes/n1//x", "nodes/n1/./x", "shared/a\tb", "shared/\xff",
		".//shared/x", "nodes/.." "/shared/x",	/* escapes nodes/ */
		"sharedx/a", "nodesx/n/a",
	};
	struct bundle_tree_entry e;
	struct errbuf eb;
	const char *path;
	char id[300];
	size_t i;

	for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		if (bundle_tree_parse(refused[i], 0, &e, &eb) != -1) {
			fprintf(stderr, "accepted %s\n", refused[i]);
			CHECK(0);
		} else
			CHECK(eb.code == EC_INVALID);
	}
	CHECK(parse("nodes/n1/a/b.yaml", 0, id, sizeof(id), &path) == 0);
	CHECK(strcmp(id, "n1") == 0 && strcmp(path, "a/b.yaml") == 0);
	CHECK(parse("./././shared/x", 0, id, sizeof(id), &path) == 0);
	CHECK(id[0] == '\0' && strcmp(path, "x") == 0);
	CHECK(parse("nodes/n-1.x:y@z/", 1, id, sizeof(id), &path) == 0);
	CHECK(strcmp(id, "n-1.x:y@z") == 0 && path == NULL);
	CHECK(parse("./", 1, id, sizeof(id), &path) == 0 && id[0] == '\0');
	CHECK(parse("nodes/", 1, id, sizeof(id), &path) == 0);
	CHECK(parse("shared/sub/", 1, id, sizeof(id), &path) == 0);
	CHECK(parse("nodes/n1/sub", 1, id, sizeof(id), &path) == 0);
	CHECK(strcmp(id, "n1") == 0 && path == NULL);
	CHECK(parse("README/", 1, id, sizeof(id), &path) == -1);
	CHECK(parse("shared/h\xc3\xa9llo", 0, id, sizeof(id), &path) == 0);
	CHECK(bundle_tree_parse("/nodes/n1/a", 0, &e, &eb) == -1 &&
	    strstr(eb.msg, "/nodes/n1/a") != NULL);
}

static void
test_modes_and_formats(void)
{
	struct artifact_file f;
	enum bundle_archive_format fmt;

	CHECK(bundle_tree_mode(0100644) == ARTIFACT_MODE_NONE);
	CHECK(bundle_tree_mode(0100755) == 0755);
	CHECK(bundle_tree_mode(04750) == 04750);
	memset(&f, 0, sizeof(f));
	f.mode = ARTIFACT_MODE_NONE;
	CHECK(bundle_tree_perm(&f) == 0644);
	f.mode = 0600;
	CHECK(bundle_tree_perm(&f) == 0600);

	CHECK(bundle_archive_format_parse("tar.zst", &fmt) == 0 &&
	    fmt == BUNDLE_ARCHIVE_TAR_ZST);
	CHECK(bundle_archive_format_parse("tgz", &fmt) == -1);
	CHECK(bundle_archive_format_parse("rar", &fmt) == -1);
	CHECK(bundle_archive_format_from_path("a/b.tgz", &fmt) == 0 &&
	    fmt == BUNDLE_ARCHIVE_TAR_GZ);
	CHECK(bundle_archive_format_from_path("b.tar.gz", &fmt) == 0 &&
	    fmt == BUNDLE_ARCHIVE_TAR_GZ);
	CHECK(bundle_archive_format_from_path("b.tar", &fmt) == 0 &&
	    fmt == BUNDLE_ARCHIVE_TAR);
	CHECK(bundle_archive_format_from_path("x.json", &fmt) == 0 &&
	    fmt == BUNDLE_ARCHIVE_JSON);
	CHECK(bundle_archive_format_from_path("x.zip", &fmt) == 0 &&
	    fmt == BUNDLE_ARCHIVE_ZIP);
	CHECK(bundle_archive_format_from_path("x.gz", &fmt) == -1);
	CHECK(bundle_archive_format_from_path(".zip", &fmt) == -1);
	CHECK(bundle_archive_format_from_path("dir.zip/x", &fmt) == -1);
	CHECK(bundle_archive_format_from_path("x", &fmt) == -1);
}

/* A bundle with a text file, a binary 0755 file, an empty node. */
static void
make_bundle(struct bundle *b)
{
	static const char bin[] = { 0, 1, (char)0xff, 0, 'x' };
	struct bundle_limits l;
	struct errbuf eb;
	struct bundle_node *n;

	bundle_init(b);
	bundle_limits_default(&l);
	n = bundle_node_get(b, "node-2");
	CHECK(artifact_set_add_copy(&n->files, "run.sh", "#!/bin/sh\n", 10,
	    0755, &eb) == 0);
	CHECK(artifact_set_add_copy(&n->files, "a/key.der", bin, sizeof(bin),
	    0600, &eb) == 0);
	CHECK(bundle_node_get(b, "empty") != NULL);
	n = bundle_node_get(b, "node-1");
	CHECK(artifact_set_add_copy(&n->files, "config.yaml", "a: 1\n", 5,
	    ARTIFACT_MODE_NONE, &eb) == 0);
	CHECK(artifact_set_add_copy(&b->shared, "shared.yaml", "s\n", 2,
	    ARTIFACT_MODE_NONE, &eb) == 0);
	CHECK(bundle_tree_finish(b, &l, NULL, &eb) == 0);
}

static void
test_round_trip(void)
{
	static const enum bundle_archive_format fmts[] = {
		BUNDLE_ARCHIVE_TAR, BUNDLE_ARCHIVE_TAR_GZ,
		BUNDLE_ARCHIVE_TAR_XZ, BUNDLE_ARCHIVE_TAR_ZST,
		BUNDLE_ARCHIVE_ZIP,
	};
	struct bundle b, back;
	struct bundle_limits l;
	struct buf json, json2, ar, ar2;
	struct errbuf eb;
	size_t i;

	make_bundle(&b);
	bundle_limits_default(&l);
	buf_init(&json, SIZE_MAX);
	CHECK(bundle_render_json(&json, &b) == 0);
	for (i = 0; i < sizeof(fmts) / sizeof(fmts[0]); i++) {
		buf_init(&ar, SIZE_MAX);
		buf_init(&ar2, SIZE_MAX);
		buf_init(&json2, SIZE_MAX);
		CHECK(bundle_archive_write(&ar, &b, fmts[i], &eb) == 0);
		CHECK(bundle_archive_write(&ar2, &b, fmts[i], &eb) == 0);
		CHECK(ar.len == ar2.len &&
		    memcmp(ar.data, ar2.data, ar.len) == 0);
		bundle_init(&back);
		CHECK(bundle_archive_read(&back, ar.data, ar.len, &l, NULL,
		    &eb) == 0);
		CHECK(bundle_render_json(&json2, &back) == 0);
		CHECK(json.len == json2.len &&
		    memcmp(json.data, json2.data, json.len) == 0);
		/* One byte under the total: refused, naming a limit. */
		l.max_total_size = 5 + 10 + 5 + 2 - 1;
		bundle_release(&back);
		CHECK(bundle_archive_read(&back, ar.data, ar.len, &l, NULL,
		    &eb) == -1 && strstr(eb.msg, "in all") != NULL);
		bundle_limits_default(&l);
		bundle_release(&back);
		buf_release(&ar);
		buf_release(&ar2);
		buf_release(&json2);
	}
	buf_release(&json);
	bundle_release(&b);
}

/* Says whether every file of x has the size and digest of y's. */
static int
same_files(const struct bundle *x, const struct bundle *y, int content)
{
	const struct artifact_set *a, *c;
	struct artifact_file f;
	size_t i, k;

	if (x->nnodes != y->nnodes)
		return 0;
	for (i = 0; i <= x->nnodes; i++) {
		a = i < x->nnodes ? &x->nodes[i].files : &x->shared;
		c = i < y->nnodes ? &y->nodes[i].files : &y->shared;
		if (a->len != c->len)
			return 0;
		for (k = 0; k < a->len; k++) {
			f = c->files[k];
			artifact_file_hash(&f);
			if (strcmp(a->files[k].path, f.path) != 0 ||
			    a->files[k].len != f.len ||
			    memcmp(a->files[k].sha256, f.sha256,
			    sizeof(f.sha256)) != 0)
				return 0;
			if (content ? a->files[k].content == NULL ||
			    memcmp(a->files[k].content, f.content,
			    f.len + 1) != 0 : a->files[k].content != NULL)
				return 0;
		}
	}
	return 1;
}

/*
 * An archive read without its contents in memory: dropped (sizes and
 * digests only) or spooled and mapped back, from memory and from a file;
 * a declared digest checked against the one hashed as the file streamed.
 */
static void
test_content_modes(void)
{
	char path[] = "/tmp/test_bundle_archive.XXXXXX";
	struct bundle_content c;
	struct bundle_limits l;
	struct bundle b, back;
	struct buf ar;
	struct errbuf eb;
	int fd, spool, from;

	make_bundle(&b);
	bundle_limits_default(&l);
	buf_init(&ar, SIZE_MAX);
	CHECK(bundle_archive_write(&ar, &b, BUNDLE_ARCHIVE_TAR_GZ, &eb) == 0);
	if ((fd = mkstemp(path)) == -1) {
		CHECK(0);
		return;
	}
	CHECK(write(fd, ar.data, ar.len) == (ssize_t)ar.len);
	for (from = 0; from < 2; from++) {
		CHECK(lseek(fd, 0, SEEK_SET) == 0);
		bundle_content_init(&c, BUNDLE_CONTENT_DROP, -1);
		bundle_init(&back);
		CHECK(bundle_archive_read_with(&back, from ? fd : -1, ar.data,
		    ar.len, &l, &c, NULL, &eb) == 0);
		CHECK(back.hashed && same_files(&back, &b, 0));
		bundle_release(&back);

		CHECK(lseek(fd, 0, SEEK_SET) == 0);
		spool = open("/tmp", O_TMPFILE | O_RDWR, 0600);
		CHECK(spool != -1);
		bundle_content_init(&c, BUNDLE_CONTENT_SPOOL, spool);
		bundle_init(&back);
		CHECK(bundle_archive_read_with(&back, from ? fd : -1, ar.data,
		    ar.len, &l, &c, NULL, &eb) == 0);
		CHECK(c.map != NULL && same_files(&back, &b, 1));
		bundle_content_disown(&c, &back.shared);
		CHECK(back.shared.files[0].content == NULL);
		bundle_content_disown(&c, &back.nodes[2].files);
		bundle_content_disown(&c, &back.nodes[1].files);
		bundle_release(&back);
		bundle_content_release(&c);
		CHECK(c.map == NULL);
		close(spool);
	}
	/* A digest the content does not have: refused. */
	memset(b.shared.files[0].sha256, 0, ARTIFACT_SHA256_LEN);
	b.shared.files[0].has_sha256 = 1;
	buf_reset(&ar);
	CHECK(bundle_archive_write(&ar, &b, BUNDLE_ARCHIVE_TAR, &eb) == 0);
	bundle_content_init(&c, BUNDLE_CONTENT_DROP, -1);
	bundle_init(&back);
	CHECK(bundle_archive_read_with(&back, -1, ar.data, ar.len, &l, &c,
	    NULL, &eb) == -1 && eb.code == EC_INVALID &&
	    strstr(eb.msg, "shared/shared.yaml: sha256 does not match") !=
	    NULL);
	bundle_release(&back);
	/* A limit passed while streaming: refused, naming it. */
	l.max_total_size = 5 + 10 + 5 + 2 - 1;
	bundle_init(&back);
	CHECK(bundle_archive_read_with(&back, -1, ar.data, ar.len, &l, &c,
	    NULL, &eb) == -1 && strstr(eb.msg, "bytes in all") != NULL);
	bundle_release(&back);
	close(fd);
	unlink(path);
	buf_release(&ar);
	bundle_release(&b);
}

static void
count_problem(void *arg, const struct errbuf *eb)
{
	(void)eb;
	++*(int *)arg;
}

static void
test_report(void)
{
	static const char doc[] = "{\"nodes\":["
	    "{\"identifier\":\"bad id\",\"files\":[]},"
	    "{\"identifier\":\"n1\",\"files\":["
	    "{\"path\":\"a\",\"content\":\"x\"},"
	    "{\"path\":\"a\",\"content\":\"y\"},"
	    "{\"path\":\"../b\",\"content\":\"y\"},"
	    "{\"path\":\"c\",\"content\":\"!\",\"encoding\":\"base64\"}]}],"
	    "\"shared_files\":[{\"path\":\"d\",\"content\":\"x\",\"sha256\":"
	    "\"00000000000000000000000000000000000000000000000000000000000000"
	    "00\"}]}";
	char path[] = "/tmp/test_bundle_archive.XXXXXX";
	struct bundle_report r;
	struct bundle_limits l;
	struct bundle b;
	struct errbuf eb;
	int n = 0, fd;

	r.problem = count_problem;
	r.arg = &n;
	r.count = 0;
	bundle_limits_default(&l);
	/* Without a report: the first problem only. */
	bundle_init(&b);
	CHECK(bundle_parse_json(&b, doc, sizeof(doc) - 1, &l, NULL,
	    &eb) == -1 &&
	    strstr(eb.msg, "nodes[0]") != NULL && eb.code == EC_INVALID);
	bundle_release(&b);
	/* With one: all five, and a count in eb. */
	if ((fd = mkstemp(path)) == -1) {
		CHECK(0);
		return;
	}
	CHECK(write(fd, doc, sizeof(doc) - 1) == (ssize_t)sizeof(doc) - 1);
	close(fd);
	bundle_init(&b);
	CHECK(bundle_file_read(&b, path, &l, &r, &eb) == -1);
	CHECK(n == 5 && r.count == 5 && eb.code == EC_INVALID &&
	    strstr(eb.msg, "5 problems") != NULL);
	bundle_release(&b);
	unlink(path);
	CHECK(bundle_report_problem(NULL, &eb) == -1);
}

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* Writes content to dir/rel, making the directories on the way. */
static void
put(const char *dir, const char *rel, const char *content)
{
	char path[512], *p;
	FILE *f;

	(void)snprintf(path, sizeof(path), "%s/%s", dir, rel);
	for (p = path + strlen(dir) + 1; (p = strchr(p, '/')) != NULL; p++) {
		*p = '\0';
		(void)mkdir(path, 0755);
		*p = '/';
	}
	if ((f = fopen(path, "w")) == NULL) {
		CHECK(0);
		return;
	}
	fputs(content, f);
	fclose(f);
}

/*
 * The walk must meet files in the order of the archive's entries, or the
 * archive written while reading would differ from the one written after:
 * names that share a prefix with a directory are where the two orders
 * could part ("sub/x" against "sub.conf", node "a" against "a-b").
 */
static void
test_streamed_order(void)
{
	static const char *files[] = {
		"nodes/a/sub/x", "nodes/a/sub.conf", "nodes/a/sub-x",
		"nodes/a/sub/y/z", "nodes/a/Z", "nodes/a-b/x", "nodes/a.b/x",
		"nodes/a_/x", "shared/s/t", "shared/s.t", "shared/s0",
	};
	char dir[] = "/tmp/test_bundle_archive.XXXXXX";
	struct bundle b, b2;
	struct bundle_limits l;
	struct buf streamed, after;
	struct errbuf eb;
	size_t i;
	int fmt;

	if (mkdtemp(dir) == NULL) {
		CHECK(0);
		return;
	}
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		put(dir, files[i], files[i]);
	bundle_limits_default(&l);
	for (fmt = BUNDLE_ARCHIVE_TAR; fmt <= BUNDLE_ARCHIVE_ZIP; fmt++) {
		bundle_init(&b);
		bundle_init(&b2);
		buf_init(&streamed, SIZE_MAX);
		buf_init(&after, SIZE_MAX);
		CHECK(bundle_dir_read_archive(&b, dir, &l, fmt, &streamed,
		    &eb) == 0);
		CHECK(bundle_dir_read(&b2, dir, &l, &eb) == 0);
		CHECK(bundle_archive_write(&after, &b2, fmt, &eb) == 0);
		CHECK(streamed.len == after.len && memcmp(streamed.data,
		    after.data, after.len) == 0);
		buf_release(&streamed);
		buf_release(&after);
		bundle_release(&b);
		bundle_release(&b2);
	}
	CHECK(nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS) == 0);
}

/* A bundle whose files carry every attribute a tree cannot hold. */
static const char every_attr[] = "{\"nodes\":["
    "{\"identifier\":\"empty\",\"files\":[]},"
    "{\"identifier\":\"n1\",\"files\":["
    "{\"path\":\"/a\",\"content\":\"x\",\"mode\":\"0644\","
    "\"owner\":\"root\",\"group\":\"0\",\"sha256\":"
    "\"2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881\"},"
    "{\"path\":\"b\",\"content\":\"AAE=\",\"mode\":\"0600\","
    "\"encoding\":\"base64\",\"owner\":\"1000\"},"
    "{\"path\":\"c\",\"content\":\"plain\"}]}],"
    "\"shared_files\":[{\"path\":\"/s\",\"content\":\"s\"}]}";

/* Every archive format carries every attribute, through the manifest. */
static void
test_manifest_archives(void)
{
	struct bundle b, back;
	struct bundle_limits l;
	struct buf json, json2, ar, ar2, m;
	struct errbuf eb;
	int fmt;

	bundle_limits_default(&l);
	bundle_init(&b);
	buf_init(&json, SIZE_MAX);
	buf_init(&m, SIZE_MAX);
	CHECK(bundle_parse_json(&b, every_attr, sizeof(every_attr) - 1, &l,
	    NULL, &eb) == 0);
	CHECK(bundle_render_json(&json, &b) == 0);
	CHECK(json.len == sizeof(every_attr) - 1 &&
	    memcmp(json.data, every_attr, json.len) == 0);
	CHECK(bundle_tree_manifest_render(&m, &b) == 0);
	CHECK_STR(m.data, "{\"cfgsync_manifest\":1,\"files\":[\n"
	    "{\"name\":\"nodes/n1/a\",\"absolute\":true,"
	    "\"explicit_mode\":true,\"owner\":\"root\",\"group\":\"0\","
	    "\"sha256\":\"2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db0225"
	    "8717921a4881\"},\n"
	    "{\"name\":\"nodes/n1/b\",\"owner\":\"1000\"},\n"
	    "{\"name\":\"shared/s\",\"absolute\":true}\n]}\n");
	for (fmt = BUNDLE_ARCHIVE_TAR; fmt <= BUNDLE_ARCHIVE_ZIP; fmt++) {
		buf_init(&ar, SIZE_MAX);
		buf_init(&ar2, SIZE_MAX);
		buf_init(&json2, SIZE_MAX);
		bundle_init(&back);
		CHECK(bundle_archive_write(&ar, &b, fmt, &eb) == 0);
		CHECK(bundle_archive_read(&back, ar.data, ar.len, &l, NULL,
		    &eb) == 0);
		CHECK(bundle_render_json(&json2, &back) == 0);
		CHECK(json.len == json2.len &&
		    memcmp(json.data, json2.data, json.len) == 0);
		CHECK(bundle_archive_write(&ar2, &back, fmt, &eb) == 0);
		CHECK(ar.len == ar2.len &&
		    memcmp(ar.data, ar2.data, ar.len) == 0);
		bundle_release(&back);
		buf_release(&ar);
		buf_release(&ar2);
		buf_release(&json2);
	}
	/* A plain bundle needs no manifest. */
	bundle_release(&b);
	make_bundle(&b);
	buf_reset(&m);
	CHECK(bundle_tree_manifest_render(&m, &b) == 0 && m.len == 0);
	bundle_release(&b);
	buf_release(&m);
	buf_release(&json);
}

/*
 * Applies manifest text to a tree of files nodes/n1/a ("x") and shared/s;
 * returns what apply returns, the bundle in b.
 */
static int
apply(struct bundle *b, const char *text, struct errbuf *eb)
{
	struct bundle_limits l;
	struct bundle_node *n;
	struct errbuf e2;

	bundle_limits_default(&l);
	bundle_init(b);
	n = bundle_node_get(b, "n1");
	CHECK(artifact_set_add_copy(&n->files, "a", "x", 1,
	    ARTIFACT_MODE_NONE, &e2) == 0);
	CHECK(artifact_set_add_copy(&b->shared, "s", "s", 1, 0600,
	    &e2) == 0);
	return bundle_tree_manifest_apply(b, text, strlen(text), &l, eb);
}

/* Applying checks the manifest strictly, naming what is wrong. */
static void
test_manifest_apply(void)
{
	static const struct {
		const char	*text;
		const char	*why;	/* in the message, or NULL: fine */
	} cases[] = {
		{ "{\"cfgsync_manifest\":1,\"files\":[]}", NULL },
		{ "{\"cfgsync_manifest\":1,\"files\":[{\"name\":\"shared/s\","
		    "\"owner\":\"x\",\"absolute\":false}]}", NULL },
		{ "{\"cfgsync_manifest\":1,\"files\":[{\"name\":"
		    "\"./shared/s\",\"group\":\"g\"}]}", NULL },
		{ "", "empty document" },
		{ "[]", "not a JSON object" },
		{ "{\"files\":[]}", "cfgsync_manifest: missing" },
		{ "{\"cfgsync_manifest\":\"1\",\"files\":[]}",
		    "cfgsync_manifest: missing or not 1" },
		{ "{\"cfgsync_manifest\":1}", "files: missing" },
		{ "{\"cfgsync_manifest\":1,\"files\":[],\"x\":0}",
		    "unknown member x" },
		{ "{\"cfgsync_manifest\":1,\"files\":[7]}",
		    "files[0]: not an object" },
		{ "{\"cfgsync_manifest\":1,\"files\":[{}]}",
		    "files[0]: name: missing" },
		{ "{\"cfgsync_manifest\":1,\"files\":[{\"name\":"
		    "\"nodes/n1/a\\u0000b\"}]}", "name: NUL byte" },
		{ "{\"cfgsync_manifest\":1,\"files\":[{\"name\":\"top\"}]}",
		    "outside nodes/" },
		{ "{\"cfgsync_manifest\":1,\"files\":[{\"name\":"
		    "\"nodes/n1/gone\"}]}", "nodes/n1/gone: no such file" },
		{ "{\"cfgsync_manifest\":1,\"files\":[{\"name\":\"shared/s\"},"
		    "{\"name\":\"shared/s\"}]}", "shared/s: listed twice" },
		{ "{\"cfgsync_manifest\":1,\"files\":[{\"name\":\"shared/s\","
		    "\"group\":\"a b\"}]}", "group: not" },
		{ "{\"cfgsync_manifest\":1,\"files\":[{\"name\":\"shared/s\","
		    "\"explicit_mode\":\"yes\"}]}", "explicit_mode: not" },
		{ "{\"cfgsync_manifest\":1,\"files\":[{\"name\":\"shared/s\","
		    "\"sha256\":\"zz\"}]}", "sha256: not 64" },
		{ "{\"cfgsync_manifest\":1,\"files\":[{\"name\":\"nodes/n1/a\","
		    "\"sha256\":\"2d711642b726b04401627ca9fbac32f5c8530fb19"
		    "03cc4db02258717921a488g\"}]}", "sha256: not 64" },
		{ "{\"cfgsync_manifest\":1,\"files\":[{\"name\":\"nodes/n1/a\","
		    "\"sha256\":\"2d711642b726b04401627ca9fbac32f5c8530fb19"
		    "03cc4db02258717921a4880\"}]}",
		    "nodes/n1/a: sha256 does not match" },
	};
	static const char good[] = "{\"cfgsync_manifest\":1,\"files\":["
	    "{\"name\":\"nodes/n1/a\",\"absolute\":true,\"explicit_mode\":"
	    "true,\"owner\":\"root\",\"group\":\"wheel\",\"sha256\":"
	    "\"2D711642B726B04401627CA9FBAC32F5C8530FB19"
	    "03CC4DB02258717921A4881\"},"
	    "{\"name\":\"shared/s\",\"explicit_mode\":true}]}";
	const struct artifact_file *f;
	struct bundle b;
	struct errbuf eb;
	size_t i;
	int rc;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		eb.code = 0;
		eb.msg[0] = '\0';
		rc = apply(&b, cases[i].text, &eb);
		if (cases[i].why == NULL)
			CHECK(rc == 0);
		else {
			CHECK(rc == -1 && eb.code == EC_INVALID &&
			    strstr(eb.msg, cases[i].why) != NULL);
			if (strstr(eb.msg, cases[i].why) == NULL)
				fprintf(stderr, "case %zu: %s\n", i, eb.msg);
		}
		bundle_release(&b);
	}
	CHECK(apply(&b, good, &eb) == 0);
	f = &b.nodes[0].files.files[0];
	CHECK_STR(f->path, "/a");
	CHECK(f->mode == 0644 && f->has_sha256);
	CHECK_STR(f->owner, "root");
	CHECK_STR(f->group, "wheel");
	/* explicit_mode leaves a mode that is not 0644 alone. */
	CHECK(b.shared.files[0].mode == 0600);
	CHECK_STR(b.shared.files[0].path, "s");
	bundle_release(&b);
}

/*
 * A tree with a manifest, written however it likes: the archive streamed
 * from the directory and the one written from the bundle read are the
 * same, the manifest in pack's form as its last entry.
 */
static void
test_manifest_dir(void)
{
	char dir[] = "/tmp/test_bundle_archive.XXXXXX";
	struct bundle b, b2;
	struct bundle_limits l;
	struct buf streamed, after;
	struct errbuf eb;
	int fmt;

	if (mkdtemp(dir) == NULL) {
		CHECK(0);
		return;
	}
	put(dir, "nodes/n1/a", "x");
	put(dir, "shared/s", "s");
	put(dir, BUNDLE_TREE_MANIFEST, "{ \"files\": [ { \"owner\": \"app\",\n"
	    "  \"name\": \"shared/s\" } ],\n\"cfgsync_manifest\": 1 }\n");
	bundle_limits_default(&l);
	for (fmt = BUNDLE_ARCHIVE_TAR; fmt <= BUNDLE_ARCHIVE_ZIP; fmt++) {
		bundle_init(&b);
		bundle_init(&b2);
		buf_init(&streamed, SIZE_MAX);
		buf_init(&after, SIZE_MAX);
		CHECK(bundle_dir_read_archive(&b, dir, &l, fmt, &streamed,
		    &eb) == 0);
		CHECK(bundle_dir_read(&b2, dir, &l, &eb) == 0);
		CHECK_STR(b2.shared.files[0].owner, "app");
		CHECK(bundle_archive_write(&after, &b2, fmt, &eb) == 0);
		CHECK(streamed.len == after.len && memcmp(streamed.data,
		    after.data, after.len) == 0);
		buf_release(&streamed);
		buf_release(&after);
		bundle_release(&b);
		bundle_release(&b2);
	}
	/* A manifest that names a file the tree lacks: refused. */
	put(dir, BUNDLE_TREE_MANIFEST, "{\"cfgsync_manifest\":1,\"files\":"
	    "[{\"name\":\"shared/t\",\"owner\":\"app\"}]}");
	bundle_init(&b);
	buf_init(&streamed, SIZE_MAX);
	CHECK(bundle_dir_read_archive(&b, dir, &l, BUNDLE_ARCHIVE_TAR,
	    &streamed, &eb) == -1 && eb.code == EC_INVALID &&
	    strstr(eb.msg, "shared/t: no such file in the tree") != NULL);
	buf_release(&streamed);
	bundle_release(&b);
	CHECK(nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS) == 0);
}

int
main(void)
{
	test_parse();
	test_modes_and_formats();
	test_round_trip();
	test_content_modes();
	test_report();
	test_streamed_order();
	test_manifest_archives();
	test_manifest_apply();
	test_manifest_dir();
	return check_done("test_bundle_archive");
}
