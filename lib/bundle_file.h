/*
 * Bundle files: a file read whole and taken as JSON (bundle.h) or as an
 * archive (bundle_archive.h), whichever its content is.  The module sits
 * above both, so bundle.c, which the archive and tree readers build on,
 * never includes them.
 */
#ifndef CFGSYNC_BUNDLE_FILE_H
#define CFGSYNC_BUNDLE_FILE_H

struct bundle;
struct bundle_content;
struct bundle_limits;
struct bundle_report;
struct errbuf;

/*
 * Reads the bundle file path into b, which must be empty (bundle_init):
 * JSON or an archive, sniffed from the content, not the name (a first
 * non-space byte '{' means JSON), then validated.  Without a report the
 * first problem stops it; with one (for `bundle check`), every problem
 * goes to it, and the reported messages do not name the file, eb does.
 * An archive is read through once without its contents first, so one
 * that passes a limit is refused before memory is spent on it (see
 * bundle_file_read_with), then read again to keep them.
 * Returns 0, or -1 with EC_INVALID, EC_USAGE (cannot read the file) or
 * EC_INTERNAL.  path "-" is the standard input.
 */
int	bundle_file_read(struct bundle *, const char *path,
	    const struct bundle_limits *, struct bundle_report *,
	    struct errbuf *);

/*
 * Like bundle_file_read, an archive's file contents going where c says
 * (bundle_archive.h; NULL: kept): with DROP or SPOOL the memory it takes
 * does not grow with what the archive holds, and a limit stops the read
 * at the block that passes it.  An archive in a regular file is read from
 * the file in blocks, never whole.  Also EC_WRITE (the spool).
 */
int	bundle_file_read_with(struct bundle *, const char *path,
	    const struct bundle_limits *, struct bundle_content *,
	    struct bundle_report *, struct errbuf *);

#endif
