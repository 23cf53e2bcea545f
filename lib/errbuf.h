/*
 * The error record lib/ functions fill instead of printing or exiting: an
 * exit-code class and a one-line "what failed: why" message.  cmd/ turns it
 * into the process's exit.
 */
#ifndef CFGSYNC_ERRBUF_H
#define CFGSYNC_ERRBUF_H

#define ERRBUF_MSG_MAX	256

struct errbuf {
	int	code;			/* EC_* class */
	char	msg[ERRBUF_MSG_MAX];	/* "what failed: why", no prefix */
};

/* Sets code and message (truncated to fit, never overflowing); returns -1. */
int	errbuf_set(struct errbuf *, int, const char *, ...)
	    __attribute__((format(printf, 3, 4)));

/* Prefixes the message already in eb with "what: "; returns -1. */
int	errbuf_prefix(struct errbuf *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));

#endif
