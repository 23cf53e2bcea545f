/*
 * The registration set of serve-exec: every node's latest registration
 * with its first-seen sequence number and time, a generation that moves on
 * each change of the set, and the snapshot document a materializer reads
 * (SPEC 4).  Thread-safe: every function takes the registry's own lock,
 * and none holds it while waiting on the disk.
 *
 * With a store, the store is the authority and the registry its mirror,
 * changed only by the store's events (store.h), whoever made the change:
 * another instance on the same etcd, or this one.  Changes go through one
 * committer thread, by group commit: every change submitted while a
 * commit is on its way (to the disk, to etcd) goes into the next one, so
 * one store commit covers many registrations.  Each is decided from the
 * mirror (identical: no write; new: the next seq; changed: seq and time
 * kept), committed conditionally, decided again on a conflict, tried
 * again while the store is unreachable up to the commit timeout, and
 * answered once the mirror shows it.  Without a store, changes are
 * applied at once by the calling thread.
 */
#ifndef CFGSYNC_REGISTRY_H
#define CFGSYNC_REGISTRY_H

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "buf.h"

struct errbuf;
struct registration;
struct registry;
struct registry_view;
struct store;

#define REGISTRY_DIGEST_LEN	32

/* The most bytes of the document a reader renders ahead: one entry's. */
#define REGISTRY_PIECE_MAX	(SIZE_MAX / 2)

/* The default cap on the bytes of all registrations. */
#define REGISTRY_MAX_BYTES	(256UL << 20)
/* How long a change may wait for the store, by default. */
#define REGISTRY_COMMIT_TIMEOUT_MS	5000U

enum registry_put_result {
	REGISTRY_UNCHANGED,	/* the same content again: nothing to do */
	REGISTRY_CHANGED,	/* added or replaced: a new generation */
	/* past max nodes, or max bytes: refused */
	REGISTRY_FULL,
	REGISTRY_PENDING	/* the outcome comes through done */
};

/*
 * How a change submitted with registry_put_async or registry_remove_async
 * turned out: result is what registry_put or registry_remove returns (on
 * -1, eb says why).  Called exactly once per pending change, on the
 * committer thread, without the registry's lock, after the change is
 * durable and visible (or refused); identifier is borrowed for the call.
 */
typedef void registry_done_fn(void *ctx, void *token, const char *identifier,
    int result, const struct errbuf *eb);

/* What the committer and the mirror did, for /metrics. */
struct registry_stats {
	unsigned long	batches;	/* commits that wrote */
	unsigned long	conflicts;	/* commits refused: decided again */
	unsigned long	resets;		/* listings: 1 at start, resyncs */
	unsigned long	rewinds;	/* listings whose generation fell */
	/* the revision the mirror has applied (the journal's: generation) */
	uint64_t	revision;
	/*
	 * 1 when the mirror is current: no store, or synced with the stream
	 * up; 0 before the first listing and while the stream is down
	 */
	int		current;
};

/*
 * Makes a registry of at most max nodes, and REGISTRY_MAX_BYTES of them,
 * over store (taken; NULL for memory only), subscribing to it: the
 * journal replays what it holds (whatever the caps) before this returns,
 * etcd lists and watches from its own thread.  Returns NULL with
 * EC_INVALID (damaged store), EC_WRITE or EC_INTERNAL.
 */
struct registry *registry_new(size_t max, struct store *, struct errbuf *);

/*
 * Caps the bytes of all registrations (identifiers, ips and metadata) at
 * max: a change that would pass it is REGISTRY_FULL.  Call it before the
 * first change.
 */
void	registry_set_max_bytes(struct registry *, size_t max);

/*
 * How long a change may wait for the store (barrier, commit, retries)
 * before it fails with EC_REMOTE; REGISTRY_COMMIT_TIMEOUT_MS by default.
 */
void	registry_set_commit_timeout(struct registry *, unsigned ms);

/*
 * Calls fn(arg) after every applied change of the set, from wherever it
 * was made, on the thread that applied it (the store's, the committer's,
 * or without a store the caller's), without the registry's lock.  Set it
 * once, before changes start.
 */
void	registry_on_change(struct registry *, void (*fn)(void *), void *arg);

/* Commits what is pending, then frees r.  Accepts NULL. */
void	registry_free(struct registry *);

/*
 * Adds or replaces reg, stamped with now on first sight.  Returns a
 * registry_put_result, or -1 with EC_WRITE (the store failed; nothing
 * changed), EC_REMOTE (the store unreachable past the commit timeout:
 * the change may or may not have been made) or EC_INTERNAL.  Waits for
 * the commit when there is a store.
 */
int	registry_put(struct registry *, const struct registration *,
	    time_t now, struct errbuf *);

/*
 * Like registry_put, without waiting: returns REGISTRY_PENDING when the
 * outcome will come through done(ctx, token, ...), which may run before
 * this returns; any other return is the outcome, and done is not called.
 * reg is copied.
 */
int	registry_put_async(struct registry *, const struct registration *,
	    time_t now, registry_done_fn *done, void *ctx, void *token,
	    struct errbuf *);

/* Removes identifier: 1 removed, 0 unknown, -1 with EC_WRITE. */
int	registry_remove(struct registry *, const char *identifier,
	    struct errbuf *);

/* Like registry_remove as registry_put_async is like registry_put. */
int	registry_remove_async(struct registry *, const char *identifier,
	    registry_done_fn *done, void *ctx, void *token, struct errbuf *);

/* Returns 1 when identifier is registered, else 0. */
int	registry_contains(struct registry *, const char *identifier);

/* What a node's request is answered by, read at once (one lock). */
struct registry_node_state {
	/* registry_generation's */
	unsigned long	generation;
	/*
	 * the generation the node's registration was last changed at, or
	 * one after it no higher than generation (a result of it or later
	 * holds the registration as it is now); 0: not registered
	 */
	unsigned long	node_generation;
	/*
	 * the generation every change answered so far is in: generation,
	 * or with etcd a later one a commit reached when the mirror lags
	 * behind it (a change is answered once the mirror shows it or the
	 * commit timeout passed)
	 */
	unsigned long	committed;
};

void	registry_node_state(struct registry *, const char *identifier,
	    struct registry_node_state *);

/*
 * The current generation (0 before any registration).  It rises on every
 * change of the set; with etcd it is gen's mod_revision, not consecutive.
 */
unsigned long registry_generation(struct registry *);

/*
 * How many times the generation fell: a store whose history went back
 * (etcd restored from a backup) and was listed again.  What was decided
 * by the generations of before (results, schedules) no longer holds.
 */
unsigned long registry_rewinds(struct registry *);

/* Waits until the mirror has applied rev: 0, or -1 on timeout. */
int	registry_wait_applied(struct registry *, uint64_t rev,
	    unsigned timeout_ms);

/* The committer's counters and the mirror's state, read at once. */
void	registry_get_stats(struct registry *, struct registry_stats *);

/* The number of registered nodes. */
size_t	registry_count(struct registry *);

/* The bytes they hold, as max_bytes counts them. */
size_t	registry_bytes(struct registry *);

/*
 * Takes a snapshot of the set: an immutable view holding a reference to
 * each registration (entries are never changed, a change replaces one),
 * sorted bytewise by identifier, with the set's generation, count and a
 * digest of the registrations alone (equal sets, equal digests, whatever
 * the generation).  The lock is held only to copy the references, O(n);
 * the sort and the digest run without it.  Returns the view, which the
 * caller frees with registry_view_free (it may outlive the registry's
 * changes, not the registry), or NULL (out of memory).
 */
struct registry_view *registry_view_take(struct registry *);

/* Drops the view's references and frees it.  Accepts NULL. */
void	registry_view_free(struct registry_view *);

unsigned long registry_view_generation(const struct registry_view *);
size_t	registry_view_count(const struct registry_view *);
/* REGISTRY_DIGEST_LEN bytes, borrowed for the view's life. */
const unsigned char *registry_view_digest(const struct registry_view *);

/*
 * Renders a view's snapshot document (SPEC 4) piece by piece, so a large
 * set is never held whole: registry_reader_read copies the next bytes,
 * rendering one registration at a time into a buffer of its size.  The
 * members are private.
 */
struct registry_reader {
	const struct registry_view *view;	/* borrowed */
	size_t		 next;		/* the next registration */
	int		 started, ended;
	struct buf	 piece;		/* rendered, not all handed out */
	size_t		 off;		/* of piece handed out */
};

/* Starts reading v's document from its first byte; v must outlive rd. */
void	registry_reader_init(struct registry_reader *,
	    const struct registry_view *);

/*
 * Copies up to size next bytes of the document to out.  Returns their
 * number (less than size only at the end), 0 once the document is all
 * read, or -1 (out of memory).
 */
ssize_t	registry_reader_read(struct registry_reader *, char *out,
	    size_t size);

void	registry_reader_release(struct registry_reader *);

/* Appends v's whole document to doc; 0 or -1 (out of memory, or max). */
int	registry_view_render(const struct registry_view *, struct buf *doc);

/*
 * Appends the snapshot document to doc, as registry_view_render does for
 * a view taken now, and returns its generation, count and digest.
 * Returns 0 or -1 (out of memory).
 */
int	registry_snapshot(struct registry *, struct buf *doc,
	    unsigned long *generation, size_t *count,
	    unsigned char digest[REGISTRY_DIGEST_LEN]);

#endif
