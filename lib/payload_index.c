/*
 * Bundles rendered for serving: see payload_index.h.
 *
 * A node's answer is its own part, the payload's head and its files, then
 * the shared tail, the shared files and the close, rendered once for all
 * nodes.  A small tail is copied into each answer; a large one is sent
 * from its one copy as a second part, so memory grows with each node's
 * own files, not with nodes times the shared files.  The parts outlive
 * the index while a response still sends them: each such response owns
 * its node part (or a reference to the answers below) and one reference
 * to the tail.
 *
 * An index's nodes are answered from one buffer for all of them (struct
 * answers): each node's own part, followed by the tail when it is copied
 * in, is one contiguous run of it (a buffer response, sent with its
 * headers in one write), and the node's response points into it instead
 * of holding a copy; the buffer is freed when the index and the last
 * response that points into it are gone (a reference each).  Nodes
 * served the same bytes (the same digest) share one run and one answer.
 * While the runs are rendered each node's files are freed, and the
 * bundle with them once all are: the index keeps of it the identifiers.
 *
 * The gzip and tar answers are made the same way, but of an index's
 * nodes only on the first request that asks for one (most fleets never
 * ask for tar, and a small payload has no gzip form worth sending), from
 * the node's files as its plain answer holds them (tar: from the files
 * parsed back, which give the same entries): a node's bytes exist once.
 * Overrides and payload_index_body_with, a few nodes at most, are made
 * whole at once.  gzip: the node's own part is deflated alone and ends
 * on a byte boundary (Z_SYNC_FLUSH), the tail is deflated once (final),
 * and a gzip member is the header, the two, and a trailer whose CRC-32
 * crc32_combine makes from theirs.  tar:
 * the node's files as tar entries, then the shared files' entries, made
 * once, then the end of the archive (two zero blocks).  The ETag is the
 * SHA-256 of the node's own JSON part and of the tail's, so it is the
 * digest of the payload without hashing the shared files once per node.
 */
#include "payload_index.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <archive.h>
#include <archive_entry.h>
#include <nettle/sha2.h>

#include "artifacts.h"
#include "buf.h"
#include "bundle.h"
#include "errbuf.h"
#include "exitcode.h"
#include "http_server.h"
#include "protocol.h"
#include "registration.h"
#include "banned.h"

/* Shared tails up to this size are copied into each node's answer. */
#define PAYLOAD_INLINE_MAX	(16UL << 10)
#define PAYLOAD_GZIP_LEVEL	6
/* A piece up to this size that another follows is stored, not deflated. */
#define PAYLOAD_STORED_MAX	512
#define TAR_BLOCK		512
#define TAR_END_LEN		(2 * TAR_BLOCK)
#define DIGEST_LEN		SHA256_DIGEST_SIZE

static const unsigned char tar_end[TAR_END_LEN];

/* One form of the shared files and the close. */
struct tail_form {
	char			*json;
	size_t			 json_len;
	unsigned char		 sha[DIGEST_LEN];	/* of json */
	struct payload_deflate	 gz;			/* json, final */
};

/* The shared files and the close, with and without a leading comma. */
struct shared_tail {
	unsigned long	 refs;		/* atomic: the index and responses */
	struct tail_form comma;		/* after a node's own files */
	struct tail_form bare;		/* for a node without files */
	char		*tar;		/* the shared files' tar entries */
	size_t		 tar_len;
};

/* Every node's plain answer of an index, end to end. */
struct answers {
	unsigned long	 refs;		/* atomic: the index and responses */
	char		*data;
	size_t		 len;
};

/* What responses borrow: a node's own bytes and the tail they lead. */
struct node_part {
	char			*own;	/* or NULL: in ans */
	struct answers		*ans;	/* one reference, or NULL */
	struct shared_tail	*tail;	/* one reference */
};

/* What one node's answers are made from. */
struct node_src {
	const char	*items;		/* its files, rendered */
	size_t		 items_len;
	const char	*tar;		/* its files' tar entries */
	size_t		 tar_len;
};

/*
 * A node served other files than the bundle's (POST /node/replace): its
 * own files, rendered, kept to make its answer again with another
 * index's shared files.
 */
struct override {
	char			 identifier[REGISTRATION_ID_MAX + 1];
	char			*items;		/* its files, rendered */
	size_t			 items_len;
	char			*tar;		/* and as tar entries */
	size_t			 tar_len;
	struct http_body	*body;
};

/*
 * A node of an index: its identifier, its answer, and where its plain
 * answer is in idx->ans: its own part, the payload's head and its files
 * rendered, then, when it is copied in, the tail; its variants are made
 * from it when first asked for.  A node served the same bytes as an
 * earlier one has idx NULL and its body is that one's.
 */
struct node {
	char			*identifier;
	struct http_body	*body;
	const struct payload_index *idx;
	size_t			 at;
	size_t			 items_len;	/* its files, after the head */
};

#define HEAD_LEN	(sizeof(PROTOCOL_PAYLOAD_HEAD) - 1)

struct payload_index {
	struct node		 *nodes;	/* sorted by identifier */
	size_t			  nnodes;
	struct answers		 *ans;		/* one reference */
	struct shared_tail	 *tail;		/* one reference */
	struct override		 *overrides;	/* sorted by identifier */
	size_t			  noverrides;
	time_t			  mtime;	/* of the tar entries */
};

int
payload_deflate_init(z_stream *z)
{
	memset(z, 0, sizeof(*z));
	return deflateInit2(z, PAYLOAD_GZIP_LEVEL, Z_DEFLATED, -MAX_WBITS, 8,
	    Z_DEFAULT_STRATEGY) == Z_OK ? 0 : -1;
}

/*
 * A small piece that another follows goes as one stored block (RFC 1951
 * 3.2.4: BFINAL 0, BTYPE 00, LEN, NLEN, the bytes): byte-aligned like a
 * sync flush, and cheaper than a deflate call for a node's few bytes.
 */
static int
stored(const void *data, size_t len, struct payload_deflate *d)
{
	if ((d->data = malloc(len + 5)) == NULL)
		return -1;
	d->data[0] = 0;
	d->data[1] = len & 0xff;
	d->data[2] = (len >> 8) & 0xff;
	d->data[3] = ~len & 0xff;
	d->data[4] = (~len >> 8) & 0xff;
	memcpy(d->data + 5, data, len);
	d->len = len + 5;
	d->crc = (uint32_t)crc32(crc32(0L, Z_NULL, 0), data, (uInt)len);
	d->in_len = len;
	return 0;
}

int
payload_deflate(z_stream *z, const void *data, size_t len, int last,
    struct payload_deflate *d)
{
	size_t cap, grown;
	unsigned char *p;
	int rc;

	memset(d, 0, sizeof(*d));
	if (!last && len <= PAYLOAD_STORED_MAX)
		return stored(data, len, d);
	if (deflateReset(z) != Z_OK)
		return -1;
	cap = deflateBound(z, len) + 64;
	if ((d->data = malloc(cap)) == NULL)
		return -1;
	z->next_in = (unsigned char *)(uintptr_t)data;
	z->avail_in = (uInt)len;
	for (;;) {
		z->next_out = d->data + d->len;
		z->avail_out = (uInt)(cap - d->len);
		rc = deflate(z, last ? Z_FINISH : Z_SYNC_FLUSH);
		d->len = cap - z->avail_out;
		if (rc == Z_STREAM_ERROR)
			goto fail;
		if (last ? rc == Z_STREAM_END : z->avail_out > 0)
			break;
		grown = cap * 2;
		if ((p = realloc(d->data, grown)) == NULL)
			goto fail;
		d->data = p;
		cap = grown;
	}
	d->crc = (uint32_t)crc32(crc32(0L, Z_NULL, 0), data, (uInt)len);
	d->in_len = len;
	return 0;
fail:
	payload_deflate_release(d);
	return -1;
}

void
payload_deflate_release(struct payload_deflate *d)
{
	free(d->data);
	memset(d, 0, sizeof(*d));
}

void
payload_gzip_header(unsigned char hdr[PAYLOAD_GZIP_HEADER_LEN])
{
	static const unsigned char h[PAYLOAD_GZIP_HEADER_LEN] = {
		0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3	/* deflate, Unix */
	};

	memcpy(hdr, h, sizeof(h));
}

static void
put_le32(unsigned char *p, uint32_t v)
{
	p[0] = v & 0xff;
	p[1] = (v >> 8) & 0xff;
	p[2] = (v >> 16) & 0xff;
	p[3] = (v >> 24) & 0xff;
}

void
payload_gzip_trailer(unsigned char trl[PAYLOAD_GZIP_TRAILER_LEN],
    const struct payload_deflate *head, const struct payload_deflate *tail)
{
	put_le32(trl, (uint32_t)crc32_combine(head->crc, tail->crc,
	    (z_off_t)tail->in_len));
	put_le32(trl + 4, (uint32_t)(head->in_len + tail->in_len));
}

static void
sha256_of(unsigned char out[DIGEST_LEN], const void *a, size_t alen,
    const void *b, size_t blen)
{
	struct sha256_ctx ctx;

	sha256_init(&ctx);
	sha256_update(&ctx, alen, a);
	sha256_update(&ctx, blen, b);
	sha256_digest(&ctx, DIGEST_LEN, out);
}

/*
 * One tar writer for a whole index: libarchive's set-up costs more than a
 * node's entries, so entries go to whichever buffer out names, and the
 * end of the archive (written when it is freed) nowhere.
 */
struct tar_writer {
	struct archive		*a;
	struct archive_entry	*e;
	struct buf		*out;		/* borrowed; NULL: discard */
};

static la_ssize_t
tar_write(struct archive *a, void *arg, const void *data, size_t len)
{
	struct tar_writer *tw = arg;

	if (tw->out != NULL && buf_add(tw->out, data, len) == -1)
		return -1;
	return (la_ssize_t)len;
}

static void
tar_writer_release(struct tar_writer *tw)
{
	tw->out = NULL;
	if (tw->a != NULL)
		archive_write_free(tw->a);
	archive_entry_free(tw->e);
	memset(tw, 0, sizeof(*tw));
}

static int
tar_writer_init(struct tar_writer *tw)
{
	memset(tw, 0, sizeof(*tw));
	if ((tw->a = archive_write_new()) == NULL ||
	    (tw->e = archive_entry_new()) == NULL ||
	    archive_write_set_format_pax_restricted(tw->a) != ARCHIVE_OK ||
	    archive_write_set_bytes_per_block(tw->a, 0) != ARCHIVE_OK ||
	    archive_write_open2(tw->a, tw, NULL, tar_write, NULL, NULL) !=
	    ARCHIVE_OK) {
		tar_writer_release(tw);
		return -1;
	}
	return 0;
}

/* Sets an owner or group, a name or a numeric id, on entry e. */
static void
tar_owner(struct archive_entry *e, const char *who, int group)
{
	unsigned long long id;
	char *end;

	if (who == NULL)
		return;
	id = strtoull(who, &end, 10);
	if (*end == '\0' && end != who) {
		if (group)
			archive_entry_set_gid(e, (la_int64_t)id);
		else
			archive_entry_set_uid(e, (la_int64_t)id);
	} else if (group)
		archive_entry_set_gname(e, who);
	else
		archive_entry_set_uname(e, who);
}

/*
 * Appends files to out as tar entries (paths without their leading '/',
 * modes kept, 0644 without one), without the end of the archive.
 */
static int
tar_entries(struct tar_writer *tw, struct buf *out,
    const struct artifact_set *files, time_t mtime)
{
	const struct artifact_file *f;
	struct archive_entry *e = tw->e;
	size_t i, start = out->len;
	int rc = -1;

	tw->out = out;
	for (i = 0; i < files->len; i++) {
		f = &files->files[i];
		archive_entry_clear(e);
		archive_entry_set_pathname(e, artifact_path_key(f->path));
		archive_entry_set_filetype(e, AE_IFREG);
		archive_entry_set_perm(e, f->mode == ARTIFACT_MODE_NONE ?
		    0644 : (mode_t)f->mode);
		archive_entry_set_size(e, (la_int64_t)f->len);
		archive_entry_set_mtime(e, mtime, 0);
		tar_owner(e, f->owner, 0);
		tar_owner(e, f->group, 1);
		if (archive_write_header(tw->a, e) != ARCHIVE_OK ||
		    (f->len > 0 && archive_write_data(tw->a, f->content,
		    f->len) != (la_ssize_t)f->len) ||
		    archive_write_finish_entry(tw->a) != ARCHIVE_OK)
			goto out;
	}
	/* Every entry is out, padded: whole blocks, nothing held back. */
	if ((out->len - start) % TAR_BLOCK == 0)
		rc = 0;
out:
	tw->out = NULL;
	return rc;
}

/* What making answers needs, set up once per index or override. */
struct maker {
	z_stream		 z;
	struct tar_writer	 tw;
	time_t			 mtime;		/* of the tar entries */
};

static void
maker_release(struct maker *m)
{
	(void)deflateEnd(&m->z);
	tar_writer_release(&m->tw);
}

static int
maker_init(struct maker *m, time_t mtime)
{
	m->mtime = mtime;
	if (payload_deflate_init(&m->z) == -1)
		return -1;
	if (tar_writer_init(&m->tw) == -1) {
		(void)deflateEnd(&m->z);
		return -1;
	}
	return 0;
}

static void
form_release(struct tail_form *f)
{
	free(f->json);
	payload_deflate_release(&f->gz);
}

static void
tail_unref(struct shared_tail *t)
{
	if (t == NULL || __atomic_sub_fetch(&t->refs, 1, __ATOMIC_ACQ_REL) > 0)
		return;
	form_release(&t->comma);
	form_release(&t->bare);
	free(t->tar);
	free(t);
}

static void
answers_ref(struct answers *a)
{
	__atomic_add_fetch(&a->refs, 1, __ATOMIC_RELAXED);
}

static void
answers_unref(void *arg)
{
	struct answers *a = arg;

	if (a == NULL || __atomic_sub_fetch(&a->refs, 1, __ATOMIC_ACQ_REL) > 0)
		return;
	free(a->data);
	free(a);
}

/* p cut (or grown) to size bytes; p itself when realloc fails. */
static char *
realloc_or_keep(char *p, size_t size)
{
	char *q;

	return (q = realloc(p, size)) != NULL ? q : p;
}

/* Called by libmicrohttpd once no response sends the part any more. */
static void
part_release(void *arg)
{
	struct node_part *p = arg;

	free(p->own);
	answers_unref(p->ans);
	tail_unref(p->tail);
	free(p);
}

static int
form_make(struct tail_form *f, z_stream *z, const char *json, size_t len)
{
	if ((f->json = malloc(len + 1)) == NULL)
		return -1;
	memcpy(f->json, json, len);
	f->json[len] = '\0';
	f->json_len = len;
	sha256_of(f->sha, json, len, "", 0);
	return payload_deflate(z, json, len, 1, &f->gz);
}

static struct shared_tail *
tail_new(const struct artifact_set *shared, struct maker *m)
{
	struct shared_tail *t;
	struct buf b;
	int comma = shared->len > 0;

	if ((t = calloc(1, sizeof(*t))) == NULL)
		return NULL;
	t->refs = 1;
	buf_init(&b, SIZE_MAX);
	if ((comma && buf_addc(&b, ',') == -1) ||
	    artifact_set_render_items(&b, shared) == -1 ||
	    buf_adds(&b, PROTOCOL_PAYLOAD_TAIL) == -1 ||
	    form_make(&t->comma, &m->z, b.data, b.len) == -1 ||
	    form_make(&t->bare, &m->z, b.data + comma, b.len - comma) == -1)
		goto fail;
	buf_reset(&b);
	if (tar_entries(&m->tw, &b, shared, m->mtime) == -1 ||
	    buf_addc(&b, '\0') == -1 ||
	    (t->tar = buf_detach(&b, &t->tar_len)) == NULL)
		goto fail;
	t->tar_len--;
	return t;
fail:
	buf_release(&b);
	tail_unref(t);
	return NULL;
}

/*
 * One representation: own, then shared, then end.  A small shared part
 * is copied in (one buffer goes out with its headers in one write, half
 * again as fast as parts); a large one is sent from the tail's one copy.
 * The tar answer (rare clients, and a block or more a file) is always
 * sent in parts, its end from the one static copy, so it adds to each
 * node only its own entries.
 */
static struct http_body *
spliced(const void *own, size_t own_len, const void *shared,
    size_t shared_len, const void *end, size_t end_len,
    struct shared_tail *tail)
{
	struct http_part parts[3];
	struct http_body *body;
	struct node_part *p;
	struct buf b;
	int is_tar = end == tar_end;

	if (!is_tar && shared_len <= PAYLOAD_INLINE_MAX) {
		buf_init(&b, SIZE_MAX);
		if (buf_add(&b, own, own_len) == -1 ||
		    buf_add(&b, shared, shared_len) == -1 ||
		    buf_add(&b, end, end_len) == -1) {
			buf_release(&b);
			return NULL;
		}
		body = http_body_new(200, b.data != NULL ? b.data : "", b.len);
		buf_release(&b);
		return body;
	}
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return NULL;
	if ((p->own = malloc(own_len + (is_tar ? 0 : end_len) + 1)) == NULL) {
		free(p);
		return NULL;
	}
	memcpy(p->own, own, own_len);
	parts[0].data = p->own;
	parts[0].len = own_len;
	parts[1].data = shared;
	parts[1].len = shared_len;
	if (is_tar)
		parts[2].data = tar_end;
	else {
		memcpy(p->own + own_len, end, end_len);
		parts[2].data = p->own + own_len;
	}
	parts[2].len = end_len;
	__atomic_add_fetch(&tail->refs, 1, __ATOMIC_RELAXED);
	p->tail = tail;
	return http_body_new_parts(200, parts, end_len > 0 ? 3 : 2,
	    part_release, p);
}

static const char *
hex(char *out, const unsigned char *d, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = digits[d[i] >> 4];
		out[2 * i + 1] = digits[d[i] & 15];
	}
	out[2 * n] = '\0';
	return out;
}

/* The gzip answer: the node's part deflated alone, then the tail's. */
static struct http_body *
gzip_body(z_stream *z, const char *own, size_t own_len,
    const struct tail_form *f, struct shared_tail *tail)
{
	unsigned char trl[PAYLOAD_GZIP_TRAILER_LEN], *head;
	struct payload_deflate d;
	struct http_body *body = NULL;

	if (payload_deflate(z, own, own_len, 0, &d) == -1)
		return NULL;
	if ((head = malloc(PAYLOAD_GZIP_HEADER_LEN + d.len)) != NULL) {
		payload_gzip_header(head);
		memcpy(head + PAYLOAD_GZIP_HEADER_LEN, d.data, d.len);
		payload_gzip_trailer(trl, &d, &f->gz);
		body = spliced(head, PAYLOAD_GZIP_HEADER_LEN + d.len,
		    f->gz.data, f->gz.len, trl, sizeof(trl), tail);
		free(head);
	}
	payload_deflate_release(&d);
	if (body != NULL && http_body_set_header(body, "Content-Encoding",
	    "gzip") == -1) {
		http_body_free(body);
		body = NULL;
	}
	return body;
}

/*
 * A node's own part, the payload's head and its files (items), and the
 * ETag of its answer in etag (h: the hex digest, for the tar's tag).
 */
static int
own_part(struct buf *own, const char *items, size_t items_len,
    const struct tail_form *f, char h[2 * DIGEST_LEN + 1])
{
	unsigned char d[DIGEST_LEN];

	if (buf_adds(own, PROTOCOL_PAYLOAD_HEAD) == -1 ||
	    buf_add(own, items, items_len) == -1)
		return -1;
	sha256_of(d, own->data, own->len, f->sha, sizeof(f->sha));
	hex(h, d, sizeof(d));
	return 0;
}

/* Gives body the ETag "h" (tar: "h-tar"); 0 or -1. */
static int
tag(struct http_body *body, const char *h, int tar)
{
	char etag[HTTP_ETAG_MAX];
	int n;

	n = snprintf(etag, sizeof(etag), tar ? "\"%s-tar\"" : "\"%s\"", h);
	if (n <= 0 || (size_t)n >= sizeof(etag) ||
	    http_body_set_etag(body, etag) == -1)
		return -1;
	if (tar)
		return http_body_set_header(body, "Content-Type",
		    "application/x-tar");
	return http_body_set_header(body, "Vary", "Accept-Encoding");
}

/* The JSON answer: own, then the tail's form f. */
static struct http_body *
json_body(const struct buf *own, const struct tail_form *f,
    struct shared_tail *tail, const char *h)
{
	struct http_body *body;

	if ((body = spliced(own->data, own->len, f->json, f->json_len, "", 0,
	    tail)) != NULL && tag(body, h, 0) == -1) {
		http_body_free(body);
		body = NULL;
	}
	return body;
}

/*
 * The gzip answer (z may be NULL: one is made when needed), or in *out
 * NULL when it would be no smaller than the JSON one.  0 or -1.
 */
static int
gzip_variant(z_stream *z, const char *own, size_t own_len,
    const struct tail_form *f, struct shared_tail *tail, const char *h,
    struct http_body **out)
{
	struct http_body *gz = NULL;
	z_stream mine;
	int made = 0;

	*out = NULL;
	if (z == NULL && own_len > PAYLOAD_STORED_MAX) {
		/* Only a node's part too large to store needs a deflater. */
		if (payload_deflate_init(&mine) == -1)
			return -1;
		z = &mine;
		made = 1;
	}
	gz = gzip_body(z, own, own_len, f, tail);
	if (made)
		(void)deflateEnd(&mine);
	if (gz == NULL || tag(gz, h, 0) == -1) {
		http_body_free(gz);
		return -1;
	}
	/* A tiny payload may come out larger compressed: plain it is. */
	if (http_body_len(gz) >= own_len + f->json_len)
		http_body_free(gz);
	else
		*out = gz;
	return 0;
}

/* The tar answer: the node's entries (tar[0..tar_len)), then the tail's. */
static struct http_body *
tar_variant(const char *tar, size_t tar_len, struct shared_tail *tail,
    const char *h)
{
	struct http_body *body;

	if ((body = spliced(tar, tar_len, tail->tar, tail->tar_len, tar_end,
	    sizeof(tar_end), tail)) != NULL && tag(body, h, 1) == -1) {
		http_body_free(body);
		body = NULL;
	}
	return body;
}

/*
 * Makes the answers of one node (src: its files, rendered as JSON items
 * and as tar entries), then the shared tail: the JSON body, with its gzip
 * and tar variants, each with its ETag, all at once.
 */
static struct http_body *
node_body(z_stream *z, const struct node_src *src, struct shared_tail *tail)
{
	char h[2 * DIGEST_LEN + 1];
	const struct tail_form *f;
	struct http_body *body = NULL, *gz = NULL, *tar = NULL;
	struct buf own;

	f = src->items_len > 0 ? &tail->comma : &tail->bare;
	buf_init(&own, SIZE_MAX);
	if (own_part(&own, src->items, src->items_len, f, h) == -1 ||
	    (body = json_body(&own, f, tail, h)) == NULL ||
	    gzip_variant(z, own.data, own.len, f, tail, h, &gz) == -1 ||
	    (tar = tar_variant(src->tar, src->tar_len, tail, h)) == NULL) {
		buf_release(&own);
		http_body_free(body);
		http_body_free(gz);
		return NULL;
	}
	buf_release(&own);
	http_body_set_variant(body, HTTP_VARIANT_GZIP, gz);
	http_body_set_variant(body, HTTP_VARIANT_TAR, tar);
	return body;
}

/*
 * The tar entries of files rendered as JSON items: parsed back, they are
 * the files the bundle gave, and make the same entries.
 */
static int
tar_of_items(struct buf *tar, const char *items, size_t items_len,
    time_t mtime)
{
	struct artifact_set files;
	struct tar_writer tw;
	struct errbuf eb;
	struct buf doc;
	int rc = -1;

	artifact_set_init(&files);
	buf_init(&doc, SIZE_MAX);
	if (buf_adds(&doc, PROTOCOL_PAYLOAD_HEAD) == -1 ||
	    buf_add(&doc, items, items_len) == -1 ||
	    buf_adds(&doc, PROTOCOL_PAYLOAD_TAIL) == -1 ||
	    protocol_parse_payload(&files, doc.data, doc.len, SIZE_MAX,
	    &eb) == -1)
		goto out;
	if (tar_writer_init(&tw) == -1)
		goto out;
	rc = tar_entries(&tw, tar, &files, mtime);
	tar_writer_release(&tw);
out:
	buf_release(&doc);
	artifact_set_release(&files);
	return rc;
}

/*
 * http_variant_fn for an index's node: its gzip or tar answer, made from
 * its plain answer on the first request that asks (any serving thread;
 * it reads only what the index no longer changes).
 */
static int
node_variant(void *arg, enum http_variant v, struct http_body **alt)
{
	const struct node *nl = arg;
	const struct payload_index *idx = nl->idx;
	const char *own = idx->ans->data + nl->at;
	size_t own_len = HEAD_LEN + nl->items_len;
	char h[2 * DIGEST_LEN + 1];
	unsigned char d[DIGEST_LEN];
	const struct tail_form *f;
	struct buf tar;
	int rc = -1;

	*alt = NULL;
	f = nl->items_len > 0 ? &idx->tail->comma : &idx->tail->bare;
	sha256_of(d, own, own_len, f->sha, sizeof(f->sha));
	hex(h, d, sizeof(d));
	buf_init(&tar, SIZE_MAX);
	if (v == HTTP_VARIANT_GZIP)
		rc = gzip_variant(NULL, own, own_len, f, idx->tail, h, alt);
	else if (v == HTTP_VARIANT_TAR) {
		if (tar_of_items(&tar, own + HEAD_LEN, nl->items_len,
		    idx->mtime) == 0 && (*alt = tar_variant(tar.data != NULL ?
		    tar.data : "", tar.len, idx->tail, h)) != NULL)
			rc = 0;
	} else
		rc = 0;
	buf_release(&tar);
	return rc;
}

/*
 * Nodes served the same bytes share one answer: an open-addressing table
 * of node numbers (plus one; 0 is empty) keyed by their answer's digest,
 * the digests kept aside while the index is made.
 */
struct seen {
	uint32_t	*slot;
	size_t		 mask;
	unsigned char	(*digest)[DIGEST_LEN];	/* by node */
};

static int
seen_init(struct seen *sn, size_t n)
{
	size_t cap = 16;

	while (cap < 2 * n)
		cap *= 2;
	sn->mask = cap - 1;
	sn->slot = calloc(cap, sizeof(*sn->slot));
	sn->digest = calloc(n > 0 ? n : 1, sizeof(*sn->digest));
	return sn->slot != NULL && sn->digest != NULL ? 0 : -1;
}

static void
seen_release(struct seen *sn)
{
	free(sn->slot);
	free(sn->digest);
	memset(sn, 0, sizeof(*sn));
}

/*
 * The first node whose digest is node i's (set before), or i itself, which
 * it then becomes.
 */
static size_t
seen_first(struct seen *sn, size_t i)
{
	const unsigned char *d = sn->digest[i];
	uint64_t hash;
	size_t at;

	memcpy(&hash, d, sizeof(hash));
	for (at = (size_t)hash & sn->mask; sn->slot[at] != 0;
	    at = (at + 1) & sn->mask)
		if (memcmp(sn->digest[sn->slot[at] - 1], d, DIGEST_LEN) == 0)
			return sn->slot[at] - 1;
	sn->slot[at] = (uint32_t)(i + 1);
	return i;
}

/* The tail's form that follows node nl's own part. */
static const struct tail_form *
node_form(const struct payload_index *idx, const struct node *nl)
{
	return nl->items_len > 0 ? &idx->tail->comma : &idx->tail->bare;
}

/*
 * Renders the files of node i as its plain answer at the end of a
 * (its own part, then the tail when it is copied in), unless it is the
 * same as an earlier node's: then nothing is added and the node notes
 * which (idx NULL, at that node's number).
 */
static int
render_node(struct payload_index *idx, size_t i,
    const struct artifact_set *files, struct buf *a, struct seen *sn)
{
	struct node *nl = &idx->nodes[i];
	const struct tail_form *f;
	size_t first;

	nl->at = a->len;
	if (buf_adds(a, PROTOCOL_PAYLOAD_HEAD) == -1 ||
	    artifact_set_render_items(a, files) == -1)
		return -1;
	nl->items_len = a->len - nl->at - HEAD_LEN;
	f = node_form(idx, nl);
	sha256_of(sn->digest[i], a->data + nl->at, a->len - nl->at, f->sha,
	    sizeof(f->sha));
	if ((first = seen_first(sn, i)) != i) {
		a->len = nl->at;
		a->data[a->len] = '\0';
		nl->at = first;
		nl->items_len = 0;
		return 0;
	}
	nl->idx = idx;
	if (f->json_len <= PAYLOAD_INLINE_MAX &&
	    buf_add(a, f->json, f->json_len) == -1)
		return -1;
	return 0;
}

/*
 * The JSON answer of node nl, pointing into idx->ans: the node's run
 * (the tail copied in), or that and the tail's one copy as two parts.
 * Its ETag is the digest of its own part and the tail's; its variants
 * come later.
 */
static int
lazy_body(struct payload_index *idx, struct node *nl)
{
	const struct tail_form *f = node_form(idx, nl);
	const char *own = idx->ans->data + nl->at;
	size_t own_len = HEAD_LEN + nl->items_len;
	unsigned char d[DIGEST_LEN];
	char h[2 * DIGEST_LEN + 1];
	struct http_part parts[2];
	struct http_body *body;
	struct node_part *p;

	sha256_of(d, own, own_len, f->sha, sizeof(f->sha));
	hex(h, d, sizeof(d));
	answers_ref(idx->ans);
	if (f->json_len <= PAYLOAD_INLINE_MAX)
		body = http_body_new_lent(200, own, own_len + f->json_len,
		    answers_unref, idx->ans);
	else if ((p = calloc(1, sizeof(*p))) == NULL) {
		answers_unref(idx->ans);
		return -1;
	} else {
		p->ans = idx->ans;
		__atomic_add_fetch(&idx->tail->refs, 1, __ATOMIC_RELAXED);
		p->tail = idx->tail;
		parts[0].data = own;
		parts[0].len = own_len;
		parts[1].data = f->json;
		parts[1].len = f->json_len;
		body = http_body_new_parts(200, parts, 2, part_release, p);
	}
	if (body == NULL || tag(body, h, 0) == -1) {
		http_body_free(body);
		return -1;
	}
	http_body_set_variant_maker(body, node_variant, nl);
	nl->body = body;
	return 0;
}

void
payload_index_free(struct payload_index *idx)
{
	size_t i;

	if (idx == NULL)
		return;
	for (i = 0; i < idx->nnodes; i++) {
		if (idx->nodes[i].idx != NULL)
			http_body_free(idx->nodes[i].body);
		free(idx->nodes[i].identifier);
	}
	free(idx->nodes);
	answers_unref(idx->ans);
	for (i = 0; i < idx->noverrides; i++) {
		free(idx->overrides[i].items);
		free(idx->overrides[i].tar);
		http_body_free(idx->overrides[i].body);
	}
	free(idx->overrides);
	tail_unref(idx->tail);
	free(idx);
}

/*
 * Every node of b rendered into one buffer of plain answers, its files
 * freed as it is and its identifier taken; the buffer cut to its size
 * (it moved as it grew, so the bodies come after), the bundle and the
 * digests gone, then the bodies.
 */
static int
index_nodes(struct payload_index *idx, struct bundle *b)
{
	struct node *nl;
	struct seen sn;
	struct buf a;
	size_t i;
	int rc = -1;

	buf_init(&a, SIZE_MAX);
	if ((idx->ans = calloc(1, sizeof(*idx->ans))) == NULL)
		return -1;
	idx->ans->refs = 1;
	if (seen_init(&sn, b->nnodes) == -1)
		goto out;
	for (i = 0; i < b->nnodes; i++) {
		if (render_node(idx, i, &b->nodes[i].files, &a, &sn) == -1)
			goto out;
		artifact_set_release(&b->nodes[i].files);
		idx->nodes[i].identifier = b->nodes[i].identifier;
		b->nodes[i].identifier = NULL;
		idx->nnodes++;
	}
	seen_release(&sn);
	bundle_release(b);
	if (buf_addc(&a, '\0') == -1 ||
	    (idx->ans->data = buf_detach(&a, &idx->ans->len)) == NULL)
		goto out;
	/* Kept for the index's life: not at the size it grew to. */
	idx->ans->data = realloc_or_keep(idx->ans->data, idx->ans->len + 1);
	for (i = 0; i < idx->nnodes; i++) {
		nl = &idx->nodes[i];
		if (nl->idx == NULL)
			nl->body = idx->nodes[nl->at].body;
		else if (lazy_body(idx, nl) == -1)
			goto out;
	}
	rc = 0;
out:
	seen_release(&sn);
	buf_release(&a);
	return rc;
}

struct payload_index *
payload_index_new(struct bundle *b, struct errbuf *eb)
{
	struct payload_index *idx;
	struct maker m;

	if ((idx = calloc(1, sizeof(*idx))) == NULL ||
	    (b->nnodes > 0 && (idx->nodes = calloc(b->nnodes,
	    sizeof(*idx->nodes))) == NULL))
		goto nomem;
	idx->mtime = time(NULL);
	if (maker_init(&m, idx->mtime) == -1)
		goto nomem;
	idx->tail = tail_new(&b->shared, &m);
	maker_release(&m);
	if (idx->tail == NULL || index_nodes(idx, b) == -1)
		goto nomem;
	return idx;
nomem:
	bundle_release(b);
	payload_index_free(idx);
	errbuf_set(eb, EC_INTERNAL, "out of memory");
	return NULL;
}

static int
override_cmp(const void *key, const void *elt)
{
	return strcmp(key, ((const struct override *)elt)->identifier);
}

static struct override *
override_find(const struct payload_index *idx, const char *identifier)
{
	if (idx->noverrides == 0)
		return NULL;
	return bsearch(identifier, idx->overrides, idx->noverrides,
	    sizeof(idx->overrides[0]), override_cmp);
}

/*
 * Sets identifier's override to items and tar (both taken over on
 * success).
 */
static int
override_put(struct payload_index *idx, struct maker *m,
    const char *identifier, char *items, size_t items_len, char *tar,
    size_t tar_len, struct errbuf *eb)
{
	struct override *o, *grown;
	struct http_body *body;
	struct node_src src;
	size_t at;

	src.items = items;
	src.items_len = items_len;
	src.tar = tar;
	src.tar_len = tar_len;
	if ((body = node_body(&m->z, &src, idx->tail)) == NULL)
		return errbuf_set(eb, EC_INTERNAL, "out of memory");
	if ((o = override_find(idx, identifier)) != NULL) {
		free(o->items);
		free(o->tar);
		http_body_free(o->body);
	} else {
		if ((grown = reallocarray(idx->overrides, idx->noverrides + 1,
		    sizeof(*grown))) == NULL) {
			http_body_free(body);
			return errbuf_set(eb, EC_INTERNAL, "out of memory");
		}
		idx->overrides = grown;
		for (at = 0; at < idx->noverrides && strcmp(
		    idx->overrides[at].identifier, identifier) < 0; at++)
			;
		memmove(&idx->overrides[at + 1], &idx->overrides[at],
		    (idx->noverrides - at) * sizeof(*grown));
		idx->noverrides++;
		o = &idx->overrides[at];
		(void)snprintf(o->identifier, sizeof(o->identifier), "%s",
		    identifier);
	}
	o->items = items;
	o->items_len = items_len;
	o->tar = tar;
	o->tar_len = tar_len;
	o->body = body;
	return 0;
}

/* A copy of len bytes of p, NUL-terminated; NULL when out of memory. */
static char *
dup_bytes(const char *p, size_t len)
{
	char *q;

	if ((q = malloc(len + 1)) == NULL)
		return NULL;
	memcpy(q, p, len);
	q[len] = '\0';
	return q;
}

int
payload_index_override(struct payload_index *idx, const char *identifier,
    const struct artifact_set *files, struct errbuf *eb)
{
	struct buf items, tar;
	struct maker m;
	char *text = NULL, *entries = NULL;
	int rc = -1;

	buf_init(&items, SIZE_MAX);
	buf_init(&tar, SIZE_MAX);
	if (maker_init(&m, idx->mtime) == -1) {
		errbuf_set(eb, EC_INTERNAL, "out of memory");
		return -1;
	}
	if (artifact_set_render_items(&items, files) == -1 ||
	    tar_entries(&m.tw, &tar, files, m.mtime) == -1 ||
	    (text = dup_bytes(items.data != NULL ? items.data : "",
	    items.len)) == NULL ||
	    (entries = dup_bytes(tar.data != NULL ? tar.data : "",
	    tar.len)) == NULL) {
		errbuf_set(eb, EC_INTERNAL, "out of memory");
		goto out;
	}
	if (override_put(idx, &m, identifier, text, items.len, entries,
	    tar.len, eb) == -1)
		goto out;
	text = entries = NULL;		/* the override's now */
	rc = 0;
out:
	free(text);
	free(entries);
	buf_release(&items);
	buf_release(&tar);
	maker_release(&m);
	return rc;
}

int
payload_index_carry_overrides(struct payload_index *to,
    const struct payload_index *from, struct errbuf *eb)
{
	const struct override *o;
	struct maker m;
	size_t i;
	char *items, *tar;
	int rc = -1;

	if (from == NULL || from->noverrides == 0)
		return 0;
	if (maker_init(&m, to->mtime) == -1)
		return errbuf_set(eb, EC_INTERNAL, "out of memory");
	for (i = 0; i < from->noverrides; i++) {
		o = &from->overrides[i];
		items = dup_bytes(o->items, o->items_len);
		tar = dup_bytes(o->tar, o->tar_len);
		if (items == NULL || tar == NULL) {
			free(items);
			free(tar);
			errbuf_set(eb, EC_INTERNAL, "out of memory");
			goto out;
		}
		if (override_put(to, &m, o->identifier, items, o->items_len,
		    tar, o->tar_len, eb) == -1) {
			free(items);
			free(tar);
			goto out;
		}
	}
	rc = 0;
out:
	maker_release(&m);
	return rc;
}

struct http_body *
payload_index_body_with(const struct payload_index *idx,
    const struct artifact_set *files, struct errbuf *eb)
{
	static const struct artifact_set none;
	struct shared_tail *tail = NULL;
	struct http_body *body = NULL;
	struct node_src src;
	struct buf items, tar;
	struct maker m;

	if (maker_init(&m, idx != NULL ? idx->mtime : 0) == -1) {
		errbuf_set(eb, EC_INTERNAL, "out of memory");
		return NULL;
	}
	buf_init(&items, SIZE_MAX);
	buf_init(&tar, SIZE_MAX);
	if ((idx != NULL || (tail = tail_new(&none, &m)) != NULL) &&
	    artifact_set_render_items(&items, files) == 0 &&
	    tar_entries(&m.tw, &tar, files, m.mtime) == 0) {
		src.items = items.data != NULL ? items.data : "";
		src.items_len = items.len;
		src.tar = tar.data != NULL ? tar.data : "";
		src.tar_len = tar.len;
		body = node_body(&m.z, &src, idx != NULL ? idx->tail : tail);
	}
	buf_release(&items);
	buf_release(&tar);
	tail_unref(tail);
	maker_release(&m);
	if (body == NULL)
		errbuf_set(eb, EC_INTERNAL, "out of memory");
	return body;
}

size_t
payload_index_overrides(const struct payload_index *idx)
{
	return idx->noverrides;
}

static int
node_cmp(const void *key, const void *elt)
{
	return strcmp(key, ((const struct node *)elt)->identifier);
}

const struct http_body *
payload_index_find(const struct payload_index *idx, const char *identifier)
{
	const struct override *o;
	const struct node *nl;

	if ((o = override_find(idx, identifier)) != NULL)
		return o->body;
	if (idx->nnodes == 0 || (nl = bsearch(identifier, idx->nodes,
	    idx->nnodes, sizeof(*nl), node_cmp)) == NULL)
		return NULL;
	return nl->body;
}

size_t
payload_index_nodes(const struct payload_index *idx)
{
	return idx->nnodes;
}
