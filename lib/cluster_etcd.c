/*
 * The cluster (cluster.h) over etcd's v3 JSON gateway (etcd.h): a lease
 * kept alive by one thread, a blocking campaign on another, fenced writes
 * of results, and a watch on P/result/ (its own, apart from the
 * registration mirror's: results are few and small, and the blobs they
 * name sort outside both watches) keeping an index of the manifests.
 *
 * Locks: c->lock alone guards every member below it in struct cluster;
 * no etcd call and no callback runs under it.
 */
#include "cluster.h"

#include <sys/types.h>

#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>
#include <nettle/sha2.h>

#include "array.h"
#include "buf.h"
#include "clock.h"
#include "diag.h"
#include "errbuf.h"
#include "etcd.h"
#include "exitcode.h"
#include "banned.h"

#define RESULT_DIR	"result/"
#define BLOB_DIR	"blob/"
#define INST_DIR	"inst/"
#define LEADER_NAME	"leader"
#define TICK_MS		250	/* the keepalive thread's clock */
#define RETRY_MS	500	/* after a failed watch or campaign */
#define LEASE_SLACK_MS	3000	/* lead until TTL minus this */
#define KEY_SUFFIX_MAX	256
#define ETCD_NOT_FOUND	5	/* gRPC NotFound: "requested lease not found" */

struct cluster {
	struct etcd	*etcd;		/* borrowed */
	char		 url[CLUSTER_URL_MAX];
	unsigned	 ttl;
	void		(*on_leader)(void *);
	void		(*on_result)(void *);
	void		*arg;
	int		 stop;		/* atomic */
	int		 relist;	/* atomic: cluster_relist asked */
	int		 interrupt;	/* atomic: the watch ends (stop, relist) */
	pthread_t	 keeper, campaigner, watcher;
	int		 started;	/* how many threads run */

	pthread_mutex_t	 lock;		/* guards what follows */
	pthread_cond_t	 cond;
	int64_t		 lease;		/* 0: none, grant one */
	uint64_t	 last_ok_ms;	/* last keepalive that answered */
	int		 leading;
	uint64_t	 won_ms;	/* when this term began */
	struct cluster_term term;
	int		 up;
	char		 leader_url[CLUSTER_URL_MAX];
	struct cluster_manifest *index;
	size_t		 nindex, index_cap;
	uint64_t	 revision;	/* of the result watch */
	unsigned long	 fetched, resyncs;
};

/* An int64 field as proto3 JSON has it: a decimal string. */
static struct json_object *
u64_string(uint64_t n)
{
	char s[24];

	(void)snprintf(s, sizeof(s), "%" PRIu64, n);
	return json_object_new_string(s);
}

static int
add_u64(struct json_object *o, const char *name, uint64_t n)
{
	return etcd_add(o, name, u64_string(n));
}

static int
key_suffix(char *out, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
key_suffix(char *out, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(out, size, fmt, ap);
	va_end(ap);
	return n < 0 || (size_t)n >= size ? -1 : 0;
}

/* {"key": the election key, "target":"CREATE", "create_revision": rev} */
static struct json_object *
compare_fence(const struct cluster_term *t)
{
	return etcd_compare(etcd_bytes(t->key, strlen(t->key)), "CREATE",
	    "EQUAL", "create_revision", u64_string(t->rev));
}

/* P/suffix's mod_revision is rev (0: the key is absent). */
static struct json_object *
compare_mod(struct cluster *c, const char *suffix, uint64_t rev)
{
	return etcd_compare(etcd_key(c->etcd, suffix), "MOD", "EQUAL",
	    "mod_revision", u64_string(rev));
}

/*
 * P/gen's mod_revision is at least generation: the registrations' history
 * has not gone back below the snapshot's (etcd restored from a backup).
 */
static struct json_object *
compare_history(struct cluster *c, uint64_t generation)
{
	return etcd_compare(etcd_key(c->etcd, "gen"), "MOD", "GREATER",
	    "mod_revision", u64_string(generation - 1));
}

static struct json_object *
request_put(struct cluster *c, const char *suffix, const void *value,
    size_t len, int64_t lease)
{
	struct json_object *o = json_object_new_object();
	struct json_object *r = json_object_new_object();

	if (etcd_add(r, "key", etcd_key(c->etcd, suffix)) == -1 ||
	    etcd_add(r, "value", etcd_bytes(value, len)) == -1 ||
	    (lease != 0 && add_u64(r, "lease", (uint64_t)lease) == -1) ||
	    etcd_add(o, "request_put", r) == -1) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

/* Deletes P/suffix, or every key under it when prefix. */
static struct json_object *
request_delete(struct cluster *c, const char *suffix, int prefix)
{
	struct json_object *o = json_object_new_object();
	struct json_object *r = json_object_new_object();

	if (etcd_add(r, "key", etcd_key(c->etcd, suffix)) == -1 ||
	    (prefix && etcd_add(r, "range_end", etcd_range_end(c->etcd,
	    suffix)) == -1) ||
	    etcd_add(o, "request_delete_range", r) == -1) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

/*
 * One txn: compares (taken) all hold, then success (taken).  Returns 0
 * when it succeeded, CLUSTER_REFUSED when a compare failed, -1 with eb.
 */
static int
txn(struct cluster *c, struct json_object *compare,
    struct json_object *success, struct errbuf *eb)
{
	struct json_object *body = json_object_new_object(), *ans = NULL;
	int rc;

	if (etcd_add(body, "compare", compare) == -1) {
		json_object_put(success);
		json_object_put(body);
		return errbuf_set(eb, EC_INTERNAL, "out of memory");
	}
	if (etcd_add(body, "success", success) == -1) {
		json_object_put(body);
		return errbuf_set(eb, EC_INTERNAL, "out of memory");
	}
	rc = etcd_call(c->etcd, "/v3/kv/txn", body, &ans, NULL, eb);
	json_object_put(body);
	if (rc == -1)
		return -1;
	rc = etcd_bool(ans, "succeeded") ? 0 : CLUSTER_REFUSED;
	json_object_put(ans);
	return rc;
}

/* An array holding the fence compare, or NULL. */
static struct json_object *
fence_array(const struct cluster_term *t)
{
	struct json_object *a = json_object_new_array();

	if (etcd_push(a, compare_fence(t)) == -1) {
		json_object_put(a);
		return NULL;
	}
	return a;
}

static int
sleep_ms(struct cluster *c, unsigned ms)
{
	struct timespec ts = clock_deadline((clock_ns() / 1000000u + ms) *
	    1000000u);

	pthread_mutex_lock(&c->lock);
	if (!__atomic_load_n(&c->stop, __ATOMIC_RELAXED))
		(void)pthread_cond_timedwait(&c->cond, &c->lock, &ts);
	pthread_mutex_unlock(&c->lock);
	return __atomic_load_n(&c->stop, __ATOMIC_RELAXED);
}

static int
fresh(const struct cluster *c, uint64_t now)
{
	return now - c->last_ok_ms + LEASE_SLACK_MS < c->ttl * 1000u;
}

/* Under c->lock: leading ends.  Returns 1 when it did (tell the caller). */
static int
step_down(struct cluster *c, const char *why)
{
	if (!c->leading)
		return 0;
	c->leading = 0;
	diag_warn("leadership lost (term %" PRIu64 "): %s", c->term.rev, why);
	pthread_cond_broadcast(&c->cond);
	return 1;
}

/* Grants a lease and puts P/inst/<lease-hex> on it.  0 or -1. */
static int
lease_grant(struct cluster *c, struct errbuf *eb)
{
	struct json_object *body = json_object_new_object(), *ans = NULL;
	char suffix[KEY_SUFFIX_MAX];
	struct buf doc;
	int64_t id;
	int rc;

	if (add_u64(body, "TTL", c->ttl) == -1) {
		json_object_put(body);
		return errbuf_set(eb, EC_INTERNAL, "out of memory");
	}
	rc = etcd_call(c->etcd, "/v3/lease/grant", body, &ans, NULL, eb);
	json_object_put(body);
	if (rc == -1)
		return -1;
	id = (int64_t)etcd_int(ans, "ID");
	json_object_put(ans);
	if (id == 0)
		return errbuf_set(eb, EC_INVALID, "lease grant: no lease");
	buf_init(&doc, 4096);
	if (key_suffix(suffix, sizeof(suffix), INST_DIR "%" PRIx64,
	    (uint64_t)id) == -1 || buf_adds(&doc, "{\"url\":") == -1 ||
	    buf_add_json_string(&doc, c->url, strlen(c->url)) == -1 ||
	    buf_addf(&doc, ",\"version\":\"%s\",\"started\":%lld}",
	    CFGSYNC_VERSION, (long long)time(NULL)) == -1) {
		buf_release(&doc);
		return errbuf_set(eb, EC_INTERNAL, "out of memory");
	}
	body = request_put(c, suffix, doc.data, doc.len, id);
	buf_release(&doc);
	if (body == NULL)
		return errbuf_set(eb, EC_INTERNAL, "out of memory");
	/* request_put's inner object is a PutRequest. */
	{
		struct json_object *put = NULL;

		(void)json_object_object_get_ex(body, "request_put", &put);
		rc = etcd_call(c->etcd, "/v3/kv/put", put, &ans, NULL, eb);
	}
	json_object_put(body);
	if (rc == -1)
		return -1;
	json_object_put(ans);
	pthread_mutex_lock(&c->lock);
	c->lease = id;
	c->last_ok_ms = clock_ms();
	c->up = 1;
	pthread_mutex_unlock(&c->lock);
	pthread_cond_broadcast(&c->cond);
	return 0;
}

/*
 * One keepalive: 1 when the lease lives, 0 when etcd says it is gone,
 * -1 when no endpoint answered.
 */
static int
keepalive(struct cluster *c, int64_t lease)
{
	struct json_object *body = json_object_new_object(), *ans = NULL, *r;
	struct errbuf eb;
	int rc, code = 0;

	if (add_u64(body, "ID", (uint64_t)lease) == -1) {
		json_object_put(body);
		return -1;
	}
	rc = etcd_call(c->etcd, "/v3/lease/keepalive", body, &ans, &code,
	    &eb);
	json_object_put(body);
	if (rc == -1)
		return eb.code == EC_INVALID && code == ETCD_NOT_FOUND ? 0 : -1;
	if (!json_object_object_get_ex(ans, "result", &r))
		r = ans;
	rc = etcd_int(r, "TTL") > 0 ? 1 : 0;
	json_object_put(ans);
	return rc;
}

/* The current leader's URL into c->leader_url, and whether it is us. */
static void
leader_refresh(struct cluster *c)
{
	struct json_object *body = json_object_new_object(), *ans = NULL;
	struct json_object *kv, *v;
	struct errbuf eb;
	struct buf key, url;
	uint64_t asked = clock_ms();
	int rc, ours_gone = 0, tell = 0;

	if (etcd_add(body, "name", etcd_key(c->etcd, LEADER_NAME)) == -1) {
		json_object_put(body);
		return;
	}
	rc = etcd_call(c->etcd, "/v3/election/leader", body, &ans, NULL, &eb);
	json_object_put(body);
	buf_init(&key, CLUSTER_KEY_MAX - 1);
	buf_init(&url, CLUSTER_URL_MAX - 1);
	if (rc == 0 && json_object_object_get_ex(ans, "kv", &kv)) {
		if (json_object_object_get_ex(kv, "value", &v))
			(void)etcd_unbytes(v, &url);
		if (json_object_object_get_ex(kv, "key", &v))
			(void)etcd_unbytes(v, &key);
	}
	pthread_mutex_lock(&c->lock);
	if (rc == 0 || eb.code == EC_INVALID) {
		(void)snprintf(c->leader_url, sizeof(c->leader_url), "%s",
		    url.data != NULL ? url.data : "");
		/* our election key vanished under us (not: was not yet) */
		if (c->leading && c->won_ms < asked && (key.data == NULL ||
		    strcmp(key.data, c->term.key) != 0))
			ours_gone = 1;
	}
	if (ours_gone)
		tell = step_down(c, "election key gone");
	pthread_mutex_unlock(&c->lock);
	json_object_put(ans);
	buf_release(&key);
	buf_release(&url);
	if (tell && c->on_leader != NULL)
		c->on_leader(c->arg);
}

/* The keepalive thread: the lease, its freshness, the leader's URL. */
static void *
keeper(void *arg)
{
	struct cluster *c = arg;
	struct errbuf eb;
	uint64_t next = 0, now;
	int64_t lease;
	int rc, tell;

	while (!__atomic_load_n(&c->stop, __ATOMIC_RELAXED)) {
		pthread_mutex_lock(&c->lock);
		lease = c->lease;
		pthread_mutex_unlock(&c->lock);
		now = clock_ms();
		if (lease == 0) {
			if (lease_grant(c, &eb) == -1) {
				pthread_mutex_lock(&c->lock);
				c->up = 0;
				pthread_mutex_unlock(&c->lock);
				diag_warn("lease: %s", eb.msg);
				(void)sleep_ms(c, RETRY_MS);
				continue;
			}
			next = clock_ms() + c->ttl * 1000u / 3;
			leader_refresh(c);
			continue;
		}
		tell = 0;
		if (now >= next) {
			rc = keepalive(c, lease);
			pthread_mutex_lock(&c->lock);
			c->up = rc >= 0;
			if (rc == 1 && c->lease == lease) {
				c->last_ok_ms = clock_ms();
				/* a campaign may wait for a fresh lease */
				pthread_cond_broadcast(&c->cond);
			} else if (rc == 0 && c->lease == lease) {
				diag_warn("lease %" PRIx64 " expired",
				    (uint64_t)lease);
				c->lease = 0;
				tell = step_down(c, "lease expired");
			}
			pthread_mutex_unlock(&c->lock);
			/* after a failure, again at the next tick */
			next = rc == 1 ? clock_ms() + c->ttl * 1000u / 3 :
			    clock_ms() + TICK_MS;
			if (rc == 1)
				leader_refresh(c);
		}
		pthread_mutex_lock(&c->lock);
		if (c->leading && !fresh(c, clock_ms()))
			tell |= step_down(c, "no keepalive answered in time");
		pthread_mutex_unlock(&c->lock);
		if (tell && c->on_leader != NULL)
			c->on_leader(c->arg);
		(void)sleep_ms(c, TICK_MS);
	}
	return NULL;
}

/* The campaign thread: waits to lead, whenever it does not. */
static void *
campaigner(void *arg)
{
	struct cluster *c = arg;
	struct json_object *body, *ans, *ld, *v;
	struct cluster_term t;
	struct errbuf eb;
	struct buf key;
	int64_t lease;
	int rc, won;

	while (!__atomic_load_n(&c->stop, __ATOMIC_RELAXED)) {
		pthread_mutex_lock(&c->lock);
		while (!__atomic_load_n(&c->stop, __ATOMIC_RELAXED) &&
		    (c->leading || c->lease == 0 || !fresh(c, clock_ms())))
			(void)pthread_cond_wait(&c->cond, &c->lock);
		lease = c->lease;
		pthread_mutex_unlock(&c->lock);
		if (__atomic_load_n(&c->stop, __ATOMIC_RELAXED))
			break;
		body = json_object_new_object();
		ans = NULL;
		if (etcd_add(body, "name", etcd_key(c->etcd, LEADER_NAME)) == -1 ||
		    add_u64(body, "lease", (uint64_t)lease) == -1 ||
		    etcd_add(body, "value", etcd_bytes(c->url,
		    strlen(c->url))) == -1) {
			json_object_put(body);
			(void)sleep_ms(c, RETRY_MS);
			continue;
		}
		rc = etcd_call_long(c->etcd, "/v3/election/campaign", body,
		    &ans, &c->stop, &eb);
		json_object_put(body);
		if (rc == -1) {
			if (!__atomic_load_n(&c->stop, __ATOMIC_RELAXED))
				diag_warn("campaign: %s", eb.msg);
			(void)sleep_ms(c, RETRY_MS);
			continue;
		}
		memset(&t, 0, sizeof(t));
		buf_init(&key, sizeof(t.key) - 1);
		won = json_object_object_get_ex(ans, "leader", &ld) &&
		    json_object_object_get_ex(ld, "key", &v) &&
		    etcd_unbytes(v, &key) == 0 && key.len > 0;
		if (won) {
			memcpy(t.key, key.data, key.len);
			t.rev = etcd_int(ld, "rev");
			t.lease = (int64_t)etcd_int(ld, "lease");
		}
		buf_release(&key);
		json_object_put(ans);
		pthread_mutex_lock(&c->lock);
		won = won && t.rev != 0 && t.lease == c->lease &&
		    fresh(c, clock_ms());
		if (won) {
			c->term = t;
			c->leading = 1;
			c->won_ms = clock_ms();
			(void)snprintf(c->leader_url, sizeof(c->leader_url),
			    "%s", c->url);
		}
		pthread_mutex_unlock(&c->lock);
		if (!won) {
			(void)sleep_ms(c, RETRY_MS);
			continue;
		}
		diag_info("leading (term %" PRIu64 ")", t.rev);
		if (c->on_leader != NULL)
			c->on_leader(c->arg);
	}
	return NULL;
}

/* The index slot of digest, or -1.  Under c->lock. */
static ssize_t
index_find(const struct cluster *c, const unsigned char *digest)
{
	size_t i;

	for (i = 0; i < c->nindex; i++)
		if (memcmp(c->index[i].digest, digest,
		    CLUSTER_DIGEST_LEN) == 0)
			return (ssize_t)i;
	return -1;
}

/* Under c->lock: stores m (replacing its digest's). 0 or -1. */
static int
index_put(struct cluster *c, const struct cluster_manifest *m)
{
	ssize_t at = index_find(c, m->digest);

	if (at >= 0) {
		c->index[at] = *m;
		return 0;
	}
	if (ARRAY_GROW(c->index, c->nindex + 1, c->index_cap) == -1)
		return -1;
	c->index[c->nindex++] = *m;
	return 0;
}

static void
index_remove(struct cluster *c, const unsigned char *digest)
{
	ssize_t at = index_find(c, digest);

	if (at >= 0)
		c->index[at] = c->index[--c->nindex];
}

/*
 * The digest of a P/result/<hex> key (full key in k), 0 or -1 when the
 * key is something else.
 */
static int
result_key(struct cluster *c, const struct buf *k, unsigned char *digest)
{
	size_t plen = strlen(etcd_prefix(c->etcd)) + strlen(RESULT_DIR);

	if (k->len != plen + 2 * CLUSTER_DIGEST_LEN)
		return -1;
	return cluster_digest_parse(k->data + plen, 2 * CLUSTER_DIGEST_LEN,
	    digest);
}

/* One kv of P/result/ into *m: 0, or -1 (not a manifest: skipped). */
static int
kv_manifest(struct cluster *c, struct json_object *kv,
    struct cluster_manifest *m)
{
	struct json_object *v;
	struct errbuf eb;
	struct buf k, val;
	int rc = -1;

	buf_init(&k, CLUSTER_KEY_MAX);
	buf_init(&val, CLUSTER_MANIFEST_MAX);
	memset(m, 0, sizeof(*m));
	if (!json_object_object_get_ex(kv, "key", &v) ||
	    etcd_unbytes(v, &k) == -1 || result_key(c, &k, m->digest) == -1)
		goto out;
	if (!json_object_object_get_ex(kv, "value", &v) ||
	    etcd_unbytes(v, &val) == -1 ||
	    cluster_manifest_parse(m, val.data != NULL ? val.data : "",
	    val.len, &eb) == -1) {
		diag_warn("result %.*s: %s", (int)k.len, k.data,
		    val.data == NULL ? "no value" : eb.msg);
		goto out;
	}
	m->mod_revision = etcd_int(kv, "mod_revision");
	rc = 0;
out:
	buf_release(&k);
	buf_release(&val);
	return rc;
}

/* Loads every manifest at one revision, replacing the index.  0 or -1. */
static int
index_load(struct cluster *c, struct errbuf *eb)
{
	struct json_object *body = json_object_new_object(), *ans = NULL;
	struct json_object *kvs;
	struct cluster_manifest m;
	size_t i, n = 0;
	int rc = 0;

	if (etcd_add(body, "key", etcd_key(c->etcd, RESULT_DIR)) == -1 ||
	    etcd_add(body, "range_end", etcd_range_end(c->etcd,
	    RESULT_DIR)) == -1) {
		json_object_put(body);
		return errbuf_set(eb, EC_INTERNAL, "out of memory");
	}
	if (etcd_call(c->etcd, "/v3/kv/range", body, &ans, NULL, eb) == -1) {
		json_object_put(body);
		return -1;
	}
	json_object_put(body);
	pthread_mutex_lock(&c->lock);
	c->nindex = 0;
	if (json_object_object_get_ex(ans, "kvs", &kvs) &&
	    json_object_is_type(kvs, json_type_array))
		n = json_object_array_length(kvs);
	for (i = 0; i < n && rc == 0; i++)
		if (kv_manifest(c, json_object_array_get_idx(kvs, i),
		    &m) == 0)
			rc = index_put(c, &m);
	c->revision = etcd_revision(ans);
	c->up = 1;
	pthread_mutex_unlock(&c->lock);
	json_object_put(ans);
	if (rc == -1)
		return errbuf_set(eb, EC_INTERNAL, "out of memory");
	return 0;
}

#define WATCH_RESYNC	2
#define WATCH_AGAIN	3

/* One "result" of the watch stream. */
static int
watch_fn(void *arg, struct json_object *result)
{
	struct cluster *c = arg;
	struct json_object *events, *ev, *kv, *v;
	struct cluster_manifest m;
	struct buf k;
	uint64_t rev, top = 0, hrev = etcd_revision(result), seen;
	size_t i, n;
	int del;

	pthread_mutex_lock(&c->lock);
	seen = c->revision;
	pthread_mutex_unlock(&c->lock);
	if (hrev != 0 && hrev < seen)
		return WATCH_RESYNC;	/* a restored etcd: its history back */
	if (etcd_bool(result, "canceled"))
		return etcd_int(result, "compact_revision") != 0 ?
		    WATCH_RESYNC : WATCH_AGAIN;
	if (!json_object_object_get_ex(result, "events", &events) ||
	    !json_object_is_type(events, json_type_array))
		return 0;
	n = json_object_array_length(events);
	for (i = 0; i < n; i++) {
		ev = json_object_array_get_idx(events, i);
		if (!json_object_object_get_ex(ev, "kv", &kv))
			continue;
		rev = etcd_int(kv, "mod_revision");
		if (rev > top)
			top = rev;
		del = json_object_object_get_ex(ev, "type", &v) &&
		    strcmp(json_object_get_string(v), "DELETE") == 0;
		if (del) {
			buf_init(&k, CLUSTER_KEY_MAX);
			memset(&m, 0, sizeof(m));
			if (json_object_object_get_ex(kv, "key", &v) &&
			    etcd_unbytes(v, &k) == 0 &&
			    result_key(c, &k, m.digest) == 0) {
				pthread_mutex_lock(&c->lock);
				index_remove(c, m.digest);
				pthread_mutex_unlock(&c->lock);
			}
			buf_release(&k);
		} else if (kv_manifest(c, kv, &m) == 0) {
			pthread_mutex_lock(&c->lock);
			if (index_put(c, &m) == -1)
				diag_warn("result index: out of memory");
			pthread_mutex_unlock(&c->lock);
		}
	}
	pthread_mutex_lock(&c->lock);
	if (top > c->revision)
		c->revision = top;
	pthread_mutex_unlock(&c->lock);
	if (n > 0 && c->on_result != NULL)
		c->on_result(c->arg);
	return 0;
}

/* The result watch thread. */
static void *
watcher(void *arg)
{
	struct cluster *c = arg;
	struct json_object *body, *req;
	struct errbuf eb;
	uint64_t from;
	int rc, resync = 0;

	while (!__atomic_load_n(&c->stop, __ATOMIC_RELAXED)) {
		if (resync) {
			if (index_load(c, &eb) == -1) {
				diag_warn("results: %s", eb.msg);
				(void)sleep_ms(c, RETRY_MS);
				continue;
			}
			pthread_mutex_lock(&c->lock);
			c->resyncs++;
			pthread_mutex_unlock(&c->lock);
			resync = 0;
			if (c->on_result != NULL)
				c->on_result(c->arg);
		}
		pthread_mutex_lock(&c->lock);
		from = c->revision + 1;
		pthread_mutex_unlock(&c->lock);
		body = json_object_new_object();
		req = json_object_new_object();
		if (etcd_add(req, "key", etcd_key(c->etcd, RESULT_DIR)) == -1 ||
		    etcd_add(req, "range_end", etcd_range_end(c->etcd,
		    RESULT_DIR)) == -1 ||
		    add_u64(req, "start_revision", from) == -1 ||
		    etcd_add(body, "create_request", req) == -1) {
			json_object_put(body);
			(void)sleep_ms(c, RETRY_MS);
			continue;
		}
		rc = etcd_watch(c->etcd, body, watch_fn, c, &c->interrupt,
		    &eb);
		json_object_put(body);
		if (__atomic_exchange_n(&c->relist, 0, __ATOMIC_RELAXED)) {
			if (!__atomic_load_n(&c->stop, __ATOMIC_RELAXED))
				__atomic_store_n(&c->interrupt, 0,
				    __ATOMIC_RELAXED);
			resync = 1;
			continue;
		}
		if (rc == WATCH_RESYNC) {
			diag_warn("results: watch compacted, or behind a "
			    "restored etcd: loading again");
			resync = 1;
			continue;
		}
		if (rc == -1 && !__atomic_load_n(&c->stop, __ATOMIC_RELAXED))
			diag_warn("results: watch: %s", eb.msg);
		(void)sleep_ms(c, RETRY_MS);
	}
	return NULL;
}

struct cluster *
cluster_new(const struct cluster_options *o, struct errbuf *eb)
{
	struct cluster *c;

	if ((c = calloc(1, sizeof(*c))) == NULL) {
		errbuf_set(eb, EC_INTERNAL, "out of memory");
		return NULL;
	}
	c->etcd = o->etcd;
	if (key_suffix(c->url, sizeof(c->url), "%s", o->url) == -1) {
		free(c);
		errbuf_set(eb, EC_USAGE, "advertise url too long");
		return NULL;
	}
	c->ttl = o->lease_ttl;
	c->on_leader = o->on_leader;
	c->on_result = o->on_result;
	c->arg = o->arg;
	pthread_mutex_init(&c->lock, NULL);
	if (clock_cond_init(&c->cond) != 0) {
		pthread_mutex_destroy(&c->lock);
		free(c);
		errbuf_set(eb, EC_INTERNAL, "cannot make a condition "
		    "variable");
		return NULL;
	}
	if (lease_grant(c, eb) == -1 || index_load(c, eb) == -1) {
		cluster_free(c);
		return NULL;
	}
	if (pthread_create(&c->keeper, NULL, keeper, c) != 0)
		goto threads;
	c->started++;
	if (pthread_create(&c->campaigner, NULL, campaigner, c) != 0)
		goto threads;
	c->started++;
	if (pthread_create(&c->watcher, NULL, watcher, c) != 0)
		goto threads;
	c->started++;
	return c;
threads:
	cluster_free(c);
	errbuf_set(eb, EC_INTERNAL, "cannot start the cluster threads");
	return NULL;
}

/* Revokes lease: its keys go, and a waiting campaign wins at once. */
static void
lease_revoke(struct cluster *c, int64_t lease)
{
	struct json_object *body = json_object_new_object(), *ans = NULL;
	struct errbuf eb;

	if (add_u64(body, "ID", (uint64_t)lease) == 0 &&
	    etcd_call(c->etcd, "/v3/lease/revoke", body, &ans, NULL,
	    &eb) == -1)
		diag_warn("lease revoke: %s", eb.msg);
	json_object_put(body);
	json_object_put(ans);
}

void
cluster_relist(struct cluster *c)
{
	__atomic_store_n(&c->relist, 1, __ATOMIC_RELAXED);
	__atomic_store_n(&c->interrupt, 1, __ATOMIC_RELAXED);
}

void
cluster_free(struct cluster *c)
{
	int64_t revoked;

	if (c == NULL)
		return;
	pthread_mutex_lock(&c->lock);
	__atomic_store_n(&c->stop, 1, __ATOMIC_RELAXED);
	__atomic_store_n(&c->interrupt, 1, __ATOMIC_RELAXED);
	pthread_cond_broadcast(&c->cond);
	revoked = c->lease;
	pthread_mutex_unlock(&c->lock);
	/*
	 * First, so the next leader is elected at once, not after the TTL
	 * nor after the threads' calls in flight.
	 */
	if (revoked != 0)
		lease_revoke(c, revoked);
	if (c->started > 0)
		pthread_join(c->keeper, NULL);
	if (c->started > 1)
		pthread_join(c->campaigner, NULL);
	if (c->started > 2)
		pthread_join(c->watcher, NULL);
	/* One the keeper granted meanwhile. */
	if (c->lease != 0 && c->lease != revoked)
		lease_revoke(c, c->lease);
	free(c->index);
	pthread_cond_destroy(&c->cond);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

int
cluster_leading(struct cluster *c, struct cluster_term *t)
{
	int rc;

	pthread_mutex_lock(&c->lock);
	rc = c->leading && fresh(c, clock_ms());
	if (rc && t != NULL)
		*t = c->term;
	pthread_mutex_unlock(&c->lock);
	return rc;
}

int
cluster_lookup(struct cluster *c, const unsigned char *digest,
    struct cluster_manifest *m)
{
	ssize_t at;

	pthread_mutex_lock(&c->lock);
	if ((at = index_find(c, digest)) >= 0)
		*m = c->index[at];
	pthread_mutex_unlock(&c->lock);
	return at >= 0;
}

int
cluster_newest(struct cluster *c, struct cluster_manifest *m)
{
	size_t i, best = 0;
	int found;

	pthread_mutex_lock(&c->lock);
	for (i = 1; i < c->nindex; i++)
		if (c->index[i].generation > c->index[best].generation)
			best = i;
	if ((found = c->nindex > 0))
		*m = c->index[best];
	pthread_mutex_unlock(&c->lock);
	return found;
}

static int
settled(enum materializer_outcome o)
{
	return o == MATERIALIZER_READY || o == MATERIALIZER_NOT_READY;
}

int
cluster_publish(struct cluster *c, const struct cluster_term *t,
    const struct cluster_manifest *given, const char *bundle, size_t len,
    struct errbuf *eb)
{
	char hex[2 * CLUSTER_DIGEST_LEN + 1], suffix[KEY_SUFFIX_MAX];
	struct cluster_manifest m = *given, seen;
	struct json_object *cmp, *ops;
	struct sha256_ctx ctx;
	struct buf doc;
	uint64_t expect = 0;
	size_t off, n;
	unsigned i;
	int rc;

	cluster_digest_hex(m.digest, hex);
	if (cluster_lookup(c, m.digest, &seen)) {
		if (settled(seen.outcome))
			return CLUSTER_REFUSED;
		expect = seen.mod_revision;
	}
	m.term = t->rev;
	m.at = time(NULL);
	m.bytes = 0;
	m.chunks = 0;
	memset(m.sha256, 0, sizeof(m.sha256));
	if (m.outcome == MATERIALIZER_READY) {
		if (len == 0 || len > (size_t)CLUSTER_CHUNKS_MAX *
		    CLUSTER_CHUNK_BYTES)
			return errbuf_set(eb, EC_INVALID, "result of %zu "
			    "bytes cannot be published", len);
		m.bytes = len;
		m.chunks = (unsigned)((len + CLUSTER_CHUNK_BYTES - 1) /
		    CLUSTER_CHUNK_BYTES);
		sha256_init(&ctx);
		sha256_update(&ctx, len, (const uint8_t *)bundle);
		sha256_digest(&ctx, sizeof(m.sha256), m.sha256);
		for (i = 0, off = 0; i < m.chunks; i++, off += n) {
			n = len - off < CLUSTER_CHUNK_BYTES ? len - off :
			    CLUSTER_CHUNK_BYTES;
			if (key_suffix(suffix, sizeof(suffix), BLOB_DIR
			    "%s/%" PRIu64 "/%04u", hex, t->rev, i) == -1)
				return errbuf_set(eb, EC_INTERNAL, "key too "
				    "long");
			ops = json_object_new_array();
			if (etcd_push(ops, request_put(c, suffix, bundle + off, n,
			    0)) == -1) {
				json_object_put(ops);
				return errbuf_set(eb, EC_INTERNAL,
				    "out of memory");
			}
			if ((rc = txn(c, fence_array(t), ops, eb)) != 0)
				return rc;
		}
	}
	buf_init(&doc, CLUSTER_MANIFEST_MAX);
	if (key_suffix(suffix, sizeof(suffix), RESULT_DIR "%s", hex) == -1 ||
	    cluster_manifest_render(&doc, &m) == -1) {
		buf_release(&doc);
		return errbuf_set(eb, EC_INTERNAL, "out of memory");
	}
	cmp = fence_array(t);
	ops = json_object_new_array();
	if (etcd_push(cmp, compare_mod(c, suffix, expect)) == -1 ||
	    (m.generation > 0 && etcd_push(cmp, compare_history(c,
	    m.generation)) == -1) ||
	    etcd_push(ops, request_put(c, suffix, doc.data, doc.len, 0)) == -1) {
		json_object_put(cmp);
		json_object_put(ops);
		buf_release(&doc);
		return errbuf_set(eb, EC_INTERNAL, "out of memory");
	}
	buf_release(&doc);
	return txn(c, cmp, ops, eb);
}

int
cluster_fetch(struct cluster *c, const struct cluster_manifest *m,
    struct buf *out, struct errbuf *eb)
{
	char hex[2 * CLUSTER_DIGEST_LEN + 1], suffix[KEY_SUFFIX_MAX];
	unsigned char sum[32];
	struct json_object *body, *ans, *kvs, *v;
	struct sha256_ctx ctx;
	size_t start = out->len;
	unsigned i;
	int rc;

	cluster_digest_hex(m->digest, hex);
	for (i = 0; i < m->chunks; i++) {
		if (key_suffix(suffix, sizeof(suffix), BLOB_DIR "%s/%" PRIu64
		    "/%04u", hex, m->term, i) == -1)
			return errbuf_set(eb, EC_INTERNAL, "key too long");
		body = json_object_new_object();
		ans = NULL;
		if (etcd_add(body, "key", etcd_key(c->etcd, suffix)) == -1) {
			json_object_put(body);
			return errbuf_set(eb, EC_INTERNAL, "out of memory");
		}
		rc = etcd_call(c->etcd, "/v3/kv/range", body, &ans, NULL, eb);
		json_object_put(body);
		if (rc == -1)
			return -1;
		if (!json_object_object_get_ex(ans, "kvs", &kvs) ||
		    json_object_array_length(kvs) != 1 ||
		    !json_object_object_get_ex(json_object_array_get_idx(kvs,
		    0), "value", &v) || etcd_unbytes(v, out) == -1) {
			json_object_put(ans);
			return errbuf_set(eb, EC_INVALID, "result %.12s: "
			    "chunk %u missing", hex, i);
		}
		json_object_put(ans);
	}
	if (out->len - start != m->bytes)
		return errbuf_set(eb, EC_INVALID, "result %.12s: %zu bytes, "
		    "not %llu", hex, out->len - start,
		    (unsigned long long)m->bytes);
	sha256_init(&ctx);
	sha256_update(&ctx, out->len - start, (const uint8_t *)out->data +
	    start);
	sha256_digest(&ctx, sizeof(sum), sum);
	if (memcmp(sum, m->sha256, sizeof(sum)) != 0)
		return errbuf_set(eb, EC_INVALID, "result %.12s: sha256 "
		    "mismatch", hex);
	pthread_mutex_lock(&c->lock);
	c->fetched++;
	pthread_mutex_unlock(&c->lock);
	return 0;
}

/* Deletes a manifest and its blobs, fenced.  0, REFUSED or -1. */
static int
retire_one(struct cluster *c, const struct cluster_term *t,
    const unsigned char *digest, struct errbuf *eb)
{
	char hex[2 * CLUSTER_DIGEST_LEN + 1], res[KEY_SUFFIX_MAX];
	char blob[KEY_SUFFIX_MAX];
	struct json_object *ops = json_object_new_array();

	cluster_digest_hex(digest, hex);
	if (key_suffix(res, sizeof(res), RESULT_DIR "%s", hex) == -1 ||
	    key_suffix(blob, sizeof(blob), BLOB_DIR "%s/", hex) == -1 ||
	    etcd_push(ops, request_delete(c, res, 0)) == -1 ||
	    etcd_push(ops, request_delete(c, blob, 1)) == -1) {
		json_object_put(ops);
		return errbuf_set(eb, EC_INTERNAL, "out of memory");
	}
	return txn(c, fence_array(t), ops, eb);
}

/* Descending by mod_revision. */
static int
by_revision(const void *a, const void *b)
{
	const struct cluster_manifest *x = a, *y = b;

	return x->mod_revision < y->mod_revision ? 1 :
	    x->mod_revision > y->mod_revision ? -1 : 0;
}

/*
 * Deletes the blob prefixes (digest/term/) no manifest references.
 * Reads the manifests afresh: the index may lag behind a manifest the
 * last leader wrote just before it died.
 */
static int
clean_blobs(struct cluster *c, const struct cluster_term *t,
    struct errbuf *eb)
{
	struct json_object *body = json_object_new_object(), *ans = NULL;
	struct json_object *kvs, *v, *ops;
	struct cluster_manifest m;
	unsigned char digest[CLUSTER_DIGEST_LEN];
	char last[KEY_SUFFIX_MAX] = "", suffix[KEY_SUFFIX_MAX], *slash;
	const char *p;
	struct buf k;
	size_t i, n = 0, plen;
	uint64_t term;
	int rc = 0, found;

	if (index_load(c, eb) == -1) {
		json_object_put(body);
		return -1;
	}
	if (etcd_add(body, "key", etcd_key(c->etcd, BLOB_DIR)) == -1 ||
	    etcd_add(body, "range_end", etcd_range_end(c->etcd, BLOB_DIR)) == -1 ||
	    etcd_add(body, "keys_only", json_object_new_boolean(1)) == -1) {
		json_object_put(body);
		return errbuf_set(eb, EC_INTERNAL, "out of memory");
	}
	rc = etcd_call(c->etcd, "/v3/kv/range", body, &ans, NULL, eb);
	json_object_put(body);
	if (rc == -1)
		return -1;
	if (json_object_object_get_ex(ans, "kvs", &kvs) &&
	    json_object_is_type(kvs, json_type_array))
		n = json_object_array_length(kvs);
	plen = strlen(etcd_prefix(c->etcd));
	for (i = 0; i < n && rc != -1; i++) {
		buf_init(&k, CLUSTER_KEY_MAX);
		if (!json_object_object_get_ex(json_object_array_get_idx(kvs,
		    i), "key", &v) || etcd_unbytes(v, &k) == -1 ||
		    k.len < plen + strlen(BLOB_DIR)) {
			buf_release(&k);
			continue;
		}
		p = k.data + plen;		/* blob/<hex>/<term>/NNNN */
		if ((slash = strrchr(k.data, '/')) == NULL ||
		    key_suffix(suffix, sizeof(suffix), "%.*s",
		    (int)(slash + 1 - p), p) == -1 ||
		    strcmp(suffix, last) == 0) {
			buf_release(&k);
			continue;
		}
		memcpy(last, suffix, sizeof(last));
		found = 0;
		if (strlen(suffix) > strlen(BLOB_DIR) + 2 *
		    CLUSTER_DIGEST_LEN + 1 && cluster_digest_parse(suffix +
		    strlen(BLOB_DIR), 2 * CLUSTER_DIGEST_LEN, digest) == 0) {
			term = strtoull(suffix + strlen(BLOB_DIR) + 2 *
			    CLUSTER_DIGEST_LEN + 1, NULL, 10);
			found = cluster_lookup(c, digest, &m) &&
			    m.outcome == MATERIALIZER_READY && m.term == term;
		}
		buf_release(&k);
		if (found)
			continue;
		ops = json_object_new_array();
		if (etcd_push(ops, request_delete(c, suffix, 1)) == -1) {
			json_object_put(ops);
			rc = errbuf_set(eb, EC_INTERNAL, "out of memory");
			break;
		}
		if ((rc = txn(c, fence_array(t), ops, eb)) == 0)
			diag_info("retired unreferenced %s", suffix);
	}
	json_object_put(ans);
	return rc == -1 ? -1 : 0;
}

int
cluster_retire(struct cluster *c, const struct cluster_term *t,
    const unsigned char *current, int office, struct errbuf *eb)
{
	struct cluster_manifest *all = NULL;
	size_t n, i, kept = 0;
	int rc = 0;

	if (office && clean_blobs(c, t, eb) == -1)
		return -1;
	pthread_mutex_lock(&c->lock);
	n = c->nindex;
	if (n > 0 && (all = calloc(n, sizeof(*all))) != NULL)
		memcpy(all, c->index, n * sizeof(*all));
	pthread_mutex_unlock(&c->lock);
	if (n == 0)
		return 0;
	if (all == NULL)
		return errbuf_set(eb, EC_INTERNAL, "out of memory");
	qsort(all, n, sizeof(*all), by_revision);
	for (i = 0; i < n && rc != -1; i++) {
		if (current != NULL && memcmp(all[i].digest, current,
		    CLUSTER_DIGEST_LEN) == 0)
			continue;
		if (kept < CLUSTER_KEEP) {
			kept++;
			continue;
		}
		rc = retire_one(c, t, all[i].digest, eb);
	}
	free(all);
	return rc == -1 ? -1 : 0;
}

void
cluster_status(struct cluster *c, struct cluster_status *s)
{
	memset(s, 0, sizeof(*s));
	pthread_mutex_lock(&c->lock);
	s->leading = c->leading && fresh(c, clock_ms());
	s->up = c->up;
	memcpy(s->leader_url, c->leader_url, sizeof(s->leader_url));
	s->revision = c->revision;
	s->fetched = c->fetched;
	s->resyncs = c->resyncs;
	s->results = c->nindex;
	pthread_mutex_unlock(&c->lock);
}
