/*
 * The registration set: see registry.h.  Entries live in an array, found
 * through a strmap of their identifiers, so registering is O(1) however
 * many nodes there are; only a snapshot sorts.
 */
#include "registry.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

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

#define COMPACT_MIN_RECORDS	256

struct entry {
	struct registration	reg;
	unsigned long		seq;
	time_t			registered_at;
};

struct registry {
	pthread_mutex_t	  lock;
	struct entry	 *entries;	/* unordered */
	size_t		  len, cap, max;
	struct strmap	  index;	/* identifier to index into entries */
	unsigned long	  generation;
	unsigned long	  next_seq;
	struct store	 *store;
};

/* Removes entries[idx]: out of the index, then swap-remove. */
static void
delete_entry(struct registry *r, size_t idx)
{
	size_t last = r->len - 1;

	(void)strmap_remove(&r->index, r->entries[idx].reg.identifier, NULL);
	registration_release(&r->entries[idx].reg);
	if (idx != last) {
		r->entries[idx] = r->entries[last];
		/* Replacing a key's value never fails. */
		(void)strmap_put(&r->index, r->entries[idx].reg.identifier,
		    idx);
	}
	r->len--;
}

/*
 * Stores a PUT record whose registration copy the caller made (taken)
 * with prepare_put, so this cannot fail.
 */
static void
commit_put(struct registry *r, const struct store_record *rec,
    struct registration *owned)
{
	struct entry *e;
	size_t i = r->len;

	(void)strmap_get(&r->index, owned->identifier, &i);
	e = &r->entries[i];
	if (i < r->len)
		registration_release(&e->reg);
	else
		r->len++;
	e->reg = *owned;
	e->seq = rec->seq;
	e->registered_at = rec->registered_at;
	if (rec->seq >= r->next_seq)
		r->next_seq = rec->seq + 1;
	r->generation = rec->generation;
}

/*
 * Takes what a PUT needs before anything is written: a copy of the
 * registration and, when the identifier is new, room for its entry and
 * its key in the index, mapped to the entry it will get (entries[len]).
 * Returns 0 or -1 (no memory).
 */
static int
prepare_put(struct registry *r, const struct registration *reg,
    struct registration *copy)
{
	if (registration_copy(copy, reg) == -1)
		return -1;
	if (!strmap_get(&r->index, reg->identifier, NULL) &&
	    (ARRAY_GROW(r->entries, r->len + 1, r->cap) == -1 ||
	    strmap_put(&r->index, reg->identifier, r->len) == -1)) {
		registration_release(copy);
		return -1;
	}
	return 0;
}

/* Undoes prepare_put when the store refused the record. */
static void
abandon_put(struct registry *r, struct registration *copy)
{
	size_t i;

	if (strmap_get(&r->index, copy->identifier, &i) && i == r->len)
		(void)strmap_remove(&r->index, copy->identifier, NULL);
	registration_release(copy);
}

/* Applies one record from the store. */
static int
apply(struct registry *r, const struct store_record *rec)
{
	struct registration copy;
	size_t i;

	if (rec->op == STORE_DELETE) {
		if (strmap_get(&r->index, rec->identifier, &i))
			delete_entry(r, i);
		r->generation = rec->generation;
		return 0;
	}
	if (prepare_put(r, rec->reg, &copy) == -1)
		return -1;
	commit_put(r, rec, &copy);
	return 0;
}

static void
replay_one(void *arg, const struct store_record *rec)
{
	struct registry *r = arg;

	if (apply(r, rec) == -1)
		diag_warn("journal: out of memory replaying a record");
}

/* Rewrites the store with one record per live entry. */
static int
compact(struct registry *r, struct errbuf *eb)
{
	struct store_record *recs;
	size_t i;
	int rc;

	if ((recs = calloc(r->len + 1, sizeof(*recs))) == NULL)
		return errbuf_set(eb, EC_INTERNAL, "out of memory");
	for (i = 0; i < r->len; i++) {
		recs[i].op = STORE_PUT;
		recs[i].generation = r->generation;
		recs[i].seq = r->entries[i].seq;
		recs[i].registered_at = r->entries[i].registered_at;
		recs[i].reg = &r->entries[i].reg;
	}
	rc = r->store->ops->compact(r->store, recs, r->len, eb);
	free(recs);
	return rc;
}

/* Whether superseded records outnumber live ones enough to rewrite. */
static int
needs_compaction(const struct registry *r)
{
	return r->store != NULL && r->store->records > COMPACT_MIN_RECORDS &&
	    r->store->records > 2 * r->len;
}

/*
 * Compacts while running (lock held).  Amortized over the records that
 * made it due; a failure leaves the longer journal, still correct.
 */
static void
maybe_compact(struct registry *r)
{
	struct errbuf eb;

	if (needs_compaction(r) && compact(r, &eb) == -1)
		diag_warn("journal: compaction failed: %s", eb.msg);
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
	r->max = max;
	r->next_seq = 1;
	r->store = store;
	strmap_init(&r->index);
	if (store == NULL)
		return r;
	if (store->ops->replay(store, replay_one, r, eb) == -1)
		goto fail;
	if (needs_compaction(r) && compact(r, eb) == -1)
		goto fail;
	return r;
fail:
	registry_free(r);
	return NULL;
}

void
registry_free(struct registry *r)
{
	size_t i;

	if (r == NULL)
		return;
	for (i = 0; i < r->len; i++)
		registration_release(&r->entries[i].reg);
	free(r->entries);
	strmap_release(&r->index);
	if (r->store != NULL)
		r->store->ops->free(r->store);
	pthread_mutex_destroy(&r->lock);
	free(r);
}

int
registry_put(struct registry *r, const struct registration *reg, time_t now,
    struct errbuf *eb)
{
	struct store_record rec;
	struct registration copy;
	const struct entry *e;
	size_t i;
	int rc = REGISTRY_CHANGED;

	pthread_mutex_lock(&r->lock);
	e = strmap_get(&r->index, reg->identifier, &i) ? &r->entries[i] :
	    NULL;
	if (e != NULL && registration_equal(&e->reg, reg)) {
		rc = REGISTRY_UNCHANGED;
		goto out;
	}
	if (e == NULL && r->len >= r->max) {
		rc = REGISTRY_FULL;
		goto out;
	}
	memset(&rec, 0, sizeof(rec));
	rec.op = STORE_PUT;
	rec.generation = r->generation + 1;
	rec.seq = e != NULL ? e->seq : r->next_seq;
	rec.registered_at = e != NULL ? e->registered_at : now;
	rec.reg = reg;
	/* Memory first: once the store has the record, memory must too. */
	if (prepare_put(r, reg, &copy) == -1) {
		rc = errbuf_set(eb, EC_INTERNAL, "out of memory");
		goto out;
	}
	if (r->store != NULL && r->store->ops->append(r->store, &rec,
	    eb) == -1) {
		abandon_put(r, &copy);
		rc = -1;
		goto out;
	}
	commit_put(r, &rec, &copy);
	maybe_compact(r);
out:
	pthread_mutex_unlock(&r->lock);
	return rc;
}

int
registry_remove(struct registry *r, const char *identifier,
    struct errbuf *eb)
{
	struct store_record rec;
	int rc = 1;

	pthread_mutex_lock(&r->lock);
	if (!strmap_get(&r->index, identifier, NULL)) {
		rc = 0;
		goto out;
	}
	memset(&rec, 0, sizeof(rec));
	rec.op = STORE_DELETE;
	rec.generation = r->generation + 1;
	rec.identifier = identifier;
	if (r->store != NULL && r->store->ops->append(r->store, &rec,
	    eb) == -1) {
		rc = -1;
		goto out;
	}
	(void)apply(r, &rec);	/* a delete needs no memory */
	maybe_compact(r);
out:
	pthread_mutex_unlock(&r->lock);
	return rc;
}

int
registry_contains(struct registry *r, const char *identifier)
{
	int found;

	pthread_mutex_lock(&r->lock);
	found = strmap_get(&r->index, identifier, NULL);
	pthread_mutex_unlock(&r->lock);
	return found;
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

static int
cmp_entries(const void *a, const void *b)
{
	const struct entry *const *x = a, *const *y = b;

	return strcmp((*x)->reg.identifier, (*y)->reg.identifier);
}

int
registry_snapshot(struct registry *r, struct buf *doc,
    unsigned long *generation, size_t *count,
    unsigned char digest[REGISTRY_DIGEST_LEN])
{
	const struct entry **sorted = NULL;
	struct sha256_ctx ctx;
	char when[CLOCK_UTC_LEN];
	size_t i, start;
	int rc = -1;

	pthread_mutex_lock(&r->lock);
	if (r->len > 0 && (sorted = calloc(r->len, sizeof(*sorted))) == NULL)
		goto out;
	for (i = 0; i < r->len; i++)
		sorted[i] = &r->entries[i];
	if (r->len > 1)
		qsort(sorted, r->len, sizeof(*sorted), cmp_entries);
	if (buf_addf(doc, "{\"schema_version\":1,\"generation\":%lu,"
	    "\"registrations\":", r->generation) == -1)
		goto out;
	start = doc->len;
	if (buf_addc(doc, '[') == -1)
		goto out;
	for (i = 0; i < r->len; i++) {
		clock_utc(sorted[i]->registered_at, when);
		/* The registration's own members, then seq and time. */
		if ((i > 0 && buf_addc(doc, ',') == -1) ||
		    buf_addc(doc, '{') == -1 ||
		    registration_render_members(doc, &sorted[i]->reg) == -1)
			goto out;
		if (buf_addf(doc, ",\"seq\":%lu,\"registered_at\":\"%s\"}",
		    sorted[i]->seq, when) == -1)
			goto out;
	}
	if (buf_addc(doc, ']') == -1)
		goto out;
	sha256_init(&ctx);
	sha256_update(&ctx, doc->len - start, (const uint8_t *)doc->data +
	    start);
	sha256_digest(&ctx, REGISTRY_DIGEST_LEN, digest);
	if (buf_addc(doc, '}') == -1)
		goto out;
	*generation = r->generation;
	*count = r->len;
	rc = 0;
out:
	pthread_mutex_unlock(&r->lock);
	free(sorted);
	return rc;
}
