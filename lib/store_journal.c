/*
 * The journal store (--state FILE): one JSON line per change, appended in
 * batches, each batch with one write(2) and one fdatasync(2) before any
 * of its changes is acknowledged, so a server killed at any moment loses
 * no registration it answered 202 for.  A torn last line (a crash
 * mid-write) is dropped with a warning and cut off; damage before the last
 * line is refused.  When superseded records make the file large against
 * the live ones (at start or as it runs) the registry has it rewritten,
 * atomically, with one record per live entry, so re-registrations cannot
 * grow it without bound.
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

struct journal {
	struct store	 store;		/* first: the interface */
	char		*path;
	int		 fd;
	struct buf	 line;		/* reused for every append */
};

static int
time_render(struct buf *b, time_t t)
{
	char s[CLOCK_UTC_LEN];

	clock_utc(t, s);
	return buf_addf(b, "\"%s\"", s);
}

static int
record_render(struct buf *b, const struct store_record *rec)
{
	if (rec->op == STORE_DELETE)
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

/*
 * The whole batch in one write(2) and one fdatasync(2): the records of
 * every registration that arrived while the previous batch was on its way
 * to the disk share this one.
 */
static int
journal_commit(struct store *s, const struct store_record *recs, size_t n,
    struct errbuf *eb)
{
	struct journal *j = (struct journal *)s;
	off_t end;
	size_t i;
	int e;

	if (journal_reopen(j, eb) == -1)
		return -1;
	buf_reset(&j->line);
	for (i = 0; i < n; i++)
		if (record_render(&j->line, &recs[i]) == -1) {
			buf_release(&j->line);
			return errbuf_set(eb, EC_INTERNAL,
			    "journal: batch too large");
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
	return 0;
}

static int
journal_compact(struct store *s, store_next_fn *next, void *arg,
    struct errbuf *eb)
{
	struct journal *j = (struct journal *)s;
	struct store_record rec;
	struct buf text;
	unsigned long n = 0;
	int fd, rc = -1;

	buf_init(&text, JOURNAL_MAX);
	while (next(arg, &rec)) {
		if (record_render(&text, &rec) == -1) {
			errbuf_set(eb, EC_INTERNAL, "journal: too large");
			goto out;
		}
		n++;
	}
	if (fsx_write_atomic(j->path, text.data != NULL ? text.data : "",
	    text.len, 0600, eb) == -1)
		goto out;
	fd = open(j->path, O_RDWR | O_APPEND | O_CLOEXEC);
	/* The old descriptor names the replaced file: never append there. */
	if (j->fd != -1)
		close(j->fd);
	j->fd = fd;
	s->records = n;
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
record_parse(const char *text, size_t len, struct store_record *rec,
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
		rec->op = STORE_DELETE;
		rec->identifier = id;
	} else if (strcmp(op, "put") == 0) {
		rec->op = STORE_PUT;
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
 * Reads the journal a block at a time, so a start costs one record's
 * memory, not the file's.
 */
static int
journal_replay(struct store *s, store_apply_fn *apply, void *arg,
    struct errbuf *eb)
{
	struct journal *j = (struct journal *)s;
	struct store_record rec;
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
			    sizeof(id), eb) == -1) {
				/* Complete but unreadable: damage, never dropped. */
				errbuf_prefix(eb, "journal %s: line %zu",
				    j->path, lineno);
				goto out;
			}
			apply(arg, &rec);
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
	journal_replay,
	journal_commit,
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
