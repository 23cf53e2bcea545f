/*
 * The registration set: see registry.h.  Entries live in an array, found
 * through a strmap of their identifiers, so registering is O(1) however
 * many nodes there are; only a snapshot sorts.  An entry is one immutable,
 * refcounted heap object (identifier, ip and metadata, each NUL-terminated,
 * after a few numbers), so a node costs about its own bytes plus a
 * hundred, and a snapshot (a view) is an array of references to them.
 *
 * With a store, the entries are a mirror: only the store's events change
 * them (apply_event, under the lock, on whichever thread the store
 * delivers from).  Changes go through one committer thread: it takes a
 * batch off the queue (at most one change per identifier), decides each
 * change from the mirror under the lock (when one of them would write
 * nothing, only after a barrier: the mirror must have seen every change
 * acknowledged before), lets go of the lock for the store's conditional
 * commit and goes on with the next batch; an answerer thread answers a
 * committed batch once the mirror has reached the commit's revision (the
 * next batch numbers its creates from the counter the commit left, not
 * the mirror's, until then).  A conflict (someone else wrote first)
 * means deciding again from the newer mirror; an unknown outcome (the
 * store unreachable) means trying again until the commit timeout.
 * Compaction runs on the committer thread too, without the lock: with the
 * journal nothing else writes the entries.
 */
#include "registry.h"

#include <sys/types.h>

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <nettle/sha2.h>

#include "array.h"
#include "buf.h"
#include "clock.h"
#include "diag.h"
#include "errbuf.h"
#include "exitcode.h"
#include "registration.h"
#include "store.h"
#include "strmap.h"
#include "banned.h"

/* Compaction: when superseded records outnumber the live ones, or... */
#define COMPACT_MIN_RECORDS	256
/* ...the store is this large and twice the live records' size. */
#define COMPACT_MIN_BYTES	(1ULL << 20)
/* A journal record's bytes beyond its registration's (about). */
#define RECORD_OVERHEAD		128
/* One batch: at most this many changes (and the store's cap), bytes. */
#define BATCH_MAX		4096
#define BATCH_MAX_BYTES		(8UL << 20)
/*
 * After a conflict, a pause of up to this many ms times the round (up to
 * CONFLICT_PAUSE_ROUNDS), drawn at random: committers racing for the seq
 * counter take turns instead of colliding again in step.
 */
#define CONFLICT_PAUSE_MS	2
#define CONFLICT_PAUSE_ROUNDS	16
/* Between tries while the store is unreachable. */
#define RETRY_MS		100
/*
 * When only the seq counter moved, commits again at once this many times,
 * then with the pauses of a conflict: a committer that keeps losing the
 * race stops adding failed transactions to the store's load.
 */
#define SEQ_RETRIES_AT_ONCE	2

/*
 * A registration as the registry holds it: made whole, never changed,
 * shared by the registry and the snapshots that hold it, and freed with
 * its last reference.  A change replaces an entry by a new one.
 */
struct entry {
	unsigned long	 refs;		/* atomic */
	unsigned long	 seq;
	time_t		 registered_at;
	/*
	 * the store's, for conditions; the generation of its last change,
	 * or a later one no higher than the registry's (a journal compacted
	 * since gives every entry the compaction's)
	 */
	uint64_t	 version;
	unsigned	 mdlen;		/* 0: no metadata */
	unsigned char	 idlen, iplen;
	char		 text[];	/* identifier\0ip\0metadata\0 */
};

/* A change waiting for (or in) a commit. */
struct pending {
	int			 del;
	struct registration	 reg;	/* delete: the identifier only */
	time_t			 now;
	uint64_t		 deadline;	/* ms, clock_ms */
	registry_done_fn	*done;
	void			*ctx, *token;
	int			 rc;	/* decided by the committer */
};

/* The set as it will be once the changes decided so far are applied. */
struct projection {
	size_t		len, bytes;
	unsigned long	counter;
};

struct registry {
	pthread_mutex_t	  lock;
	pthread_cond_t	  wake;		/* the committer waits on it */
	pthread_cond_t	  answered;	/* registry_put waits on it */
	pthread_cond_t	  applied;	/* the mirror moved on */
	struct entry	**entries;	/* unordered; one reference each */
	size_t		  len, cap;
	size_t		  bytes;	/* of the entries, as max_bytes */
	size_t		  max, max_bytes;
	struct strmap	  index;	/* identifier to index into entries */
	unsigned long	  generation;
	/* the highest a commit reached, which the mirror may not show yet */
	unsigned long	  committed;
	unsigned long	  counter;	/* the highest seq given out */
	uint64_t	  revision;	/* the mirror's: applied up to it */
	int		  current;	/* synced and the stream up */
	int		  dirty;	/* the set changed since SYNCED */
	int		  listing;	/* between RESET and SYNCED */
	struct registry_stats stats;
	struct store	 *store;
	unsigned	  commit_timeout_ms;
	void		(*on_change)(void *);
	void		 *on_change_arg;
	/* The queue of pending changes, with a store only. */
	struct pending	 *queue;
	size_t		  qlen, qcap;
	/* The committer's batch and its changes, batch_max each. */
	struct pending	 *batch;
	struct store_change *changes;
	size_t		  batch_max, batch_bytes;
	int		  busy;		/* a batch is in flight */
	/*
	 * The last commit's revision and the seq counter after it: until
	 * the mirror reaches own_rev, the next batch numbers from there.
	 */
	uint64_t	  own_rev;
	unsigned long	  own_counter;
	/* Committed batches waiting for the mirror, oldest first. */
	struct settled	 *settled, **settled_tail;
	pthread_cond_t	  settle;	/* the answerer waits on it */
	int		  stopping;
	int		  committer_done;	/* the answerer may end */
	int		  committer_started, answerer_started;
	pthread_t	  committer, answerer;
};

/* A committed batch, answered once the mirror shows it. */
struct settled {
	struct settled	*next;
	struct pending	*batch;
	size_t		 n;
	uint64_t	 rev, deadline;	/* deadline: ms, clock_ms */
	struct errbuf	 eb;
};

static size_t
reg_size(const struct registration *reg)
{
	return strlen(reg->identifier) + strlen(reg->ip) + reg->metadata_len;
}

static size_t
entry_size(const struct entry *e)
{
	return (size_t)e->idlen + e->iplen + e->mdlen;
}

static const char *
entry_ip(const struct entry *e)
{
	return e->text + e->idlen + 1;
}

static const char *
entry_metadata(const struct entry *e)
{
	return e->text + e->idlen + 1 + e->iplen + 1;
}

static void
entry_hold(struct entry *e)
{
	__atomic_add_fetch(&e->refs, 1, __ATOMIC_RELAXED);
}

/* Drops one reference to e (or nothing, for NULL). */
static void
entry_drop(struct entry *e)
{
	if (e != NULL && __atomic_sub_fetch(&e->refs, 1,
	    __ATOMIC_ACQ_REL) == 0)
		free(e);
}

/*
 * Makes the entry of reg, first seen as seq at registered_at, one
 * reference held, or returns NULL (no memory).
 */
static struct entry *
entry_new(const struct registration *reg, unsigned long seq,
    time_t registered_at)
{
	size_t idlen = strlen(reg->identifier), iplen = strlen(reg->ip);
	struct entry *e;
	char *p;

	if ((e = malloc(sizeof(*e) + idlen + iplen + reg->metadata_len +
	    3)) == NULL)
		return NULL;
	e->refs = 1;
	e->seq = seq;
	e->registered_at = registered_at;
	e->idlen = (unsigned char)idlen;
	e->iplen = (unsigned char)iplen;
	e->mdlen = (unsigned)reg->metadata_len;
	p = e->text;
	memcpy(p, reg->identifier, idlen + 1);
	p += idlen + 1;
	memcpy(p, reg->ip, iplen + 1);
	p += iplen + 1;
	if (reg->metadata_len > 0)
		memcpy(p, reg->metadata, reg->metadata_len);
	p[reg->metadata_len] = '\0';
	return e;
}

static int
entry_equal(const struct entry *e, const struct registration *reg)
{
	return strcmp(e->text, reg->identifier) == 0 &&
	    strcmp(entry_ip(e), reg->ip) == 0 &&
	    e->mdlen == reg->metadata_len &&
	    (e->mdlen == 0 || memcmp(entry_metadata(e), reg->metadata,
	    e->mdlen) == 0);
}

/* Fills v to look like e's registration; v borrows e's metadata. */
static void
entry_view(const struct entry *e, struct registration *v)
{
	memcpy(v->identifier, e->text, (size_t)e->idlen + 1);
	memcpy(v->ip, entry_ip(e), (size_t)e->iplen + 1);
	v->metadata = e->mdlen > 0 ? (char *)entry_metadata(e) : NULL;
	v->metadata_len = e->mdlen;
}

/* The entry of identifier, or NULL. */
static struct entry *
lookup(const struct registry *r, const char *identifier)
{
	size_t i;

	if (!strmap_get(&r->index, identifier, &i))
		return NULL;
	return r->entries[i];
}

/* Removes entries[idx]: out of the index, then swap-remove. */
static void
delete_entry(struct registry *r, size_t idx)
{
	size_t last = r->len - 1;

	(void)strmap_remove(&r->index, r->entries[idx]->text, NULL);
	r->bytes -= entry_size(r->entries[idx]);
	entry_drop(r->entries[idx]);
	if (idx != last) {
		r->entries[idx] = r->entries[last];
		/* Replacing a key's value never fails. */
		(void)strmap_put(&r->index, r->entries[idx]->text, idx);
	}
	r->len--;
}

static void
delete_all(struct registry *r)
{
	size_t i;

	for (i = 0; i < r->len; i++)
		entry_drop(r->entries[i]);
	r->len = 0;
	r->bytes = 0;
	strmap_release(&r->index);
	strmap_init(&r->index);
}

/*
 * Adds or replaces an entry by a new one (snapshots keep the old one).
 * Lock held.  0, or -1 (no memory).
 */
static int
apply_put(struct registry *r, const struct store_entry *se)
{
	struct entry *e;
	size_t i;

	if ((e = entry_new(se->reg, se->seq, se->registered_at)) == NULL)
		return -1;
	e->version = se->version;
	if (strmap_get(&r->index, se->reg->identifier, &i)) {
		r->bytes -= entry_size(r->entries[i]);
		entry_drop(r->entries[i]);
	} else {
		if (ARRAY_GROW(r->entries, r->len + 1, r->cap) == -1 ||
		    strmap_put(&r->index, se->reg->identifier, r->len) == -1) {
			entry_drop(e);
			return -1;
		}
		i = r->len++;
	}
	r->entries[i] = e;
	r->bytes += entry_size(e);
	if (se->seq > r->counter)
		r->counter = se->seq;
	return 0;
}

static void
apply_delete(struct registry *r, const char *identifier)
{
	size_t i;

	if (strmap_get(&r->index, identifier, &i))
		delete_entry(r, i);
}

/*
 * The store's events: the only way entries change when there is a store.
 * On the store's thread (or the committer's, for the journal); calls the
 * change hook after the lock is let go.
 */
static void
apply_event(void *arg, const struct store_event *ev)
{
	struct registry *r = arg;
	void (*fn)(void *) = NULL;
	void *fnarg = NULL;

	pthread_mutex_lock(&r->lock);
	switch (ev->kind) {
	case STORE_EV_RESET:
		if (r->len > 0)
			r->dirty = 1;
		delete_all(r);
		r->counter = 0;
		r->revision = 0;	/* a listing follows: not applied yet */
		r->own_rev = 0;		/* the listing says what is there */
		r->current = 0;
		r->listing = 1;
		r->stats.resets++;
		break;
	case STORE_EV_PUT:
		if (apply_put(r, ev->entry) == -1)
			diag_warn("registry: out of memory applying %s",
			    ev->entry->reg->identifier);
		r->dirty = 1;
		break;
	case STORE_EV_DELETE:
		apply_delete(r, ev->identifier);
		r->dirty = 1;
		break;
	case STORE_EV_SEQ:
		r->counter = ev->seq;
		break;
	case STORE_EV_SYNCED:
		if (ev->generation < r->generation) {
			/*
			 * The store's history went back (etcd restored from
			 * a backup): no commit of the later generations is
			 * in it any more.
			 */
			r->stats.rewinds++;
			r->committed = (unsigned long)ev->generation;
		}
		r->revision = ev->revision;
		if (ev->generation != r->generation)
			r->dirty = 1;
		r->generation = (unsigned long)ev->generation;
		r->current = 1;
		r->listing = 0;
		if (r->dirty) {
			fn = r->on_change;
			fnarg = r->on_change_arg;
		}
		r->dirty = 0;
		pthread_cond_broadcast(&r->applied);
		break;
	case STORE_EV_DOWN:
		r->current = 0;
		break;
	}
	pthread_mutex_unlock(&r->lock);
	if (fn != NULL)
		fn(fnarg);
}

/*
 * Decides p against the mirror and what the batch decided before it (pj),
 * and fills c when it changes the set: returns what registry_put (or
 * registry_remove) answers.  Lock held.
 */
static int
decide(const struct registry *r, const struct pending *p,
    struct projection *pj, struct store_change *c, int *changes)
{
	const struct entry *e = lookup(r, p->reg.identifier);
	size_t newsize, oldsize;

	*changes = 0;
	memset(c, 0, sizeof(*c));
	c->identifier = p->reg.identifier;
	if (p->del) {
		if (e == NULL)
			return 0;
		pj->len--;
		pj->bytes -= entry_size(e);
		c->kind = STORE_DELETE;
		c->expect = e->version;
		*changes = 1;
		return 1;
	}
	if (e != NULL && entry_equal(e, &p->reg))
		return REGISTRY_UNCHANGED;
	if (e == NULL && pj->len >= r->max)
		return REGISTRY_FULL;
	newsize = reg_size(&p->reg);
	oldsize = e != NULL ? entry_size(e) : 0;
	if (newsize > oldsize && pj->bytes + (newsize - oldsize) >
	    r->max_bytes)
		return REGISTRY_FULL;
	pj->len += e == NULL;
	pj->bytes = pj->bytes - oldsize + newsize;
	c->entry.reg = &p->reg;
	if (e != NULL) {
		c->kind = STORE_REPLACE;
		c->expect = e->version;
		c->entry.seq = e->seq;
		c->entry.registered_at = e->registered_at;
	} else {
		c->kind = STORE_CREATE;
		c->entry.seq = ++pj->counter;
		c->entry.registered_at = p->now;
	}
	*changes = 1;
	return REGISTRY_CHANGED;
}

static void
project(const struct registry *r, struct projection *pj)
{
	pj->len = r->len;
	pj->bytes = r->bytes;
	pj->counter = r->counter;
}

/* Whether p, as decided, changes the set. */
static int
changes_set(const struct pending *p)
{
	return p->del ? p->rc == 1 : p->rc == REGISTRY_CHANGED;
}

/* Walks the entries for the store's compact. */
struct walk {
	const struct registry	*r;
	size_t			 i;
	struct registration	 view;
};

static int
walk_next(void *arg, struct store_entry *se)
{
	struct walk *w = arg;
	const struct entry *e;

	if (w->i >= w->r->len)
		return 0;
	e = w->r->entries[w->i++];
	entry_view(e, &w->view);
	memset(se, 0, sizeof(*se));
	se->seq = e->seq;
	se->registered_at = e->registered_at;
	se->version = e->version;
	se->reg = &w->view;
	return 1;
}

/*
 * Whether the store is large against what it must hold: superseded
 * records outnumber live ones, or its bytes are past twice the live
 * records' (so the journal stays within a small multiple of the live
 * bytes, themselves within max_bytes).
 */
static int
needs_compaction(const struct registry *r)
{
	const struct store *s = r->store;
	unsigned long long live;

	if (s == NULL || s->ops->compact == NULL)
		return 0;
	live = (unsigned long long)r->bytes +
	    (unsigned long long)r->len * RECORD_OVERHEAD;
	return (s->records > COMPACT_MIN_RECORDS && s->records > 2 * r->len) ||
	    (s->bytes > COMPACT_MIN_BYTES && s->bytes > 2 * live);
}

/*
 * Rewrites the store with one record per live entry.  Runs where nothing
 * else changes the entries (the committer, or before it starts, with the
 * journal) and without the lock: readers only read.
 */
static int
compact(struct registry *r, struct errbuf *eb)
{
	struct walk w;

	memset(&w, 0, sizeof(w));
	w.r = r;
	return r->store->ops->compact(r->store, walk_next, &w, eb);
}

/*
 * Takes the next batch off the queue into batch (which has room for
 * batch_max): changes in arrival order, up to the first whose identifier
 * is already in the batch.  Lock held.  Returns the batch's length.
 */
static size_t
take_batch(struct registry *r, struct pending *batch, struct strmap *seen)
{
	const char *id;
	size_t n = 0, bytes = 0;

	while (n < r->qlen && n < r->batch_max && bytes < r->batch_bytes) {
		id = r->queue[n].reg.identifier;
		if (strmap_get(seen, id, NULL))
			break;
		if (strmap_put(seen, id, n) == -1) {
			if (n == 0)
				n = 1;	/* alone, it needs no set */
			break;
		}
		bytes += reg_size(&r->queue[n].reg);
		n++;
	}
	memcpy(batch, r->queue, n * sizeof(*batch));
	memmove(r->queue, r->queue + n, (r->qlen - n) * sizeof(*r->queue));
	r->qlen -= n;
	strmap_release(seen);
	return n;
}

/*
 * Waits until the mirror has applied rev, or deadline (clock_ms) passed,
 * or the registry stops.  Lock held.  0 or -1.
 */
static int
wait_rev(struct registry *r, uint64_t rev, uint64_t deadline)
{
	struct timespec ts;

	ts = clock_deadline(deadline * 1000000ULL);
	while (r->revision < rev && !r->stopping) {
		if (clock_ms() >= deadline)
			return -1;
		(void)pthread_cond_timedwait(&r->applied, &r->lock, &ts);
	}
	return r->revision >= rev ? 0 : -1;
}

/* Answers and frees the batch.  Lock not held. */
static void
answer_batch(struct pending *batch, size_t n, const struct errbuf *eb)
{
	size_t i;

	for (i = 0; i < n; i++) {
		batch[i].done(batch[i].ctx, batch[i].token,
		    batch[i].reg.identifier, batch[i].rc, eb);
		registration_release(&batch[i].reg);
	}
}

/* Marks every change of the batch failed. */
static void
fail_batch(struct pending *batch, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (changes_set(&batch[i]))
			batch[i].rc = -1;
}

/* A random pause of up to CONFLICT_PAUSE_MS ms a round. */
static void
conflict_pause(int rounds)
{
	static _Thread_local uint64_t x;
	struct timespec ts;
	uint64_t us;

	if (x == 0)
		x = clock_ms() ^ ((uint64_t)(uintptr_t)&ts << 16) ^ 1;
	x ^= x << 13;		/* xorshift64: no quality needed, no lock */
	x ^= x >> 7;
	x ^= x << 17;
	if (rounds > CONFLICT_PAUSE_ROUNDS)
		rounds = CONFLICT_PAUSE_ROUNDS;
	us = x % ((uint64_t)rounds * CONFLICT_PAUSE_MS * 1000 + 1);
	ts.tv_sec = 0;
	ts.tv_nsec = (long)us * 1000;
	nanosleep(&ts, NULL);
}

/*
 * Numbers the creates of changes[0..n) from counter on, in their order:
 * other writers took the numbers they were decided with.
 */
static void
renumber(struct store_change *changes, size_t n, unsigned long counter)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (changes[i].kind == STORE_CREATE)
			changes[i].entry.seq = ++counter;
}

/*
 * Runs one batch to its outcome: decisions from the mirror (again after a
 * barrier when one of them writes nothing), a conditional commit (again
 * at once, renumbered, when only the seq counter moved), decided again on
 * a conflict or an unknown outcome, until it is committed, refused or past
 * its deadline.  Lock not held; eb says
 * why when some rc is -1.
 */
static uint64_t
run_batch(struct registry *r, struct pending *batch, size_t n,
    struct errbuf *eb)
{
	struct store *s = r->store;
	struct projection pj;
	struct timespec pause = { 0, RETRY_MS * 1000000L };
	unsigned long expect_seq;
	uint64_t rev = 0, deadline = batch[0].deadline;
	size_t i, k;
	int rc, ch, rounds = 0, barrier = 0, fresh = 0;

	memset(eb, 0, sizeof(*eb));
	for (;;) {
		s->deadline = deadline;
		if (barrier) {
			if (s->ops->barrier(s, &rev, eb) == -1)
				goto unknown;
			barrier = 0;
			fresh = 1;
		}
		pthread_mutex_lock(&r->lock);
		if (wait_rev(r, rev, deadline) == -1) {
			pthread_mutex_unlock(&r->lock);
			if (rounds > 0) {
				/* Lost races, then no time left to catch up. */
				errbuf_set(eb, EC_REMOTE, "registration store: "
				    "%d conflicts in a row until the commit "
				    "timeout", rounds);
				fail_batch(batch, n);
				return 0;
			}
			errbuf_set(eb, EC_REMOTE, "the mirror is behind the "
			    "store (revision %llu)", (unsigned long long)rev);
			goto unknown;
		}
		project(r, &pj);
		if (r->revision < r->own_rev && r->own_counter > pj.counter)
			pj.counter = r->own_counter;
		expect_seq = pj.counter;
		for (i = k = 0; i < n; i++) {
			batch[i].rc = decide(r, &batch[i], &pj, &r->changes[k],
			    &ch);
			k += ch;
		}
		pthread_mutex_unlock(&r->lock);
		/*
		 * A change is committed only if what it was decided against
		 * still holds, so a stale mirror costs a conflict at worst;
		 * a decision to write nothing (identical, absent, full) needs
		 * a mirror that has seen every change acknowledged before.
		 */
		if (k < n && !fresh) {
			barrier = 1;
			continue;
		}
		if (k == 0)
			return 0;
		while ((rc = s->ops->commit(s, r->changes, k, &expect_seq, &rev,
		    eb)) == STORE_SEQ_MOVED && clock_ms() < deadline &&
		    !r->stopping) {
			pthread_mutex_lock(&r->lock);
			r->stats.conflicts++;
			pthread_mutex_unlock(&r->lock);
			if (++rounds > SEQ_RETRIES_AT_ONCE)
				conflict_pause(rounds - SEQ_RETRIES_AT_ONCE);
			renumber(r->changes, k, expect_seq);
		}
		if (rc == 0) {
			pthread_mutex_lock(&r->lock);
			r->stats.batches++;
			r->own_rev = rev;
			r->own_counter = expect_seq;
			for (i = 0; i < k; i++)
				r->own_counter += r->changes[i].kind ==
				    STORE_CREATE;
			pthread_mutex_unlock(&r->lock);
			return rev;
		}
		if (rc == STORE_CONFLICT || rc == STORE_SEQ_MOVED) {
			pthread_mutex_lock(&r->lock);
			r->stats.conflicts++;
			pthread_mutex_unlock(&r->lock);
			if (clock_ms() >= deadline || r->stopping) {
				errbuf_set(eb, EC_REMOTE, "registration store: "
				    "%d conflicts in a row until the commit "
				    "timeout", rounds + 1);
				fail_batch(batch, n);
				return 0;
			}
			conflict_pause(++rounds);
			fresh = 1;	/* the mirror reaches the failure's rev */
			continue;
		}
		if (eb->code != EC_REMOTE) {
			fail_batch(batch, n);
			return 0;
		}
unknown:
		if (clock_ms() >= deadline || r->stopping) {
			errbuf_prefix(eb, "registration store unreachable");
			eb->code = EC_REMOTE;
			for (i = 0; i < n; i++)
				batch[i].rc = -1;
			return 0;
		}
		nanosleep(&pause, NULL);
		barrier = 1;	/* a lost answer's write may show as its own */
	}
}

/*
 * Hands a committed batch the mirror has not reached yet to the answerer,
 * so the committer goes on with the next one.  Lock held.  0, or -1 when
 * out of memory (the caller waits and answers itself).
 */
static int
settle(struct registry *r, const struct pending *batch, size_t n,
    uint64_t rev, const struct errbuf *eb)
{
	struct settled *s;

	if ((s = calloc(1, sizeof(*s))) == NULL ||
	    (s->batch = malloc(n * sizeof(*batch))) == NULL) {
		free(s);
		return -1;
	}
	memcpy(s->batch, batch, n * sizeof(*batch));
	s->n = n;
	s->rev = rev;
	s->deadline = clock_ms() + r->commit_timeout_ms;
	s->eb = *eb;
	*r->settled_tail = s;
	r->settled_tail = &s->next;
	pthread_cond_signal(&r->settle);
	return 0;
}

/* Answers committed batches once the mirror shows them. */
static void *
answerer(void *arg)
{
	struct registry *r = arg;
	struct settled *s;

	pthread_mutex_lock(&r->lock);
	for (;;) {
		while (r->settled == NULL && !r->committer_done)
			pthread_cond_wait(&r->settle, &r->lock);
		if ((s = r->settled) == NULL)
			break;
		/* Committed: answered even if the mirror is slow. */
		(void)wait_rev(r, s->rev, s->deadline);
		if ((r->settled = s->next) == NULL)
			r->settled_tail = &r->settled;
		pthread_mutex_unlock(&r->lock);
		answer_batch(s->batch, s->n, &s->eb);
		free(s->batch);
		free(s);
		pthread_mutex_lock(&r->lock);
	}
	pthread_mutex_unlock(&r->lock);
	return NULL;
}

static void *
committer(void *arg)
{
	struct registry *r = arg;
	struct pending *batch = r->batch;
	struct strmap seen;
	struct errbuf eb;
	uint64_t rev;
	size_t n;

	strmap_init(&seen);
	pthread_mutex_lock(&r->lock);
	for (;;) {
		while (r->qlen == 0 && !r->stopping)
			pthread_cond_wait(&r->wake, &r->lock);
		if (r->qlen == 0)
			break;
		n = take_batch(r, batch, &seen);
		r->busy = 1;
		pthread_mutex_unlock(&r->lock);
		rev = run_batch(r, batch, n, &eb);
		pthread_mutex_lock(&r->lock);
		r->busy = 0;
		if (rev > r->committed)
			r->committed = (unsigned long)rev;
		if (rev > r->revision) {
			if (settle(r, batch, n, rev, &eb) == 0)
				goto next;
			(void)wait_rev(r, rev, clock_ms() +
			    r->commit_timeout_ms);
		}
		pthread_mutex_unlock(&r->lock);
		answer_batch(batch, n, &eb);
		if (needs_compaction(r) && compact(r, &eb) == -1)
			diag_warn("journal: compaction failed: %s", eb.msg);
		pthread_mutex_lock(&r->lock);
next:	;
	}
	pthread_mutex_unlock(&r->lock);
	strmap_release(&seen);
	return NULL;
}

struct registry *
registry_new(size_t max, struct store *store, struct errbuf *eb)
{
	struct registry *r;

	if ((r = calloc(1, sizeof(*r))) == NULL) {
		if (store != NULL)
			store->ops->free(store);
		errbuf_set(eb, EC_INTERNAL, "out of memory");
		return NULL;
	}
	pthread_mutex_init(&r->lock, NULL);
	pthread_cond_init(&r->wake, NULL);
	pthread_cond_init(&r->answered, NULL);
	pthread_cond_init(&r->settle, NULL);
	(void)clock_cond_init(&r->applied);
	r->settled_tail = &r->settled;
	r->max = max;
	r->max_bytes = REGISTRY_MAX_BYTES;
	r->commit_timeout_ms = REGISTRY_COMMIT_TIMEOUT_MS;
	r->store = store;
	strmap_init(&r->index);
	if (store == NULL) {
		r->current = 1;
		return r;
	}
	r->batch_max = store->batch_max > 0 && store->batch_max < BATCH_MAX ?
	    store->batch_max : BATCH_MAX;
	r->batch_bytes = store->batch_bytes > 0 &&
	    store->batch_bytes < BATCH_MAX_BYTES ? store->batch_bytes :
	    BATCH_MAX_BYTES;
	if ((r->batch = calloc(r->batch_max, sizeof(*r->batch))) == NULL ||
	    (r->changes = calloc(r->batch_max, sizeof(*r->changes))) ==
	    NULL) {
		errbuf_set(eb, EC_INTERNAL, "out of memory");
		goto fail;
	}
	if (store->ops->subscribe(store, apply_event, r, eb) == -1)
		goto fail;
	if (needs_compaction(r) && compact(r, eb) == -1)
		goto fail;
	if (pthread_create(&r->answerer, NULL, answerer, r) != 0) {
		errbuf_set(eb, EC_INTERNAL, "cannot start a thread");
		goto fail;
	}
	r->answerer_started = 1;
	if (pthread_create(&r->committer, NULL, committer, r) != 0) {
		errbuf_set(eb, EC_INTERNAL, "cannot start a thread");
		goto fail;
	}
	r->committer_started = 1;
	return r;
fail:
	registry_free(r);
	return NULL;
}

void
registry_set_max_bytes(struct registry *r, size_t max)
{
	pthread_mutex_lock(&r->lock);
	r->max_bytes = max;
	pthread_mutex_unlock(&r->lock);
}

void
registry_set_commit_timeout(struct registry *r, unsigned ms)
{
	pthread_mutex_lock(&r->lock);
	r->commit_timeout_ms = ms;
	pthread_mutex_unlock(&r->lock);
}

void
registry_on_change(struct registry *r, void (*fn)(void *), void *arg)
{
	pthread_mutex_lock(&r->lock);
	r->on_change = fn;
	r->on_change_arg = arg;
	pthread_mutex_unlock(&r->lock);
}

void
registry_free(struct registry *r)
{
	if (r == NULL)
		return;
	if (r->committer_started) {
		pthread_mutex_lock(&r->lock);
		r->stopping = 1;
		pthread_cond_signal(&r->wake);
		pthread_cond_broadcast(&r->applied);
		pthread_mutex_unlock(&r->lock);
		pthread_join(r->committer, NULL);
	}
	if (r->answerer_started) {
		pthread_mutex_lock(&r->lock);
		r->committer_done = 1;
		pthread_cond_signal(&r->settle);
		pthread_mutex_unlock(&r->lock);
		pthread_join(r->answerer, NULL);
	}
	/* The store's thread, if any, stops here: no event after it. */
	if (r->store != NULL)
		r->store->ops->free(r->store);
	delete_all(r);
	free(r->entries);
	free(r->queue);
	free(r->batch);
	free(r->changes);
	strmap_release(&r->index);
	pthread_cond_destroy(&r->applied);
	pthread_cond_destroy(&r->answered);
	pthread_cond_destroy(&r->settle);
	pthread_cond_destroy(&r->wake);
	pthread_mutex_destroy(&r->lock);
	free(r);
}

/* Applies a decided change without a store.  Lock held.  0 or -1. */
static int
apply_memory(struct registry *r, const struct store_change *c)
{
	struct store_entry e;

	if (c->kind == STORE_DELETE)
		apply_delete(r, c->identifier);
	else {
		/* As the journal's: the generation of its last change. */
		e = c->entry;
		e.version = r->generation + 1;
		if (apply_put(r, &e) == -1)
			return -1;
	}
	r->generation++;
	return 0;
}

/*
 * Submits p (taken): decided and applied at once without a store, else
 * queued for the committer (but answered at once when a single writer's
 * mirror already shows it makes no change).  Lock held.  *notify: call
 * the change hook once the lock is let go.
 */
static int
submit(struct registry *r, struct pending *p, int *notify, struct errbuf *eb)
{
	struct projection pj;
	struct store_change c;
	int rc, ch;

	if (r->store == NULL || (r->store->single_writer && r->qlen == 0 &&
	    !r->busy)) {
		/* Nothing in flight: memory alone decides. */
		project(r, &pj);
		rc = p->rc = decide(r, p, &pj, &c, &ch);
		if (r->store == NULL && ch) {
			if (apply_memory(r, &c) == -1)
				rc = errbuf_set(eb, EC_INTERNAL,
				    "out of memory");
			else
				*notify = r->on_change != NULL;
			registration_release(&p->reg);
			return rc;
		}
		if (!ch) {
			registration_release(&p->reg);
			return rc;
		}
	}
	if (ARRAY_GROW(r->queue, r->qlen + 1, r->qcap) == -1) {
		registration_release(&p->reg);
		return errbuf_set(eb, EC_INTERNAL, "out of memory");
	}
	p->deadline = clock_ms() + r->commit_timeout_ms;
	r->queue[r->qlen++] = *p;
	pthread_cond_signal(&r->wake);
	return REGISTRY_PENDING;
}

int
registry_put_async(struct registry *r, const struct registration *reg,
    time_t now, registry_done_fn *done, void *ctx, void *token,
    struct errbuf *eb)
{
	struct pending p;
	int rc, notify = 0;

	memset(&p, 0, sizeof(p));
	p.now = now;
	p.done = done;
	p.ctx = ctx;
	p.token = token;
	if (registration_copy(&p.reg, reg) == -1)
		return errbuf_set(eb, EC_INTERNAL, "out of memory");
	pthread_mutex_lock(&r->lock);
	rc = submit(r, &p, &notify, eb);
	pthread_mutex_unlock(&r->lock);
	if (notify)
		r->on_change(r->on_change_arg);
	return rc;
}

int
registry_remove_async(struct registry *r, const char *identifier,
    registry_done_fn *done, void *ctx, void *token, struct errbuf *eb)
{
	struct pending p;
	int n, rc, notify = 0;

	memset(&p, 0, sizeof(p));
	p.del = 1;
	p.done = done;
	p.ctx = ctx;
	p.token = token;
	n = snprintf(p.reg.identifier, sizeof(p.reg.identifier), "%s",
	    identifier);
	if (n < 0 || (size_t)n >= sizeof(p.reg.identifier))
		return 0;	/* too long to be registered */
	pthread_mutex_lock(&r->lock);
	rc = submit(r, &p, &notify, eb);
	pthread_mutex_unlock(&r->lock);
	if (notify)
		r->on_change(r->on_change_arg);
	return rc;
}

/* What registry_put waits on. */
struct waiter {
	int		 done;
	int		 rc;
	struct errbuf	*eb;
};

static void
wait_done(void *ctx, void *token, const char *identifier, int rc,
    const struct errbuf *eb)
{
	struct registry *r = ctx;
	struct waiter *w = token;

	(void)identifier;
	pthread_mutex_lock(&r->lock);
	w->rc = rc;
	if (rc == -1)
		*w->eb = *eb;
	w->done = 1;
	pthread_cond_broadcast(&r->answered);
	pthread_mutex_unlock(&r->lock);
}

/* Waits for a change submitted with wait_done and w. */
static int
wait_for(struct registry *r, struct waiter *w, int rc)
{
	if (rc != REGISTRY_PENDING)
		return rc;
	pthread_mutex_lock(&r->lock);
	while (!w->done)
		pthread_cond_wait(&r->answered, &r->lock);
	pthread_mutex_unlock(&r->lock);
	return w->rc;
}

int
registry_put(struct registry *r, const struct registration *reg, time_t now,
    struct errbuf *eb)
{
	struct waiter w = { 0, 0, eb };

	return wait_for(r, &w, registry_put_async(r, reg, now, wait_done, r,
	    &w, eb));
}

int
registry_remove(struct registry *r, const char *identifier,
    struct errbuf *eb)
{
	struct waiter w = { 0, 0, eb };

	return wait_for(r, &w, registry_remove_async(r, identifier,
	    wait_done, r, &w, eb));
}

int
registry_wait_applied(struct registry *r, uint64_t rev, unsigned timeout_ms)
{
	int rc;

	pthread_mutex_lock(&r->lock);
	rc = wait_rev(r, rev, clock_ms() + timeout_ms);
	pthread_mutex_unlock(&r->lock);
	return rc;
}

void
registry_get_stats(struct registry *r, struct registry_stats *st)
{
	pthread_mutex_lock(&r->lock);
	*st = r->stats;
	st->revision = r->revision;
	st->current = r->current;
	pthread_mutex_unlock(&r->lock);
}

int
registry_contains(struct registry *r, const char *identifier)
{
	int found;

	pthread_mutex_lock(&r->lock);
	found = lookup(r, identifier) != NULL;
	pthread_mutex_unlock(&r->lock);
	return found;
}

void
registry_node_state(struct registry *r, const char *identifier,
    struct registry_node_state *ns)
{
	const struct entry *e;

	pthread_mutex_lock(&r->lock);
	e = lookup(r, identifier);
	ns->generation = r->generation;
	ns->node_generation = e != NULL ? (unsigned long)e->version : 0;
	ns->committed = r->generation > r->committed ? r->generation :
	    r->committed;
	pthread_mutex_unlock(&r->lock);
}

unsigned long
registry_rewinds(struct registry *r)
{
	unsigned long n;

	pthread_mutex_lock(&r->lock);
	n = r->stats.rewinds;
	pthread_mutex_unlock(&r->lock);
	return n;
}

unsigned long
registry_generation(struct registry *r)
{
	unsigned long g;

	pthread_mutex_lock(&r->lock);
	g = r->generation;
	pthread_mutex_unlock(&r->lock);
	return g;
}

size_t
registry_count(struct registry *r)
{
	size_t n;

	pthread_mutex_lock(&r->lock);
	n = r->len;
	pthread_mutex_unlock(&r->lock);
	return n;
}

size_t
registry_bytes(struct registry *r)
{
	size_t n;

	pthread_mutex_lock(&r->lock);
	n = r->bytes;
	pthread_mutex_unlock(&r->lock);
	return n;
}

static int
cmp_entries(const void *a, const void *b)
{
	const struct entry *const *x = a, *const *y = b;

	return strcmp((*x)->text, (*y)->text);
}

struct registry_view {
	unsigned long	  generation;
	size_t		  count;
	unsigned char	  digest[REGISTRY_DIGEST_LEN];
	struct entry	**entries;	/* sorted; one reference each */
};

/* Adds n to ctx as 8 bytes, little-endian: the digest's fixed widths. */
static void
digest_u64(struct sha256_ctx *ctx, uint64_t n)
{
	uint8_t b[8];
	int i;

	for (i = 0; i < 8; i++)
		b[i] = (uint8_t)(n >> (8 * i));
	sha256_update(ctx, sizeof(b), b);
}

/*
 * The digest of the view's registrations: every member the document
 * renders (identifier, ip, metadata, seq, registration time), each
 * length-prefixed, so equal sets have equal digests and unequal ones
 * differ, whatever the generation.
 */
static void
view_digest(struct registry_view *v)
{
	struct sha256_ctx ctx;
	const struct entry *e;
	size_t i;

	sha256_init(&ctx);
	digest_u64(&ctx, v->count);
	for (i = 0; i < v->count; i++) {
		e = v->entries[i];
		digest_u64(&ctx, e->idlen);
		digest_u64(&ctx, e->iplen);
		digest_u64(&ctx, e->mdlen);
		sha256_update(&ctx, (size_t)e->idlen + e->iplen + e->mdlen + 3,
		    (const uint8_t *)e->text);
		digest_u64(&ctx, e->seq);
		digest_u64(&ctx, (uint64_t)(int64_t)e->registered_at);
	}
	sha256_digest(&ctx, REGISTRY_DIGEST_LEN, v->digest);
}

/*
 * Copies the entry pointers, holding each, under the lock just long
 * enough for that: sorting and digesting run without it, so a snapshot
 * of a large set does not stall registrations.
 */
struct registry_view *
registry_view_take(struct registry *r)
{
	struct registry_view *v;
	size_t i;

	if ((v = calloc(1, sizeof(*v))) == NULL)
		return NULL;
	pthread_mutex_lock(&r->lock);
	/*
	 * Never half a listing: a store hands one on whole (RESET to
	 * SYNCED without waiting on anything), so this wait is short.
	 */
	while (r->listing && !r->stopping)
		pthread_cond_wait(&r->applied, &r->lock);
	if (r->len > 0 && (v->entries = calloc(r->len,
	    sizeof(*v->entries))) == NULL) {
		pthread_mutex_unlock(&r->lock);
		free(v);
		return NULL;
	}
	v->count = r->len;
	v->generation = r->generation;
	for (i = 0; i < v->count; i++) {
		v->entries[i] = r->entries[i];
		entry_hold(v->entries[i]);
	}
	pthread_mutex_unlock(&r->lock);
	if (v->count > 1)
		qsort(v->entries, v->count, sizeof(*v->entries), cmp_entries);
	view_digest(v);
	return v;
}

void
registry_view_free(struct registry_view *v)
{
	size_t i;

	if (v == NULL)
		return;
	for (i = 0; i < v->count; i++)
		entry_drop(v->entries[i]);
	free(v->entries);
	free(v);
}

unsigned long
registry_view_generation(const struct registry_view *v)
{
	return v->generation;
}

size_t
registry_view_count(const struct registry_view *v)
{
	return v->count;
}

const unsigned char *
registry_view_digest(const struct registry_view *v)
{
	return v->digest;
}

void
registry_reader_init(struct registry_reader *rd,
    const struct registry_view *v)
{
	memset(rd, 0, sizeof(*rd));
	rd->view = v;
	buf_init(&rd->piece, REGISTRY_PIECE_MAX);
}

void
registry_reader_release(struct registry_reader *rd)
{
	buf_release(&rd->piece);
}

/* Renders the next piece of the document into rd->piece; 0 or -1. */
static int
reader_fill(struct registry_reader *rd)
{
	const struct registry_view *v = rd->view;
	const struct entry *e;
	struct registration view;
	char when[CLOCK_UTC_LEN];

	buf_reset(&rd->piece);
	rd->off = 0;
	if (rd->next == 0 && !rd->started) {
		rd->started = 1;
		return buf_addf(&rd->piece, "{\"schema_version\":1,"
		    "\"generation\":%lu,\"registrations\":[", v->generation);
	}
	if (rd->next < v->count) {
		e = v->entries[rd->next];
		clock_utc(e->registered_at, when);
		entry_view(e, &view);
		/* The registration's own members, then seq and time. */
		if ((rd->next > 0 && buf_addc(&rd->piece, ',') == -1) ||
		    buf_addc(&rd->piece, '{') == -1 ||
		    registration_render_members(&rd->piece, &view) == -1 ||
		    buf_addf(&rd->piece, ",\"seq\":%lu,\"registered_at\":"
		    "\"%s\"}", e->seq, when) == -1)
			return -1;
		rd->next++;
		return 0;
	}
	if (!rd->ended) {
		rd->ended = 1;
		return buf_adds(&rd->piece, "]}");
	}
	return 0;
}

ssize_t
registry_reader_read(struct registry_reader *rd, char *out, size_t size)
{
	size_t n = 0, k;

	while (n < size) {
		if (rd->off == rd->piece.len) {
			if (reader_fill(rd) == -1)
				return -1;
			if (rd->piece.len == 0)
				break;		/* the end */
		}
		k = rd->piece.len - rd->off;
		if (k > size - n)
			k = size - n;
		memcpy(out + n, rd->piece.data + rd->off, k);
		n += k;
		rd->off += k;
	}
	return (ssize_t)n;
}

int
registry_view_render(const struct registry_view *v, struct buf *doc)
{
	struct registry_reader rd;
	int rc = 0;

	/* Piece by piece straight into doc, without a chunk between. */
	registry_reader_init(&rd, v);
	do {
		if (reader_fill(&rd) == -1 ||
		    buf_add(doc, rd.piece.data, rd.piece.len) == -1)
			rc = -1;
	} while (rc == 0 && rd.piece.len > 0);
	registry_reader_release(&rd);
	return rc;
}

int
registry_snapshot(struct registry *r, struct buf *doc,
    unsigned long *generation, size_t *count,
    unsigned char digest[REGISTRY_DIGEST_LEN])
{
	struct registry_view *v;
	int rc;

	if ((v = registry_view_take(r)) == NULL)
		return -1;
	if ((rc = registry_view_render(v, doc)) == 0) {
		*generation = v->generation;
		*count = v->count;
		memcpy(digest, v->digest, REGISTRY_DIGEST_LEN);
	}
	registry_view_free(v);
	return rc;
}
