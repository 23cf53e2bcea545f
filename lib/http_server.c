/*
 * The HTTP server on libmicrohttpd (see http_server.h): its lifecycle and
 * the response bodies handlers return.  The work is split by concern:
 * http_listen.c (socket, TLS, the daemon and its log), http_dispatch.c
 * (admission, routing, auth, body caps), http_park.c (parked long
 * polls and the deadline thread), http_metrics.c (request counts and
 * durations, the /metrics page).
 *
 * Threads.
 * - libmicrohttpd's pool: cfg.threads threads (one per core by default),
 *   each with its own epoll loop, started by http_listen_daemon.  Every
 *   callback of a connection (http_dispatch_request, then
 *   http_dispatch_completed) runs on the pool thread that owns it, so a
 *   struct http_conn is touched by one thread at a time; handlers run
 *   there too, several at once for different connections.
 * - The deadline thread (http_park_deadline_thread): sleeps on srv->cond
 *   (CLOCK_MONOTONIC) until the nearest deadline of a parked request and
 *   resumes those whose ?wait has run out.
 * - Any thread of the application may call http_server_wake; the main
 *   thread calls http_server_start and http_server_stop.
 *
 * Locks and order.  srv->lock guards srv->parked, srv->wake_seq and
 * srv->stopping; srv->cond is signalled when a request is parked and on
 * stop.  It is the innermost lock: a handler may hold its own locks while
 * it returns, but never calls into the server with one held that a waker
 * takes, and nothing here takes another lock while holding srv->lock
 * (MHD_suspend_connection and MHD_resume_connection only mark the
 * connection and signal its pool thread).  The request counters and the
 * duration histograms are atomics, read without a lock by /metrics.
 *
 * How a parked request is resumed.  dispatch records wake_seq, runs the
 * handler, and if it asked to wait takes srv->lock: if no wake came
 * since (wake_seq unchanged), the server is not stopping and the deadline
 * is ahead, it parks (suspends) the connection and returns; otherwise it
 * runs the handler again at once, so no wake is lost between the
 * handler's look and the park.  http_server_wake bumps wake_seq and
 * resumes every parked request; the deadline thread resumes the ones past
 * their deadline with req.timed_out set; stop resumes all with
 * req.stopping set.  libmicrohttpd then calls http_dispatch_request again
 * on the connection's pool thread with the same state, and the handler
 * runs once more and answers (or parks again after a wake).
 */
#include "http_server.h"

#include <sys/resource.h>

#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "clock.h"
#include "diag.h"
#include "errbuf.h"
#include "exitcode.h"
#include "http_server_internal.h"
#include "protocol.h"
#include "banned.h"

#define HTTP_STOP_GRACE_MS	5000
#define HTTP_BODY_PARTS_MAX	8

void
http_server_config_init(struct http_server_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->listen = "0.0.0.0:4400";
	cfg->max_body = HTTP_SERVER_MAX_BODY;
	cfg->max_connections = http_server_default_connections();
	cfg->max_connections_per_ip = HTTP_SERVER_PER_IP_AUTO;
	cfg->connection_timeout = HTTP_SERVER_CONN_TIMEOUT;
}

unsigned
http_server_default_connections(void)
{
	struct rlimit rl;
	rlim_t n;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1 || rl.rlim_cur == RLIM_INFINITY)
		return HTTP_SERVER_MAX_CONNECTIONS;
	n = rl.rlim_cur;
	n = n > 2 * HTTP_SERVER_FD_HEADROOM ? n - HTTP_SERVER_FD_HEADROOM :
	    n / 2;
	if (n < HTTP_SERVER_MIN_CONNECTIONS)
		return HTTP_SERVER_MIN_CONNECTIONS;
	if (n > HTTP_SERVER_MAX_CONNECTIONS)
		return HTTP_SERVER_MAX_CONNECTIONS;
	return (unsigned)n;
}

unsigned
http_server_default_per_ip(unsigned max)
{
	unsigned n = max / HTTP_SERVER_PER_IP_DIVISOR;

	return n > 0 ? n : 1;
}

/*
 * Gives b the response r and the JSON content type.  r NULL (none could
 * be made): b is freed and release(arg) called, as the response would
 * have.  Returns b, or NULL.
 */
static struct http_body *
body_take(struct http_body *b, struct MHD_Response *r,
    void (*release)(void *), void *arg)
{
	if ((b->response = r) == NULL) {
		free(b);
		if (release != NULL)
			release(arg);
		return NULL;
	}
	if (MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
	    "application/json") != MHD_YES) {
		/* The response exists: destroying it calls release. */
		http_body_free(b);
		return NULL;
	}
	return b;
}

struct http_body *
http_body_new(int status, const char *data, size_t len)
{
	struct http_body *b;

	if ((b = calloc(1, sizeof(*b))) == NULL)
		return NULL;
	b->status = status;
	b->len = len;
	b->etag = "";
	return body_take(b, MHD_create_response_from_buffer(len,
	    (void *)data, MHD_RESPMEM_MUST_COPY), NULL, NULL);
}

struct http_body *
http_body_new_parts(int status, const struct http_part *parts,
    unsigned nparts, void (*release)(void *), void *arg)
{
	struct MHD_IoVec iov[HTTP_BODY_PARTS_MAX];
	struct http_body *b;
	unsigned i;

	if (nparts > HTTP_BODY_PARTS_MAX ||
	    (b = calloc(1, sizeof(*b))) == NULL) {
		release(arg);
		return NULL;
	}
	b->status = status;
	b->etag = "";
	for (i = 0; i < nparts; i++) {
		iov[i].iov_base = parts[i].data;
		iov[i].iov_len = parts[i].len;
		b->len += parts[i].len;
	}
	/* libmicrohttpd keeps a copy of the vector, not of the data. */
	return body_take(b, MHD_create_response_from_iovec(iov, nparts,
	    release, arg), release, arg);
}

struct http_body *
http_body_new_lent(int status, const void *data, size_t len,
    void (*release)(void *), void *arg)
{
	struct http_body *b;

	if ((b = calloc(1, sizeof(*b))) == NULL) {
		release(arg);
		return NULL;
	}
	b->status = status;
	b->len = len;
	b->etag = "";
	/* A buffer response: libmicrohttpd calls release once it is done. */
	return body_take(b,
	    MHD_create_response_from_buffer_with_free_callback_cls(len,
	    (void *)(uintptr_t)data, release, arg), release, arg);
}

void
http_body_free(struct http_body *b)
{
	unsigned i;

	if (b == NULL)
		return;
	for (i = 0; i < HTTP_NVARIANTS; i++)
		http_body_free(b->variants[i]);
	if (b->response != NULL)
		MHD_destroy_response(b->response);
	free(b);
}

size_t
http_body_len(const struct http_body *b)
{
	return b->len;
}

int
http_body_set_header(struct http_body *b, const char *name, const char *value)
{
	const char *old;
	int rc;

	if ((old = MHD_get_response_header(b->response, name)) != NULL)
		(void)MHD_del_response_header(b->response, name, old);
	rc = MHD_add_response_header(b->response, name, value) == MHD_YES ?
	    0 : -1;
	/* The tag is read from the response's copy of its header. */
	if (strcasecmp(name, MHD_HTTP_HEADER_ETAG) == 0 && (rc == -1 ||
	    (b->etag = MHD_get_response_header(b->response, name)) == NULL))
		b->etag = "";
	return rc;
}

int
http_body_set_etag(struct http_body *b, const char *etag)
{
	if (strlen(etag) >= HTTP_ETAG_MAX)
		return -1;
	return http_body_set_header(b, MHD_HTTP_HEADER_ETAG, etag);
}

void
http_body_set_variant(struct http_body *b, enum http_variant v,
    struct http_body *alt)
{
	http_body_free(b->variants[v]);
	b->variants[v] = alt;
}

void
http_body_set_variant_maker(struct http_body *b, http_variant_fn *make,
    void *arg)
{
	b->make = make;
	b->make_arg = arg;
}

/*
 * The variants are a cache filled in by whichever thread asks first:
 * no lock, a compare-and-swap of the pointer.  Two threads that race
 * both make one and the loser frees its own; the bodies are equal, and a
 * thread never waits behind another's deflate or tar.
 */
const struct http_body *
http_body_variant(const struct http_body *cb, enum http_variant v)
{
	struct http_body *b = (struct http_body *)(uintptr_t)cb;
	struct http_body *alt, *expected = NULL;

	if ((alt = __atomic_load_n(&b->variants[v], __ATOMIC_ACQUIRE)) !=
	    NULL || b->make == NULL ||
	    __atomic_load_n(&b->none[v], __ATOMIC_ACQUIRE))
		return alt;
	if (b->make(b->make_arg, v, &alt) == -1)
		return NULL;
	if (alt == NULL) {
		__atomic_store_n(&b->none[v], 1, __ATOMIC_RELEASE);
		return NULL;
	}
	if (__atomic_compare_exchange_n(&b->variants[v], &expected, alt, 0,
	    __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		return alt;
	http_body_free(alt);		/* another thread's came first */
	return expected;
}

void
http_response_error(struct http_response *resp, int status, const char *code,
    const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	resp->status = status;
	resp->prepared = NULL;
	buf_reset(&resp->body);
	if (protocol_render_error(&resp->body, code, msg) == -1)
		buf_reset(&resp->body);
}

static void
server_free(struct http_server *srv)
{
	free(srv->tls_cert);
	if (srv->tls_key != NULL) {
		explicit_bzero(srv->tls_key, strlen(srv->tls_key));
		free(srv->tls_key);
	}
	pthread_cond_destroy(&srv->socks_cond);
	pthread_mutex_destroy(&srv->socks_lock);
	pthread_cond_destroy(&srv->answered);
	pthread_cond_destroy(&srv->cond);
	pthread_mutex_destroy(&srv->lock);
	free(srv);
}

/* Stops and joins the reaper thread, when it runs. */
static void
reaper_stop(struct http_server *srv)
{
	if (!srv->reaper_started)
		return;
	pthread_mutex_lock(&srv->socks_lock);
	srv->socks_stopping = 1;
	pthread_cond_broadcast(&srv->socks_cond);
	pthread_mutex_unlock(&srv->socks_lock);
	pthread_join(srv->reaper, NULL);
	srv->reaper_started = 0;
}

struct http_server *
http_server_start(const struct http_server_config *cfg, struct errbuf *eb)
{
	struct http_server *srv;
	int fd;

	if (cfg->nroutes > HTTP_MAX_ROUTES) {
		errbuf_set(eb, EC_INTERNAL, "too many routes");
		return NULL;
	}
	if ((cfg->tls_cert == NULL) != (cfg->tls_key == NULL)) {
		errbuf_set(eb, EC_USAGE,
		    "TLS needs both a certificate and a key");
		return NULL;
	}
	if ((srv = calloc(1, sizeof(*srv))) == NULL) {
		errbuf_set(eb, EC_INTERNAL, "out of memory");
		return NULL;
	}
	srv->cfg = *cfg;
	if (srv->cfg.max_connections_per_ip == HTTP_SERVER_PER_IP_AUTO)
		srv->cfg.max_connections_per_ip = http_server_default_per_ip(
		    srv->cfg.max_connections);
	srv->token_len = cfg->token != NULL ? strlen(cfg->token) : 0;
	http_conns_limits(srv);
	pthread_mutex_init(&srv->lock, NULL);
	pthread_mutex_init(&srv->socks_lock, NULL);
	if (clock_cond_init(&srv->cond) != 0) {
		pthread_mutex_destroy(&srv->socks_lock);
		pthread_mutex_destroy(&srv->lock);
		free(srv);
		errbuf_set(eb, EC_INTERNAL, "cannot make a condition variable");
		return NULL;
	}
	if (clock_cond_init(&srv->socks_cond) != 0) {
		pthread_cond_destroy(&srv->cond);
		pthread_mutex_destroy(&srv->socks_lock);
		pthread_mutex_destroy(&srv->lock);
		free(srv);
		errbuf_set(eb, EC_INTERNAL, "cannot make a condition variable");
		return NULL;
	}
	if (clock_cond_init(&srv->answered) != 0) {
		pthread_cond_destroy(&srv->cond);
		pthread_mutex_destroy(&srv->lock);
		free(srv);
		errbuf_set(eb, EC_INTERNAL, "cannot make a condition variable");
		return NULL;
	}
	if (http_listen_tls_load(srv, eb) == -1)
		goto fail;
	if ((fd = http_listen_socket(srv, cfg->listen, eb)) == -1)
		goto fail;
	if ((srv->daemon = http_listen_daemon(srv, fd, eb)) == NULL) {
		close(fd);
		goto fail;
	}
	if (pthread_create(&srv->reaper, NULL, http_conns_reaper_thread,
	    srv) != 0) {
		errbuf_set(eb, EC_INTERNAL, "cannot start a thread");
		MHD_stop_daemon(srv->daemon);
		goto fail;
	}
	srv->reaper_started = 1;
	if (pthread_create(&srv->timer, NULL, http_park_deadline_thread,
	    srv) != 0) {
		errbuf_set(eb, EC_INTERNAL, "cannot start a thread");
		reaper_stop(srv);
		MHD_stop_daemon(srv->daemon);
		goto fail;
	}
	srv->timer_started = 1;
	return srv;
fail:
	server_free(srv);
	return NULL;
}

const char *
http_server_url(const struct http_server *srv)
{
	return srv->url;
}

unsigned
http_server_port(const struct http_server *srv)
{
	return srv->port;
}

void
http_server_stop(struct http_server *srv)
{
	struct timespec pause = { 0, 10 * 1000000L };
	uint64_t until;
	int fd;

	if (srv == NULL)
		return;
	if ((fd = MHD_quiesce_daemon(srv->daemon)) != -1)
		close(fd);
	pthread_mutex_lock(&srv->lock);
	srv->stopping = 1;
	http_park_resume_locked(srv, 1, 0);
	pthread_cond_broadcast(&srv->cond);
	pthread_mutex_unlock(&srv->lock);
	if (srv->timer_started)
		pthread_join(srv->timer, NULL);
	until = clock_ns() + (uint64_t)HTTP_STOP_GRACE_MS * 1000000u;
	while (__atomic_load_n(&srv->inflight, __ATOMIC_RELAXED) > 0 &&
	    clock_ns() < until)
		nanosleep(&pause, NULL);
	reaper_stop(srv);
	/* A deferred request's answer must come before its connection goes. */
	if (http_dispatch_settle(srv, HTTP_STOP_GRACE_MS) > 0)
		diag_warn("stop: deferred requests left unanswered");
	MHD_stop_daemon(srv->daemon);
	server_free(srv);
}
