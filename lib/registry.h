/*
 * The registration set of serve-exec: every node's latest registration
 * with its first-seen sequence number and time, a generation that moves on
 * each change of the set, and the snapshot document a materializer reads
 * (SPEC 4).  Thread-safe: every function takes the registry's own lock.
 * Changes reach the store, when there is one, before they are visible.
 */
#ifndef CFGSYNC_REGISTRY_H
#define CFGSYNC_REGISTRY_H

#include <stddef.h>
#include <time.h>

struct buf;
struct errbuf;
struct registration;
struct registry;
struct store;

#define REGISTRY_DIGEST_LEN	32

enum registry_put_result {
	REGISTRY_UNCHANGED,	/* the same content again: nothing to do */
	REGISTRY_CHANGED,	/* added or replaced: a new generation */
	REGISTRY_FULL		/* a new node past max: refused */
};

/*
 * Makes a registry of at most max nodes over store (taken; NULL for memory
 * only), replaying what the store holds.  Returns NULL with EC_INVALID
 * (damaged store), EC_WRITE or EC_INTERNAL.
 */
struct registry *registry_new(size_t max, struct store *, struct errbuf *);
void	registry_free(struct registry *);

/*
 * Adds or replaces reg, stamped with now on first sight.  Returns a
 * registry_put_result, or -1 with EC_WRITE (the store failed; nothing
 * changed) or EC_INTERNAL.
 */
int	registry_put(struct registry *, const struct registration *,
	    time_t now, struct errbuf *);

/* Removes identifier: 1 removed, 0 unknown, -1 with EC_WRITE. */
int	registry_remove(struct registry *, const char *identifier,
	    struct errbuf *);

/* Returns 1 when identifier is registered, else 0. */
int	registry_contains(struct registry *, const char *identifier);

/* The current generation (0 before any registration). */
unsigned long registry_generation(struct registry *);

/* The number of registered nodes. */
size_t	registry_count(struct registry *);

/*
 * Appends the snapshot document to doc, registrations sorted bytewise by
 * identifier, and returns its generation and count, and a digest of the
 * registrations alone (equal sets, equal digests, whatever the generation).
 * Returns 0 or -1 (out of memory).
 */
int	registry_snapshot(struct registry *, struct buf *doc,
	    unsigned long *generation, size_t *count,
	    unsigned char digest[REGISTRY_DIGEST_LEN]);

#endif
