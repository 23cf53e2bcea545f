/*
 * The one string->index table of the project (git's hashmap, cut down):
 * it maps NUL-terminated keys to a size_t, usually the key's index in an
 * array the caller owns (registrations, bundle nodes, output directories).
 * Open addressing with linear probing, kept at most half full, and
 * backward-shift deletion, so no tombstones pile up.  Keys are hashed with
 * SipHash-2-4 under a key drawn at random once per process, so names an
 * attacker chooses cannot be made to collide and turn lookups linear.
 *
 * The table keeps its own copy of each key, so the caller's strings may
 * move (arrays of structs holding names are reallocated as they grow).
 */
#ifndef CFGSYNC_STRMAP_H
#define CFGSYNC_STRMAP_H

#include <stddef.h>
#include <stdint.h>

struct strmap_slot;

struct strmap {
	struct strmap_slot	*slots;		/* NULL until the first put */
	size_t			 nslots;	/* 0, or a power of two */
	size_t			 len;		/* keys held */
};

/* The size of a table's first allocation, in slots. */
#define STRMAP_MIN_SLOTS	16

/* Returns the keyed hash of the NUL-terminated string s. */
uint64_t strmap_hash(const char *s);

/* Starts an empty table; it allocates nothing until the first put. */
void	strmap_init(struct strmap *);

/* Frees the table and its keys; it is empty and reusable. */
void	strmap_release(struct strmap *);

/* Returns 1 and stores key's value in *value (if not NULL), or returns 0. */
int	strmap_get(const struct strmap *, const char *key, size_t *value);

/*
 * Maps key (copied) to value, replacing the value of a key already there.
 * Returns 0, or -1 with errno ENOMEM and the table unchanged; replacing
 * never fails.
 */
int	strmap_put(struct strmap *, const char *key, size_t value);

/*
 * Removes key: returns 1 and stores its value in *value (if not NULL), or
 * returns 0 when it was absent.  Never fails and never allocates.
 */
int	strmap_remove(struct strmap *, const char *key, size_t *value);

#endif
