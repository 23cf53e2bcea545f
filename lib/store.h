/*
 * Durable storage of registrations, behind one small interface so that a
 * backend is a new file, not a rewrite: the registry replays a store at
 * start and appends every change to it before the change is acknowledged.
 * Backends: store_journal.c (an fsynced append-only file, --state).  A
 * registry without a store keeps registrations in memory only.
 */
#ifndef CFGSYNC_STORE_H
#define CFGSYNC_STORE_H

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

struct store_ops {
	/*
	 * Calls apply for every record kept, oldest first.  Returns 0, or
	 * -1 with EC_INVALID (damaged beyond its last record) or EC_WRITE.
	 */
	int	(*replay)(struct store *, store_apply_fn *, void *,
		    struct errbuf *);
	/* Makes rec durable before returning 0; -1 with EC_WRITE. */
	int	(*append)(struct store *, const struct store_record *,
		    struct errbuf *);
	/*
	 * Replaces everything kept with recs[0..n), atomically: a crash
	 * leaves the old records or the new ones.  0, or -1 with EC_WRITE.
	 */
	int	(*compact)(struct store *, const struct store_record *, size_t,
		    struct errbuf *);
	void	(*free)(struct store *);
};

struct store {
	const struct store_ops	*ops;
	unsigned long		 records;	/* kept, live or superseded */
};

/*
 * Opens (creating) the journal at path.  Returns a store the caller frees
 * with its ops->free, or NULL with EC_WRITE.
 */
struct store *store_journal_open(const char *path, struct errbuf *);

#endif
