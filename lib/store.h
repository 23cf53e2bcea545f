/*
 * Durable storage of registrations, behind one small interface so that a
 * backend is a new file, not a rewrite.  The store is the authority and a
 * stream of changes; the registry is a mirror, changed only by the
 * store's events, that decides each registration against what it mirrors
 * and has the store commit the decision conditionally.  Backends:
 * store_journal.c (an append-only file, --state: one writer, so it never
 * conflicts, and it delivers its events synchronously, from subscribe and
 * from commit) and store_etcd.c (--etcd: several writers, events from a
 * watch thread).  A registry without a store keeps registrations in
 * memory only.
 *
 * Threads: the registry calls commit, barrier and compact from its
 * committer thread only, never under its lock, so a backend may block on
 * the disk or the network without stalling readers of the registry.
 * Events come from the thread that calls subscribe or commit (journal) or
 * from the store's own thread (etcd), one at a time, in store order.
 *
 * What a commit guarantees, for every backend: when commit returns 0,
 * every change of the batch is durable (a crash or power loss after that
 * loses none of them) and ordered after everything committed before; the
 * events for it carry a revision at most *rev.  When it returns
 * STORE_CONFLICT nothing was written.  When it returns -1 nothing of the
 * batch was acknowledged: with EC_REMOTE the outcome is unknown (the
 * registry decides again from the mirror, so a retry is idempotent), with
 * EC_WRITE nothing was written, or after a crash mid-commit a prefix of
 * the batch (the registry answered none of it).
 */
#ifndef CFGSYNC_STORE_H
#define CFGSYNC_STORE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct errbuf;
struct registration;
struct store;

/* One registration as stored. */
struct store_entry {
	const struct registration	*reg;		/* borrowed */
	unsigned long			 seq;
	time_t				 registered_at;
	/*
	 * journal: generation of its last change (of the compaction, for
	 * one compacted since); etcd: mod_revision, the generation its
	 * change made (the same transaction puts P/gen)
	 */
	uint64_t			 version;
};

enum store_change_kind {
	STORE_CREATE,		/* a new identifier: seq = counter + k */
	STORE_REPLACE,		/* same identifier, seq and time, new content */
	STORE_DELETE
};

/* A decision made from the mirror. */
struct store_change {
	enum store_change_kind	 kind;
	const char		*identifier;	/* borrowed */
	struct store_entry	 entry;		/* CREATE/REPLACE */
	uint64_t		 expect;	/* REPLACE, DELETE: version */
};

enum store_event_kind {
	STORE_EV_RESET,		/* forget everything: a full listing follows */
	STORE_EV_PUT,		/* entry added or replaced */
	STORE_EV_DELETE,	/* identifier removed */
	STORE_EV_SEQ,		/* the seq counter is now seq */
	STORE_EV_SYNCED,	/* everything up to revision is applied */
	STORE_EV_DOWN		/* the stream broke: the mirror may be stale */
};

struct store_event {
	enum store_event_kind		 kind;
	const struct store_entry	*entry;		/* PUT */
	const char			*identifier;	/* DELETE */
	unsigned long			 seq;		/* SEQ */
	uint64_t			 revision;	/* SYNCED */
	uint64_t			 generation;	/* SYNCED: of the set */
	const char			*why;		/* DOWN */
};

typedef void store_event_fn(void *arg, const struct store_event *);

/*
 * Fills *e with the next entry to keep and returns 1, or returns 0 at
 * the end; what e points to stays valid until the next call.
 */
typedef int store_next_fn(void *arg, struct store_entry *e);

#define STORE_CONFLICT	1
#define STORE_SEQ_MOVED	2

struct store_ops {
	/*
	 * Delivers what is kept (RESET, PUT..., SEQ, SYNCED) and then every
	 * change in store order, to fn(arg, ...) until free.  Returns 0, or
	 * -1 with EC_INVALID (damaged), EC_WRITE or EC_REMOTE.
	 */
	int	(*subscribe)(struct store *, store_event_fn *, void *,
		    struct errbuf *);
	/*
	 * Commits changes[0..n) all or nothing, if every expectation still
	 * holds and (when any is a CREATE) the seq counter is still *seq.
	 * 0: committed at *rev (wait for the mirror to reach it);
	 * STORE_CONFLICT: nothing written, the state moved to *rev, decide
	 * again; STORE_SEQ_MOVED: nothing written, the counter moved (other
	 * writers created), to *seq: number the creates from it and commit
	 * again, no need to wait for the mirror (if an identifier moved as
	 * well, that commit is a conflict); -1: EC_REMOTE (outcome unknown)
	 * or EC_WRITE.
	 */
	int	(*commit)(struct store *, const struct store_change *, size_t n,
		    unsigned long *seq, uint64_t *rev, struct errbuf *);
	/*
	 * A revision the mirror must reach to reflect every change
	 * acknowledged anywhere before the call.  0, or -1 with EC_REMOTE.
	 */
	int	(*barrier)(struct store *, uint64_t *rev, struct errbuf *);
	/*
	 * Journal only (NULL elsewhere): replaces everything kept with the
	 * entries next yields, atomically.  0, or -1 with EC_WRITE.
	 */
	int	(*compact)(struct store *, store_next_fn *, void *,
		    struct errbuf *);
	void	(*free)(struct store *);
};

struct store {
	const struct store_ops	*ops;
	size_t			 batch_max;	/* changes per commit */
	/*
	 * Registration bytes per commit (identifier, ip, metadata), or 0 for
	 * the registry's own cap: a batch stops at the change that reaches
	 * it, so a commit holds at most this plus one registration.
	 */
	size_t			 batch_bytes;
	/*
	 * 1 when no one else writes (the journal): the mirror is then the
	 * whole truth, and an identical registration needs no barrier.
	 */
	int			 single_writer;
	/*
	 * Set by the registry before each commit and barrier: when (clock_ms)
	 * its batch is answered 503.  A backend that waits on the network
	 * gives up by then; the journal ignores it.  0: no deadline.
	 */
	uint64_t		 deadline;
	unsigned long		 records;	/* kept, live or superseded */
	unsigned long long	 bytes;		/* kept, as the backend keeps */
};

/*
 * Opens (creating) the journal at path.  Returns a store the caller frees
 * with its ops->free, or NULL with EC_WRITE.
 */
struct store *store_journal_open(const char *path, struct errbuf *);

struct etcd;

/*
 * A store over etcd (keys under its prefix: reg/<id>, seq, gen; see
 * store_etcd.c), e borrowed for the store's life.  subscribe lists and
 * watches from a thread of its own.  Returns NULL with EC_INTERNAL.
 */
struct store *store_etcd_new(struct etcd *e, struct errbuf *);

#endif
