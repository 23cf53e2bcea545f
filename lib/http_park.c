/*
 * Parked requests: a long poll whose handler asked to wait is suspended
 * with MHD_suspend_connection and kept on srv->parked, costing memory and
 * no thread.  http_server_wake resumes them all (the state they wait for
 * may have changed); the deadline thread resumes each one whose ?wait has
 * run out, sleeping on a CLOCK_MONOTONIC condition until the nearest
 * deadline.  Everything here runs under srv->lock.
 */
#include "http_server_internal.h"

#include <pthread.h>
#include <stdint.h>
#include <time.h>

#include <microhttpd.h>

#include "clock.h"
#include "banned.h"

void
http_park(struct http_server *srv, struct http_conn *c)
{
	c->suspended = 1;
	c->deadline_ns = c->start_ns + (uint64_t)c->req.wait * 1000000000u;
	c->next = srv->parked;
	srv->parked = c;
	MHD_suspend_connection(c->conn);
	pthread_cond_signal(&srv->cond);
}

void
http_park_resume_locked(struct http_server *srv, int all, uint64_t now)
{
	struct http_conn **pp = &srv->parked, *c;

	while ((c = *pp) != NULL) {
		if (all || c->deadline_ns <= now) {
			*pp = c->next;
			c->next = NULL;
			if (srv->stopping)
				c->req.stopping = 1;
			else if (!all)
				c->req.timed_out = 1;
			MHD_resume_connection(c->conn);
		} else
			pp = &c->next;
	}
}

void *
http_park_deadline_thread(void *arg)
{
	struct http_server *srv = arg;
	struct http_conn *c;
	struct timespec ts;
	uint64_t next, now;

	pthread_mutex_lock(&srv->lock);
	while (!srv->stopping) {
		now = clock_ns();
		http_park_resume_locked(srv, 0, now);
		next = 0;
		for (c = srv->parked; c != NULL; c = c->next)
			if (next == 0 || c->deadline_ns < next)
				next = c->deadline_ns;
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
	__atomic_add_fetch(&srv->wake_seq, 1, __ATOMIC_RELEASE);
	http_park_resume_locked(srv, 1, 0);
	pthread_mutex_unlock(&srv->lock);
}

void
http_server_wake_held(struct http_server *srv)
{
	struct http_conn **pp, *c;

	pthread_mutex_lock(&srv->lock);
	__atomic_add_fetch(&srv->wake_seq, 1, __ATOMIC_RELEASE);
	for (pp = &srv->parked; (c = *pp) != NULL; ) {
		if (!c->req.held) {
			pp = &c->next;
			continue;
		}
		*pp = c->next;
		c->next = NULL;
		MHD_resume_connection(c->conn);
	}
	pthread_mutex_unlock(&srv->lock);
}
