/*
 * The libcurl client: see http_client.h.
 */
#include "http_client.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "buf.h"
#include "errbuf.h"
#include "exitcode.h"
#include "banned.h"

#define HTTP_CLIENT_AUTH_MAX	4200
/* The connect timeout when the caller gives none. */
#define HTTP_CLIENT_CONNECT_TIMEOUT_MS	5000L

struct http_client {
	CURL			*curl;
	struct curl_slist	*headers;
	char			 errmsg[CURL_ERROR_SIZE];
	char			 inm[HTTP_CLIENT_ETAG_MAX + 32]; /* header */
	char			 etag[HTTP_CLIENT_ETAG_MAX + 1]; /* last */
	int			 final;		/* the last failure: no retry */
};

/*
 * Failures that asking again cannot mend: the server's certificate or key
 * is not the one trusted, or the trust itself cannot be read.
 */
static int
final_error(CURLcode rc)
{
	switch (rc) {
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_CRL_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
		return 1;
	default:
		return 0;
	}
}

static size_t
on_data(char *data, size_t size, size_t nmemb, void *arg)
{
	struct buf *b = arg;

	(void)size;	/* always 1 */
	if (buf_add(b, data, nmemb) == -1)
		return 0;	/* makes curl fail with CURLE_WRITE_ERROR */
	return nmemb;
}

struct http_client *
http_client_new(const struct http_client_opts *o, struct errbuf *eb)
{
	struct http_client *c;
	struct curl_slist *h;
	char auth[HTTP_CLIENT_AUTH_MAX];
	int n;

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK ||
	    (c = calloc(1, sizeof(*c))) == NULL) {
		errbuf_set(eb, EC_INTERNAL, "cannot start libcurl");
		return NULL;
	}
	if ((c->curl = curl_easy_init()) == NULL)
		goto nomem;
	if ((h = curl_slist_append(NULL, "Content-Type: application/json")) ==
	    NULL)
		goto nomem;
	c->headers = h;
	/* No "Expect: 100-continue" round trip for small bodies. */
	if ((h = curl_slist_append(c->headers, "Expect:")) == NULL)
		goto nomem;
	c->headers = h;
	if (o->token != NULL) {
		n = snprintf(auth, sizeof(auth), "Authorization: Bearer %s",
		    o->token);
		if (n < 0 || (size_t)n >= sizeof(auth)) {
			http_client_free(c);
			errbuf_set(eb, EC_USAGE, "token too long");
			return NULL;
		}
		h = curl_slist_append(c->headers, auth);
		explicit_bzero(auth, sizeof(auth));
		if (h == NULL)
			goto nomem;
		c->headers = h;
	}
	curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, c->headers);
	curl_easy_setopt(c->curl, CURLOPT_ERRORBUFFER, c->errmsg);
	curl_easy_setopt(c->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c->curl, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c->curl, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c->curl, CURLOPT_CONNECTTIMEOUT_MS,
	    o->connect_timeout_ms > 0 ? o->connect_timeout_ms :
	    HTTP_CLIENT_CONNECT_TIMEOUT_MS);
	curl_easy_setopt(c->curl, CURLOPT_USERAGENT,
	    "cfgsync/" CFGSYNC_VERSION);
	/* Payloads are text: the servers may send them compressed. */
	curl_easy_setopt(c->curl, CURLOPT_ACCEPT_ENCODING, "gzip");
	if (o->cacert != NULL)
		curl_easy_setopt(c->curl, CURLOPT_CAINFO, o->cacert);
	if (o->pin != NULL &&
	    curl_easy_setopt(c->curl, CURLOPT_PINNEDPUBLICKEY, o->pin) !=
	    CURLE_OK) {
		http_client_free(c);
		errbuf_set(eb, EC_USAGE, "this libcurl cannot pin a key");
		return NULL;
	}
	/*
	 * A pin alone trusts the key, as kubeadm's discovery hash does: the
	 * chain and the name are not checked then, the key always is.
	 */
	if (o->pin != NULL && o->cacert == NULL) {
		curl_easy_setopt(c->curl, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(c->curl, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	return c;
nomem:
	http_client_free(c);
	errbuf_set(eb, EC_INTERNAL, "out of memory");
	return NULL;
}

void
http_client_free(struct http_client *c)
{
	if (c == NULL)
		return;
	curl_slist_free_all(c->headers);
	if (c->curl != NULL)
		curl_easy_cleanup(c->curl);
	free(c);
}

/* Whether s is a header value we keep: short, no control byte. */
static int
etag_ok(const char *s)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++)
		if (i >= HTTP_CLIENT_ETAG_MAX || (unsigned char)s[i] < 0x20 ||
		    s[i] == 0x7f)
			return 0;
	return 1;
}

int
http_client_set_if_none_match(struct http_client *c, const char *etag,
    struct errbuf *eb)
{
	int n;

	c->inm[0] = '\0';
	if (etag == NULL || etag[0] == '\0')
		return 0;
	if (!etag_ok(etag))
		return errbuf_set(eb, EC_INVALID, "etag not usable");
	n = snprintf(c->inm, sizeof(c->inm), "If-None-Match: %s", etag);
	if (n < 0 || (size_t)n >= sizeof(c->inm)) {
		c->inm[0] = '\0';
		return errbuf_set(eb, EC_INVALID, "etag too long");
	}
	return 0;
}

const char *
http_client_etag(const struct http_client *c)
{
	return c->etag;
}

/* Keeps the ETag of the answer just received, if it has a usable one. */
static void
keep_etag(struct http_client *c)
{
	struct curl_header *h;

	c->etag[0] = '\0';
	if (curl_easy_header(c->curl, "ETag", 0, CURLH_HEADER, -1, &h) !=
	    CURLHE_OK || !etag_ok(h->value))
		return;
	(void)snprintf(c->etag, sizeof(c->etag), "%s", h->value);
}

/*
 * The headers of one request: the fixed ones, plus If-None-Match when set
 * (*extra then owns the list and is freed after the request).
 */
static struct curl_slist *
request_headers(struct http_client *c, struct curl_slist **extra)
{
	struct curl_slist *l = NULL, *h, *i;

	*extra = NULL;
	if (c->inm[0] == '\0')
		return c->headers;
	for (i = c->headers; i != NULL; i = i->next) {
		if ((h = curl_slist_append(l, i->data)) == NULL)
			goto nomem;
		l = h;
	}
	if ((h = curl_slist_append(l, c->inm)) == NULL)
		goto nomem;
	*extra = h;
	return h;
nomem:
	curl_slist_free_all(l);
	return NULL;
}

/* One request, a POST of body or (body NULL) a GET. */
static int
request(struct http_client *c, const char *url, const char *body,
    size_t len, long timeout_ms, long *status, struct buf *resp,
    struct errbuf *eb)
{
	struct curl_slist *headers, *extra;
	CURLcode rc;

	buf_reset(resp);
	c->errmsg[0] = '\0';
	c->etag[0] = '\0';
	c->final = 0;
	if ((headers = request_headers(c, &extra)) == NULL)
		return errbuf_set(eb, EC_INTERNAL, "out of memory");
	curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(c->curl, CURLOPT_URL, url);
	if (body != NULL) {
		curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c->curl, CURLOPT_POSTFIELDSIZE_LARGE,
		    (curl_off_t)len);
	} else
		curl_easy_setopt(c->curl, CURLOPT_HTTPGET, 1L);
	curl_easy_setopt(c->curl, CURLOPT_WRITEDATA, resp);
	curl_easy_setopt(c->curl, CURLOPT_TIMEOUT_MS, timeout_ms);
	rc = curl_easy_perform(c->curl);
	curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, c->headers);
	curl_slist_free_all(extra);
	if (rc == CURLE_OK)
		keep_etag(c);
	if (rc == CURLE_WRITE_ERROR)
		return errbuf_set(eb, EC_INVALID, "%s %s: answer over %zu "
		    "bytes", body != NULL ? "POST" : "GET", url, resp->max);
	c->final = final_error(rc);
	if (rc != CURLE_OK)
		return errbuf_set(eb, EC_REMOTE, "%s %s: %s",
		    body != NULL ? "POST" : "GET", url,
		    c->errmsg[0] != '\0' ? c->errmsg : curl_easy_strerror(rc));
	curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, status);
	return 0;
}

int
http_client_post(struct http_client *c, const char *url, const char *body,
    size_t len, long timeout_ms, long *status, struct buf *resp,
    struct errbuf *eb)
{
	return request(c, url, body, len, timeout_ms, status, resp, eb);
}

int
http_client_get(struct http_client *c, const char *url, long timeout_ms,
    long *status, struct buf *resp, struct errbuf *eb)
{
	return request(c, url, NULL, 0, timeout_ms, status, resp, eb);
}

int
http_client_error_final(const struct http_client *c)
{
	return c->final;
}
