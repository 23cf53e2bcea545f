/*
 * Admission and dispatch: each request's first callback routes it, checks
 * the bearer token, the declared body size and ?wait, and answers an error
 * at once; later callbacks gather the body under its cap; the last one
 * runs the handler (or /healthz, /metrics), parks the request when the
 * handler asks, and sends, counts (http_metrics.c) and logs the answer.
 */
#include "http_server_internal.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <microhttpd.h>

#include "clock.h"
#include "diag.h"
#include "protocol.h"
#include "banned.h"

#define HTTP_LOG_MAX		4096	/* as diag_line takes */
#define HTTP_LOG_PATH_MAX	255
#define HTTP_DISCARD_MAX	(64UL << 20)	/* then cut the connection */
#define HTTP_METHOD_LOG_MAX	32
/* a logged field, each byte at most "%HH" */
#define HTTP_LOG_FIELD_MAX	(3 * HTTP_LOG_PATH_MAX + 1)

static int
hexval(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

size_t
http_dispatch_unescape(void *cls, struct MHD_Connection *conn, char *s)
{
	struct http_sock *sock;
	char *r, *w = s;
	int bad = 0, hi, lo;

	for (r = s; *r != '\0'; r++) {
		if (*r != '%') {
			*w++ = *r;
			continue;
		}
		if ((hi = hexval(r[1])) < 0 || (lo = hexval(r[2])) < 0 ||
		    (hi == 0 && lo == 0)) {
			/* Kept as it came; the request is refused. */
			bad = 1;
			*w++ = *r;
			continue;
		}
		*w++ = (char)(hi << 4 | lo);
		r += 2;
	}
	*w = '\0';
	if (bad && (sock = http_conns_sock(conn)) != NULL)
		sock->bad_target = 1;
	return (size_t)(w - s);
}

int
http_route_find(const struct http_route *routes, size_t n,
    const char *method, const char *path, size_t *idx)
{
	const struct http_route *r;
	size_t i, plen;
	int path_seen = 0;

	for (i = 0; i < n; i++) {
		r = &routes[i];
		plen = strlen(r->path);
		if (r->path[plen - 1] == '/' ? strncmp(path, r->path, plen) != 0
		    : strcmp(path, r->path) != 0)
			continue;
		path_seen = 1;
		*idx = i;
		if (strcmp(method, r->method) == 0)
			return 0;
	}
	return path_seen ? 405 : 404;
}

int
http_query_wait(const char *v, unsigned *out)
{
	unsigned long w;
	char *end;

	if (v == NULL) {
		*out = 0;
		return 0;
	}
	if (v[0] < '0' || v[0] > '9')
		return -1;
	errno = 0;
	w = strtoul(v, &end, 10);
	if (errno != 0 || *end != '\0')
		return -1;
	*out = w > HTTP_SERVER_MAX_WAIT ? HTTP_SERVER_MAX_WAIT : (unsigned)w;
	return 0;
}

int
http_token_ok(const char *t, size_t tlen, const char *h)
{
	size_t len, i;
	unsigned char diff = 0;

	/* RFC 9110 11.4: the scheme is case-insensitive, then 1*SP. */
	if (h == NULL)
		return 0;
	h += strspn(h, " \t");
	if (strncasecmp(h, "Bearer", 6) != 0 || (h[6] != ' ' && h[6] != '\t'))
		return 0;
	h += 6;
	h += strspn(h, " \t");
	len = strlen(h);
	while (len > 0 && (h[len - 1] == ' ' || h[len - 1] == '\t'))
		len--;
	/* Constant time in the token's length, whatever h holds. */
	for (i = 0; i < tlen; i++)
		diff |= (unsigned char)(t[i] ^ (i < len ? h[i] : 0));
	return diff == 0 && len == tlen;
}

/*
 * Writes s[0..len) to out (HTTP_LOG_FIELD_MAX bytes) with every byte that
 * could end or forge a field of the text log (space, controls, '%', '"',
 * non-ASCII) as %HH, so a decoded path reads as one field.
 */
static void
log_field(char *out, const char *s, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";
	unsigned char ch;
	size_t i, n = 0;

	for (i = 0; i < len && n + 4 <= HTTP_LOG_FIELD_MAX; i++) {
		ch = (unsigned char)s[i];
		if (ch <= ' ' || ch >= 0x7f || ch == '%' || ch == '"') {
			out[n++] = '%';
			out[n++] = hex[ch >> 4];
			out[n++] = hex[ch & 15];
		} else
			out[n++] = (char)ch;
	}
	out[n] = '\0';
}

static void
log_request(struct http_server *srv, const struct http_conn *c, int status,
    size_t bytes, uint64_t ns)
{
	char when[CLOCK_UTC_LEN], line[HTTP_LOG_MAX];
	char fm[HTTP_LOG_FIELD_MAX], fp[HTTP_LOG_FIELD_MAX];
	char fi[HTTP_LOG_FIELD_MAX];
	const char *id = c->log_id != NULL ? c->log_id : "";
	struct buf b;
	double ms = (double)ns / 1e6;
	size_t plen, mlen;
	int n;

	if (srv->cfg.quiet)
		return;
	clock_utc(time(NULL), when);
	/*
	 * diag_line shows control bytes as '?'; paths are cut at 255 bytes,
	 * methods at 32, so a JSON line (6 bytes an escaped byte) fits.
	 */
	plen = strnlen(c->req.path, HTTP_LOG_PATH_MAX);
	mlen = strnlen(c->req.method, HTTP_METHOD_LOG_MAX);
	if (!srv->cfg.log_json) {
		log_field(fm, c->req.method, mlen);
		log_field(fp, c->req.path, plen);
		log_field(fi, id, strlen(id));
		n = snprintf(line, sizeof(line), "%s %s %s %d %zu %.1fms %s\n",
		    when, fm, fp, status, bytes, ms, fi[0] ? fi : "-");
		if (n > 0)
			diag_line(line, (size_t)n < sizeof(line) ? (size_t)n :
			    sizeof(line) - 1);
		return;
	}
	buf_init(&b, HTTP_LOG_MAX);
	if (buf_addf(&b, "{\"time\":\"%s\",\"method\":", when) == 0 &&
	    diag_add_json_string(&b, c->req.method, mlen) == 0 &&
	    buf_adds(&b, ",\"path\":") == 0 &&
	    diag_add_json_string(&b, c->req.path, plen) == 0 &&
	    buf_addf(&b, ",\"status\":%d,\"bytes\":%zu,\"duration_ms\":%.3f,"
	    "\"identifier\":", status, bytes, ms) == 0 &&
	    diag_add_json_string(&b, id, strlen(id)) == 0 &&
	    buf_adds(&b, "}\n") == 0)
		diag_line(b.data, b.len);
	buf_release(&b);
}

/*
 * Whether an Accept-Encoding value (or NULL) takes gzip: a "gzip",
 * "x-gzip" or "*" coding whose q is not 0.
 */
int
http_accepts_gzip(const char *v)
{
	const char *tok, *end, *semi, *q;
	size_t len;

	for (tok = v; tok != NULL && *tok != '\0'; tok = end) {
		tok += strspn(tok, " \t,");
		end = tok + strcspn(tok, ",");
		semi = memchr(tok, ';', (size_t)(end - tok));
		len = (size_t)((semi != NULL ? semi : end) - tok);
		while (len > 0 && (tok[len - 1] == ' ' || tok[len - 1] == '\t'))
			len--;
		if (!((len == 4 && strncasecmp(tok, "gzip", 4) == 0) ||
		    (len == 6 && strncasecmp(tok, "x-gzip", 6) == 0) ||
		    (len == 1 && tok[0] == '*')))
			continue;
		if (semi == NULL)
			return 1;
		q = semi + 1 + strspn(semi + 1, " \t");
		if (strncasecmp(q, "q=", 2) != 0)
			return 1;
		/* q=0, q=0.0, q=0.000: refused */
		q += 2;
		if (*q++ != '0')
			return 1;
		if (*q == '.')
			q += 1 + strspn(q + 1, "0");
		q += strspn(q, " \t");
		if (q != end)
			return 1;
	}
	return 0;
}

/*
 * Whether an If-None-Match value (or NULL) names etag (quoted): "*", or
 * one of its tags, weak or not (the weak comparison of RFC 9110).
 */
int
http_etag_matches(const char *v, const char *etag)
{
	const char *tok, *end;
	size_t elen = strlen(etag);

	if (v == NULL || elen == 0)
		return 0;
	for (tok = v; *tok != '\0'; tok = end) {
		tok += strspn(tok, " \t,");
		if (*tok == '*')
			return 1;
		if (strncmp(tok, "W/", 2) == 0)
			tok += 2;
		if (*tok != '"' || (end = strchr(tok + 1, '"')) == NULL)
			return 0;
		end++;
		if ((size_t)(end - tok) == elen && memcmp(tok, etag, elen) == 0)
			return 1;
	}
	return 0;
}

/*
 * The response path's choice among a prepared answer's representations:
 * tar when asked (?format=tar, or Accept: application/x-tar), else gzip
 * when accepted; then 304 when If-None-Match names the one chosen,
 * asking to be parked (resp->suspend) so a long poll waits for a change.
 */
static void
negotiate(struct http_conn *c, struct http_response *resp)
{
	const struct http_body *b = resp->prepared, *alt = NULL;
	const char *format, *accept;
	int tar;

	if (b == NULL)
		return;
	format = MHD_lookup_connection_value(c->conn, MHD_GET_ARGUMENT_KIND,
	    "format");
	accept = MHD_lookup_connection_value(c->conn, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_ACCEPT);
	if (format != NULL && strcmp(format, "tar") != 0 &&
	    strcmp(format, "json") != 0) {
		http_response_error(resp, 400, PROTOCOL_BAD_REQUEST,
		    "format: use json or tar");
		return;
	}
	tar = format != NULL ? strcmp(format, "tar") == 0 :
	    accept != NULL && strstr(accept, "application/x-tar") != NULL;
	if (tar)
		alt = http_body_variant(b, HTTP_VARIANT_TAR);
	else if (http_accepts_gzip(MHD_lookup_connection_value(c->conn,
	    MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT_ENCODING)))
		alt = http_body_variant(b, HTTP_VARIANT_GZIP);
	if (alt != NULL)
		b = alt;
	resp->prepared = b;
	if (!http_etag_matches(MHD_lookup_connection_value(c->conn,
	    MHD_HEADER_KIND, MHD_HTTP_HEADER_IF_NONE_MATCH), b->etag))
		return;
	(void)snprintf(resp->etag, sizeof(resp->etag), "%s", b->etag);
	resp->prepared = NULL;
	resp->status = 304;
	resp->suspend = 1;
	buf_reset(&resp->body);
}

/* A 304 carries the tag it confirms and nothing else of the answer. */
static void
not_modified_headers(struct MHD_Response *r, const struct http_response *resp)
{
	(void)MHD_add_response_header(r, MHD_HTTP_HEADER_ETAG, resp->etag);
	(void)MHD_add_response_header(r, MHD_HTTP_HEADER_VARY,
	    MHD_HTTP_HEADER_ACCEPT_ENCODING);
}

static enum MHD_Result
send_response(struct http_server *srv, struct http_conn *c,
    struct http_response *resp)
{
	struct MHD_Response *r;
	enum MHD_Result ret;
	uint64_t ns;
	size_t len;
	char *data;
	int status;

	if (resp->prepared != NULL) {
		r = resp->prepared->response;
		status = resp->prepared->status;
		len = resp->prepared->len;
		ret = MHD_queue_response(c->conn, (unsigned)status, r);
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
		if (status == 304)
			not_modified_headers(r, resp);
		else
			(void)MHD_add_response_header(r,
			    MHD_HTTP_HEADER_CONTENT_TYPE,
			    c->route_idx == HTTP_ROUTE_METRICS(srv) &&
			    status == 200 ? "text/plain; version=0.0.4" :
			    "application/json");
		if (status == 405)
			(void)MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW,
			    c->route_idx == HTTP_ROUTE_HEALTHZ(srv) ?
			    "GET, HEAD" :
			    c->route_idx == HTTP_ROUTE_METRICS(srv) ? "GET" :
			    c->route != NULL ? c->route->method : "");
		ret = MHD_queue_response(c->conn, (unsigned)status, r);
		MHD_destroy_response(r);
	}
	if (resp->done != NULL)
		resp->done(resp->done_arg);
	c->answered = 1;
	ns = clock_ns() - c->start_ns;
	http_metrics_count(srv, c->route_idx, status, ns);
	log_request(srv, c, status, len, ns);
	return ret;
}

static enum MHD_Result
send_error(struct http_server *srv, struct http_conn *c, int status,
    const char *code, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static enum MHD_Result
send_error(struct http_server *srv, struct http_conn *c, int status,
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
	ret = send_response(srv, c, &resp);
	buf_release(&resp.body);
	return ret;
}

/* What authorize returns for an answer sent. */
static int
answered(enum MHD_Result ret)
{
	return ret == MHD_YES ? 1 : -1;
}

static int
unauthorized(struct http_server *srv, struct http_conn *c, const char *msg)
{
	c->route_idx = HTTP_ROUTE_NONE(srv);
	return answered(send_error(srv, c, 401, PROTOCOL_UNAUTHORIZED, "%s",
	    msg));
}

/*
 * The token step of admit for a route that is not open, r being what
 * http_route_find said: 0 to go on; else the request is answered here
 * (/metrics, or a 401) and 1 or -1 is what admit returns (MHD_YES/NO).
 */
static int
authorize(struct http_server *srv, struct http_conn *c, const char *method,
    int r)
{
	c->req.authorization = MHD_lookup_connection_value(c->conn,
	    MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
	if (srv->cfg.token != NULL)
		c->req.is_operator = http_token_ok(srv->cfg.token,
		    srv->token_len, c->req.authorization);
	else
		c->req.is_operator = !srv->cfg.node_auth;
	if (!c->req.is_operator && !srv->cfg.node_auth)
		return unauthorized(srv, c, "missing or wrong bearer token");
	if (strcmp(c->req.path, "/metrics") == 0) {
		c->route_idx = HTTP_ROUTE_METRICS(srv);
		if (!c->req.is_operator)
			return answered(send_error(srv, c, 401,
			    PROTOCOL_UNAUTHORIZED,
			    "/metrics needs the operator's token"));
		if (strcmp(method, "GET") != 0)
			return answered(send_error(srv, c, 405,
			    PROTOCOL_METHOD, "use GET for /metrics"));
		return 1;
	}
	/*
	 * Per-node tokens: a node's token (or none) reaches a node's route
	 * only, where the handler checks it; nothing else tells it apart
	 * from a wrong token, not even which routes exist.
	 */
	if (!c->req.is_operator && (r == 404 ||
	    srv->cfg.routes[c->route_idx].access != HTTP_NODE))
		return unauthorized(srv, c, "missing or wrong bearer token "
		    "(this route is the operator's)");
	return 0;
}

/* First call for a request: route, auth, size; an error is sent at once. */
static enum MHD_Result
admit(struct http_server *srv, struct http_conn *c, const char *method)
{
	const char *v;
	char *end;
	unsigned long long clen;
	int r, a;

	if (c->sock != NULL && c->sock->bad_target) {
		c->sock->bad_target = 0;
		c->route_idx = HTTP_ROUTE_NONE(srv);
		return send_error(srv, c, 400, PROTOCOL_BAD_REQUEST,
		    "request target: a NUL or a bad %%-escape");
	}
	if (strcmp(c->req.path, "/healthz") == 0) {
		c->route_idx = HTTP_ROUTE_HEALTHZ(srv);
		if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
			return send_error(srv, c, 405, PROTOCOL_METHOD,
			    "use GET for /healthz");
		return MHD_YES;
	}
	c->route_idx = HTTP_ROUTE_NONE(srv);
	r = http_route_find(srv->cfg.routes, srv->cfg.nroutes, method,
	    c->req.path, &c->route_idx);
	/* A probe's route (/readyz) needs no token, as /healthz. */
	if ((r == 404 || srv->cfg.routes[c->route_idx].access != HTTP_OPEN) &&
	    (a = authorize(srv, c, method, r)) != 0)
		return a == 1 ? MHD_YES : MHD_NO;
	if (r != 404)
		c->route = &srv->cfg.routes[c->route_idx];
	if (r == 404)
		return send_error(srv, c, 404, PROTOCOL_NOT_FOUND,
		    "no route for %s %s", method, c->req.path);
	if (r == 405)
		return send_error(srv, c, 405, PROTOCOL_METHOD,
		    "use %s for %s", c->route->method, c->route->path);
	v = MHD_lookup_connection_value(c->conn, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_CONTENT_LENGTH);
	if (v != NULL) {
		errno = 0;
		clen = strtoull(v, &end, 10);
		if (errno == 0 && *end == '\0' && clen > srv->cfg.max_body)
			return send_error(srv, c, 413, PROTOCOL_TOO_LARGE,
			    "body of %llu bytes is over the limit of %zu",
			    clen, srv->cfg.max_body);
	}
	if (http_query_wait(MHD_lookup_connection_value(c->conn,
	    MHD_GET_ARGUMENT_KIND, "wait"), &c->req.wait) == -1)
		return send_error(srv, c, 400, PROTOCOL_BAD_REQUEST,
		    "wait: not a number of seconds");
	return MHD_YES;
}

/* Sends the answer http_server_answer left in c. */
static enum MHD_Result
send_deferred(struct http_server *srv, struct http_conn *c)
{
	struct http_response resp;
	enum MHD_Result ret;

	memset(&resp, 0, sizeof(resp));
	buf_init(&resp.body, HTTP_LOG_MAX);
	resp.status = c->fin_status;
	if (c->fin_code != NULL)
		http_response_error(&resp, c->fin_status, c->fin_code, "%s",
		    c->fin_msg != NULL ? c->fin_msg : "");
	ret = send_response(srv, c, &resp);
	buf_release(&resp.body);
	return ret;
}

/*
 * The handler deferred its answer: suspend the connection until
 * http_server_answer, unless the answer came already.
 */
static enum MHD_Result
defer(struct http_server *srv, struct http_conn *c,
    struct http_response *resp)
{
	int ready;

	if (resp->done != NULL)
		resp->done(resp->done_arg);
	buf_release(&resp->body);
	pthread_mutex_lock(&srv->lock);
	/* Stopping: the answer is near (see http_dispatch_settle). */
	while (srv->no_defer && !c->fin_ready)
		pthread_cond_wait(&srv->answered, &srv->lock);
	if (!(ready = c->fin_ready)) {
		c->deferring = 1;
		srv->deferred++;
		MHD_suspend_connection(c->conn);
	}
	pthread_mutex_unlock(&srv->lock);
	return ready ? send_deferred(srv, c) : MHD_YES;
}

unsigned long
http_dispatch_settle(struct http_server *srv, unsigned ms)
{
	struct timespec ts;
	unsigned long left;

	ts = clock_deadline(clock_ns() + (uint64_t)ms * 1000000u);
	pthread_mutex_lock(&srv->lock);
	srv->no_defer = 1;
	while (srv->deferred > 0 && pthread_cond_timedwait(&srv->answered,
	    &srv->lock, &ts) == 0)
		;
	left = srv->deferred;
	pthread_mutex_unlock(&srv->lock);
	return left;
}

void
http_server_answer(struct http_deferred *d, int status, const char *code,
    const char *message)
{
	struct http_conn *c = (struct http_conn *)d;
	struct http_server *srv = c->srv;

	pthread_mutex_lock(&srv->lock);
	c->fin_status = status;
	c->fin_code = code;
	/* Out of memory, the error document goes without its message. */
	if (code != NULL && message != NULL)
		c->fin_msg = strdup(message);
	c->fin_ready = 1;
	if (c->deferring) {
		c->deferring = 0;
		srv->deferred--;
		MHD_resume_connection(c->conn);
	}
	pthread_cond_broadcast(&srv->answered);
	pthread_mutex_unlock(&srv->lock);
}

/*
 * Runs the route's handler on a struct http_request made on this stack
 * from c's state, then keeps what the handler changed: the state, and
 * the identifier it wrote for the log, sized to what it holds (out of
 * memory, the log shows none).
 */
static void
run_handler(struct http_server *srv, struct http_conn *c,
    struct http_response *resp)
{
	struct http_request req;
	size_t len;

	memset(&req, 0, sizeof(req));
	req.method = c->req.method;
	req.path = c->req.path;
	req.body = c->req.body;
	req.body_len = c->req.body_len;
	req.wait = c->req.wait;
	req.mark = c->req.mark;
	req.held = c->req.held;
	req.timed_out = c->req.timed_out;
	req.stopping = c->req.stopping;
	req.deferred = c->req.deferred;
	req.authorization = c->req.authorization;
	req.is_operator = c->req.is_operator;
	if (c->log_id != NULL)
		memcpy(req.identifier, c->log_id, strlen(c->log_id) + 1);
	c->route->handler(srv->cfg.ctx, &req, resp);
	c->req.method = req.method;
	c->req.path = req.path;
	c->req.body = req.body;
	c->req.body_len = req.body_len;
	c->req.wait = req.wait;
	c->req.mark = req.mark;
	c->req.held = req.held;
	c->req.timed_out = req.timed_out;
	c->req.stopping = req.stopping;
	c->req.deferred = req.deferred;
	c->req.authorization = req.authorization;
	c->req.is_operator = req.is_operator;
	len = strnlen(req.identifier, sizeof(req.identifier) - 1);
	if (c->log_id != NULL && strncmp(c->log_id, req.identifier, len) == 0 &&
	    c->log_id[len] == '\0')
		return;
	free(c->log_id);
	c->log_id = NULL;
	if (len > 0 && (c->log_id = malloc(len + 1)) != NULL) {
		memcpy(c->log_id, req.identifier, len);
		c->log_id[len] = '\0';
	}
}

static enum MHD_Result
dispatch(struct http_server *srv, struct http_conn *c)
{
	struct http_response resp;
	enum MHD_Result ret;

	if (c->route_idx == HTTP_ROUTE_HEALTHZ(srv)) {
		memset(&resp, 0, sizeof(resp));
		buf_init(&resp.body, 64);
		resp.status = 200;
		(void)buf_adds(&resp.body, "{\"status\":\"ok\"}");
		ret = send_response(srv, c, &resp);
		buf_release(&resp.body);
		return ret;
	}
	if (c->route_idx == HTTP_ROUTE_METRICS(srv)) {
		memset(&resp, 0, sizeof(resp));
		http_metrics_render(srv, &resp);
		ret = send_response(srv, c, &resp);
		buf_release(&resp.body);
		return ret;
	}
	if (c->fin_ready)
		return send_deferred(srv, c);	/* resumed by the answer */
	c->req.body = c->body.data != NULL ? c->body.data : "";
	c->req.body_len = c->body.len;
	c->req.deferred = (struct http_deferred *)c;
	for (;;) {
		memset(&resp, 0, sizeof(resp));
		buf_init(&resp.body, SIZE_MAX);
		resp.status = 500;
		c->wake_seen = __atomic_load_n(&srv->wake_seq,
		    __ATOMIC_ACQUIRE);
		run_handler(srv, c, &resp);
		if (resp.defer)
			return defer(srv, c, &resp);
		negotiate(c, &resp);
		if (!resp.suspend || c->req.wait == 0 || c->req.timed_out ||
		    c->req.stopping)
			break;
		pthread_mutex_lock(&srv->lock);
		if (__atomic_load_n(&srv->wake_seq, __ATOMIC_ACQUIRE) ==
		    c->wake_seen && !srv->stopping &&
		    clock_ns() < c->start_ns +
		    (uint64_t)c->req.wait * 1000000000u) {
			http_park(srv, c);
			pthread_mutex_unlock(&srv->lock);
			if (resp.done != NULL)
				resp.done(resp.done_arg);
			buf_release(&resp.body);
			return MHD_YES;
		}
		/* Woken while deciding, or out of time: ask again. */
		if (srv->stopping)
			c->req.stopping = 1;
		else if (__atomic_load_n(&srv->wake_seq, __ATOMIC_ACQUIRE) ==
		    c->wake_seen)
			c->req.timed_out = 1;
		pthread_mutex_unlock(&srv->lock);
		if (resp.done != NULL)
			resp.done(resp.done_arg);
		buf_release(&resp.body);
	}
	ret = send_response(srv, c, &resp);
	buf_release(&resp.body);
	return ret;
}

enum MHD_Result
http_dispatch_request(void *cls, struct MHD_Connection *conn, const char *url,
    const char *method, const char *version, const char *upload_data,
    size_t *upload_data_size, void **con_cls)
{
	struct http_server *srv = cls;
	struct http_conn *c = *con_cls;

	if (c == NULL) {
		if ((c = calloc(1, sizeof(*c))) == NULL)
			return MHD_NO;
		*con_cls = c;
		__atomic_fetch_add(&srv->inflight, 1, __ATOMIC_RELAXED);
		c->conn = conn;
		c->sock = http_conns_sock(conn);
		c->srv = srv;
		c->start_ns = clock_ns();
		c->req.method = method;
		c->req.path = url;
		buf_init(&c->body, srv->cfg.max_body);
		if (http_conns_head(srv, c->sock) == -1)
			return MHD_NO;
		return admit(srv, c, method);
	}
	if (c->answered) {
		/* Drain what a refused client sent, up to a point. */
		c->discarded += *upload_data_size;
		*upload_data_size = 0;
		return c->discarded > HTTP_DISCARD_MAX ? MHD_NO : MHD_YES;
	}
	if (*upload_data_size > 0) {
		if (!c->too_large && buf_add(&c->body, upload_data,
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
		c->too_large = 1;
		c->discarded += *upload_data_size;
		*upload_data_size = 0;
		return c->discarded > HTTP_DISCARD_MAX ? MHD_NO : MHD_YES;
	}
	/* The request is in: no deadline while it is handled or parked. */
	if (http_conns_busy(srv, c->sock) == -1)
		return MHD_NO;
	if (c->too_large)
		return send_error(srv, c, 413, PROTOCOL_TOO_LARGE,
		    "body over the limit of %zu bytes", srv->cfg.max_body);
	/* Resumed: by a wake, a deadline or the stop. */
	c->suspended = 0;
	return dispatch(srv, c);
}

void
http_dispatch_completed(void *cls, struct MHD_Connection *conn,
    void **con_cls, enum MHD_RequestTerminationCode toe)
{
	struct http_server *srv = cls;
	struct http_conn *c = *con_cls;

	if (c == NULL)
		return;
	http_conns_done(srv, c->sock);
	buf_release(&c->body);
	free(c->fin_msg);
	free(c->log_id);
	free(c);
	*con_cls = NULL;
	__atomic_fetch_sub(&srv->inflight, 1, __ATOMIC_RELAXED);
}
