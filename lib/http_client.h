/*
 * The HTTP client of the node commands, on libcurl: one handle reused
 * across requests (keep-alive), JSON POSTs, a response body capped where it
 * arrives, bearer tokens and a CA file for HTTPS.
 */
#ifndef CFGSYNC_HTTP_CLIENT_H
#define CFGSYNC_HTTP_CLIENT_H

#include <stddef.h>

struct buf;
struct errbuf;
struct http_client;

/* The longest ETag kept or sent, quotes included. */
#define HTTP_CLIENT_ETAG_MAX	256

struct http_client_opts {
	const char	*token;		/* borrowed bearer token, or NULL */
	const char	*cacert;	/* borrowed CA file path, or NULL */
	const char	*pin;		/* "sha256//BASE64[;...]", or NULL */
	long		 connect_timeout_ms;
};

/* Returns a client, or NULL with EC_INTERNAL.  Free with http_client_free. */
struct http_client *http_client_new(const struct http_client_opts *,
	    struct errbuf *);
void	http_client_free(struct http_client *);

/*
 * POSTs body (application/json) to url and waits at most timeout_ms for the
 * whole answer.  Returns 0 with the HTTP status in *status and the body in
 * resp (whose max caps it), or -1 with EC_REMOTE (connect, TLS, timeout)
 * or EC_INVALID (an answer over the cap: asking again will not help) and a
 * message from libcurl.
 */
int	http_client_post(struct http_client *, const char *url,
	    const char *body, size_t len, long timeout_ms, long *status,
	    struct buf *resp, struct errbuf *);

/* Like http_client_post, for a GET. */
int	http_client_get(struct http_client *, const char *url,
	    long timeout_ms, long *status, struct buf *resp, struct errbuf *);

/*
 * Sends "If-None-Match: etag" with every request from now on, or (etag
 * NULL or "") no such header.  Returns 0, or -1 with EC_INVALID when etag
 * is longer than HTTP_CLIENT_ETAG_MAX or holds a control byte.
 */
int	http_client_set_if_none_match(struct http_client *, const char *etag,
	    struct errbuf *);

/*
 * The ETag header of the last answer, valid until the next request; ""
 * when it had none, or one over HTTP_CLIENT_ETAG_MAX or with a control
 * byte.
 */
const char *http_client_etag(const struct http_client *);

/*
 * Whether the last failure of http_client_post is one asking again cannot
 * mend: the server's certificate failed verification or its key is not
 * the pinned one, or the CA file cannot be read.
 */
int	http_client_error_final(const struct http_client *);

#endif
