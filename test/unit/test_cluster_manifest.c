/*
 * Unit tests for lib/cluster.c: a result manifest survives its JSON
 * round trip for every outcome, damaged manifests are refused (a bad
 * outcome, chunks that do not cover the bytes, a missing sha256, a
 * reason too long), and digests go to hex and back.
 */
#include "cluster.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "check.h"
#include "errbuf.h"
#include "exitcode.h"
#include "banned.h"

static void
fill(struct cluster_manifest *m, enum materializer_outcome o)
{
	size_t i;

	memset(m, 0, sizeof(*m));
	for (i = 0; i < sizeof(m->digest); i++)
		m->digest[i] = (unsigned char)(i * 7 + 1);
	m->outcome = o;
	m->generation = 4242;
	m->term = 90071992547409ULL;
	m->at = 1796100000;
	if (o == MATERIALIZER_READY) {
		m->bytes = 3 * CLUSTER_CHUNK_BYTES + 5;
		m->chunks = 4;
		for (i = 0; i < sizeof(m->sha256); i++)
			m->sha256[i] = (unsigned char)(255 - i);
	}
	if (o == MATERIALIZER_FAILED)
		(void)snprintf(m->reason, sizeof(m->reason),
		    "materializer exited 3: \"quoted\"\tand\\more");
}

static void
test_round_trip(void)
{
	struct cluster_manifest m, back;
	struct errbuf eb;
	struct buf b;
	int o;

	for (o = MATERIALIZER_READY; o <= MATERIALIZER_FAILED; o++) {
		fill(&m, (enum materializer_outcome)o);
		buf_init(&b, CLUSTER_MANIFEST_MAX);
		CHECK(cluster_manifest_render(&b, &m) == 0);
		memset(&back, 0xa5, sizeof(back));
		memcpy(back.digest, m.digest, sizeof(m.digest));
		back.mod_revision = 0;
		CHECK(cluster_manifest_parse(&back, b.data, b.len, &eb) == 0);
		CHECK(back.outcome == m.outcome);
		CHECK(back.generation == m.generation);
		CHECK(back.bytes == m.bytes);
		CHECK(back.chunks == m.chunks);
		CHECK(memcmp(back.sha256, m.sha256, sizeof(m.sha256)) == 0);
		CHECK(back.term == m.term);
		CHECK(back.at == m.at);
		CHECK_STR(back.reason, m.reason);
		CHECK(memcmp(back.digest, m.digest, sizeof(m.digest)) == 0);
		CHECK(back.mod_revision == 0);
		buf_release(&b);
	}
	fill(&m, MATERIALIZER_READY);
	buf_init(&b, CLUSTER_MANIFEST_MAX);
	CHECK(cluster_manifest_render(&b, &m) == 0);
	CHECK(strstr(b.data, "\"outcome\":\"ready\"") != NULL);
	CHECK(strstr(b.data, "\"chunks\":4") != NULL);
	buf_release(&b);
}

static void
refused(const char *doc, const char *why)
{
	struct cluster_manifest m;
	struct errbuf eb;

	memset(&m, 0, sizeof(m));
	eb.code = 0;
	CHECK(cluster_manifest_parse(&m, doc, strlen(doc), &eb) == -1);
	CHECK(eb.code == EC_INVALID);
	if (strstr(eb.msg, why) == NULL)
		fprintf(stderr, "%s: message \"%s\" lacks \"%s\"\n", doc,
		    eb.msg, why);
	CHECK(strstr(eb.msg, why) != NULL);
}

static void
test_refused(void)
{
	char doc[1024], longer[MATERIALIZER_REASON_MAX + 200];
	const char *sha = "\"00112233445566778899aabbccddeeff"
	    "00112233445566778899aabbccddeeff\"";

	refused("[]", "not an object");
	refused("{\"outcome\":\"done\",\"generation\":1,\"bytes\":0,"
	    "\"chunks\":0,\"term\":1,\"at\":1}", "unknown outcome");
	refused("{\"generation\":1}", "no outcome");
	refused("{\"outcome\":\"ready\",\"bytes\":1,\"chunks\":1,"
	    "\"term\":1,\"at\":1}", "no generation");
	refused("{\"outcome\":\"ready\",\"generation\":-1,\"bytes\":1,"
	    "\"chunks\":1,\"term\":1,\"at\":1}", "generation out of range");
	(void)snprintf(doc, sizeof(doc), "{\"outcome\":\"ready\","
	    "\"generation\":1,\"bytes\":2097153,\"chunks\":2,\"sha256\":%s,"
	    "\"term\":1,\"at\":1}", sha);
	refused(doc, "2 chunks for 2097153 bytes");
	refused("{\"outcome\":\"ready\",\"generation\":1,\"bytes\":5,"
	    "\"chunks\":1,\"sha256\":null,\"term\":1,\"at\":1}",
	    "bad sha256");
	refused("{\"outcome\":\"failed\",\"generation\":1,\"bytes\":0,"
	    "\"chunks\":1,\"reason\":\"x\",\"term\":1,\"at\":1}",
	    "chunks without a bundle");
	refused("{\"outcome\":\"failed\",\"generation\":1,\"bytes\":0,"
	    "\"chunks\":0,\"reason\":7,\"term\":1,\"at\":1}",
	    "reason not a string");
	memset(longer, 'r', sizeof(longer));
	longer[sizeof(longer) - 1] = '\0';
	(void)snprintf(doc, sizeof(doc), "{\"outcome\":\"failed\","
	    "\"generation\":1,\"bytes\":0,\"chunks\":0,\"reason\":\"%.*s\","
	    "\"term\":1,\"at\":1}", MATERIALIZER_REASON_MAX, longer);
	refused(doc, "reason too long");
	refused("{\"outcome\":\"ready\",\"outcome\":\"failed\"}", "");
}

static void
test_digest_hex(void)
{
	unsigned char d[CLUSTER_DIGEST_LEN], back[CLUSTER_DIGEST_LEN];
	char hex[2 * CLUSTER_DIGEST_LEN + 1];
	size_t i;

	for (i = 0; i < sizeof(d); i++)
		d[i] = (unsigned char)(i * 37);
	cluster_digest_hex(d, hex);
	CHECK(strlen(hex) == 2 * CLUSTER_DIGEST_LEN);
	CHECK(strncmp(hex, "00254a6f", 8) == 0);
	CHECK(cluster_digest_parse(hex, strlen(hex), back) == 0);
	CHECK(memcmp(d, back, sizeof(d)) == 0);
	CHECK(cluster_digest_parse(hex, strlen(hex) - 1, back) == -1);
	hex[3] = 'g';
	CHECK(cluster_digest_parse(hex, strlen(hex), back) == -1);
}

int
main(int argc, char **argv)
{
	check_init(argc, argv);
	test_round_trip();
	test_refused();
	test_digest_hex();
	return check_done("test_cluster_manifest");
}
