/*
 * The payload index's own memory per node: the bundle of N nodes that
 * fleet.sh makes (config.yaml each, one shared line), parsed from its
 * JSON text, then indexed (the index frees the bundle); prints the heap
 * in use (mallinfo2) after the parse, after indexing, and after every
 * node's gzip and then tar variant was asked for, and the bytes a node of
 * each; the heap's extent (in use and free, what RSS sees; the parse of
 * the whole text as one tree sets it here) after the parse and after
 * indexing; and how long indexing took (what a fleet waits for between a
 * result and its 200s).  SAME=1 gives every node the same config.yaml
 * (nodes served the same bytes share one answer).
 * Build and run from the top of the tree:
 *   make && cc -O2 -D_GNU_SOURCE -Ilib -o /tmp/index_mem \
 *       test/bench/index_mem.c lib/libcfgsync.a -lmicrohttpd -ljson-c \
 *       -larchive -lnettle -lgnutls -lyaml -lz -lpthread &&
 *       /tmp/index_mem 10000
 */
#include <malloc.h>
#include <stdio.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "bundle.h"
#include "errbuf.h"
#include "http_server.h"
#include "payload_index.h"
#include "banned.h"

static long
heap(void)
{
	return (long)mallinfo2().uordblks;
}

/* The heap's extent: what it holds in use and free, as RSS sees it. */
static long
extent(void)
{
	struct mallinfo2 mi = mallinfo2();

	return (long)(mi.arena + mi.hblkhd);
}

static double
now_ms(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void
row(const char *what, long bytes, long n)
{
	printf("%-34s %10ld B  %7.1f B a node\n", what, bytes,
	    n > 0 ? (double)bytes / (double)n : 0.0);
}

int
main(int argc, char **argv)
{
	struct bundle_limits l;
	struct payload_index *idx;
	struct errbuf eb;
	struct bundle b;
	struct buf doc;
	const struct http_body *body;
	char id[64], line[256];
	long n = argc > 1 ? strtol(argv[1], NULL, 10) : 10000, i, start,
	    parsed, indexed, gz, tar, ext_parsed, ext_indexed;
	const char *env = getenv("SAME");
	double t0, t1, t2, t3;
	int same = env != NULL && strcmp(env, "1") == 0;

	buf_init(&doc, SIZE_MAX);
	if (buf_adds(&doc, "{\"nodes\":[") == -1)
		return 1;
	for (i = 0; i < n; i++) {
		(void)snprintf(line, sizeof(line), "%s{\"identifier\":"
		    "\"node-%ld\",\"files\":[{\"path\":\"config.yaml\","
		    "\"content\":\"id: node-%ld\\nport: %ld\\n\"}]}",
		    i > 0 ? "," : "", i, same ? 0 : i,
		    3000 + (same ? 0 : i % 1000));
		if (buf_adds(&doc, line) == -1)
			return 1;
	}
	(void)snprintf(line, sizeof(line), "],\"shared_files\":[{\"path\":"
	    "\"deployment-settings.yaml\",\"content\":\"nodes: %ld\\n\"}]}",
	    n);
	if (buf_adds(&doc, line) == -1)
		return 1;
	bundle_limits_default(&l);
	bundle_init(&b);
	start = heap();
	if (bundle_parse_text(&b, doc.data, doc.len, &l, NULL, &eb) == -1) {
		fprintf(stderr, "index_mem: %s\n", eb.msg);
		return 1;
	}
	parsed = heap();
	ext_parsed = extent();
	t0 = now_ms();
	if ((idx = payload_index_new(&b, &eb)) == NULL)
		return 1;
	t1 = now_ms();
	indexed = heap();
	ext_indexed = extent();
	for (i = 0; i < n; i++) {
		(void)snprintf(id, sizeof(id), "node-%ld", i);
		if ((body = payload_index_find(idx, id)) != NULL)
			(void)http_body_variant(body, HTTP_VARIANT_GZIP);
	}
	gz = heap();
	t2 = now_ms();
	for (i = 0; i < n; i++) {
		(void)snprintf(id, sizeof(id), "node-%ld", i);
		if ((body = payload_index_find(idx, id)) != NULL)
			(void)http_body_variant(body, HTTP_VARIANT_TAR);
	}
	tar = heap();
	t3 = now_ms();
	printf("%ld nodes, bundle text %zu B\n", n, doc.len);
	row("bundle, parsed", parsed - start, n);
	row("index (bundle taken over)", indexed - start, n);
	row("gzip variants asked for", gz - indexed, n);
	row("tar variants asked for", tar - gz, n);
	printf("heap extent: parsed %.1f MiB, indexed %.1f MiB\n",
	    (double)ext_parsed / 1048576, (double)ext_indexed / 1048576);
	printf("indexing took %.1f ms, every tar variant %.1f ms\n", t1 - t0,
	    t3 - t2);
	payload_index_free(idx);
	buf_release(&doc);
	return 0;
}
