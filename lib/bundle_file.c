/*
 * Bundle files, JSON or archive: see bundle_file.h.
 */
#include "bundle_file.h"

#include <string.h>

#include "buf.h"
#include "bundle.h"
#include "bundle_archive.h"
#include "errbuf.h"
#include "exitcode.h"
#include "fsx.h"
#include "banned.h"

int
bundle_file_read(struct bundle *b, const char *path,
    const struct bundle_limits *l, struct bundle_report *r,
    struct errbuf *eb)
{
	struct buf text;
	size_t i;
	int rc = -1;

	buf_init(&text, l->max_total_size);
	if (fsx_read_file(path, &text, eb) == -1) {
		if (eb->code == EC_INVALID)
			(void)bundle_report_problem(r, eb);
		goto out;
	}
	/* memchr, not strchr, which would take a NUL for a space. */
	for (i = 0; i < text.len && memchr(" \t\r\n", text.data[i], 4) !=
	    NULL; i++)
		;
	if (i < text.len && text.data[i] == '{')
		rc = bundle_parse_json(b, text.data, text.len, l, r, eb);
	else
		rc = bundle_archive_read(b, text.data, text.len, l, r, eb);
out:
	buf_release(&text);
	if (rc == -1)
		errbuf_prefix(eb, "%s", path);
	return rc;
}
