/*
 * Unit tests for lib/payload_index: every node's prepared answer, served
 * by the real HTTP server on 127.0.0.1 port 0 and read back with the HTTP
 * client, is byte for byte the payload protocol_render_payload gives for
 * that node, whether the shared tail is copied in (small) or sent as a
 * second part (over 16 KiB); unknown nodes are not found, and the index
 * outlives nothing it hands out.  The gzip splice: a node's part
 * deflated alone and a shared tail deflated once, joined under one
 * header and a combined trailer, is one gzip member zlib inflates to the
 * two texts end to end, and a wrong trailer is caught.
 */
#include "payload_index.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

static struct payload_index *served;

/* POST /node with the identifier as the whole body. */
static void
node_handler(void *ctx, struct http_request *req, struct http_response *resp)
{
	if ((resp->prepared = payload_index_find(served, req->body)) == NULL)
		http_response_error(resp, 404, PROTOCOL_NOT_FOUND,
		    "unknown %.64s", req->body);
}

static const struct http_route routes[] = {
	{ "POST", "/node", "node", node_handler, 0 },
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

int
main(int argc, char **argv)
{
	check_init(argc, argv);
	test_empty();
	test_gzip_splice();
	test_serve(0);			/* no shared files */
	test_serve(100);		/* a small tail, copied in */
	test_serve(BIG_SHARED);		/* a large one, a second part */
	return check_done("test_payload_index");
}
