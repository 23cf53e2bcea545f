/*
 * The HTTP server on libmicrohttpd: see http_server.h.
 *
 * Each request gets a struct conn_state on its first call.  The handler
 * runs once the whole body is in.  A handler that sets resp->suspend parks
 * its connection with MHD_suspend_connection; http_server_wake and the
 * deadline thread resume it, and libmicrohttpd calls us again with the same
 * state, so a parked request costs memory, not a thread.
 */
#include "http_server.h"

#include <sys/socket.h>
#include <sys/types.h>

#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "array.h"
#include "clock.h"
#include "diag.h"
#include "errbuf.h"
#include "exitcode.h"
#include "fsx.h"
#include "protocol.h"
#include "banned.h"

#define HTTP_MAX_ROUTES		16
#define HTTP_URL_MAX		80
#define HTTP_STOP_GRACE_MS	5000
#define HTTP_LOG_MAX		1024
#define HTTP_LOG_PATH_MAX	255
#define HTTP_TLS_MAX		(1UL << 20)
#define HTTP_BODY_PARTS_MAX	8
#define HTTP_DISCARD_MAX	(64UL << 20)	/* then cut the connection */

/* The statuses counted in /metrics; the last slot takes any other. */
static const int counted_status[] = {
	200, 202, 204, 400, 401, 404, 405, 413, 425, 500, 503, 0
};
#define NSTATUS	nitems(counted_status)

struct http_body {
	struct MHD_Response	*response;
	int			 status;
	size_t			 len;
};

struct conn_state {
	struct http_request	 req;
	struct buf		 body;
	struct MHD_Connection	*conn;
	const struct http_route	*route;
	size_t			 route_idx;	/* nroutes + builtins */
	uint64_t		 start_ns;
	uint64_t		 deadline_ns;	/* while suspended */
	unsigned long		 wake_seen;	/* srv->wake_seq at dispatch */
	size_t			 discarded;	/* past the cap */
	int			 too_large;	/* over the cap: 413 */
	int			 suspended;
	int			 answered;
	struct conn_state	*next;		/* in srv->parked */
};

struct http_server {
	struct http_server_config cfg;
	struct MHD_Daemon	*daemon;
	char			 url[HTTP_URL_MAX];
	unsigned		 port;
	char			*tls_cert;
	char			*tls_key;
	size_t			 token_len;

	pthread_mutex_t		 lock;		/* guards what follows */
	pthread_cond_t		 cond;
	struct conn_state	*parked;
	unsigned long		 wake_seq;
	int			 stopping;
	pthread_t		 timer;
	int			 timer_started;

	unsigned long		 inflight;	/* atomics from here on */
	unsigned long		 counts[HTTP_MAX_ROUTES + 3][NSTATUS];
};

/* Route indices past the configured ones. */
#define ROUTE_HEALTHZ(s)	((s)->cfg.nroutes)
#define ROUTE_METRICS(s)	((s)->cfg.nroutes + 1)
#define ROUTE_NONE(s)		((s)->cfg.nroutes + 2)

void
http_server_config_init(struct http_server_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->listen = "0.0.0.0:4400";
	cfg->max_body = HTTP_SERVER_MAX_BODY;
	cfg->max_connections = HTTP_SERVER_MAX_CONNECTIONS;
	cfg->connection_timeout = HTTP_SERVER_CONN_TIMEOUT;
}

struct http_body *
http_body_new(int status, const char *data, size_t len)
{
	struct http_body *b;

	if ((b = calloc(1, sizeof(*b))) == NULL)
		return NULL;
	b->status = status;
	b->len = len;
	b->response = MHD_create_response_from_buffer(len, (void *)data,
	    MHD_RESPMEM_MUST_COPY);
	if (b->response == NULL || MHD_add_response_header(b->response,
	    MHD_HTTP_HEADER_CONTENT_TYPE, "application/json") != MHD_YES) {
		http_body_free(b);
		return NULL;
	}
	return b;
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
	for (i = 0; i < nparts; i++) {
		iov[i].iov_base = parts[i].data;
		iov[i].iov_len = parts[i].len;
		b->len += parts[i].len;
	}
	/* libmicrohttpd keeps a copy of the vector, not of the data. */
	b->response = MHD_create_response_from_iovec(iov, nparts, release,
	    arg);
	if (b->response == NULL) {
		free(b);
		release(arg);
		return NULL;
	}
	if (MHD_add_response_header(b->response, MHD_HTTP_HEADER_CONTENT_TYPE,
	    "application/json") != MHD_YES) {
		/* The response exists: destroying it calls release. */
		http_body_free(b);
		return NULL;
	}
	return b;
}

void
http_body_free(struct http_body *b)
{
	if (b == NULL)
		return;
	if (b->response != NULL)
		MHD_destroy_response(b->response);
	free(b);
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

static size_t
status_slot(int status)
{
	size_t i;

	for (i = 0; i < NSTATUS - 1; i++)
		if (counted_status[i] == status)
			return i;
	return NSTATUS - 1;
}

static void
log_request(struct http_server *srv, const struct conn_state *st, int status,
    size_t bytes)
{
	char when[CLOCK_UTC_LEN], line[HTTP_LOG_MAX];
	struct buf b;
	double ms = (double)(clock_ns() - st->start_ns) / 1e6;
	size_t plen;
	int n;

	if (srv->cfg.quiet)
		return;
	clock_utc(time(NULL), when);
	/* diag_line shows control bytes as '?'; paths are cut at 255. */
	plen = strnlen(st->req.path, HTTP_LOG_PATH_MAX);
	if (!srv->cfg.log_json) {
		n = snprintf(line, sizeof(line), "%s %s %.*s %d %zu %.1fms "
		    "%s\n", when, st->req.method, (int)plen, st->req.path,
		    status, bytes, ms,
		    st->req.identifier[0] ? st->req.identifier : "-");
		if (n > 0)
			diag_line(line, (size_t)n < sizeof(line) ? (size_t)n :
			    sizeof(line) - 1);
		return;
	}
	buf_init(&b, HTTP_LOG_MAX);
	if (buf_addf(&b, "{\"time\":\"%s\",\"method\":", when) == 0 &&
	    buf_add_json_string(&b, st->req.method,
	    strlen(st->req.method)) == 0 &&
	    buf_adds(&b, ",\"path\":") == 0 &&
	    buf_add_json_string(&b, st->req.path, plen) == 0 &&
	    buf_addf(&b, ",\"status\":%d,\"bytes\":%zu,\"duration_ms\":%.3f,"
	    "\"identifier\":", status, bytes, ms) == 0 &&
	    buf_add_json_string(&b, st->req.identifier,
	    strlen(st->req.identifier)) == 0 && buf_adds(&b, "}\n") == 0)
		diag_line(b.data, b.len);
	buf_release(&b);
}

static enum MHD_Result
send_response(struct http_server *srv, struct conn_state *st,
    struct http_response *resp)
{
	struct MHD_Response *r;
	enum MHD_Result ret;
	size_t len;
	char *data;
	int status;

	if (resp->prepared != NULL) {
		r = resp->prepared->response;
		status = resp->prepared->status;
		len = resp->prepared->len;
		ret = MHD_queue_response(st->conn, (unsigned)status, r);
	} else {
		status = resp->status;
		if ((data = buf_detach(&resp->body, &len)) == NULL)
			return MHD_NO;
		r = MHD_create_response_from_buffer(len, data,
		    MHD_RESPMEM_MUST_FREE);
		if (r == NULL) {
			free(data);
			return MHD_NO;
		}
		(void)MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
		    st->route_idx == ROUTE_METRICS(srv) && status == 200 ?
		    "text/plain; version=0.0.4" : "application/json");
		if (status == 405)
			(void)MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW,
			    st->route_idx == ROUTE_HEALTHZ(srv) ? "GET, HEAD" :
			    st->route_idx == ROUTE_METRICS(srv) ? "GET" :
			    st->route != NULL ? st->route->method : "");
		ret = MHD_queue_response(st->conn, (unsigned)status, r);
		MHD_destroy_response(r);
	}
	if (resp->done != NULL)
		resp->done(resp->done_arg);
	st->answered = 1;
	__atomic_fetch_add(&srv->counts[st->route_idx][status_slot(status)], 1,
	    __ATOMIC_RELAXED);
	log_request(srv, st, status, len);
	return ret;
}

static enum MHD_Result
send_error(struct http_server *srv, struct conn_state *st, int status,
    const char *code, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static enum MHD_Result
send_error(struct http_server *srv, struct conn_state *st, int status,
    const char *code, const char *fmt, ...)
{
	struct http_response resp;
	char msg[512];
	va_list ap;
	enum MHD_Result ret;

	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	memset(&resp, 0, sizeof(resp));
	buf_init(&resp.body, HTTP_LOG_MAX);
	http_response_error(&resp, status, code, "%s", msg);
	ret = send_response(srv, st, &resp);
	buf_release(&resp.body);
	return ret;
}

static void
render_metrics(struct http_server *srv, struct http_response *resp)
{
	unsigned long n;
	size_t r, s;
	const char *name;

	resp->status = 200;
	buf_init(&resp->body, 1UL << 20);
	(void)buf_adds(&resp->body,
	    "# HELP cfgsync_http_requests_total HTTP requests by route and "
	    "status.\n# TYPE cfgsync_http_requests_total counter\n");
	for (r = 0; r <= ROUTE_NONE(srv); r++) {
		if (r < srv->cfg.nroutes)
			name = srv->cfg.routes[r].name;
		else
			name = r == ROUTE_HEALTHZ(srv) ? "healthz" :
			    r == ROUTE_METRICS(srv) ? "metrics" : "other";
		for (s = 0; s < NSTATUS; s++) {
			n = __atomic_load_n(&srv->counts[r][s],
			    __ATOMIC_RELAXED);
			if (n == 0)
				continue;
			if (counted_status[s] != 0)
				(void)buf_addf(&resp->body,
				    "cfgsync_http_requests_total{route=\"%s\","
				    "status=\"%d\"} %lu\n", name,
				    counted_status[s], n);
			else
				(void)buf_addf(&resp->body,
				    "cfgsync_http_requests_total{route=\"%s\","
				    "status=\"other\"} %lu\n", name, n);
		}
	}
	if (srv->cfg.metrics != NULL)
		(void)srv->cfg.metrics(srv->cfg.ctx, &resp->body);
}

/* Finds the route for method and path; sets *st->route on a path match. */
static int
find_route(struct http_server *srv, struct conn_state *st, const char *method,
    const char *path)
{
	const struct http_route *r;
	size_t i, plen;
	int path_seen = 0;

	for (i = 0; i < srv->cfg.nroutes; i++) {
		r = &srv->cfg.routes[i];
		plen = strlen(r->path);
		if (r->path[plen - 1] == '/' ? strncmp(path, r->path, plen) != 0
		    : strcmp(path, r->path) != 0)
			continue;
		path_seen = 1;
		st->route = r;
		st->route_idx = i;
		if (strcmp(method, r->method) == 0)
			return 0;
	}
	return path_seen ? 405 : 404;
}

static int
token_ok(const struct http_server *srv, struct MHD_Connection *conn)
{
	const char *h, *t = srv->cfg.token;
	size_t len, i;
	unsigned char diff = 0;

	h = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_AUTHORIZATION);
	if (h == NULL || strncmp(h, "Bearer ", 7) != 0)
		return 0;
	h += 7;
	len = strlen(h);
	/* Constant time in the token's length, whatever h holds. */
	for (i = 0; i < srv->token_len; i++)
		diff |= (unsigned char)(t[i] ^ (i < len ? h[i] : 0));
	return diff == 0 && len == srv->token_len;
}

/* First call for a request: route, auth, size; an error is sent at once. */
static enum MHD_Result
admit(struct http_server *srv, struct conn_state *st, const char *method)
{
	const char *v;
	char *end;
	unsigned long long clen;
	unsigned long w;
	int r;

	if (strcmp(st->req.path, "/healthz") == 0) {
		st->route_idx = ROUTE_HEALTHZ(srv);
		if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
			return send_error(srv, st, 405, PROTOCOL_METHOD,
			    "use GET for /healthz");
		return MHD_YES;
	}
	if (srv->cfg.token != NULL &&
	    !token_ok(srv, st->conn)) {
		st->route_idx = ROUTE_NONE(srv);
		return send_error(srv, st, 401, PROTOCOL_UNAUTHORIZED,
		    "missing or wrong bearer token");
	}
	if (strcmp(st->req.path, "/metrics") == 0) {
		st->route_idx = ROUTE_METRICS(srv);
		if (strcmp(method, "GET") != 0)
			return send_error(srv, st, 405, PROTOCOL_METHOD,
			    "use GET for /metrics");
		return MHD_YES;
	}
	st->route_idx = ROUTE_NONE(srv);
	if ((r = find_route(srv, st, method, st->req.path)) == 404)
		return send_error(srv, st, 404, PROTOCOL_NOT_FOUND,
		    "no route for %s %s", method, st->req.path);
	if (r == 405)
		return send_error(srv, st, 405, PROTOCOL_METHOD,
		    "use %s for %s", st->route->method, st->route->path);
	v = MHD_lookup_connection_value(st->conn, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_CONTENT_LENGTH);
	if (v != NULL) {
		errno = 0;
		clen = strtoull(v, &end, 10);
		if (errno == 0 && *end == '\0' && clen > srv->cfg.max_body)
			return send_error(srv, st, 413, PROTOCOL_TOO_LARGE,
			    "body of %llu bytes is over the limit of %zu",
			    clen, srv->cfg.max_body);
	}
	v = MHD_lookup_connection_value(st->conn, MHD_GET_ARGUMENT_KIND,
	    "wait");
	if (v != NULL) {
		errno = 0;
		w = strtoul(v, &end, 10);
		if (errno != 0 || *end != '\0' || v[0] < '0' || v[0] > '9')
			return send_error(srv, st, 400, PROTOCOL_BAD_REQUEST,
			    "wait: not a number of seconds");
		st->req.wait = w > HTTP_SERVER_MAX_WAIT ?
		    HTTP_SERVER_MAX_WAIT : (unsigned)w;
	}
	return MHD_YES;
}

static void
park(struct http_server *srv, struct conn_state *st)
{
	st->suspended = 1;
	st->deadline_ns = st->start_ns + (uint64_t)st->req.wait * 1000000000u;
	st->next = srv->parked;
	srv->parked = st;
	MHD_suspend_connection(st->conn);
	pthread_cond_signal(&srv->cond);
}

static enum MHD_Result
dispatch(struct http_server *srv, struct conn_state *st)
{
	struct http_response resp;
	enum MHD_Result ret;

	if (st->route_idx == ROUTE_HEALTHZ(srv)) {
		memset(&resp, 0, sizeof(resp));
		buf_init(&resp.body, 64);
		resp.status = 200;
		(void)buf_adds(&resp.body, "{\"status\":\"ok\"}");
		ret = send_response(srv, st, &resp);
		buf_release(&resp.body);
		return ret;
	}
	if (st->route_idx == ROUTE_METRICS(srv)) {
		memset(&resp, 0, sizeof(resp));
		render_metrics(srv, &resp);
		ret = send_response(srv, st, &resp);
		buf_release(&resp.body);
		return ret;
	}
	st->req.body = st->body.data != NULL ? st->body.data : "";
	st->req.body_len = st->body.len;
	for (;;) {
		memset(&resp, 0, sizeof(resp));
		buf_init(&resp.body, SIZE_MAX);
		resp.status = 500;
		st->wake_seen = __atomic_load_n(&srv->wake_seq,
		    __ATOMIC_ACQUIRE);
		st->route->handler(srv->cfg.ctx, &st->req, &resp);
		if (!resp.suspend || st->req.wait == 0 || st->req.timed_out ||
		    st->req.stopping)
			break;
		pthread_mutex_lock(&srv->lock);
		if (srv->wake_seq == st->wake_seen && !srv->stopping &&
		    clock_ns() < st->start_ns +
		    (uint64_t)st->req.wait * 1000000000u) {
			park(srv, st);
			pthread_mutex_unlock(&srv->lock);
			if (resp.done != NULL)
				resp.done(resp.done_arg);
			buf_release(&resp.body);
			return MHD_YES;
		}
		/* Woken while deciding, or out of time: ask again. */
		if (srv->stopping)
			st->req.stopping = 1;
		else if (srv->wake_seq == st->wake_seen)
			st->req.timed_out = 1;
		pthread_mutex_unlock(&srv->lock);
		if (resp.done != NULL)
			resp.done(resp.done_arg);
		buf_release(&resp.body);
	}
	ret = send_response(srv, st, &resp);
	buf_release(&resp.body);
	return ret;
}

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *conn, const char *url,
    const char *method, const char *version, const char *upload_data,
    size_t *upload_data_size, void **con_cls)
{
	struct http_server *srv = cls;
	struct conn_state *st = *con_cls;

	if (st == NULL) {
		if ((st = calloc(1, sizeof(*st))) == NULL)
			return MHD_NO;
		*con_cls = st;
		__atomic_fetch_add(&srv->inflight, 1, __ATOMIC_RELAXED);
		st->conn = conn;
		st->start_ns = clock_ns();
		st->req.method = method;
		st->req.path = url;
		buf_init(&st->body, srv->cfg.max_body);
		return admit(srv, st, method);
	}
	if (st->answered) {
		/* Drain what a refused client sent, up to a point. */
		st->discarded += *upload_data_size;
		*upload_data_size = 0;
		return st->discarded > HTTP_DISCARD_MAX ? MHD_NO : MHD_YES;
	}
	if (*upload_data_size > 0) {
		if (!st->too_large && buf_add(&st->body, upload_data,
		    *upload_data_size) == 0) {
			*upload_data_size = 0;
			return MHD_YES;
		}
		/*
		 * Over the cap in mid-body (a chunked upload): libmicrohttpd
		 * takes no answer until the body is in, so drop the rest and
		 * answer 413 then; a body far past the cap ends the
		 * connection.
		 */
		st->too_large = 1;
		st->discarded += *upload_data_size;
		*upload_data_size = 0;
		return st->discarded > HTTP_DISCARD_MAX ? MHD_NO : MHD_YES;
	}
	if (st->too_large)
		return send_error(srv, st, 413, PROTOCOL_TOO_LARGE,
		    "body over the limit of %zu bytes", srv->cfg.max_body);
	if (st->suspended) {
		/* Resumed: by a wake, a deadline or the stop. */
		st->suspended = 0;
	}
	return dispatch(srv, st);
}

static void
on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
    enum MHD_RequestTerminationCode toe)
{
	struct http_server *srv = cls;
	struct conn_state *st = *con_cls;

	if (st == NULL)
		return;
	buf_release(&st->body);
	free(st);
	*con_cls = NULL;
	__atomic_fetch_sub(&srv->inflight, 1, __ATOMIC_RELAXED);
}

/* Resumes parked requests: all of them, or those past their deadline. */
static void
resume_locked(struct http_server *srv, int all, uint64_t now)
{
	struct conn_state **pp = &srv->parked, *st;

	while ((st = *pp) != NULL) {
		if (all || st->deadline_ns <= now) {
			*pp = st->next;
			st->next = NULL;
			if (srv->stopping)
				st->req.stopping = 1;
			else if (!all)
				st->req.timed_out = 1;
			MHD_resume_connection(st->conn);
		} else
			pp = &st->next;
	}
}

static void *
deadline_thread(void *arg)
{
	struct http_server *srv = arg;
	struct conn_state *st;
	struct timespec ts;
	uint64_t next, now;

	pthread_mutex_lock(&srv->lock);
	while (!srv->stopping) {
		now = clock_ns();
		resume_locked(srv, 0, now);
		next = 0;
		for (st = srv->parked; st != NULL; st = st->next)
			if (next == 0 || st->deadline_ns < next)
				next = st->deadline_ns;
		if (next == 0) {
			pthread_cond_wait(&srv->cond, &srv->lock);
			continue;
		}
		ts = clock_deadline(next);
		(void)pthread_cond_timedwait(&srv->cond, &srv->lock, &ts);
	}
	pthread_mutex_unlock(&srv->lock);
	return NULL;
}

void
http_server_wake(struct http_server *srv)
{
	pthread_mutex_lock(&srv->lock);
	srv->wake_seq++;
	resume_locked(srv, 1, 0);
	pthread_mutex_unlock(&srv->lock);
}

static void
mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];
	size_t n;

	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n > 0 && msg[n - 1] == '\n')
		msg[--n] = '\0';
	diag_warn("http: %s", msg);
}

/* Splits "[HOST:]PORT" (HOST may be "[v6]") and binds a listening socket. */
static int
listen_socket(struct http_server *srv, const char *spec, struct errbuf *eb)
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
		    listen(fd, 1024) == 0)
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

static void
server_free(struct http_server *srv)
{
	free(srv->tls_cert);
	if (srv->tls_key != NULL) {
		explicit_bzero(srv->tls_key, strlen(srv->tls_key));
		free(srv->tls_key);
	}
	pthread_cond_destroy(&srv->cond);
	pthread_mutex_destroy(&srv->lock);
	free(srv);
}

struct http_server *
http_server_start(const struct http_server_config *cfg, struct errbuf *eb)
{
	struct http_server *srv;
	unsigned flags, threads;
	long ncpu;
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
	srv->token_len = cfg->token != NULL ? strlen(cfg->token) : 0;
	pthread_mutex_init(&srv->lock, NULL);
	if (clock_cond_init(&srv->cond) != 0) {
		pthread_mutex_destroy(&srv->lock);
		free(srv);
		errbuf_set(eb, EC_INTERNAL, "cannot make a condition variable");
		return NULL;
	}
	if (cfg->tls_cert != NULL && (read_pem(cfg->tls_cert, &srv->tls_cert,
	    eb) == -1 || read_pem(cfg->tls_key, &srv->tls_key, eb) == -1))
		goto fail;
	if ((fd = listen_socket(srv, cfg->listen, eb)) == -1)
		goto fail;
	if ((threads = cfg->threads) == 0) {
		ncpu = sysconf(_SC_NPROCESSORS_ONLN);
		threads = ncpu > 0 ? (unsigned)ncpu : 1;
	}
	flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME |
	    MHD_USE_ERROR_LOG;
	if (srv->tls_cert != NULL)
		flags |= MHD_USE_TLS;
	srv->daemon = MHD_start_daemon(flags, 0, NULL, NULL, on_request, srv,
	    MHD_OPTION_EXTERNAL_LOGGER, mhd_log, srv,
	    MHD_OPTION_LISTEN_SOCKET, fd,
	    MHD_OPTION_THREAD_POOL_SIZE, threads,
	    MHD_OPTION_CONNECTION_LIMIT, cfg->max_connections,
	    MHD_OPTION_CONNECTION_TIMEOUT, cfg->connection_timeout,
	    MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv,
	    srv->tls_cert != NULL ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END,
	    srv->tls_cert,
	    MHD_OPTION_HTTPS_MEM_KEY, srv->tls_key,
	    MHD_OPTION_END);
	if (srv->daemon == NULL) {
		close(fd);
		errbuf_set(eb, EC_INTERNAL, "listen %s: cannot start the "
		    "HTTP server", cfg->listen);
		goto fail;
	}
	if (pthread_create(&srv->timer, NULL, deadline_thread, srv) != 0) {
		errbuf_set(eb, EC_INTERNAL, "cannot start a thread");
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
	resume_locked(srv, 1, 0);
	pthread_cond_broadcast(&srv->cond);
	pthread_mutex_unlock(&srv->lock);
	if (srv->timer_started)
		pthread_join(srv->timer, NULL);
	until = clock_ns() + (uint64_t)HTTP_STOP_GRACE_MS * 1000000u;
	while (__atomic_load_n(&srv->inflight, __ATOMIC_RELAXED) > 0 &&
	    clock_ns() < until)
		nanosleep(&pause, NULL);
	MHD_stop_daemon(srv->daemon);
	server_free(srv);
}
