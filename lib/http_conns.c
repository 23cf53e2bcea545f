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
 * - The reaper signals again a socket whose request sits unread (its
 *   epoll drain can leave a thread blocked: see kick_unread).
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

#include <sys/ioctl.h>
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

/*
 * libmicrohttpd (0.9.75, and the same code in 1.0.0) drains its epoll
 * queue with "while (MAX_EVENTS == n) n = epoll_wait(..., timeout)": when
 * one call returns exactly 128 events, the next blocks with the first
 * one's timeout, -1 when no connection has a deadline, while those 128
 * connections wait in its ready list.  Their events are edge-triggered, so
 * nothing wakes the thread until another event reaches it, and their
 * requests sit unread: nodes stall until their ?wait runs out or their
 * client gives up (found with test/bench/register.sh, about one round in
 * ten).  So each tick the reaper looks at the sockets that began to wait
 * for a request between a tick and HTTP_KICK_SCAN_MS ago, and on each with
 * bytes unread sets SO_RCVLOWAT to 1 (the default: nothing changes), which
 * makes Linux signal the socket readable again: a new edge in its
 * thread's epoll, which wakes the thread, and it works through its ready
 * list.
 */
#define HTTP_KICK_SCAN_MS	2000

/* Takes s off srv's list k, if it is on it; srv->socks_lock held. */
static void
list_remove(struct http_server *srv, struct http_sock *s,
    enum http_sock_list k)
{
	if (!s->on[k])
		return;
	if (s->prev[k] != NULL)
		s->prev[k]->next[k] = s->next[k];
	else
		srv->socks[k] = s->next[k];
	if (s->next[k] != NULL)
		s->next[k]->prev[k] = s->prev[k];
	else
		srv->socks_tail[k] = s->prev[k];
	s->prev[k] = s->next[k] = NULL;
	s->on[k] = 0;
}

/* Puts s last on srv's list k, the newest; srv->socks_lock held. */
static void
list_append(struct http_server *srv, struct http_sock *s,
    enum http_sock_list k)
{
	if (s->on[k])
		return;
	s->prev[k] = srv->socks_tail[k];
	s->next[k] = NULL;
	if (srv->socks_tail[k] != NULL)
		srv->socks_tail[k]->next[k] = s;
	else
		srv->socks[k] = s;
	srv->socks_tail[k] = s;
	s->on[k] = 1;
}

/* Takes s off every list (no longer waiting); srv->socks_lock held. */
static void
unlist(struct http_server *srv, struct http_sock *s)
{
	list_remove(srv, s, HTTP_SOCKS_WAITING);
	list_remove(srv, s, HTTP_SOCKS_IDLE);
}

/* Shuts s down and takes it off the lists; srv->socks_lock held. */
static void
cut(struct http_server *srv, struct http_sock *s)
{
	unlist(srv, s);
	if (s->cut || s->fd < 0)
		return;
	s->cut = 1;
	(void)shutdown(s->fd, SHUT_RDWR);
}

/* Cuts the oldest idle keep-alive socket; srv->socks_lock held. */
static void
evict_idle(struct http_server *srv)
{
	struct http_sock *s = srv->socks[HTTP_SOCKS_IDLE];

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
		list_append(srv, s, HTTP_SOCKS_WAITING);
		pthread_mutex_unlock(&srv->socks_lock);
		return;
	}
	if ((s = *socket_ctx) == NULL)
		return;
	pthread_mutex_lock(&srv->socks_lock);
	unlist(srv, s);
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

/*
 * A keep-alive client sends its next request whenever it likes, so a cut
 * can meet a request already on its way, which libmicrohttpd still reads
 * (a shutdown leaves what was received).  Handled, it would be parked on
 * a socket that can no longer answer, holding its slot until its ?wait
 * ran out: at the connection limit, enough of those and no connection is
 * accepted.  So a request that arrives on a cut socket is refused here;
 * once its head is in, s is no longer idle and cannot be evicted.
 */
int
http_conns_head(struct http_server *srv, struct http_sock *s)
{
	int cut;

	if (s == NULL)
		return 0;
	pthread_mutex_lock(&srv->socks_lock);
	list_remove(srv, s, HTTP_SOCKS_IDLE);
	cut = s->cut;
	pthread_mutex_unlock(&srv->socks_lock);
	return cut ? -1 : 0;
}

int
http_conns_busy(struct http_server *srv, struct http_sock *s)
{
	int cut;

	if (s == NULL)
		return 0;
	pthread_mutex_lock(&srv->socks_lock);
	unlist(srv, s);
	cut = s->cut;
	pthread_mutex_unlock(&srv->socks_lock);
	return cut ? -1 : 0;
}

void
http_conns_done(struct http_server *srv, struct http_sock *s)
{
	if (s == NULL)
		return;
	pthread_mutex_lock(&srv->socks_lock);
	unlist(srv, s);
	if (!s->cut) {
		s->since_ns = clock_ns();
		list_append(srv, s, HTTP_SOCKS_WAITING);
		list_append(srv, s, HTTP_SOCKS_IDLE);
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

/* Whether s has bytes its thread has not read. */
static int
unread(const struct http_sock *s)
{
	int n = 0;

	return s->fd >= 0 && !s->cut && ioctl(s->fd, FIONREAD, &n) == 0 &&
	    n > 0;
}

/*
 * Signals readable again every socket that began to wait for a request
 * between a tick and HTTP_KICK_SCAN_MS before now and has bytes unread.
 * srv->socks_lock held, so no descriptor is closed meanwhile.  Returns
 * how many.
 */
static unsigned
kick_unread(struct http_server *srv, uint64_t now)
{
	const uint64_t young = (uint64_t)HTTP_REAP_TICK_MS * 1000000u;
	const uint64_t old = (uint64_t)HTTP_KICK_SCAN_MS * 1000000u;
	struct http_sock *s;
	unsigned n = 0;
	int one = 1;

	/* Newest first: stop at the first one older than the scan. */
	for (s = srv->socks_tail[HTTP_SOCKS_WAITING]; s != NULL;
	    s = s->prev[HTTP_SOCKS_WAITING]) {
		if (now - s->since_ns < young)
			continue;
		if (now - s->since_ns > old)
			break;
		if (unread(s) && setsockopt(s->fd, SOL_SOCKET, SO_RCVLOWAT,
		    &one, sizeof(one)) == 0)
			n++;
	}
	return n;
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
		for (s = srv->socks[HTTP_SOCKS_WAITING]; s != NULL; s = next) {
			next = s->next[HTTP_SOCKS_WAITING];
			if (now - s->since_ns < limit)
				break;
			if (srv->reaped++ == 0)
				diag_warn("http: closing connections that take "
				    "more than %u s to send a request (said "
				    "once)", srv->cfg.connection_timeout);
			cut(srv, s);
		}
		if (kick_unread(srv, now) > 0 && srv->kicked++ == 0)
			diag_warn("http: requests sat unread in libmicrohttpd: "
			    "signalled their sockets again (said once)");
		ts = clock_deadline(now + (uint64_t)HTTP_REAP_TICK_MS *
		    1000000u);
		(void)pthread_cond_timedwait(&srv->socks_cond,
		    &srv->socks_lock, &ts);
	}
	pthread_mutex_unlock(&srv->socks_lock);
	return NULL;
}
