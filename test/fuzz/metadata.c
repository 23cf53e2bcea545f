/*
 * Node metadata given as text (registration_metadata_check, for --metadata
 * and --metadata-file).  Accepted metadata is accepted again unchanged, and
 * a registration carrying it keeps it byte for byte.
 */
#include <string.h>

#include "buf.h"
#include "errbuf.h"
#include "registration.h"

#include "fuzz.h"

#include "banned.h"

#define MAX_DOC	65536

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct registration r, again;
	struct errbuf eb;
	struct buf b;
	char *raw = NULL, *raw2 = NULL;

	memset(&r, 0, sizeof(r));
	memset(&again, 0, sizeof(again));
	buf_init(&b, 4 * MAX_DOC);
	if (registration_metadata_check((const char *)data, size, MAX_DOC,
	    &raw, &eb) == 0 && raw != NULL) {
		FUZZ_ASSERT(registration_metadata_check(raw, strlen(raw),
		    MAX_DOC, &raw2, &eb) == 0);
		FUZZ_ASSERT(raw2 != NULL && strcmp(raw, raw2) == 0);
		FUZZ_ASSERT(registration_set(&r, "node-1", "10.0.0.1", raw,
		    &eb) == 0);
		FUZZ_ASSERT(registration_render(&b, &r) == 0);
		FUZZ_ASSERT(registration_parse(&again, b.data, b.len, b.max,
		    &eb) == 0);
		FUZZ_ASSERT(again.metadata != NULL &&
		    strcmp(again.metadata, raw) == 0);
	}
	free(raw2);
	free(raw);
	buf_release(&b);
	registration_release(&again);
	registration_release(&r);
	return 0;
}
