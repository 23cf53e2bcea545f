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
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "bundle.h"
#include "cgroup.h"
#include "errbuf.h"
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
	test_stream(NULL);
	test_stream_cgroup();
	return check_done("test_materializer");
}
