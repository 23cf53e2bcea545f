/*
 * Bundles read from a directory tree: see bundle_dir.h.
 */
#include "bundle_dir.h"

#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "artifacts.h"
#include "buf.h"
#include "bundle.h"
#include "bundle_tree.h"
#include "errbuf.h"
#include "exitcode.h"
#include "banned.h"

#define SHOW	160	/* bytes of an entry name in a message */

struct walk {
	struct bundle			*b;
	const struct bundle_limits	*l;
	struct buf			 name;	/* of the entry at hand */
	size_t				 total;	/* bytes read so far */
};

/* Reads the regular file fd (name in w) into the bundle as entry te. */
static int
read_file(struct walk *w, int fd, const struct stat *st,
    const struct bundle_tree_entry *te, struct errbuf *eb)
{
	const char *name = w->name.data;
	size_t size = (size_t)st->st_size, got = 0;
	char *content;
	ssize_t n = 0;

	if ((unsigned long long)st->st_size > w->l->max_file_size)
		return errbuf_set(eb, EC_INVALID,
		    "%.*s: over the limit of %zu bytes per file", SHOW, name,
		    w->l->max_file_size);
	if (size > w->l->max_total_size - w->total)
		return errbuf_set(eb, EC_INVALID,
		    "%.*s: over the limit of %zu bytes in all", SHOW, name,
		    w->l->max_total_size);
	if ((content = malloc(size + 1)) == NULL)
		return errbuf_set(eb, EC_INTERNAL, "out of memory");
	/* The size fstat gave; a file that changes meanwhile is refused. */
	while (got < size) {
		if ((n = read(fd, content + got, size - got)) == -1 &&
		    errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	if (got != size || (n = read(fd, &content[got], 1)) != 0) {
		free(content);
		return errbuf_set(eb, EC_INVALID, "read %.*s: %s", SHOW, name,
		    got != size && n == -1 ? strerror(errno) :
		    "changed while read");
	}
	content[size] = '\0';
	w->total += size;
	return bundle_tree_add(w->b, te, content, size,
	    bundle_tree_mode(st->st_mode), eb);
}

static int	walk_dir(struct walk *, int, struct errbuf *);

/* Handles the entry d_name of directory dfd, whose name is in w. */
static int
walk_entry(struct walk *w, int dfd, const char *d_name, unsigned char type,
    struct errbuf *eb)
{
	struct bundle_tree_entry te;
	const char *name = w->name.data, *why = NULL;
	struct stat st;
	int fd, rc;

	if (type == DT_UNKNOWN) {
		if (fstatat(dfd, d_name, &st, AT_SYMLINK_NOFOLLOW) == -1)
			return errbuf_set(eb, EC_INVALID, "stat %.*s: %s",
			    SHOW, name, strerror(errno));
		type = IFTODT(st.st_mode);
	}
	switch (type) {
	case DT_DIR:
	case DT_REG:
		break;
	case DT_LNK:
		why = "symbolic link";
		break;
	case DT_CHR:
	case DT_BLK:
		why = "device";
		break;
	case DT_FIFO:
		why = "FIFO";
		break;
	case DT_SOCK:
		why = "socket";
		break;
	default:
		why = "not a regular file or a directory";
	}
	if (why != NULL)
		return errbuf_set(eb, EC_INVALID, "%.*s: %s", SHOW, name, why);
	if (bundle_tree_parse(name, type == DT_DIR, &te, eb) == -1)
		return -1;
	/*
	 * O_NOFOLLOW and O_NONBLOCK: an entry swapped for a link or a FIFO
	 * since readdir is refused, not followed or waited on.
	 */
	if ((fd = openat(dfd, d_name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
	    O_CLOEXEC | (type == DT_DIR ? O_DIRECTORY : 0))) == -1)
		return errbuf_set(eb, EC_INVALID, "open %.*s: %s", SHOW, name,
		    errno == ELOOP ? "symbolic link" : strerror(errno));
	if (fstat(fd, &st) == -1) {
		rc = errbuf_set(eb, EC_INVALID, "stat %.*s: %s", SHOW, name,
		    strerror(errno));
		close(fd);
		return rc;
	}
	if (type == DT_DIR) {
		if ((rc = bundle_tree_add(w->b, &te, NULL, 0, 0, eb)) == 0)
			return walk_dir(w, fd, eb);	/* takes fd */
	} else if (!S_ISREG(st.st_mode))
		rc = errbuf_set(eb, EC_INVALID, "%.*s: not a regular file",
		    SHOW, name);
	else
		rc = read_file(w, fd, &st, &te, eb);
	close(fd);
	return rc;
}

/* Walks the directory fd (taken), whose name is in w ("" at the top). */
static int
walk_dir(struct walk *w, int fd, struct errbuf *eb)
{
	struct dirent *d;
	DIR *dir;
	size_t base = w->name.len;
	int rc = -1;

	if ((dir = fdopendir(fd)) == NULL) {
		close(fd);
		return errbuf_set(eb, EC_INVALID, "open %.*s: %s", SHOW,
		    w->name.data, strerror(errno));
	}
	for (;;) {
		errno = 0;
		if ((d = readdir(dir)) == NULL) {
			if (errno != 0) {
				errbuf_set(eb, EC_INVALID, "read %.*s: %s",
				    SHOW, w->name.data, strerror(errno));
				goto out;
			}
			break;
		}
		if (strcmp(d->d_name, ".") == 0 || strcmp(d->d_name, "..") == 0)
			continue;
		w->name.len = base;
		if ((base > 0 && buf_addc(&w->name, '/') == -1) ||
		    buf_adds(&w->name, d->d_name) == -1) {
			if (errno == EMSGSIZE)
				errbuf_set(eb, EC_INVALID, "%.*s/%s: name over "
				    "%d bytes", SHOW, w->name.data, d->d_name,
				    ARTIFACT_PATH_MAX);
			else
				errbuf_set(eb, EC_INTERNAL, "out of memory");
			goto out;
		}
		if (walk_entry(w, dirfd(dir), d->d_name, d->d_type, eb) == -1)
			goto out;
	}
	rc = 0;
out:
	w->name.len = base;
	if (w->name.data != NULL)
		w->name.data[base] = '\0';
	closedir(dir);
	return rc;
}

int
bundle_dir_read(struct bundle *b, const char *dir,
    const struct bundle_limits *l, struct errbuf *eb)
{
	struct walk w;
	int fd, rc = -1;

	memset(&w, 0, sizeof(w));
	w.b = b;
	w.l = l;
	buf_init(&w.name, ARTIFACT_PATH_MAX + 1);
	/* dir itself may be a link; only what is below it must not be. */
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1) {
		errbuf_set(eb, EC_USAGE, "open %s: %s", dir, strerror(errno));
		goto out;
	}
	if (buf_adds(&w.name, "") == -1) {
		close(fd);
		errbuf_set(eb, EC_INTERNAL, "out of memory");
		goto out;
	}
	if (walk_dir(&w, fd, eb) == -1 ||
	    bundle_tree_finish(b, l, NULL, eb) == -1) {
		errbuf_prefix(eb, "%s", dir);
		goto out;
	}
	rc = 0;
out:
	buf_release(&w.name);
	return rc;
}
