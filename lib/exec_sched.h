/*
 * serve-exec's engine (SPEC 4), without threads, locks or clocks: when the
 * next materializer run is due (bursts of changes coalesced over a
 * debounce with a cap, failed runs retried after a doubling back-off), the
 * cache of settled results by registration set, and the read-your-writes
 * rule that says how a POST /node is answered from the current result.
 * Time is always an argument (milliseconds on any monotonic clock), so a
 * test drives it with a fake clock.  The caller serializes access.
 */
#ifndef CFGSYNC_EXEC_SCHED_H
#define CFGSYNC_EXEC_SCHED_H

#include <stdint.h>

#include "materializer.h"
#include "registry.h"

#define EXEC_SCHED_DEBOUNCE_MS		100	/* --debounce default */
/* A burst runs at most this many debounces after its first change. */
#define EXEC_SCHED_DEBOUNCE_CAP		10
#define EXEC_SCHED_BACKOFF_MIN_MS	1000	/* first retry of a set */
#define EXEC_SCHED_BACKOFF_MAX_MS	30000	/* doubling stops here */
#define EXEC_SCHED_NEVER		UINT64_MAX	/* nothing is due */

/*
 * The scheduler.  Changes are counted by registry generation, never by
 * the order in which their notices arrive: a notice for a generation a run
 * has already covered starts no run and leaves nothing pending.
 */
struct exec_sched {
	unsigned	 debounce_ms;
	unsigned	 backoff_ms;	/* the next retry's delay */
	unsigned long	 noted_gen;	/* newest generation noticed */
	unsigned long	 done_gen;	/* newest generation a run covers */
	uint64_t	 first_ms;	/* first change of the pending burst */
	uint64_t	 last_ms;	/* newest change */
	uint64_t	 retry_ms;	/* when a failed set runs again; 0 */
};

void	exec_sched_init(struct exec_sched *, unsigned debounce_ms);

/*
 * Notes that the registry reached generation at now (a put or a removal,
 * or a registry replayed from its journal).  The generation may be read
 * after the change, even after later ones: only its size matters.
 */
void	exec_sched_changed(struct exec_sched *, unsigned long generation,
	    uint64_t now);

/*
 * When the next run is due: a debounce after the newest pending change,
 * but no later than EXEC_SCHED_DEBOUNCE_CAP debounces after the first
 * one; else the retry time of a failed set; else EXEC_SCHED_NEVER.  A
 * time at or before now means "run now".
 */
uint64_t exec_sched_due(const struct exec_sched *);

/*
 * The caller starts a run: every change noted so far is in hand, so a
 * change noted from here on starts a new burst.
 */
void	exec_sched_start(struct exec_sched *);

/*
 * The run that started last ended at now with outcome, for the snapshot
 * of generation (0 when no snapshot was taken).  A failed or tempfail
 * outcome schedules a retry of the same set after the back-off, which
 * doubles up to EXEC_SCHED_BACKOFF_MAX_MS and starts again from
 * EXEC_SCHED_BACKOFF_MIN_MS for a new set or a settled outcome.
 */
void	exec_sched_finish(struct exec_sched *, unsigned long generation,
	    enum materializer_outcome, uint64_t now);

/*
 * The settled (ready or not ready) results of the last EXEC_CACHE_SLOTS
 * registration sets, by the registry's digest of the set, so a set seen
 * again (A, B, then A) is served without another run.  Values are the
 * caller's: the cache stores and hands them back, and never frees one.
 */
#define EXEC_CACHE_SLOTS	3

struct exec_cache_slot {
	unsigned char		 digest[REGISTRY_DIGEST_LEN];
	enum materializer_outcome outcome;
	void			*value;
	uint64_t		 used;		/* for least recently used */
	int			 valid;
};

struct exec_cache {
	struct exec_cache_slot	 slot[EXEC_CACHE_SLOTS];
	uint64_t		 clock;
};

void	exec_cache_init(struct exec_cache *);

/*
 * Finds the result for digest and marks it used: returns 1 and fills
 * *outcome and *value (still the cache's), or returns 0.
 */
int	exec_cache_find(struct exec_cache *,
	    const unsigned char digest[REGISTRY_DIGEST_LEN],
	    enum materializer_outcome *outcome, void **value);

/*
 * Stores value for digest as the most recently used, in a free slot, the
 * slot digest had, or the least recently used one.  Returns the value it
 * displaced (now the caller's to free), or NULL.
 */
void	*exec_cache_put(struct exec_cache *,
	    const unsigned char digest[REGISTRY_DIGEST_LEN],
	    enum materializer_outcome, void *value);

/*
 * Hands every value to release (when not NULL) and empties the cache.
 */
void	exec_cache_release(struct exec_cache *, void (*release)(void *));

/* How a POST /node is answered. */
enum exec_answer {
	EXEC_ANSWER_WAIT,	/* 425 not_ready; parked if it may wait */
	EXEC_ANSWER_FILES,	/* 200 with the node's files */
	EXEC_ANSWER_MISSING,	/* 404: the ready result leaves it out */
	EXEC_ANSWER_FAILED	/* 500 with the failed run's reason */
};

/* What a POST /node is answered from: the result being served. */
struct exec_result_view {
	unsigned long		 generation;	/* of its snapshot; 0: none */
	enum materializer_outcome outcome;
	int			 has_files;	/* READY names the node */
};

/* Who asks, and since when. */
struct exec_asker {
	/* the generation its current registration made; 0: unregistered */
	unsigned long	 node_generation;
	/* what every change answered when its request came is in */
	unsigned long	 since_generation;
};

/*
 * The read-your-writes rule of SPEC 4: a node is answered from a result
 * whose snapshot holds its current registration and every change answered
 * before its request came (the result's generation is at least both; a
 * result of the current generation always is, unless the node changed
 * since).  Generations, not clocks: with --etcd they are the store's
 * revisions, the same on every instance, so a result another instance
 * published compares as well as one run here.  Otherwise, and while the
 * set is not ready, it waits for the run that is pending or running (up
 * to its ?wait or --hold), and is then answered from that run even if
 * more nodes registered meanwhile: a steady trickle of registrations
 * delays no node by more than about two runs.
 */
enum exec_answer exec_sched_answer(const struct exec_asker *,
	    const struct exec_result_view *);

#endif
