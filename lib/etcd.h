/*
 * The etcd v3 transport: JSON over etcd's gRPC gateway (/v3/...) with
 * libcurl and json-c, an endpoint list tried in turn, a per-request
 * timeout, optional TLS and user/password authentication, and the
 * helpers proto3 JSON needs (int64 fields as strings, absent members as
 * 0/false, bytes fields as base64).  store_etcd.c and cluster_etcd.c
 * speak to etcd through it.
 */
#ifndef CFGSYNC_ETCD_H
#define CFGSYNC_ETCD_H

#include <stddef.h>
#include <stdint.h>

struct buf;
struct errbuf;
struct etcd;
struct json_object;

#define ETCD_REQUEST_MS_DEFAULT	2000
#define ETCD_PREFIX_MAX		512

/* etcd's gRPC codes the callers tell apart. */
#define ETCD_CODE_OUT_OF_RANGE	11	/* compacted or future revision */
#define ETCD_CODE_UNAVAILABLE	14

struct etcd_options {
	/* "http://127.0.0.1:2379,http://...": tried in turn */
	const char	*endpoints;
	const char	*prefix;	/* key prefix, "cfgsync/default/" */
	const char	*cacert;	/* or NULL */
	const char	*user_file;	/* one line USER:PASSWORD, or NULL */
	unsigned	 request_ms;	/* per request; 0 means the default */
};

/*
 * Checks the options and reads the user file; connects to nothing yet.
 * Returns a client the caller frees with etcd_free, or NULL with
 * EC_USAGE (a bad list or prefix, an unreadable user file) or
 * EC_INTERNAL.
 */
struct etcd *etcd_new(const struct etcd_options *, struct errbuf *);
void	etcd_free(struct etcd *);

/* The key prefix, borrowed for the client's life. */
const char *etcd_prefix(const struct etcd *);

/*
 * POSTs body (borrowed) to path ("/v3/kv/txn") and parses the answer.
 * Thread-safe (a small pool of curl handles).  Moves to the next endpoint
 * on a transport error, a timeout or an "unavailable" answer, each
 * endpoint once per call; authenticates when a user is set, again on
 * "invalid auth token".  Returns 0 with *answer (owned: put it), or -1
 * with EC_INVALID when etcd answered an error (*code = its gRPC code when
 * code is not NULL, errbuf its message), or EC_REMOTE when no endpoint
 * answered (the outcome of a write is then unknown).
 */
int	etcd_call(struct etcd *, const char *path, struct json_object *body,
	    struct json_object **answer, int *code, struct errbuf *);

/*
 * etcd_call that gives up at deadline (clock_ms; 0: none), each try cut to
 * what is left: a caller with a deadline answers by it, however many
 * endpoints hang.
 */
int	etcd_call_until(struct etcd *, const char *path,
	    struct json_object *body, struct json_object **answer, int *code,
	    uint64_t deadline, struct errbuf *);

/*
 * Same without the per-request timeout (election/campaign); gives up with
 * -1 EC_REMOTE as soon as *stop is set (checked about once a second).
 */
int	etcd_call_long(struct etcd *, const char *path,
	    struct json_object *body, struct json_object **answer,
	    const volatile int *stop, struct errbuf *);

/*
 * Opens a watch (body = {"create_request":{...}}, borrowed) with the header
 * Grpc-Metadata-Hasleader: true and TCP keepalive, on the first endpoint
 * that answers, and calls fn for each "result" object of the stream
 * (borrowed for the call).  Returns fn's value when it is nonzero, 0 when
 * the stream ended or *stop, -1 with EC_REMOTE on a transport error or an
 * error in the stream ("no leader").
 */
int	etcd_watch(struct etcd *, struct json_object *body,
	    int (*fn)(void *, struct json_object *result), void *arg,
	    const volatile int *stop, struct errbuf *);

/* proto3 JSON: absent means 0/false; int64 fields are strings. */
uint64_t etcd_int(struct json_object *, const char *member);
int	etcd_bool(struct json_object *, const char *member);

/* The "header" "revision" of an answer, or 0. */
uint64_t etcd_revision(struct json_object *answer);

/* bytes fields: base64.  Returns an owned string object, or NULL. */
struct json_object *etcd_bytes(const void *, size_t);

/*
 * Decodes a bytes field (NULL or absent means empty) and appends it to b.
 * 0, or -1 when it is not base64 or does not fit b.
 */
int	etcd_unbytes(struct json_object *, struct buf *);

/*
 * prefix + suffix as a base64 key object (owned), and the range_end that
 * covers every key starting with prefix + suffix (its last byte + 1).
 * NULL when out of memory.
 */
struct json_object *etcd_key(const struct etcd *, const char *suffix);
struct json_object *etcd_range_end(const struct etcd *, const char *suffix);

/*
 * Building requests: etcd_add sets o's member name to v, etcd_push appends
 * v to the array a; both take v (NULL: out of memory, as from a builder
 * before) and return 0, or -1 having put v.
 */
int	etcd_add(struct json_object *o, const char *name, struct json_object *v);
int	etcd_push(struct json_object *a, struct json_object *v);
/*
 * A txn compare {"key":key,"target":target,"result":result,member:value};
 * takes key and value.  NULL when out of memory.
 */
struct json_object *etcd_compare(struct json_object *key, const char *target,
	    const char *result, const char *member, struct json_object *value);

#endif
