/*
 * A bundle as an archive (bundle_archive_read: tar, tar.gz, tar.xz,
 * tar.zst, zip, sniffed by libarchive), read both ways: stopping at the
 * first problem, and with a report that takes every problem.  Small
 * limits, so a bomb stops early and the fuzzer reaches them.
 */
#include "bundle.h"
#include "bundle_archive.h"
#include "errbuf.h"

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
	struct bundle b;
	struct errbuf eb;
	int rc1, rc2;

	bundle_init(&b);
	rc1 = bundle_archive_read(&b, data, size, &l, NULL, &eb);
	bundle_release(&b);
	bundle_init(&b);
	rc2 = bundle_archive_read(&b, data, size, &l, &report, &eb);
	bundle_release(&b);
	/* Every problem reported is one that stops a run without a report. */
	if (rc2 == 0)
		FUZZ_ASSERT(rc1 == 0 && report.count == 0);
	return 0;
}
