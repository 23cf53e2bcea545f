/*
 * Unit tests for lib/payload_index: every node's prepared answer, served
 * by the real HTTP server on 127.0.0.1 port 0 and read back with the HTTP
 * client, is byte for byte the payload protocol_render_payload gives for
 * that node, whether the shared tail is copied in (small) or sent as a
 * second part (over 16 KiB); unknown nodes are not found, and the index
 * outlives nothing it hands out.
 */
#include "payload_index.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
	{ "POST", "/node", "node", node_handler },
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

int
main(int argc, char **argv)
{
	check_init(argc, argv);
	test_empty();
	test_serve(0);			/* no shared files */
	test_serve(100);		/* a small tail, copied in */
	test_serve(BIG_SHARED);		/* a large one, a second part */
	return check_done("test_payload_index");
}
