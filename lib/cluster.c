/*
 * The cluster's documents, apart from any store: a result manifest's JSON
 * and the hex form of a set's digest, so a unit test drives them without
 * an etcd.  cluster_etcd.c holds everything that talks to etcd.
 */
#include "cluster.h"

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "artifacts.h"
#include "buf.h"
#include "errbuf.h"
#include "exitcode.h"
#include "jsonx.h"
#include "banned.h"

static const char *const outcome_names[] = {
	"ready", "not_ready", "tempfail", "failed"
};

void
cluster_digest_hex(const unsigned char d[CLUSTER_DIGEST_LEN],
    char hex[2 * CLUSTER_DIGEST_LEN + 1])
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < CLUSTER_DIGEST_LEN; i++) {
		hex[2 * i] = digits[d[i] >> 4];
		hex[2 * i + 1] = digits[d[i] & 0xf];
	}
	hex[2 * CLUSTER_DIGEST_LEN] = '\0';
}

int
cluster_digest_parse(const char *s, size_t len,
    unsigned char d[CLUSTER_DIGEST_LEN])
{
	return artifact_sha256_parse(s, len, d);
}

int
cluster_manifest_render(struct buf *b, const struct cluster_manifest *m)
{
	char hex[2 * CLUSTER_DIGEST_LEN + 1];
	int rc;

	if ((unsigned)m->outcome >= 4)
		return -1;
	rc = buf_addf(b, "{\"outcome\":\"%s\",\"generation\":%lu,"
	    "\"reason\":", outcome_names[m->outcome], m->generation);
	rc |= buf_add_json_string(b, m->reason, strlen(m->reason));
	rc |= buf_addf(b, ",\"bytes\":%llu,\"chunks\":%u,\"sha256\":",
	    (unsigned long long)m->bytes, m->chunks);
	if (m->outcome == MATERIALIZER_READY) {
		cluster_digest_hex(m->sha256, hex);
		rc |= buf_addf(b, "\"%s\"", hex);
	} else
		rc |= buf_adds(b, "null");
	rc |= buf_addf(b, ",\"term\":%llu,\"at\":%lld}",
	    (unsigned long long)m->term, (long long)m->at);
	return rc != 0 ? -1 : 0;
}

/* Member name of doc as an unsigned integer no larger than max. */
static int
get_uint(struct json_object *doc, const char *name, uint64_t max,
    uint64_t *out, struct errbuf *eb)
{
	struct json_object *v;

	if (!json_object_object_get_ex(doc, name, &v) ||
	    !json_object_is_type(v, json_type_int))
		return errbuf_set(eb, EC_INVALID, "manifest: no %s", name);
	errno = 0;
	*out = json_object_get_uint64(v);
	if (errno != 0 || json_object_get_int64(v) < 0 || *out > max)
		return errbuf_set(eb, EC_INVALID, "manifest: %s out of range",
		    name);
	return 0;
}

int
cluster_manifest_parse(struct cluster_manifest *m, const char *text,
    size_t len, struct errbuf *eb)
{
	struct json_object *doc = NULL;
	const char *s;
	uint64_t u;
	size_t n, i;
	int rc = -1;

	if (jsonx_parse(text, len, CLUSTER_MANIFEST_MAX, "manifest", &doc,
	    eb) == -1)
		return -1;
	if (!json_object_is_type(doc, json_type_object)) {
		errbuf_set(eb, EC_INVALID, "manifest: not an object");
		goto out;
	}
	if (jsonx_get_string(doc, "outcome", &s, &n) != 0) {
		errbuf_set(eb, EC_INVALID, "manifest: no outcome");
		goto out;
	}
	for (i = 0; i < 4; i++)
		if (strlen(outcome_names[i]) == n &&
		    memcmp(outcome_names[i], s, n) == 0)
			break;
	if (i == 4) {
		errbuf_set(eb, EC_INVALID, "manifest: unknown outcome");
		goto out;
	}
	m->outcome = (enum materializer_outcome)i;
	if (get_uint(doc, "generation", ULONG_MAX, &u, eb) == -1)
		goto out;
	m->generation = (unsigned long)u;
	if (get_uint(doc, "bytes", UINT64_MAX / 2, &m->bytes, eb) == -1 ||
	    get_uint(doc, "chunks", CLUSTER_CHUNKS_MAX, &u, eb) == -1)
		goto out;
	m->chunks = (unsigned)u;
	if (get_uint(doc, "term", UINT64_MAX / 2, &m->term, eb) == -1 ||
	    get_uint(doc, "at", INT64_MAX, &u, eb) == -1)
		goto out;
	m->at = (time_t)u;
	switch (jsonx_get_string(doc, "reason", &s, &n)) {
	case 0:
		if (n >= sizeof(m->reason)) {
			errbuf_set(eb, EC_INVALID, "manifest: reason too "
			    "long");
			goto out;
		}
		memcpy(m->reason, s, n);
		m->reason[n] = '\0';
		break;
	case 1:
		m->reason[0] = '\0';
		break;
	default:
		errbuf_set(eb, EC_INVALID, "manifest: reason not a string");
		goto out;
	}
	memset(m->sha256, 0, sizeof(m->sha256));
	if (m->outcome == MATERIALIZER_READY) {
		if (jsonx_get_string(doc, "sha256", &s, &n) != 0 ||
		    artifact_sha256_parse(s, n, m->sha256) == -1) {
			errbuf_set(eb, EC_INVALID, "manifest: bad sha256");
			goto out;
		}
		if (m->chunks == 0 || m->bytes == 0 ||
		    (m->bytes + CLUSTER_CHUNK_BYTES - 1) /
		    CLUSTER_CHUNK_BYTES != m->chunks) {
			errbuf_set(eb, EC_INVALID, "manifest: %u chunks for "
			    "%llu bytes", m->chunks,
			    (unsigned long long)m->bytes);
			goto out;
		}
	} else if (m->chunks != 0) {
		errbuf_set(eb, EC_INVALID, "manifest: chunks without a "
		    "bundle");
		goto out;
	}
	rc = 0;
out:
	json_object_put(doc);
	return rc;
}
