/*
 * What a materializer prints on stdout.  lib/materializer.c classifies it
 * in a static function (classify) after the run; this target does what
 * that function does with the text: jsonx_parse under the output cap, a
 * {"ready":false} test, else bundle_from_json.
 */
#include <json-c/json.h>

#include "bundle.h"
#include "errbuf.h"
#include "jsonx.h"

#include "fuzz.h"

#include "banned.h"

#define MAX_OUTPUT	(1UL << 20)

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bundle_limits l = { 1000, 65536, 1UL << 20 };
	struct json_object *doc = NULL, *v;	/* v: borrowed */
	struct bundle b;
	struct errbuf eb;

	bundle_init(&b);
	if (jsonx_parse((const char *)data, size, MAX_OUTPUT,
	    "materializer output", &doc, &eb) == 0 &&
	    !(json_object_is_type(doc, json_type_object) &&
	    json_object_object_get_ex(doc, "ready", &v) &&
	    json_object_is_type(v, json_type_boolean) &&
	    !json_object_get_boolean(v)))
		(void)bundle_from_json(&b, doc, &l, &eb);
	bundle_release(&b);
	json_object_put(doc);
	return 0;
}
