/*
 * Bundle files, JSON or archive: see bundle_file.h.
 */
#include "bundle_file.h"

#include <string.h>

#include "array.h"
#include "buf.h"
#include "bundle.h"
#include "bundle_archive.h"
#include "errbuf.h"
#include "exitcode.h"
#include "fsx.h"
#include "banned.h"

/*
 * Returns 1 when text looks like an archive rather than YAML: a magic
 * number of the compressions the archive reader takes or of zip, or a NUL
 * in the first block, as every tar header has.  An empty text goes to the
 * archive reader too, for its message.
 */
static int
looks_archive(const char *text, size_t len)
{
	static const struct {
		const char	*magic;
		size_t		 len;
	} magics[] = {
		{ "\x1f\x8b", 2 },			/* gzip */
		{ "\xfd" "7zXZ\0", 6 },		/* xz */
		{ "\x28\xb5\x2f\xfd", 4 },		/* zstd */
		{ "PK\x03\x04", 4 },			/* zip */
		{ "PK\x05\x06", 4 },			/* empty zip */
	};
	size_t i;

	if (len == 0 || memchr(text, '\0', len < 512 ? len : 512) != NULL)
		return 1;
	for (i = 0; i < nitems(magics); i++)
		if (len >= magics[i].len &&
		    memcmp(text, magics[i].magic, magics[i].len) == 0)
			return 1;
	return 0;
}

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
	if ((i == text.len || text.data[i] != '{') &&
	    looks_archive(text.data, text.len))
		rc = bundle_archive_read(b, text.data, text.len, l, r, eb);
	else
		rc = bundle_parse_text(b, text.data, text.len, l, r, eb);
out:
	buf_release(&text);
	if (rc == -1)
		errbuf_prefix(eb, "%s", path);
	return rc;
}
