/*
 * The journal store (--state FILE): one JSON line per change, appended and
 * fsynced before the change is acknowledged, so a server killed at any
 * moment loses no registration it answered 202 for.  A torn last line (a
 * crash mid-write) is dropped with a warning and cut off; damage before
 * the last line is refused.  When superseded records outnumber live ones
 * (at start or as it runs) the registry has the file rewritten, atomically,
 * with one record per live entry, so re-registrations cannot grow it
 * without bound.
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
journal_append(struct store *s, const struct store_record *rec,
    struct errbuf *eb)
{
	struct journal *j = (struct journal *)s;
	off_t end;
	int e;

	/* After a failed reopen (compaction), try again rather than fail on. */
	if (j->fd == -1 && (j->fd = open(j->path, O_RDWR | O_APPEND |
	    O_CLOEXEC)) == -1)
		return errbuf_set(eb, EC_WRITE, "journal %s: reopen: %s",
		    j->path, strerror(errno));
	buf_reset(&j->line);
	if (record_render(&j->line, rec) == -1)
		return errbuf_set(eb, EC_INTERNAL, "journal: record too large");
	if ((end = lseek(j->fd, 0, SEEK_END)) == -1)
		return errbuf_set(eb, EC_WRITE, "journal %s: %s", j->path,
		    strerror(errno));
	if (fsx_write_all(j->fd, j->line.data, j->line.len) == -1 ||
	    fdatasync(j->fd) == -1) {
		e = errno;
		/*
		 * Cut a partial record off, so it cannot end up in the middle
		 * of the file once later appends succeed.
		 */
		(void)ftruncate(j->fd, end);
		return errbuf_set(eb, EC_WRITE, "journal %s: %s", j->path,
		    strerror(e));
	}
	s->records++;
	return 0;
}

static int
journal_compact(struct store *s, const struct store_record *recs, size_t n,
    struct errbuf *eb)
{
	struct journal *j = (struct journal *)s;
	struct buf text;
	size_t i;
	int fd, rc = -1;

	buf_init(&text, JOURNAL_MAX);
	for (i = 0; i < n; i++) {
		if (record_render(&text, &recs[i]) == -1) {
			errbuf_set(eb, EC_INTERNAL, "journal: too large");
			goto out;
		}
	}
	if (fsx_write_atomic(j->path, text.data != NULL ? text.data : "",
	    text.len, 0600, eb) == -1)
		goto out;
	fd = open(j->path, O_RDWR | O_APPEND | O_CLOEXEC);
	/* The old descriptor names the replaced file: never append there. */
	close(j->fd);
	j->fd = fd;
	if (fd == -1) {
		errbuf_set(eb, EC_WRITE, "journal %s: %s", j->path,
		    strerror(errno));
		goto out;
	}
	s->records = n;
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

static int
journal_replay(struct store *s, store_apply_fn *apply, void *arg,
    struct errbuf *eb)
{
	struct journal *j = (struct journal *)s;
	struct store_record rec;
	struct registration reg;
	char id[REGISTRATION_ID_MAX + 1];
	struct buf text;
	size_t pos = 0, good = 0, lineno = 0, len;
	const char *nl;
	int rc = -1;

	buf_init(&text, JOURNAL_MAX);
	memset(&reg, 0, sizeof(reg));
	if (fsx_read_file(j->path, &text, eb) == -1)
		goto out;
	while (pos < text.len) {
		lineno++;
		nl = memchr(text.data + pos, '\n', text.len - pos);
		len = nl != NULL ? (size_t)(nl - (text.data + pos)) :
		    text.len - pos;
		if (nl == NULL) {
			/*
			 * A record is written with its newline in one
			 * write(2): a last line without one was torn by a
			 * crash, and was never acknowledged.
			 */
			diag_warn("journal %s: ignoring a torn last record "
			    "(line %zu, %zu bytes)", j->path, lineno,
			    text.len - pos);
			break;
		}
		if (record_parse(text.data + pos, len, &rec, &reg, id,
		    sizeof(id), eb) == -1) {
			/* Complete but unreadable: damage, never dropped. */
			errbuf_prefix(eb, "journal %s: line %zu", j->path,
			    lineno);
			goto out;
		}
		apply(arg, &rec);
		s->records++;
		registration_release(&reg);
		pos += len + 1;
		good = pos;
	}
	if (good < text.len && ftruncate(j->fd, (off_t)good) == -1) {
		errbuf_set(eb, EC_WRITE, "journal %s: truncate: %s", j->path,
		    strerror(errno));
		goto out;
	}
	rc = 0;
out:
	registration_release(&reg);
	buf_release(&text);
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
	journal_append,
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
	buf_init(&j->line, JOURNAL_LINE_MAX);
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
