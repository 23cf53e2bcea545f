/*
 * Register, wait, fetch: see node_client.h.
 */
#include "node_client.h"

#include <sys/random.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "artifacts.h"
#include "buf.h"
#include "clock.h"
#include "diag.h"
#include "errbuf.h"
#include "exitcode.h"
#include "http_client.h"
#include "protocol.h"
#include "registration.h"
#include "server_list.h"
#include "banned.h"

#define BACKOFF_MIN_MS		250
#define BACKOFF_MAX_MS		5000
/* re-register while waiting this long */
#define REREGISTER_MS		30000
#define URL_MAX			2048
#define REQUEST_SLACK_MS	10000
#define URL_SHOWN_MAX		120	/* of a URL in a message */
#define REQUEST_BODY_MAX	(1UL << 20)	/* the registration sent */

/* What the wait is blocked on; a change prints one progress line. */
enum wait_state {
	WAIT_NONE,
	WAIT_NOT_READY,
	WAIT_UNREACHABLE,
	WAIT_SERVER_ERROR,
	WAIT_REFUSED		/* an answer that ends a fetch, watching */
};

struct session {
	const struct node_client_opts *o;
	struct http_client	*http;
	struct server_list	 servers;	/* o->server */
	size_t			 untried;	/* left this round */
	int			 moved;		/* ask at once */
	int			 move_said;	/* since an answer */
	struct buf		 body;		/* the registration document */
	char			 ip[REGISTRATION_IP_MAX + 1];	/* routed */
	struct buf		 resp;
	uint64_t		 start_ms;
	uint64_t		 deadline_ms;	/* 0: none */
	unsigned		 backoff_ms;
	enum wait_state		 state;
	char			 why[ERRBUF_MSG_MAX];	/* last failure */
};

static void
set_state(struct session *s, enum wait_state st, const char *why)
{
	static const char *const names[] = {
		"", "not ready", "server unreachable", "server error",
		"refused"
	};

	(void)snprintf(s->why, sizeof(s->why), "%s", why);
	if (st == s->state)
		return;
	s->state = st;
	diag_info("waiting: %s (%llu s)%s%s", names[st],
	    (unsigned long long)((clock_ms() - s->start_ms) / 1000),
	    st == WAIT_NOT_READY ? "" : ": ", st == WAIT_NOT_READY ? "" : why);
}

/*
 * Sleeps out the back-off (full jitter over its upper half), or fails
 * when the deadline has passed: EC_TIMEOUT while not ready, else EC_REMOTE.
 */
static int
back_off(struct session *s, struct errbuf *eb)
{
	struct timespec ts;
	uint64_t now = clock_ms(), ms;
	unsigned int r = 0;

	if (s->deadline_ms != 0 && now >= s->deadline_ms) {
		if (s->state == WAIT_NOT_READY)
			return errbuf_set(eb, EC_TIMEOUT,
			    "timed out after %u s: config for %s not ready",
			    s->o->timeout, s->o->identifier);
		return errbuf_set(eb, EC_REMOTE, "gave up after %u s: %s",
		    s->o->timeout, s->why);
	}
	/* Moved to a server not asked since the last sleep: ask it now. */
	if (s->moved) {
		s->moved = 0;
		return 0;
	}
	s->untried = s->servers.n - 1;
	(void)getrandom(&r, sizeof(r), 0);
	ms = s->backoff_ms / 2 + r % (s->backoff_ms / 2 + 1);
	if (s->deadline_ms != 0 && now + ms > s->deadline_ms)
		ms = s->deadline_ms - now;
	ts.tv_sec = (time_t)(ms / 1000);
	ts.tv_nsec = (long)(ms % 1000) * 1000000L;
	while (nanosleep(&ts, &ts) == -1)
		;
	s->backoff_ms = s->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS :
	    s->backoff_ms * 2;
	return 0;
}

/* Builds base + path into url; -1 when it does not fit. */
static int
make_url(char *url, size_t size, const char *base, const char *path)
{
	size_t len = strlen(base);
	int n;

	while (len > 0 && base[len - 1] == '/')
		len--;
	n = snprintf(url, size, "%.*s%s", (int)len, base, path);
	return n < 0 || (size_t)n >= size ? -1 : 0;
}

/* The server asked now. */
static const char *
server(const struct session *s)
{
	return server_list_current(&s->servers);
}

/*
 * After a connect error, a timeout or a 5xx from the server asked now:
 * moves to the next one of a list, saying so once an outage.
 */
static void
move_on(struct session *s)
{
	const char *from, *to;

	if (s->servers.n < 2)
		return;
	from = server(s);
	if (s->untried > 0) {
		s->untried--;
		s->moved = 1;
	}
	to = server_list_next(&s->servers);
	if (!s->move_said)
		diag_info("%.*s failed: asking %.*s", URL_SHOWN_MAX, from,
		    URL_SHOWN_MAX, to);
	s->move_said = 1;
}

/* An answer from the server asked now: a full round before a sleep. */
static void
answered(struct session *s)
{
	s->untried = s->servers.n - 1;
	s->moved = 0;
	s->move_said = 0;
}

/* Says why the server refused: its message, or the status. */
static void
server_says(const struct buf *resp, long status, char *out, size_t size)
{
	char msg[ERRBUF_MSG_MAX - 64];	/* leaves room for "HTTP 503: " */

	protocol_error_message(resp->data != NULL ? resp->data : "",
	    resp->len, msg, sizeof(msg));
	(void)snprintf(out, size, "HTTP %ld%s%s", status,
	    msg[0] != '\0' ? ": " : "", msg);
}

/*
 * Handles an answer that ends the wait whatever the endpoint: 404, 401 and
 * other 4xx.  Returns 1 when the status is one to retry, -1 when final.
 */
static int
final_status(struct session *s, long status, const char *url,
    struct errbuf *eb)
{
	char says[ERRBUF_MSG_MAX], code[64];

	server_says(&s->resp, status, says, sizeof(says));
	if (status == 404) {
		protocol_error_code(s->resp.data != NULL ? s->resp.data : "",
		    s->resp.len, code, sizeof(code));
		/* Any other 404 is a wrong --server, not a missing node. */
		if (strcmp(code, PROTOCOL_MISSING_CONFIG) != 0)
			return errbuf_set(eb, EC_REMOTE, "%.*s: %s",
			    URL_SHOWN_MAX, url, says);
		return errbuf_set(eb, EC_MISSING, "no config for %s: %s",
		    s->o->identifier, says);
	}
	if (status == 401 || status == 403)
		return errbuf_set(eb, EC_REMOTE, "refused: %s", says);
	if (status == 400 || status == 413 || status == 422)
		return errbuf_set(eb, EC_INVALID, "server refused the "
		    "registration: %s", says);
	if (status >= 500 || status == 425 || status == 429 || status == 408) {
		set_state(s, status == 425 ? WAIT_NOT_READY :
		    WAIT_SERVER_ERROR, says);
		return 1;
	}
	return errbuf_set(eb, EC_REMOTE, "unexpected answer: %s", says);
}

static long
request_timeout(const struct session *s, unsigned wait_s)
{
	uint64_t ms = (uint64_t)wait_s * 1000u + REQUEST_SLACK_MS, now;

	if (s->deadline_ms != 0) {
		now = clock_ms();
		/* Let a request run a little past the deadline, not forever. */
		if (now + ms > s->deadline_ms + 1000)
			ms = s->deadline_ms + 1000 > now ?
			    s->deadline_ms + 1000 - now : 1;
	}
	return (long)ms;
}

static int	node_client_default_ip(const char *, char *, size_t,
		    struct errbuf *);

/*
 * Renders the registration document once its address is known: --ip, or
 * the one that routes to the server, whose name may resolve only seconds
 * after a container starts.  Returns 1 when the body is ready, 0 to retry
 * after the back-off, -1 on a final error.
 */
static int
ensure_body(struct session *s, struct errbuf *eb)
{
	struct registration reg;
	struct errbuf err;
	const char *ip = s->o->ip;
	int rc;

	if (s->body.len > 0)
		return 1;
	if (ip == NULL) {
		if (node_client_default_ip(server(s), s->ip, sizeof(s->ip),
		    &err) == -1) {
			if (err.code != EC_REMOTE) {
				*eb = err;
				return -1;
			}
			set_state(s, WAIT_UNREACHABLE, err.msg);
			move_on(s);
			return 0;
		}
		ip = s->ip;
	}
	memset(&reg, 0, sizeof(reg));
	if (registration_set(&reg, s->o->identifier, ip, s->o->metadata,
	    eb) == -1)
		return -1;
	rc = registration_render(&s->body, &reg) == -1 ?
	    errbuf_set(eb, EC_INTERNAL, "out of memory") : 1;
	registration_release(&reg);
	return rc;
}

/* One POST of the body to path: 1 done, 0 retry, -1 final error. */
static int
try_post(struct session *s, const char *path, struct errbuf *eb)
{
	char url[URL_MAX];
	struct errbuf err;
	long status = 0;
	int r;

	if ((r = ensure_body(s, eb)) != 1)
		return r;
	if (make_url(url, sizeof(url), server(s), path) == -1)
		return errbuf_set(eb, EC_USAGE, "server url too long");
	if (http_client_post(s->http, url, s->body.data, s->body.len,
	    request_timeout(s, 0), &status, &s->resp, &err) == -1) {
		if (err.code != EC_REMOTE || http_client_error_final(s->http)) {
			*eb = err;
			return -1;
		}
		set_state(s, WAIT_UNREACHABLE, err.msg);
		move_on(s);
		return 0;
	}
	if (status >= 200 && status < 300) {
		answered(s);
		return 1;
	}
	r = final_status(s, status, url, eb);
	if (r == 1 && status >= 500)
		move_on(s);
	else
		answered(s);
	return r == 1 ? 0 : -1;
}

static int
session_start(struct session *s, const struct node_client_opts *o,
    struct errbuf *eb)
{
	struct http_client_opts hopts;

	memset(s, 0, sizeof(*s));
	s->o = o;
	s->start_ms = clock_ms();
	s->deadline_ms = o->timeout ? s->start_ms + o->timeout * 1000ull : 0;
	s->backoff_ms = BACKOFF_MIN_MS;
	buf_init(&s->body, REQUEST_BODY_MAX);
	if (server_list_parse(&s->servers, o->server, eb) == -1)
		return -1;
	server_list_start(&s->servers, o->identifier);
	s->untried = s->servers.n - 1;
	buf_init(&s->resp, o->max_payload ? o->max_payload :
	    NODE_CLIENT_MAX_PAYLOAD);
	memset(&hopts, 0, sizeof(hopts));
	hopts.token = o->token;
	hopts.cacert = o->cacert;
	hopts.pin = o->pin;
	if ((s->http = http_client_new(&hopts, eb)) == NULL)
		return -1;
	return 0;
}

static void
session_end(struct session *s)
{
	http_client_free(s->http);
	server_list_release(&s->servers);
	buf_release(&s->body);
	buf_release(&s->resp);
}

/* POSTs the body to path until it is taken; 0, or -1 with eb set. */
static int
post_until_taken(struct session *s, const char *path, struct errbuf *eb)
{
	int r;

	while ((r = try_post(s, path, eb)) == 0)
		if (back_off(s, eb) == -1)
			return -1;
	return r == 1 ? 0 : -1;
}

int
node_client_register(const struct node_client_opts *o, struct errbuf *eb)
{
	struct session s;
	int rc = -1;

	if (session_start(&s, o, eb) == 0)
		rc = post_until_taken(&s, "/register", eb);
	session_end(&s);
	return rc;
}

int
node_client_replace(const struct node_client_opts *o,
    const struct artifact_set *files, struct errbuf *eb)
{
	struct session s;
	int rc = -1;

	if (session_start(&s, o, eb) == -1)
		goto out;
	/* The body is the replace document, so no registration is made. */
	if (protocol_render_replace(&s.body, o->identifier, files) == -1) {
		errbuf_set(eb, EC_INTERNAL, "out of memory");
		goto out;
	}
	rc = post_until_taken(&s, "/node/replace", eb);
out:
	session_end(&s);
	return rc;
}

/* Where a fetch or a watch stands between polls. */
struct poll {
	int		 registered;
	uint64_t	 registered_ms;
	int		 watching;	/* a payload was taken: never give up */
	int		 held;		/* the last answer was held */
};

/*
 * Whether a failure that would end a fetch is retried instead: while
 * watching, everything but a failed TLS verification or pin is, with a
 * progress line.
 */
static int
retry_watching(struct session *s, const struct poll *p,
    const struct errbuf *eb)
{
	if (!p->watching || http_client_error_final(s->http))
		return 0;
	set_state(s, WAIT_REFUSED, eb->msg);
	return 1;
}

/*
 * Polls POST /node until an answer to act on: returns 1 with a 200's body
 * in s->resp, 0 on a 304 (the answer to If-None-Match), -1 on a final
 * error.  p->held says whether the server held the request.
 */
static int
poll_node(struct session *s, struct poll *p, struct errbuf *eb)
{
	char url[URL_MAX], path[64];
	struct errbuf err;
	uint64_t sent, now;
	unsigned wait_s;
	long status;
	int r;

	for (;;) {
		if ((r = ensure_body(s, eb)) != 1) {
			if (r == -1 || back_off(s, eb) == -1)
				return -1;
			continue;
		}
		if (!p->registered) {
			if ((r = try_post(s, "/register", eb)) == -1) {
				if (!retry_watching(s, p, eb))
					return -1;
				r = 0;
			}
			if (r == 0) {
				if (back_off(s, eb) == -1)
					return -1;
				continue;
			}
			p->registered = 1;
			p->registered_ms = clock_ms();
		}
		wait_s = s->o->poll_wait;
		if (s->deadline_ms != 0) {
			now = clock_ms();
			if (now + wait_s * 1000ull > s->deadline_ms)
				wait_s = (unsigned)((s->deadline_ms > now ?
				    s->deadline_ms - now : 0) / 1000);
		}
		if (wait_s > 0)
			(void)snprintf(path, sizeof(path), "/node?wait=%u",
			    wait_s);
		else
			(void)snprintf(path, sizeof(path), "/node");
		if (make_url(url, sizeof(url), server(s), path) == -1)
			return errbuf_set(eb, EC_USAGE, "server url too long");
		sent = clock_ms();
		status = 0;
		if (http_client_post(s->http, url, s->body.data, s->body.len,
		    request_timeout(s, wait_s), &status, &s->resp,
		    &err) == -1) {
			if (err.code != EC_REMOTE ||
			    http_client_error_final(s->http)) {
				*eb = err;
				if (!retry_watching(s, p, eb))
					return -1;
			} else {
				set_state(s, WAIT_UNREACHABLE, err.msg);
				move_on(s);
			}
			/* The server may have restarted: register anew. */
			p->registered = s->o->no_register;
		} else if (status == 200 || status == 304) {
			answered(s);
			now = clock_ms();
			p->held = wait_s > 0 && now - sent >= wait_s * 500ull;
			return status == 200 ? 1 : 0;
		} else if (final_status(s, status, url, eb) == -1) {
			if (!retry_watching(s, p, eb))
				return -1;
		} else if (status >= 500) {
			/* The next instance: register there too. */
			move_on(s);
			if (s->servers.n > 1)
				p->registered = s->o->no_register;
		} else if (status == 425) {
			answered(s);
			now = clock_ms();
			if (!s->o->no_register &&
			    now - p->registered_ms > REREGISTER_MS)
				p->registered = 0;
			/* A held long poll: ask again at once. */
			if (wait_s > 0 && now - sent >= wait_s * 500ull) {
				s->backoff_ms = BACKOFF_MIN_MS;
				if (s->deadline_ms == 0 || now < s->deadline_ms)
					continue;
			}
		}
		if (back_off(s, eb) == -1)
			return -1;
	}
}

int
node_client_fetch(const struct node_client_opts *o,
    struct artifact_set *files, struct buf *raw, struct errbuf *eb)
{
	struct session s;
	struct poll p;
	int r, rc = -1;

	memset(&p, 0, sizeof(p));
	p.registered = o->no_register;
	if (session_start(&s, o, eb) == -1)
		goto out;
	if ((r = poll_node(&s, &p, eb)) == -1)
		goto out;
	if (r == 0) {
		errbuf_set(eb, EC_REMOTE, "unexpected answer: HTTP 304");
		goto out;
	}
	if (protocol_parse_payload(files, s.resp.data, s.resp.len, s.resp.max,
	    eb) == -1)
		goto out;
	if (raw != NULL && buf_add(raw, s.resp.data, s.resp.len) == -1) {
		errbuf_set(eb, EC_INTERNAL, "out of memory");
		goto out;
	}
	rc = 0;
out:
	session_end(&s);
	return rc;
}

/* Whether the answer in s->resp is the payload taken last. */
static int
same_payload(const struct session *s, const struct poll *p,
    const struct buf *last)
{
	return p->watching && s->resp.len == last->len &&
	    (last->len == 0 || memcmp(s->resp.data, last->data,
	    last->len) == 0);
}

/*
 * Asks with the ETag of the answer just taken from now on, if it has one:
 * only a payload written is named, so that one not written is sent again.
 */
static void
keep_etag(struct session *s)
{
	struct errbuf err;

	if (http_client_etag(s->http)[0] != '\0')
		(void)http_client_set_if_none_match(s->http,
		    http_client_etag(s->http), &err);
}

int
node_client_watch(const struct node_client_opts *o,
    node_client_payload_fn *fn, void *arg, struct errbuf *eb)
{
	struct artifact_set files;
	struct session s;
	struct errbuf err;
	struct poll p;
	struct buf last;
	int r, rc = -1;

	memset(&p, 0, sizeof(p));
	p.registered = o->no_register;
	artifact_set_init(&files);
	buf_init(&last, o->max_payload ? o->max_payload :
	    NODE_CLIENT_MAX_PAYLOAD);
	if (session_start(&s, o, eb) == -1)
		goto out;
	for (;;) {
		if ((r = poll_node(&s, &p, eb)) == -1)
			goto out;
		if (r == 1 && !same_payload(&s, &p, &last)) {
			artifact_set_release(&files);
			artifact_set_init(&files);
			if (protocol_parse_payload(&files, s.resp.data,
			    s.resp.len, s.resp.max, &err) == -1) {
				*eb = err;
				if (!retry_watching(&s, &p, eb))
					goto out;
				(void)back_off(&s, eb);
				continue;
			}
			if ((r = fn(arg, &files, eb)) == -1)
				goto out;
			if (r == 1) {
				s.state = WAIT_NONE;
				(void)back_off(&s, eb);
				continue;
			}
			keep_etag(&s);
			buf_reset(&last);
			if (buf_add(&last, s.resp.data, s.resp.len) == -1) {
				errbuf_set(eb, EC_INTERNAL, "out of memory");
				goto out;
			}
			/* From now on, no deadline. */
			p.watching = 1;
			s.deadline_ms = 0;
			s.start_ms = clock_ms();
			s.backoff_ms = BACKOFF_MIN_MS;
			s.state = WAIT_NONE;
			continue;
		}
		if (r == 1)
			keep_etag(&s);
		s.state = WAIT_NONE;
		/*
		 * Unchanged: a 304 the server held is asked again at once; a
		 * server that answers at once, or ignores If-None-Match and
		 * sends the same payload again, is asked after the back-off.
		 */
		if (r == 0 && p.held) {
			s.backoff_ms = BACKOFF_MIN_MS;
			continue;
		}
		(void)back_off(&s, eb);
	}
out:
	artifact_set_release(&files);
	buf_release(&last);
	session_end(&s);
	return rc;
}

/* The local address a UDP socket to ai would use (no packet is sent). */
static int
routed_from(const struct addrinfo *ai, struct sockaddr_storage *ss)
{
	socklen_t sl = sizeof(*ss);
	int fd, rc = -1;

	if ((fd = socket(ai->ai_family, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0 &&
	    getsockname(fd, (struct sockaddr *)ss, &sl) == 0)
		rc = 0;
	close(fd);
	return rc;
}

/*
 * An IPv4 address of this host to stand in for the IPv6 one v6 (the
 * original's nodes take IPv4 only): one on v6's own interface, else
 * 127.0.0.1 for a loopback v6, else none.  0 with *v4 set, or -1.
 */
static int
ipv4_instead(const struct sockaddr_in6 *v6, struct sockaddr_in *v4)
{
	struct ifaddrs *ifs, *i, *j;
	int rc = -1;

	if (IN6_IS_ADDR_LOOPBACK(&v6->sin6_addr)) {
		memset(v4, 0, sizeof(*v4));
		v4->sin_family = AF_INET;
		v4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		return 0;
	}
	if (getifaddrs(&ifs) == -1)
		return -1;
	for (i = ifs; i != NULL && rc == -1; i = i->ifa_next) {
		if (i->ifa_addr == NULL || i->ifa_addr->sa_family != AF_INET6 ||
		    memcmp(&((struct sockaddr_in6 *)(void *)i->ifa_addr)->
		    sin6_addr, &v6->sin6_addr, sizeof(v6->sin6_addr)) != 0)
			continue;
		for (j = ifs; j != NULL; j = j->ifa_next)
			if (j->ifa_addr != NULL &&
			    j->ifa_addr->sa_family == AF_INET &&
			    strcmp(j->ifa_name, i->ifa_name) == 0) {
				memcpy(v4, j->ifa_addr, sizeof(*v4));
				rc = 0;
				break;
			}
	}
	freeifaddrs(ifs);
	return rc;
}

/*
 * Finds the address of the interface that routes to the server at url and
 * writes it to out.  An IPv4 address wins: one that routes to an IPv4
 * address of the server, else one on the interface of the IPv6 route.
 * Returns 0, or -1 with EC_USAGE or EC_REMOTE.
 */
static int
node_client_default_ip(const char *url, char *out, size_t size,
    struct errbuf *eb)
{
	struct addrinfo hints, *res = NULL, *ai;
	struct sockaddr_storage ss;
	struct sockaddr_in v4;
	CURLU *u = NULL;
	char *host = NULL, *port = NULL;
	int e, found = 0, rc = -1;

	if ((u = curl_url()) == NULL ||
	    curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) !=
	    CURLUE_OK) {
		errbuf_set(eb, EC_USAGE, "server %s: not a URL", url);
		goto out;
	}
	if (host[0] == '[') {		/* "[::1]" */
		memmove(host, host + 1, strlen(host));
		host[strcspn(host, "]")] = '\0';
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_DGRAM;
	if ((e = getaddrinfo(host, port, &hints, &res)) != 0) {
		errbuf_set(eb, EC_REMOTE, "resolve %s: %s", host,
		    gai_strerror(e));
		goto out;
	}
	for (ai = res; ai != NULL && !found; ai = ai->ai_next)
		found = ai->ai_family == AF_INET && routed_from(ai, &ss) == 0;
	for (ai = res; ai != NULL && !found; ai = ai->ai_next)
		found = routed_from(ai, &ss) == 0;
	if (!found) {
		errbuf_set(eb, EC_REMOTE, "no route to %s", host);
		goto out;
	}
	if (ss.ss_family == AF_INET6 &&
	    ipv4_instead((struct sockaddr_in6 *)(void *)&ss, &v4) == 0)
		memcpy(&ss, &v4, sizeof(v4));
	if (getnameinfo((struct sockaddr *)&ss, ss.ss_family == AF_INET ?
	    sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6), out,
	    (socklen_t)size, NULL, 0, NI_NUMERICHOST) != 0) {
		errbuf_set(eb, EC_REMOTE, "no route to %s", host);
		goto out;
	}
	/* A link-local IPv6 address comes with "%scope"; drop it. */
	out[strcspn(out, "%")] = '\0';
	rc = 0;
out:
	if (res != NULL)
		freeaddrinfo(res);
	curl_free(port);
	curl_free(host);
	curl_url_cleanup(u);
	return rc;
}
