/*
 * Bundles as archives: see bundle_archive.h.
 */
#include "bundle_archive.h"

#include <sys/mman.h>

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <archive.h>
#include <archive_entry.h>
#include <nettle/sha2.h>

#include "array.h"
#include "artifacts.h"
#include "buf.h"
#include "bundle.h"
#include "bundle_shape.h"
#include "bundle_tree.h"
#include "errbuf.h"
#include "exitcode.h"
#include "fsx.h"
#include "banned.h"

#define SHOW	BUNDLE_TREE_SHOW	/* of an entry name, in messages */

#define READ_CHUNK	65536
#define NOT_A_BUNDLE	"not a JSON bundle, nor a tar or zip archive"

static const struct {
	const char			*name;
	enum bundle_archive_format	 fmt;
} formats[] = {
	{ "json",	BUNDLE_ARCHIVE_JSON },
	{ "yaml",	BUNDLE_ARCHIVE_YAML },
	{ "tar",	BUNDLE_ARCHIVE_TAR },
	{ "tar.gz",	BUNDLE_ARCHIVE_TAR_GZ },
	{ "tar.xz",	BUNDLE_ARCHIVE_TAR_XZ },
	{ "tar.zst",	BUNDLE_ARCHIVE_TAR_ZST },
	{ "zip",	BUNDLE_ARCHIVE_ZIP },
	{ "tgz",	BUNDLE_ARCHIVE_TAR_GZ },	/* extensions only */
	{ "yml",	BUNDLE_ARCHIVE_YAML },
};

/* The formats --format takes: all but the last two rows. */
#define NFORMAT_NAMES	(nitems(formats) - 2)

int
bundle_archive_format_parse(const char *name, enum bundle_archive_format *fmt)
{
	size_t i;

	for (i = 0; i < NFORMAT_NAMES; i++) {
		if (strcmp(formats[i].name, name) == 0) {
			*fmt = formats[i].fmt;
			return 0;
		}
	}
	return -1;
}

int
bundle_archive_format_from_path(const char *path,
    enum bundle_archive_format *fmt)
{
	const char *base, *ext;
	size_t i, plen = strlen(path), elen;

	base = strrchr(path, '/') != NULL ? strrchr(path, '/') + 1 : path;
	/* Longest match first: x.tar.gz is tar.gz, not a .gz of something. */
	for (i = nitems(formats); i > 0; i--) {
		ext = formats[i - 1].name;
		elen = strlen(ext);
		if (plen > elen + 1 && path + plen - elen - 1 > base &&
		    path[plen - elen - 1] == '.' &&
		    strcmp(path + plen - elen, ext) == 0) {
			*fmt = formats[i - 1].fmt;
			return 0;
		}
	}
	return -1;
}

static const char *
aerr(struct archive *ar)
{
	const char *s = archive_error_string(ar);

	return s != NULL ? s : "unknown error";
}

/*
 * The entry's name: libarchive's UTF-8 form where it knows one (pax
 * records, zip's UTF-8 flag), else the raw bytes, which bundle_tree_parse
 * checks are UTF-8.  In the C locale cfgsync runs in, libarchive cannot
 * convert raw bytes itself.
 */
static const char *
entry_name(struct archive_entry *e)
{
	const char *name;

	if ((name = archive_entry_pathname_utf8(e)) != NULL)
		return name;
	return archive_entry_pathname(e);
}

/* Why an entry of this type has no place in a bundle, or NULL. */
static const char *
entry_refusal(struct archive_entry *e)
{
	if (archive_entry_hardlink(e) != NULL ||
	    archive_entry_hardlink_utf8(e) != NULL)
		return "hard link";
	return bundle_tree_refusal((unsigned)archive_entry_filetype(e));
}

/* A spooled file: where its content is, until the spool is mapped. */
struct spooled {
	size_t	node;		/* into b->nodes, or SIZE_MAX: shared */
	size_t	file;		/* index into that set */
	size_t	off;		/* in the spool */
};

/* Limits counted across the entries of one archive. */
struct budget {
	const struct bundle_limits	*l;
	size_t				 entries;
	size_t				 total;
	char				*manifest;	/* or NULL */
	size_t				 manifest_len;
	struct bundle_content		*c;	/* or NULL: keep */
	struct spooled			*spooled;
	size_t				 nspooled, spooledcap;
	size_t				 spool_len;	/* written */
};

void
bundle_content_init(struct bundle_content *c, enum bundle_content_mode mode,
    int spool)
{
	memset(c, 0, sizeof(*c));
	c->mode = mode;
	c->spool = spool;
}

static void
disown_set(const char *map, size_t len, struct artifact_set *set)
{
	size_t i;

	for (i = 0; i < set->len; i++)
		if (set->files[i].content >= map &&
		    set->files[i].content < map + len)
			set->files[i].content = NULL;
}

void
bundle_content_disown(const struct bundle_content *c, struct artifact_set *set)
{
	if (c != NULL && c->map != NULL)
		disown_set(c->map, c->map_len, set);
}

/* As bundle_content_disown, for every file of b. */
static void
disown_bundle(const struct bundle_content *c, struct bundle *b)
{
	size_t i;

	for (i = 0; i < b->nnodes; i++)
		bundle_content_disown(c, &b->nodes[i].files);
	bundle_content_disown(c, &b->shared);
}

void
bundle_content_release(struct bundle_content *c)
{
	if (c == NULL || c->map == NULL)
		return;
	(void)munmap(c->map, c->map_len);
	c->map = NULL;
	c->map_len = 0;
}

/* Reads exactly size bytes of the current entry into *content. */
static int
read_sized(struct archive *ar, const char *name, size_t size,
    char **content, struct errbuf *eb)
{
	size_t got = 0;
	la_ssize_t n = 0;
	char *p;

	if ((p = malloc(size + 1)) == NULL)
		return errbuf_set(eb, EC_INTERNAL, "out of memory");
	while (got < size &&
	    (n = archive_read_data(ar, p + got, size - got)) > 0)
		got += (size_t)n;
	if (got < size) {
		free(p);
		return errbuf_set(eb, EC_INVALID, "%.*s: %s", SHOW, name,
		    n < 0 ? aerr(ar) : "shorter than its header says");
	}
	p[size] = '\0';
	*content = p;
	return 0;
}

/*
 * Refuses entry name for passing cap, the room read_data or stream_data
 * gave it, naming the limit that made cap.  Returns -1.
 */
static int
over(const struct budget *bu, const char *name, size_t cap,
    struct errbuf *eb)
{
	if (cap == bu->l->max_file_size)
		return errbuf_set(eb, EC_INVALID,
		    "%.*s: over the limit of %zu bytes per file", SHOW, name,
		    bu->l->max_file_size);
	return errbuf_set(eb, EC_INVALID,
	    "%.*s: over the limit of %zu bytes in all", SHOW, name,
	    bu->l->max_total_size);
}

/*
 * Reads the current entry's data into *content (malloc'd, NUL-terminated)
 * within the file and total limits, stopping at the first byte past one.
 */
static int
read_data(struct archive *ar, struct archive_entry *e, const char *name,
    struct budget *bu, char **content, size_t *lenp, struct errbuf *eb)
{
	char chunk[READ_CHUNK];
	struct buf data;
	size_t room = bu->l->max_total_size - bu->total, cap;
	la_ssize_t n;

	cap = bu->l->max_file_size < room ? bu->l->max_file_size : room;
	buf_init(&data, cap);
	/*
	 * A declared size is checked before a byte is inflated, then read
	 * straight into place; libarchive stops an entry at that size.
	 */
	if (archive_entry_size_is_set(e) && archive_entry_size(e) >= 0) {
		if ((unsigned long long)archive_entry_size(e) > cap)
			goto over;
		*lenp = (size_t)archive_entry_size(e);
		if (read_sized(ar, name, *lenp, content, eb) == -1)
			return -1;
		bu->total += *lenp;
		return 0;
	}
	for (;;) {
		if ((n = archive_read_data(ar, chunk, sizeof(chunk))) == 0)
			break;
		if (n < 0) {
			buf_release(&data);
			return errbuf_set(eb, EC_INVALID, "%.*s: %s", SHOW,
			    name, aerr(ar));
		}
		if (buf_add(&data, chunk, (size_t)n) == -1) {
			if (errno == EMSGSIZE)
				goto over;
			buf_release(&data);
			return errbuf_set(eb, EC_INTERNAL, "out of memory");
		}
	}
	if ((*content = buf_detach(&data, lenp)) == NULL)
		return errbuf_set(eb, EC_INTERNAL, "out of memory");
	bu->total += *lenp;
	return 0;
over:
	buf_release(&data);
	return over(bu, name, cap, eb);
}

/*
 * Streams the current entry's data through a fixed buffer: counts it
 * against the limits, refusing at the first block past one, hashes it
 * into sha256 and, when spooling, appends it and a NUL to the spool.
 * Sets *lenp and *offp (where it starts in the spool).
 */
static int
stream_data(struct archive *ar, struct archive_entry *e, const char *name,
    struct budget *bu, size_t *lenp, size_t *offp,
    unsigned char sha256[SHA256_DIGEST_SIZE], struct errbuf *eb)
{
	char chunk[READ_CHUNK];
	struct sha256_ctx ctx;
	size_t room = bu->l->max_total_size - bu->total, cap, got = 0;
	size_t want = SIZE_MAX;
	int spool = bu->c->mode == BUNDLE_CONTENT_SPOOL;
	la_ssize_t n;

	cap = bu->l->max_file_size < room ? bu->l->max_file_size : room;
	/*
	 * A declared size is checked before a byte is inflated, and then
	 * read exactly, as read_sized does: nothing past it is asked for.
	 */
	if (archive_entry_size_is_set(e) && archive_entry_size(e) >= 0) {
		if ((unsigned long long)archive_entry_size(e) > cap)
			return over(bu, name, cap, eb);
		want = (size_t)archive_entry_size(e);
	}
	sha256_init(&ctx);
	while (got < want && (n = archive_read_data(ar, chunk,
	    want - got < sizeof(chunk) ? want - got : sizeof(chunk))) != 0) {
		if (n < 0)
			return errbuf_set(eb, EC_INVALID, "%.*s: %s", SHOW,
			    name, aerr(ar));
		if ((size_t)n > cap - got)
			return over(bu, name, cap, eb);
		sha256_update(&ctx, (size_t)n, (const uint8_t *)chunk);
		if (spool && fsx_write_all(bu->c->spool, chunk,
		    (size_t)n) == -1)
			return errbuf_set(eb, EC_WRITE, "spool %.*s: %s",
			    SHOW, name, strerror(errno));
		got += (size_t)n;
	}
	if (want != SIZE_MAX && got < want)
		return errbuf_set(eb, EC_INVALID, "%.*s: %s", SHOW, name,
		    "shorter than its header says");
	if (spool && fsx_write_all(bu->c->spool, "", 1) == -1)
		return errbuf_set(eb, EC_WRITE, "spool %.*s: %s", SHOW, name,
		    strerror(errno));
	sha256_digest(&ctx, SHA256_DIGEST_SIZE, sha256);
	*offp = bu->spool_len;
	if (spool)
		bu->spool_len += got + 1;
	*lenp = got;
	bu->total += got;
	return 0;
}

/*
 * Adds the file entry te to b without its content in memory (DROP,
 * SPOOL): its size, the digest of its content and, when spooling, where
 * the content is for map_spool.
 */
static int
add_streamed(struct bundle *b, struct archive *ar, struct archive_entry *e,
    const char *name, const struct bundle_tree_entry *te, struct budget *bu,
    struct errbuf *eb)
{
	unsigned char sha256[SHA256_DIGEST_SIZE];
	struct bundle_node *node = NULL;
	struct artifact_set *set;
	struct spooled *sp;
	size_t len, off;

	if (stream_data(ar, e, name, bu, &len, &off, sha256, eb) == -1)
		return -1;
	if (bundle_tree_add(b, te, NULL, len,
	    bundle_tree_mode(archive_entry_perm(e)), eb) == -1)
		return -1;
	/* The file just added is the last of its set. */
	if (te->identifier[0] != '\0' &&
	    (node = bundle_node_get(b, te->identifier)) == NULL)
		return errbuf_set(eb, EC_INTERNAL, "out of memory");
	set = node != NULL ? &node->files : &b->shared;
	memcpy(set->files[set->len - 1].sha256, sha256, sizeof(sha256));
	if (bu->c->mode != BUNDLE_CONTENT_SPOOL)
		return 0;
	if (ARRAY_GROW(bu->spooled, bu->nspooled + 1, bu->spooledcap) == -1)
		return errbuf_set(eb, EC_INTERNAL, "out of memory");
	sp = &bu->spooled[bu->nspooled++];
	sp->node = node != NULL ? (size_t)(node - b->nodes) : SIZE_MAX;
	sp->file = set->len - 1;
	sp->off = off;
	return 0;
}

/*
 * Maps the spool and points each spooled file's content into it, before
 * anything reorders the files.
 */
static int
map_spool(struct bundle *b, struct budget *bu, struct errbuf *eb)
{
	struct bundle_content *c = bu->c;
	struct artifact_set *set;
	const struct spooled *sp;
	void *map;
	size_t i;

	if (c == NULL || c->mode != BUNDLE_CONTENT_SPOOL || bu->spool_len == 0)
		return 0;
	if ((map = mmap(NULL, bu->spool_len, PROT_READ, MAP_PRIVATE, c->spool,
	    0)) == MAP_FAILED)
		return errbuf_set(eb, EC_INTERNAL, "map the spool: %s",
		    strerror(errno));
	c->map = map;
	c->map_len = bu->spool_len;
	for (i = 0; i < bu->nspooled; i++) {
		sp = &bu->spooled[i];
		set = sp->node == SIZE_MAX ? &b->shared :
		    &b->nodes[sp->node].files;
		set->files[sp->file].content = c->map + sp->off;
	}
	return 0;
}

/*
 * Reads one entry into b.  Returns 0, 1 for a problem that leaves the
 * reading able to go on (a refused entry), or -1 for one that stops it.
 */
static int
read_entry(struct bundle *b, struct archive *ar, struct archive_entry *e,
    struct budget *bu, struct errbuf *eb)
{
	struct bundle_tree_entry te;
	const char *name, *why;
	char *content;
	size_t len;
	int isdir;

	if ((name = entry_name(e)) == NULL)
		name = "";
	if (++bu->entries > bu->l->max_entries) {
		errbuf_set(eb, EC_INVALID,
		    "%.*s: over the limit of %zu entries", SHOW, name,
		    bu->l->max_entries);
		return -1;
	}
	if ((why = entry_refusal(e)) != NULL) {
		errbuf_set(eb, EC_INVALID, "%.*s: %s", SHOW, name, why);
		return 1;
	}
	isdir = archive_entry_filetype(e) == AE_IFDIR;
	if (!isdir && bundle_tree_is_manifest(name)) {
		if (bu->manifest != NULL) {
			errbuf_set(eb, EC_INVALID, "%.*s: a second manifest",
			    SHOW, name);
			return 1;
		}
		return read_data(ar, e, name, bu, &bu->manifest,
		    &bu->manifest_len, eb);
	}
	if (bundle_tree_parse(name, isdir, &te, eb) == -1)
		return 1;
	if (isdir)
		return bundle_tree_add(b, &te, NULL, 0, 0, eb);
	if (bu->c != NULL && bu->c->mode != BUNDLE_CONTENT_KEEP)
		return add_streamed(b, ar, e, name, &te, bu, eb);
	if (read_data(ar, e, name, bu, &content, &len, eb) == -1)
		return -1;
	return bundle_tree_add(b, &te, content, len,
	    bundle_tree_mode(archive_entry_perm(e)), eb);
}

int
bundle_archive_read(struct bundle *b, const void *data, size_t len,
    const struct bundle_limits *l, struct bundle_report *r,
    struct errbuf *eb)
{
	return bundle_archive_read_with(b, -1, data, len, l, NULL, r, eb);
}

int
bundle_archive_read_with(struct bundle *b, int fd, const void *data,
    size_t len, const struct bundle_limits *l, struct bundle_content *c,
    struct bundle_report *r, struct errbuf *eb)
{
	struct archive *ar = NULL;
	struct archive_entry *e;
	struct budget bu;
	size_t start = r != NULL ? r->count : 0;
	int rc = -1, st;

	memset(&bu, 0, sizeof(bu));
	bu.l = l;
	bu.c = c;
	b->hashed = c != NULL && c->mode != BUNDLE_CONTENT_KEEP;
	if (fd == -1 && len == 0) {
		errbuf_set(eb, EC_INVALID, "empty file: not a bundle");
		goto fatal;
	}
	if ((ar = archive_read_new()) == NULL) {
		errbuf_set(eb, EC_INTERNAL, "out of memory");
		goto out;
	}
	/* Only what SPEC 5 names: no cpio, rar, 7-zip or raw data. */
	if (archive_read_support_filter_gzip(ar) < ARCHIVE_WARN ||
	    archive_read_support_filter_xz(ar) < ARCHIVE_WARN ||
	    archive_read_support_filter_zstd(ar) < ARCHIVE_WARN ||
	    archive_read_support_format_tar(ar) != ARCHIVE_OK ||
	    archive_read_support_format_zip(ar) != ARCHIVE_OK) {
		errbuf_set(eb, EC_INTERNAL, "libarchive: %s", aerr(ar));
		goto out;
	}
	/* Opening is where libarchive sniffs the filters and format. */
	if ((fd != -1 ? archive_read_open_fd(ar, fd, READ_CHUNK) :
	    archive_read_open_memory(ar, data, len)) < ARCHIVE_WARN) {
		errbuf_set(eb, EC_INVALID, "%s: %s", NOT_A_BUNDLE, aerr(ar));
		goto fatal;
	}
	for (;;) {
		st = archive_read_next_header(ar, &e);
		if (st == ARCHIVE_EOF)
			break;
		if (st < ARCHIVE_WARN) {
			errbuf_set(eb, EC_INVALID, "%s: %s", bu.entries == 0 ?
			    NOT_A_BUNDLE : "read archive", aerr(ar));
			goto fatal;
		}
		if ((st = read_entry(b, ar, e, &bu, eb)) == 0)
			continue;
		if (st == -1 && eb->code != EC_INVALID)
			goto out;
		if (st == -1)
			goto fatal;
		if (bundle_report_problem(r, eb) == -1)
			goto out;
	}
	if (map_spool(b, &bu, eb) == -1)
		goto out;
	if (bu.manifest != NULL && bundle_tree_manifest_apply(b, bu.manifest,
	    bu.manifest_len, l, eb) == -1 && (eb->code != EC_INVALID ||
	    bundle_report_problem(r, eb) == -1))
		goto out;
	if (bundle_tree_finish(b, l, r, eb) == -1 &&
	    (r == NULL || eb->code != EC_INVALID))
		goto out;
	rc = bundle_report_end(r, start, eb);
	goto out;
fatal:
	if (bundle_report_problem(r, eb) == 0)
		(void)bundle_report_end(r, start, eb);
out:
	if (rc == -1 && c != NULL) {
		disown_bundle(c, b);
		bundle_content_release(c);
	}
	free(bu.spooled);
	free(bu.manifest);
	archive_read_free(ar);
	return rc;
}

/* An entry to write: a file (borrowed), or a directory when NULL. */
struct out_entry {
	char				*name;
	const struct artifact_file	*file;
};

static int
cmp_entries(const void *a, const void *b)
{
	const struct out_entry *x = a, *y = b;

	return strcmp(x->name, y->name);
}

static la_ssize_t
write_out(struct archive *ar, void *arg, const void *data, size_t len)
{
	if (buf_add(arg, data, len) == -1) {
		archive_set_error(ar, errno, "%s", strerror(errno));
		return -1;
	}
	return (la_ssize_t)len;
}

/* Lists the entries of b's archive form, sorted by name. */
static int
list_entries(const struct bundle *b, struct out_entry **out, size_t *nout)
{
	struct out_entry *v;
	struct buf name;
	size_t n = b->shared.len, i, k, j = 0;

	for (i = 0; i < b->nnodes; i++)
		n += 1 + b->nodes[i].files.len;
	*out = NULL;
	*nout = 0;
	if (n == 0)
		return 0;
	if ((v = calloc(n, sizeof(*v))) == NULL)
		return -1;
	*out = v;
	for (i = 0; i <= b->nnodes; i++) {
		const struct artifact_set *set = i < b->nnodes ?
		    &b->nodes[i].files : &b->shared;
		const char *id = i < b->nnodes ? b->nodes[i].identifier : NULL;

		buf_init(&name, (size_t)-1);
		if (id != NULL && buf_addf(&name, "nodes/%s/", id) == -1)
			return -1;
		if (id != NULL && (v[j++].name = buf_detach(&name,
		    NULL)) == NULL)
			return -1;
		*nout = j;
		for (k = 0; k < set->len; k++) {
			if (bundle_tree_name(&name, id,
			    set->files[k].path) == -1)
				return -1;
			v[j].file = &set->files[k];
			if ((v[j++].name = buf_detach(&name, NULL)) == NULL)
				return -1;
			*nout = j;
		}
	}
	qsort(v, n, sizeof(*v), cmp_entries);
	return 0;
}

/* Sets the format and filter of a writer, and what would make it vary. */
static int
setup_writer(struct archive *a, enum bundle_archive_format fmt)
{
	if (fmt == BUNDLE_ARCHIVE_ZIP)
		return archive_write_set_format_zip(a);
	if (archive_write_set_format_pax_restricted(a) != ARCHIVE_OK)
		return -1;
	switch (fmt) {
	case BUNDLE_ARCHIVE_TAR_GZ:
		/* gzip stores the time of writing unless told not to. */
		if (archive_write_add_filter_gzip(a) != ARCHIVE_OK ||
		    archive_write_set_options(a, "gzip:!timestamp") !=
		    ARCHIVE_OK)
			return -1;
		return 0;
	case BUNDLE_ARCHIVE_TAR_XZ:
		return archive_write_add_filter_xz(a);
	case BUNDLE_ARCHIVE_TAR_ZST:
		return archive_write_add_filter_zstd(a);
	default:
		return 0;
	}
}

struct bundle_archive_out {
	struct archive		*a;
	struct archive_entry	*e;
	int			 zip;
};

struct bundle_archive_out *
bundle_archive_open(struct buf *out, enum bundle_archive_format fmt,
    struct errbuf *eb)
{
	struct bundle_archive_out *w;

	if ((w = calloc(1, sizeof(*w))) == NULL ||
	    (w->a = archive_write_new()) == NULL ||
	    (w->e = archive_entry_new()) == NULL) {
		errbuf_set(eb, EC_INTERNAL, "out of memory");
		goto fail;
	}
	w->zip = fmt == BUNDLE_ARCHIVE_ZIP;
	/*
	 * Blocking pads the last block with zeros after compression, which
	 * turns a zstd or zip file into garbage: end where the data ends.
	 */
	if (setup_writer(w->a, fmt) != ARCHIVE_OK ||
	    archive_write_set_bytes_in_last_block(w->a, 1) != ARCHIVE_OK ||
	    archive_write_open2(w->a, out, NULL, write_out, NULL, NULL) !=
	    ARCHIVE_OK) {
		errbuf_set(eb, EC_INTERNAL, "libarchive: %s", aerr(w->a));
		goto fail;
	}
	return w;
fail:
	(void)bundle_archive_close(w, NULL);
	return NULL;
}

int
bundle_archive_add(struct bundle_archive_out *w, const char *name,
    const struct artifact_file *f, struct errbuf *eb)
{
	struct archive_entry *e = w->e;
	const char *p;
	size_t left;
	la_ssize_t n;

	archive_entry_clear(e);
	/*
	 * Names are UTF-8.  The zip writer flags them so from the UTF-8
	 * form; the pax writer cannot take that form in the C locale, but
	 * stores raw bytes it cannot convert with hdrcharset=BINARY.
	 */
	if (w->zip)
		archive_entry_set_pathname_utf8(e, name);
	else
		archive_entry_set_pathname(e, name);
	archive_entry_set_filetype(e, f != NULL ? AE_IFREG : AE_IFDIR);
	archive_entry_set_perm(e, f != NULL ? bundle_tree_perm(f) :
	    BUNDLE_TREE_DIR_PERM);
	archive_entry_set_size(e, f != NULL ? (la_int64_t)f->len : 0);
	archive_entry_set_mtime(e, 0, 0);
	archive_entry_set_uid(e, 0);
	archive_entry_set_gid(e, 0);
	if (archive_write_header(w->a, e) < ARCHIVE_WARN)
		goto fail;
	for (p = f != NULL ? f->content : NULL, left = f != NULL ? f->len : 0;
	    left > 0; p += n, left -= (size_t)n)
		if ((n = archive_write_data(w->a, p, left)) <= 0)
			goto fail;
	return 0;
fail:
	return errbuf_set(eb, EC_INTERNAL, "write %.*s: %s", SHOW, name,
	    aerr(w->a));
}

int
bundle_archive_close(struct bundle_archive_out *w, struct errbuf *eb)
{
	int rc = 0;

	if (w == NULL)
		return 0;
	if (w->a != NULL && archive_write_close(w->a) != ARCHIVE_OK)
		rc = errbuf_set(eb, EC_INTERNAL, "write archive: %s",
		    aerr(w->a));
	archive_entry_free(w->e);
	archive_write_free(w->a);
	free(w);
	return rc;
}

int
bundle_archive_write(struct buf *out, const struct bundle *b,
    enum bundle_archive_format fmt, struct errbuf *eb)
{
	struct bundle_archive_out *w = NULL;
	struct out_entry *v = NULL;
	struct artifact_file mf;
	struct buf manifest;
	size_t n = 0, i;
	int rc = -1;

	if (fmt == BUNDLE_ARCHIVE_JSON) {
		if (bundle_render_json(out, b) == -1 ||
		    buf_addc(out, '\n') == -1)
			return errbuf_set(eb, EC_INTERNAL, "render JSON: %s",
			    strerror(errno));
		return 0;
	}
	if (fmt == BUNDLE_ARCHIVE_YAML)
		return bundle_shape_render(out, b, BUNDLE_SHAPE_STATIC, 1, eb);
	buf_init(&manifest, SIZE_MAX);
	if (list_entries(b, &v, &n) == -1 ||
	    bundle_tree_manifest_render(&manifest, b) == -1) {
		errbuf_set(eb, EC_INTERNAL, "out of memory");
		goto out;
	}
	if ((w = bundle_archive_open(out, fmt, eb)) == NULL)
		goto out;
	for (i = 0; i < n; i++)
		if (bundle_archive_add(w, v[i].name, v[i].file, eb) == -1)
			goto out;
	/* The manifest comes last, after the files it describes. */
	memset(&mf, 0, sizeof(mf));
	mf.content = manifest.data;
	mf.len = manifest.len;
	mf.mode = ARTIFACT_MODE_NONE;
	if (manifest.len > 0 && bundle_archive_add(w, BUNDLE_TREE_MANIFEST,
	    &mf, eb) == -1)
		goto out;
	rc = 0;
out:
	if (bundle_archive_close(w, rc == 0 ? eb : NULL) == -1)
		rc = -1;
	buf_release(&manifest);
	for (i = 0; i < n; i++)
		free(v[i].name);
	free(v);
	return rc;
}
