/*
 * serve-exec's engine: see exec_sched.h.  Pure arithmetic on the state
 * the caller hands in; nothing here reads a clock or takes a lock.
 */
#include "exec_sched.h"

#include <string.h>

#include "banned.h"

void
exec_sched_init(struct exec_sched *s, unsigned debounce_ms)
{
	memset(s, 0, sizeof(*s));
	s->debounce_ms = debounce_ms;
	s->backoff_ms = EXEC_SCHED_BACKOFF_MIN_MS;
}

void
exec_sched_changed(struct exec_sched *s, unsigned long generation,
    uint64_t now)
{
	int pending = s->noted_gen > s->done_gen;

	if (generation > s->noted_gen)
		s->noted_gen = generation;
	if (generation <= s->done_gen)
		return;		/* a run has covered it: a late notice */
	if (!pending)
		s->first_ms = now;	/* the first change of a burst */
	s->last_ms = now;
}

uint64_t
exec_sched_due(const struct exec_sched *s)
{
	uint64_t due, cap;

	if (s->noted_gen > s->done_gen) {
		/* Quiet for a debounce, or pending for the cap. */
		due = s->last_ms + s->debounce_ms;
		cap = s->first_ms +
		    (uint64_t)EXEC_SCHED_DEBOUNCE_CAP * s->debounce_ms;
		return cap < due ? cap : due;
	}
	return s->retry_ms != 0 ? s->retry_ms : EXEC_SCHED_NEVER;
}

void
exec_sched_start(struct exec_sched *s)
{
	if (s->noted_gen > s->done_gen) {
		/* A new set: its failures back off from the start. */
		s->backoff_ms = EXEC_SCHED_BACKOFF_MIN_MS;
		s->done_gen = s->noted_gen;
	}
	s->retry_ms = 0;
}

void
exec_sched_finish(struct exec_sched *s, unsigned long generation,
    enum materializer_outcome outcome, uint64_t now)
{
	if (generation > s->done_gen)
		s->done_gen = generation;	/* the snapshot saw more */
	if (outcome == MATERIALIZER_FAILED ||
	    outcome == MATERIALIZER_TEMPFAIL) {
		/* Ask again later, not on every poll. */
		s->retry_ms = now + s->backoff_ms;
		s->backoff_ms = s->backoff_ms * 2 > EXEC_SCHED_BACKOFF_MAX_MS ?
		    EXEC_SCHED_BACKOFF_MAX_MS : s->backoff_ms * 2;
	} else {
		s->retry_ms = 0;
		s->backoff_ms = EXEC_SCHED_BACKOFF_MIN_MS;
	}
}

void
exec_cache_init(struct exec_cache *c)
{
	memset(c, 0, sizeof(*c));
}

static struct exec_cache_slot *
cache_lookup(struct exec_cache *c, const unsigned char *digest)
{
	size_t i;

	for (i = 0; i < EXEC_CACHE_SLOTS; i++)
		if (c->slot[i].valid && memcmp(c->slot[i].digest, digest,
		    REGISTRY_DIGEST_LEN) == 0)
			return &c->slot[i];
	return NULL;
}

int
exec_cache_find(struct exec_cache *c,
    const unsigned char digest[REGISTRY_DIGEST_LEN],
    enum materializer_outcome *outcome, void **value)
{
	struct exec_cache_slot *hit;

	if ((hit = cache_lookup(c, digest)) == NULL)
		return 0;
	hit->used = ++c->clock;
	*outcome = hit->outcome;
	*value = hit->value;
	return 1;
}

void *
exec_cache_put(struct exec_cache *c,
    const unsigned char digest[REGISTRY_DIGEST_LEN],
    enum materializer_outcome outcome, void *value)
{
	struct exec_cache_slot *v;
	void *old = NULL;
	size_t i;

	if ((v = cache_lookup(c, digest)) == NULL) {
		v = &c->slot[0];
		for (i = 0; i < EXEC_CACHE_SLOTS; i++) {
			if (!c->slot[i].valid) {
				v = &c->slot[i];
				break;
			}
			if (c->slot[i].used < v->used)
				v = &c->slot[i];
		}
	}
	if (v->valid)
		old = v->value;
	memcpy(v->digest, digest, REGISTRY_DIGEST_LEN);
	v->outcome = outcome;
	v->value = value;
	v->used = ++c->clock;
	v->valid = 1;
	return old == value ? NULL : old;
}

void
exec_cache_release(struct exec_cache *c, void (*release)(void *))
{
	size_t i;

	for (i = 0; i < EXEC_CACHE_SLOTS; i++)
		if (c->slot[i].valid && c->slot[i].value != NULL &&
		    release != NULL)
			release(c->slot[i].value);
	exec_cache_init(c);
}

enum exec_answer
exec_sched_answer(const struct exec_asker *a,
    const struct exec_result_view *r)
{
	/*
	 * Past both, the result holds the node as it is now and every
	 * change answered before the request; the current one always does
	 * but for a node that changed since (with etcd, between its PUT and
	 * the mirror's SYNCED).
	 */
	if (a->node_generation == 0 || r->generation == 0 ||
	    r->generation < a->node_generation ||
	    r->generation < a->since_generation)
		return EXEC_ANSWER_WAIT;
	switch (r->outcome) {
	case MATERIALIZER_READY:
		return r->has_files ? EXEC_ANSWER_FILES : EXEC_ANSWER_MISSING;
	case MATERIALIZER_FAILED:
		return EXEC_ANSWER_FAILED;
	case MATERIALIZER_NOT_READY:
	case MATERIALIZER_TEMPFAIL:
		break;
	}
	return EXEC_ANSWER_WAIT;
}
