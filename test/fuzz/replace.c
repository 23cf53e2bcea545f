/*
 * The body of POST /node/replace (protocol_parse_replace): an identifier
 * and files checked as a payload's are.  What parses renders back to the
 * same identifier and as many files.
 */
#include <string.h>

#include "artifacts.h"
#include "buf.h"
#include "errbuf.h"
#include "protocol.h"
#include "registration.h"

#include "fuzz.h"

#include "banned.h"

#define MAX_DOC	(1UL << 20)

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char id[REGISTRATION_ID_MAX + 1], id2[REGISTRATION_ID_MAX + 1];
	struct artifact_set set, again;
	struct errbuf eb;
	struct buf b;

	artifact_set_init(&set);
	artifact_set_init(&again);
	buf_init(&b, 8 * MAX_DOC);
	if (protocol_parse_replace(id, &set, (const char *)data, size,
	    MAX_DOC, &eb) == 0) {
		FUZZ_ASSERT(strlen(id) > 0);
		FUZZ_ASSERT(protocol_render_replace(&b, id, &set) == 0);
		FUZZ_ASSERT(protocol_parse_replace(id2, &again, b.data, b.len,
		    b.max, &eb) == 0);
		FUZZ_ASSERT(strcmp(id, id2) == 0);
		FUZZ_ASSERT(again.len == set.len);
	}
	buf_release(&b);
	artifact_set_release(&again);
	artifact_set_release(&set);
	return 0;
}
