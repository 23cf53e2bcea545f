/*
 * The server's connections, as sockets rather than requests: one struct
 * http_sock per accepted socket (libmicrohttpd's socket context), on one
 * list in the order each began to wait for a request.  A socket waits
 * from its accept, or from the end of its last answer (keep-alive), until
 * its request's head and body are in; then it is busy (handled, parked in
 * a long poll, or sending) and off the list.  So parked long polls are
 * counted apart from connections still sending: only waiting ones are cut.
 *
 * - The reaper thread cuts (shutdown(2)) every socket that has waited
 *   longer than cfg.connection_timeout in total, however it dribbles its
 *   bytes: libmicrohttpd's own timeout is an idle one, reset by each byte.
 * - At accept, when the sockets reach the high-water mark below
 *   cfg.max_connections, the oldest idle keep-alive socket is cut, so new
 *   clients get in instead of waiting in the listen backlog; the log says
 *   so once, until the count falls back under the low-water mark.
 *
 * Cutting is a shutdown(2) under srv->socks_lock; libmicrohttpd then sees
 * the end of the stream and closes the socket itself.  Its close notice
 * takes the same lock before the descriptor is closed, so a descriptor is
 * never shut down once it may have been reused.
 */
#include "http_server_internal.h"

#include <sys/socket.h>

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include <microhttpd.h>

#include "clock.h"
#include "diag.h"
#include "banned.h"

#define HTTP_REAP_TICK_MS	250

static void
list_remove(struct http_server *srv, struct http_sock *s)
{
	if (!s->listed)
		return;
	if (s->prev != NULL)
		s->prev->next = s->next;
	else
		srv->waiting = s->next;
	if (s->next != NULL)
		s->next->prev = s->prev;
	else
		srv->waiting_tail = s->prev;
	s->prev = s->next = NULL;
	s->listed = 0;
}

static void
list_append(struct http_server *srv, struct http_sock *s)
{
	s->prev = srv->waiting_tail;
	s->next = NULL;
	if (srv->waiting_tail != NULL)
		srv->waiting_tail->next = s;
	else
		srv->waiting = s;
	srv->waiting_tail = s;
	s->listed = 1;
}

/* Shuts s down and takes it off the list; srv->socks_lock held. */
static void
cut(struct http_server *srv, struct http_sock *s)
{
	list_remove(srv, s);
	if (s->cut || s->fd < 0)
		return;
	s->cut = 1;
	(void)shutdown(s->fd, SHUT_RDWR);
}

/* Cuts the oldest idle keep-alive socket; srv->socks_lock held. */
static void
evict_idle(struct http_server *srv)
{
	struct http_sock *s;

	for (s = srv->waiting; s != NULL; s = s->next)
		if (s->idle)
			break;
	if (s == NULL)
		return;
	if (!srv->evicting) {
		srv->evicting = 1;
		diag_warn("http: %lu of %u connections in use: closing the "
		    "oldest idle keep-alive connections", srv->nsocks,
		    srv->cfg.max_connections);
	}
	srv->evicted++;
	cut(srv, s);
}

void
http_conns_notify(void *cls, struct MHD_Connection *conn, void **socket_ctx,
    enum MHD_ConnectionNotificationCode code)
{
	struct http_server *srv = cls;
	const union MHD_ConnectionInfo *ci;
	struct http_sock *s;

	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		if ((s = calloc(1, sizeof(*s))) == NULL)
			return;
		ci = MHD_get_connection_info(conn,
		    MHD_CONNECTION_INFO_CONNECTION_FD);
		s->fd = ci != NULL ? ci->connect_fd : -1;
		s->since_ns = clock_ns();
		*socket_ctx = s;
		pthread_mutex_lock(&srv->socks_lock);
		srv->nsocks++;
		if (srv->nsocks >= srv->high_water)
			evict_idle(srv);
		list_append(srv, s);
		pthread_mutex_unlock(&srv->socks_lock);
		return;
	}
	if ((s = *socket_ctx) == NULL)
		return;
	pthread_mutex_lock(&srv->socks_lock);
	list_remove(srv, s);
	srv->nsocks--;
	if (srv->evicting && srv->nsocks < srv->low_water)
		srv->evicting = 0;
	pthread_mutex_unlock(&srv->socks_lock);
	free(s);
	*socket_ctx = NULL;
}

struct http_sock *
http_conns_sock(struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *ci;

	ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	return ci != NULL ? ci->socket_context : NULL;
}

void
http_conns_head(struct http_server *srv, struct http_sock *s)
{
	if (s == NULL)
		return;
	pthread_mutex_lock(&srv->socks_lock);
	s->idle = 0;
	pthread_mutex_unlock(&srv->socks_lock);
}

void
http_conns_busy(struct http_server *srv, struct http_sock *s)
{
	if (s == NULL)
		return;
	pthread_mutex_lock(&srv->socks_lock);
	list_remove(srv, s);
	pthread_mutex_unlock(&srv->socks_lock);
}

void
http_conns_done(struct http_server *srv, struct http_sock *s)
{
	if (s == NULL)
		return;
	pthread_mutex_lock(&srv->socks_lock);
	list_remove(srv, s);
	if (!s->cut) {
		s->idle = 1;
		s->since_ns = clock_ns();
		list_append(srv, s);
	}
	pthread_mutex_unlock(&srv->socks_lock);
}

void
http_conns_limits(struct http_server *srv)
{
	unsigned max = srv->cfg.max_connections;

	/* Keep a few slots free: libmicrohttpd's pool threads split max. */
	srv->high_water = max - max / 32;
	if (srv->high_water == 0)
		srv->high_water = 1;
	srv->low_water = max / 2;
}

void *
http_conns_reaper_thread(void *arg)
{
	struct http_server *srv = arg;
	struct http_sock *s, *next;
	struct timespec ts;
	uint64_t limit, now;

	limit = (uint64_t)srv->cfg.connection_timeout * 1000000000u;
	pthread_mutex_lock(&srv->socks_lock);
	while (!srv->socks_stopping) {
		now = clock_ns();
		/* Oldest first: stop at the first one still in time. */
		for (s = srv->waiting; s != NULL; s = next) {
			next = s->next;
			if (now - s->since_ns < limit)
				break;
			if (srv->reaped++ == 0)
				diag_warn("http: closing connections that take "
				    "more than %u s to send a request (said "
				    "once)", srv->cfg.connection_timeout);
			cut(srv, s);
		}
		ts = clock_deadline(now + (uint64_t)HTTP_REAP_TICK_MS *
		    1000000u);
		(void)pthread_cond_timedwait(&srv->socks_cond,
		    &srv->socks_lock, &ts);
	}
	pthread_mutex_unlock(&srv->socks_lock);
	return NULL;
}
