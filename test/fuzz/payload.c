/*
 * The payload a node fetches (protocol_parse_payload): the document, each
 * file's path, base64 content, sha256, mode, owner and group.  A payload
 * that parses renders back to one that parses to the same files.
 */
#include <string.h>

#include "artifacts.h"
#include "buf.h"
#include "errbuf.h"
#include "protocol.h"

#include "fuzz.h"

#include "banned.h"

#define MAX_DOC	(1UL << 20)

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct artifact_set set, again;
	struct errbuf eb;
	struct buf b;
	size_t i;

	artifact_set_init(&set);
	artifact_set_init(&again);
	buf_init(&b, 8 * MAX_DOC);
	if (protocol_parse_payload(&set, (const char *)data, size, MAX_DOC,
	    &eb) == 0) {
		FUZZ_ASSERT(protocol_render_payload(&b, &set, NULL) == 0);
		FUZZ_ASSERT(protocol_parse_payload(&again, b.data, b.len,
		    b.max, &eb) == 0);
		FUZZ_ASSERT(again.len == set.len);
		for (i = 0; i < set.len; i++) {
			FUZZ_ASSERT(strcmp(set.files[i].path,
			    again.files[i].path) == 0);
			FUZZ_ASSERT(set.files[i].len == again.files[i].len);
			FUZZ_ASSERT(memcmp(set.files[i].content,
			    again.files[i].content, set.files[i].len) == 0);
			FUZZ_ASSERT(set.files[i].mode == again.files[i].mode);
		}
	}
	buf_release(&b);
	artifact_set_release(&again);
	artifact_set_release(&set);
	return 0;
}
