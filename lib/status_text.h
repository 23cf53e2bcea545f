/*
 * The GET /status document (both servers) made readable for people:
 * `cfgsync status` prints it as a few labelled lines, or as one line per
 * change when it watches a server without a terminal.
 */
#ifndef CFGSYNC_STATUS_TEXT_H
#define CFGSYNC_STATUS_TEXT_H

#include <stddef.h>

struct buf;
struct errbuf;

/*
 * Appends the status document doc[0..len) to out as labelled lines, or,
 * with oneline, as one line.  Returns 0, or -1 with EC_INVALID (not a
 * status document) or EC_INTERNAL.
 */
int	status_text(struct buf *out, const char *doc, size_t len, int oneline,
	    struct errbuf *);

#endif
