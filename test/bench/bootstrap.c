/*
 * bootstrap: a fleet of N nodes against one cfgsync server, from one
 * process on non-blocking sockets and epoll (no libcurl: its multi
 * interface is too slow on the client side at 10 000 handles).
 *
 * Each node holds one HTTP/1.1 keep-alive connection, registers
 * (POST /register) and then asks for its files: in "long" mode with
 * POST /node?wait=SECONDS, asked again at once on 425; in "plain" mode as
 * the original's client does, POST /node without wait, again 250 ms after
 * each 425.  When N is larger than the wave size (-w), one process may not
 * hold a socket for every node: all N register, then all N fetch, with at
 * most that many connections open at a time, a node's own connection
 * opened as soon as another's is closed (a sliding window, not a barrier
 * per wave: nodes of a real fleet do not arrive in lockstep, and a wave's
 * slowest connection left the rest of the machine idle).  "register" mode
 * measures registration throughput alone: -c connections share the N
 * registrations, and a run cut short by -t reports the rate of the
 * registrations it made.
 *
 * It prints one line of key=value figures on stdout: wall from the first
 * registration sent to the last 200, the time of the last 202, p50/p99/max
 * from the last 202 to each node's 200, bytes received and counts of every
 * status.  Everything is bounded: -t seconds for the whole run, a cap on
 * reconnects per connection.  Loopback only: the server is given as a
 * dotted quad of 127.0.0.0/8.
 *
 * Usage: bootstrap [-z] [-a ADDRS] [-b BYTES] [-c CONNS] [-m MODE] [-n N]
 *                  [-t SECONDS] [-W WAIT] [-w WAVE] -p PORT [HOST]
 */
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "banned.h"

#define HDR_MAX		1024	/* response head kept per connection */
#define REQ_MAX		4096	/* one request, head and body */
#define PAD_MAX		2048	/* largest -b */
#define PLAIN_MS	250	/* the original client's pause */
#define RETRY_MS	250	/* pause after an unexpected status */
#define RECONNECT_MAX	20	/* per connection, then it gives up */
#define NSTATUS		600
#define NEVENTS		1024

enum mode { MODE_LONG, MODE_PLAIN, MODE_REGISTER };
enum phase { PH_CONNECT, PH_SEND, PH_HEAD, PH_BODY, PH_SLEEP, PH_DONE };
enum step { STEP_REG, STEP_NODE };
enum chunk { CS_SIZE, CS_DATA, CS_CRLF, CS_TRAILER };

struct slot {
	int		fd;
	unsigned char	phase;
	unsigned char	step;
	unsigned char	close_after;	/* the server said Connection: close */
	unsigned char	reconnects;
	unsigned char	chunked;	/* Transfer-Encoding: chunked */
	unsigned char	cstate;		/* enum chunk */
	unsigned char	cext;		/* past the chunk size's digits */
	unsigned int	cline;		/* bytes on the trailer line */
	unsigned int	id;		/* current node */
	unsigned int	sent;		/* bytes of the request sent */
	unsigned int	hlen;
	unsigned int	gen;		/* of fd, against stale events */
	int		status;		/* of the response being read */
	size_t		body_left;
	double		wake;		/* PH_SLEEP: when to go on */
	int		next;		/* sleep queue */
	char		hdr[HDR_MAX];
};

static struct {
	enum mode	mode;
	unsigned int	n, wave, conns, naddrs, wait, pad;
	int		gzip;
	double		deadline;
	const char	*prefix;	/* of identifiers: PREFIX0, PREFIX1 ... */
	struct sockaddr_in server;
	char		host[64];
	char		padding[PAD_MAX + 1];
} opt;

static struct {
	double		t0;		/* first registration sent */
	double		last_reg;	/* last 202 received */
	double		*t200;		/* per node, 0 = not yet */
	unsigned long	status[NSTATUS];
	unsigned long	other, conn_err, reconnects, gave_up, regs;
	int		deadline_hit;
	unsigned long long bytes_rx, bytes_tx;
} res;

static struct {
	struct slot	*s;
	unsigned int	nslots, left;
	unsigned int	lo, hi, stride;
	int		do_reg, do_node;
	int		fresh;		/* a new connection for each node */
	int		ep;
	int		sleep_head, sleep_tail;
} pass;

static char rxbuf[1 << 16];

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
die(const char *what)
{
	fprintf(stderr, "bootstrap: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* Build the request of s's current step into buf; returns its length. */
static int
request(const struct slot *s, char *buf, size_t size)
{
	char body[REQ_MAX / 2];
	unsigned int id = s->id;
	int blen, n;
	const char *path;

	if (s->step == STEP_REG) {
		if (opt.pad > 0)
			blen = snprintf(body, sizeof(body),
			    "{\"identifier\":\"%s%u\","
			    "\"ip\":\"10.%u.%u.%u\","
			    "\"metadata\":{\"pad\":\"%s\"}}", opt.prefix, id,
			    (id >> 16) & 255, (id >> 8) & 255, id & 255,
			    opt.padding);
		else
			blen = snprintf(body, sizeof(body),
			    "{\"identifier\":\"%s%u\","
			    "\"ip\":\"10.%u.%u.%u\","
			    "\"metadata\":{\"network_port\":%u}}", opt.prefix, id,
			    (id >> 16) & 255, (id >> 8) & 255, id & 255,
			    3000 + id % 1000);
		path = "/register";
	} else {
		blen = snprintf(body, sizeof(body),
		    "{\"identifier\":\"%s%u\",\"ip\":\"10.%u.%u.%u\"}", opt.prefix, id,
		    (id >> 16) & 255, (id >> 8) & 255, id & 255);
		path = "/node";
	}
	if (blen < 0 || (size_t)blen >= sizeof(body)) {
		fprintf(stderr, "bootstrap: request body too long\n");
		exit(1);
	}
	if (s->step == STEP_NODE && opt.mode == MODE_LONG)
		n = snprintf(buf, size, "POST %s?wait=%u HTTP/1.1\r\n"
		    "Host: %s\r\nContent-Type: application/json\r\n%s"
		    "Content-Length: %d\r\n\r\n%s", path, opt.wait, opt.host,
		    opt.gzip ? "Accept-Encoding: gzip\r\n" : "", blen, body);
	else
		n = snprintf(buf, size, "POST %s HTTP/1.1\r\n"
		    "Host: %s\r\nContent-Type: application/json\r\n%s"
		    "Content-Length: %d\r\n\r\n%s", path, opt.host,
		    opt.gzip && s->step == STEP_NODE ?
		    "Accept-Encoding: gzip\r\n" : "", blen, body);
	if (n < 0 || (size_t)n >= size) {
		fprintf(stderr, "bootstrap: request too long\n");
		exit(1);
	}
	return n;
}

static void
watch(struct slot *s, int op, uint32_t events)
{
	struct epoll_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.events = events;
	ev.data.u64 = (uint64_t)(s - pass.s) | (uint64_t)s->gen << 32;
	if (epoll_ctl(pass.ep, op, s->fd, &ev) == -1)
		die("epoll_ctl");
}

static void
drop(struct slot *s)
{
	if (s->fd != -1) {
		close(s->fd);	/* also leaves the epoll set */
		s->fd = -1;
	}
}

static void	send_request(struct slot *);
static void	finish_id(struct slot *);

static void
sleep_slot(struct slot *s, int ms)
{
	s->phase = PH_SLEEP;
	s->wake = now() + ms / 1e3;
	s->next = -1;
	if (pass.sleep_tail == -1)
		pass.sleep_head = (int)(s - pass.s);
	else
		pass.s[pass.sleep_tail].next = (int)(s - pass.s);
	pass.sleep_tail = (int)(s - pass.s);
	if (s->fd != -1)
		watch(s, EPOLL_CTL_MOD, EPOLLIN);
}

static void
give_up(struct slot *s)
{
	drop(s);
	res.gave_up++;
	s->phase = PH_DONE;
	pass.left--;
}

/* Open s's connection and start its current request. */
static void
open_conn(struct slot *s)
{
	struct sockaddr_in src;
	int one = 1, fd;

	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) == -1)
		die("socket");
	if (opt.naddrs > 1) {
		memset(&src, 0, sizeof(src));
		src.sin_family = AF_INET;
		src.sin_addr.s_addr = htonl(0x7f000001u +
		    (uint32_t)((s - pass.s) % opt.naddrs));
		(void)setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one,
		    sizeof(one));
		if (bind(fd, (struct sockaddr *)&src, sizeof(src)) == -1)
			die("bind");
	}
	s->fd = fd;
	s->gen++;
	s->close_after = 0;
	s->phase = PH_SEND;
	s->sent = 0;
	if (connect(fd, (struct sockaddr *)&opt.server,
	    sizeof(opt.server)) == -1) {
		if (errno != EINPROGRESS) {
			res.conn_err++;
			close(fd);
			s->fd = -1;
			if (++s->reconnects > RECONNECT_MAX)
				give_up(s);
			else
				sleep_slot(s, RETRY_MS);
			return;
		}
		s->phase = PH_CONNECT;
		watch(s, EPOLL_CTL_ADD, EPOLLOUT);
		return;
	}
	watch(s, EPOLL_CTL_ADD, EPOLLIN);
	send_request(s);
}

/* The connection broke: open a new one for the same request. */
static void
reconnect(struct slot *s)
{
	drop(s);
	res.reconnects++;
	if (++s->reconnects > RECONNECT_MAX) {
		give_up(s);
		return;
	}
	open_conn(s);
}

static void
send_request(struct slot *s)
{
	char buf[REQ_MAX];
	int len;
	ssize_t n;

	if (s->fd == -1) {
		open_conn(s);
		return;
	}
	if (s->phase != PH_SEND) {
		s->phase = PH_SEND;
		s->sent = 0;
	}
	len = request(s, buf, sizeof(buf));
	if (s->step == STEP_REG && res.t0 == 0)
		res.t0 = now();
	while (s->sent < (unsigned int)len) {
		n = send(s->fd, buf + s->sent, (size_t)len - s->sent,
		    MSG_NOSIGNAL);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN) {
			watch(s, EPOLL_CTL_MOD, EPOLLOUT);
			return;
		}
		if (n == -1) {
			reconnect(s);
			return;
		}
		s->sent += (unsigned int)n;
		res.bytes_tx += (unsigned long long)n;
	}
	s->phase = PH_HEAD;
	s->hlen = 0;
	watch(s, EPOLL_CTL_MOD, EPOLLIN);
}

/* A whole response with this status has arrived for s. */
static void
response(struct slot *s, int status)
{
	double t = now();

	if (status > 0 && status < NSTATUS)
		res.status[status]++;
	else
		res.other++;
	if (s->close_after)
		drop(s);
	if (s->step == STEP_REG) {
		if (status != 202) {
			sleep_slot(s, RETRY_MS);
			return;
		}
		res.regs++;
		if (t > res.last_reg)
			res.last_reg = t;
		if (pass.do_node) {
			s->step = STEP_NODE;
			send_request(s);
		} else
			finish_id(s);
		return;
	}
	if (status == 200) {
		res.t200[s->id] = t;
		finish_id(s);
	} else if (status == 425 && opt.mode == MODE_LONG)
		send_request(s);
	else
		sleep_slot(s, status == 425 ? PLAIN_MS : RETRY_MS);
}

/* s is done with its node: take the next one it serves, or stop. */
static void
finish_id(struct slot *s)
{
	if (s->id + pass.stride < pass.hi) {
		s->id += pass.stride;
		s->step = pass.do_reg ? STEP_REG : STEP_NODE;
		s->reconnects = 0;
		if (pass.fresh)
			drop(s);
		send_request(s);
		return;
	}
	drop(s);
	s->phase = PH_DONE;
	pass.left--;
}

/* Parse a complete head in s->hdr; returns the status or -1. */
static int
parse_head(struct slot *s)
{
	char *p, *line, *end;
	int status;

	s->hdr[s->hlen] = '\0';
	if (strncmp(s->hdr, "HTTP/1.", 7) != 0 || s->hlen < 12)
		return -1;
	status = (int)strtol(s->hdr + 9, NULL, 10);
	s->body_left = 0;
	s->chunked = 0;
	s->cstate = CS_SIZE;
	s->cext = 0;
	s->cline = 0;
	for (line = strstr(s->hdr, "\r\n"); line != NULL; line = end) {
		line += 2;
		if ((end = strstr(line, "\r\n")) == NULL)
			break;
		if (strncasecmp(line, "Content-Length:", 15) == 0)
			s->body_left = strtoull(line + 15, NULL, 10);
		else if (strncasecmp(line, "Transfer-Encoding:", 18) == 0 &&
		    strstr(line, "chunked") != NULL && strstr(line, "chunked") <
		    end)
			s->chunked = 1;
		else if (strncasecmp(line, "Connection:", 11) == 0) {
			for (p = line + 11; *p == ' '; p++)
				;
			if (strncasecmp(p, "close", 5) == 0)
				s->close_after = 1;
		}
	}
	return status;
}

/* One byte of a chunked body outside the chunks' data. */
static void
chunk_byte(struct slot *s, char c)
{
	int d;

	switch (s->cstate) {
	case CS_SIZE:
		if (c == '\n') {
			s->cstate = s->body_left > 0 ? CS_DATA : CS_TRAILER;
			s->cline = 0;
		} else if (!s->cext && isxdigit((unsigned char)c)) {
			d = isdigit((unsigned char)c) ? c - '0' :
			    (c | 0x20) - 'a' + 10;
			s->body_left = s->body_left * 16 + (size_t)d;
		} else
			s->cext = 1;	/* ";extension" */
		break;
	case CS_CRLF:
		if (c == '\n') {
			s->cstate = CS_SIZE;
			s->cext = 0;
			s->body_left = 0;
		}
		break;
	case CS_TRAILER:
		if (c != '\n')
			s->cline++;
		else if (s->cline > 0)
			s->cline = 0;
		else
			response(s, s->status);
		break;
	}
}

/* Feed n received bytes into s's response parser. */
static void
feed(struct slot *s, const char *data, size_t n)
{
	size_t i, take;
	char *eoh, c;

	while (n > 0 && (s->phase == PH_HEAD || s->phase == PH_BODY)) {
		if (s->phase == PH_HEAD) {
			take = HDR_MAX - 1 - s->hlen;
			if (take > n)
				take = n;
			memcpy(s->hdr + s->hlen, data, take);
			s->hdr[s->hlen + take] = '\0';
			if ((eoh = strstr(s->hdr, "\r\n\r\n")) == NULL) {
				s->hlen += (unsigned int)take;
				if (s->hlen >= HDR_MAX - 1) {
					res.other++;
					reconnect(s);
					return;
				}
				return;
			}
			i = (size_t)(eoh + 4 - s->hdr) - s->hlen;
			s->hlen = (unsigned int)(eoh + 4 - s->hdr);
			data += i;
			n -= i;
			if ((s->status = parse_head(s)) == -1) {
				res.other++;
				reconnect(s);
				return;
			}
			s->phase = PH_BODY;
		}
		if (!s->chunked || s->cstate == CS_DATA) {
			take = s->body_left < n ? s->body_left : n;
			s->body_left -= take;
			data += take;
			n -= take;
			if (s->body_left > 0)
				continue;
			if (!s->chunked)
				response(s, s->status);
			else
				s->cstate = CS_CRLF;
			continue;
		}
		c = *data++;
		n--;
		if (c != '\r')
			chunk_byte(s, c);
	}
}

static void
on_event(struct slot *s, uint32_t events)
{
	int err = 0;
	socklen_t len = sizeof(err);
	ssize_t n;

	switch (s->phase) {
	case PH_CONNECT:
		if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1 ||
		    err != 0) {
			res.conn_err++;
			drop(s);
			if (++s->reconnects > RECONNECT_MAX)
				give_up(s);
			else
				sleep_slot(s, RETRY_MS);
			return;
		}
		s->phase = PH_SEND;
		s->sent = 0;
		send_request(s);
		return;
	case PH_SEND:
		send_request(s);
		return;
	case PH_HEAD:
	case PH_BODY:
	case PH_SLEEP:
		for (;;) {
			n = recv(s->fd, rxbuf, sizeof(rxbuf), 0);
			if (n == -1 && errno == EINTR)
				continue;
			if (n == -1 && errno == EAGAIN)
				return;
			if (n <= 0) {
				if (s->phase == PH_SLEEP)
					drop(s);
				else
					reconnect(s);
				return;
			}
			res.bytes_rx += (unsigned long long)n;
			if (s->phase == PH_SLEEP)
				continue;	/* nothing is expected */
			feed(s, rxbuf, (size_t)n);
			if (s->phase != PH_HEAD && s->phase != PH_BODY)
				return;
		}
	default:
		(void)events;
		return;
	}
}

/*
 * Run nslots connections over the nodes lo..hi-1 (slot k starts at lo + k
 * and moves on by nslots), each registering and/or fetching, until all are
 * done or the deadline passes.  With fresh, each node has a connection of
 * its own; else a slot's next node goes on the same keep-alive connection.
 */
static void
run_pass(unsigned int lo, unsigned int hi, unsigned int nslots, int do_reg,
    int do_node, int fresh)
{
	struct epoll_event evs[NEVENTS];
	unsigned int k;
	int i, nev, timeout;
	double t;
	struct slot *s;

	if (nslots > hi - lo)
		nslots = hi - lo;
	pass.nslots = pass.left = nslots;
	pass.lo = lo;
	pass.hi = hi;
	pass.stride = nslots;
	pass.do_reg = do_reg;
	pass.do_node = do_node;
	pass.fresh = fresh;
	pass.sleep_head = pass.sleep_tail = -1;
	if ((pass.ep = epoll_create1(EPOLL_CLOEXEC)) == -1)
		die("epoll_create1");
	for (k = 0; k < nslots; k++) {
		s = &pass.s[k];
		memset(s, 0, offsetof(struct slot, hdr));
		s->fd = -1;
		s->id = lo + k;
		s->step = do_reg ? STEP_REG : STEP_NODE;
		s->phase = PH_SEND;
		open_conn(s);
	}
	while (pass.left > 0) {
		t = now();
		if (t > opt.deadline) {
			fprintf(stderr, "bootstrap: deadline passed with %u "
			    "connections unfinished\n", pass.left);
			res.deadline_hit = 1;
			for (k = 0; k < nslots; k++)
				if (pass.s[k].phase != PH_DONE)
					give_up(&pass.s[k]);
			break;
		}
		while (pass.sleep_head != -1 &&
		    pass.s[pass.sleep_head].wake <= t) {
			s = &pass.s[pass.sleep_head];
			pass.sleep_head = s->next;
			if (pass.sleep_head == -1)
				pass.sleep_tail = -1;
			if (s->phase != PH_SLEEP)
				continue;
			s->phase = PH_SEND;
			s->sent = 0;
			send_request(s);
		}
		timeout = 100;
		if (pass.sleep_head != -1) {
			timeout = (int)((pass.s[pass.sleep_head].wake - t) *
			    1e3) + 1;
			if (timeout > 100)
				timeout = 100;
			if (timeout < 0)
				timeout = 0;
		}
		nev = epoll_wait(pass.ep, evs, NEVENTS, timeout);
		if (nev == -1 && errno != EINTR)
			die("epoll_wait");
		for (i = 0; i < nev; i++) {
			s = &pass.s[(uint32_t)evs[i].data.u64];
			if (s->phase != PH_DONE && s->fd != -1 &&
			    s->gen == (unsigned int)(evs[i].data.u64 >> 32))
				on_event(s, evs[i].events);
		}
	}
	close(pass.ep);
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static unsigned int
num(const char *s, unsigned int min, unsigned int max)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || *end != '\0' || end == s || v < min || v > max) {
		fprintf(stderr, "bootstrap: bad number: %s\n", s);
		exit(2);
	}
	return (unsigned int)v;
}

static void
usage(void)
{
	fprintf(stderr, "usage: bootstrap [-z] [-a ADDRS] [-b BYTES] "
	    "[-c CONNS] [-i PREFIX] [-m long|plain|register]\n"
	    "                 [-n N] [-t SECONDS] [-W WAIT] [-w WAVE] "
	    "-p PORT [HOST]\n");
	exit(2);
}

static void
report(void)
{
	double *lat, wall = 0;
	unsigned int i, done = 0;
	int k;

	if ((lat = calloc(opt.n ? opt.n : 1, sizeof(*lat))) == NULL)
		die("calloc");
	for (i = 0; i < opt.n; i++) {
		if (res.t200[i] == 0)
			continue;
		lat[done++] = (res.t200[i] - res.last_reg) * 1e3;
		if (res.t200[i] - res.t0 > wall)
			wall = res.t200[i] - res.t0;
	}
	qsort(lat, done, sizeof(*lat), cmp_double);
	printf("mode=%s n=%u wave=%u wall_ms=%.0f last_reg_ms=%.0f "
	    "p50_ms=%.0f p99_ms=%.0f max_ms=%.0f done=%u bytes_rx=%llu",
	    opt.mode == MODE_LONG ? "long" : "plain", opt.n, opt.wave,
	    wall * 1e3, (res.last_reg - res.t0) * 1e3,
	    done ? lat[(done - 1) / 2] : 0,
	    done ? lat[(size_t)((done - 1) * 0.99)] : 0,
	    done ? lat[done - 1] : 0, done, res.bytes_rx);
	for (k = 0; k < NSTATUS; k++)
		if (res.status[k] > 0)
			printf(" s%d=%lu", k, res.status[k]);
	printf(" other=%lu conn_err=%lu reconnects=%lu gave_up=%lu\n",
	    res.other, res.conn_err, res.reconnects, res.gave_up);
	free(lat);
}

int
main(int argc, char **argv)
{
	struct rlimit rl;
	unsigned int port = 0, need;
	int c, n;
	double t;

	opt.n = 1000;
	opt.prefix = "node-";
	opt.wave = 10000;
	opt.conns = 200;
	opt.naddrs = 1;
	opt.wait = 30;
	opt.deadline = 120;
	while ((c = getopt(argc, argv, "a:b:c:i:m:n:p:t:W:w:z")) != -1) {
		switch (c) {
		case 'a':
			opt.naddrs = num(optarg, 1, 250);
			break;
		case 'b':
			opt.pad = num(optarg, 0, PAD_MAX);
			break;
		case 'c':
			opt.conns = num(optarg, 1, 1000000);
			break;
		case 'i':
			if (strlen(optarg) > 32)
				usage();
			opt.prefix = optarg;
			break;
		case 'm':
			if (strcmp(optarg, "long") == 0)
				opt.mode = MODE_LONG;
			else if (strcmp(optarg, "plain") == 0)
				opt.mode = MODE_PLAIN;
			else if (strcmp(optarg, "register") == 0)
				opt.mode = MODE_REGISTER;
			else
				usage();
			break;
		case 'n':
			opt.n = num(optarg, 1, 10000000);
			break;
		case 'p':
			port = num(optarg, 1, 65535);
			break;
		case 't':
			opt.deadline = num(optarg, 1, 3600);
			break;
		case 'W':
			opt.wait = num(optarg, 0, 60);
			break;
		case 'w':
			opt.wave = num(optarg, 1, 1000000);
			break;
		case 'z':
			opt.gzip = 1;
			break;
		default:
			usage();
		}
	}
	if (port == 0 || argc - optind > 1)
		usage();
	opt.server.sin_family = AF_INET;
	opt.server.sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, argc > optind ? argv[optind] : "127.0.0.1",
	    &opt.server.sin_addr) != 1 ||
	    (ntohl(opt.server.sin_addr.s_addr) >> 24) != 127) {
		fprintf(stderr, "bootstrap: HOST must be in 127.0.0.0/8\n");
		return 2;
	}
	n = snprintf(opt.host, sizeof(opt.host), "%s:%u",
	    inet_ntoa(opt.server.sin_addr), port);
	if (n < 0 || (size_t)n >= sizeof(opt.host))
		return 2;
	memset(opt.padding, 'x', opt.pad);
	opt.padding[opt.pad] = '\0';

	/* One socket a connection, a few for the rest. */
	need = (opt.mode == MODE_REGISTER ? opt.conns : opt.wave) + 64;
	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		die("getrlimit");
	if (rl.rlim_cur < need) {
		rl.rlim_cur = rl.rlim_max < need ? rl.rlim_max : need;
		if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
			die("setrlimit");
	}
	if (rl.rlim_cur < need) {
		fprintf(stderr, "bootstrap: open-file limit %lu is below "
		    "%u: use a smaller -w or -c\n",
		    (unsigned long)rl.rlim_cur, need);
		return 2;
	}
	need -= 64;
	if ((pass.s = calloc(need, sizeof(*pass.s))) == NULL ||
	    (res.t200 = calloc(opt.n, sizeof(*res.t200))) == NULL)
		die("calloc");
	opt.deadline += now();

	if (opt.mode == MODE_REGISTER) {
		t = now();
		run_pass(0, opt.n, opt.conns, 1, 0, 0);
		t = now() - t;
		printf("mode=register n=%u conns=%u pad=%u regs=%lu secs=%.3f "
		    "rate=%.0f", opt.n, opt.conns, opt.pad, res.regs, t,
		    res.regs / t);
		for (c = 0; c < NSTATUS; c++)
			if (res.status[c] > 0)
				printf(" s%d=%lu", c, res.status[c]);
		printf(" other=%lu conn_err=%lu gave_up=%lu deadline=%d\n",
		    res.other, res.conn_err, res.gave_up, res.deadline_hit);
		/* A rate over -t seconds is a result too. */
		return res.regs == opt.n || (res.deadline_hit && res.regs > 0) ?
		    0 : 1;
	}
	if (opt.n <= opt.wave)
		run_pass(0, opt.n, opt.n, 1, 1, 0);
	else {
		run_pass(0, opt.n, opt.wave, 1, 0, 1);
		run_pass(0, opt.n, opt.wave, 0, 1, 1);
	}
	report();
	return res.gave_up == 0 ? 0 : 1;
}
