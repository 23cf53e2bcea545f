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
 * Whether the last failure of http_client_post is one asking again cannot
 * mend: the server's certificate failed verification or its key is not
 * the pinned one, or the CA file cannot be read.
 */
int	http_client_error_final(const struct http_client *);

#endif
