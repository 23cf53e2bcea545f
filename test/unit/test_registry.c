/*
 * Unit tests for lib/registry.c and lib/store_journal.c: the hash with
 * backward-shift deletion against a plain model under a long random mix
 * of puts and removes, generations, seq kept across replacement, and the
 * journal replayed into an equal registry; group commit over a slow store
 * of the test's own (many changes to a commit, readers never waiting for
 * it, nothing visible before it returns, a failed commit changing
 * nothing), the cap on bytes, and snapshot views (immutable under
 * changes, read in any chunk size, digests that follow the set).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "errbuf.h"
#include "exitcode.h"
#include "registration.h"
#include "registry.h"
#include "store.h"
#include "check.h"
#include "banned.h"

#define NIDS	300
#define STEPS	5000


static void
make_reg(struct registration *r, int id, int ip)
{
	char name[32], addr[32];
	struct errbuf eb;

	memset(r, 0, sizeof(*r));
	(void)snprintf(name, sizeof(name), "node-%d", id);
	(void)snprintf(addr, sizeof(addr), "10.0.%d.%d", ip / 250, ip % 250);
	if (registration_set(r, name, addr, ip % 3 ? "{\"k\": 1}" : NULL,
	    &eb) == -1)
		abort();
}

static char *
snapshot(struct registry *r, unsigned long *gen, size_t *count)
{
	unsigned char digest[REGISTRY_DIGEST_LEN];
	struct buf b;

	buf_init(&b, 1UL << 24);
	if (registry_snapshot(r, &b, gen, count, digest) == -1)
		abort();
	return buf_detach(&b, NULL);
}

static void
test_random_mix(const char *journal)
{
	int model[NIDS];	/* ip of each id, or -1 */
	struct registration reg;
	struct registry *r, *again;
	struct store *st;
	struct errbuf eb;
	unsigned long gen, gen2, expect_gen = 0;
	size_t count, count2, live = 0;
	char name[32], *s1, *s2;
	int i, id, rc, bad = 0;

	for (i = 0; i < NIDS; i++)
		model[i] = -1;
	srand(7);
	st = store_journal_open(journal, &eb);
	CHECK(st != NULL);
	r = registry_new(NIDS, st, &eb);
	CHECK(r != NULL);
	for (i = 0; i < STEPS; i++) {
		id = rand() % NIDS;
		if (rand() % 3 == 0) {
			(void)snprintf(name, sizeof(name), "node-%d", id);
			rc = registry_remove(r, name, &eb);
			if (rc != (model[id] != -1 ? 1 : 0))
				bad++;
			if (model[id] != -1) {
				model[id] = -1;
				live--;
				expect_gen++;
			}
		} else {
			int ip = rand() % 4;

			make_reg(&reg, id, ip);
			rc = registry_put(r, &reg, 1000 + i, &eb);
			if (model[id] == ip && rc != REGISTRY_UNCHANGED)
				bad++;
			if (model[id] != ip && rc != REGISTRY_CHANGED)
				bad++;
			if (model[id] != ip) {
				if (model[id] == -1)
					live++;
				model[id] = ip;
				expect_gen++;
			}
			registration_release(&reg);
		}
		if (registry_count(r) != live)
			bad++;
	}
	CHECK(bad == 0);
	CHECK(registry_generation(r) == expect_gen);
	for (i = 0; i < NIDS; i++) {
		(void)snprintf(name, sizeof(name), "node-%d", i);
		if (registry_contains(r, name) != (model[i] != -1))
			bad++;
	}
	CHECK(bad == 0);

	/* The journal replays into the same snapshot, byte for byte. */
	s1 = snapshot(r, &gen, &count);
	registry_free(r);
	st = store_journal_open(journal, &eb);
	again = registry_new(NIDS, st, &eb);
	CHECK(again != NULL);
	s2 = snapshot(again, &gen2, &count2);
	CHECK(gen == gen2 && count == count2);
	CHECK(strcmp(s1, s2) == 0);
	registry_free(again);
	free(s1);
	free(s2);
}

/* Its registration's generation, as registry_node_state says it. */
static unsigned long
node_generation(struct registry *r, const char *identifier)
{
	struct registry_node_state ns;

	registry_node_state(r, identifier, &ns);
	return ns.node_generation;
}

static void
test_seq_and_cap(void)
{
	struct registration a, b, c;
	struct registry *r;
	struct errbuf eb;
	unsigned long gen;
	size_t count;
	char *s;

	r = registry_new(2, NULL, &eb);
	make_reg(&a, 2, 1);
	make_reg(&b, 1, 1);
	make_reg(&c, 3, 1);
	CHECK(registry_put(r, &a, 100, &eb) == REGISTRY_CHANGED);
	CHECK(registry_put(r, &b, 200, &eb) == REGISTRY_CHANGED);
	CHECK(registry_put(r, &c, 300, &eb) == REGISTRY_FULL);
	registration_release(&a);
	make_reg(&a, 2, 2);	/* node-2 again, new ip: keeps seq 1 */
	CHECK(registry_put(r, &a, 400, &eb) == REGISTRY_CHANGED);
	/* Each node's last change: node-2's second put made generation 3. */
	CHECK(node_generation(r, "node-2") == 3);
	CHECK(node_generation(r, "node-1") == 2);
	CHECK(node_generation(r, "node-3") == 0);
	/* The same again changes nothing, its generation neither. */
	CHECK(registry_put(r, &a, 500, &eb) == REGISTRY_UNCHANGED);
	CHECK(node_generation(r, "node-2") == 3);
	s = snapshot(r, &gen, &count);
	CHECK(gen == 3 && count == 2);
	CHECK(strstr(s, "{\"identifier\":\"node-1\",\"ip\":\"10.0.0.1\","
	    "\"metadata\":{\"k\": 1},\"seq\":2,") != NULL);
	CHECK(strstr(s, "{\"identifier\":\"node-2\",\"ip\":\"10.0.0.2\","
	    "\"metadata\":{\"k\": 1},\"seq\":1,\"registered_at\":"
	    "\"1970-01-01T00:01:40Z\"}") != NULL);
	/* Sorted bytewise: node-1 before node-2. */
	CHECK(strstr(s, "node-1") < strstr(s, "node-2"));
	free(s);
	registration_release(&a);
	registration_release(&b);
	registration_release(&c);
	registry_free(r);
}

/* Reads v's document through a reader in chunks of step bytes. */
static char *
read_view(const struct registry_view *v, size_t step)
{
	struct registry_reader rd;
	char chunk[64];
	struct buf b;
	ssize_t n;

	buf_init(&b, 1UL << 24);
	registry_reader_init(&rd, v);
	while ((n = registry_reader_read(&rd, chunk, step)) > 0) {
		CHECK((size_t)n <= step);
		if (buf_add(&b, chunk, (size_t)n) == -1)
			abort();
	}
	CHECK(n == 0);
	/* Read out, it stays at its end. */
	CHECK(registry_reader_read(&rd, chunk, step) == 0);
	registry_reader_release(&rd);
	return buf_detach(&b, NULL);
}

/*
 * A view is immutable: the registry changing under it (a replacement, a
 * removal, an addition, the registry freed last) changes none of its
 * bytes, read in any chunk size; its digest follows the registrations,
 * not the generation.
 */
static void
test_views(void)
{
	struct registration a, b, c;
	struct registry_view *v1, *v2, *v3;
	struct registry *r;
	struct errbuf eb;
	unsigned long gen;
	size_t count, step;
	char *s, *t;

	r = registry_new(10, NULL, &eb);
	make_reg(&a, 1, 1);
	make_reg(&b, 2, 2);
	make_reg(&c, 1, 7);	/* node-1 again, another ip */
	v1 = registry_view_take(r);
	CHECK(v1 != NULL && registry_view_count(v1) == 0 &&
	    registry_view_generation(v1) == 0);
	s = read_view(v1, 64);
	CHECK(strcmp(s, "{\"schema_version\":1,\"generation\":0,"
	    "\"registrations\":[]}") == 0);
	free(s);
	CHECK(registry_put(r, &a, 100, &eb) == REGISTRY_CHANGED);
	CHECK(registry_put(r, &b, 200, &eb) == REGISTRY_CHANGED);
	v2 = registry_view_take(r);
	s = snapshot(r, &gen, &count);
	CHECK(gen == 2 && count == 2);
	for (step = 1; step <= 64; step += 9) {
		t = read_view(v2, step);
		CHECK(strcmp(s, t) == 0);
		free(t);
	}
	CHECK(registry_put(r, &c, 300, &eb) == REGISTRY_CHANGED);
	CHECK(registry_remove(r, "node-2", &eb) == 1);
	t = read_view(v2, 13);
	CHECK(strcmp(s, t) == 0);	/* v2 unchanged */
	free(t);
	CHECK(memcmp(registry_view_digest(v1), registry_view_digest(v2),
	    REGISTRY_DIGEST_LEN) != 0);
	/* Back to the set of v2 (seq and times kept): the same digest. */
	CHECK(registry_put(r, &a, 400, &eb) == REGISTRY_CHANGED);
	CHECK(registry_put(r, &b, 200, &eb) == REGISTRY_CHANGED);
	v3 = registry_view_take(r);
	CHECK(registry_view_generation(v3) == 6);
	CHECK(memcmp(registry_view_digest(v3), registry_view_digest(v2),
	    REGISTRY_DIGEST_LEN) != 0);	/* node-2 has a new seq */
	registry_view_free(v3);
	registry_free(r);
	/* The view outlives its entries' registry. */
	t = read_view(v2, 64);
	CHECK(strcmp(s, t) == 0);
	free(t);
	free(s);
	registry_view_free(v2);
	registry_view_free(v1);
	registry_view_free(NULL);
	registration_release(&a);
	registration_release(&b);
	registration_release(&c);
}

/* Equal sets reached by other paths: equal digests, other generations. */
static void
test_view_digest(void)
{
	struct registration a, c;
	struct registry_view *v1, *v2;
	struct registry *r;
	struct errbuf eb;

	r = registry_new(10, NULL, &eb);
	make_reg(&a, 1, 1);
	make_reg(&c, 1, 7);
	CHECK(registry_put(r, &a, 100, &eb) == REGISTRY_CHANGED);
	v1 = registry_view_take(r);
	CHECK(registry_put(r, &c, 300, &eb) == REGISTRY_CHANGED);
	CHECK(registry_put(r, &a, 500, &eb) == REGISTRY_CHANGED);
	v2 = registry_view_take(r);
	CHECK(registry_view_generation(v1) == 1 &&
	    registry_view_generation(v2) == 3);
	CHECK(memcmp(registry_view_digest(v1), registry_view_digest(v2),
	    REGISTRY_DIGEST_LEN) == 0);
	registry_view_free(v1);
	registry_view_free(v2);
	registry_free(r);
	registration_release(&a);
	registration_release(&c);
}

/*
 * A store of the test's own, as a second backend would be: commit sleeps
 * COMMIT_MS, as a disk flush does, and notes what it saw.
 */
#define COMMIT_MS	5
#define WRITERS		8
#define PER_WRITER	200

struct slow_store {
	struct store	 store;
	struct registry	*r;		/* to read from inside commit */
	unsigned long	 commits, records, max_batch;
	int		 fail_next;
	int		 visible_early;	/* a record seen before its commit */
	uint64_t	 slowest_read_ns;
	uint64_t	 revision;
	unsigned long	 counter;
	store_event_fn	*fn;
	void		*arg;
};

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void
slow_emit(struct slow_store *ss, enum store_event_kind kind,
    const struct store_entry *e, const char *id)
{
	struct store_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.kind = kind;
	ev.entry = e;
	ev.identifier = id;
	ev.seq = ss->counter;
	ev.revision = ev.generation = ss->revision;
	ss->fn(ss->arg, &ev);
}

static int
slow_subscribe(struct store *s, store_event_fn *fn, void *arg,
    struct errbuf *eb)
{
	struct slow_store *ss = (struct slow_store *)s;

	(void)eb;
	ss->fn = fn;
	ss->arg = arg;
	slow_emit(ss, STORE_EV_RESET, NULL, NULL);
	slow_emit(ss, STORE_EV_SYNCED, NULL, NULL);
	return 0;
}

static int
slow_commit(struct store *s, const struct store_change *recs, size_t n,
    unsigned long *seq, uint64_t *rev, struct errbuf *eb)
{
	struct slow_store *ss = (struct slow_store *)s;
	struct timespec pause = { 0, COMMIT_MS * 1000000L };
	struct store_entry e;
	uint64_t t;
	size_t i;

	(void)seq;
	/*
	 * The registry's lock is not held: reads go through at once.  Every
	 * CREATE here is of a new node, which must not be visible yet.
	 */
	for (i = 0; i < n; i++) {
		t = now_ns();
		if (recs[i].kind == STORE_CREATE &&
		    registry_contains(ss->r, recs[i].identifier))
			ss->visible_early = 1;
		(void)registry_generation(ss->r);
		t = now_ns() - t;
		if (t > ss->slowest_read_ns)
			ss->slowest_read_ns = t;
	}
	nanosleep(&pause, NULL);
	if (ss->fail_next) {
		ss->fail_next = 0;
		return errbuf_set(eb, EC_WRITE, "slow store: no");
	}
	ss->commits++;
	ss->records += n;
	if (n > ss->max_batch)
		ss->max_batch = n;
	for (i = 0; i < n; i++) {
		ss->revision++;
		if (recs[i].kind == STORE_DELETE) {
			slow_emit(ss, STORE_EV_DELETE, NULL,
			    recs[i].identifier);
			continue;
		}
		e = recs[i].entry;
		e.version = ss->revision;
		if (e.seq > ss->counter)
			ss->counter = e.seq;
		slow_emit(ss, STORE_EV_PUT, &e, NULL);
	}
	slow_emit(ss, STORE_EV_SEQ, NULL, NULL);
	slow_emit(ss, STORE_EV_SYNCED, NULL, NULL);
	*rev = ss->revision;
	return 0;
}

static int
slow_barrier(struct store *s, uint64_t *rev, struct errbuf *eb)
{
	(void)eb;
	*rev = ((struct slow_store *)s)->revision;
	return 0;
}

static int
slow_compact(struct store *s, store_next_fn *next, void *arg,
    struct errbuf *eb)
{
	struct store_entry e;

	(void)eb;
	s->records = 0;
	while (next(arg, &e))
		s->records++;
	return 0;
}

static void
slow_free(struct store *s)
{
	(void)s;
}

static const struct store_ops slow_ops = {
	slow_subscribe, slow_commit, slow_barrier, slow_compact, slow_free
};

struct writer {
	struct registry	*r;
	int		 t;
	unsigned long	 answered, changed;	/* under lock */
	pthread_mutex_t	*lock;
	pthread_cond_t	*cond;
};

static void
writer_done(void *ctx, void *token, const char *identifier, int rc,
    const struct errbuf *eb)
{
	struct writer *w = token;

	(void)ctx;
	(void)identifier;
	(void)eb;
	pthread_mutex_lock(w->lock);
	w->answered++;
	if (rc == REGISTRY_CHANGED)
		w->changed++;
	pthread_cond_broadcast(w->cond);
	pthread_mutex_unlock(w->lock);
}

/* Submits PER_WRITER new nodes without waiting, as the HTTP handlers do. */
static void *
writer_run(void *arg)
{
	struct writer *w = arg;
	struct registration reg;
	struct errbuf eb;
	char name[32];
	int i, rc;

	for (i = 0; i < PER_WRITER; i++) {
		memset(&reg, 0, sizeof(reg));
		(void)snprintf(name, sizeof(name), "w%d-%d", w->t, i);
		if (registration_set(&reg, name, "10.0.0.1", NULL, &eb) == -1)
			abort();
		rc = registry_put_async(w->r, &reg, 1, writer_done, NULL, w,
		    &eb);
		if (rc != REGISTRY_PENDING)
			writer_done(NULL, w, name, rc, &eb);
		registration_release(&reg);
	}
	return NULL;
}

static void
test_group_commit(void)
{
	struct slow_store ss;
	struct writer w[WRITERS];
	pthread_t th[WRITERS];
	pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
	struct registration reg;
	struct registry *r;
	struct errbuf eb;
	unsigned long answered, changed, gen;
	int i, bad = 0;

	memset(&ss, 0, sizeof(ss));
	ss.store.ops = &slow_ops;
	ss.store.single_writer = 1;
	r = registry_new(WRITERS * PER_WRITER, &ss.store, &eb);
	CHECK(r != NULL);
	ss.r = r;
	for (i = 0; i < WRITERS; i++) {
		memset(&w[i], 0, sizeof(w[i]));
		w[i].r = r;
		w[i].t = i;
		w[i].lock = &lock;
		w[i].cond = &cond;
		if (pthread_create(&th[i], NULL, writer_run, &w[i]) != 0)
			abort();
	}
	for (i = 0; i < WRITERS; i++)
		pthread_join(th[i], NULL);
	/* Every change is answered, within a bounded wait. */
	pthread_mutex_lock(&lock);
	for (i = 0; i < 1000; i++) {
		size_t k;

		answered = changed = 0;
		for (k = 0; k < WRITERS; k++) {
			answered += w[k].answered;
			changed += w[k].changed;
		}
		if (answered == WRITERS * PER_WRITER)
			break;
		pthread_mutex_unlock(&lock);
		usleep(10000);
		pthread_mutex_lock(&lock);
	}
	pthread_mutex_unlock(&lock);
	CHECK(answered == WRITERS * PER_WRITER);
	CHECK(changed == WRITERS * PER_WRITER);
	CHECK(registry_count(r) == WRITERS * PER_WRITER);
	CHECK(registry_generation(r) == WRITERS * PER_WRITER);
	CHECK(ss.records == WRITERS * PER_WRITER);
	/* 1 600 changes at 5 ms a commit: far fewer commits than changes. */
	fprintf(stderr, "group commit: %lu changes in %lu commits, "
	    "largest %lu; slowest read during a commit %.3f ms\n",
	    ss.records, ss.commits, ss.max_batch,
	    (double)ss.slowest_read_ns / 1e6);
	CHECK(ss.commits * 10 <= ss.records);
	CHECK(ss.max_batch > 1);
	CHECK(ss.slowest_read_ns < COMMIT_MS * 1000000u / 2);
	CHECK(!ss.visible_early);

	/* At the node cap: one more is refused without a commit. */
	make_reg(&reg, 9999, 1);
	changed = ss.commits;
	CHECK(registry_put(r, &reg, 5, &eb) == REGISTRY_FULL);
	CHECK(ss.commits == changed);
	CHECK(registry_remove(r, "w0-0", &eb) == 1);
	/* A failed commit changes nothing and says why; the next works. */
	gen = registry_generation(r);
	ss.fail_next = 1;
	CHECK(registry_put(r, &reg, 5, &eb) == -1);
	CHECK(eb.code == EC_WRITE && strstr(eb.msg, "slow store") != NULL);
	CHECK(!registry_contains(r, reg.identifier));
	CHECK(registry_generation(r) == gen);
	CHECK(registry_put(r, &reg, 5, &eb) == REGISTRY_CHANGED);
	CHECK(registry_contains(r, reg.identifier));
	CHECK(registry_generation(r) == gen + 1);
	/* The same content again is answered without a commit. */
	changed = ss.commits;
	CHECK(registry_put(r, &reg, 6, &eb) == REGISTRY_UNCHANGED);
	CHECK(ss.commits == changed);
	registration_release(&reg);
	for (i = 0; i < WRITERS * PER_WRITER; i++) {
		char name[32];

		(void)snprintf(name, sizeof(name), "w%d-%d", i / PER_WRITER,
		    i % PER_WRITER);
		if (registry_contains(r, name) != (i != 0))
			bad++;
	}
	CHECK(bad == 0);
	registry_free(r);
}

static void
test_byte_cap(void)
{
	struct registration a, b;
	struct registry *r;
	struct errbuf eb;

	r = registry_new(10, NULL, &eb);
	CHECK(registry_bytes(r) == 0);
	/* node-1 10.0.2.2 {"k": 1}: 6 + 8 + 8 = 22 bytes */
	registry_set_max_bytes(r, 44);
	make_reg(&a, 1, 502);
	make_reg(&b, 2, 502);
	CHECK(registry_put(r, &a, 1, &eb) == REGISTRY_CHANGED);
	CHECK(registry_bytes(r) == 22);
	CHECK(registry_put(r, &b, 1, &eb) == REGISTRY_CHANGED);
	CHECK(registry_bytes(r) == 44);
	registration_release(&b);
	make_reg(&b, 3, 502);
	CHECK(registry_put(r, &b, 1, &eb) == REGISTRY_FULL);
	/* Growing is refused, shrinking not. */
	registration_release(&a);
	make_reg(&a, 1, 5012);	/* 10.0.20.12: two bytes more */
	CHECK(registry_put(r, &a, 1, &eb) == REGISTRY_FULL);
	registration_release(&a);
	make_reg(&a, 1, 3);	/* 10.0.0.3, no metadata: 14 bytes */
	CHECK(registry_put(r, &a, 1, &eb) == REGISTRY_CHANGED);
	CHECK(registry_bytes(r) == 36);
	CHECK(registry_remove(r, "node-2", &eb) == 1);
	CHECK(registry_bytes(r) == 14);
	CHECK(registry_put(r, &b, 1, &eb) == REGISTRY_CHANGED);
	registration_release(&a);
	registration_release(&b);
	registry_free(r);
}

int
main(void)
{
	char journal[] = "/tmp/cfgsync-test-journal-XXXXXX";
	int fd;

	if ((fd = mkstemp(journal)) == -1)
		return 1;
	close(fd);
	test_random_mix(journal);
	unlink(journal);
	test_seq_and_cap();
	test_views();
	test_view_digest();
	test_group_commit();
	test_byte_cap();
	return check_done("test_registry");
}
