/*
 * The etcd store (--etcd): registrations under the prefix P as
 * P/reg/<identifier> (the value is exactly the snapshot element,
 * {"identifier","ip","metadata"?,"seq","registered_at"}), the seq counter
 * as P/seq (decimal, the last seq given out) and the generation as the
 * mod_revision of P/gen (empty, put by every change of the set).
 *
 * A thread of its own lists [P/gen, P/ser) at one pinned revision, 10 000
 * keys a page, hands the listing to the registry at once (RESET, PUT...,
 * SEQ, SYNCED), then watches from the next revision and hands on each
 * message's events.  A watch canceled by a compaction, or a revision
 * going backwards (a restored etcd), means listing again; a broken stream
 * means DOWN, then watching again from where it was.  The mirror's
 * revision is the highest mod_revision applied: every change of the set
 * puts P/gen, so gen's mod_revision is the barrier.
 *
 * A commit is one txn: compares (VALUE(P/seq) when the batch creates,
 * CREATE == 0 per new identifier, MOD == the version decided against per
 * replacement, CREATE > 0 per removal); success puts the values, P/seq and
 * P/gen; failure ranges P/gen, whose mod_revision the mirror must reach
 * before deciding again, and P/seq.  When the counter moved, other
 * instances created in the meantime: the registry numbers its creates
 * from the counter the failure read and commits again at once, instead of
 * waiting for its mirror to see their writes (three instances registering
 * new nodes at once conflict on nothing else); if an identifier moved
 * too, that commit fails with the counter as expected, a conflict.  The
 * failure branch names no identifier: etcd keeps, sends to every member
 * and decodes the whole request, so a range per identifier there cost a
 * sixth of the registrations/s (test/bench/README.md).
 */
#include "store.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "buf.h"
#include "clock.h"
#include "diag.h"
#include "errbuf.h"
#include "etcd.h"
#include "exitcode.h"
#include "registration.h"
#include "banned.h"

/*
 * One txn: etcd's cap is 128 operations in each of its lists (compares:
 * one a change and seq; success: one a change, seq and gen).  120
 * changes: a sixth fewer txns than 100.
 */
#define ETCD_STORE_BATCH_MAX	120
/*
 * And etcd's cap on a request, 1.5 MiB by default (--max-request-bytes):
 * 1 MiB of registrations, plus one of at most 64 KiB, plus keys and
 * compares stays under it.
 */
#define ETCD_STORE_BATCH_BYTES	(1UL << 20)
/*
 * A listing's pages: the first of ETCD_STORE_PAGE_FIRST keys, each next
 * one as many keys as make about ETCD_STORE_PAGE_BYTES of values at the
 * size the last page's had, ETCD_STORE_PAGE at most.  10 000 keys of
 * registrations near the 64 KiB body cap would be a gigabyte of JSON,
 * over what an answer may be (ETCD_ANSWER_MAX): a listing that never
 * ends, and a mirror that never syncs.
 */
#define ETCD_STORE_PAGE		10000
#define ETCD_STORE_PAGE_FIRST	256
#define ETCD_STORE_PAGE_BYTES	(16UL << 20)
#define ETCD_STORE_DOC_MAX	(1UL << 20)
#define ETCD_STORE_KEY_MAX	1024
/* Between tries while etcd is unreachable, in ms. */
#define ETCD_STORE_RETRY_MS	500

/* What on_watch returns to end the stream. */
#define WATCH_RESYNC		2
#define WATCH_AGAIN		3

struct etcd_store {
	struct store	 store;		/* first: the interface */
	struct etcd	*etcd;		/* borrowed */
	store_event_fn	*fn;
	void		*arg;
	pthread_t	 thread;
	int		 started;
	volatile int	 stop;
	/* The watch thread's alone. */
	uint64_t	 revision;	/* applied up to */
	uint64_t	 generation;	/* gen's mod_revision */
	unsigned long	 counter;	/* seq's value */
	int		 down;		/* DOWN sent, not yet up again */
};

static void
emit(struct etcd_store *s, enum store_event_kind kind,
    const struct store_entry *e, const char *identifier, const char *why)
{
	struct store_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.kind = kind;
	ev.entry = e;
	ev.identifier = identifier;
	ev.seq = s->counter;
	ev.revision = s->revision;
	ev.generation = s->generation;
	ev.why = why;
	s->fn(s->arg, &ev);
}

/* Sleeps ms, or less when stopping. */
static void
pause_ms(struct etcd_store *s, unsigned ms)
{
	struct timespec ts = { 0, 50 * 1000000L };
	unsigned i;

	for (i = 0; i < ms / 50 && !s->stop; i++)
		nanosleep(&ts, NULL);
}

static struct json_object *
u64(uint64_t n)
{
	char s[32];

	(void)snprintf(s, sizeof(s), "%" PRIu64, n);
	return json_object_new_string(s);
}

/* The key of kv as text without the prefix, in b; 0 or -1 (not ours). */
static int
kv_suffix(struct etcd_store *s, struct json_object *kv, struct buf *b,
    const char **suffix)
{
	struct json_object *k;
	const char *p = etcd_prefix(s->etcd);
	size_t plen = strlen(p);

	buf_reset(b);
	if (!json_object_object_get_ex(kv, "key", &k) ||
	    etcd_unbytes(k, b) == -1 || b->len < plen ||
	    memcmp(b->data, p, plen) != 0 || strlen(b->data) != b->len)
		return -1;
	*suffix = b->data + plen;
	return 0;
}

/* Parses a registration's stored value into reg, seq and time. */
static int
doc_parse(const char *doc, size_t len, struct registration *reg,
    struct store_entry *e, struct errbuf *eb)
{
	struct json_object *o = NULL, *v;
	const char *when;
	int rc = -1;

	if (registration_parse(reg, doc, len, ETCD_STORE_DOC_MAX, eb) == -1)
		return -1;
	if ((o = json_tokener_parse(doc)) == NULL ||
	    !json_object_object_get_ex(o, "seq", &v) ||
	    !json_object_is_type(v, json_type_int) ||
	    json_object_get_int64(v) <= 0 ||
	    !json_object_object_get_ex(o, "registered_at", &v) ||
	    !json_object_is_type(v, json_type_string) ||
	    (when = json_object_get_string(v)) == NULL ||
	    clock_utc_parse(when, &e->registered_at) == -1) {
		errbuf_set(eb, EC_INVALID, "no seq or registered_at");
		goto out;
	}
	json_object_object_get_ex(o, "seq", &v);
	e->seq = (unsigned long)json_object_get_int64(v);
	e->reg = reg;
	rc = 0;
out:
	json_object_put(o);
	return rc;
}

/* The seq counter's value, decimal digits only.  0, or -1. */
static int
parse_seq(const char *d, size_t len, unsigned long *v)
{
	unsigned long n = 0;
	size_t i;

	if (len == 0 || len > 19)
		return -1;
	for (i = 0; i < len; i++) {
		if (d[i] < '0' || d[i] > '9')
			return -1;
		n = n * 10 + (unsigned long)(d[i] - '0');
	}
	*v = n;
	return 0;
}

/* Applies one key-value (or its deletion) of the watched range. */
static void
apply_kv(struct etcd_store *s, struct json_object *kv, int del,
    struct buf *key, struct buf *val)
{
	struct json_object *v;
	struct registration reg;
	struct store_entry e;
	struct errbuf eb;
	const char *suffix;
	uint64_t mod = etcd_int(kv, "mod_revision");

	if (kv_suffix(s, kv, key, &suffix) == -1)
		return;
	if (strcmp(suffix, "gen") == 0) {
		if (!del)
			s->generation = mod;
		return;
	}
	buf_reset(val);
	if (strcmp(suffix, "seq") == 0) {
		if (del)
			return;
		if (!json_object_object_get_ex(kv, "value", &v) ||
		    etcd_unbytes(v, val) == -1 ||
		    parse_seq(val->data, val->len, &s->counter) == -1)
			return;
		emit(s, STORE_EV_SEQ, NULL, NULL, NULL);
		return;
	}
	if (strncmp(suffix, "reg/", 4) != 0)
		return;
	if (del) {
		emit(s, STORE_EV_DELETE, NULL, suffix + 4, NULL);
		return;
	}
	memset(&reg, 0, sizeof(reg));
	memset(&e, 0, sizeof(e));
	if (!json_object_object_get_ex(kv, "value", &v) ||
	    etcd_unbytes(v, val) == -1 || val->data == NULL ||
	    doc_parse(val->data, val->len, &reg, &e, &eb) == -1 ||
	    strcmp(reg.identifier, suffix + 4) != 0) {
		diag_warn("etcd: %s: not a registration, ignored", suffix);
		registration_release(&reg);
		return;
	}
	e.version = mod;
	emit(s, STORE_EV_PUT, &e, NULL, NULL);
	registration_release(&reg);
}

/* The range request of the watched keys: limit of them, from from on. */
static struct json_object *
range_body(struct etcd_store *s, struct json_object *from, uint64_t rev,
    size_t limit)
{
	struct json_object *o = json_object_new_object();

	if (o == NULL ||
	    etcd_add(o, "key", from != NULL ? from : etcd_key(s->etcd, "gen")) ==
	    -1 || etcd_add(o, "range_end", etcd_range_end(s->etcd, "seq")) == -1 ||
	    etcd_add(o, "limit", json_object_new_int64((int64_t)limit)) == -1 ||
	    (rev > 0 && etcd_add(o, "revision", u64(rev)) == -1)) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

/* How many keys the page after kvs (n of them) asks for. */
static size_t
next_page(struct json_object *kvs, size_t n)
{
	struct json_object *v;
	size_t i, bytes = 0, each;

	for (i = 0; i < n; i++)
		if (json_object_object_get_ex(json_object_array_get_idx(kvs, i),
		    "value", &v))
			bytes += (size_t)json_object_get_string_len(v);
	each = bytes / n + 1;
	if (ETCD_STORE_PAGE_BYTES / each >= ETCD_STORE_PAGE)
		return ETCD_STORE_PAGE;
	return ETCD_STORE_PAGE_BYTES / each + 1;
}

/*
 * Lists the watched range at one revision, every page first, then hands
 * it on whole: RESET, the entries, SEQ, SYNCED.  0, or -1 (eb).
 */
static int
list(struct etcd_store *s, struct errbuf *eb)
{
	struct json_object **pages = NULL, **grown, *body, *a, *kvs, *kv, *k;
	struct buf key, val, next;
	size_t npages = 0, i, j, n, limit = ETCD_STORE_PAGE_FIRST;
	uint64_t rev = 0;
	int rc = -1, more;

	buf_init(&key, ETCD_STORE_KEY_MAX * 2);
	buf_init(&val, ETCD_STORE_DOC_MAX);
	buf_init(&next, ETCD_STORE_KEY_MAX * 2);
	k = NULL;
	do {
		if ((body = range_body(s, k, rev, limit)) == NULL) {
			errbuf_set(eb, EC_INTERNAL, "out of memory");
			goto out;
		}
		k = NULL;
		a = NULL;
		if (etcd_call(s->etcd, "/v3/kv/range", body, &a, NULL,
		    eb) == -1) {
			json_object_put(body);
			goto out;
		}
		json_object_put(body);
		if ((grown = realloc(pages, (npages + 1) *
		    sizeof(*pages))) == NULL) {
			json_object_put(a);
			errbuf_set(eb, EC_INTERNAL, "out of memory");
			goto out;
		}
		pages = grown;
		pages[npages++] = a;
		if (rev == 0)
			rev = etcd_revision(a);
		more = etcd_bool(a, "more");
		if (more) {
			if (!json_object_object_get_ex(a, "kvs", &kvs) ||
			    (n = json_object_array_length(kvs)) == 0)
				break;
			limit = next_page(kvs, n);
			kv = json_object_array_get_idx(kvs, n - 1);
			buf_reset(&next);
			if (!json_object_object_get_ex(kv, "key", &k) ||
			    etcd_unbytes(k, &next) == -1 ||
			    buf_addc(&next, '\0') == -1 ||
			    (k = etcd_bytes(next.data, next.len)) == NULL) {
				errbuf_set(eb, EC_INTERNAL, "etcd: bad key");
				goto out;
			}
		}
	} while (more);
	s->counter = 0;
	s->generation = 0;
	s->revision = 0;
	emit(s, STORE_EV_RESET, NULL, NULL, NULL);
	for (i = 0; i < npages; i++) {
		if (!json_object_object_get_ex(pages[i], "kvs", &kvs))
			continue;
		n = json_object_array_length(kvs);
		for (j = 0; j < n; j++)
			apply_kv(s, json_object_array_get_idx(kvs, j), 0, &key,
			    &val);
	}
	s->revision = rev;
	emit(s, STORE_EV_SEQ, NULL, NULL, NULL);
	emit(s, STORE_EV_SYNCED, NULL, NULL, NULL);
	s->down = 0;
	rc = 0;
out:
	for (i = 0; i < npages; i++)
		json_object_put(pages[i]);
	free(pages);
	buf_release(&key);
	buf_release(&val);
	buf_release(&next);
	return rc;
}

struct watch_state {
	struct etcd_store	*s;
	struct buf		 key, val;
};

static int
on_watch(void *arg, struct json_object *res)
{
	struct watch_state *w = arg;
	struct etcd_store *s = w->s;
	struct json_object *evs, *ev, *kv, *t;
	uint64_t hrev = etcd_revision(res), mod, top = 0;
	size_t i, n;
	int del;

	if (hrev != 0 && hrev < s->revision)
		return WATCH_RESYNC;	/* a restored etcd */
	if (etcd_bool(res, "canceled"))
		return etcd_int(res, "compact_revision") > 0 ? WATCH_RESYNC :
		    WATCH_AGAIN;
	if (etcd_bool(res, "created")) {
		s->down = 0;
		emit(s, STORE_EV_SYNCED, NULL, NULL, NULL);	/* up again */
		return 0;
	}
	if (!json_object_object_get_ex(res, "events", &evs))
		return 0;
	n = json_object_array_length(evs);
	for (i = 0; i < n; i++) {
		ev = json_object_array_get_idx(evs, i);
		if (!json_object_object_get_ex(ev, "kv", &kv))
			continue;
		mod = etcd_int(kv, "mod_revision");
		if (mod <= s->revision)
			continue;	/* seen before a reconnect */
		del = json_object_object_get_ex(ev, "type", &t) &&
		    strcmp(json_object_get_string(t), "DELETE") == 0;
		apply_kv(s, kv, del, &w->key, &w->val);
		if (mod > top)
			top = mod;
	}
	if (top > 0) {
		s->revision = top;
		emit(s, STORE_EV_SYNCED, NULL, NULL, NULL);
	}
	return 0;
}

static struct json_object *
watch_body(struct etcd_store *s)
{
	struct json_object *w = json_object_new_object(), *c;

	if (w == NULL || (c = json_object_new_object()) == NULL) {
		json_object_put(w);
		return NULL;
	}
	if (etcd_add(w, "create_request", c) == -1 ||
	    etcd_add(c, "key", etcd_key(s->etcd, "gen")) == -1 ||
	    etcd_add(c, "range_end", etcd_range_end(s->etcd, "seq")) == -1 ||
	    etcd_add(c, "start_revision", u64(s->revision + 1)) == -1) {
		json_object_put(w);
		return NULL;
	}
	return w;
}

static void
went_down(struct etcd_store *s, const char *why)
{
	if (!s->down) {
		diag_warn("etcd: registrations: %s", why);
		emit(s, STORE_EV_DOWN, NULL, NULL, why);
	}
	s->down = 1;
}

static void *
watcher(void *arg)
{
	struct etcd_store *s = arg;
	struct watch_state w;
	struct json_object *body;
	struct errbuf eb;
	int listed = 0, rc;

	memset(&w, 0, sizeof(w));
	w.s = s;
	buf_init(&w.key, ETCD_STORE_KEY_MAX * 2);
	buf_init(&w.val, ETCD_STORE_DOC_MAX);
	while (!s->stop) {
		if (!listed) {
			if (list(s, &eb) == -1) {
				went_down(s, eb.msg);
				pause_ms(s, ETCD_STORE_RETRY_MS);
				continue;
			}
			listed = 1;
		}
		if ((body = watch_body(s)) == NULL) {
			pause_ms(s, ETCD_STORE_RETRY_MS);
			continue;
		}
		rc = etcd_watch(s->etcd, body, on_watch, &w, &s->stop, &eb);
		json_object_put(body);
		if (s->stop)
			break;
		if (rc == WATCH_RESYNC) {
			diag_warn("etcd: registrations: compacted or restored "
			    "past revision %" PRIu64 ": listing again",
			    s->revision);
			listed = 0;
			continue;
		}
		if (rc == -1)
			went_down(s, eb.msg);
		pause_ms(s, rc == -1 ? ETCD_STORE_RETRY_MS : 100);
	}
	buf_release(&w.key);
	buf_release(&w.val);
	return NULL;
}

static int
etcd_store_subscribe(struct store *st, store_event_fn *fn, void *arg,
    struct errbuf *eb)
{
	struct etcd_store *s = (struct etcd_store *)st;

	s->fn = fn;
	s->arg = arg;
	if (pthread_create(&s->thread, NULL, watcher, s) != 0)
		return errbuf_set(eb, EC_INTERNAL, "cannot start a thread");
	s->started = 1;
	return 0;
}

/* {"key":P/suffix,"target":target,"result":result,member:value} */
static struct json_object *
compare(struct etcd_store *s, const char *suffix, const char *target,
    const char *result, const char *member, struct json_object *value)
{
	return etcd_compare(etcd_key(s->etcd, suffix), target, result, member,
	    value);
}

/* {"request_put":{"key":P/suffix,"value":bytes}} */
static struct json_object *
put_op(struct etcd_store *s, const char *suffix, const char *v, size_t len)
{
	struct json_object *op = json_object_new_object(), *p;

	if (op == NULL || (p = json_object_new_object()) == NULL) {
		json_object_put(op);
		return NULL;
	}
	if (etcd_add(op, "request_put", p) == -1 ||
	    etcd_add(p, "key", etcd_key(s->etcd, suffix)) == -1 ||
	    etcd_add(p, "value", etcd_bytes(v, len)) == -1) {
		json_object_put(op);
		return NULL;
	}
	return op;
}

static struct json_object *
delete_op(struct etcd_store *s, const char *suffix)
{
	struct json_object *op = json_object_new_object(), *p;

	if (op == NULL || (p = json_object_new_object()) == NULL) {
		json_object_put(op);
		return NULL;
	}
	if (etcd_add(op, "request_delete_range", p) == -1 ||
	    etcd_add(p, "key", etcd_key(s->etcd, suffix)) == -1) {
		json_object_put(op);
		return NULL;
	}
	return op;
}

static struct json_object *
range_op(struct etcd_store *s, const char *suffix)
{
	struct json_object *op = json_object_new_object(), *p;

	if (op == NULL || (p = json_object_new_object()) == NULL) {
		json_object_put(op);
		return NULL;
	}
	if (etcd_add(op, "request_range", p) == -1 ||
	    etcd_add(p, "key", etcd_key(s->etcd, suffix)) == -1) {
		json_object_put(op);
		return NULL;
	}
	return op;
}

/* Renders the snapshot element of e: the value stored. */
static int
doc_render(struct buf *b, const struct store_entry *e)
{
	char when[CLOCK_UTC_LEN];

	clock_utc(e->registered_at, when);
	return buf_addc(b, '{') == -1 ||
	    registration_render_members(b, e->reg) == -1 ||
	    buf_addf(b, ",\"seq\":%lu,\"registered_at\":\"%s\"}", e->seq,
	    when) == -1 ? -1 : 0;
}

/* The first key of the i-th range of a txn's failure answer, or NULL. */
static struct json_object *
failure_kv(struct json_object *a, size_t i)
{
	struct json_object *r, *v, *kvs;

	if (json_object_object_get_ex(a, "responses", &r) &&
	    (v = json_object_array_get_idx(r, i)) != NULL &&
	    json_object_object_get_ex(v, "response_range", &v) &&
	    json_object_object_get_ex(v, "kvs", &kvs))
		return json_object_array_get_idx(kvs, 0);
	return NULL;
}

/*
 * Whether the seq counter a failed txn read (its failure range 1) moved
 * from *seq, and to what.  The txn may have failed on an identifier as
 * well: committed again, it then fails with the counter as expected.
 */
static int
seq_moved(struct json_object *a, unsigned long *seq)
{
	struct json_object *kv;
	struct buf v;
	unsigned long now = 0;
	int ok;

	if ((kv = failure_kv(a, 1)) != NULL) {
		buf_init(&v, 32);
		ok = json_object_object_get_ex(kv, "value", &kv) &&
		    etcd_unbytes(kv, &v) == 0 && v.len > 0 &&
		    parse_seq(v.data, v.len, &now) == 0;
		buf_release(&v);
		if (!ok)
			return 0;
	}
	if (now == *seq)
		return 0;
	*seq = now;
	return 1;
}

static int
etcd_store_commit(struct store *st, const struct store_change *changes,
    size_t n, unsigned long *seq, uint64_t *rev, struct errbuf *eb)
{
	struct etcd_store *s = (struct etcd_store *)st;
	struct json_object *txn, *cmps, *ok, *fail, *v, *a = NULL;
	char key[ETCD_STORE_KEY_MAX], num[32];
	unsigned long top = 0;
	struct buf doc;
	size_t i;
	int creates = 0, rc = -1, k;

	*rev = 0;
	buf_init(&doc, ETCD_STORE_DOC_MAX);
	txn = json_object_new_object();
	cmps = json_object_new_array();
	ok = json_object_new_array();
	fail = json_object_new_array();
	if (txn == NULL || etcd_add(txn, "compare", cmps) == -1 ||
	    etcd_add(txn, "success", ok) == -1 ||
	    etcd_add(txn, "failure", fail) == -1 ||
	    etcd_push(fail, range_op(s, "gen")) == -1 ||
	    etcd_push(fail, range_op(s, "seq")) == -1)
		goto nomem;
	for (i = 0; i < n; i++) {
		const struct store_change *c = &changes[i];

		k = snprintf(key, sizeof(key), "reg/%s", c->identifier);
		if (k < 0 || (size_t)k >= sizeof(key))
			goto nomem;
		switch (c->kind) {
		case STORE_CREATE:
			creates = 1;
			if (c->entry.seq > top)
				top = c->entry.seq;
			if (etcd_push(cmps, compare(s, key, "CREATE", "EQUAL",
			    "create_revision", u64(0))) == -1)
				goto nomem;
			break;
		case STORE_REPLACE:
			if (etcd_push(cmps, compare(s, key, "MOD", "EQUAL",
			    "mod_revision", u64(c->expect))) == -1)
				goto nomem;
			break;
		case STORE_DELETE:
			if (etcd_push(cmps, compare(s, key, "CREATE", "GREATER",
			    "create_revision", u64(0))) == -1 ||
			    etcd_push(ok, delete_op(s, key)) == -1)
				goto nomem;
			continue;
		}
		buf_reset(&doc);
		if (doc_render(&doc, &c->entry) == -1 ||
		    etcd_push(ok, put_op(s, key, doc.data, doc.len)) == -1)
			goto nomem;
	}
	if (creates) {
		(void)snprintf(num, sizeof(num), "%lu", *seq);
		if ((*seq == 0 ? etcd_push(cmps, compare(s, "seq", "CREATE",
		    "EQUAL", "create_revision", u64(0))) : etcd_push(cmps,
		    compare(s, "seq", "VALUE", "EQUAL", "value",
		    etcd_bytes(num, strlen(num))))) == -1)
			goto nomem;
		(void)snprintf(num, sizeof(num), "%lu", top);
		if (etcd_push(ok, put_op(s, "seq", num, strlen(num))) == -1)
			goto nomem;
	}
	if (etcd_push(ok, put_op(s, "gen", "", 0)) == -1)
		goto nomem;
	if (etcd_call_until(s->etcd, "/v3/kv/txn", txn, &a, NULL,
	    st->deadline, eb) == -1)
		goto out;
	if (etcd_bool(a, "succeeded")) {
		*rev = etcd_revision(a);
		rc = 0;
	} else {
		*rev = (v = failure_kv(a, 0)) != NULL ?
		    etcd_int(v, "mod_revision") : etcd_revision(a);
		rc = creates && seq_moved(a, seq) ?
		    STORE_SEQ_MOVED : STORE_CONFLICT;
	}
	goto out;
nomem:
	errbuf_set(eb, EC_INTERNAL, "out of memory");
out:
	json_object_put(a);
	json_object_put(txn);
	buf_release(&doc);
	return rc;
}

/* gen's mod_revision now (linearizable): every change before it shows. */
static int
etcd_store_barrier(struct store *st, uint64_t *rev, struct errbuf *eb)
{
	struct etcd_store *s = (struct etcd_store *)st;
	struct json_object *body, *a = NULL, *kvs, *kv;

	*rev = 0;
	if ((body = json_object_new_object()) == NULL ||
	    etcd_add(body, "key", etcd_key(s->etcd, "gen")) == -1) {
		json_object_put(body);
		return errbuf_set(eb, EC_INTERNAL, "out of memory");
	}
	if (etcd_call_until(s->etcd, "/v3/kv/range", body, &a, NULL,
	    st->deadline, eb) == -1) {
		json_object_put(body);
		if (eb->code == EC_INVALID)
			eb->code = EC_REMOTE;	/* e.g. no leader: try again */
		return -1;
	}
	json_object_put(body);
	if (json_object_object_get_ex(a, "kvs", &kvs) &&
	    (kv = json_object_array_get_idx(kvs, 0)) != NULL)
		*rev = etcd_int(kv, "mod_revision");
	json_object_put(a);
	return 0;
}

static void
etcd_store_free(struct store *st)
{
	struct etcd_store *s = (struct etcd_store *)st;

	if (s == NULL)
		return;
	if (s->started) {
		s->stop = 1;
		pthread_join(s->thread, NULL);
	}
	free(s);
}

static const struct store_ops etcd_store_ops = {
	etcd_store_subscribe,
	etcd_store_commit,
	etcd_store_barrier,
	NULL,
	etcd_store_free
};

struct store *
store_etcd_new(struct etcd *e, struct errbuf *eb)
{
	struct etcd_store *s;

	if ((s = calloc(1, sizeof(*s))) == NULL) {
		errbuf_set(eb, EC_INTERNAL, "out of memory");
		return NULL;
	}
	s->store.ops = &etcd_store_ops;
	s->store.batch_max = ETCD_STORE_BATCH_MAX;
	s->store.batch_bytes = ETCD_STORE_BATCH_BYTES;
	s->etcd = e;
	return &s->store;
}
