/*
 * Durable storage of registrations, behind one small interface so that a
 * backend is a new file, not a rewrite: the registry replays a store at
 * start, then hands it every change, in batches, before the change is
 * visible or acknowledged.  Backends: store_journal.c (an append-only
 * file, --state).  A registry without a store keeps registrations in
 * memory only.
 *
 * Threads: the registry calls a store from one thread at a time (replay
 * from registry_new, then commit and compact from its committer thread
 * only), never under its lock, so a backend may block on the disk or the
 * network as long as it likes without stalling readers of the registry.
 *
 * What a commit guarantees, for every backend: when commit returns 0,
 * every record of the batch is durable (a crash or power loss after that
 * loses none of them) and a replay returns them after everything committed
 * before, in batch order.  When it returns -1, nothing of the batch was
 * acknowledged, and a replay returns either none of it or, after a crash
 * mid-commit, a prefix of it (the registry answered none of those, so a
 * prefix is as good as none).  A backend over a replicated store (etcd)
 * implements commit as one transaction holding the batch, acknowledged by
 * a quorum; the journal as one write(2) and one fdatasync(2).
 */
#ifndef CFGSYNC_STORE_H
#define CFGSYNC_STORE_H

#include <stddef.h>
#include <time.h>

struct errbuf;
struct registration;
struct store;

enum store_op {
	STORE_PUT,		/* add or replace a registration */
	STORE_DELETE		/* remove one */
};

struct store_record {
	enum store_op			 op;
	unsigned long			 generation;	/* after this change */
	/* PUT: first-seen order */
	unsigned long			 seq;
	time_t				 registered_at;	/* PUT */
	const struct registration	*reg;		/* PUT; borrowed */
	const char			*identifier;	/* DELETE; borrowed */
};

typedef void store_apply_fn(void *arg, const struct store_record *);

/*
 * Fills *rec with the next record to keep and returns 1, or returns 0 at
 * the end; what rec points to stays valid until the next call.
 */
typedef int store_next_fn(void *arg, struct store_record *rec);

struct store_ops {
	/*
	 * Calls apply for every record kept, oldest first.  Returns 0, or
	 * -1 with EC_INVALID (damaged beyond its last record) or EC_WRITE.
	 */
	int	(*replay)(struct store *, store_apply_fn *, void *,
		    struct errbuf *);
	/*
	 * Makes recs[0..n) durable, as a whole, before returning 0 (see
	 * above for what that promises); -1 with EC_WRITE or EC_INTERNAL.
	 */
	int	(*commit)(struct store *, const struct store_record *,
		    size_t n, struct errbuf *);
	/*
	 * Replaces everything kept with the records next yields, in their
	 * order, atomically: a crash leaves the old records or the new ones.
	 * 0, or -1 with EC_WRITE (what was kept is then unchanged).
	 */
	int	(*compact)(struct store *, store_next_fn *, void *,
		    struct errbuf *);
	void	(*free)(struct store *);
};

struct store {
	const struct store_ops	*ops;
	unsigned long		 records;	/* kept, live or superseded */
	unsigned long long	 bytes;		/* kept, in the backend's form */
};

/*
 * Opens (creating) the journal at path.  Returns a store the caller frees
 * with its ops->free, or NULL with EC_WRITE.
 */
struct store *store_journal_open(const char *path, struct errbuf *);

#endif
