/*
 * Installing a payload on the node (SPEC 6): where each artifact goes
 * (--out, --route and the CFG_* routes) and the all-or-nothing write: every
 * file goes to a temporary file in its target directory and is fsynced, and
 * only when all are ready are they renamed into place.  Under --out no path
 * component is followed through a symlink, so nothing lands outside it.
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

struct output_opts {
	const char			*out_dir;	/* borrowed, or NULL */
	const struct output_route	*routes;	/* borrowed */
	size_t				 nroutes;
	int				 apply_owner;	/* chown as root */
};

/*
 * Writes every file of set where opts sends it, all or nothing (digests
 * were checked where the set was read: protocol_parse_payload, bundle
 * loading).  Returns 0, or -1 with EC_WRITE (permission, disk full, unsafe
 * path; temporaries and directories it created removed), EC_INVALID (two
 * files routed to one place) or EC_INTERNAL.
 */
int	output_install(const struct artifact_set *, const struct output_opts *,
	    struct errbuf *);

#endif
