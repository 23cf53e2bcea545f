/*
 * A bundle as JSON or YAML (bundle_parse_text), under small limits so
 * the fuzzer also reaches them.  A bundle that parses renders back to one that parses
 * to as many nodes and shared files.
 */
#include <string.h>

#include "buf.h"
#include "bundle.h"
#include "errbuf.h"

#include "fuzz.h"

#include "banned.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bundle_limits l = { 1000, 65536, 1UL << 20 };
	struct bundle b, again;
	struct errbuf eb;
	struct buf out;

	bundle_init(&b);
	bundle_init(&again);
	buf_init(&out, 16UL << 20);
	if (bundle_parse_text(&b, (const char *)data, size, &l, NULL, &eb) == 0) {
		FUZZ_ASSERT(bundle_render_json(&out, &b) == 0);
		l.max_total_size = out.max;
		FUZZ_ASSERT(bundle_parse_text(&again, out.data, out.len, &l, NULL,
		    &eb) == 0);
		FUZZ_ASSERT(again.nnodes == b.nnodes);
		FUZZ_ASSERT(again.shared.len == b.shared.len);
	}
	buf_release(&out);
	bundle_release(&again);
	bundle_release(&b);
	return 0;
}
