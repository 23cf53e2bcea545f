/*
 * Bundle files, JSON or archive: see bundle_file.h.
 */
#include "bundle_file.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "array.h"
#include "buf.h"
#include "bundle.h"
#include "bundle_archive.h"
#include "errbuf.h"
#include "exitcode.h"
#include "banned.h"

#define SNIFF_LEN	512	/* what the sniff looks at: a tar block */
#define FILE_CHUNK	65536

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

/*
 * Reads from fd into text, which holds what was read so far, up to its
 * max; path names the file in messages.
 */
static int
read_rest(int fd, const char *path, struct buf *text, struct errbuf *eb)
{
	char chunk[FILE_CHUNK];
	ssize_t n;

	for (;;) {
		if ((n = read(fd, chunk, sizeof(chunk))) == -1) {
			if (errno == EINTR)
				continue;
			return errbuf_set(eb, EC_INVALID, "read %s: %s", path,
			    strerror(errno));
		}
		if (n == 0)
			break;
		if (buf_add(text, chunk, (size_t)n) == -1)
			return errbuf_set(eb, errno == ENOMEM ? EC_INTERNAL :
			    EC_INVALID, "read %s: over %zu bytes", path,
			    text->max);
	}
	if (text->data == NULL && buf_add(text, "", 0) == -1)
		return errbuf_set(eb, EC_INTERNAL, "out of memory");
	return 0;
}

/* Reads the first block of fd, or all of it if shorter, into text. */
static int
read_head(int fd, const char *path, struct buf *text, struct errbuf *eb)
{
	char chunk[SNIFF_LEN];
	size_t got = 0;
	ssize_t n;

	while (got < sizeof(chunk)) {
		if ((n = read(fd, chunk + got, sizeof(chunk) - got)) == -1) {
			if (errno == EINTR)
				continue;
			return errbuf_set(eb, EC_INVALID, "read %s: %s", path,
			    strerror(errno));
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	if (buf_add(text, chunk, got) == -1)
		return errbuf_set(eb, errno == ENOMEM ? EC_INTERNAL :
		    EC_INVALID, "read %s: over %zu bytes", path, text->max);
	return 0;
}

/*
 * Reads an archive, from fd (at offset start) or data[0..len), as c says.
 * To keep its contents (c NULL or KEEP), it is read through once without
 * them first, so a bomb is refused at the block that passes a limit
 * before memory is spent on what it claims to hold; only an archive that
 * passes every check is read again, and kept.
 */
static int
read_archive(struct bundle *b, int fd, off_t start, const void *data,
    size_t len, const struct bundle_limits *l, struct bundle_content *c,
    struct bundle_report *r, struct errbuf *eb)
{
	struct bundle_content drop;
	struct bundle first;
	int rc;

	if (c != NULL && c->mode != BUNDLE_CONTENT_KEEP)
		return bundle_archive_read_with(b, fd, data, len, l, c, r, eb);
	bundle_content_init(&drop, BUNDLE_CONTENT_DROP, -1);
	bundle_init(&first);
	rc = bundle_archive_read_with(&first, fd, data, len, l, &drop, r, eb);
	bundle_release(&first);
	if (rc == -1)
		return -1;
	if (fd != -1 && lseek(fd, start, SEEK_SET) == -1)
		return errbuf_set(eb, EC_INVALID, "seek: %s", strerror(errno));
	return bundle_archive_read_with(b, fd, data, len, l, c, r, eb);
}

/*
 * The archive of a regular file is read from it in blocks, never whole:
 * a compressed one may hold far more than memory.  Anything else (a pipe)
 * is read whole within the limit, as zip needs its end first; the files
 * of a JSON or YAML bundle are in its text, which is read whole too.
 */
int
bundle_file_read_with(struct bundle *b, const char *path,
    const struct bundle_limits *l, struct bundle_content *c,
    struct bundle_report *r, struct errbuf *eb)
{
	struct buf text;
	struct stat st;
	size_t i;
	off_t start;
	int fd, rc = -1, archive, reg;

	buf_init(&text, l->max_total_size);
	if (strcmp(path, "-") == 0)
		fd = STDIN_FILENO;
	else if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		errbuf_set(eb, EC_USAGE, "open %s: %s", path, strerror(errno));
		goto out;
	}
	reg = fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
	if (reg && (unsigned long long)st.st_size > l->max_total_size) {
		errbuf_set(eb, EC_INVALID, "read %s: over %zu bytes", path,
		    l->max_total_size);
		goto bad;
	}
	if (read_head(fd, path, &text, eb) == -1)
		goto bad;
	/* memchr, not strchr, which would take a NUL for a space. */
	for (i = 0; i < text.len && memchr(" \t\r\n", text.data[i], 4) !=
	    NULL; i++)
		;
	archive = (i == text.len || text.data[i] != '{') &&
	    looks_archive(text.data, text.len);
	if (archive && reg && text.len > 0 && (start = lseek(fd,
	    -(off_t)text.len, SEEK_CUR)) != -1) {
		rc = read_archive(b, fd, start, NULL, 0, l, c, r, eb);
		goto out;
	}
	if (read_rest(fd, path, &text, eb) == -1)
		goto bad;
	if (archive)
		rc = read_archive(b, -1, 0, text.data, text.len, l, c, r, eb);
	else
		rc = bundle_parse_text(b, text.data, text.len, l, r, eb);
	goto out;
bad:
	if (eb->code == EC_INVALID)
		(void)bundle_report_problem(r, eb);
out:
	if (fd != -1 && fd != STDIN_FILENO)
		close(fd);
	buf_release(&text);
	if (rc == -1)
		errbuf_prefix(eb, "%s", path);
	return rc;
}

int
bundle_file_read(struct bundle *b, const char *path,
    const struct bundle_limits *l, struct bundle_report *r,
    struct errbuf *eb)
{
	return bundle_file_read_with(b, path, l, NULL, r, eb);
}
