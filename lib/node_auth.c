/*
 * Per-node credentials: see node_auth.h.
 */
#include "node_auth.h"

#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <nettle/sha2.h>

#include "array.h"
#include "artifacts.h"
#include "buf.h"
#include "diag.h"
#include "errbuf.h"
#include "exitcode.h"
#include "fsx.h"
#include "http_server.h"
#include "protocol.h"
#include "registration.h"
#include "strmap.h"
#include "banned.h"

#define DIGEST_LEN	SHA256_DIGEST_SIZE
#define HEX_LEN		(2 * DIGEST_LEN)
#define BINDINGS_MODE	0600

struct entry {
	char		*id;
	unsigned char	 digest[DIGEST_LEN];
};

/* Identifiers and the digests of their tokens. */
struct table {
	struct entry	*v;
	size_t		 n, cap;
	struct strmap	 ids;		/* identifier -> index in v */
};

struct node_auth {
	char		*tokens;	/* NULL: none listed */
	int		 bind_first;
	char		*bindings_path;	/* NULL: bindings in memory */
	pthread_rwlock_t lock;		/* guards listed and bound */
	struct table	*listed;
	struct table	 bound;
	size_t		 max_bound;
	pthread_mutex_t	 save;		/* one bindings write at a time */
};

static void
table_init(struct table *t)
{
	memset(t, 0, sizeof(*t));
	strmap_init(&t->ids);
}

static void
table_release(struct table *t)
{
	size_t i;

	for (i = 0; i < t->n; i++)
		free(t->v[i].id);
	free(t->v);
	strmap_release(&t->ids);
	table_init(t);
}

static void
table_free(struct table *t)
{
	if (t == NULL)
		return;
	table_release(t);
	free(t);
}

static const struct entry *
table_find(const struct table *t, const char *id)
{
	size_t at;

	if (t == NULL || !strmap_get(&t->ids, id, &at))
		return NULL;
	return &t->v[at];
}

/* Adds id with digest; 0, or -1 with errno ENOMEM. */
static int
table_add(struct table *t, const char *id, const unsigned char *digest)
{
	char *copy;

	if (ARRAY_GROW(t->v, t->n + 1, t->cap) == -1 ||
	    (copy = strdup(id)) == NULL)
		return -1;
	if (strmap_put(&t->ids, id, t->n) == -1) {
		free(copy);
		return -1;
	}
	t->v[t->n].id = copy;
	memcpy(t->v[t->n].digest, digest, DIGEST_LEN);
	t->n++;
	return 0;
}

/* Removes id; 1, or 0 when it is not there. */
static int
table_remove(struct table *t, const char *id)
{
	size_t at, last;

	if (!strmap_remove(&t->ids, id, &at))
		return 0;
	free(t->v[at].id);
	last = --t->n;
	if (at != last) {
		t->v[at] = t->v[last];
		(void)strmap_put(&t->ids, t->v[at].id, at);	/* replaces */
	}
	return 1;
}

static void
digest_of(const char *token, size_t len, unsigned char *out)
{
	struct sha256_ctx ctx;

	sha256_init(&ctx);
	sha256_update(&ctx, len, (const uint8_t *)token);
	sha256_digest(&ctx, DIGEST_LEN, out);
}

/* Whether two digests are equal, in time independent of their bytes. */
static int
digest_equal(const unsigned char *a, const unsigned char *b)
{
	unsigned char diff = 0;
	size_t i;

	for (i = 0; i < DIGEST_LEN; i++)
		diff |= a[i] ^ b[i];
	return diff == 0;
}

static int
is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

/* A token is printable ASCII without blanks (RFC 6750's b64token and more). */
static const char *
token_problem(const char *tok, size_t len)
{
	size_t i;

	_Static_assert(NODE_AUTH_TOKEN_MAX == 1024, "the message below");
	if (len == 0)
		return "empty token";
	if (len > NODE_AUTH_TOKEN_MAX)
		return "token over 1024 bytes";
	for (i = 0; i < len; i++)
		if ((unsigned char)tok[i] <= ' ' ||
		    (unsigned char)tok[i] >= 0x7f)
			return "token with a blank or a control or non-ASCII "
			    "byte";
	return NULL;
}

/*
 * Adds id with the token tok[0..len) to t, where names the place for
 * messages ("FILE:LINE" or "DIR/NAME").  0, or -1 with EC_USAGE or
 * EC_INTERNAL.
 */
static int
add_node(struct table *t, struct strmap *tokens, const char *where,
    const char *id, const char *tok, size_t len, struct errbuf *eb)
{
	unsigned char digest[DIGEST_LEN];
	char hex[HEX_LEN + 1];
	const char *why;
	struct errbuf ib;
	size_t i, other;

	if (registration_identifier_check(id, strlen(id), &ib) == -1)
		return errbuf_set(eb, EC_USAGE, "%s: %s", where, ib.msg);
	if ((why = token_problem(tok, len)) != NULL)
		return errbuf_set(eb, EC_USAGE, "%s: %s: %s", where, id, why);
	if (table_find(t, id) != NULL)
		return errbuf_set(eb, EC_USAGE, "%s: %s listed twice", where,
		    id);
	digest_of(tok, len, digest);
	for (i = 0; i < DIGEST_LEN; i++)
		(void)snprintf(hex + 2 * i, 3, "%02x", digest[i]);
	/* Two nodes with one token could each act as the other. */
	if (strmap_get(tokens, hex, &other))
		return errbuf_set(eb, EC_USAGE, "%s: %s has the token of %s",
		    where, id, t->v[other].id);
	if (strmap_put(tokens, hex, t->n) == -1 ||
	    table_add(t, id, digest) == -1)
		return errbuf_set(eb, EC_INTERNAL, "out of memory");
	return 0;
}

/* Lines of "IDENTIFIER TOKEN", blank lines and # comments. */
static int
parse_file(struct table *t, struct strmap *tokens, const char *path,
    struct errbuf *eb)
{
	char where[300], id[REGISTRATION_ID_MAX + 1];
	const char *line, *end, *p, *f1, *f2;
	size_t n1, n2, lineno = 0;
	struct buf text;
	int rc = -1;

	buf_init(&text, NODE_AUTH_FILE_MAX);
	if (fsx_read_file(path, &text, eb) == -1) {
		eb->code = EC_USAGE;
		goto out;
	}
	for (line = text.data; line != NULL && line < text.data + text.len;
	    line = end + 1) {
		lineno++;
		if ((end = memchr(line, '\n', (size_t)(text.data + text.len -
		    line))) == NULL)
			end = text.data + text.len;
		(void)snprintf(where, sizeof(where), "%s:%zu", path, lineno);
		if (memchr(line, '\0', (size_t)(end - line)) != NULL) {
			errbuf_set(eb, EC_USAGE, "%s: a NUL byte", where);
			goto out;
		}
		for (p = line; p < end && is_blank(*p); p++)
			;
		if (p == end || *p == '#')
			continue;
		f1 = p;
		while (p < end && !is_blank(*p))
			p++;
		n1 = (size_t)(p - f1);
		while (p < end && is_blank(*p))
			p++;
		f2 = p;
		while (p < end && !is_blank(*p))
			p++;
		n2 = (size_t)(p - f2);
		while (p < end && is_blank(*p))
			p++;
		if (n2 == 0 || p != end) {
			errbuf_set(eb, EC_USAGE, "%s: not IDENTIFIER TOKEN",
			    where);
			goto out;
		}
		if (n1 > REGISTRATION_ID_MAX) {
			errbuf_set(eb, EC_USAGE, "%s: identifier over %d bytes",
			    where, REGISTRATION_ID_MAX);
			goto out;
		}
		memcpy(id, f1, n1);
		id[n1] = '\0';
		if (add_node(t, tokens, where, id, f2, n2, eb) == -1)
			goto out;
	}
	rc = 0;
out:
	buf_release(&text);
	return rc;
}

/* One file per node, its name the identifier, its one line the token. */
static int
parse_dir(struct table *t, struct strmap *tokens, const char *path,
    struct errbuf *eb)
{
	char where[PATH_MAX];
	struct dirent *de;
	struct stat st;
	struct buf text;
	DIR *d;
	const char *tok;
	size_t len;
	int n, rc = -1;

	if ((d = opendir(path)) == NULL)
		return errbuf_set(eb, EC_USAGE, "%s: %s", path,
		    strerror(errno));
	buf_init(&text, NODE_AUTH_TOKEN_MAX + 2);
	while ((errno = 0, de = readdir(d)) != NULL) {
		/* Hidden names are not nodes (Kubernetes' ..data, editors). */
		if (de->d_name[0] == '.')
			continue;
		n = snprintf(where, sizeof(where), "%s/%s", path, de->d_name);
		if (n < 0 || (size_t)n >= sizeof(where)) {
			errbuf_set(eb, EC_USAGE, "%s: name too long", path);
			goto out;
		}
		if (stat(where, &st) == -1) {
			errbuf_set(eb, EC_USAGE, "%s: %s", where,
			    strerror(errno));
			goto out;
		}
		if (!S_ISREG(st.st_mode)) {
			errbuf_set(eb, EC_USAGE, "%s: not a regular file",
			    where);
			goto out;
		}
		buf_reset(&text);
		if (fsx_read_file(where, &text, eb) == -1) {
			eb->code = EC_USAGE;
			goto out;
		}
		tok = text.data != NULL ? text.data : "";
		len = text.len;
		while (len > 0 && (is_blank(tok[len - 1]) ||
		    tok[len - 1] == '\n'))
			len--;
		while (len > 0 && is_blank(*tok)) {
			tok++;
			len--;
		}
		if (memchr(tok, '\n', len) != NULL) {
			errbuf_set(eb, EC_USAGE, "%s: more than one line",
			    where);
			goto out;
		}
		if (add_node(t, tokens, where, de->d_name, tok, len, eb) == -1)
			goto out;
	}
	if (errno != 0) {
		errbuf_set(eb, EC_USAGE, "%s: %s", path, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	buf_release(&text);
	closedir(d);
	return rc;
}

/* Reads the tokens file or directory into a new table; NULL on error. */
static struct table *
tokens_load(const char *path, struct errbuf *eb)
{
	struct strmap tokens;
	struct table *t;
	struct stat st;
	int rc;

	if (stat(path, &st) == -1) {
		errbuf_set(eb, EC_USAGE, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if ((t = malloc(sizeof(*t))) == NULL) {
		errbuf_set(eb, EC_INTERNAL, "out of memory");
		return NULL;
	}
	table_init(t);
	strmap_init(&tokens);
	if (S_ISDIR(st.st_mode))
		rc = parse_dir(t, &tokens, path, eb);
	else
		rc = parse_file(t, &tokens, path, eb);
	strmap_release(&tokens);
	if (rc == -1) {
		table_free(t);
		return NULL;
	}
	return t;
}

/* Appends "IDENTIFIER HEXDIGEST\n" to b; 0 or -1. */
static int
binding_line(struct buf *b, const struct entry *e)
{
	size_t i;
	int rc;

	rc = buf_adds(b, e->id) | buf_addc(b, ' ');
	for (i = 0; i < DIGEST_LEN; i++)
		rc |= buf_addf(b, "%02x", e->digest[i]);
	return rc | buf_addc(b, '\n');
}

/* Rewrites the bindings file whole; save held, lock not. */
static int
bindings_rewrite(struct node_auth *na, struct errbuf *eb)
{
	struct buf doc;
	size_t i;
	int rc = 0;

	buf_init(&doc, SIZE_MAX);
	pthread_rwlock_rdlock(&na->lock);
	for (i = 0; i < na->bound.n && rc == 0; i++)
		rc = binding_line(&doc, &na->bound.v[i]);
	pthread_rwlock_unlock(&na->lock);
	if (rc != 0)
		rc = errbuf_set(eb, EC_INTERNAL, "out of memory");
	else
		rc = fsx_write_atomic(na->bindings_path, doc.data != NULL ?
		    doc.data : "", doc.len, BINDINGS_MODE, eb);
	buf_release(&doc);
	return rc;
}

/* Appends one binding and makes it durable; save held. */
static int
bindings_append(struct node_auth *na, const struct entry *e,
    struct errbuf *eb)
{
	struct buf line;
	int fd, rc = -1, created;

	buf_init(&line, SIZE_MAX);
	if (binding_line(&line, e) == -1) {
		buf_release(&line);
		return errbuf_set(eb, EC_INTERNAL, "out of memory");
	}
	created = access(na->bindings_path, F_OK) == -1;
	if ((fd = open(na->bindings_path, O_WRONLY | O_CREAT | O_APPEND |
	    O_CLOEXEC, BINDINGS_MODE)) == -1) {
		errbuf_set(eb, EC_WRITE, "open %s: %s", na->bindings_path,
		    strerror(errno));
		goto out;
	}
	if (fsx_write_all(fd, line.data, line.len) == -1 ||
	    fdatasync(fd) == -1) {
		errbuf_set(eb, EC_WRITE, "write %s: %s", na->bindings_path,
		    strerror(errno));
		goto out;
	}
	if (created)
		fsx_sync_parent(na->bindings_path);
	rc = 0;
out:
	if (fd != -1)
		close(fd);
	buf_release(&line);
	return rc;
}

/*
 * Reads the bindings file back; a last line without its newline was
 * never acknowledged and is dropped.  The file is then rewritten whole.
 */
static int
bindings_load(struct node_auth *na, struct errbuf *eb)
{
	unsigned char digest[DIGEST_LEN];
	char id[REGISTRATION_ID_MAX + 1];
	const char *line, *nl, *sp;
	struct errbuf ib;
	struct buf text;
	size_t lineno = 0, n;
	int rc = -1;

	buf_init(&text, NODE_AUTH_FILE_MAX);
	if (fsx_read_file(na->bindings_path, &text, eb) == -1) {
		buf_release(&text);
		if (access(na->bindings_path, F_OK) == -1)
			return 0;		/* none kept yet */
		return -1;
	}
	for (line = text.data; line != NULL && line < text.data + text.len;
	    line = nl + 1) {
		lineno++;
		if ((nl = memchr(line, '\n', (size_t)(text.data + text.len -
		    line))) == NULL)
			break;		/* torn by a crash: not acknowledged */
		if ((sp = memchr(line, ' ', (size_t)(nl - line))) == NULL ||
		    (n = (size_t)(sp - line)) > REGISTRATION_ID_MAX ||
		    nl - sp - 1 != HEX_LEN ||
		    artifact_sha256_parse(sp + 1, HEX_LEN, digest) == -1) {
			errbuf_set(eb, EC_INVALID, "%s: line %zu: not "
			    "IDENTIFIER SHA256", na->bindings_path, lineno);
			goto out;
		}
		memcpy(id, line, n);
		id[n] = '\0';
		if (registration_identifier_check(id, n, &ib) == -1) {
			errbuf_set(eb, EC_INVALID, "%s: line %zu: %s",
			    na->bindings_path, lineno, ib.msg);
			goto out;
		}
		/* A later line of the same node wins (not written today). */
		(void)table_remove(&na->bound, id);
		if (table_add(&na->bound, id, digest) == -1) {
			errbuf_set(eb, EC_INTERNAL, "out of memory");
			goto out;
		}
	}
	rc = bindings_rewrite(na, eb);
out:
	buf_release(&text);
	return rc;
}

int
node_auth_bearer(const char *h, const char **token, size_t *len)
{
	size_t n;

	/* RFC 9110 11.4: the scheme is case-insensitive, then 1*SP. */
	if (h == NULL)
		return -1;
	h += strspn(h, " \t");
	if (strncasecmp(h, "Bearer", 6) != 0 || (h[6] != ' ' && h[6] != '\t'))
		return -1;
	h += 6;
	h += strspn(h, " \t");
	n = strlen(h);
	while (n > 0 && (h[n - 1] == ' ' || h[n - 1] == '\t'))
		n--;
	if (n == 0)
		return -1;
	*token = h;
	*len = n;
	return 0;
}

struct node_auth *
node_auth_new(const char *tokens, int bind_first, const char *bindings,
    struct errbuf *eb)
{
	struct node_auth *na;

	if ((na = calloc(1, sizeof(*na))) == NULL) {
		errbuf_set(eb, EC_INTERNAL, "out of memory");
		return NULL;
	}
	table_init(&na->bound);
	pthread_rwlock_init(&na->lock, NULL);
	pthread_mutex_init(&na->save, NULL);
	na->bind_first = bind_first;
	na->max_bound = SIZE_MAX;
	if ((tokens != NULL && (na->tokens = strdup(tokens)) == NULL) ||
	    (bindings != NULL && bind_first &&
	    (na->bindings_path = strdup(bindings)) == NULL)) {
		errbuf_set(eb, EC_INTERNAL, "out of memory");
		goto fail;
	}
	if (na->tokens != NULL &&
	    (na->listed = tokens_load(na->tokens, eb)) == NULL)
		goto fail;
	if (na->bindings_path != NULL && bindings_load(na, eb) == -1)
		goto fail;
	return na;
fail:
	node_auth_free(na);
	return NULL;
}

int
node_auth_reload(struct node_auth *na, struct errbuf *eb)
{
	struct table *fresh, *old;

	if (na->tokens == NULL)
		return 0;
	if ((fresh = tokens_load(na->tokens, eb)) == NULL)
		return -1;
	pthread_rwlock_wrlock(&na->lock);
	old = na->listed;
	na->listed = fresh;
	pthread_rwlock_unlock(&na->lock);
	table_free(old);
	return 0;
}

void
node_auth_set_max_bound(struct node_auth *na, size_t max)
{
	pthread_rwlock_wrlock(&na->lock);
	na->max_bound = max;
	pthread_rwlock_unlock(&na->lock);
}

size_t
node_auth_listed(struct node_auth *na)
{
	size_t n;

	pthread_rwlock_rdlock(&na->lock);
	n = na->listed != NULL ? na->listed->n : 0;
	pthread_rwlock_unlock(&na->lock);
	return n;
}

size_t
node_auth_bound(struct node_auth *na)
{
	size_t n;

	pthread_rwlock_rdlock(&na->lock);
	n = na->bound.n;
	pthread_rwlock_unlock(&na->lock);
	return n;
}

/* The verdict without binding; lock held.  *unbound: it could bind. */
static int
verdict_locked(struct node_auth *na, const char *id,
    const unsigned char *digest, int *unbound)
{
	const struct entry *e;

	*unbound = 0;
	if ((e = table_find(na->listed, id)) == NULL && na->bind_first &&
	    (e = table_find(&na->bound, id)) == NULL) {
		*unbound = 1;
		return NODE_AUTH_DENY;
	}
	return e != NULL && digest_equal(e->digest, digest) ?
	    NODE_AUTH_ALLOW : NODE_AUTH_DENY;
}

int
node_auth_check(struct node_auth *na, const char *id, const char *header,
    int bind, struct errbuf *eb)
{
	unsigned char digest[DIGEST_LEN];
	const struct entry *e;
	const char *tok;
	size_t len;
	int v, unbound;

	if (node_auth_bearer(header, &tok, &len) == -1)
		return NODE_AUTH_DENY;
	digest_of(tok, len, digest);
	pthread_rwlock_rdlock(&na->lock);
	v = verdict_locked(na, id, digest, &unbound);
	pthread_rwlock_unlock(&na->lock);
	if (!unbound || !bind)
		return v;
	/* One binding at a time, kept before it is answered. */
	pthread_mutex_lock(&na->save);
	pthread_rwlock_wrlock(&na->lock);
	v = verdict_locked(na, id, digest, &unbound);
	if (unbound && na->bound.n >= na->max_bound) {
		pthread_rwlock_unlock(&na->lock);
		pthread_mutex_unlock(&na->save);
		return NODE_AUTH_FULL;
	}
	if (unbound) {
		if (table_add(&na->bound, id, digest) == -1) {
			pthread_rwlock_unlock(&na->lock);
			pthread_mutex_unlock(&na->save);
			return errbuf_set(eb, EC_INTERNAL, "out of memory");
		}
		v = NODE_AUTH_ALLOW;
	}
	e = table_find(&na->bound, id);
	pthread_rwlock_unlock(&na->lock);
	if (unbound && na->bindings_path != NULL &&
	    bindings_append(na, e, eb) == -1) {
		pthread_rwlock_wrlock(&na->lock);
		(void)table_remove(&na->bound, id);
		pthread_rwlock_unlock(&na->lock);
		v = -1;
	}
	pthread_mutex_unlock(&na->save);
	return v;
}

int
node_auth_unbind(struct node_auth *na, const char *id, struct errbuf *eb)
{
	int removed;

	pthread_mutex_lock(&na->save);
	pthread_rwlock_wrlock(&na->lock);
	removed = table_remove(&na->bound, id);
	pthread_rwlock_unlock(&na->lock);
	if (removed && na->bindings_path != NULL &&
	    bindings_rewrite(na, eb) == -1)
		removed = -1;
	pthread_mutex_unlock(&na->save);
	return removed;
}

int
node_auth_request(struct node_auth *na, const struct http_request *req,
    struct http_response *resp, const char *id, int bind)
{
	struct errbuf eb;
	int v;

	if (na == NULL || req->is_operator)
		return 0;
	v = node_auth_check(na, id, req->authorization, bind, &eb);
	if (v == NODE_AUTH_ALLOW)
		return 0;
	if (v == -1)
		diag_warn("bind %s: %s", id, eb.msg);
	if (v == -1)
		http_response_error(resp, 500, PROTOCOL_INTERNAL,
		    "binding of %s not stored", id);
	else if (v == NODE_AUTH_FULL)
		http_response_error(resp, 503, PROTOCOL_UNAVAILABLE,
		    "binding limit reached: %s not bound", id);
	else
		http_response_error(resp, 401, PROTOCOL_UNAUTHORIZED,
		    "missing or wrong bearer token for %s", id);
	return -1;
}

void
node_auth_free(struct node_auth *na)
{
	if (na == NULL)
		return;
	table_free(na->listed);
	table_release(&na->bound);
	pthread_rwlock_destroy(&na->lock);
	pthread_mutex_destroy(&na->save);
	free(na->tokens);
	free(na->bindings_path);
	free(na);
}
