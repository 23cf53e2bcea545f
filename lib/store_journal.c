/*
 * The journal store (--state FILE): one JSON line per change, appended in
 * batches, each batch with one write(2) and one fdatasync(2) before any
 * of its changes is acknowledged, so a server killed at any moment loses
 * no registration it answered 202 for.  A torn last line (a crash
 * mid-write) is dropped with a warning and cut off; damage before the last
 * line is refused.  When superseded records make the file large against
 * the live ones (at start or as it runs) the registry has it rewritten,
 * atomically, with one record per live entry, so re-registrations cannot
 * grow it without bound.  One writer: a commit never conflicts, and its
 * events are delivered before it returns; the revision is the generation.
 */
#include "store.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "buf.h"
#include "clock.h"
#include "diag.h"
#include "errbuf.h"
#include "exitcode.h"
#include "fsx.h"
#include "jsonx.h"
#include "registration.h"
#include "banned.h"

/* The file is ours and compacted as it grows: the cap is a sanity bound. */
#define JOURNAL_MAX		(64UL << 30)
#define JOURNAL_LINE_MAX	(2UL << 20)
/* The append buffer kept between batches. */
#define JOURNAL_KEEP		(1UL << 20)
#define JOURNAL_BLOCK		(256UL << 10)

/* The changes of one commit, at most. */
#define JOURNAL_BATCH_MAX	4096

struct journal {
	struct store	 store;		/* first: the interface */
	char		*path;
	int		 fd;
	struct buf	 line;		/* reused for every append */
	unsigned long	 generation;	/* of the last record */
	unsigned long	 counter;	/* the highest seq given out */
	store_event_fn	*fn;
	void		*arg;
};

/*
 * One journal line, parsed or to render: a put, a delete, or the mark a
 * compaction ends with (generation and seq only: what the set was at and
 * the highest seq given out, which no put may show once the set is empty
 * or its newest node gone).
 */
struct record {
	int			 del;
	int			 mark;
	unsigned long		 generation;
	unsigned long		 seq;
	time_t			 registered_at;
	const struct registration *reg;		/* put; borrowed */
	const char		*identifier;	/* delete; borrowed */
};

static int
time_render(struct buf *b, time_t t)
{
	char s[CLOCK_UTC_LEN];

	clock_utc(t, s);
	return buf_addf(b, "\"%s\"", s);
}

static int
record_render(struct buf *b, const struct record *rec)
{
	if (rec->mark)
		return buf_addf(b, "{\"op\":\"mark\",\"generation\":%lu,"
		    "\"seq\":%lu}\n", rec->generation, rec->seq);
	if (rec->del)
		return buf_addf(b, "{\"op\":\"delete\",\"generation\":%lu,"
		    "\"identifier\":", rec->generation) == -1 ||
		    buf_add_json_string(b, rec->identifier,
		    strlen(rec->identifier)) == -1 ||
		    buf_adds(b, "}\n") == -1 ? -1 : 0;
	return buf_addf(b, "{\"op\":\"put\",\"generation\":%lu,\"seq\":%lu,"
	    "\"registered_at\":", rec->generation, rec->seq) == -1 ||
	    time_render(b, rec->registered_at) == -1 ||
	    buf_adds(b, ",\"registration\":") == -1 ||
	    registration_render(b, rec->reg) == -1 ||
	    buf_adds(b, "}\n") == -1 ? -1 : 0;
}

static int
journal_reopen(struct journal *j, struct errbuf *eb)
{
	/* After a failed reopen (compaction), try again rather than fail on. */
	if (j->fd == -1 && (j->fd = open(j->path, O_RDWR | O_APPEND |
	    O_CLOEXEC)) == -1)
		return errbuf_set(eb, EC_WRITE, "journal %s: reopen: %s",
		    j->path, strerror(errno));
	return 0;
}

static void
emit(struct journal *j, enum store_event_kind kind,
    const struct store_entry *e, const char *identifier)
{
	struct store_event ev;

	if (j->fn == NULL)
		return;
	memset(&ev, 0, sizeof(ev));
	ev.kind = kind;
	ev.entry = e;
	ev.identifier = identifier;
	ev.seq = j->counter;
	ev.revision = j->generation;
	ev.generation = j->generation;
	j->fn(j->arg, &ev);
}

/* Applies a record to the journal's counters and hands it on. */
static void
record_event(struct journal *j, const struct record *rec)
{
	struct store_entry e;

	j->generation = rec->generation;
	if (rec->mark) {
		if (rec->seq > j->counter)
			j->counter = rec->seq;
		return;
	}
	if (rec->del) {
		emit(j, STORE_EV_DELETE, NULL, rec->identifier);
		return;
	}
	if (rec->seq > j->counter)
		j->counter = rec->seq;
	memset(&e, 0, sizeof(e));
	e.reg = rec->reg;
	e.seq = rec->seq;
	e.registered_at = rec->registered_at;
	e.version = rec->generation;
	emit(j, STORE_EV_PUT, &e, NULL);
}

static void
change_record(const struct store_change *c, unsigned long generation,
    struct record *rec)
{
	memset(rec, 0, sizeof(*rec));
	rec->generation = generation;
	if (c->kind == STORE_DELETE) {
		rec->del = 1;
		rec->identifier = c->identifier;
		return;
	}
	rec->seq = c->entry.seq;
	rec->registered_at = c->entry.registered_at;
	rec->reg = c->entry.reg;
}

/*
 * The whole batch in one write(2) and one fdatasync(2): the records of
 * every registration that arrived while the previous batch was on its way
 * to the disk share this one.  The only writer, so the expectations hold
 * unless the registry is wrong.
 */
static int
journal_commit(struct store *s, const struct store_change *changes,
    size_t n, unsigned long *seq, uint64_t *rev, struct errbuf *eb)
{
	struct journal *j = (struct journal *)s;
	struct record rec;
	off_t end;
	size_t i;
	int e, creates = 0;

	*rev = j->generation;
	for (i = 0; i < n; i++)
		creates |= changes[i].kind == STORE_CREATE;
	if (creates && *seq != j->counter)
		return STORE_CONFLICT;
	if (journal_reopen(j, eb) == -1)
		return -1;
	buf_reset(&j->line);
	for (i = 0; i < n; i++) {
		change_record(&changes[i], j->generation + i + 1, &rec);
		if (record_render(&j->line, &rec) == -1) {
			buf_release(&j->line);
			return errbuf_set(eb, EC_INTERNAL,
			    "journal: batch too large");
		}
	}
	if ((end = lseek(j->fd, 0, SEEK_END)) == -1)
		return errbuf_set(eb, EC_WRITE, "journal %s: %s", j->path,
		    strerror(errno));
	if (fsx_write_all(j->fd, j->line.data, j->line.len) == -1 ||
	    fdatasync(j->fd) == -1) {
		e = errno;
		/*
		 * Cut a partial batch off, so it cannot end up in the middle
		 * of the file once later commits succeed.
		 */
		(void)ftruncate(j->fd, end);
		return errbuf_set(eb, EC_WRITE, "journal %s: %s", j->path,
		    strerror(e));
	}
	s->records += n;
	s->bytes = (unsigned long long)end + j->line.len;
	/* A big batch's buffer is not kept for the small ones after it. */
	if (j->line.cap > JOURNAL_KEEP)
		buf_release(&j->line);
	for (i = 0; i < n; i++) {
		change_record(&changes[i], j->generation + 1, &rec);
		record_event(j, &rec);
	}
	emit(j, STORE_EV_SEQ, NULL, NULL);
	emit(j, STORE_EV_SYNCED, NULL, NULL);
	*rev = j->generation;
	return 0;
}

static int
journal_barrier(struct store *s, uint64_t *rev, struct errbuf *eb)
{
	struct journal *j = (struct journal *)s;

	(void)eb;
	*rev = j->generation;
	return 0;
}

static int
journal_compact(struct store *s, store_next_fn *next, void *arg,
    struct errbuf *eb)
{
	struct journal *j = (struct journal *)s;
	struct store_entry e;
	struct record rec;
	struct buf text;
	unsigned long n = 0;
	int fd, rc = -1;

	buf_init(&text, JOURNAL_MAX);
	while (next(arg, &e)) {
		memset(&rec, 0, sizeof(rec));
		rec.generation = j->generation;
		rec.seq = e.seq;
		rec.registered_at = e.registered_at;
		rec.reg = e.reg;
		if (record_render(&text, &rec) == -1) {
			errbuf_set(eb, EC_INTERNAL, "journal: too large");
			goto out;
		}
		n++;
	}
	memset(&rec, 0, sizeof(rec));
	rec.mark = 1;
	rec.generation = j->generation;
	rec.seq = j->counter;
	if (record_render(&text, &rec) == -1) {
		errbuf_set(eb, EC_INTERNAL, "journal: too large");
		goto out;
	}
	if (fsx_write_atomic(j->path, text.data, text.len, 0600, eb) == -1)
		goto out;
	fd = open(j->path, O_RDWR | O_APPEND | O_CLOEXEC);
	/* The old descriptor names the replaced file: never append there. */
	if (j->fd != -1)
		close(j->fd);
	j->fd = fd;
	s->records = n + 1;	/* and the mark */
	s->bytes = text.len;
	if (fd == -1) {
		errbuf_set(eb, EC_WRITE, "journal %s: %s", j->path,
		    strerror(errno));
		goto out;
	}
	rc = 0;
out:
	buf_release(&text);
	return rc;
}

/* Parses one journal line into rec (reg filled for PUT). */
static int
record_parse(const char *text, size_t len, struct record *rec,
    struct registration *reg, char *id, size_t idsize, struct errbuf *eb)
{
	struct json_object *doc = NULL, *v;	/* v: borrowed */
	const char *op, *s;
	size_t oplen, slen, off, vlen;
	int rc = -1;

	if (jsonx_parse(text, len, JOURNAL_LINE_MAX, "record", &doc, eb) == -1)
		return -1;
	if (!json_object_is_type(doc, json_type_object) ||
	    jsonx_get_string(doc, "op", &op, &oplen) != 0 ||
	    !json_object_object_get_ex(doc, "generation", &v)) {
		errbuf_set(eb, EC_INVALID, "record: no op or generation");
		goto out;
	}
	memset(rec, 0, sizeof(*rec));
	rec->generation = (unsigned long)json_object_get_uint64(v);
	if (strcmp(op, "delete") == 0) {
		if (jsonx_get_string(doc, "identifier", &s, &slen) != 0 ||
		    slen >= idsize) {
			errbuf_set(eb, EC_INVALID, "record: bad identifier");
			goto out;
		}
		memcpy(id, s, slen + 1);
		rec->del = 1;
		rec->identifier = id;
	} else if (strcmp(op, "mark") == 0) {
		if (!json_object_object_get_ex(doc, "seq", &v)) {
			errbuf_set(eb, EC_INVALID, "record: bad mark");
			goto out;
		}
		rec->seq = (unsigned long)json_object_get_uint64(v);
		rec->mark = 1;
	} else if (strcmp(op, "put") == 0) {
		if (!json_object_object_get_ex(doc, "seq", &v) ||
		    jsonx_get_string(doc, "registered_at", &s, &slen) != 0 ||
		    clock_utc_parse(s, &rec->registered_at) == -1 ||
		    jsonx_raw_member(text, len, "registration", &off,
		    &vlen) == -1) {
			errbuf_set(eb, EC_INVALID, "record: bad put");
			goto out;
		}
		rec->seq = (unsigned long)json_object_get_uint64(v);
		/* The raw text, so metadata comes back byte for byte. */
		if (registration_parse(reg, text + off, vlen, JOURNAL_LINE_MAX,
		    eb) == -1)
			goto out;
		rec->reg = reg;
	} else {
		errbuf_set(eb, EC_INVALID, "record: unknown op");
		goto out;
	}
	rc = 0;
out:
	json_object_put(doc);
	return rc;
}

/*
 * Whether rec's generation is below the last record's, or 0: damage, as
 * it would make a node look older than results that never held it.  1
 * with eb set, or 0.
 */
static int
record_falls(const struct journal *j, const struct record *rec,
    struct errbuf *eb)
{
	if (rec->generation >= (j->generation > 0 ? j->generation : 1))
		return 0;
	errbuf_set(eb, EC_INVALID, "record: generation %lu after %lu",
	    rec->generation, j->generation);
	return 1;
}

/*
 * Reads the journal a block at a time, so a start costs one record's
 * memory, not the file's.
 */
static int
journal_subscribe(struct store *s, store_event_fn *fn, void *arg,
    struct errbuf *eb)
{
	struct journal *j = (struct journal *)s;
	struct record rec;
	struct registration reg;
	char id[REGISTRATION_ID_MAX + 1];
	char *text;
	size_t pos, lineno = 0, len, have = 0;
	off_t good = 0;
	const char *nl;
	ssize_t got;
	int rc = -1, eof = 0;

	memset(&reg, 0, sizeof(reg));
	if ((text = malloc(JOURNAL_LINE_MAX + JOURNAL_BLOCK + 1)) == NULL)
		return errbuf_set(eb, EC_INTERNAL, "out of memory");
	j->fn = fn;
	j->arg = arg;
	j->generation = j->counter = 0;
	emit(j, STORE_EV_RESET, NULL, NULL);
	if (lseek(j->fd, 0, SEEK_SET) == -1) {
		errbuf_set(eb, EC_WRITE, "journal %s: %s", j->path,
		    strerror(errno));
		goto out;
	}
	while (!eof) {
		if (have > JOURNAL_LINE_MAX) {
			errbuf_set(eb, EC_INVALID, "journal %s: line %zu: "
			    "record over %lu bytes", j->path, lineno + 1,
			    JOURNAL_LINE_MAX);
			goto out;
		}
		if ((got = read(j->fd, text + have, JOURNAL_BLOCK)) == -1) {
			if (errno == EINTR)
				continue;
			errbuf_set(eb, EC_WRITE, "journal %s: read: %s",
			    j->path, strerror(errno));
			goto out;
		}
		eof = got == 0;
		have += (size_t)got;
		text[have] = '\0';
		pos = 0;
		while ((nl = memchr(text + pos, '\n', have - pos)) != NULL) {
			lineno++;
			len = (size_t)(nl - (text + pos));
			if (record_parse(text + pos, len, &rec, &reg, id,
			    sizeof(id), eb) == -1 ||
			    record_falls(j, &rec, eb)) {
				/* Complete but unreadable: damage, never dropped. */
				errbuf_prefix(eb, "journal %s: line %zu",
				    j->path, lineno);
				goto out;
			}
			record_event(j, &rec);
			s->records++;
			registration_release(&reg);
			pos += len + 1;
			good += (off_t)(len + 1);
		}
		memmove(text, text + pos, have - pos);
		have -= pos;
	}
	if (have > 0) {
		/*
		 * A batch is written with one write(2), each record with its
		 * newline: a last line without one was torn by a crash, and
		 * was never acknowledged.
		 */
		diag_warn("journal %s: ignoring a torn last record "
		    "(line %zu, %zu bytes)", j->path, lineno + 1, have);
		if (ftruncate(j->fd, good) == -1) {
			errbuf_set(eb, EC_WRITE, "journal %s: truncate: %s",
			    j->path, strerror(errno));
			goto out;
		}
	}
	s->bytes = (unsigned long long)good;
	emit(j, STORE_EV_SEQ, NULL, NULL);
	emit(j, STORE_EV_SYNCED, NULL, NULL);
	rc = 0;
out:
	registration_release(&reg);
	free(text);
	return rc;
}

static void
journal_free(struct store *s)
{
	struct journal *j = (struct journal *)s;

	if (j == NULL)
		return;
	if (j->fd != -1)
		close(j->fd);
	buf_release(&j->line);
	free(j->path);
	free(j);
}

static const struct store_ops journal_ops = {
	journal_subscribe,
	journal_commit,
	journal_barrier,
	journal_compact,
	journal_free
};

struct store *
store_journal_open(const char *path, struct errbuf *eb)
{
	struct journal *j;
	struct stat st;

	if ((j = calloc(1, sizeof(*j))) == NULL ||
	    (j->path = strdup(path)) == NULL) {
		free(j);
		errbuf_set(eb, EC_INTERNAL, "out of memory");
		return NULL;
	}
	j->store.ops = &journal_ops;
	j->store.batch_max = JOURNAL_BATCH_MAX;
	j->store.single_writer = 1;
	buf_init(&j->line, JOURNAL_MAX);
	if ((j->fd = open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC,
	    0600)) == -1) {
		errbuf_set(eb, EC_WRITE, "journal %s: %s", path,
		    strerror(errno));
		journal_free(&j->store);
		return NULL;
	}
	if (fstat(j->fd, &st) == 0 && st.st_size == 0)
		fsx_sync_parent(path);
	return &j->store;
}
