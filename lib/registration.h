/*
 * NodeRegistration (SPEC 3): parse and validate the body of POST /register
 * and POST /node, and render it back.  Metadata is opaque: its exact JSON
 * text is kept byte for byte and handed on unchanged.
 */
#ifndef CFGSYNC_REGISTRATION_H
#define CFGSYNC_REGISTRATION_H

#include <stddef.h>

struct buf;
struct errbuf;

#define REGISTRATION_ID_MAX	255
#define REGISTRATION_IP_MAX	45	/* INET6_ADDRSTRLEN - 1 */

struct registration {
	char	 identifier[REGISTRATION_ID_MAX + 1];
	char	 ip[REGISTRATION_IP_MAX + 1];
	char	*metadata;	/* raw JSON text, or NULL for none/null */
	size_t	 metadata_len;
};

/*
 * Checks an identifier: 1-255 bytes of [A-Za-z0-9._:@-], not "." or "..".
 * Returns 0, or -1 with EC_INVALID.
 */
int	registration_identifier_check(const char *, size_t, struct errbuf *);

/* Checks an IPv4 dotted quad or IPv6 text address; 0 or -1 (EC_INVALID). */
int	registration_ip_check(const char *, struct errbuf *);

/*
 * Checks metadata given as text (a flag, a file): one JSON value, plain
 * as registration_parse requires, at most max bytes.  Sets *raw to its
 * exact bytes without surrounding white space, a heap string the caller
 * frees, or NULL for "null".  Returns 0, or -1 with EC_INVALID or
 * EC_INTERNAL.
 */
int	registration_metadata_check(const char *, size_t, size_t max,
	    char **raw, struct errbuf *);

/*
 * Parses a NodeRegistration document of at most max bytes into r (which
 * must be zeroed or released).  Returns 0, or -1 with EC_INVALID and a
 * message saying which field is wrong, or EC_INTERNAL.
 */
int	registration_parse(struct registration *, const char *, size_t,
	    size_t max, struct errbuf *);

/*
 * Fills r from parts already validated by the caller (metadata: raw JSON
 * text or NULL).  Returns 0, or -1 with EC_INVALID or EC_INTERNAL.
 */
int	registration_set(struct registration *, const char *identifier,
	    const char *ip, const char *metadata, struct errbuf *);

/* Appends {"identifier":...,"ip":...[,"metadata":...]} to b; 0 or -1. */
int	registration_render(struct buf *, const struct registration *);

/*
 * Appends the same members without the braces, for a document that adds
 * members of its own (the snapshot's seq and registered_at); 0 or -1.
 */
int	registration_render_members(struct buf *, const struct registration *);

/* Returns 1 when a and b carry the same identifier, ip and metadata. */
int	registration_equal(const struct registration *,
	    const struct registration *);

/* Deep-copies src into dst; 0 or -1 (out of memory). */
int	registration_copy(struct registration *, const struct registration *);

void	registration_release(struct registration *);

#endif
