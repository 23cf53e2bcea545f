/*
 * The HTTP server's socket and daemon: the listening socket bound from
 * "[HOST:]PORT", the TLS certificate and key read into memory, the one
 * libmicrohttpd daemon started on them (its options built as an array, TLS
 * ones only when TLS is on), and libmicrohttpd's own messages routed to
 * diag without the HTML error pages they quote.
 */
#include "http_server_internal.h"

#include <sys/socket.h>
#include <sys/types.h>

#include <errno.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <microhttpd.h>

#include "diag.h"
#include "errbuf.h"
#include "exitcode.h"
#include "fsx.h"
#include "banned.h"

#define HTTP_TLS_MAX		(1UL << 20)
#define HTTP_MHD_MSG_MAX	512
#define HTTP_MHD_OPTIONS_MAX	20
/* connections waiting in the kernel for accept (Linux caps at somaxconn) */
#define HTTP_LISTEN_BACKLOG	4096
/*
 * libmicrohttpd's memory pool per connection: the request head, its
 * parsed headers (56 bytes each) and the response head.  Bodies are
 * copied out as they come, so a small pool is enough: 10 000 parked polls
 * take 53 MiB, 63 once served (with 4 KiB: 63 and 73).  A request head of
 * about 2.4 KiB is the most it serves, a token (NODE_AUTH_TOKEN_MAX) at
 * most 1 KiB of it; a longer head is 431, or its connection is closed
 * where the head fits but leaves no room for the answer's.
 */
#define HTTP_CONN_POOL		3072

/* Drops the tags of the HTML in s[0..len), keeping its body's text. */
static size_t
html_text(char *out, size_t cap, const char *s, size_t len)
{
	const char *body, *end = s + len;
	size_t n = 0;
	int in_tag = 0;

	/* The <title> repeats the body; start after it where there is one. */
	if ((body = strstr(s, "<body>")) != NULL && body < end)
		s = body;
	for (; s < end && n + 1 < cap; s++) {
		if (*s == '<')
			in_tag = 1;
		else if (*s == '>')
			in_tag = 0;
		else if (!in_tag)
			out[n++] = *s;
	}
	out[n] = '\0';
	return n;
}

void
http_listen_clean_message(char *msg)
{
	static const char open_q[] = " ('<html>", close_q[] = "</html>')";
	char text[HTTP_MHD_MSG_MAX], *open, *close;
	size_t n, span;

	n = strlen(msg);
	while (n > 0 && msg[n - 1] == '\n')
		msg[--n] = '\0';
	if ((open = strstr(msg, open_q)) == NULL ||
	    (close = strstr(open, close_q)) == NULL)
		return;
	close += sizeof(close_q) - 1;
	span = (size_t)(close - open);
	/* " ('<html>...</html>')" becomes ": " and the page's text. */
	n = html_text(text, sizeof(text), open + 3, span - 5);
	if (n + 2 > span)
		n = span - 2;
	open[0] = ':';
	open[1] = ' ';
	memcpy(open + 2, text, n);
	memmove(open + 2 + n, close, strlen(close) + 1);
}

static void
mhd_log(void *cls, const char *fmt, va_list ap)
{
	static int limit_said;
	char msg[HTTP_MHD_MSG_MAX];

	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	http_listen_clean_message(msg);
	/*
	 * A client that hangs up mid-request, or one the server cut
	 * (http_conns.c says that once), is not the server's error.
	 */
	if (strstr(msg, "detected connection closure") != NULL)
		return;
	/* A flood at the (per-IP) limit is said once, not per connection. */
	if (strstr(msg, "connection limit") != NULL) {
		if (__atomic_exchange_n(&limit_said, 1, __ATOMIC_RELAXED))
			return;
		diag_warn("http: %s (said once)", msg);
		return;
	}
	diag_warn("http: %s", msg);
}

int
http_listen_socket(struct http_server *srv, const char *spec,
    struct errbuf *eb)
{
	char host[256], port[16], nhost[NI_MAXHOST], nport[NI_MAXSERV];
	struct addrinfo hints, *res = NULL, *ai;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	const char *colon;
	size_t hl;
	int fd = -1, one = 1, e, n;

	colon = strrchr(spec, ':');
	if (colon == NULL) {
		n = snprintf(host, sizeof(host), "0.0.0.0");
		colon = spec - 1;
	} else {
		hl = (size_t)(colon - spec);
		if (hl >= 2 && spec[0] == '[' && spec[hl - 1] == ']')
			n = snprintf(host, sizeof(host), "%.*s", (int)hl - 2,
			    spec + 1);
		else
			n = snprintf(host, sizeof(host), "%.*s", (int)hl, spec);
		if (hl == 0)
			n = snprintf(host, sizeof(host), "0.0.0.0");
	}
	if (n < 0 || (size_t)n >= sizeof(host) ||
	    (n = snprintf(port, sizeof(port), "%s", colon + 1)) < 0 ||
	    (size_t)n >= sizeof(port) || port[0] == '\0' ||
	    strspn(port, "0123456789") != strlen(port))
		return errbuf_set(eb, EC_USAGE,
		    "listen %s: not [HOST:]PORT", spec);
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	if ((e = getaddrinfo(host, port, &hints, &res)) != 0)
		return errbuf_set(eb, EC_USAGE, "listen %s: %s", spec,
		    gai_strerror(e));
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC |
		    SOCK_NONBLOCK, ai->ai_protocol);
		if (fd == -1)
			continue;
		(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one,
		    sizeof(one));
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 &&
		    listen(fd, HTTP_LISTEN_BACKLOG) == 0)
			break;
		e = errno;
		close(fd);
		fd = -1;
		errno = e;
	}
	freeaddrinfo(res);
	if (fd == -1)
		return errbuf_set(eb, EC_USAGE, "listen %s: %s", spec,
		    strerror(errno));
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) == -1 ||
	    getnameinfo((struct sockaddr *)&ss, sl, nhost, sizeof(nhost),
	    nport, sizeof(nport), NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
		close(fd);
		return errbuf_set(eb, EC_INTERNAL, "listen %s: %s", spec,
		    strerror(errno));
	}
	srv->port = (unsigned)strtoul(nport, NULL, 10);
	n = snprintf(srv->url, sizeof(srv->url), "%s://%s%s%s:%s",
	    srv->cfg.tls_cert != NULL ? "https" : "http",
	    ss.ss_family == AF_INET6 ? "[" : "", nhost,
	    ss.ss_family == AF_INET6 ? "]" : "", nport);
	if (n < 0 || (size_t)n >= sizeof(srv->url)) {
		close(fd);
		return errbuf_set(eb, EC_INTERNAL,
		    "listen %s: address too long", spec);
	}
	return fd;
}

static int
read_pem(const char *path, char **out, struct errbuf *eb)
{
	struct buf b;

	buf_init(&b, HTTP_TLS_MAX);
	if (fsx_read_file(path, &b, eb) == -1) {
		buf_release(&b);
		eb->code = EC_USAGE;
		return -1;
	}
	if ((*out = buf_detach(&b, NULL)) == NULL)
		return errbuf_set(eb, EC_INTERNAL, "out of memory");
	return 0;
}

/*
 * Checks that the PEM texts are a certificate chain and a private key that
 * belong together, naming the file at fault (EC_USAGE).
 */
static int
tls_check(struct http_server *srv, struct errbuf *eb)
{
	gnutls_certificate_credentials_t cred = NULL;
	gnutls_x509_crt_t *crts = NULL;
	gnutls_x509_privkey_t key = NULL;
	gnutls_datum_t c, k;
	unsigned i, ncrt = 0;
	int e, rc = -1;

	c.data = (unsigned char *)srv->tls_cert;
	c.size = (unsigned)strlen(srv->tls_cert);
	k.data = (unsigned char *)srv->tls_key;
	k.size = (unsigned)strlen(srv->tls_key);
	if ((e = gnutls_x509_crt_list_import2(&crts, &ncrt, &c,
	    GNUTLS_X509_FMT_PEM, 0)) < 0) {
		errbuf_set(eb, EC_USAGE, "--tls-cert %s: not a PEM "
		    "certificate: %s", srv->cfg.tls_cert, gnutls_strerror(e));
		goto out;
	}
	if ((e = gnutls_x509_privkey_init(&key)) < 0 ||
	    (e = gnutls_x509_privkey_import2(key, &k, GNUTLS_X509_FMT_PEM,
	    NULL, 0)) < 0) {
		errbuf_set(eb, EC_USAGE, "--tls-key %s: not a PEM private "
		    "key: %s", srv->cfg.tls_key, gnutls_strerror(e));
		goto out;
	}
	if ((e = gnutls_certificate_allocate_credentials(&cred)) < 0 ||
	    (e = gnutls_certificate_set_x509_key_mem(cred, &c, &k,
	    GNUTLS_X509_FMT_PEM)) < 0) {
		errbuf_set(eb, EC_USAGE, "--tls-key %s: does not go with "
		    "--tls-cert %s: %s", srv->cfg.tls_key, srv->cfg.tls_cert,
		    gnutls_strerror(e));
		goto out;
	}
	rc = 0;
out:
	if (cred != NULL)
		gnutls_certificate_free_credentials(cred);
	if (key != NULL)
		gnutls_x509_privkey_deinit(key);
	for (i = 0; i < ncrt; i++)
		gnutls_x509_crt_deinit(crts[i]);
	gnutls_free(crts);
	return rc;
}

int
http_listen_tls_load(struct http_server *srv, struct errbuf *eb)
{
	if (srv->cfg.tls_cert == NULL)
		return 0;
	if (read_pem(srv->cfg.tls_cert, &srv->tls_cert, eb) == -1 ||
	    read_pem(srv->cfg.tls_key, &srv->tls_key, eb) == -1)
		return -1;
	return tls_check(srv, eb);
}

/* Appends one option to the array opts[0..*n). */
static void
option(struct MHD_OptionItem *opts, size_t *n, enum MHD_OPTION o,
    intptr_t value, void *ptr)
{
	opts[*n].option = o;
	opts[*n].value = value;
	opts[*n].ptr_value = ptr;
	(*n)++;
}

struct MHD_Daemon *
http_listen_daemon(struct http_server *srv, int fd, struct errbuf *eb)
{
	struct MHD_OptionItem opts[HTTP_MHD_OPTIONS_MAX];
	struct MHD_Daemon *d;
	unsigned flags, threads;
	size_t n = 0;
	long ncpu;

	if ((threads = srv->cfg.threads) == 0) {
		ncpu = sysconf(_SC_NPROCESSORS_ONLN);
		threads = ncpu > 0 ? (unsigned)ncpu : 1;
	}
	flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME |
	    MHD_USE_ERROR_LOG;
	option(opts, &n, MHD_OPTION_EXTERNAL_LOGGER, (intptr_t)mhd_log, srv);
	option(opts, &n, MHD_OPTION_LISTEN_SOCKET, fd, NULL);
	option(opts, &n, MHD_OPTION_THREAD_POOL_SIZE, threads, NULL);
	option(opts, &n, MHD_OPTION_CONNECTION_LIMIT,
	    srv->cfg.max_connections, NULL);
	option(opts, &n, MHD_OPTION_CONNECTION_TIMEOUT,
	    srv->cfg.connection_timeout, NULL);
	option(opts, &n, MHD_OPTION_CONNECTION_MEMORY_LIMIT, HTTP_CONN_POOL,
	    NULL);
	if (srv->cfg.max_connections_per_ip > 0)
		option(opts, &n, MHD_OPTION_PER_IP_CONNECTION_LIMIT,
		    srv->cfg.max_connections_per_ip, NULL);
	option(opts, &n, MHD_OPTION_NOTIFY_CONNECTION,
	    (intptr_t)http_conns_notify, srv);
	option(opts, &n, MHD_OPTION_UNESCAPE_CALLBACK,
	    (intptr_t)http_dispatch_unescape, srv);
	option(opts, &n, MHD_OPTION_NOTIFY_COMPLETED,
	    (intptr_t)http_dispatch_completed, srv);
	if (srv->tls_cert != NULL) {
		flags |= MHD_USE_TLS;
		option(opts, &n, MHD_OPTION_HTTPS_MEM_CERT, 0, srv->tls_cert);
		option(opts, &n, MHD_OPTION_HTTPS_MEM_KEY, 0, srv->tls_key);
	}
	option(opts, &n, MHD_OPTION_END, 0, NULL);
	d = MHD_start_daemon(flags, 0, NULL, NULL, http_dispatch_request, srv,
	    MHD_OPTION_ARRAY, opts, MHD_OPTION_END);
	if (d == NULL)
		errbuf_set(eb, EC_INTERNAL, "listen %s: cannot start the "
		    "HTTP server", srv->cfg.listen);
	return d;
}
