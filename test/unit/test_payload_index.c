/*
 * Unit tests for lib/payload_index: every node's prepared answer, served
 * by the real HTTP server on 127.0.0.1 port 0 and read back with the HTTP
 * client, is byte for byte the payload protocol_render_payload gives for
 * that node, whether the shared tail is copied in (small) or sent as a
 * second part (over 16 KiB); unknown nodes are not found, and the index
 * outlives nothing it hands out.  The gzip splice: a node's part
 * deflated alone and a shared tail deflated once, joined under one
 * header and a combined trailer, is one gzip member zlib inflates to the
 * two texts end to end, and a wrong trailer is caught.  The gzip and tar
 * answers an index makes on the first request for one are byte for byte
 * (and ETag for ETag) those made at once for the same files, and first
 * requests at once, from threads and over HTTP, all get the same one.
 * A response outlives its index: the index freed once the answer is
 * queued and before it is sent, the node still gets its bytes (freed
 * memory is scribbled on, M_PERTURB, so a copy freed too soon shows).
 */
#include "payload_index.h"

#include <sys/socket.h>
#include <sys/time.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <zlib.h>

#include "array.h"
#include "artifacts.h"
#include "buf.h"
#include "bundle.h"
#include "errbuf.h"
#include "http_client.h"
#include "http_server.h"
#include "protocol.h"
#include "check.h"
#include "banned.h"

#define NNODES		40
#define BIG_SHARED	(20UL << 10)	/* over the 16 KiB inline limit */
#define TIMEOUT_MS	10000L

#define LAZY_NODES	12
#define LAZY_THREADS	8

static struct payload_index *served;
/* Freed as soon as its once_left-th answer is queued. */
static struct payload_index *once;
static int once_left;
/* The same answers made at once (payload_index_body_with), by node. */
static struct http_body *eager[LAZY_NODES];

/* POST /node with the identifier as the whole body. */
static void
node_handler(void *ctx, struct http_request *req, struct http_response *resp)
{
	if ((resp->prepared = payload_index_find(served, req->body)) == NULL)
		http_response_error(resp, 404, PROTOCOL_NOT_FOUND,
		    "unknown %.64s", req->body);
}

/* POST /eager with "node-N" as the body: eager[N]. */
static void
eager_handler(void *ctx, struct http_request *req, struct http_response *resp)
{
	unsigned i;

	if (sscanf(req->body, "node-%u", &i) == 1 && i < LAZY_NODES &&
	    eager[i] != NULL)
		resp->prepared = eager[i];
	else
		http_response_error(resp, 404, PROTOCOL_NOT_FOUND, "unknown");
}

static void
free_once(void *arg)
{
	payload_index_free(once);
	once = NULL;
}

/* POST /once: the node's answer from once, which goes as it is queued. */
static void
once_handler(void *ctx, struct http_request *req, struct http_response *resp)
{
	if (once == NULL || (resp->prepared = payload_index_find(once,
	    req->body)) == NULL) {
		http_response_error(resp, 404, PROTOCOL_NOT_FOUND, "unknown");
		return;
	}
	if (--once_left == 0)
		resp->done = free_once;
}

static const struct http_route routes[] = {
	{ "POST", "/node", "node", node_handler, HTTP_OPERATOR },
	{ "POST", "/once", "once", once_handler, HTTP_OPERATOR },
	{ "POST", "/eager", "eager", eager_handler, HTTP_OPERATOR },
};

/*
 * Builds a bundle of NNODES nodes (node-7 without files of its own) and
 * shared files of about shared_size bytes, renders what each node should
 * get into want[] (ids[] naming the node, in the bundle's sorted order),
 * then indexes it.
 */
static struct payload_index *
build(size_t shared_size, char **want, char ids[][32])
{
	struct bundle_limits l;
	struct bundle_node *n;
	struct payload_index *idx;
	struct errbuf eb;
	struct bundle b;
	struct buf out;
	char name[64], *big;
	int i, k, ok = 1;

	bundle_limits_default(&l);
	bundle_init(&b);
	/* Added in reverse so bundle_check has to sort them. */
	for (i = NNODES - 1; i >= 0; i--) {
		(void)snprintf(name, sizeof(name), "node-%d", i);
		if ((n = bundle_node_get(&b, name)) == NULL)
			abort();
		for (k = 0; i != 7 && k < i % 3 + 1; k++) {
			(void)snprintf(name, sizeof(name), "/etc/n%d/f%d", i,
			    k);
			if (artifact_set_add_copy(&n->files, name, name,
			    strlen(name), k == 1 ? 0600 : ARTIFACT_MODE_NONE,
			    &eb) == -1)
				ok = 0;
		}
	}
	if ((big = malloc(shared_size + 1)) == NULL)
		abort();
	memset(big, 'x', shared_size);
	big[shared_size] = '\0';
	if (shared_size > 0 && (artifact_set_add_copy(&b.shared,
	    "/etc/shared/big", big, shared_size, ARTIFACT_MODE_NONE,
	    &eb) == -1 || artifact_set_add_copy(&b.shared, "etc/shared/q",
	    "\"quoted\"\n", 9, 0640, &eb) == -1))
		ok = 0;
	free(big);
	CHECK(ok);
	CHECK(bundle_check(&b, &l, NULL, &eb) == 0);
	for (i = 0; i < NNODES; i++) {
		buf_init(&out, 1UL << 24);
		if (protocol_render_payload(&out, &b.nodes[i].files,
		    &b.shared) == -1)
			abort();
		want[i] = buf_detach(&out, NULL);
		(void)snprintf(ids[i], 32, "%s", b.nodes[i].identifier);
	}
	idx = payload_index_new(&b, &eb);
	CHECK(idx != NULL);
	CHECK(b.nnodes == 0 && b.nodes == NULL);	/* taken over */
	bundle_release(&b);
	return idx;
}

static void
test_serve(size_t shared_size)
{
	struct http_server_config cfg;
	struct http_server *srv;
	struct http_client_opts co;
	struct http_client *cl;
	struct errbuf eb;
	struct buf resp;
	char *want[NNODES], url[128], ids[NNODES][32];
	long status;
	int i, bad = 0, n;

	served = build(shared_size, want, ids);
	if (served == NULL)
		return;
	CHECK(payload_index_nodes(served) == NNODES);
	CHECK(payload_index_find(served, "node-0") != NULL);
	CHECK(payload_index_find(served, "node-39") != NULL);
	CHECK(payload_index_find(served, "node-40") == NULL);
	CHECK(payload_index_find(served, "") == NULL);

	http_server_config_init(&cfg);
	cfg.listen = "127.0.0.1:0";
	cfg.quiet = 1;
	cfg.threads = 2;
	cfg.routes = routes;
	cfg.nroutes = nitems(routes);
	srv = http_server_start(&cfg, &eb);
	CHECK(srv != NULL);
	memset(&co, 0, sizeof(co));
	co.connect_timeout_ms = TIMEOUT_MS;
	cl = http_client_new(&co, &eb);
	CHECK(cl != NULL);
	if (srv == NULL || cl == NULL)
		goto out;
	n = snprintf(url, sizeof(url), "%s/node", http_server_url(srv));
	CHECK(n > 0 && (size_t)n < sizeof(url));
	for (i = 0; i < NNODES; i++) {
		buf_init(&resp, 1UL << 24);
		if (http_client_post(cl, url, ids[i], strlen(ids[i]),
		    TIMEOUT_MS, &status, &resp, &eb) == -1 || status != 200 ||
		    resp.data == NULL || strcmp(resp.data, want[i]) != 0) {
			fprintf(stderr, "%s: answer differs\n", ids[i]);
			bad++;
		}
		buf_release(&resp);
	}
	CHECK(bad == 0);
	buf_init(&resp, 1UL << 16);
	CHECK(http_client_post(cl, url, "ghost", 5, TIMEOUT_MS, &status,
	    &resp, &eb) == 0 && status == 404);
	buf_release(&resp);
out:
	http_client_free(cl);
	http_server_stop(srv);
	payload_index_free(served);
	served = NULL;
	for (i = 0; i < NNODES; i++)
		free(want[i]);
}

/*
 * Each of a few nodes asked from an index of its own that is freed once
 * the answer is queued: the answer still comes out whole and right.
 */
static void
test_outlive(size_t shared_size)
{
	struct http_server_config cfg;
	struct http_server *srv;
	struct http_client_opts co;
	struct http_client *cl;
	struct errbuf eb;
	struct buf resp;
	char *want[NNODES], url[128], ids[NNODES][32];
	long status;
	int i, k, n, r, bad = 0;

	http_server_config_init(&cfg);
	cfg.listen = "127.0.0.1:0";
	cfg.quiet = 1;
	cfg.threads = 2;
	cfg.routes = routes;
	cfg.nroutes = nitems(routes);
	srv = http_server_start(&cfg, &eb);
	CHECK(srv != NULL);
	memset(&co, 0, sizeof(co));
	co.connect_timeout_ms = TIMEOUT_MS;
	cl = http_client_new(&co, &eb);
	CHECK(cl != NULL);
	if (srv == NULL || cl == NULL)
		goto out;
	n = snprintf(url, sizeof(url), "%s/once", http_server_url(srv));
	CHECK(n > 0 && (size_t)n < sizeof(url));
	for (k = 0; k < 4; k++) {
		once = build(shared_size, want, ids);
		/* Odd rounds: freed after the third request. */
		once_left = k % 2 == 0 ? 1 : 3;
		i = k * 13 % NNODES;		/* node-7, no files, among them */
		for (r = 0; r < 3 && once != NULL; r++) {
			buf_init(&resp, 1UL << 24);
			if (http_client_post(cl, url, ids[i], strlen(ids[i]),
			    TIMEOUT_MS, &status, &resp, &eb) == -1 ||
			    status != 200 || resp.data == NULL ||
			    strcmp(resp.data, want[i]) != 0) {
				fprintf(stderr, "once %s: answer differs\n",
				    ids[i]);
				bad++;
			}
			buf_release(&resp);
		}
		CHECK(r == (k % 2 == 0 ? 1 : 3));
		CHECK(once == NULL);		/* freed before it was sent */
		payload_index_free(once);
		once = NULL;
		for (i = 0; i < NNODES; i++)
			free(want[i]);
	}
	CHECK(bad == 0);
out:
	http_client_free(cl);
	http_server_stop(srv);
}

static void
test_empty(void)
{
	struct payload_index *idx;
	struct errbuf eb;
	struct bundle b;

	bundle_init(&b);
	idx = payload_index_new(&b, &eb);
	CHECK(idx != NULL);
	CHECK(idx != NULL && payload_index_nodes(idx) == 0);
	CHECK(idx != NULL && payload_index_find(idx, "node-0") == NULL);
	payload_index_free(idx);
	payload_index_free(NULL);
}

/*
 * Inflates the gzip member in[0..len) into out; returns zlib's last
 * status (Z_STREAM_END when it was whole and its trailer right).
 */
static int
gunzip(const unsigned char *in, size_t len, struct buf *out)
{
	unsigned char chunk[4096];
	z_stream z;
	int rc;

	memset(&z, 0, sizeof(z));
	if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK)
		return Z_MEM_ERROR;
	z.next_in = (unsigned char *)(uintptr_t)in;
	z.avail_in = (uInt)len;
	do {
		z.next_out = chunk;
		z.avail_out = sizeof(chunk);
		rc = inflate(&z, Z_NO_FLUSH);
		if (buf_add(out, chunk, sizeof(chunk) - z.avail_out) == -1)
			rc = Z_MEM_ERROR;
	} while (rc == Z_OK);
	if (rc == Z_STREAM_END && z.avail_in != 0)
		rc = Z_DATA_ERROR;	/* bytes after the member */
	(void)inflateEnd(&z);
	return rc;
}

/* header, head's data, tail's data, trailer: one gzip member. */
static void
join(struct buf *gz, const struct payload_deflate *head,
    const struct payload_deflate *tail)
{
	unsigned char hdr[PAYLOAD_GZIP_HEADER_LEN];
	unsigned char trl[PAYLOAD_GZIP_TRAILER_LEN];

	payload_gzip_header(hdr);
	payload_gzip_trailer(trl, head, tail);
	if (buf_add(gz, hdr, sizeof(hdr)) == -1 ||
	    buf_add(gz, head->data, head->len) == -1 ||
	    buf_add(gz, tail->data, tail->len) == -1 ||
	    buf_add(gz, trl, sizeof(trl)) == -1)
		abort();
}

static void
check_splice(z_stream *z, const char *a, size_t alen, const char *b,
    size_t blen)
{
	struct payload_deflate head, tail;
	struct buf gz, out;

	CHECK(payload_deflate(z, a, alen, 0, &head) == 0);
	CHECK(payload_deflate(z, b, blen, 1, &tail) == 0);
	CHECK(head.in_len == alen && tail.in_len == blen);
	buf_init(&gz, SIZE_MAX);
	buf_init(&out, SIZE_MAX);
	join(&gz, &head, &tail);
	CHECK(gunzip((unsigned char *)gz.data, gz.len, &out) == Z_STREAM_END);
	CHECK(out.len == alen + blen);
	CHECK(out.len == alen + blen && memcmp(out.data, a, alen) == 0 &&
	    memcmp(out.data + alen, b, blen) == 0);
	/* A trailer with another CRC or length is refused. */
	gz.data[gz.len - 5] ^= 1;
	buf_reset(&out);
	CHECK(gunzip((unsigned char *)gz.data, gz.len, &out) == Z_DATA_ERROR);
	gz.data[gz.len - 5] ^= 1;
	gz.data[gz.len - 1] ^= 1;
	buf_reset(&out);
	CHECK(gunzip((unsigned char *)gz.data, gz.len, &out) == Z_DATA_ERROR);
	buf_release(&gz);
	buf_release(&out);
	payload_deflate_release(&head);
	payload_deflate_release(&tail);
}

static void
test_gzip_splice(void)
{
	static const char head[] = "{\"schema_version\":1,\"files\":[";
	struct payload_deflate tail, h1, h2;
	struct buf gz1, gz2, out;
	unsigned long x = 12345;
	char *noise, *peers;
	z_stream z;
	size_t i;

	CHECK(payload_deflate_init(&z) == 0);
	check_splice(&z, head, strlen(head), "]}", 2);
	check_splice(&z, "", 0, "]}", 2);		/* empty head */
	check_splice(&z, head, strlen(head), "", 0);	/* empty tail */
	/* Incompressible and larger than its first guess: the output grows. */
	if ((noise = malloc(300000)) == NULL || (peers = malloc(150000)) ==
	    NULL)
		abort();
	for (i = 0; i < 300000; i++) {
		x = x * 1103515245 + 12345;
		noise[i] = (char)(x >> 16);
	}
	check_splice(&z, noise, 300000, noise, 1000);
	check_splice(&z, noise, 1000, noise, 300000);
	/* Stored (up to 512 bytes) and deflated heads, either side. */
	check_splice(&z, noise, 512, "]}", 2);
	check_splice(&z, noise, 513, "]}", 2);
	/* One tail, deflated once, after two different heads. */
	for (i = 0; i < 150000; i++)
		peers[i] = "- node-1: 10.0.0.1\n"[i % 19];
	CHECK(payload_deflate(&z, peers, 150000, 1, &tail) == 0);
	CHECK(tail.len * 20 < 150000);		/* it did compress */
	CHECK(payload_deflate(&z, "a", 1, 0, &h1) == 0);
	CHECK(payload_deflate(&z, head, strlen(head), 0, &h2) == 0);
	buf_init(&gz1, SIZE_MAX);
	buf_init(&gz2, SIZE_MAX);
	buf_init(&out, SIZE_MAX);
	join(&gz1, &h1, &tail);
	join(&gz2, &h2, &tail);
	CHECK(gunzip((unsigned char *)gz1.data, gz1.len, &out) ==
	    Z_STREAM_END && out.len == 150001 && out.data[0] == 'a' &&
	    memcmp(out.data + 1, peers, 150000) == 0);
	buf_reset(&out);
	CHECK(gunzip((unsigned char *)gz2.data, gz2.len, &out) ==
	    Z_STREAM_END && out.len == strlen(head) + 150000 &&
	    memcmp(out.data + strlen(head), peers, 150000) == 0);
	/* A head that ends its stream (Z_FINISH) cannot lead a tail. */
	payload_deflate_release(&h1);
	CHECK(payload_deflate(&z, "a", 1, 1, &h1) == 0);
	buf_reset(&gz1);
	buf_reset(&out);
	join(&gz1, &h1, &tail);
	CHECK(gunzip((unsigned char *)gz1.data, gz1.len, &out) !=
	    Z_STREAM_END);
	buf_release(&gz1);
	buf_release(&gz2);
	buf_release(&out);
	payload_deflate_release(&tail);
	payload_deflate_release(&h1);
	payload_deflate_release(&h2);
	free(noise);
	free(peers);
	(void)deflateEnd(&z);
}

/*
 * The files of node i in the lazy tests: text, a 0600 file, owners by
 * name and by number, binary bytes (base64 in the JSON), and for node 3
 * one large enough (3 000 bytes) that its gzip part is deflated, not
 * stored; nodes 5 and 6 have none, and 10 and 11 have node 9's.
 */
static void
lazy_files(unsigned i, struct artifact_set *set)
{
	struct artifact_file *f;
	struct errbuf eb;
	char path[64], text[64], bin[300];
	char *big;
	size_t k;

	if (i == 5 || i == 6)
		return;
	if (i >= 10)
		i = 9;
	(void)snprintf(path, sizeof(path), "/etc/lazy%u/config.yaml", i);
	(void)snprintf(text, sizeof(text), "id: node-%u\nport: %u\n", i,
	    3000 + i);
	if (artifact_set_add_copy(set, path, text, strlen(text),
	    ARTIFACT_MODE_NONE, &eb) == -1)
		abort();
	(void)snprintf(path, sizeof(path), "etc/lazy%u/secret", i);
	if (artifact_set_add_copy(set, path, "s3cret\n", 7, 0600, &eb) == -1)
		abort();
	f = &set->files[set->len - 1];
	if ((f->owner = strdup(i % 2 ? "0" : "root")) == NULL ||
	    (f->group = strdup(i % 2 ? "wheel" : "42")) == NULL)
		abort();
	for (k = 0; k < sizeof(bin); k++)
		bin[k] = (char)(k * 7 + i);
	(void)snprintf(path, sizeof(path), "/var/lib/lazy%u/blob", i);
	if (artifact_set_add_copy(set, path, bin, sizeof(bin), 0640,
	    &eb) == -1)
		abort();
	if (i == 3) {
		if ((big = malloc(3000)) == NULL)
			abort();
		for (k = 0; k < 3000; k++)
			big[k] = "abcdefghij\n"[(k * 13) % 11];
		if (artifact_set_add_copy(set, "/etc/lazy3/big.txt", big,
		    3000, ARTIFACT_MODE_NONE, &eb) == -1)
			abort();
		free(big);
	}
	artifact_set_sort(set);
}

/* An index of LAZY_NODES nodes, shared files of about shared_size. */
static struct payload_index *
lazy_index(size_t shared_size)
{
	struct bundle_limits l;
	struct bundle_node *n;
	struct errbuf eb;
	struct bundle b;
	char name[32], *big;
	unsigned i;

	bundle_limits_default(&l);
	bundle_init(&b);
	for (i = 0; i < LAZY_NODES; i++) {
		(void)snprintf(name, sizeof(name), "node-%u", i);
		if ((n = bundle_node_get(&b, name)) == NULL)
			abort();
		lazy_files(i, &n->files);
	}
	if (shared_size > 0) {
		if ((big = malloc(shared_size)) == NULL)
			abort();
		memset(big, 'p', shared_size);
		if (artifact_set_add_copy(&b.shared, "/etc/shared/peers", big,
		    shared_size, ARTIFACT_MODE_NONE, &eb) == -1)
			abort();
		free(big);
	}
	CHECK(bundle_check(&b, &l, NULL, &eb) == 0);
	return payload_index_new(&b, &eb);
}

/* One raw HTTP/1.1 exchange on 127.0.0.1:port (Connection: close). */
struct exchange {
	int	 status;
	char	 etag[HTTP_ETAG_MAX];
	char	 encoding[32];		/* Content-Encoding, "" for none */
	char	 type[64];		/* Content-Type */
	char	 vary[32];
	struct buf body;
};

static void
header_copy(const char *head, const char *name, char *out, size_t cap)
{
	const char *p, *end;
	size_t nlen = strlen(name), len;

	out[0] = '\0';
	for (p = strstr(head, "\r\n"); p != NULL; p = strstr(p, "\r\n")) {
		p += 2;
		if (strncasecmp(p, name, nlen) != 0 || p[nlen] != ':')
			continue;
		p += nlen + 1;
		while (*p == ' ')
			p++;
		if ((end = strstr(p, "\r\n")) == NULL)
			return;
		len = (size_t)(end - p) < cap - 1 ? (size_t)(end - p) : cap - 1;
		memcpy(out, p, len);
		out[len] = '\0';
		return;
	}
}

static int
exchange(unsigned port, const char *target, const char *headers,
    const char *id, struct exchange *x)
{
	struct sockaddr_in sa;
	struct timeval tv = { 10, 0 };
	struct buf raw;
	char req[512], chunk[4096], *sep;
	ssize_t got;
	int fd, n, rc = -1;

	memset(x, 0, sizeof(*x));
	buf_init(&x->body, SIZE_MAX);
	buf_init(&raw, SIZE_MAX);
	n = snprintf(req, sizeof(req), "POST %s HTTP/1.1\r\nHost: 127.0.0.1"
	    "\r\n%sContent-Length: %zu\r\nConnection: close\r\n\r\n%s",
	    target, headers, strlen(id), id);
	if (n <= 0 || (size_t)n >= sizeof(req))
		return -1;
	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
		return -1;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) == -1 ||
	    connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == -1 ||
	    write(fd, req, (size_t)n) != n)
		goto out;
	while ((got = read(fd, chunk, sizeof(chunk))) > 0)
		if (buf_add(&raw, chunk, (size_t)got) == -1)
			goto out;
	if (got < 0 || raw.data == NULL ||
	    (sep = strstr(raw.data, "\r\n\r\n")) == NULL ||
	    sscanf(raw.data, "HTTP/1.1 %d", &x->status) != 1)
		goto out;
	*sep = '\0';
	header_copy(raw.data, "ETag", x->etag, sizeof(x->etag));
	header_copy(raw.data, "Content-Encoding", x->encoding,
	    sizeof(x->encoding));
	header_copy(raw.data, "Content-Type", x->type, sizeof(x->type));
	header_copy(raw.data, "Vary", x->vary, sizeof(x->vary));
	if (buf_add(&x->body, sep + 4, raw.len - (size_t)(sep + 4 -
	    raw.data)) == -1)
		goto out;
	rc = 0;
out:
	close(fd);
	buf_release(&raw);
	return rc;
}

/* Whether two exchanges gave the same answer, byte for byte. */
static int
same(const struct exchange *a, const struct exchange *b)
{
	return a->status == b->status && strcmp(a->etag, b->etag) == 0 &&
	    strcmp(a->encoding, b->encoding) == 0 &&
	    strcmp(a->type, b->type) == 0 && strcmp(a->vary, b->vary) == 0 &&
	    a->body.len == b->body.len &&
	    (a->body.len == 0 || memcmp(a->body.data, b->body.data,
	    a->body.len) == 0);
}

static const char *const kinds[][2] = {		/* target, headers */
	{ "", "" },
	{ "", "Accept-Encoding: gzip\r\n" },
	{ "?format=tar", "" },
	{ "", "Accept: application/x-tar\r\n" },
};

static unsigned
server_port(const struct http_server *srv)
{
	const char *p = strrchr(http_server_url(srv), ':');

	return p != NULL ? (unsigned)strtoul(p + 1, NULL, 10) : 0;
}

static struct http_server *
lazy_server(void)
{
	struct http_server_config cfg;
	struct errbuf eb;

	http_server_config_init(&cfg);
	cfg.listen = "127.0.0.1:0";
	cfg.quiet = 1;
	cfg.threads = 4;
	cfg.routes = routes;
	cfg.nroutes = nitems(routes);
	return http_server_start(&cfg, &eb);
}

/*
 * Every node's four kinds of answer, asked of the index (made then) and
 * of the same files made at once, are the same bytes and tags; the gzip
 * one inflates to the JSON one, the tar one is whole blocks.
 */
static void
test_lazy_equals_eager(size_t shared_size)
{
	struct artifact_set files;
	struct http_server *srv;
	struct exchange lazy, ref, plain;
	struct buf out;
	struct errbuf eb;
	char target[64], id[32];
	unsigned i, k, port, bad = 0, gzipped = 0, tars = 0;

	CHECK((served = lazy_index(shared_size)) != NULL);
	if (served == NULL)
		return;
	/* Nodes served the same bytes share one answer, others do not. */
	CHECK(payload_index_find(served, "node-9") ==
	    payload_index_find(served, "node-10"));
	CHECK(payload_index_find(served, "node-9") ==
	    payload_index_find(served, "node-11"));
	CHECK(payload_index_find(served, "node-5") ==
	    payload_index_find(served, "node-6"));
	CHECK(payload_index_find(served, "node-0") !=
	    payload_index_find(served, "node-1"));
	CHECK(payload_index_find(served, "node-5") !=
	    payload_index_find(served, "node-4"));
	for (i = 0; i < LAZY_NODES; i++) {
		artifact_set_init(&files);
		lazy_files(i, &files);
		eager[i] = payload_index_body_with(served, &files, &eb);
		CHECK(eager[i] != NULL);
		artifact_set_release(&files);
	}
	CHECK((srv = lazy_server()) != NULL);
	port = srv != NULL ? server_port(srv) : 0;
	for (i = 0; srv != NULL && i < LAZY_NODES; i++) {
		(void)snprintf(id, sizeof(id), "node-%u", i);
		memset(&plain, 0, sizeof(plain));
		for (k = 0; k < nitems(kinds); k++) {
			(void)snprintf(target, sizeof(target), "/node%s",
			    kinds[k][0]);
			if (exchange(port, target, kinds[k][1], id,
			    &lazy) == -1)
				bad++;
			(void)snprintf(target, sizeof(target), "/eager%s",
			    kinds[k][0]);
			if (exchange(port, target, kinds[k][1], id,
			    &ref) == -1)
				bad++;
			if (!same(&lazy, &ref) || lazy.status != 200 ||
			    lazy.etag[0] == '\0') {
				fprintf(stderr, "%s, kind %u: lazy and eager "
				    "answers differ\n", id, k);
				bad++;
			}
			if (k == 0)
				plain = lazy;	/* the body is kept */
			else
				buf_release(&lazy.body);
			if (k == 1 && strcmp(ref.encoding, "gzip") == 0) {
				gzipped++;
				buf_init(&out, SIZE_MAX);
				if (gunzip((unsigned char *)ref.body.data,
				    ref.body.len, &out) != Z_STREAM_END ||
				    out.len != plain.body.len ||
				    memcmp(out.data, plain.body.data,
				    out.len) != 0)
					bad++;
				buf_release(&out);
			}
			if (k >= 2 && strcmp(ref.type,
			    "application/x-tar") == 0 &&
			    ref.body.len % 512 == 0 && ref.body.len >= 1024)
				tars++;
			buf_release(&ref.body);
		}
		/* Asked again, the same answer, headers and all. */
		for (k = 0; k < 3; k++) {
			if (exchange(port, "/node", "", id, &lazy) == -1 ||
			    !same(&lazy, &plain) || strcmp(lazy.vary,
			    "Accept-Encoding") != 0 || strcmp(lazy.type,
			    "application/json") != 0) {
				fprintf(stderr, "%s, again: differs\n", id);
				bad++;
			}
			buf_release(&lazy.body);
		}
		buf_release(&plain.body);
	}
	CHECK(bad == 0);
	CHECK(tars == 2 * LAZY_NODES);
	/* Small payloads stay plain; node-3's 3 000 bytes compress. */
	CHECK(gzipped >= 1);
	http_server_stop(srv);
	for (i = 0; i < LAZY_NODES; i++) {
		http_body_free(eager[i]);
		eager[i] = NULL;
	}
	payload_index_free(served);
	served = NULL;
}

/* First requests at once: threads asking the index for one variant. */
struct racer {
	pthread_barrier_t	*start;
	enum http_variant	 v;
	const struct http_body	*got[LAZY_NODES];
};

static void *
race(void *arg)
{
	struct racer *r = arg;
	char id[32];
	unsigned i;

	(void)pthread_barrier_wait(r->start);
	for (i = 0; i < LAZY_NODES; i++) {
		(void)snprintf(id, sizeof(id), "node-%u", i);
		r->got[i] = http_body_variant(payload_index_find(served, id),
		    r->v);
	}
	return NULL;
}

/* Over HTTP: one first request per thread for each node's variant. */
struct fetcher {
	pthread_barrier_t	*start;
	unsigned		 port, kind;
	struct exchange		 x[LAZY_NODES];
	int			 failed;
};

static void *
fetch_all(void *arg)
{
	struct fetcher *f = arg;
	char target[64], id[32];
	unsigned i;

	(void)pthread_barrier_wait(f->start);
	(void)snprintf(target, sizeof(target), "/node%s",
	    kinds[f->kind][0]);
	for (i = 0; i < LAZY_NODES; i++) {
		(void)snprintf(id, sizeof(id), "node-%u", i);
		if (exchange(f->port, target, kinds[f->kind][1], id,
		    &f->x[i]) == -1)
			f->failed = 1;
	}
	return NULL;
}

static void
test_lazy_concurrent(void)
{
	static struct racer racers[LAZY_THREADS];
	static struct fetcher fetchers[LAZY_THREADS];
	pthread_t tids[LAZY_THREADS];
	pthread_barrier_t start;
	struct http_server *srv;
	unsigned i, t, k, diff = 0, failed = 0, none = 0;

	/* Threads calling http_body_variant: all see the one kept. */
	for (k = 0; k < HTTP_NVARIANTS; k++) {
		CHECK((served = lazy_index(k == 0 ? 100 : 20000)) != NULL);
		if (served == NULL)
			return;
		(void)pthread_barrier_init(&start, NULL, LAZY_THREADS);
		for (t = 0; t < LAZY_THREADS; t++) {
			racers[t].start = &start;
			racers[t].v = (enum http_variant)k;
			if (pthread_create(&tids[t], NULL, race,
			    &racers[t]) != 0)
				abort();
		}
		for (t = 0; t < LAZY_THREADS; t++)
			(void)pthread_join(tids[t], NULL);
		(void)pthread_barrier_destroy(&start);
		for (i = 0; i < LAZY_NODES; i++) {
			if (racers[0].got[i] == NULL)
				none++;
			for (t = 1; t < LAZY_THREADS; t++)
				if (racers[t].got[i] != racers[0].got[i])
					diff++;
		}
		payload_index_free(served);
		served = NULL;
	}
	CHECK(diff == 0);
	/* Every node has a tar form and node-3 a gzip one at least. */
	CHECK(none < LAZY_NODES);
	/* Over HTTP, first requests from every thread at once. */
	for (k = 0; k < 3; k++) {
		/* plain: answers lent from the index (a small tail) */
		CHECK((served = lazy_index(k == 0 ? 100 : 20000)) != NULL);
		CHECK((srv = lazy_server()) != NULL);
		if (served == NULL || srv == NULL)
			return;
		(void)pthread_barrier_init(&start, NULL, LAZY_THREADS);
		for (t = 0; t < LAZY_THREADS; t++) {
			memset(&fetchers[t], 0, sizeof(fetchers[t]));
			fetchers[t].start = &start;
			fetchers[t].port = server_port(srv);
			fetchers[t].kind = k;
			if (pthread_create(&tids[t], NULL, fetch_all,
			    &fetchers[t]) != 0)
				abort();
		}
		for (t = 0; t < LAZY_THREADS; t++)
			(void)pthread_join(tids[t], NULL);
		(void)pthread_barrier_destroy(&start);
		for (t = 0; t < LAZY_THREADS; t++) {
			failed += fetchers[t].failed;
			for (i = 0; i < LAZY_NODES; i++) {
				if (!same(&fetchers[t].x[i],
				    &fetchers[0].x[i]) ||
				    fetchers[t].x[i].status != 200)
					diff++;
			}
		}
		for (t = 0; t < LAZY_THREADS; t++)
			for (i = 0; i < LAZY_NODES; i++)
				buf_release(&fetchers[t].x[i].body);
		http_server_stop(srv);
		payload_index_free(served);
		served = NULL;
	}
	CHECK(failed == 0);
	CHECK(diff == 0);
}

int
main(int argc, char **argv)
{
	check_init(argc, argv);
	/* Freed memory scribbled on: bytes sent after their free show. */
	(void)mallopt(M_PERTURB, 0xa5);
	test_empty();
	test_gzip_splice();
	test_serve(0);			/* no shared files */
	test_serve(100);		/* a small tail, copied in */
	test_serve(BIG_SHARED);		/* a large one, a second part */
	test_lazy_equals_eager(0);
	test_lazy_equals_eager(100);
	test_lazy_equals_eager(BIG_SHARED);
	test_lazy_concurrent();
	test_outlive(100);		/* the answer lent whole */
	test_outlive(BIG_SHARED);	/* in two parts */
	test_outlive(4UL << 20);	/* more than one write */
	return check_done("test_payload_index");
}
