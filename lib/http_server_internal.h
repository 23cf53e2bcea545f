/*
 * What the parts of the HTTP server share, and nothing outside them
 * includes: the server and per-request state, and the functions each part
 * (http_server.c, http_listen.c, http_dispatch.c, http_park.c,
 * http_metrics.c, http_conns.c) gives the
 * others.  The pure parsers are here too, for test/unit/test_http_request.
 */
#ifndef CFGSYNC_HTTP_SERVER_INTERNAL_H
#define CFGSYNC_HTTP_SERVER_INTERNAL_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include <microhttpd.h>

#include "buf.h"
#include "http_server.h"
#include "prom.h"

struct errbuf;

#define HTTP_MAX_ROUTES		16
#define HTTP_URL_MAX		80
#define HTTP_NSTATUS		12	/* counted statuses and "other" */

/* Route indices past the configured ones. */
#define HTTP_ROUTE_HEALTHZ(s)	((s)->cfg.nroutes)
#define HTTP_ROUTE_METRICS(s)	((s)->cfg.nroutes + 1)
#define HTTP_ROUTE_NONE(s)	((s)->cfg.nroutes + 2)
#define HTTP_ROUTE_SLOTS	(HTTP_MAX_ROUTES + 3)

struct http_body {
	struct MHD_Response	*response;
	int			 status;
	size_t			 len;
	/* "" for none, else the response's own copy of its ETag header */
	const char		*etag;
	/* owned; made lazily (atomic) when make is set */
	struct http_body	*variants[HTTP_NVARIANTS];
	unsigned char		 none[HTTP_NVARIANTS];	/* atomic: made, none */
	http_variant_fn		*make;
	void			*make_arg;
};

/*
 * One accepted socket, from libmicrohttpd's start notice to its close
 * notice (http_conns.c).  The list links, on, since_ns and cut are
 * guarded by srv->socks_lock; bad_target is the pool thread's own.
 */
/*
 * The lists a socket is on, each oldest first: every socket waiting for
 * a request, and of those the idle keep-alive ones (the first to cut at
 * the connection limit, found without a walk past the others).
 */
enum http_sock_list { HTTP_SOCKS_WAITING, HTTP_SOCKS_IDLE, HTTP_SOCKS_LISTS };

struct http_sock {
	int			 fd;
	uint64_t		 since_ns;	/* began to wait for a request */
	int			 on[HTTP_SOCKS_LISTS];	/* on srv's list */
	int			 cut;		/* shut down by us */
	int			 bad_target;	/* NUL or bad %-escape seen */
	struct http_sock	*prev[HTTP_SOCKS_LISTS], *next[HTTP_SOCKS_LISTS];
};

/*
 * What of a request outlives a call of its handler: struct http_request
 * without the identifier, which the handler writes into a copy on its
 * thread's stack (http_dispatch.c) and which is kept, for the log, in
 * struct http_conn sized to what it holds.  Fields as in http_request.
 */
struct http_req_state {
	const char		*method;	/* borrowed */
	const char		*path;		/* borrowed */
	const char		*body;		/* borrowed from the conn's */
	size_t			 body_len;
	uint64_t		 mark;		/* the handler's */
	struct http_deferred	*deferred;
	const char		*authorization;	/* borrowed, or NULL */
	unsigned		 wait;
	int			 held;
	int			 timed_out;
	int			 stopping;
	int			 is_operator;
};

/*
 * One request, from its first callback to MHD's completion call: as many
 * as there are parked long polls, so kept small (the flags a byte each,
 * each its own memory location for the threads that write them).
 */
struct http_conn {
	struct http_req_state	 req;
	struct buf		 body;
	struct MHD_Connection	*conn;
	struct http_sock	*sock;		/* NULL when out of memory */
	const struct http_route	*route;
	struct http_server	*srv;
	char			*log_id;	/* the identifier; NULL: none */
	uint64_t		 start_ns;
	uint64_t		 deadline_ns;	/* while suspended */
	unsigned long		 wake_seen;	/* srv->wake_seq at dispatch */
	size_t			 discarded;	/* past the cap */
	size_t			 route_idx;	/* nroutes + builtins */
	unsigned char		 too_large;	/* over the cap: 413 */
	unsigned char		 suspended;
	unsigned char		 answered;
	/* A deferred answer (http_server_answer), under srv->lock. */
	unsigned char		 deferring;	/* suspended, waiting for it */
	unsigned char		 fin_ready;	/* it came */
	int			 fin_status;
	const char		*fin_code;	/* borrowed; NULL: no body */
	char			*fin_msg;	/* NULL: no body */
	struct http_conn	*next;		/* in srv->parked */
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
	struct http_conn	*parked;
	unsigned long		 wake_seq;	/* atomic; written under lock */
	int			 stopping;
	pthread_t		 timer;
	int			 timer_started;
	/*
	 * Deferred requests suspended for their answer, and, once the server
	 * stops, no more suspending: a handler thread waits on answered
	 * instead, so nothing deferred is left when libmicrohttpd stops.
	 */
	unsigned long		 deferred;
	int			 no_defer;
	pthread_cond_t		 answered;

	pthread_mutex_t		 socks_lock;	/* guards what follows */
	pthread_cond_t		 socks_cond;
	struct http_sock	*socks[HTTP_SOCKS_LISTS];	/* oldest */
	struct http_sock	*socks_tail[HTTP_SOCKS_LISTS];	/* newest */
	unsigned long		 nsocks;
	unsigned long		 high_water;	/* cut an idle one at accept */
	unsigned long		 low_water;	/* log the cutting again */
	unsigned long		 evicted;	/* idle ones cut for room */
	unsigned long		 reaped;	/* cut for their deadline */
	unsigned long		 kicked;	/* see http_conns.c */
	int			 evicting;	/* said so in the log */
	int			 socks_stopping;
	pthread_t		 reaper;
	int			 reaper_started;

	unsigned long		 inflight;	/* atomics from here on */
	unsigned long		 counts[HTTP_ROUTE_SLOTS][HTTP_NSTATUS];
	struct prom_histogram	 durations[HTTP_ROUTE_SLOTS];
};

/* http_listen.c */

/*
 * Splits "[HOST:]PORT" (HOST may be "[v6]"), binds and listens, and sets
 * srv->url and srv->port.  Returns the socket, or -1 with EC_USAGE or
 * EC_INTERNAL.
 */
int	http_listen_socket(struct http_server *, const char *spec,
	    struct errbuf *);

/* Reads the PEM files of cfg, when it has them, into srv; 0 or -1. */
int	http_listen_tls_load(struct http_server *, struct errbuf *);

/* Starts libmicrohttpd on fd; NULL with EC_INTERNAL.  fd is then its. */
struct MHD_Daemon *http_listen_daemon(struct http_server *, int fd,
	    struct errbuf *);

/*
 * Rewrites one libmicrohttpd message in place for the log: the trailing
 * newlines go, and an HTML error page quoted in it ("('<html>...')") is
 * replaced by the text of its body.
 */
void	http_listen_clean_message(char *);

/* http_dispatch.c */

/* libmicrohttpd's access handler and completion callback; cls is srv. */
enum MHD_Result http_dispatch_request(void *cls, struct MHD_Connection *,
	    const char *url, const char *method, const char *version,
	    const char *upload_data, size_t *upload_data_size, void **con_cls);
void	http_dispatch_completed(void *cls, struct MHD_Connection *,
	    void **con_cls, enum MHD_RequestTerminationCode);

/*
 * Finds the route for method and path among routes[0..n): a path ending
 * in "/" is a prefix.  Returns 0 with *idx set, 405 with *idx the last
 * route of that path (wrong method), or 404.
 */
int	http_route_find(const struct http_route *, size_t n,
	    const char *method, const char *path, size_t *idx);

/*
 * Parses the value of ?wait=: decimal digits only, capped at
 * HTTP_SERVER_MAX_WAIT.  Returns 0 with *out set, or -1.
 */
int	http_query_wait(const char *, unsigned *out);

/*
 * Whether an Authorization header value (or NULL) is "Bearer " and token,
 * compared in time that depends on the token's length only.
 */
int	http_token_ok(const char *token, size_t token_len, const char *header);

/*
 * Whether an Accept-Encoding value (or NULL) takes gzip (q above 0), and
 * whether an If-None-Match value (or NULL) names the quoted etag.
 */
int	http_accepts_gzip(const char *);
int	http_etag_matches(const char *, const char *etag);

/* http_metrics.c */

/* Counts one answer of status on route slot r that took ns; any thread. */
void	http_metrics_count(struct http_server *, size_t r, int status,
	    uint64_t ns);

/*
 * Sets resp to the /metrics page: the server's families, then what
 * cfg.metrics appends; a 500 error document when it does not fit.
 */
void	http_metrics_render(struct http_server *, struct http_response *);

/* http_conns.c */

/* libmicrohttpd's connection notice (MHD_OPTION_NOTIFY_CONNECTION). */
void	http_conns_notify(void *cls, struct MHD_Connection *,
	    void **socket_ctx, enum MHD_ConnectionNotificationCode);

/* The socket of conn, or NULL. */
struct http_sock *http_conns_sock(struct MHD_Connection *);

/*
 * The head of a request arrived on s: no longer idle.  Returns -1 when s
 * was cut before (its request must not be handled: its answer cannot
 * leave, and a parked poll would hold its slot), else 0.  Accepts NULL.
 */
int	http_conns_head(struct http_server *, struct http_sock *);

/* The request on s is in: its deadline stops.  -1 as above.  Accepts NULL. */
int	http_conns_busy(struct http_server *, struct http_sock *);

/* The answer on s is done: it waits for the next request.  Accepts NULL. */
void	http_conns_done(struct http_server *, struct http_sock *);

/* Sets the high- and low-water marks from cfg.max_connections. */
void	http_conns_limits(struct http_server *);

/*
 * The reaper thread's body (arg is the server): cuts sockets that waited
 * past cfg.connection_timeout, until srv->socks_stopping.
 */
void	*http_conns_reaper_thread(void *);

/*
 * libmicrohttpd's unescape callback (MHD_OPTION_UNESCAPE_CALLBACK):
 * decodes %HH in place; a %00, a '%' not followed by two hex digits or a
 * NUL marks the connection's socket bad_target (the request is then 400).
 */
size_t	http_dispatch_unescape(void *cls, struct MHD_Connection *, char *);

/* http_dispatch.c, deferred answers */

/*
 * Stops suspending deferred requests and waits (at most ms) until none is
 * suspended; srv->lock not held.  Returns how many are still waiting.
 */
unsigned long http_dispatch_settle(struct http_server *, unsigned ms);

/* http_park.c */

/* Parks c until woken or its deadline; srv->lock held. */
void	http_park(struct http_server *, struct http_conn *);

/*
 * Resumes parked requests: all of them, or those past their deadline at
 * now.  srv->lock held.
 */
void	http_park_resume_locked(struct http_server *, int all, uint64_t now);

/* The deadline thread's body; arg is the server. */
void	*http_park_deadline_thread(void *);

#endif
