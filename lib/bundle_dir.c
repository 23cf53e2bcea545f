/*
 * Bundles read from a directory tree: see bundle_dir.h.
 *
 * Each directory is read whole and its entries sorted, a directory's name
 * compared as if it ended in "/", so the walk meets files in the bytewise
 * order of their tree names: the order of an archive's entries.  That is
 * what lets bundle_dir_read_archive write each entry as soon as it is
 * read: a second thread walks and reads, the caller's writes and
 * compresses, and a queue of entries joins them.
 */
#include "bundle_dir.h"

#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "array.h"
#include "artifacts.h"
#include "buf.h"
#include "bundle.h"
#include "bundle_archive.h"
#include "bundle_tree.h"
#include "errbuf.h"
#include "exitcode.h"
#include "banned.h"

#define SHOW	BUNDLE_TREE_SHOW	/* of an entry name, in messages */

/* One archive entry on its way from the walk to the writer thread. */
struct item {
	char			*name;
	struct artifact_file	 file;	/* content borrowed from b */
	int			 isdir;
};

/* The queue from the walking thread to the writing one. */
struct pipe {
	pthread_mutex_t			 lock;
	pthread_cond_t			 more;
	struct item			*items;
	size_t				 len, cap, next;
	int				 closed;	/* walk over */
	int				 failed;	/* writer quit */
	struct bundle_archive_out	*out;
	struct errbuf			 eb;		/* why */
};

struct walk {
	struct bundle			*b;
	const struct bundle_limits	*l;
	struct buf			 name;	/* entry at hand */
	size_t				 total;	/* bytes read */
	struct pipe			*pipe;	/* or NULL */
	char				*manifest;	/* read, or NULL */
	size_t				 manifest_len;
	struct buf			 manifest_out;	/* written */
};

/* What the walking thread is given and gives back. */
struct walker {
	struct walk	*w;
	const char	*dir;
	struct errbuf	 eb;
	int		 rc;
};

struct dent {
	char		*name;
	unsigned char	 type;	/* DT_*, never DT_UNKNOWN */
};

/* Writes queued entries until the walk is over or an entry fails. */
static void
write_entries(struct pipe *p)
{
	struct item it;

	for (;;) {
		pthread_mutex_lock(&p->lock);
		while (p->next == p->len && !p->closed)
			pthread_cond_wait(&p->more, &p->lock);
		if (p->next == p->len) {
			pthread_mutex_unlock(&p->lock);
			return;
		}
		it = p->items[p->next++];
		pthread_mutex_unlock(&p->lock);
		if (bundle_archive_add(p->out, it.name, it.isdir ? NULL :
		    &it.file, &p->eb) == -1) {
			pthread_mutex_lock(&p->lock);
			p->failed = 1;
			pthread_mutex_unlock(&p->lock);
			return;
		}
	}
}

/*
 * Queues an archive entry named w->name (a directory when isdir, else a
 * file with content borrowed from the bundle).  Returns 0, or -1 with the
 * writer's failure or EC_INTERNAL.
 */
static int
emit(struct walk *w, const char *content, size_t len, int mode, int isdir,
    struct errbuf *eb)
{
	struct pipe *p = w->pipe;
	struct item *v;
	char *name;
	int failed;

	if (p == NULL)
		return 0;
	if ((name = malloc(w->name.len + 2)) == NULL)
		return errbuf_set(eb, EC_INTERNAL, "out of memory");
	memcpy(name, w->name.data, w->name.len);
	memcpy(name + w->name.len, isdir ? "/" : "", isdir ? 2 : 1);
	pthread_mutex_lock(&p->lock);
	if ((failed = p->failed) == 0 &&
	    ARRAY_GROW(p->items, p->len + 1, p->cap) == -1) {
		pthread_mutex_unlock(&p->lock);
		free(name);
		return errbuf_set(eb, EC_INTERNAL, "out of memory");
	}
	if (!failed) {
		v = &p->items[p->len++];
		memset(v, 0, sizeof(*v));
		v->name = name;
		v->isdir = isdir;
		v->file.content = (char *)content;
		v->file.len = len;
		v->file.mode = mode;
		pthread_cond_signal(&p->more);
	}
	pthread_mutex_unlock(&p->lock);
	if (failed) {
		free(name);
		*eb = p->eb;
		return -1;
	}
	return 0;
}

/*
 * Reads the size bytes of the regular file fd (name in w) into *out,
 * malloc'd and NUL-terminated, within the limit on bytes in all.
 */
static int
read_all(struct walk *w, int fd, size_t size, char **out, struct errbuf *eb)
{
	const char *name = w->name.data;
	size_t got = 0;
	char *content;
	ssize_t n = 0;

	if (size > w->l->max_total_size - w->total)
		return errbuf_set(eb, EC_INVALID,
		    "%.*s: over the limit of %zu bytes in all", SHOW, name,
		    w->l->max_total_size);
	if ((content = malloc(size + 1)) == NULL)
		return errbuf_set(eb, EC_INTERNAL, "out of memory");
	/*
	 * The size fstat gave is what is read, as tar does: bytes appended
	 * meanwhile are not, and a file that shrank is refused.
	 */
	while (got < size) {
		if ((n = read(fd, content + got, size - got)) == -1 &&
		    errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	if (got != size) {
		free(content);
		return errbuf_set(eb, EC_INVALID, "read %.*s: %s", SHOW, name,
		    n == -1 ? strerror(errno) : "file shrank while read");
	}
	content[size] = '\0';
	w->total += size;
	*out = content;
	return 0;
}

/* Reads the regular file fd (name in w) into the bundle as entry te. */
static int
read_file(struct walk *w, int fd, const struct stat *st,
    const struct bundle_tree_entry *te, struct errbuf *eb)
{
	size_t size = (size_t)st->st_size;
	char *content;
	int mode;

	if ((unsigned long long)st->st_size > w->l->max_file_size)
		return errbuf_set(eb, EC_INVALID,
		    "%.*s: over the limit of %zu bytes per file", SHOW,
		    w->name.data, w->l->max_file_size);
	if (read_all(w, fd, size, &content, eb) == -1)
		return -1;
	mode = bundle_tree_mode(st->st_mode);
	if (bundle_tree_add(w->b, te, content, size, mode, eb) == -1)
		return -1;
	return emit(w, content, size, mode, 0, eb);
}

static int	walk_dir(struct walk *, int, struct errbuf *);

/* Handles the entry d of directory dfd, whose name is in w. */
static int
walk_entry(struct walk *w, int dfd, const struct dent *d, struct errbuf *eb)
{
	struct bundle_tree_entry te;
	const char *name = w->name.data, *why;
	struct stat st;
	int fd, rc, manifest;

	if ((why = bundle_tree_refusal(DTTOIF(d->type))) != NULL)
		return errbuf_set(eb, EC_INVALID, "%.*s: %s", SHOW, name, why);
	/* The manifest at the top is read whole, and applied at the end. */
	manifest = d->type != DT_DIR && strcmp(name, BUNDLE_TREE_MANIFEST) == 0;
	if (!manifest &&
	    bundle_tree_parse(name, d->type == DT_DIR, &te, eb) == -1)
		return -1;
	/*
	 * O_NOFOLLOW and O_NONBLOCK: an entry swapped for a link or a FIFO
	 * since readdir is refused, not followed or waited on.
	 */
	if ((fd = openat(dfd, d->name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
	    O_CLOEXEC | (d->type == DT_DIR ? O_DIRECTORY : 0))) == -1)
		return errbuf_set(eb, EC_INVALID, "open %.*s: %s", SHOW, name,
		    errno == ELOOP ? "symbolic link" : strerror(errno));
	if (fstat(fd, &st) == -1) {
		rc = errbuf_set(eb, EC_INVALID, "stat %.*s: %s", SHOW, name,
		    strerror(errno));
		close(fd);
		return rc;
	}
	if (d->type == DT_DIR) {
		if (bundle_tree_add(w->b, &te, NULL, 0, 0, eb) == -1) {
			close(fd);
			return -1;
		}
		/* A node's own directory is an entry of the archive. */
		if (te.identifier[0] != '\0' &&
		    strchr(name + sizeof("nodes/") - 1, '/') == NULL &&
		    emit(w, NULL, 0, 0, 1, eb) == -1) {
			close(fd);
			return -1;
		}
		return walk_dir(w, fd, eb);	/* takes fd */
	}
	if (!S_ISREG(st.st_mode))
		rc = errbuf_set(eb, EC_INVALID, "%.*s: not a regular file",
		    SHOW, name);
	else if (manifest)
		rc = read_all(w, fd, (size_t)st.st_size, &w->manifest, eb);
	else
		rc = read_file(w, fd, &st, &te, eb);
	if (manifest && rc == 0)
		w->manifest_len = (size_t)st.st_size;
	close(fd);
	return rc;
}

/* Sorts entries as their tree names sort: a directory's ends in "/". */
static int
cmp_dents(const void *a, const void *b)
{
	const struct dent *x = a, *y = b;
	const unsigned char *p = (const unsigned char *)x->name;
	const unsigned char *q = (const unsigned char *)y->name;
	int c, d;

	for (; *p != '\0' && *p == *q; p++, q++)
		;
	c = *p != '\0' ? *p : x->type == DT_DIR ? '/' : 0;
	d = *q != '\0' ? *q : y->type == DT_DIR ? '/' : 0;
	return c - d;
}

/* Reads the entries of dir but "." and "..", types resolved, sorted. */
static int
read_dents(struct walk *w, DIR *dir, struct dent **out, size_t *nout,
    struct errbuf *eb)
{
	struct dent *v = NULL;
	struct dirent *d;
	struct stat st;
	size_t n = 0, cap = 0;

	for (;;) {
		errno = 0;
		if ((d = readdir(dir)) == NULL) {
			if (errno == 0)
				break;
			errbuf_set(eb, EC_INVALID, "read %.*s: %s", SHOW,
			    w->name.data, strerror(errno));
			goto fail;
		}
		if (strcmp(d->d_name, ".") == 0 || strcmp(d->d_name, "..") == 0)
			continue;
		if (ARRAY_GROW(v, n + 1, cap) == -1)
			goto nomem;
		v[n].type = d->d_type;
		if (d->d_type == DT_UNKNOWN) {
			if (fstatat(dirfd(dir), d->d_name, &st,
			    AT_SYMLINK_NOFOLLOW) == -1) {
				errbuf_set(eb, EC_INVALID, "stat %.*s/%s: %s",
				    SHOW, w->name.data, d->d_name,
				    strerror(errno));
				goto fail;
			}
			v[n].type = IFTODT(st.st_mode);
		}
		if ((v[n].name = strdup(d->d_name)) == NULL)
			goto nomem;
		n++;
	}
	if (n > 1)
		qsort(v, n, sizeof(*v), cmp_dents);
	*out = v;
	*nout = n;
	return 0;
nomem:
	errbuf_set(eb, EC_INTERNAL, "out of memory");
fail:
	while (n > 0)
		free(v[--n].name);
	free(v);
	return -1;
}

/* Walks the directory fd (taken), whose name is in w ("" at the top). */
static int
walk_dir(struct walk *w, int fd, struct errbuf *eb)
{
	struct dent *v = NULL;
	DIR *dir;
	size_t base = w->name.len, n = 0, i;
	int rc = -1;

	if ((dir = fdopendir(fd)) == NULL) {
		close(fd);
		return errbuf_set(eb, EC_INVALID, "open %.*s: %s", SHOW,
		    w->name.data, strerror(errno));
	}
	if (read_dents(w, dir, &v, &n, eb) == -1)
		goto out;
	for (i = 0; i < n; i++) {
		w->name.len = base;
		if ((base > 0 && buf_addc(&w->name, '/') == -1) ||
		    buf_adds(&w->name, v[i].name) == -1) {
			if (errno == EMSGSIZE)
				errbuf_set(eb, EC_INVALID, "%.*s/%s: name over "
				    "%d bytes", SHOW, w->name.data, v[i].name,
				    ARTIFACT_PATH_MAX);
			else
				errbuf_set(eb, EC_INTERNAL, "out of memory");
			goto out;
		}
		if (walk_entry(w, dirfd(dir), &v[i], eb) == -1)
			goto out;
	}
	rc = 0;
out:
	w->name.len = base;
	w->name.data[base] = '\0';
	for (i = 0; i < n; i++)
		free(v[i].name);
	free(v);
	closedir(dir);
	return rc;
}

/*
 * Queues the manifest of the bundle read, if it needs one, as the last
 * entry of the archive: bundle_archive_write puts it there too.
 */
static int
emit_manifest(struct walk *w, struct errbuf *eb)
{
	if (w->pipe == NULL)
		return 0;
	if (bundle_tree_manifest_render(&w->manifest_out, w->b) == -1)
		return errbuf_set(eb, EC_INTERNAL, "out of memory");
	if (w->manifest_out.len == 0)
		return 0;
	buf_reset(&w->name);
	if (buf_adds(&w->name, BUNDLE_TREE_MANIFEST) == -1)
		return errbuf_set(eb, EC_INTERNAL, "out of memory");
	return emit(w, w->manifest_out.data, w->manifest_out.len,
	    ARTIFACT_MODE_NONE, 0, eb);
}

/* Frees what a walk holds. */
static void
walk_release(struct walk *w)
{
	free(w->manifest);
	buf_release(&w->manifest_out);
	buf_release(&w->name);
}

static int
walk(struct walk *w, const char *dir, struct errbuf *eb)
{
	int fd;

	/* dir itself may be a link; only what is below it must not be. */
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return errbuf_set(eb, EC_USAGE, "open %s: %s", dir,
		    strerror(errno));
	if (buf_adds(&w->name, "") == -1) {
		close(fd);
		return errbuf_set(eb, EC_INTERNAL, "out of memory");
	}
	if (walk_dir(w, fd, eb) == -1 ||
	    (w->manifest != NULL && bundle_tree_manifest_apply(w->b,
	    w->manifest, w->manifest_len, w->l, eb) == -1) ||
	    bundle_tree_finish(w->b, w->l, NULL, eb) == -1 ||
	    emit_manifest(w, eb) == -1)
		return errbuf_prefix(eb, "%s", dir);
	return 0;
}

int
bundle_dir_read(struct bundle *b, const char *dir,
    const struct bundle_limits *l, struct errbuf *eb)
{
	struct walk w;
	int rc;

	memset(&w, 0, sizeof(w));
	w.b = b;
	w.l = l;
	buf_init(&w.name, ARTIFACT_PATH_MAX + 1);
	buf_init(&w.manifest_out, SIZE_MAX);
	rc = walk(&w, dir, eb);
	walk_release(&w);
	return rc;
}

static void *
walker_main(void *arg)
{
	struct walker *wk = arg;
	struct pipe *p = wk->w->pipe;

	wk->rc = walk(wk->w, wk->dir, &wk->eb);
	pthread_mutex_lock(&p->lock);
	p->closed = 1;
	pthread_cond_signal(&p->more);
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

int
bundle_dir_read_archive(struct bundle *b, const char *dir,
    const struct bundle_limits *l, enum bundle_archive_format fmt,
    struct buf *out, struct errbuf *eb)
{
	struct walker wk;
	struct walk w;
	struct pipe p;
	pthread_t tid;
	size_t i;
	int rc = -1, err;

	memset(&w, 0, sizeof(w));
	memset(&p, 0, sizeof(p));
	w.b = b;
	w.l = l;
	w.pipe = &p;
	wk.w = &w;
	wk.dir = dir;
	buf_init(&w.name, ARTIFACT_PATH_MAX + 1);
	buf_init(&w.manifest_out, SIZE_MAX);
	if ((p.out = bundle_archive_open(out, fmt, eb)) == NULL)
		goto out;
	pthread_mutex_init(&p.lock, NULL);
	pthread_cond_init(&p.more, NULL);
	/*
	 * The walk gets the thread: the archive's compressors allocate and
	 * free large buffers per entry, which glibc serves best from the
	 * main thread's heap.
	 */
	if ((err = pthread_create(&tid, NULL, walker_main, &wk)) != 0) {
		errbuf_set(eb, EC_INTERNAL, "pthread_create: %s",
		    strerror(err));
		goto destroy;
	}
	write_entries(&p);
	pthread_join(tid, NULL);
	if (wk.rc == -1)
		*eb = wk.eb;
	else if (p.failed)
		*eb = p.eb;
	else
		rc = 0;
destroy:
	pthread_cond_destroy(&p.more);
	pthread_mutex_destroy(&p.lock);
out:
	if (bundle_archive_close(p.out, rc == 0 ? eb : NULL) == -1)
		rc = -1;
	for (i = 0; i < p.len; i++)
		free(p.items[i].name);
	free(p.items);
	walk_release(&w);
	return rc;
}
