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

/*
 * The idle ones are on a list of their own as well, oldest first, so the
 * one to cut at the limit is found at once, not after a walk past
 * thousands of sockets still waiting for their first request.
 */
static void
idle_set(struct http_server *srv, struct http_sock *s, int idle)
{
	if (s->idle == idle)
		return;
	s->idle = idle;
	if (idle) {
		s->idle_prev = srv->idle_tail;
		s->idle_next = NULL;
		if (srv->idle_tail != NULL)
			srv->idle_tail->idle_next = s;
		else
			srv->idle = s;
		srv->idle_tail = s;
		return;
	}
	if (s->idle_prev != NULL)
		s->idle_prev->idle_next = s->idle_next;
	else
		srv->idle = s->idle_next;
	if (s->idle_next != NULL)
		s->idle_next->idle_prev = s->idle_prev;
	else
		srv->idle_tail = s->idle_prev;
	s->idle_prev = s->idle_next = NULL;
}

/* Shuts s down and takes it off the lists; srv->socks_lock held. */
static void
cut(struct http_server *srv, struct http_sock *s)
{
	list_remove(srv, s);
	idle_set(srv, s, 0);
	if (s->cut || s->fd < 0)
		return;
	s->cut = 1;
	(void)shutdown(s->fd, SHUT_RDWR);
}

/* Cuts the oldest idle keep-alive socket; srv->socks_lock held. */
static void
evict_idle(struct http_server *srv)
{
	struct http_sock *s = srv->idle;

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
	idle_set(srv, s, 0);
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
	idle_set(srv, s, 0);
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
	list_remove(srv, s);
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
	list_remove(srv, s);
	if (!s->cut) {
		s->since_ns = clock_ns();
		list_append(srv, s);
		idle_set(srv, s, 1);
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
	for (s = srv->waiting_tail; s != NULL; s = s->prev) {
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
