/*
 * Installing a payload on the node (SPEC 6): where each artifact goes
 * (--out, --route and the CFG_* routes) and the all-or-nothing write.
 *
 * A file whose content, mode and (as root) owner already match is left
 * alone.  Every other file goes to a temporary file in its target
 * directory; the checks run on those; one syncfs(2) per file system makes
 * them durable; an intent record naming every rename is made durable in
 * the anchor directory (--out, else the first file's directory); the
 * renames follow, then one more syncfs per file system, then the record
 * goes.  A run killed after the record was written is rolled forward by
 * the next install into the same tree, one killed before it leaves the old
 * files; either way the next install removes the temporaries left behind.
 * Under --out no path component is followed through a symlink, so nothing
 * lands outside it.  Directory descriptors are opened as needed and a few
 * kept, so the number of directories is not bound by the open-file limit.
 */
#ifndef CFGSYNC_OUTPUT_H
#define CFGSYNC_OUTPUT_H

#include <stddef.h>

struct artifact_set;
struct errbuf;

struct output_route {
	const char	*artifact;	/* borrowed; with or without "/" */
	const char	*target;	/* borrowed; a path of this machine */
};

/* What an install did, filled by output_install when asked for. */
struct output_result {
	size_t	written;	/* files renamed into place */
	size_t	unchanged;	/* files already as the payload has them */
	size_t	replayed;	/* renames of an earlier, killed run */
	size_t	removed;	/* temporaries of an earlier run removed */
};

/* The default of check_timeout, in seconds. */
#define OUTPUT_CHECK_TIMEOUT	30

struct output_opts {
	const char			*out_dir;	/* borrowed, or NULL */
	const struct output_route	*routes;	/* borrowed */
	size_t				 nroutes;
	int				 apply_owner;	/* chown as root */
	/*
	 * Run with /bin/sh -c before anything is renamed: check_cmd once
	 * per file to be written, "{}" standing for its staged copy;
	 * check_dir_cmd once, "{}" standing for a directory laid out as
	 * the files will be.  "{}" becomes a path quoted for the shell.
	 * Each gets check_timeout seconds (0: OUTPUT_CHECK_TIMEOUT).
	 */
	const char			*check_cmd;	/* borrowed, or NULL */
	const char			*check_dir_cmd;	/* borrowed, or NULL */
	unsigned			 check_timeout;
	const char			*tmpdir;	/* borrowed: where
							   check_dir_cmd's
							   layout goes; NULL:
							   /tmp */
	struct output_result		*result;	/* borrowed, or NULL */
};

/*
 * Writes every file of set where opts sends it, all or nothing (digests
 * were checked where the set was read: protocol_parse_payload, bundle
 * loading).  Returns 0, or -1 with EC_WRITE (permission, disk full, file
 * too large, unsafe path; temporaries and directories it created removed),
 * EC_INVALID (two files routed to one place, a check that failed or timed
 * out; nothing replaced) or EC_INTERNAL.  A check's stderr (and stdout)
 * go to this process's stderr.
 */
int	output_install(const struct artifact_set *, const struct output_opts *,
	    struct errbuf *);

#endif
