/*
 * The registry's committer against a fake store of the test's own, as
 * etcd behaves: the authority lives in the store, its events reach the
 * mirror from another thread after a delay, and the test injects another
 * writer (conflicts), answers lost after the commit was applied, an
 * unreachable store, a compaction (RESET and a relisting) and a restore
 * from a backup (a relisting, its generation lower).  Checks:
 * seq dense across writers, an identical registration answered without a
 * commit, a decision made again after a conflict, a retry after a lost
 * answer that finds its own write (UNCHANGED, written once), a removal,
 * 503-class EC_REMOTE past the commit timeout, a mirror equal to the
 * store after the relisting, and after the restore a rewind counted and
 * the next seq from the restored counter.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "clock.h"
#include "errbuf.h"
#include "exitcode.h"
#include "registration.h"
#include "registry.h"
#include "store.h"
#include "check.h"
#include "banned.h"

#define KEYS_MAX	4096
#define LOG_MAX		65536
#define WRITERS		8
#define PER_WRITER	60

struct key {
	char		 id[REGISTRATION_ID_MAX + 1];
	char		 ip[REGISTRATION_IP_MAX + 1];
	unsigned long	 seq;
	time_t		 at;
	uint64_t	 mod;
	int		 live;
};

/* One change as the watch would deliver it. */
struct logged {
	int		 del;
	struct key	 k;
	int		 seq_put;	/* the counter moved to k.seq */
	uint64_t	 rev;
};

struct fake {
	struct store	 store;
	pthread_mutex_t	 lock;
	pthread_cond_t	 more;
	struct key	 keys[KEYS_MAX];
	size_t		 nkeys;
	unsigned long	 counter;
	uint64_t	 revision, gen_mod;
	/* the change log and how far the watch delivered it */
	struct logged	*log;
	size_t		 nlog, delivered;
	int		 relist;	/* deliver RESET and a listing next */
	int		 stop;
	unsigned	 delay_ms;
	pthread_t	 watch;
	store_event_fn	*fn;
	void		*arg;
	/* injections */
	int		 conflicts_left;	/* another writer goes first */
	int		 alternate;	/* ...on every other commit only */
	int		 lose_next;	/* applied, answer lost */
	int		 down;		/* every call fails, nothing applied */
	int		 seq_hint;	/* STORE_SEQ_MOVED when it is so */
	const char	*steal;		/* another instance creates it first */
	/* what happened */
	unsigned long	 commit_calls, applied, barriers, seq_moved;
};

static struct key *
find(struct fake *f, const char *id)
{
	size_t i;

	for (i = 0; i < f->nkeys; i++)
		if (f->keys[i].live && strcmp(f->keys[i].id, id) == 0)
			return &f->keys[i];
	return NULL;
}

/* Applies a put at the next revision, logged for the watch. */
static void
store_put(struct fake *f, const char *id, const char *ip, unsigned long seq,
    time_t at, int seq_put)
{
	struct key *k = find(f, id);
	struct logged *l;

	if (k == NULL) {
		k = &f->keys[f->nkeys++];
		memset(k, 0, sizeof(*k));
		(void)snprintf(k->id, sizeof(k->id), "%s", id);
		k->live = 1;
	}
	(void)snprintf(k->ip, sizeof(k->ip), "%s", ip);
	k->seq = seq;
	k->at = at;
	k->mod = ++f->revision;
	f->gen_mod = f->revision;
	if (seq_put && seq > f->counter)
		f->counter = seq;
	l = &f->log[f->nlog++];
	memset(l, 0, sizeof(*l));
	l->k = *k;
	l->seq_put = seq_put;
	l->rev = f->revision;
}

static void
store_delete(struct fake *f, const char *id)
{
	struct key *k = find(f, id);
	struct logged *l;

	if (k == NULL)
		return;
	k->live = 0;
	f->gen_mod = ++f->revision;
	l = &f->log[f->nlog++];
	memset(l, 0, sizeof(*l));
	l->del = 1;
	l->k = *k;
	l->rev = f->revision;
}

static void
emit(struct fake *f, enum store_event_kind kind, const struct key *k,
    uint64_t rev)
{
	struct registration reg;
	struct store_entry e;
	struct store_event ev;
	struct errbuf eb;

	memset(&ev, 0, sizeof(ev));
	memset(&reg, 0, sizeof(reg));
	ev.kind = kind;
	ev.revision = rev;
	ev.generation = rev;
	ev.seq = k != NULL ? k->seq : 0;
	if (kind == STORE_EV_PUT) {
		if (registration_set(&reg, k->id, k->ip, NULL, &eb) == -1)
			abort();
		memset(&e, 0, sizeof(e));
		e.reg = &reg;
		e.seq = k->seq;
		e.registered_at = k->at;
		e.version = k->mod;
		ev.entry = &e;
	}
	if (kind == STORE_EV_DELETE)
		ev.identifier = k->id;
	f->fn(f->arg, &ev);
	registration_release(&reg);
}

/* The watch: delivers the log, delay_ms late, or a whole relisting. */
static void *
watch_run(void *arg)
{
	struct fake *f = arg;
	struct timespec ts;
	struct logged l;
	struct key k;
	size_t i;
	uint64_t rev;

	pthread_mutex_lock(&f->lock);
	while (!f->stop) {
		if (f->relist) {
			f->relist = 0;
			f->delivered = f->nlog;
			emit(f, STORE_EV_RESET, NULL, 0);
			for (i = 0; i < f->nkeys; i++)
				if (f->keys[i].live)
					emit(f, STORE_EV_PUT, &f->keys[i], 0);
			memset(&k, 0, sizeof(k));
			k.seq = f->counter;
			emit(f, STORE_EV_SEQ, &k, 0);
			emit(f, STORE_EV_SYNCED, NULL, f->gen_mod);
			continue;
		}
		if (f->delivered == f->nlog) {
			pthread_cond_wait(&f->more, &f->lock);
			continue;
		}
		l = f->log[f->delivered++];
		rev = l.rev;
		pthread_mutex_unlock(&f->lock);
		ts.tv_sec = 0;
		ts.tv_nsec = (long)f->delay_ms * 1000000L;
		if (f->delay_ms > 0)
			nanosleep(&ts, NULL);
		emit(f, l.del ? STORE_EV_DELETE : STORE_EV_PUT, &l.k, rev);
		if (l.seq_put)
			emit(f, STORE_EV_SEQ, &l.k, rev);
		emit(f, STORE_EV_SYNCED, NULL, rev);
		pthread_mutex_lock(&f->lock);
	}
	pthread_mutex_unlock(&f->lock);
	return NULL;
}

static int
fake_subscribe(struct store *s, store_event_fn *fn, void *arg,
    struct errbuf *eb)
{
	struct fake *f = (struct fake *)s;

	(void)eb;
	f->fn = fn;
	f->arg = arg;
	pthread_mutex_lock(&f->lock);
	f->relist = 1;
	pthread_mutex_unlock(&f->lock);
	if (pthread_create(&f->watch, NULL, watch_run, f) != 0)
		abort();
	return 0;
}

static int
fake_commit(struct store *s, const struct store_change *c, size_t n,
    unsigned long *seq, uint64_t *rev, struct errbuf *eb)
{
	struct fake *f = (struct fake *)s;
	struct key *k;
	char id[64];
	size_t i;
	int creates = 0, ok = 1, lose;
	unsigned long top = 0;

	pthread_mutex_lock(&f->lock);
	f->commit_calls++;
	if (f->down) {
		pthread_mutex_unlock(&f->lock);
		return errbuf_set(eb, EC_REMOTE, "fake: unreachable");
	}
	if (f->conflicts_left > 0 &&
	    (!f->alternate || f->commit_calls % 2 == 0)) {
		/* Another instance registers a node of its own first. */
		f->conflicts_left--;
		(void)snprintf(id, sizeof(id), "other-%lu", f->counter + 1);
		store_put(f, id, "10.9.9.9", f->counter + 1, 1, 1);
	}
	if (f->steal != NULL) {
		store_put(f, f->steal, "10.9.9.9", f->counter + 1, 1, 1);
		f->steal = NULL;
	}
	for (i = 0; i < n; i++)
		if (c[i].kind == STORE_CREATE) {
			creates = 1;
			if (c[i].entry.seq > top)
				top = c[i].entry.seq;
		}
	if (creates && *seq != f->counter) {
		/* As etcd's failure range of the counter says. */
		if (f->seq_hint) {
			*seq = f->counter;
			*rev = f->gen_mod;
			f->seq_moved++;
			pthread_cond_signal(&f->more);
			pthread_mutex_unlock(&f->lock);
			return STORE_SEQ_MOVED;
		}
		ok = 0;
	}
	for (i = 0; i < n && ok; i++) {
		k = find(f, c[i].identifier);
		switch (c[i].kind) {
		case STORE_CREATE:
			ok = k == NULL;
			break;
		case STORE_REPLACE:
			ok = k != NULL && k->mod == c[i].expect;
			break;
		case STORE_DELETE:
			ok = k != NULL;
			break;
		}
	}
	if (!ok) {
		*rev = f->gen_mod;
		pthread_cond_signal(&f->more);
		pthread_mutex_unlock(&f->lock);
		return STORE_CONFLICT;
	}
	for (i = 0; i < n; i++) {
		if (c[i].kind == STORE_DELETE)
			store_delete(f, c[i].identifier);
		else
			store_put(f, c[i].identifier, c[i].entry.reg->ip,
			    c[i].entry.seq, c[i].entry.registered_at,
			    c[i].entry.seq == top && creates);
	}
	f->applied++;
	*rev = f->revision;
	lose = f->lose_next;
	f->lose_next = 0;
	pthread_cond_signal(&f->more);
	pthread_mutex_unlock(&f->lock);
	if (lose)
		return errbuf_set(eb, EC_REMOTE, "fake: answer lost");
	return 0;
}

static int
fake_barrier(struct store *s, uint64_t *rev, struct errbuf *eb)
{
	struct fake *f = (struct fake *)s;

	pthread_mutex_lock(&f->lock);
	f->barriers++;
	if (f->down) {
		pthread_mutex_unlock(&f->lock);
		return errbuf_set(eb, EC_REMOTE, "fake: unreachable");
	}
	*rev = f->gen_mod;
	pthread_mutex_unlock(&f->lock);
	return 0;
}

static void
fake_free(struct store *s)
{
	struct fake *f = (struct fake *)s;

	pthread_mutex_lock(&f->lock);
	f->stop = 1;
	pthread_cond_signal(&f->more);
	pthread_mutex_unlock(&f->lock);
	pthread_join(f->watch, NULL);
}

static const struct store_ops fake_ops = {
	fake_subscribe, fake_commit, fake_barrier, NULL, fake_free
};

static void
fake_init(struct fake *f)
{
	memset(f, 0, sizeof(*f));
	f->store.ops = &fake_ops;
	f->store.batch_max = 100;
	pthread_mutex_init(&f->lock, NULL);
	pthread_cond_init(&f->more, NULL);
	if ((f->log = calloc(LOG_MAX, sizeof(*f->log))) == NULL)
		abort();
	f->delay_ms = 1;
}

static void
fake_release(struct fake *f)
{
	free(f->log);
	pthread_cond_destroy(&f->more);
	pthread_mutex_destroy(&f->lock);
}

static int
put(struct registry *r, const char *id, const char *ip, struct errbuf *eb)
{
	struct registration reg;
	int rc;

	memset(&reg, 0, sizeof(reg));
	if (registration_set(&reg, id, ip, NULL, eb) == -1)
		abort();
	rc = registry_put(r, &reg, 1000, eb);
	registration_release(&reg);
	return rc;
}

/* The seq of id in the registry's snapshot, or 0. */
static unsigned long
seq_of(struct registry *r, const char *id)
{
	unsigned char digest[REGISTRY_DIGEST_LEN];
	unsigned long gen, seq = 0;
	struct buf b;
	size_t count;
	char pat[128];
	const char *p;

	buf_init(&b, 1UL << 24);
	if (registry_snapshot(r, &b, &gen, &count, digest) == -1)
		abort();
	(void)snprintf(pat, sizeof(pat), "{\"identifier\":\"%s\",", id);
	if ((p = strstr(b.data, pat)) != NULL &&
	    (p = strstr(p, "\"seq\":")) != NULL)
		seq = strtoul(p + 6, NULL, 10);
	buf_release(&b);
	return seq;
}

struct writer {
	struct registry	*r;
	int		 t;
	int		 bad;
};

static void *
writer_run(void *arg)
{
	struct writer *w = arg;
	struct errbuf eb;
	char name[32];
	int i, rc;

	for (i = 0; i < PER_WRITER; i++) {
		(void)snprintf(name, sizeof(name), "w%d-%d", w->t, i);
		rc = put(w->r, name, "10.0.0.1", &eb);
		/* A lost answer's retry finds its own write: UNCHANGED. */
		if (rc != REGISTRY_CHANGED && rc != REGISTRY_UNCHANGED)
			w->bad++;
	}
	return NULL;
}

static int
cmp_ul(const void *a, const void *b)
{
	unsigned long x = *(const unsigned long *)a;
	unsigned long y = *(const unsigned long *)b;

	return x < y ? -1 : x > y;
}

/* Every live key's seq, sorted, is 1..n with n = the counter. */
static int
dense(struct fake *f)
{
	unsigned long seqs[KEYS_MAX];
	size_t i, n = 0;

	pthread_mutex_lock(&f->lock);
	for (i = 0; i < f->nkeys; i++)
		if (f->keys[i].live)
			seqs[n++] = f->keys[i].seq;
	pthread_mutex_unlock(&f->lock);
	qsort(seqs, n, sizeof(seqs[0]), cmp_ul);
	for (i = 0; i < n; i++)
		if (seqs[i] != i + 1)
			return 0;
	return n == f->counter;
}

static void
test_concurrent(void)
{
	struct fake f;
	struct registry *r;
	struct registry_stats st;
	struct writer w[WRITERS];
	pthread_t th[WRITERS];
	struct errbuf eb;
	int i, bad = 0;

	fake_init(&f);
	f.conflicts_left = 25;
	f.alternate = 1;
	f.seq_hint = 1;
	r = registry_new(100000, &f.store, &eb);
	CHECK(r != NULL);
	for (i = 0; i < WRITERS; i++) {
		w[i].r = r;
		w[i].t = i;
		w[i].bad = 0;
		if (pthread_create(&th[i], NULL, writer_run, &w[i]) != 0)
			abort();
	}
	/* Lose a few answers while they run. */
	for (i = 0; i < 5; i++) {
		usleep(3000);
		pthread_mutex_lock(&f.lock);
		f.lose_next = 1;
		pthread_mutex_unlock(&f.lock);
	}
	for (i = 0; i < WRITERS; i++) {
		pthread_join(th[i], NULL);
		bad += w[i].bad;
	}
	CHECK(bad == 0);
	CHECK(f.conflicts_left == 0);
	/* Ours and the other writer's, each once, seq dense. */
	CHECK(registry_count(r) == WRITERS * PER_WRITER + 25);
	CHECK(f.nkeys == WRITERS * PER_WRITER + 25);
	CHECK(dense(&f));
	registry_get_stats(r, &st);
	CHECK(st.conflicts >= 25 && f.seq_moved > 0);
	CHECK(st.batches < WRITERS * PER_WRITER);
	CHECK(st.revision == f.revision);
	fprintf(stderr, "committer: %d registrations, %lu commits, %lu "
	    "conflicts, %lu barriers\n", WRITERS * PER_WRITER, f.applied,
	    st.conflicts, f.barriers);
	registry_free(r);
	fake_release(&f);
}

static void
test_one_by_one(void)
{
	struct fake f;
	struct registry *r;
	struct errbuf eb;
	unsigned long calls, applied, used;
	uint64_t gen, t0;

	fake_init(&f);
	f.delay_ms = 5;		/* the watch lags: every answer waits for it */
	r = registry_new(100, &f.store, &eb);
	CHECK(r != NULL);
	CHECK(put(r, "a", "10.0.0.1", &eb) == REGISTRY_CHANGED);
	CHECK(seq_of(r, "a") == 1);

	/* Identical: a barrier, no commit. */
	calls = f.commit_calls;
	CHECK(put(r, "a", "10.0.0.1", &eb) == REGISTRY_UNCHANGED);
	CHECK(f.commit_calls == calls);

	/* A conflict: decided again, after the other writer's node. */
	f.conflicts_left = 1;
	CHECK(put(r, "b", "10.0.0.1", &eb) == REGISTRY_CHANGED);
	CHECK(seq_of(r, "other-2") == 2);
	CHECK(seq_of(r, "b") == 3);
	CHECK(registry_count(r) == 3);

	/* Changed: keeps its seq. */
	CHECK(put(r, "a", "10.0.0.2", &eb) == REGISTRY_CHANGED);
	CHECK(seq_of(r, "a") == 1);

	/* A lost answer: the retry finds its own write and writes nothing. */
	f.lose_next = 1;
	applied = f.applied;
	CHECK(put(r, "c", "10.0.0.1", &eb) == REGISTRY_UNCHANGED);
	CHECK(f.applied == applied + 1);
	CHECK(seq_of(r, "c") == 4);
	CHECK(dense(&f));

	/* A removal, and of an absent one: no write. */
	CHECK(registry_remove(r, "b", &eb) == 1);
	CHECK(!registry_contains(r, "b"));
	calls = f.commit_calls;
	CHECK(registry_remove(r, "b", &eb) == 0);
	CHECK(f.commit_calls == calls);
	/* Coming back: a new seq. */
	CHECK(put(r, "b", "10.0.0.1", &eb) == REGISTRY_CHANGED);
	CHECK(seq_of(r, "b") == 5);

	/* Unreachable past the commit timeout: EC_REMOTE, nothing changed. */
	registry_set_commit_timeout(r, 300);
	f.down = 1;
	gen = registry_generation(r);
	CHECK(put(r, "d", "10.0.0.1", &eb) == -1);
	CHECK(eb.code == EC_REMOTE &&
	    strstr(eb.msg, "unreachable") != NULL);
	CHECK(!registry_contains(r, "d"));
	CHECK(registry_generation(r) == gen);
	f.down = 0;
	CHECK(put(r, "d", "10.0.0.1", &eb) == REGISTRY_CHANGED);

	/*
	 * Always a conflict: decided again, with pauses, until the commit
	 * timeout (300 ms), then EC_REMOTE; each conflict was another
	 * writer's seq.
	 */
	f.conflicts_left = 1000;
	t0 = clock_ms();
	CHECK(put(r, "e", "10.0.0.1", &eb) == -1);
	CHECK(clock_ms() - t0 >= 300);
	CHECK(eb.code == EC_REMOTE && strstr(eb.msg, "conflicts") != NULL);
	used = 1000 - f.conflicts_left;
	CHECK(used > 1 && used < 1000);
	f.conflicts_left = 0;
	CHECK(seq_of(r, "d") == 6 && f.counter == 6 + used);

	/*
	 * A compaction: changes the watch never delivers, then a RESET and
	 * a listing: the mirror equals the store again.
	 */
	pthread_mutex_lock(&f.lock);
	f.delivered = f.nlog;
	store_delete(&f, "a");
	store_put(&f, "z", "10.1.1.1", f.counter + 1, 7, 1);
	f.delivered = f.nlog;	/* compacted away */
	pthread_mutex_unlock(&f.lock);
	CHECK(registry_contains(r, "a") && !registry_contains(r, "z"));
	pthread_mutex_lock(&f.lock);
	f.relist = 1;
	pthread_cond_signal(&f.more);
	pthread_mutex_unlock(&f.lock);
	CHECK(registry_wait_applied(r, f.revision, 2000) == 0);
	CHECK(!registry_contains(r, "a") && registry_contains(r, "z"));
	CHECK(registry_count(r) == f.nkeys - 2);	/* b's old key, a */
	/* And the next new node follows z's seq. */
	CHECK(put(r, "f", "10.0.0.1", &eb) == REGISTRY_CHANGED);
	CHECK(seq_of(r, "f") == seq_of(r, "z") + 1);
	CHECK(dense(&f) == 0);	/* a's seq 1 is gone: holes, as removals */
	registry_free(r);
	fake_release(&f);
}

/*
 * Told that only the counter moved (etcd's failure ranges), the committer
 * numbers its creates again and commits at once: no barrier, no wait for
 * the mirror; and gives up at the commit timeout all the same.
 */
static void
test_seq_moved(void)
{
	struct fake f;
	struct registry *r;
	struct errbuf eb;
	unsigned long calls, barriers, moved;

	fake_init(&f);
	f.seq_hint = 1;
	f.delay_ms = 50;	/* a mirror this slow would show in the time */
	r = registry_new(100, &f.store, &eb);
	CHECK(r != NULL);
	CHECK(put(r, "a", "10.0.0.1", &eb) == REGISTRY_CHANGED);
	f.conflicts_left = 2;
	calls = f.commit_calls;
	barriers = f.barriers;
	CHECK(put(r, "b", "10.0.0.1", &eb) == REGISTRY_CHANGED);
	CHECK(f.seq_moved == 2 && f.commit_calls == calls + 3);
	CHECK(f.barriers == barriers);
	CHECK(seq_of(r, "other-2") == 2 && seq_of(r, "other-3") == 3);
	CHECK(seq_of(r, "b") == 4);
	CHECK(dense(&f));

	/*
	 * The counter moved because another instance created the very node
	 * of the batch: numbered again, the commit is a conflict, and the
	 * change decided again is a replacement keeping the other's seq.
	 */
	f.steal = "q";
	calls = f.commit_calls;
	moved = f.seq_moved;
	CHECK(put(r, "q", "10.0.0.1", &eb) == REGISTRY_CHANGED);
	CHECK(f.seq_moved == moved + 1 && f.commit_calls == calls + 3);
	CHECK(seq_of(r, "q") == 5 && f.counter == 5);
	CHECK(dense(&f));

	/* Losing every time: pauses, then EC_REMOTE at the timeout. */
	registry_set_commit_timeout(r, 200);
	f.conflicts_left = 1000;
	CHECK(put(r, "c", "10.0.0.1", &eb) == -1);
	CHECK(eb.code == EC_REMOTE && strstr(eb.msg, "conflicts") != NULL);
	CHECK(!registry_contains(r, "c"));
	CHECK(f.conflicts_left > 0 && f.conflicts_left < 1000 - 3);
	f.conflicts_left = 0;
	CHECK(dense(&f));
	registry_free(r);
	fake_release(&f);
}

/*
 * A mirror slower than the commit timeout: the change is answered first,
 * and registry_node_state says a generation committed that the mirror
 * does not show yet.
 */
static void
test_committed_ahead(void)
{
	struct fake f;
	struct registry *r;
	struct registry_node_state ns;
	struct registry_stats st;
	struct errbuf eb;
	struct timespec ts = { 0, 10 * 1000000L };
	unsigned long ahead;
	int i;

	fake_init(&f);
	f.delay_ms = 400;
	r = registry_new(100, &f.store, &eb);
	CHECK(r != NULL);
	/* The first listing in, or it may list the commit itself. */
	for (i = 0; i < 200 && (registry_get_stats(r, &st), !st.current); i++)
		nanosleep(&ts, NULL);
	registry_set_commit_timeout(r, 50);
	CHECK(put(r, "a", "10.0.0.1", &eb) == REGISTRY_CHANGED);
	registry_node_state(r, "a", &ns);
	ahead = ns.committed;
	CHECK(ahead > ns.generation);
	for (i = 0; i < 200 && registry_generation(r) < ahead; i++)
		nanosleep(&ts, NULL);
	registry_node_state(r, "a", &ns);
	CHECK(ns.generation == ahead);
	CHECK(ns.committed == ahead);
	CHECK(ns.node_generation == ahead);
	registry_free(r);
	fake_release(&f);
}

/*
 * The store restored from a backup: its history, generations included,
 * goes back, and the listing after it says so (registry_rewinds); what
 * commits had reached is no longer in it, and the next node takes the
 * restored counter's next seq.
 */
static void
test_rewound(void)
{
	static struct key keys[KEYS_MAX];
	struct fake f;
	struct registry *r;
	struct registry_node_state ns;
	struct errbuf eb;
	struct timespec ts = { 0, 10 * 1000000L };
	unsigned long counter;
	uint64_t revision, gen_mod;
	size_t nkeys;
	int i;

	fake_init(&f);
	r = registry_new(100, &f.store, &eb);
	CHECK(r != NULL);
	CHECK(put(r, "a", "10.0.0.1", &eb) == REGISTRY_CHANGED);
	CHECK(put(r, "b", "10.0.0.1", &eb) == REGISTRY_CHANGED);
	pthread_mutex_lock(&f.lock);	/* the backup */
	memcpy(keys, f.keys, sizeof(keys));
	nkeys = f.nkeys;
	counter = f.counter;
	revision = f.revision;
	gen_mod = f.gen_mod;
	pthread_mutex_unlock(&f.lock);
	CHECK(put(r, "c", "10.0.0.1", &eb) == REGISTRY_CHANGED);
	CHECK(put(r, "d", "10.0.0.1", &eb) == REGISTRY_CHANGED);
	CHECK(registry_rewinds(r) == 0);
	pthread_mutex_lock(&f.lock);	/* the restore */
	memcpy(f.keys, keys, sizeof(keys));
	f.nkeys = nkeys;
	f.counter = counter;
	f.revision = revision;
	f.gen_mod = gen_mod;
	f.delivered = f.nlog;
	f.relist = 1;
	pthread_cond_signal(&f.more);
	pthread_mutex_unlock(&f.lock);
	for (i = 0; i < 200 && registry_rewinds(r) == 0; i++)
		nanosleep(&ts, NULL);
	CHECK(registry_rewinds(r) == 1);
	CHECK(registry_generation(r) == gen_mod);
	CHECK(registry_count(r) == 2 && !registry_contains(r, "c"));
	registry_node_state(r, "a", &ns);
	CHECK(ns.committed == gen_mod);
	CHECK(put(r, "e", "10.0.0.1", &eb) == REGISTRY_CHANGED);
	CHECK(seq_of(r, "e") == 3 && dense(&f));
	CHECK(registry_rewinds(r) == 1);
	registry_free(r);
	fake_release(&f);
}

int
main(int argc, char **argv)
{
	check_init(argc, argv);
	test_one_by_one();
	test_seq_moved();
	test_committed_ahead();
	test_rewound();
	test_concurrent();
	return check_done("test_committer");
}
