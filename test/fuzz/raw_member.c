/*
 * A property of jsonx_raw_member, which hands on a member's exact bytes
 * (registration metadata, the journal's registration): for every member
 * json-c reads from an object jsonx_parse accepts, the bytes
 * jsonx_raw_member returns, when it finds the member, parse to a value
 * equal to the one json-c read for it.  Where the two disagree, cfgsync
 * and every other JSON reader see different documents.
 */
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "errbuf.h"
#include "jsonx.h"

#include "fuzz.h"

#include "banned.h"

#define MAX_DOC	65536

/*
 * Parses s[0..len) as one JSON value, inside brackets: json-c takes a
 * number at the very end of its input as unfinished.  Returns the array
 * (owned) or NULL.
 */
static struct json_object *
parse_value(const char *s, size_t len)
{
	struct json_object *arr = NULL;
	struct errbuf eb;
	char *t;

	if ((t = malloc(len + 2)) == NULL)
		abort();
	t[0] = '[';
	memcpy(t + 1, s, len);
	t[len + 1] = ']';
	if (jsonx_parse(t, len + 2, MAX_DOC + 2, "member", &arr, &eb) == 0 &&
	    json_object_array_length(arr) != 1) {
		json_object_put(arr);
		arr = NULL;
	}
	free(t);
	return arr;
}

/*
 * Returns 1 when a and b render alike: json_object_equal would call NaN
 * unequal to itself, and both come from the same bytes, members in order.
 */
static int
same(struct json_object *a, struct json_object *b)
{
	int flags = JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE;

	return strcmp(json_object_to_json_string_ext(a, flags),
	    json_object_to_json_string_ext(b, flags)) == 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	struct json_object *doc = NULL, *arr;
	struct errbuf eb;
	size_t off, vlen;

	if (jsonx_parse(text, size, MAX_DOC, "document", &doc, &eb) == -1)
		return 0;
	if (!json_object_is_type(doc, json_type_object)) {
		FUZZ_ASSERT(jsonx_raw_member(text, size, "a", &off,
		    &vlen) == -1);
		json_object_put(doc);
		return 0;
	}
	json_object_object_foreach(doc, key, val) {
		if (jsonx_raw_member(text, size, key, &off, &vlen) == -1)
			continue;
		FUZZ_ASSERT(off <= size && vlen <= size - off);
		FUZZ_ASSERT((arr = parse_value(text + off, vlen)) != NULL);
		FUZZ_ASSERT(same(json_object_array_get_idx(arr, 0), val));
		json_object_put(arr);
	}
	json_object_put(doc);
	return 0;
}
