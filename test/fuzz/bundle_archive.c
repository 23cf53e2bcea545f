/*
 * A bundle as an archive (bundle_archive_read: tar, tar.gz, tar.xz,
 * tar.zst, zip, sniffed by libarchive), read both ways: stopping at the
 * first problem, and with a report that takes every problem, and
 * streamed without its contents in memory (BUNDLE_CONTENT_DROP), which
 * must come to the same verdict, in the same words, as keeping them.
 * Small limits, so a bomb stops early and the fuzzer reaches them.
 */
#include <string.h>

#include "bundle.h"
#include "bundle_archive.h"
#include "errbuf.h"
#include "exitcode.h"

#include "fuzz.h"

#include "banned.h"

static void
problem(void *arg, const struct errbuf *eb)
{
	(void)arg;
	FUZZ_ASSERT(eb->msg[0] != '\0');
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bundle_limits l = { 200, 1UL << 20, 4UL << 20 };
	struct bundle_report report = { problem, NULL, 0 };
	struct bundle_content drop;
	struct bundle b;
	struct errbuf eb, eb3;
	int rc1, rc2, rc3;

	bundle_init(&b);
	rc1 = bundle_archive_read(&b, data, size, &l, NULL, &eb);
	bundle_release(&b);
	bundle_init(&b);
	rc2 = bundle_archive_read(&b, data, size, &l, &report, &eb);
	bundle_release(&b);
	/* Every problem reported is one that stops a run without a report. */
	if (rc2 == 0)
		FUZZ_ASSERT(rc1 == 0 && report.count == 0);
	bundle_init(&b);
	rc1 = bundle_archive_read(&b, data, size, &l, NULL, &eb);
	bundle_release(&b);
	bundle_content_init(&drop, BUNDLE_CONTENT_DROP, -1);
	bundle_init(&b);
	rc3 = bundle_archive_read_with(&b, -1, data, size, &l, &drop, NULL,
	    &eb3);
	bundle_release(&b);
	FUZZ_ASSERT(rc1 == rc3);
	if (rc1 == -1 && eb.code == EC_INVALID)
		FUZZ_ASSERT(strcmp(eb.msg, eb3.msg) == 0);
	return 0;
}
