/*
 * Unit tests for lib/store_journal.c through the store interface: a
 * batch commit kept in order, counted in records and bytes, its events
 * delivered before it returns, a stale seq counter refused as a
 * conflict, replay (subscribe) of records longer than the reading block,
 * a torn last record cut off and a damaged one refused, and compaction
 * from an iterator.
 */
#include <sys/stat.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "errbuf.h"
#include "exitcode.h"
#include "registration.h"
#include "store.h"
#include "check.h"
#include "tmpdir.h"
#include "banned.h"

#define BIG_META	(300 * 1024)	/* past the journal's read block */

struct seen {
	size_t		n;
	int		resets, synced;
	unsigned long	counter;
	uint64_t	revision;
	unsigned long	generations[16];
	char		ids[16][REGISTRATION_ID_MAX + 1];
	size_t		metadata_len[16];
};

static void
note(void *arg, const struct store_event *ev)
{
	struct seen *s = arg;

	switch (ev->kind) {
	case STORE_EV_RESET:
		s->resets++;
		return;
	case STORE_EV_SEQ:
		s->counter = ev->seq;
		return;
	case STORE_EV_SYNCED:
		s->synced++;
		s->revision = ev->revision;
		return;
	case STORE_EV_PUT:
	case STORE_EV_DELETE:
		break;
	default:
		return;
	}
	if (s->n >= 16)
		return;
	s->generations[s->n] = ev->kind == STORE_EV_PUT ?
	    ev->entry->version : 0;
	(void)snprintf(s->ids[s->n], sizeof(s->ids[s->n]), "%s",
	    ev->kind == STORE_EV_PUT ? ev->entry->reg->identifier :
	    ev->identifier);
	s->metadata_len[s->n] = ev->kind == STORE_EV_PUT ?
	    ev->entry->reg->metadata_len : 0;
	s->n++;
}

/*
 * Writes lines to path (fopen mode "a" or "w"), then checks that a start
 * on it is refused as damage, its message holding want and also (unless
 * NULL).
 */
static void
refused(const char *path, const char *mode, const char *lines,
    const char *want, const char *also)
{
	struct store *st;
	struct errbuf eb;
	struct seen seen;
	FILE *f;

	if ((f = fopen(path, mode)) == NULL)
		abort();
	fputs(lines, f);
	fclose(f);
	st = store_journal_open(path, &eb);
	memset(&seen, 0, sizeof(seen));
	CHECK(st->ops->subscribe(st, note, &seen, &eb) == -1);
	CHECK(eb.code == EC_INVALID && strstr(eb.msg, want) != NULL &&
	    (also == NULL || strstr(eb.msg, also) != NULL));
	st->ops->free(st);
}

static void
make(struct registration *r, const char *id, const char *meta)
{
	struct errbuf eb;

	memset(r, 0, sizeof(*r));
	if (registration_set(r, id, "10.0.0.1", meta, &eb) == -1)
		abort();
}

/* *c: a change of kind to id, numbered seq, of reg (NULL for a delete). */
static void
change(struct store_change *c, enum store_change_kind kind, const char *id,
    unsigned long seq, const struct registration *reg)
{
	memset(c, 0, sizeof(*c));
	c->kind = kind;
	c->identifier = id;
	c->entry.seq = seq;
	c->entry.reg = reg;
}

static off_t
size_of(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? st.st_size : -1;
}

/* Yields the registrations of a test array for compact. */
struct walk {
	const struct registration	*regs;
	size_t				 n, i;
};

static int
walk_next(void *arg, struct store_entry *e)
{
	struct walk *w = arg;

	if (w->i >= w->n)
		return 0;
	memset(e, 0, sizeof(*e));
	e->seq = w->i + 1;
	e->registered_at = 1;
	e->reg = &w->regs[w->i++];
	return 1;
}

int
main(void)
{
	char dir[TMPDIR_PATH_MAX], path[TMPDIR_PATH_MAX + 16];
	struct registration a, b, big;
	struct store_change recs[3];
	uint64_t rev;
	unsigned long seq;
	struct store *st;
	struct errbuf eb;
	struct seen seen;
	struct walk w;
	char *meta;
	FILE *f;
	off_t size;

	tmpdir_make(dir, "journal");
	(void)snprintf(path, sizeof(path), "%s/state", dir);
	make(&a, "node-a", "{\"k\":1}");
	make(&b, "node-b", NULL);
	if ((meta = malloc(BIG_META + 16)) == NULL)
		abort();
	memcpy(meta, "\"", 1);
	memset(meta + 1, 'x', BIG_META);
	memcpy(meta + 1 + BIG_META, "\"", 2);
	make(&big, "node-big", meta);

	/* One batch: three records, in order, counted, events at once. */
	st = store_journal_open(path, &eb);
	CHECK(st != NULL);
	memset(&seen, 0, sizeof(seen));
	CHECK(st->ops->subscribe(st, note, &seen, &eb) == 0);
	CHECK(seen.resets == 1 && seen.synced == 1 && seen.n == 0);
	change(&recs[0], STORE_CREATE, "node-a", 1, &a);
	change(&recs[1], STORE_CREATE, "node-big", 2, &big);
	change(&recs[2], STORE_DELETE, "node-a", 0, NULL);
	/* A seq counter that moved on is a conflict: nothing written. */
	seq = 5;
	CHECK(st->ops->commit(st, recs, 3, &seq, &rev, &eb) == STORE_CONFLICT);
	CHECK(st->records == 0 && seen.n == 0);
	seq = 0;
	CHECK(st->ops->commit(st, recs, 3, &seq, &rev, &eb) == 0);
	CHECK(rev == 3);
	CHECK(seen.n == 3 && seen.synced == 2 && seen.revision == 3);
	CHECK(seen.counter == 2);
	CHECK(st->records == 3);
	size = size_of(path);
	CHECK(size > BIG_META && (unsigned long long)size == st->bytes);
	change(&recs[0], STORE_CREATE, "node-b", 3, &b);
	seq = 2;
	CHECK(st->ops->commit(st, recs, 1, &seq, &rev, &eb) == 0);
	CHECK(rev == 4);
	CHECK(st->ops->barrier(st, &rev, &eb) == 0 && rev == 4);
	CHECK(st->records == 4);
	CHECK((unsigned long long)size_of(path) == st->bytes);
	st->ops->free(st);

	/* Replayed in order, the long record across read blocks whole. */
	st = store_journal_open(path, &eb);
	memset(&seen, 0, sizeof(seen));
	CHECK(st->ops->subscribe(st, note, &seen, &eb) == 0);
	CHECK(seen.n == 4 && seen.synced == 1 && seen.revision == 4);
	CHECK(seen.counter == 3);
	CHECK_STR(seen.ids[0], "node-a");
	CHECK_STR(seen.ids[1], "node-big");
	CHECK(seen.metadata_len[1] == BIG_META + 2);
	CHECK_STR(seen.ids[2], "node-a");
	CHECK_STR(seen.ids[3], "node-b");
	CHECK(seen.generations[3] == 4);
	CHECK(st->records == 4);
	CHECK((unsigned long long)size_of(path) == st->bytes);
	st->ops->free(st);

	/* A torn last record (no newline) is cut off; the rest is kept. */
	size = size_of(path);
	f = fopen(path, "a");
	CHECK(f != NULL);
	fputs("{\"op\":\"put\",\"generation\":5,\"se", f);
	fclose(f);
	st = store_journal_open(path, &eb);
	memset(&seen, 0, sizeof(seen));
	CHECK(st->ops->subscribe(st, note, &seen, &eb) == 0);
	CHECK(seen.n == 4);
	CHECK(size_of(path) == size);
	CHECK(st->bytes == (unsigned long long)size);

	/* Compaction keeps what the iterator yields, nothing else. */
	{
		struct registration keep[2];

		keep[0] = b;
		keep[1] = a;
		w.regs = keep;
		w.n = 2;
		w.i = 0;
		CHECK(st->ops->compact(st, walk_next, &w, &eb) == 0);
	}
	CHECK(st->records == 3);	/* and the mark */
	CHECK((unsigned long long)size_of(path) == st->bytes);
	CHECK(st->bytes < 400);
	/* And appends go to the new file. */
	change(&recs[0], STORE_REPLACE, "node-big", 3, &big);
	seq = 0;
	CHECK(st->ops->commit(st, recs, 1, &seq, &rev, &eb) == 0);
	CHECK(rev == 5);
	CHECK((unsigned long long)size_of(path) == st->bytes);
	st->ops->free(st);
	st = store_journal_open(path, &eb);
	memset(&seen, 0, sizeof(seen));
	CHECK(st->ops->subscribe(st, note, &seen, &eb) == 0);
	CHECK(seen.n == 3);
	CHECK_STR(seen.ids[0], "node-b");
	CHECK_STR(seen.ids[1], "node-a");
	CHECK_STR(seen.ids[2], "node-big");
	st->ops->free(st);

	/* A complete line that does not parse is damage: refused. */
	refused(path, "a", "not json\n{\"op\":\"delete\",\"generation\":9,"
	    "\"identifier\":\"node-b\"}\n", "line 5", NULL);

	/*
	 * A compaction of an empty set keeps the generation and the highest
	 * seq given out: the mark says them, as no put can.
	 */
	(void)unlink(path);
	st = store_journal_open(path, &eb);
	memset(&seen, 0, sizeof(seen));
	CHECK(st->ops->subscribe(st, note, &seen, &eb) == 0);
	change(&recs[0], STORE_CREATE, "node-a", 1, &a);
	change(&recs[1], STORE_DELETE, "node-a", 0, NULL);
	seq = 0;
	CHECK(st->ops->commit(st, recs, 2, &seq, &rev, &eb) == 0);
	CHECK(rev == 2);
	w.n = 0;
	w.i = 0;
	CHECK(st->ops->compact(st, walk_next, &w, &eb) == 0);
	CHECK(st->records == 1);
	st->ops->free(st);
	st = store_journal_open(path, &eb);
	memset(&seen, 0, sizeof(seen));
	CHECK(st->ops->subscribe(st, note, &seen, &eb) == 0);
	CHECK(seen.n == 0 && seen.revision == 2 && seen.counter == 1);
	/* The next change goes on from there. */
	change(&recs[0], STORE_CREATE, "node-a", 2, &a);
	seq = 1;
	CHECK(st->ops->commit(st, recs, 1, &seq, &rev, &eb) == 0);
	CHECK(rev == 3);
	st->ops->free(st);

	/* A generation that falls, or 0, is damage too: refused. */
	refused(path, "a", "{\"op\":\"delete\",\"generation\":2,"
	    "\"identifier\":\"node-a\"}\n", "line 3", "generation 2 after 3");
	refused(path, "w", "{\"op\":\"delete\",\"generation\":0,"
	    "\"identifier\":\"node-a\"}\n", "generation 0", NULL);

	registration_release(&a);
	registration_release(&b);
	registration_release(&big);
	free(meta);
	tmpdir_remove(dir);
	return check_done("test_store_journal");
}
