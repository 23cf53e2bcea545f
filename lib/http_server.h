/*
 * The HTTP server both serve commands share, on libmicrohttpd: one internal
 * epoll thread pool sized to the cores, a route table, request bodies
 * accumulated under a hard cap (413 past it), bearer-token auth compared in
 * constant time, JSON error documents for 400/401/404/405/413, GET /healthz
 * and GET /metrics built in, one log line per request, long polls parked
 * with suspend/resume (no thread per waiting request), and a graceful stop.
 * Connections: a limit from the open-file limit and one per address, a
 * small memory pool each, a deadline for a request's head and body, and
 * the oldest idle keep-alive ones closed for room (http_conns.c).
 */
#ifndef CFGSYNC_HTTP_SERVER_H
#define CFGSYNC_HTTP_SERVER_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

struct errbuf;
struct http_body;
struct http_deferred;
struct http_server;

/* seconds a long poll may ask */
#define HTTP_SERVER_MAX_WAIT		60
#define HTTP_SERVER_MAX_BODY		65536
/* the most connections a default may allow, and the least */
#define HTTP_SERVER_MAX_CONNECTIONS	1000000
#define HTTP_SERVER_MIN_CONNECTIONS	64
/* open files kept back from connections: files, the materializer, logs */
#define HTTP_SERVER_FD_HEADROOM	512
/* the default per-IP limit is this fraction of the connection limit */
#define HTTP_SERVER_PER_IP_DIVISOR	2
/* max_connections_per_ip: derive it from max_connections at start */
#define HTTP_SERVER_PER_IP_AUTO		UINT_MAX
#define HTTP_SERVER_CONN_TIMEOUT	30
#define HTTP_SERVER_ID_MAX		255
/* a quoted entity tag, its NUL included */
#define HTTP_ETAG_MAX			80

struct http_request {
	const char	*method;	/* borrowed, valid during the call */
	const char	*path;		/* borrowed, without the query */
	const char	*body;		/* NUL-terminated; "" without one */
	size_t		 body_len;
	/* ?wait=SECONDS, 0 when absent; a handler may set a wait of its own */
	unsigned	 wait;
	/* the handler's own, kept from call to call; 0 at the first */
	uint64_t	 mark;
	int		 held;		/* the handler set wait, not ?wait */
	int		 timed_out;	/* resumed because wait ran out */
	int		 stopping;	/* the server is shutting down */
	/* for the log */
	char		 identifier[HTTP_SERVER_ID_MAX + 1];
	/* this request, for http_server_answer when the handler defers */
	struct http_deferred *deferred;
	/* borrowed: the Authorization header, or NULL */
	const char	*authorization;
	/* it carries cfg.token (1 without one, unless cfg.node_auth) */
	int		 is_operator;
};

struct http_response {
	int			 status;
	/* a body built for this request */
	struct buf		 body;
	/* borrowed: sent instead of body */
	const struct http_body	*prepared;
	/* park until woken or wait passes */
	int			 suspend;
	/* answered later, by http_server_answer(req->deferred) */
	int			 defer;
	void			(*done)(void *);	/* run once queued */
	void			*done_arg;
	/* a 304's entity tag, set by the server itself */
	char			 etag[HTTP_ETAG_MAX];
};

typedef void http_handler_fn(void *ctx, struct http_request *,
    struct http_response *);

/* Who may call a route. */
enum http_access {
	HTTP_OPERATOR,	/* the operator's token (cfg.token), when one is set */
	/*
	 * With cfg.node_auth, a node too: a request without the operator's
	 * token reaches the handler, which checks the node's own token
	 * (lib/node_auth).
	 */
	HTTP_NODE,
	HTTP_OPEN	/* anyone, as /healthz: a probe sends no token */
};

struct http_route {
	const char	*method;	/* "POST" */
	const char	*path;		/* "/node", or a prefix ending in "/" */
	const char	*name;		/* label for metrics */
	http_handler_fn	*handler;
	enum http_access access;
};

struct http_server_config {
	const char		*listen;	/* "[HOST:]PORT" */
	const char		*token;		/* bearer token, or NULL */
	/* per-node tokens: see HTTP_NODE */
	int			 node_auth;
	const char		*tls_cert;	/* PEM file, or NULL */
	const char		*tls_key;	/* PEM file, or NULL */
	size_t			 max_body;
	unsigned		 max_connections;
	/* 0: no per-IP limit */
	unsigned		 max_connections_per_ip;
	/* seconds idle, and for a request's head and body in total */
	unsigned		 connection_timeout;
	unsigned		 threads;	/* 0: one per core */
	int			 log_json;	/* log lines as JSON */
	int			 quiet;		/* no request log */
	/* borrowed for the server's life */
	const struct http_route	*routes;
	size_t			 nroutes;
	void			*ctx;		/* handed to every handler */
	/* Appends application metrics (Prometheus text) to the buffer. */
	int			(*metrics)(void *ctx, struct buf *);
};

/*
 * Fills cfg with the defaults: listen 0.0.0.0:4400, the caps above, and
 * the connection limits from http_server_default_connections.
 */
void	http_server_config_init(struct http_server_config *);

/*
 * The default connection limit: the open-file limit of the process less
 * HTTP_SERVER_FD_HEADROOM (half of it when that is small), within
 * HTTP_SERVER_MIN_CONNECTIONS and HTTP_SERVER_MAX_CONNECTIONS.
 */
unsigned	http_server_default_connections(void);

/* The default per-IP limit for a connection limit of max. */
unsigned	http_server_default_per_ip(unsigned max);

/*
 * Binds, listens and starts serving.  Returns the server, or NULL with
 * EC_USAGE (bad listen address, unreadable TLS file) or EC_INTERNAL.
 */
struct http_server *http_server_start(const struct http_server_config *,
	    struct errbuf *);

/* The address it listens on, "http://HOST:PORT"; borrowed from srv. */
const char *http_server_url(const struct http_server *);

/* The port it listens on. */
unsigned	http_server_port(const struct http_server *);

/*
 * Runs every suspended request's handler again (the state they wait for
 * may have changed).  Safe from any thread.
 */
void	http_server_wake(struct http_server *);

/*
 * Like http_server_wake, for the parked requests whose handler set their
 * wait itself (req->held) only: cheaper when the change concerns them
 * alone.
 */
void	http_server_wake_held(struct http_server *);

/*
 * Answers a deferred request (its handler set resp->defer and handed
 * req->deferred on): status, with an error document of code and message
 * (copied) when code is not NULL, else no body.  Called exactly once per
 * deferred request, from any thread (possibly before the handler has
 * returned), and before http_server_stop gives up waiting for it.  A
 * deferred request holds its connection suspended, costing no thread.
 */
void	http_server_answer(struct http_deferred *, int status,
	    const char *code, const char *message);

/*
 * Stops accepting, answers parked requests, waits (at most a few seconds)
 * for requests in flight, then frees srv.  Accepts NULL.
 */
void	http_server_stop(struct http_server *);

/*
 * A response body made once and sent many times (a precomputed payload).
 * Returns NULL when out of memory.  Free it with http_body_free; responses
 * in flight keep their own reference.
 */
struct http_body *http_body_new(int status, const char *data, size_t len);

/* One piece of a body made of pieces. */
struct http_part {
	const void	*data;
	size_t		 len;
};

/*
 * Like http_body_new, but the body is parts[0..nparts) sent one after the
 * other, and not copied: they must stay valid until release(arg) is
 * called.  That happens exactly once: when no response uses them any more
 * (after http_body_free and the last send), or before this returns NULL
 * (out of memory).
 */
struct http_body *http_body_new_parts(int status,
	    const struct http_part *parts, unsigned nparts,
	    void (*release)(void *), void *arg);

/*
 * Like http_body_new, but data is not copied: it must stay valid until
 * release(arg) is called, exactly once, as for http_body_new_parts.  The
 * body goes out with its headers in one write, as http_body_new's does.
 */
struct http_body *http_body_new_lent(int status, const void *data,
	    size_t len, void (*release)(void *), void *arg);

void	http_body_free(struct http_body *);

/* The bytes of b's body. */
size_t	http_body_len(const struct http_body *);

/*
 * Sets header name of b to value (replacing one set before), while b is
 * not yet in use.  Returns 0, or -1 when out of memory.
 */
int	http_body_set_header(struct http_body *, const char *name,
	    const char *value);

/*
 * Gives b its entity tag (etag, quoted, shorter than HTTP_ETAG_MAX):
 * sent as ETag, and a request whose If-None-Match names it is answered
 * 304, or parked like a not-ready one while it asks ?wait.  0 or -1.
 */
int	http_body_set_etag(struct http_body *, const char *etag);

/*
 * Other representations of the same answer: the server sends one instead
 * of b when the request asks for it (Accept-Encoding: gzip; ?format=tar
 * or Accept: application/x-tar).  b takes alt over, and frees it with
 * itself.
 */
enum http_variant {
	HTTP_VARIANT_GZIP,		/* Content-Encoding: gzip */
	HTTP_VARIANT_TAR,		/* application/x-tar */
	HTTP_NVARIANTS
};
void	http_body_set_variant(struct http_body *, enum http_variant,
	    struct http_body *alt);

/*
 * Makes b's variants on the first request that asks for one instead of
 * before b is served: make(arg, v, &alt) returns 0 with variant v in alt
 * (b takes it over) or alt NULL when b has none of that kind, or -1 when
 * it failed (b itself is sent, and the next request tries again).  make
 * runs on a serving thread; two first requests at once may each make
 * one, the first made is kept and the others are freed, so make must
 * give equal bodies.  arg must outlive b.  Set while b is not yet in use.
 */
typedef int http_variant_fn(void *arg, enum http_variant,
	    struct http_body **alt);
void	http_body_set_variant_maker(struct http_body *, http_variant_fn *,
	    void *arg);

/*
 * b's variant v, made now (see http_body_set_variant_maker) if need be;
 * NULL when b has none.  Safe from several threads at once.
 */
const struct http_body *http_body_variant(const struct http_body *,
	    enum http_variant);

/* Sets resp to status with {"code":code,"message":...}. */
void	http_response_error(struct http_response *, int status,
	    const char *code, const char *fmt, ...)
	    __attribute__((format(printf, 4, 5)));

#endif
