/*
 * Routing and the all-or-nothing write of a payload: see output.h.
 *
 * Each target is reached from a base directory (--out, "/" or ".") one
 * component at a time with openat(2), creating missing directories 0755.
 * Under --out every component is opened O_NOFOLLOW, so a symlink planted
 * in the tree cannot carry a write outside it, and the final rename
 * replaces a symlink rather than writing through it.
 *
 * A directory under --out that does not exist yet is made under a
 * temporary name beside it, its files are written there under their own
 * names, and it is renamed into place with the others' renames: one
 * rename for all of its files, none of which is seen before it is whole.
 */
#include "output.h"

#include <sys/stat.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <pthread.h>
#include <signal.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "array.h"
#include "artifacts.h"
#include "buf.h"
#include "errbuf.h"
#include "exitcode.h"
#include "fsx.h"
#include "strmap.h"
#include "banned.h"

#define OUTPUT_NAME_MAX	FSX_NAME_MAX
#define OUTPUT_SHOW_MAX	FSX_PATH_MAX
/*
 * From this many files to write on, they are written by as many threads
 * as there are processors (OUTPUT_THREADS_MAX at most), each directory's
 * on one: the kernel makes inodes in different directories at once (two
 * tar x of half the tree each take 0.6 of one).
 */
#define OUTPUT_PARALLEL_MIN	1024
#define OUTPUT_THREADS_MAX	4
/* Directory descriptors kept open at once; more are closed and reopened. */
#define OUTPUT_OPEN_MAX	64
/* The intent record's name in the anchor directory, and its first line. */
#define OUTPUT_INTENT		".cfgsync-intent"
#define OUTPUT_INTENT_HEAD	"cfgsync-intent 1\n"
/* The largest intent record read back. */
#define OUTPUT_INTENT_MAX	(256UL << 20)
#define OUTPUT_CMP_CHUNK	65536

struct out_dir {
	char	*show;		/* the directory's path, for messages */
	char	*prefix;	/* the path under base */
	const char *base;	/* borrowed: "/", "." or --out */
	int	 confined;	/* no symlink followed */
	int	 fd;		/* -1 while closed */
	dev_t	 dev;
	int	 written;	/* a file is renamed into it */
	int	 made;		/* made by this install: nothing in it yet */
	size_t	 stage;		/* in a staged directory: 1 + its index */
};

/* A new directory of --out, made as tmp and renamed to name. */
struct staged_dir {
	char	name[OUTPUT_NAME_MAX];
	char	tmp[FSX_TEMP_NAME_MAX];		/* "" until made */
	int	renamed;
};

struct out_file {
	const struct artifact_file *art;	/* borrowed */
	size_t	dir;				/* index into dirs */
	char	name[OUTPUT_NAME_MAX];
	char	tmp[FSX_TEMP_NAME_MAX];	/* "" until created */
	/* link to the old file, or "" */
	char	bak[FSX_TEMP_NAME_MAX];
	int	existed;			/* a file was there before */
	int	direct;				/* written in a staged dir */
	int	routed;				/* sent by a route */
	int	unchanged;			/* left as it is */
	mode_t	mode;
	uid_t	uid;
	gid_t	gid;
};

struct install {
	struct out_dir	*dirs;
	size_t		 ndirs, dircap;
	size_t		 nopen;		/* dirs with fd != -1 */
	struct strmap	 dirmap;	/* show to index into dirs */
	char		**created;		/* directories made, in order */
	size_t		 ncreated, createdcap;
	struct out_file	*files;
	size_t		 nfiles;
	int		 intent;	/* the record is in dirs[0] */
	const char	*stage_base;	/* --out, where new dirs are staged */
	struct staged_dir *staged;
	size_t		 nstaged, stagedcap;
	struct strmap	 stagedmap;	/* name to index into staged */
};

static int
join(char *out, size_t size, const char *a, const char *b)
{
	int n;

	if (b[0] == '\0')
		n = snprintf(out, size, "%s", a);
	else if (strcmp(a, "/") == 0)
		n = snprintf(out, size, "/%s", b);
	else
		n = snprintf(out, size, "%s/%s", a, b);
	return n < 0 || (size_t)n >= size ? -1 : 0;
}

static int
remember_created(struct install *in, const char *path)
{
	if (ARRAY_GROW(in->created, in->ncreated + 1, in->createdcap) == -1)
		return -1;
	if ((in->created[in->ncreated] = strdup(path)) == NULL)
		return -1;
	in->ncreated++;
	return 0;
}

/*
 * Creates path and its missing parents 0755 (mkdir -p), noting each.
 * Returns 1 when path itself was made, 0 when it was there, -1 on error.
 */
static int
make_out_dir(struct install *in, const char *path, struct errbuf *eb)
{
	char p[OUTPUT_SHOW_MAX];
	size_t i, len = strlen(path);
	struct stat st;
	int fd, made = 0;

	if (len >= sizeof(p))
		return errbuf_set(eb, EC_WRITE, "%s: path too long", path);
	memcpy(p, path, len + 1);
	for (i = 1; i <= len; i++) {
		if (p[i] != '/' && p[i] != '\0')
			continue;
		p[i] = '\0';
		made = 0;
		if (mkdir(p, 0755) == 0) {
			made = 1;
			/*
			 * 0755 whatever the umask (SPEC 6), set through a
			 * descriptor of the directory just made, never
			 * through a name someone could swap for a link.
			 */
			if ((fd = open(p, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
			    O_CLOEXEC)) != -1) {
				(void)fchmod(fd, 0755);
				close(fd);
			}
			if (remember_created(in, p) == -1)
				return errbuf_set(eb, EC_INTERNAL,
				    "out of memory");
		} else if (errno != EEXIST ||
		    stat(p, &st) == -1 || !S_ISDIR(st.st_mode)) {
			return errbuf_set(eb, EC_WRITE, "mkdir %s: %s", p,
			    errno == EEXIST ? "Not a directory" :
			    strerror(errno));
		}
		p[i] = path[i];
	}
	return made;
}

/*
 * Opens prefix under the directory fd (which it closes) one component at
 * a time; confined forbids symlinks; create makes missing directories
 * and in, when not NULL, notes them, shown under base; *made_last (when
 * not NULL) says whether the last one was made.  Returns the descriptor,
 * or -1 with eb set.
 */
static int
walk(struct install *in, int create, int fd, const char *base,
    const char *prefix, int confined, int *made_last, struct errbuf *eb)
{
	char comp[OUTPUT_NAME_MAX], sub[OUTPUT_SHOW_MAX], upto[OUTPUT_SHOW_MAX];
	const char *p, *slash;
	size_t clen;
	int nfd, made;

	for (p = prefix; *p != '\0'; p = *slash ? slash + 1 : slash) {
		if ((slash = strchr(p, '/')) == NULL)
			slash = p + strlen(p);
		if ((clen = (size_t)(slash - p)) == 0)
			continue;
		if (clen >= sizeof(comp)) {
			close(fd);
			return errbuf_set(eb, EC_WRITE, "%s/%s: name too long",
			    base, prefix);
		}
		memcpy(comp, p, clen);
		comp[clen] = '\0';
		memcpy(upto, prefix, (size_t)(p - prefix) + clen);
		upto[(size_t)(p - prefix) + clen] = '\0';
		(void)join(sub, sizeof(sub), base, upto);
		made = 0;
		if (create && mkdirat(fd, comp, 0755) == 0) {
			made = 1;
			if (in != NULL && remember_created(in, sub) == -1) {
				close(fd);
				return errbuf_set(eb, EC_INTERNAL,
				    "out of memory");
			}
		}
		nfd = openat(fd, comp, O_RDONLY | O_DIRECTORY | O_CLOEXEC |
		    (confined ? O_NOFOLLOW : 0));
		close(fd);
		if (nfd == -1)
			return errbuf_set(eb, EC_WRITE, "open %s: %s", sub,
			    confined && (errno == ELOOP || errno == ENOTDIR) ?
			    "unsafe path: not a directory (symlink?)" :
			    strerror(errno));
		/* 0755 whatever the umask (SPEC 6). */
		if (made)
			(void)fchmod(nfd, 0755);
		if (made_last != NULL)
			*made_last = made;
		fd = nfd;
	}
	return fd;
}

/* Closes every directory descriptor kept open. */
static void
close_dirs(struct install *in)
{
	size_t i;

	for (i = 0; i < in->ndirs; i++) {
		if (in->dirs[i].fd != -1) {
			close(in->dirs[i].fd);
			in->dirs[i].fd = -1;
		}
	}
	in->nopen = 0;
}

/*
 * Opens d afresh; -1 with eb set.  In a staged directory, with make, the
 * staged directory is made on the first call (after the last install's
 * leftovers are gone), and the rest of d's prefix in it; without make
 * nothing is made and in is not changed (a stager's own descriptor).
 */
static int
open_path(struct install *in, const struct out_dir *d, int make,
    struct errbuf *eb)
{
	struct staged_dir *sd;
	char show[OUTPUT_SHOW_MAX];
	const char *rest;
	int bfd, fd;

	if ((bfd = open(d->base, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return errbuf_set(eb, EC_WRITE, "open %s: %s", d->base,
		    strerror(errno));
	if (d->stage == 0)
		return walk(NULL, 0, bfd, d->base, d->prefix, d->confined,
		    NULL, eb);
	sd = &in->staged[d->stage - 1];
	if (make && sd->tmp[0] == '\0' && (fsx_temp_name(sd->tmp,
	    sizeof(sd->tmp), sd->name) == -1 ||
	    mkdirat(bfd, sd->tmp, 0755) == -1)) {
		errbuf_set(eb, EC_WRITE, "mkdir %s/%s: %s", d->base, sd->name,
		    strerror(errno));
		sd->tmp[0] = '\0';
		close(bfd);
		return -1;
	}
	fd = openat(bfd, sd->renamed ? sd->name : sd->tmp, O_RDONLY |
	    O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	close(bfd);
	if (fd == -1)
		return errbuf_set(eb, EC_WRITE, "open %s/%s: %s", d->base,
		    sd->name, strerror(errno));
	/* 0755 whatever the umask (SPEC 6); all inside it is ours. */
	if (make)
		(void)fchmod(fd, 0755);
	(void)join(show, sizeof(show), d->base, sd->name);
	rest = d->prefix + strcspn(d->prefix, "/");
	rest += *rest == '/';
	return walk(NULL, make, fd, show, rest, 1, NULL, eb);
}

/*
 * Returns a descriptor of dirs[idx], opening it again (confined as the
 * first time, creating nothing but in a staged directory) when it was
 * closed; -1 with eb set.  It stays valid until the next call.
 */
static int
dir_fd(struct install *in, size_t idx, struct errbuf *eb)
{
	struct out_dir *d = &in->dirs[idx];
	int fd;

	if (d->fd != -1)
		return d->fd;
	if (in->nopen >= OUTPUT_OPEN_MAX)
		close_dirs(in);
	if ((fd = open_path(in, d, 1, eb)) == -1)
		return -1;
	d->fd = fd;
	in->nopen++;
	return fd;
}

/*
 * Whether prefix under base (open as bfd) goes in a staged directory: its
 * first component is missing from --out, or staged already.  Sets *stage
 * to 1 + the staged directory's index, or 0; -1 with eb set.
 */
static int
find_stage(struct install *in, int bfd, const char *base,
    const char *prefix, int confined, size_t *stage, struct errbuf *eb)
{
	char comp[OUTPUT_NAME_MAX];
	size_t i, len = strcspn(prefix, "/");
	struct stat st;

	*stage = 0;
	if (in->stage_base != base || !confined || len == 0)
		return 0;
	if (len >= sizeof(comp))
		return errbuf_set(eb, EC_WRITE, "%s/%s: name too long", base,
		    prefix);
	memcpy(comp, prefix, len);
	comp[len] = '\0';
	if (strmap_get(&in->stagedmap, comp, &i)) {
		*stage = i + 1;
		return 0;
	}
	if (fstatat(bfd, comp, &st, AT_SYMLINK_NOFOLLOW) == 0 ||
	    errno != ENOENT)
		return 0;
	if (ARRAY_GROW(in->staged, in->nstaged + 1, in->stagedcap) == -1 ||
	    strmap_put(&in->stagedmap, comp, in->nstaged) == -1)
		return errbuf_set(eb, EC_INTERNAL, "out of memory");
	memset(&in->staged[in->nstaged], 0, sizeof(in->staged[0]));
	memcpy(in->staged[in->nstaged].name, comp, len + 1);
	*stage = ++in->nstaged;
	return 0;
}

/*
 * Returns the index of the directory base/prefix in in->dirs, opening
 * (and creating) it component by component; confined forbids symlinks.
 */
static int
open_dir(struct install *in, const char *base, const char *prefix,
    int confined, size_t *idx, struct errbuf *eb)
{
	char show[OUTPUT_SHOW_MAX];
	struct out_dir *d;
	struct stat st;
	size_t stage;
	int fd, made = 0;

	if (join(show, sizeof(show), base, prefix) == -1)
		return errbuf_set(eb, EC_WRITE, "%s/%s: path too long", base,
		    prefix);
	if (strmap_get(&in->dirmap, show, idx))
		return 0;
	if ((fd = open(base, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return errbuf_set(eb, EC_WRITE, "open %s: %s", base,
		    strerror(errno));
	if (find_stage(in, fd, base, prefix, confined, &stage, eb) == -1) {
		close(fd);
		return -1;
	}
	/* A staged directory is made later, when its first file is. */
	if (stage == 0 &&
	    (fd = walk(in, 1, fd, base, prefix, confined, &made, eb)) == -1)
		return -1;
	if (fstat(fd, &st) == -1 ||
	    ARRAY_GROW(in->dirs, in->ndirs + 1, in->dircap) == -1) {
		close(fd);
		return errbuf_set(eb, EC_INTERNAL, "%s: %s", show,
		    strerror(errno));
	}
	if (stage != 0) {
		close(fd);
		fd = -1;
		made = 1;
	} else if (in->nopen >= OUTPUT_OPEN_MAX)
		close_dirs(in);
	d = &in->dirs[in->ndirs];
	memset(d, 0, sizeof(*d));
	d->fd = fd;
	d->dev = st.st_dev;
	d->base = base;
	d->confined = confined;
	d->made = made;
	d->stage = stage;
	in->nopen += fd != -1;
	in->ndirs++;
	if ((d->show = strdup(show)) == NULL ||
	    (d->prefix = strdup(prefix)) == NULL)
		return errbuf_set(eb, EC_INTERNAL, "out of memory");
	*idx = in->ndirs - 1;
	if (strmap_put(&in->dirmap, d->show, *idx) == -1)
		return errbuf_set(eb, EC_INTERNAL, "out of memory");
	return 0;
}

/* Finds where one artifact goes: base directory, path under it. */
static const char *
resolve(const struct artifact_file *art, const struct output_opts *o,
    const char **base, int *confined, int *routed)
{
	size_t i;

	*routed = 0;
	for (i = 0; i < o->nroutes; i++) {
		if (strcmp(artifact_path_key(o->routes[i].artifact),
		    artifact_path_key(art->path)) != 0)
			continue;
		*confined = 0;
		*routed = 1;
		*base = o->routes[i].target[0] == '/' ? "/" : ".";
		return o->routes[i].target;
	}
	if (o->out_dir != NULL) {
		*confined = 1;
		*base = o->out_dir;
		return artifact_path_key(art->path);
	}
	*confined = 0;
	*base = art->path[0] == '/' ? "/" : ".";
	return art->path;
}

static int
place(struct install *in, struct out_file *f, const struct output_opts *o,
    struct errbuf *eb)
{
	char prefix[OUTPUT_SHOW_MAX];
	const char *base, *rel, *name;
	int confined;
	size_t plen;

	rel = resolve(f->art, o, &base, &confined, &f->routed);
	while (*rel == '/')
		rel++;
	if ((name = strrchr(rel, '/')) == NULL)
		name = rel;
	else
		name++;
	/* The directory part without its final "/", so messages show "a/b". */
	plen = name > rel ? (size_t)(name - rel) - 1 : 0;
	if (plen >= sizeof(prefix) || strlen(name) >= sizeof(f->name) ||
	    name[0] == '\0')
		return errbuf_set(eb, EC_WRITE, "%s: bad target path", rel);
	memcpy(prefix, rel, plen);
	prefix[plen] = '\0';
	memcpy(f->name, name, strlen(name) + 1);
	return open_dir(in, base, prefix, confined, &f->dir, eb);
}

static int
resolve_owner(const struct artifact_file *a, uid_t *uid, gid_t *gid,
    struct errbuf *eb)
{
	struct passwd *pw;
	struct group *gr;
	char *end;
	unsigned long n;

	*uid = (uid_t)-1;
	*gid = (gid_t)-1;
	if (a->owner != NULL) {
		n = strtoul(a->owner, &end, 10);
		if (*end == '\0')
			*uid = (uid_t)n;
		else if ((pw = getpwnam(a->owner)) != NULL)
			*uid = pw->pw_uid;
		else
			return errbuf_set(eb, EC_WRITE, "%s: no user %s",
			    a->path, a->owner);
	}
	if (a->group != NULL) {
		n = strtoul(a->group, &end, 10);
		if (*end == '\0')
			*gid = (gid_t)n;
		else if ((gr = getgrnam(a->group)) != NULL)
			*gid = gr->gr_gid;
		else
			return errbuf_set(eb, EC_WRITE, "%s: no group %s",
			    a->path, a->group);
	}
	return 0;
}

/* Returns 1 when the regular file fd holds exactly data[0..len). */
static int
same_content(int fd, const char *data, size_t len)
{
	char chunk[OUTPUT_CMP_CHUNK];
	size_t off = 0;
	ssize_t n;

	for (;;) {
		if ((n = read(fd, chunk, sizeof(chunk))) == -1) {
			if (errno == EINTR)
				continue;
			return 0;
		}
		if (n == 0)
			return off == len;
		if ((size_t)n > len - off ||
		    memcmp(chunk, data + off, (size_t)n) != 0)
			return 0;
		off += (size_t)n;
	}
}

/*
 * Works out the mode and owner f's file will have and whether the file on
 * disk already is that (f->unchanged).  A directory in the way is an
 * error; anything else that is not a regular file is replaced.
 */
static int
inspect(struct install *in, struct out_file *f, const struct output_opts *o,
    struct errbuf *eb)
{
	const struct out_dir *d = &in->dirs[f->dir];
	const struct artifact_file *a = f->art;
	struct stat st;
	int dfd, fd;

	f->mode = 0644;
	f->uid = (uid_t)-1;
	f->gid = (gid_t)-1;
	if (o->apply_owner && (a->owner != NULL || a->group != NULL) &&
	    resolve_owner(a, &f->uid, &f->gid, eb) == -1)
		return -1;
	/* A directory this install made holds none of its files yet. */
	if (d->made) {
		if (a->mode != ARTIFACT_MODE_NONE)
			f->mode = (mode_t)a->mode & 0777;
		return 0;
	}
	if ((dfd = dir_fd(in, f->dir, eb)) == -1)
		return -1;
	if (fstatat(dfd, f->name, &st, AT_SYMLINK_NOFOLLOW) == -1) {
		if (errno != ENOENT)
			return errbuf_set(eb, EC_WRITE, "stat %s/%s: %s",
			    d->show, f->name, strerror(errno));
		if (a->mode != ARTIFACT_MODE_NONE)
			f->mode = (mode_t)a->mode & 0777;
		return 0;
	}
	if (S_ISDIR(st.st_mode))
		return errbuf_set(eb, EC_WRITE,
		    "write %s/%s: is a directory", d->show, f->name);
	f->existed = 1;
	if (S_ISREG(st.st_mode))
		f->mode = st.st_mode & 07777;
	if (a->mode != ARTIFACT_MODE_NONE)
		f->mode = (mode_t)a->mode;
	f->mode &= 0777;	/* never set-id or sticky, whatever came in */
	if (!S_ISREG(st.st_mode) || (size_t)st.st_size != a->len ||
	    (st.st_mode & 07777) != f->mode ||
	    (f->uid != (uid_t)-1 && st.st_uid != f->uid) ||
	    (f->gid != (gid_t)-1 && st.st_gid != f->gid))
		return 0;
	if ((fd = openat(dfd, f->name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC |
	    O_NOCTTY | O_NONBLOCK)) == -1)
		return 0;
	f->unchanged = same_content(fd, a->content, a->len);
	close(fd);
	return 0;
}

/*
 * Writes one file's temporary next to its target, in dfd: content, owner,
 * mode.  It is made durable later, with every other one, by syncfs.  It
 * changes only f: files are staged on several threads at once.
 */
static int
stage(const struct install *in, struct out_file *f, int dfd,
    struct errbuf *eb)
{
	const struct out_dir *d = &in->dirs[f->dir];
	const struct artifact_file *a = f->art;
	int owned = f->uid != (uid_t)-1 || f->gid != (gid_t)-1;
	struct stat st;
	int fd, rc = -1;

	/*
	 * A second name for the file being replaced, so a rename that
	 * fails later can put it back.  Where the file system has no hard
	 * links the write goes on without one.
	 */
	if (f->existed && (fsx_temp_name(f->bak, sizeof(f->bak),
	    f->name) == -1 || linkat(dfd, f->name, dfd, f->bak, 0) == -1))
		f->bak[0] = '\0';
	/* In a staged directory a file is written under its own name. */
	f->direct = d->stage != 0;
	if (f->direct)
		memcpy(f->tmp, f->name, strlen(f->name) + 1);
	else if (fsx_temp_name(f->tmp, sizeof(f->tmp), f->name) == -1)
		return errbuf_set(eb, EC_WRITE, "write %s/%s: name too long",
		    d->show, f->name);
	/* 0600 until its owner is set, so no group reads it meanwhile. */
	if ((fd = openat(dfd, f->tmp, O_WRONLY | O_CREAT | O_EXCL |
	    O_NOFOLLOW | O_CLOEXEC, owned ? 0600 : f->mode)) == -1) {
		errbuf_set(eb, EC_WRITE, "create %s/%s: %s", d->show, f->tmp,
		    strerror(errno));
		f->tmp[0] = '\0';
		return -1;
	}
	if (fsx_write_all(fd, a->content, a->len) == -1) {
		errbuf_set(eb, EC_WRITE, "write %s/%s: %s", d->show, f->name,
		    strerror(errno));
		goto out;
	}
	if (owned && fchown(fd, f->uid, f->gid) == -1) {
		errbuf_set(eb, EC_WRITE, "chown %s/%s: %s", d->show,
		    f->name, strerror(errno));
		goto out;
	}
	/*
	 * After fchown, which may clear set-id bits; and where the umask or
	 * a default ACL masked the mode.
	 */
	if ((fstat(fd, &st) == -1 || (st.st_mode & 07777) != f->mode) &&
	    fchmod(fd, f->mode) == -1) {
		errbuf_set(eb, EC_WRITE, "write %s/%s: %s", d->show, f->name,
		    strerror(errno));
		goto out;
	}
	rc = 0;
out:
	if (close(fd) == -1 && rc == 0)
		rc = errbuf_set(eb, EC_WRITE, "write %s/%s: %s", d->show,
		    f->name, strerror(errno));
	return rc;
}

/* One of the threads that stage files: those of its directories. */
struct stager {
	struct install	*in;
	size_t		 part, nparts;
	size_t		 failed_at;	/* the file it failed on, or nfiles */
	struct errbuf	 eb;
	int		*stop;		/* set by the first to fail */
	pthread_t	 thread;
	int		 started;
};

static void *
stage_part(void *arg)
{
	struct stager *st = arg;
	struct install *in = st->in;
	struct out_file *f;
	size_t i, cur = SIZE_MAX;
	int dfd = -1;

	st->failed_at = in->nfiles;
	for (i = 0; i < in->nfiles; i++) {
		f = &in->files[i];
		if (f->unchanged || f->dir % st->nparts != st->part)
			continue;
		if (__atomic_load_n(st->stop, __ATOMIC_RELAXED))
			break;
		if (f->dir != cur) {
			if (dfd != -1)
				close(dfd);
			cur = f->dir;
			dfd = open_path(in, &in->dirs[cur], 0, &st->eb);
		}
		if (dfd == -1 || stage(in, f, dfd, &st->eb) == -1) {
			st->failed_at = i;
			__atomic_store_n(st->stop, 1, __ATOMIC_RELAXED);
			break;
		}
	}
	if (dfd != -1)
		close(dfd);
	return NULL;
}

/*
 * Stages every file to write (nwrite of them): on this thread, or, from
 * OUTPUT_PARALLEL_MIN on, by directory on one thread per processor, once
 * every directory is made.  0, or -1 with eb set: the error of the first
 * file that failed.
 */
static int
stage_all(struct install *in, size_t nwrite, struct errbuf *eb)
{
	struct stager st[OUTPUT_THREADS_MAX];
	size_t i, n = 1, worst = 0;
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	int stop = 0, dfd;

	if (nwrite >= OUTPUT_PARALLEL_MIN && in->ndirs > 1 && cpus > 1)
		n = cpus < OUTPUT_THREADS_MAX ? (size_t)cpus :
		    OUTPUT_THREADS_MAX;
	if (n == 1) {
		for (i = 0; i < in->nfiles; i++)
			if (!in->files[i].unchanged &&
			    ((dfd = dir_fd(in, in->files[i].dir, eb)) == -1 ||
			    stage(in, &in->files[i], dfd, eb) == -1))
				return -1;
		return 0;
	}
	/* The staged directories made here: the stagers only open. */
	for (i = 0; i < in->ndirs; i++)
		if (in->dirs[i].stage != 0 && dir_fd(in, i, eb) == -1)
			return -1;
	for (i = 0; i < n; i++) {
		memset(&st[i], 0, sizeof(st[i]));
		st[i].in = in;
		st[i].part = i;
		st[i].nparts = n;
		st[i].stop = &stop;
		st[i].started = i > 0 && pthread_create(&st[i].thread, NULL,
		    stage_part, &st[i]) == 0;
	}
	(void)stage_part(&st[0]);
	for (i = 1; i < n; i++) {
		if (st[i].started)
			(void)pthread_join(st[i].thread, NULL);
		else
			(void)stage_part(&st[i]);
	}
	for (i = 1; i < n; i++)
		if (st[i].failed_at < st[worst].failed_at)
			worst = i;
	if (st[worst].failed_at == in->nfiles)
		return 0;
	*eb = st[worst].eb;
	return -1;
}

/*
 * One syncfs(2) per file system among the directories (only those a file
 * is renamed into, when written_only): everything written to them so far,
 * file data and directory entries, is on disk when it returns 0.
 */
static int
sync_dirs(struct install *in, int written_only, struct errbuf *eb)
{
	size_t i, k;
	int fd;

	for (i = 0; i < in->ndirs; i++) {
		if (written_only && !in->dirs[i].written)
			continue;
		for (k = 0; k < i; k++)
			if ((!written_only || in->dirs[k].written) &&
			    in->dirs[k].dev == in->dirs[i].dev)
				break;
		if (k < i)
			continue;
		if ((fd = dir_fd(in, i, eb)) == -1)
			return -1;
		if (syncfs(fd) == -1)
			return errbuf_set(eb, EC_WRITE, "sync %s: %s",
			    in->dirs[i].show, strerror(errno));
	}
	return 0;
}

/*
 * Appends one intent entry: its kind ('S', a directory that gets
 * temporaries; 'M', a rename), the directory ('R' and its path under
 * --out, or 'A' and its absolute path), and for a rename the temporary and
 * the name; each string NUL-terminated.
 */
static int
intent_entry(struct buf *b, int kind, const struct out_dir *d,
    const char *cwd, const char *tmp, const char *name)
{
	if (buf_addc(b, (char)kind) == -1)
		return -1;
	if (d->confined) {
		if (buf_addc(b, 'R') == -1 ||
		    buf_add(b, d->prefix, strlen(d->prefix) + 1) == -1)
			return -1;
	} else {
		if (buf_addc(b, 'A') == -1)
			return -1;
		if (d->show[0] != '/' && (buf_adds(b, cwd) == -1 ||
		    buf_addc(b, '/') == -1))
			return -1;
		if (buf_add(b, d->show, strlen(d->show) + 1) == -1)
			return -1;
	}
	if (kind == 'M' && (buf_add(b, tmp, strlen(tmp) + 1) == -1 ||
	    buf_add(b, name, strlen(name) + 1) == -1))
		return -1;
	return 0;
}

/*
 * Writes the intent record into dirs[0], durably, replacing the one
 * before.  With kind 'S' (before the first temporary is made) it names the
 * directories that will hold temporaries, so that the next install removes
 * them even when it writes elsewhere; with 'M' (once every temporary is on
 * disk) every rename, so that the next install finishes them.
 */
static int
intent_write(struct install *in, int kind, struct errbuf *eb)
{
	char cwd[OUTPUT_SHOW_MAX];
	struct buf b;
	size_t i;
	int fd, rc = -1;

	buf_init(&b, SIZE_MAX);
	if (getcwd(cwd, sizeof(cwd)) == NULL)
		return errbuf_set(eb, EC_WRITE, "getcwd: %s", strerror(errno));
	if (buf_adds(&b, OUTPUT_INTENT_HEAD) == -1)
		goto oom;
	if (kind == 'S') {
		for (i = 0; i < in->ndirs; i++)
			if (in->dirs[i].written && in->dirs[i].stage == 0 &&
			    intent_entry(&b, 'S', &in->dirs[i], cwd, NULL,
			    NULL) == -1)
				goto oom;
	} else {
		/* A staged directory's rename is in its parent, dirs[0]. */
		for (i = 0; i < in->nstaged; i++)
			if (intent_entry(&b, 'M', &in->dirs[0], cwd,
			    in->staged[i].tmp, in->staged[i].name) == -1)
				goto oom;
		for (i = 0; i < in->nfiles; i++)
			if (!in->files[i].unchanged && !in->files[i].direct &&
			    intent_entry(&b, 'M', &in->dirs[in->files[i].dir],
			    cwd, in->files[i].tmp, in->files[i].name) == -1)
				goto oom;
	}
	if ((fd = dir_fd(in, 0, eb)) == -1)
		goto out;
	if (fsx_write_atomic_at(fd, in->dirs[0].show, OUTPUT_INTENT, b.data,
	    b.len, 0600, eb) == -1)
		goto out;
	in->intent = 1;
	rc = 0;
	goto out;
oom:
	errbuf_set(eb, EC_INTERNAL, "out of memory");
out:
	buf_release(&b);
	return rc;
}

/* Removes the intent record; durable when sync is set. */
static void
intent_remove(struct install *in, int sync)
{
	struct errbuf eb;
	int fd;

	if (!in->intent || (fd = dir_fd(in, 0, &eb)) == -1)
		return;
	if (unlinkat(fd, OUTPUT_INTENT, 0) == 0 && sync)
		(void)fsync(fd);
	in->intent = 0;
}

/*
 * Removes the directory name under dfd and everything in it, depth
 * levels deep at most (a staged directory is no deeper than a path).
 */
static void
remove_tree(int dfd, const char *name, int depth)
{
	struct dirent *e;
	DIR *dp;
	int fd;

	if (depth > 0 && (fd = openat(dfd, name, O_RDONLY | O_DIRECTORY |
	    O_NOFOLLOW | O_CLOEXEC)) != -1) {
		if ((dp = fdopendir(fd)) == NULL) {
			close(fd);
			return;
		}
		while ((e = readdir(dp)) != NULL) {
			if (strcmp(e->d_name, ".") == 0 ||
			    strcmp(e->d_name, "..") == 0)
				continue;
			if (unlinkat(dirfd(dp), e->d_name, 0) == -1 &&
			    errno == EISDIR)
				remove_tree(dirfd(dp), e->d_name, depth - 1);
		}
		closedir(dp);
	}
	(void)unlinkat(dfd, name, AT_REMOVEDIR);
}

/*
 * Unlinks every temporary in the directory fd, a staged directory with
 * its contents; counts them in *removed.
 */
static void
unlink_temporaries(int fd, size_t *removed)
{
	struct dirent *e;
	DIR *dp;

	if ((fd = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return;
	if ((dp = fdopendir(fd)) == NULL) {
		close(fd);
		return;
	}
	while ((e = readdir(dp)) != NULL) {
		if (!fsx_is_temp_name(e->d_name))
			continue;
		if (unlinkat(dirfd(dp), e->d_name, 0) == 0)
			(*removed)++;
		else if (errno == EISDIR) {
			remove_tree(dirfd(dp), e->d_name, OUTPUT_SHOW_MAX / 2);
			(*removed)++;
		}
	}
	closedir(dp);
}

/*
 * Opens the directory of an intent entry at *p (its kind already read),
 * moving *p past the path; -1 when it is gone or not safe to open.
 */
static int
entry_dir(int afd, const char *show, const char **p, struct errbuf *eb)
{
	const char *dir = *p;
	int fd;

	*p += strlen(*p) + 1;
	if (dir[0] == 'R') {
		if ((fd = dup(afd)) == -1)
			return -1;
		return walk(NULL, 0, fd, show, dir + 1, 1, NULL, eb);
	}
	if (dir[0] == 'A' && dir[1] == '/')
		return open(dir + 1, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	return -1;
}

/*
 * Whether the directory of an intent entry (dir: its 'R' or 'A' string)
 * was cleaned already: each is read once, not once for each of its
 * thousands of renames.  Notes it when not.
 */
static int
seen_before(struct strmap *cleaned, const char *dir)
{
	if (strmap_get(cleaned, dir, NULL))
		return 1;
	(void)strmap_put(cleaned, dir, 0);
	return 0;
}

/*
 * Finishes what a killed install recorded in the directory afd (shown as
 * show): every rename of an 'M' record whose temporary is still there is
 * done, then the temporaries of every directory it names are removed, and
 * the record.  Returns 0 (also when there is no record), or -1 with eb set.
 */
static int
intent_replay(int afd, const char *show, struct output_result *res,
    struct errbuf *eb)
{
	struct buf b;
	struct strmap cleaned;
	struct stat st;
	const char *p, *end, *e, *tmp, *name;
	int rfd, dfd, pass, kind, isdir, elsewhere = 0, rc = -1;
	struct errbuf ignored;
	ssize_t n;
	char chunk[OUTPUT_CMP_CHUNK];

	if ((rfd = openat(afd, OUTPUT_INTENT, O_RDONLY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1) {
		if (errno == ENOENT)
			return 0;
		return errbuf_set(eb, EC_WRITE, "open %s/%s: %s", show,
		    OUTPUT_INTENT, strerror(errno));
	}
	buf_init(&b, OUTPUT_INTENT_MAX);
	strmap_init(&cleaned);
	while ((n = read(rfd, chunk, sizeof(chunk))) != 0) {
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 || buf_add(&b, chunk, (size_t)n) == -1) {
			errbuf_set(eb, EC_WRITE, "read %s/%s: %s", show,
			    OUTPUT_INTENT, n == -1 ? strerror(errno) :
			    "too large");
			close(rfd);
			goto out;
		}
	}
	close(rfd);
	if (b.len < strlen(OUTPUT_INTENT_HEAD) || memcmp(b.data,
	    OUTPUT_INTENT_HEAD, strlen(OUTPUT_INTENT_HEAD)) != 0 ||
	    b.data[b.len - 1] != '\0') {
		errbuf_set(eb, EC_WRITE, "%s/%s: not an intent record", show,
		    OUTPUT_INTENT);
		goto out;
	}
	end = b.data + b.len;
	/* First every entry is checked, then renamed, then cleaned. */
	for (pass = 0; pass < 3; pass++) {
		for (p = b.data + strlen(OUTPUT_INTENT_HEAD); p < end; ) {
			kind = *p++;
			e = p;
			if (pass == 0) {
				tmp = p < end ? p + strlen(p) + 1 : end;
				name = tmp < end ? tmp + strlen(tmp) + 1 : end;
				if ((kind != 'S' && kind != 'M') ||
				    p >= end || (*p != 'R' && *p != 'A') ||
				    (kind == 'M' && (name >= end ||
				    !fsx_is_temp_name(tmp) ||
				    strchr(tmp, '/') != NULL ||
				    strchr(name, '/') != NULL ||
				    name[0] == '\0'))) {
					errbuf_set(eb, EC_WRITE,
					    "%s/%s: a bad entry", show,
					    OUTPUT_INTENT);
					goto out;
				}
				p = kind == 'M' ? name + strlen(name) + 1 :
				    tmp;
				continue;
			}
			if ((kind == 'S' && pass == 1) ||
			    (pass == 2 && seen_before(&cleaned, e)) ||
			    (dfd = entry_dir(afd, show, &p, &ignored)) == -1) {
				if (p == e)
					p += strlen(p) + 1;
				if (kind == 'M') {
					p += strlen(p) + 1;
					p += strlen(p) + 1;
				}
				continue;
			}
			tmp = p;
			name = tmp + (kind == 'M' ? strlen(tmp) + 1 : 0);
			if (kind == 'M')
				p = name + strlen(name) + 1;
			if (pass == 1) {
				/*
				 * A staged directory goes in only where nothing
				 * took its name; else pass 2 removes it, and the
				 * install that follows writes its files.
				 */
				isdir = fstatat(dfd, tmp, &st,
				    AT_SYMLINK_NOFOLLOW) == 0 &&
				    S_ISDIR(st.st_mode);
				if ((isdir ? renameat2(dfd, tmp, dfd, name,
				    RENAME_NOREPLACE) : renameat(dfd, tmp, dfd,
				    name)) == 0) {
					res->replayed++;
					elsewhere |= e[0] == 'A';
				} else if (errno != ENOENT && !(isdir &&
				    (errno == EEXIST || errno == ENOTEMPTY))) {
					errbuf_set(eb, EC_WRITE,
					    "rename %s: %s", name,
					    strerror(errno));
					close(dfd);
					goto out;
				}
			} else
				unlink_temporaries(dfd, &res->removed);
			close(dfd);
		}
		if (pass != 1)
			continue;
		/*
		 * The renames durable before the record goes: one syncfs,
		 * and sync(2) for the file systems of routed files.
		 */
		if (elsewhere)
			sync();
		if (syncfs(afd) == -1) {
			errbuf_set(eb, EC_WRITE, "sync %s: %s", show,
			    strerror(errno));
			goto out;
		}
	}
	if (unlinkat(afd, OUTPUT_INTENT, 0) == -1 || fsync(afd) == -1) {
		errbuf_set(eb, EC_WRITE, "remove %s/%s: %s", show,
		    OUTPUT_INTENT, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	strmap_release(&cleaned);
	buf_release(&b);
	return rc;
}

/* Removes the temporaries an earlier, killed install left in dirs[idx]. */
static int
remove_temporaries(struct install *in, size_t idx, size_t *removed,
    struct errbuf *eb)
{
	int fd;

	if ((fd = dir_fd(in, idx, eb)) == -1)
		return -1;
	unlink_temporaries(fd, removed);
	return 0;
}

/* Appends s to b quoted for the shell: '...' with ' as '\''. */
static int
add_quoted(struct buf *b, const char *s)
{
	if (buf_addc(b, '\'') == -1)
		return -1;
	for (; *s != '\0'; s++) {
		if (*s == '\'' ? buf_adds(b, "'\\''") == -1 :
		    buf_addc(b, *s) == -1)
			return -1;
	}
	return buf_addc(b, '\'');
}

/*
 * Runs cmd with every "{}" replaced by path (quoted) under /bin/sh -c, in
 * a process group of its own, stdin from /dev/null, stdout to stderr;
 * kills the group after timeout seconds.  Returns 0 when it exits 0, else
 * -1 with EC_INVALID.
 */
static int
run_check(const char *cmd, const char *path, unsigned timeout,
    struct errbuf *eb)
{
	struct timespec pause = { 0, 1000000 };
	const char *p, *q;
	struct buf b;
	long long waited = 0, limit;
	pid_t pid, r;
	int status, fd, rc = -1;

	buf_init(&b, SIZE_MAX);
	for (p = cmd; (q = strstr(p, "{}")) != NULL; p = q + 2)
		if (buf_add(&b, p, (size_t)(q - p)) == -1 ||
		    add_quoted(&b, path) == -1)
			goto oom;
	if (buf_adds(&b, p) == -1)
		goto oom;
	if ((pid = fork()) == -1) {
		errbuf_set(eb, EC_INTERNAL, "fork: %s", strerror(errno));
		goto out;
	}
	if (pid == 0) {
		(void)setpgid(0, 0);
		(void)signal(SIGXFSZ, SIG_DFL);
		if ((fd = open("/dev/null", O_RDONLY)) != -1 &&
		    fd != STDIN_FILENO) {
			(void)dup2(fd, STDIN_FILENO);
			close(fd);
		}
		(void)dup2(STDERR_FILENO, STDOUT_FILENO);
		execl("/bin/sh", "sh", "-c", b.data, (char *)NULL);
		_exit(127);
	}
	(void)setpgid(pid, pid);
	/* Waits in steps from 1 ms up to 50 ms, so a quick check is quick. */
	limit = (long long)timeout * 1000000000LL;
	while ((r = waitpid(pid, &status, WNOHANG)) == 0 ||
	    (r == -1 && errno == EINTR)) {
		if (waited >= limit) {
			(void)kill(-pid, SIGKILL);
			(void)kill(pid, SIGKILL);
			(void)waitpid(pid, &status, 0);
			errbuf_set(eb, EC_INVALID, "check %s: timed out after "
			    "%u s", path, timeout);
			goto out;
		}
		(void)nanosleep(&pause, NULL);
		waited += pause.tv_nsec;
		if (pause.tv_nsec < 50000000)
			pause.tv_nsec *= 2;
	}
	if (r == -1) {
		errbuf_set(eb, EC_INTERNAL, "wait: %s", strerror(errno));
		goto out;
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		rc = 0;
	else if (WIFEXITED(status))
		errbuf_set(eb, EC_INVALID, "check %s: exit %d", path,
		    WEXITSTATUS(status));
	else
		errbuf_set(eb, EC_INVALID, "check %s: killed by signal %d",
		    path, WTERMSIG(status));
	goto out;
oom:
	errbuf_set(eb, EC_INTERNAL, "out of memory");
out:
	buf_release(&b);
	return rc;
}

static int
remove_entry(const char *path, const struct stat *st, int type,
    struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	(void)(type == FTW_DP ? rmdir(path) : unlink(path));
	return 0;
}

/*
 * Lays every file of the payload out under a new directory in $TMPDIR (or
 * /tmp) as it will be once installed (under --out relative to it, else at
 * its whole target path), runs the check on it and removes it.
 */
static int
check_dir(struct install *in, const struct output_opts *o, unsigned timeout,
    struct errbuf *eb)
{
	char top[OUTPUT_SHOW_MAX], rel[OUTPUT_SHOW_MAX];
	struct install lay;
	const struct out_dir *d;
	struct out_file *f;
	size_t i, idx;
	int fd, n, rc = -1;

	n = snprintf(top, sizeof(top), "%s/cfgsync-check-XXXXXX",
	    o->tmpdir != NULL && o->tmpdir[0] == '/' ? o->tmpdir : "/tmp");
	if (n < 0 || (size_t)n >= sizeof(top))
		return errbuf_set(eb, EC_WRITE, "TMPDIR: path too long");
	if (mkdtemp(top) == NULL)
		return errbuf_set(eb, EC_WRITE, "mkdtemp %s: %s", top,
		    strerror(errno));
	memset(&lay, 0, sizeof(lay));
	strmap_init(&lay.dirmap);
	for (i = 0; i < in->nfiles; i++) {
		f = &in->files[i];
		d = &in->dirs[f->dir];
		n = d->confined ? snprintf(rel, sizeof(rel), "%s", d->prefix) :
		    snprintf(rel, sizeof(rel), "%s", d->show +
		    strspn(d->show, "/"));
		if (n < 0 || (size_t)n >= sizeof(rel)) {
			errbuf_set(eb, EC_WRITE, "%s: path too long", d->show);
			goto out;
		}
		if (open_dir(&lay, top, rel, 1, &idx, eb) == -1 ||
		    (fd = dir_fd(&lay, idx, eb)) == -1)
			goto out;
		if ((fd = openat(fd, f->name, O_WRONLY | O_CREAT | O_EXCL |
		    O_NOFOLLOW | O_CLOEXEC, f->mode)) == -1 ||
		    fsx_write_all(fd, f->art->content, f->art->len) == -1 ||
		    fchmod(fd, f->mode) == -1) {
			errbuf_set(eb, EC_WRITE, "write %s/%s/%s: %s", top,
			    rel, f->name, strerror(errno));
			if (fd != -1)
				close(fd);
			goto out;
		}
		close(fd);
	}
	close_dirs(&lay);
	rc = run_check(o->check_dir_cmd, top, timeout, eb);
out:
	close_dirs(&lay);
	for (i = 0; i < lay.ndirs; i++) {
		free(lay.dirs[i].show);
		free(lay.dirs[i].prefix);
	}
	for (i = 0; i < lay.ncreated; i++)
		free(lay.created[i]);
	free(lay.created);
	free(lay.dirs);
	strmap_release(&lay.dirmap);
	(void)nftw(top, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
	return rc;
}

/* Where f's staged copy is, to a command: size bytes at path. */
static int
staged_path(const struct install *in, const struct out_file *f, char *path,
    size_t size)
{
	const struct out_dir *d = &in->dirs[f->dir];
	const char *rest;
	int n;

	if (!f->direct)
		return join(path, size, d->show, f->tmp);
	rest = d->prefix + strcspn(d->prefix, "/");
	n = snprintf(path, size, "%s/%s%s/%s", d->base,
	    in->staged[d->stage - 1].tmp, rest, f->name);
	return n < 0 || (size_t)n >= size ? -1 : 0;
}

/* Runs the checks of o on the staged files; 0, or -1 with eb set. */
static int
run_checks(struct install *in, const struct output_opts *o,
    struct errbuf *eb)
{
	char path[OUTPUT_SHOW_MAX + FSX_TEMP_NAME_MAX];
	const struct out_file *f;
	unsigned timeout = o->check_timeout != 0 ? o->check_timeout :
	    OUTPUT_CHECK_TIMEOUT;
	size_t i;

	for (i = 0; o->check_cmd != NULL && i < in->nfiles; i++) {
		f = &in->files[i];
		if (f->unchanged)
			continue;
		if (staged_path(in, f, path, sizeof(path)) == -1)
			return errbuf_set(eb, EC_WRITE, "%s: path too long",
			    f->tmp);
		if (run_check(o->check_cmd, path, timeout, eb) == -1)
			return errbuf_prefix(eb, "%s/%s", in->dirs[f->dir].show,
			    f->name);
	}
	if (o->check_dir_cmd != NULL)
		return check_dir(in, o, timeout, eb);
	return 0;
}

/*
 * Undoes the renames of files[0..n): each old file comes back from its
 * second name, each new one goes.  Only a crash between the renames, or a
 * file system without hard links, can leave a mixed set.
 */
static void
roll_back(struct install *in, size_t n)
{
	struct errbuf eb;
	struct out_file *f;
	int dfd;

	while (n-- > 0) {
		f = &in->files[n];
		if (f->unchanged || f->direct || f->tmp[0] != '\0' ||
		    (dfd = dir_fd(in, f->dir, &eb)) == -1)
			continue;
		if (f->bak[0] != '\0') {
			if (renameat(dfd, f->bak, dfd, f->name) == 0)
				f->bak[0] = '\0';
		} else if (!f->existed)
			(void)unlinkat(dfd, f->name, 0);
	}
}

/*
 * Removes the staged directories of a failed install, those renamed into
 * place first put back under their temporary names.
 */
static void
unstage(struct install *in)
{
	struct staged_dir *sd;
	size_t i;
	int fd;

	if (in->nstaged == 0 || (fd = open(in->stage_base, O_RDONLY |
	    O_DIRECTORY | O_CLOEXEC)) == -1)
		return;
	for (i = 0; i < in->nstaged; i++) {
		sd = &in->staged[i];
		if (sd->renamed && renameat(fd, sd->name, fd, sd->tmp) == 0)
			sd->renamed = 0;
		if (sd->tmp[0] != '\0' && !sd->renamed)
			remove_tree(fd, sd->tmp, OUTPUT_SHOW_MAX / 2);
	}
	close(fd);
}

/*
 * Renames every staged directory into place, in dirs[0], each only where
 * nothing took its name meanwhile; 0, or -1 with eb set.
 */
static int
rename_staged(struct install *in, struct errbuf *eb)
{
	struct staged_dir *sd;
	size_t i;
	int fd;

	for (i = 0; i < in->nstaged; i++) {
		sd = &in->staged[i];
		if ((fd = dir_fd(in, 0, eb)) == -1)
			return -1;
		if (renameat2(fd, sd->tmp, fd, sd->name, RENAME_NOREPLACE) == -1)
			return errbuf_set(eb, EC_WRITE, "rename %s/%s: %s",
			    in->dirs[0].show, sd->name, strerror(errno));
		sd->renamed = 1;
	}
	for (i = 0; i < in->nfiles; i++)
		if (in->files[i].direct)
			in->files[i].tmp[0] = '\0';
	return 0;
}

static void
install_cleanup(struct install *in, int failed)
{
	struct errbuf eb;
	struct out_file *f;
	size_t i;
	int dfd;

	for (i = 0; i < in->nfiles; i++) {
		f = &in->files[i];
		if (f->direct ||
		    ((!failed || f->tmp[0] == '\0') && f->bak[0] == '\0'))
			continue;
		if ((dfd = dir_fd(in, f->dir, &eb)) == -1)
			continue;
		if (failed && f->tmp[0] != '\0')
			(void)unlinkat(dfd, f->tmp, 0);
		if (f->bak[0] != '\0')
			(void)unlinkat(dfd, f->bak, 0);
	}
	/*
	 * The renames durable, or the temporaries gone: the record has
	 * nothing left to tell.
	 */
	intent_remove(in, 0);
	close_dirs(in);
	if (failed)
		unstage(in);
	free(in->staged);
	for (i = 0; i < in->ndirs; i++) {
		free(in->dirs[i].show);
		free(in->dirs[i].prefix);
	}
	for (i = in->ncreated; i > 0; i--) {
		if (failed)
			(void)rmdir(in->created[i - 1]);
		free(in->created[i - 1]);
	}
	free(in->created);
	free(in->dirs);
	strmap_release(&in->dirmap);
	strmap_release(&in->stagedmap);
	free(in->files);
}

int
output_install(const struct artifact_set *set, const struct output_opts *o,
    struct errbuf *eb)
{
	struct output_result res;
	struct install in;
	size_t i, k, anchor, nwrite = 0;
	int dfd, made, renamed = 0, rc = -1;

	memset(&res, 0, sizeof(res));
	memset(&in, 0, sizeof(in));
	strmap_init(&in.dirmap);
	strmap_init(&in.stagedmap);
	if (o->result != NULL)
		*o->result = res;
	if (set->len == 0)
		return 0;
	if ((in.files = calloc(set->len, sizeof(*in.files))) == NULL)
		return errbuf_set(eb, EC_INTERNAL, "out of memory");
	/* The anchor, dirs[0]: --out itself, else the first file's. */
	if (o->out_dir != NULL) {
		in.stage_base = o->out_dir;
		if ((made = make_out_dir(&in, o->out_dir, eb)) == -1 ||
		    open_dir(&in, o->out_dir, "", 1, &anchor, eb) == -1)
			goto out;
		in.dirs[anchor].made = made;
		/*
		 * What a killed install left in --out goes first: which
		 * directories are new, so staged, depends on what it had
		 * put in place.
		 */
		if (!made && ((dfd = dir_fd(&in, anchor, eb)) == -1 ||
		    intent_replay(dfd, in.dirs[anchor].show, &res, eb) == -1 ||
		    remove_temporaries(&in, anchor, &res.removed, eb) == -1))
			goto out;
	}
	for (i = 0; i < set->len; i++) {
		in.files[i].art = &set->files[i];
		in.nfiles++;
		if (place(&in, &in.files[i], o, eb) == -1)
			goto out;
		/*
		 * Payload paths are unique, so only a route can send two
		 * artifacts to one place.
		 */
		for (k = 0; k < i && o->nroutes > 0; k++) {
			if (!in.files[k].routed && !in.files[i].routed)
				continue;
			if (in.files[k].dir == in.files[i].dir &&
			    strcmp(in.files[k].name, in.files[i].name) == 0) {
				errbuf_set(eb, EC_INVALID,
				    "%s and %s both go to %s/%s",
				    in.files[k].art->path, set->files[i].path,
				    in.dirs[in.files[i].dir].show,
				    in.files[i].name);
				goto out;
			}
		}
	}
	/*
	 * What a killed install left: first its renames are finished from
	 * its intent record, then its temporaries go.
	 */
	for (i = 0; i < in.ndirs; i++) {
		/* Staged: made later, so nothing there; --out: done. */
		if (in.dirs[i].stage != 0 || (o->out_dir != NULL && i == 0))
			continue;
		if ((dfd = dir_fd(&in, i, eb)) == -1 ||
		    intent_replay(dfd, in.dirs[i].show, &res, eb) == -1)
			goto out;
	}
	for (i = 0; i < in.ndirs; i++)
		if (in.dirs[i].stage == 0 && (o->out_dir == NULL || i != 0) &&
		    remove_temporaries(&in, i, &res.removed, eb) == -1)
			goto out;
	for (i = 0; i < in.nfiles; i++) {
		if (inspect(&in, &in.files[i], o, eb) == -1)
			goto out;
		if (in.files[i].unchanged) {
			res.unchanged++;
			continue;
		}
		nwrite++;
		in.dirs[in.files[i].dir].written = 1;
	}
	if (nwrite == 0) {
		rc = 0;
		goto out;
	}
	/* Staged directories are made and renamed in --out, dirs[0]. */
	if (in.nstaged > 0)
		in.dirs[0].written = 1;
	if (intent_write(&in, 'S', eb) == -1)
		goto out;
	if (stage_all(&in, nwrite, eb) == -1)
		goto out;
	if (run_checks(&in, o, eb) == -1 ||
	    sync_dirs(&in, 0, eb) == -1 ||
	    intent_write(&in, 'M', eb) == -1)
		goto out;
	if (rename_staged(&in, eb) == -1) {
		intent_remove(&in, 1);
		goto out;
	}
	for (i = 0; i < in.nfiles; i++) {
		struct out_file *f = &in.files[i];
		const struct out_dir *d = &in.dirs[f->dir];

		if (f->unchanged)
			continue;
		if (f->direct) {
			res.written++;
			continue;
		}
		if ((dfd = dir_fd(&in, f->dir, eb)) == -1 ||
		    renameat(dfd, f->tmp, dfd, f->name) == -1) {
			if (dfd != -1)
				errbuf_set(eb, EC_WRITE, "rename %s/%s: %s",
				    d->show, f->name, strerror(errno));
			/* Rolled back here, never forward by a later run. */
			intent_remove(&in, 1);
			roll_back(&in, i);
			goto out;
		}
		f->tmp[0] = '\0';
		res.written++;
	}
	renamed = 1;
	if (sync_dirs(&in, 1, eb) == -1)
		goto out;
	rc = 0;
out:
	install_cleanup(&in, rc == -1 && !renamed);
	if (rc == 0 && o->result != NULL)
		*o->result = res;
	return rc;
}
