/*
 * The HTTP server's own metrics: requests counted by route and status and
 * their durations in a histogram by route, both atomics any pool thread
 * adds to, the connection gauges and cut counts (http_conns.c), and the
 * /metrics page written with lib/prom, the server's families first and
 * then the application's.
 */
#include "http_server_internal.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>

#include "prom.h"
#include "protocol.h"
#include "banned.h"

#define HTTP_METRICS_MAX	(1UL << 20)
#define HTTP_STATUS_LABEL_MAX	16

/* The statuses counted in /metrics; the last slot takes any other. */
static const int counted_status[HTTP_NSTATUS] = {
	200, 202, 204, 400, 401, 404, 405, 413, 425, 500, 503, 0
};

static size_t
status_slot(int status)
{
	size_t i;

	for (i = 0; i < HTTP_NSTATUS - 1; i++)
		if (counted_status[i] == status)
			return i;
	return HTTP_NSTATUS - 1;
}

static const char *
route_name(const struct http_server *srv, size_t r)
{
	if (r < srv->cfg.nroutes)
		return srv->cfg.routes[r].name;
	return r == HTTP_ROUTE_HEALTHZ(srv) ? "healthz" :
	    r == HTTP_ROUTE_METRICS(srv) ? "metrics" : "other";
}

void
http_metrics_count(struct http_server *srv, size_t r, int status,
    uint64_t ns)
{
	__atomic_fetch_add(&srv->counts[r][status_slot(status)], 1,
	    __ATOMIC_RELAXED);
	prom_histogram_observe(&srv->durations[r], ns);
}

/* The connection gauges and the counts of connections the server cut. */
static int
connection_metrics(struct http_server *srv, struct buf *b)
{
	struct prom_label l;
	unsigned long open, evicted, reaped;
	int rc;

	pthread_mutex_lock(&srv->socks_lock);
	open = srv->nsocks;
	evicted = srv->evicted;
	reaped = srv->reaped;
	pthread_mutex_unlock(&srv->socks_lock);
	rc = prom_family(b, "cfgsync_http_connections", PROM_GAUGE,
	    "Open connections, parked long polls included.");
	rc |= prom_sample_u64(b, "cfgsync_http_connections", NULL, 0, open);
	rc |= prom_family(b, "cfgsync_http_connections_max", PROM_GAUGE,
	    "The connection limit, and the limit from one address (0: none).");
	rc |= prom_sample_u64(b, "cfgsync_http_connections_max", NULL, 0,
	    srv->cfg.max_connections);
	l.name = "scope";
	l.value = "ip";
	rc |= prom_sample_u64(b, "cfgsync_http_connections_max", &l, 1,
	    srv->cfg.max_connections_per_ip);
	rc |= prom_family(b, "cfgsync_http_connections_cut_total", PROM_COUNTER,
	    "Connections the server closed: an idle keep-alive one for room "
	    "(idle), or one too slow to send its request (deadline).");
	l.name = "reason";
	l.value = "deadline";
	rc |= prom_sample_u64(b, "cfgsync_http_connections_cut_total", &l, 1,
	    reaped);
	l.value = "idle";
	rc |= prom_sample_u64(b, "cfgsync_http_connections_cut_total", &l, 1,
	    evicted);
	return rc;
}

void
http_metrics_render(struct http_server *srv, struct http_response *resp)
{
	struct prom_label l[2];
	struct buf *b = &resp->body;
	char status[HTTP_STATUS_LABEL_MAX];
	unsigned long n;
	size_t r, s;
	int rc;

	resp->status = 200;
	buf_init(b, HTTP_METRICS_MAX);
	rc = prom_family(b, "cfgsync_http_requests_total", PROM_COUNTER,
	    "HTTP requests answered, by route and status.");
	for (r = 0; r <= HTTP_ROUTE_NONE(srv); r++) {
		for (s = 0; s < HTTP_NSTATUS; s++) {
			n = __atomic_load_n(&srv->counts[r][s],
			    __ATOMIC_RELAXED);
			if (n == 0)
				continue;
			if (counted_status[s] != 0)
				(void)snprintf(status, sizeof(status), "%d",
				    counted_status[s]);
			else
				(void)snprintf(status, sizeof(status),
				    "other");
			l[0].name = "route";
			l[0].value = route_name(srv, r);
			l[1].name = "status";
			l[1].value = status;
			rc |= prom_sample_u64(b, "cfgsync_http_requests_total",
			    l, 2, n);
		}
	}
	rc |= prom_family(b, "cfgsync_http_request_duration_seconds",
	    PROM_HISTOGRAM, "Time from a request's arrival to its answer, "
	    "long-poll waits included, by route.");
	for (r = 0; r <= HTTP_ROUTE_NONE(srv); r++) {
		if (prom_histogram_count(&srv->durations[r]) == 0)
			continue;
		l[0].name = "route";
		l[0].value = route_name(srv, r);
		rc |= prom_histogram_write(b,
		    "cfgsync_http_request_duration_seconds", l, 1,
		    &srv->durations[r]);
	}
	rc |= connection_metrics(srv, b);
	if (srv->cfg.metrics != NULL)
		rc |= srv->cfg.metrics(srv->cfg.ctx, b);
	if (rc != 0)
		http_response_error(resp, 500, PROTOCOL_INTERNAL,
		    "metrics over %lu bytes or out of memory",
		    HTTP_METRICS_MAX);
}
