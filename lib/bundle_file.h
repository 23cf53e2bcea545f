/*
 * Bundle files: a file read whole and taken as JSON (bundle.h) or as an
 * archive (bundle_archive.h), whichever its content is.  The module sits
 * above both, so bundle.c, which the archive and tree readers build on,
 * never includes them.
 */
#ifndef CFGSYNC_BUNDLE_FILE_H
#define CFGSYNC_BUNDLE_FILE_H

struct bundle;
struct bundle_limits;
struct bundle_report;
struct errbuf;

/*
 * Reads the bundle file path into b, which must be empty (bundle_init):
 * JSON or an archive, sniffed from the content, not the name (a first
 * non-space byte '{' means JSON), then validated.  Without a report the
 * first problem stops it; with one (for `bundle check`), every problem
 * goes to it, and the reported messages do not name the file, eb does.
 * Returns 0, or -1 with EC_INVALID, EC_USAGE (cannot read the file) or
 * EC_INTERNAL.
 */
int	bundle_file_read(struct bundle *, const char *path,
	    const struct bundle_limits *, struct bundle_report *,
	    struct errbuf *);

#endif
