/*
 * The body of POST /register and POST /node (registration_parse).  A
 * registration that parses renders back to one that parses the same, and
 * the metadata it hands on is the value json-c reads for the member.
 */
#include <string.h>

#include <json-c/json.h>

#include "buf.h"
#include "errbuf.h"
#include "jsonx.h"
#include "registration.h"

#include "fuzz.h"

#include "banned.h"

#define MAX_DOC	65536

/* Returns 1 when raw (NULL: none) is the value json-c reads as metadata. */
static int
same_as_json_c(const char *text, size_t len, const char *raw)
{
	struct json_object *doc = NULL, *arr = NULL;
	struct json_object *v = NULL;	/* borrowed */
	struct errbuf eb;
	struct buf b;
	int same;

	FUZZ_ASSERT(jsonx_parse(text, len, MAX_DOC, "doc", &doc, &eb) == 0);
	(void)json_object_object_get_ex(doc, "metadata", &v);
	if (raw == NULL) {
		same = v == NULL;
		goto out;
	}
	/* In brackets: json-c takes a final number as unfinished. */
	buf_init(&b, 2 * MAX_DOC);
	FUZZ_ASSERT(buf_addc(&b, '[') == 0 && buf_adds(&b, raw) == 0 &&
	    buf_addc(&b, ']') == 0);
	FUZZ_ASSERT(jsonx_parse(b.data, b.len, b.max, "raw", &arr, &eb) == 0);
	buf_release(&b);
	/* Compared as rendered: json_object_equal finds NaN unequal. */
	same = strcmp(json_object_to_json_string_ext(json_object_array_get_idx(
	    arr, 0), JSON_C_TO_STRING_PLAIN), json_object_to_json_string_ext(v,
	    JSON_C_TO_STRING_PLAIN)) == 0;
out:
	json_object_put(arr);
	json_object_put(doc);
	return same;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct registration r, again;
	struct errbuf eb;
	struct buf b;

	memset(&r, 0, sizeof(r));
	memset(&again, 0, sizeof(again));
	buf_init(&b, 4 * MAX_DOC);
	if (registration_parse(&r, (const char *)data, size, MAX_DOC,
	    &eb) == 0) {
		FUZZ_ASSERT(same_as_json_c((const char *)data, size,
		    r.metadata));
		FUZZ_ASSERT(registration_render(&b, &r) == 0);
		FUZZ_ASSERT(registration_parse(&again, b.data, b.len,
		    b.max, &eb) == 0);
		FUZZ_ASSERT(registration_equal(&r, &again));
	}
	buf_release(&b);
	registration_release(&again);
	registration_release(&r);
	return 0;
}
