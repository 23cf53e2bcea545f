/*
 * Unit tests for the materializer's outcome classification (SPEC 4),
 * materializer_classify, on made-up exits: no process is started.
 */
#include <sys/wait.h>

#include <stdio.h>
#include <string.h>

#include "bundle.h"
#include "materializer.h"
#include "check.h"
#include "banned.h"

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
	return check_done("test_materializer");
}
