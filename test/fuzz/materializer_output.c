/*
 * What a materializer prints on stdout, through materializer_classify
 * after a clean exit.  Property: its verdict (outcome, reason, bundle) is
 * the one the whole parse gives, which this target does as the library
 * did before it parsed node by node: jsonx_parse under the output cap, a
 * {"ready":false} test, else bundle_from_json.  And where the node by
 * node parse decides alone (bundle_parse_json_lean), the whole parse
 * gives a bundle that renders to the same bytes.
 */
#include <string.h>

#include <json-c/json.h>

#include "buf.h"
#include "bundle.h"
#include "errbuf.h"
#include "jsonx.h"
#include "materializer.h"

#include "fuzz.h"

#include "banned.h"

#define MAX_OUTPUT	(1UL << 20)

/* The whole parse's verdict, as materializer_classify gave it before. */
static enum materializer_outcome
whole(const char *text, size_t len, const struct bundle_limits *l,
    struct bundle *b, char *reason, size_t size)
{
	struct json_object *doc = NULL, *v;	/* v: borrowed */
	enum materializer_outcome o = MATERIALIZER_FAILED;
	struct errbuf eb;

	reason[0] = '\0';
	if (jsonx_parse(text, len, MAX_OUTPUT, "materializer output", &doc,
	    &eb) == -1) {
		(void)snprintf(reason, size, "%s", eb.msg);
		return o;
	}
	if (json_object_is_type(doc, json_type_object) &&
	    json_object_object_get_ex(doc, "ready", &v) &&
	    json_object_is_type(v, json_type_boolean) &&
	    !json_object_get_boolean(v))
		o = MATERIALIZER_NOT_READY;
	else if (bundle_from_json(b, doc, l, &eb) == -1) {
		bundle_release(b);
		(void)snprintf(reason, size, "materializer output: %s",
		    eb.msg);
	} else
		o = MATERIALIZER_READY;
	json_object_put(doc);
	return o;
}

/* Whether a and b render to the same document. */
static int
same_bundle(const struct bundle *a, const struct bundle *b)
{
	struct buf x, y;
	int same;

	buf_init(&x, SIZE_MAX);
	buf_init(&y, SIZE_MAX);
	same = bundle_render_json(&x, a) == 0 &&
	    bundle_render_json(&y, b) == 0 && x.len == y.len &&
	    memcmp(x.data, y.data, x.len) == 0;
	buf_release(&x);
	buf_release(&y);
	return same;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bundle_limits l = { 1000, 65536, 1UL << 20 };
	struct materializer m;
	struct materializer_exit ex;
	struct materializer_result res;
	struct bundle b, lean;
	char reason[sizeof(res.reason)];
	enum materializer_outcome o;
	const char *text = (const char *)data;

	memset(&m, 0, sizeof(m));
	m.max_output = MAX_OUTPUT;
	m.limits = l;
	memset(&ex, 0, sizeof(ex));
	memset(&res, 0, sizeof(res));
	bundle_init(&b);
	bundle_init(&lean);
	o = whole(text, size, &l, &b, reason, sizeof(reason));
	materializer_classify(&m, &ex, text, size, &res);
	FUZZ_ASSERT(res.outcome == o);
	FUZZ_ASSERT(strcmp(res.reason, reason) == 0);
	FUZZ_ASSERT(same_bundle(&res.bundle, &b));
	if (bundle_parse_json_lean(&lean, text, size, MAX_OUTPUT, &l,
	    "ready") == 0) {
		FUZZ_ASSERT(o == MATERIALIZER_READY);
		FUZZ_ASSERT(same_bundle(&lean, &b));
	} else
		FUZZ_ASSERT(lean.nnodes == 0 && lean.shared.len == 0);
	bundle_release(&lean);
	bundle_release(&res.bundle);
	bundle_release(&b);
	return 0;
}
