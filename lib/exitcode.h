/*
 * The exit codes of every cfgsync command (SPEC section 2).  A code names a
 * class of failure a caller can act on, never a call site.
 */
#ifndef CFGSYNC_EXITCODE_H
#define CFGSYNC_EXITCODE_H

enum exitcode {
	EC_OK = 0,		/* success */
	EC_INTERNAL = 1,	/* internal or unexpected error */
	EC_USAGE = 2,		/* bad flag or argument */
	EC_MISSING = 3,		/* the server has no config for this node */
	EC_TIMEOUT = 4,		/* --timeout passed while not ready */
	EC_REMOTE = 5,		/* server or transport error past retries */
	EC_WRITE = 6,		/* local write error, nothing partial left */
	EC_INVALID = 7		/* invalid input data */
};

#endif
