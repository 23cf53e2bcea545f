/*
 * Several serve-exec instances, one fleet (issue 13): which instance runs
 * the materializer, and the results every instance serves.  One
 * implementation, over etcd (cluster_etcd.c); a serve-exec without --etcd
 * has no cluster and behaves as a single instance.
 *
 * Each instance holds one lease (kept alive every TTL/3 on its own
 * thread) carrying its P/inst/<lease-hex> key and its election key.  A
 * campaign thread blocks in etcd's election until it leads; the answer
 * (key, create revision) is the term, the fencing token: every write of
 * a result compares the election key's create revision with it, so a
 * leader that lost its lease cannot publish.  A leader steps down by
 * itself once no keepalive succeeded for TTL - 3 seconds.
 *
 * Results are published per registration-set digest: the rendered bundle
 * in 1 MiB chunks at P/blob/<digest-hex>/<term>/<NNNN>, then the manifest
 * at P/result/<digest-hex>.  A ready or not-ready manifest is never
 * replaced; a failed or tempfail one may be.  A watch on P/result/ (the
 * cluster's own, apart from the registration mirror's) keeps an index of
 * the manifests and tells the caller of every change.
 *
 * Threads: cluster_new starts three (keepalive, campaign, result watch);
 * the callbacks run on them, without the cluster's lock.  Every other
 * function may be called from any thread.
 */
#ifndef CFGSYNC_CLUSTER_H
#define CFGSYNC_CLUSTER_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "materializer.h"

struct buf;
struct cluster;
struct errbuf;
struct etcd;

#define CLUSTER_DIGEST_LEN	32	/* the registry's digest of a set */
#define CLUSTER_CHUNK_BYTES	(1UL << 20)	/* under etcd's 1.5 MiB */
#define CLUSTER_CHUNKS_MAX	9999	/* NNNN */
#define CLUSTER_KEEP		3	/* results kept besides the current */
#define CLUSTER_LEASE_TTL	10	/* --lease-ttl default */
#define CLUSTER_LEASE_TTL_MIN	5	/* TTL - 3 s must leave time to lead */
#define CLUSTER_URL_MAX		256
#define CLUSTER_KEY_MAX		640
/* The longest manifest document. */
#define CLUSTER_MANIFEST_MAX	(2 * MATERIALIZER_REASON_MAX + 512)

/* Publish: the fence or a create-only compare failed. */
#define CLUSTER_REFUSED		1

/* A term of office: the fencing token. */
struct cluster_term {
	char		key[CLUSTER_KEY_MAX];	/* the election key */
	uint64_t	rev;			/* its create revision */
	int64_t		lease;
};

/* P/result/<digest-hex>: what a run for one set came to. */
struct cluster_manifest {
	unsigned char	digest[CLUSTER_DIGEST_LEN];	/* from the key */
	enum materializer_outcome outcome;
	unsigned long	generation;	/* of the leader's snapshot */
	uint64_t	bytes;		/* READY: of the rendered bundle */
	unsigned	chunks;
	unsigned char	sha256[32];	/* READY: of those bytes */
	uint64_t	term;		/* the term.rev that published it */
	time_t		at;		/* when, seconds since the epoch */
	char		reason[MATERIALIZER_REASON_MAX];	/* FAILED */
	uint64_t	mod_revision;	/* in the store; not in the JSON */
};

/*
 * Appends m as its JSON document (one line, no newline):
 * {"outcome","generation","reason","bytes","chunks","sha256","term","at"}.
 * 0, or -1 out of memory.
 */
int	cluster_manifest_render(struct buf *, const struct cluster_manifest *);

/*
 * Parses a manifest document (at most CLUSTER_MANIFEST_MAX bytes) into
 * *m, leaving digest and mod_revision alone.  0, or -1 with EC_INVALID.
 */
int	cluster_manifest_parse(struct cluster_manifest *, const char *,
	    size_t, struct errbuf *);

/* The digest as 64 lowercase hex digits and a NUL; and back (0 or -1). */
void	cluster_digest_hex(const unsigned char d[CLUSTER_DIGEST_LEN],
	    char hex[2 * CLUSTER_DIGEST_LEN + 1]);
int	cluster_digest_parse(const char *, size_t,
	    unsigned char d[CLUSTER_DIGEST_LEN]);

struct cluster_options {
	struct etcd	*etcd;		/* borrowed; outlives the cluster */
	const char	*url;		/* advertised: the leader's address */
	unsigned	 lease_ttl;	/* seconds */
	/* leadership came or went: call cluster_leading (any thread) */
	void		(*on_leader)(void *);
	/* a manifest appeared, changed or went, or the index was reloaded */
	void		(*on_result)(void *);
	void		*arg;
};

/*
 * Grants the lease, puts P/inst/<lease-hex>, loads the result index and
 * starts the threads.  Returns the cluster (cluster_free), or NULL with
 * EC_REMOTE (no endpoint answered), EC_INVALID (etcd refused: a role
 * without the prefix) or EC_INTERNAL.
 */
struct cluster *cluster_new(const struct cluster_options *, struct errbuf *);

/*
 * Stops the threads and revokes the lease, so that a waiting instance is
 * elected at once.  Accepts NULL.
 */
void	cluster_free(struct cluster *);

/*
 * Has the result watch end its stream and load the index again, as after
 * a compaction: the registrations' history went back (a restored etcd),
 * and the index may hold results the store no longer has.  The stats'
 * resyncs counts it once done.
 */
void	cluster_relist(struct cluster *);

/*
 * Returns 1 and fills *term when this instance leads and its lease was
 * kept alive within TTL - 3 seconds, else 0.
 */
int	cluster_leading(struct cluster *, struct cluster_term *);

/*
 * Finds the manifest for digest in the index: 1 and *m, or 0.
 */
int	cluster_lookup(struct cluster *, const unsigned char *digest,
	    struct cluster_manifest *m);

/*
 * Finds the manifest of the newest snapshot (the highest generation) in
 * the index: 1 and *m, or 0 when there is none.
 */
int	cluster_newest(struct cluster *, struct cluster_manifest *m);

/*
 * Publishes m (digest, outcome, generation, reason; the rest is filled
 * here) and, when READY, bundle[0..len) in chunks, each write fenced by
 * term.  Returns 0, CLUSTER_REFUSED (no longer leading, a settled
 * manifest exists, or the registrations' history went back below m's
 * generation: nothing of the manifest written), or -1 with EC_REMOTE
 * (outcome unknown) or EC_INVALID.
 */
int	cluster_publish(struct cluster *, const struct cluster_term *,
	    const struct cluster_manifest *m, const char *bundle, size_t len,
	    struct errbuf *);

/*
 * Appends the bundle of a READY manifest to out, checking its length and
 * SHA-256.  0, or -1 with EC_REMOTE, EC_INVALID (missing or damaged
 * chunks) or EC_INTERNAL.
 */
int	cluster_fetch(struct cluster *, const struct cluster_manifest *,
	    struct buf *out, struct errbuf *);

/*
 * Leader only, fenced: deletes every manifest (and its blobs) but the
 * CLUSTER_KEEP most recently written and current's; with office set
 * (just elected), also blob prefixes no manifest references, left by a
 * leader that died mid-upload.  0, or -1 with eb set.
 */
int	cluster_retire(struct cluster *, const struct cluster_term *,
	    const unsigned char *current, int office, struct errbuf *);

struct cluster_status {
	int		 leading;
	int		 up;		/* the last call to etcd answered */
	char		 leader_url[CLUSTER_URL_MAX];	/* "" unknown */
	uint64_t	 revision;	/* the result watch has seen */
	unsigned long	 fetched;	/* bundles fetched */
	unsigned long	 resyncs;	/* result index reloaded */
	size_t		 results;	/* manifests in the index */
};

void	cluster_status(struct cluster *, struct cluster_status *);

#endif
