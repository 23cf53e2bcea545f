/*
 * Unit tests for the materializer's outcome classification (SPEC 4),
 * materializer_classify, on made-up exits; then real runs of /bin/sh with
 * stdin streamed from an input source of the test's own (every byte
 * arrives, in order, through a pipe that takes less at a time; a failing
 * source fails the run), with a cgroup per run where one can be made and
 * without.
 */
#include <sys/wait.h>

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bundle.h"
#include "cgroup.h"
#include "errbuf.h"
#include "jsonx.h"
#include "materializer.h"
#include "check.h"
#include "banned.h"

extern char **environ;

static struct materializer mat;

/* Classifies a run ended by status with out on stdout. */
static enum materializer_outcome
classify(int status, const char *out, struct materializer_result *res)
{
	struct materializer_exit ex;

	memset(&ex, 0, sizeof(ex));
	memset(res, 0, sizeof(*res));
	ex.status = status;
	materializer_classify(&mat, &ex, out, out != NULL ? strlen(out) : 0,
	    res);
	return res->outcome;
}

static void
test_ready(void)
{
	struct materializer_result res;

	CHECK(classify(W_EXITCODE(0, 0), "{\"nodes\": [{\"identifier\": "
	    "\"node-1\", \"files\": [{\"path\": \"a.yaml\", \"content\": "
	    "\"a: 1\\n\"}]}], \"shared_files\": []}", &res) ==
	    MATERIALIZER_READY);
	CHECK(res.bundle.nnodes == 1);
	CHECK_STR(res.reason, "");
	bundle_release(&res.bundle);
	/* Nodes with no files of their own, and shared files. */
	CHECK(classify(W_EXITCODE(0, 0), "{\"nodes\": [{\"identifier\": "
	    "\"n1\", \"files\": []}, {\"identifier\": \"n2\", \"files\": []}], "
	    "\"shared_files\": [{\"path\": \"s\", \"content\": \"\"}]}",
	    &res) == MATERIALIZER_READY);
	CHECK(res.bundle.nnodes == 2 && res.bundle.shared.len == 1);
	bundle_release(&res.bundle);
}

static void
test_not_ready(void)
{
	struct materializer_result res;

	CHECK(classify(W_EXITCODE(0, 0), "{\"ready\": false}", &res) ==
	    MATERIALIZER_NOT_READY);
	CHECK(res.bundle.nnodes == 0);
	/* Exit 75 is not ready whatever stdout holds. */
	CHECK(classify(W_EXITCODE(MATERIALIZER_EX_TEMPFAIL, 0), "garbage",
	    &res) == MATERIALIZER_TEMPFAIL);
	CHECK(classify(W_EXITCODE(MATERIALIZER_EX_TEMPFAIL, 0), NULL,
	    &res) == MATERIALIZER_TEMPFAIL);
	/* "ready" must be the boolean false. */
	CHECK(classify(W_EXITCODE(0, 0), "{\"ready\": 0}", &res) ==
	    MATERIALIZER_FAILED);
	CHECK(classify(W_EXITCODE(0, 0), "{\"ready\": true}", &res) ==
	    MATERIALIZER_FAILED);
	CHECK(strncmp(res.reason, "materializer output: ", 21) == 0);
}

static void
test_failed(void)
{
	struct materializer_result res;
	struct materializer_exit ex;

	CHECK(classify(W_EXITCODE(3, 0), "{\"ready\": false}", &res) ==
	    MATERIALIZER_FAILED);
	CHECK_STR(res.reason, "materializer exited 3");
	CHECK(classify(W_EXITCODE(127, 0), "", &res) == MATERIALIZER_FAILED);
	CHECK_STR(res.reason, "materializer could not be run (exit 127)");
	CHECK(classify(W_EXITCODE(0, 9), "", &res) == MATERIALIZER_FAILED);
	CHECK_STR(res.reason, "materializer killed by signal 9");
	/* Exit 0 with nothing, or not JSON, or an unsafe path. */
	CHECK(classify(W_EXITCODE(0, 0), "", &res) == MATERIALIZER_FAILED);
	CHECK(res.reason[0] != '\0' && strchr(res.reason, '\n') == NULL);
	CHECK(classify(W_EXITCODE(0, 0), NULL, &res) == MATERIALIZER_FAILED);
	CHECK(classify(W_EXITCODE(0, 0), "ready", &res) ==
	    MATERIALIZER_FAILED);
	CHECK(res.reason[0] != '\0');
	CHECK(classify(W_EXITCODE(0, 0), "{\"nodes\": [{\"identifier\": "
	    "\"n1\", \"files\": [{\"path\": \"../x\", \"content\": \"\"}]}]}",
	    &res) == MATERIALIZER_FAILED);
	CHECK(strncmp(res.reason, "materializer output: ", 21) == 0);
	CHECK(res.bundle.nnodes == 0);

	/* What the run saw comes first, whatever the program said. */
	memset(&ex, 0, sizeof(ex));
	ex.status = W_EXITCODE(0, 0);
	ex.overflow = 1;
	materializer_classify(&mat, &ex, "{\"ready\": false}", 16, &res);
	CHECK(res.outcome == MATERIALIZER_FAILED);
	CHECK_STR(res.reason, "materializer output over 4096 bytes");
	ex.overflow = 0;
	ex.status = W_EXITCODE(0, 9);
	ex.timed_out = 1;
	materializer_classify(&mat, &ex, "", 0, &res);
	CHECK(res.outcome == MATERIALIZER_FAILED);
	CHECK_STR(res.reason, "materializer ran past its timeout of 5 s");
	ex.cancelled = 1;
	materializer_classify(&mat, &ex, "", 0, &res);
	CHECK_STR(res.reason,
	    "materializer stopped: the server is shutting down");
	/* A cancel that killed nothing (the run had ended) is no failure. */
	ex.timed_out = 0;
	ex.status = W_EXITCODE(MATERIALIZER_EX_TEMPFAIL, 0);
	materializer_classify(&mat, &ex, "", 0, &res);
	CHECK(res.outcome == MATERIALIZER_TEMPFAIL);
}

/* An input of the test's own: total bytes of a pattern, failing at fail. */
#define STREAM_BYTES	3000000UL	/* many times a pipe's capacity */

struct pattern {
	size_t	 off, total, fail;	/* fail: 0 never */
	size_t	 calls;
};

static ssize_t
pattern_read(void *ctx, char *out, size_t size)
{
	struct pattern *p = ctx;
	size_t i;

	p->calls++;
	if (p->fail != 0 && p->off >= p->fail)
		return -1;
	for (i = 0; i < size && p->off < p->total; i++, p->off++)
		out[i] = (char)('a' + p->off % 26);
	return (ssize_t)i;
}

/*
 * Runs sh -c script on the pattern; the script prints {"ready":false}
 * only when its stdin was exactly the pattern.
 */
static enum materializer_outcome
run_sh(const char *cgdir, struct pattern *p, struct materializer_result *res)
{
	char script[256];
	char *argv[] = { "/bin/sh", "-c", script, NULL };
	struct materializer m = mat;
	struct materializer_input in = { pattern_read, p };
	struct errbuf eb;

	/* The pattern's digest, by the same pattern made by awk. */
	(void)snprintf(script, sizeof(script), "a=$(cksum); b=$(awk 'BEGIN "
	    "{ for (i = 0; i < %lu; i++) printf \"%%c\", 97 + i %% 26 }' "
	    "| cksum); [ \"$a\" = \"$b\" ] && echo '{\"ready\":false}'",
	    (unsigned long)p->total);
	m.argv = argv;
	m.envp = environ;
	m.timeout = 60;
	m.cgroup = cgdir;
	CHECK(materializer_run(&m, &in, 1, 0, res, &eb) == 0);
	bundle_release(&res->bundle);
	return res->outcome;
}

static void
test_stream(const char *cgdir)
{
	struct materializer_result res;
	struct pattern p;

	memset(&p, 0, sizeof(p));
	p.total = STREAM_BYTES;
	CHECK(run_sh(cgdir, &p, &res) == MATERIALIZER_NOT_READY);
	CHECK(p.off == STREAM_BYTES);
	/* In chunks, not all at once. */
	CHECK(p.calls > STREAM_BYTES / 65536);
	CHECK(res.in_cgroup == (cgdir != NULL));
	/* A source that fails mid-way fails the run. */
	memset(&p, 0, sizeof(p));
	p.total = STREAM_BYTES;
	p.fail = 200000;
	CHECK(run_sh(cgdir, &p, &res) == MATERIALIZER_FAILED);
	CHECK_STR(res.reason, "materializer input: out of memory");
	/* An empty one is an empty stdin. */
	memset(&p, 0, sizeof(p));
	CHECK(run_sh(cgdir, &p, &res) == MATERIALIZER_NOT_READY);
}

/* The same in a cgroup per run, where this process may make one. */
static void
test_stream_cgroup(void)
{
	char dir[CGROUP_PATH_MAX];
	struct errbuf eb;

	if (cgroup_probe(dir, sizeof(dir), &eb) == -1) {
		printf("test_materializer: no cgroup (%s): runs in one not "
		    "tested\n", eb.msg);
		return;
	}
	test_stream(dir);
}

/* Renders b to a NUL-terminated string, for comparing bundles. */
static char *
render(const struct bundle *b)
{
	struct buf out;
	size_t len;

	buf_init(&out, SIZE_MAX);
	if (bundle_render_json(&out, b) == -1) {
		buf_release(&out);
		return NULL;
	}
	return buf_detach(&out, &len);
}

/*
 * Whether the node by node parse decides text alone, and then gives the
 * bundle the whole parse gives (jsonx_parse and bundle_from_json).
 */
static int
lean_same(const char *text, size_t len)
{
	struct json_object *doc = NULL;
	struct bundle lean, whole;
	struct errbuf eb;
	char *x = NULL, *y = NULL;
	int same = 0;

	bundle_init(&lean);
	bundle_init(&whole);
	if (bundle_parse_json_lean(&lean, text, len, len, &mat.limits,
	    "ready") == 0 &&
	    jsonx_parse(text, len, len, "t", &doc, &eb) == 0 &&
	    bundle_from_json(&whole, doc, &mat.limits, &eb) == 0 &&
	    (x = render(&lean)) != NULL && (y = render(&whole)) != NULL)
		same = strcmp(x, y) == 0 && lean.nnodes == whole.nnodes;
	free(x);
	free(y);
	json_object_put(doc);
	bundle_release(&lean);
	bundle_release(&whole);
	return same;
}

/* Whether the node by node parse leaves text to the whole parse. */
static int
lean_undecided(const char *text)
{
	struct bundle b;
	int rc;

	bundle_init(&b);
	rc = bundle_parse_json_lean(&b, text, strlen(text), 4096,
	    &mat.limits, "ready");
	rc = rc == 1 && b.nnodes == 0 && b.nodes == NULL;
	bundle_release(&b);
	return rc;
}

static void
test_by_node(void)
{
	static const char list[] = "{\"nodes\": [{\"identifier\": \"n2\", "
	    "\"files\": [{\"path\": \"a\", \"content\": \"x\", "
	    "\"mode\": \"0600\"}]}, {\"identifier\": \"n1\"}], "
	    "\"shared_files\": [{\"path\": \"s\", \"content\": \"\"}], "
	    "\"ready\": true, \"n\": -1.5e3, \"z\": null}";
	static const char map[] = " {\"ready\":1,\"nodes\":{\"b\":{\"files\":"
	    "[{\"path\":\"p\",\"content\":\"q\"}]},\"a\":null,\"c\":{}},"
	    "\"shared\":{\"files\":[{\"path\":\"s\",\"content\":\"t\"}]}}\n";
	struct buf big;
	size_t i;

	CHECK(lean_same(list, sizeof(list) - 1));
	CHECK(lean_same(map, sizeof(map) - 1));
	/* Many nodes, as a fleet's materializer prints them. */
	buf_init(&big, SIZE_MAX);
	(void)buf_adds(&big, "{\"nodes\":{");
	for (i = 0; i < 5000; i++)
		(void)buf_addf(&big, "%s\"node-%zu\":{\"files\":[{\"path\":"
		    "\"config.yaml\",\"content\":\"id: %zu\\n\"}]}",
		    i > 0 ? "," : "", 5000 - i, i);
	CHECK(buf_adds(&big, "},\"shared\":{\"files\":[{\"path\":"
	    "\"all.yaml\",\"content\":\"x\"}]}}") == 0);
	CHECK(lean_same(big.data, big.len));
	buf_release(&big);
	/* Left to the whole parse: not ready, and what is not a bundle. */
	CHECK(lean_undecided("{\"ready\": false, \"nodes\": []}"));
	CHECK(lean_undecided("{\"nodes\": [], \"nodes\": []}"));
	CHECK(lean_undecided("{\"nodes\": [{\"identifier\": \"a\"},]}"));
	CHECK(lean_undecided("{\"nodes\": {\"a\": {}, \"a\": {}}}"));
	CHECK(lean_undecided("{\"nodes\": [{\"identifier\": \"a\"}, "
	    "{\"identifier\": \"b\", \"files\": 1}]}"));
	CHECK(lean_undecided("{\"nodes\": []} []"));
	CHECK(lean_undecided("[]"));
	CHECK(lean_undecided(""));
}

int
main(int argc, char **argv)
{
	check_init(argc, argv);
	memset(&mat, 0, sizeof(mat));
	mat.timeout = 5;
	mat.max_output = 4096;
	bundle_limits_default(&mat.limits);
	test_ready();
	test_not_ready();
	test_failed();
	test_by_node();
	test_stream(NULL);
	test_stream_cgroup();
	return check_done("test_materializer");
}
