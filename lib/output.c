/*
 * Routing and the all-or-nothing write of a payload: see output.h.
 *
 * Each target is reached from a base directory (--out, "/" or ".") one
 * component at a time with openat(2), creating missing directories 0755.
 * Under --out every component is opened O_NOFOLLOW, so a symlink planted
 * in the tree cannot carry a write outside it, and the final rename
 * replaces a symlink rather than writing through it.
 */
#include "output.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "array.h"
#include "artifacts.h"
#include "errbuf.h"
#include "exitcode.h"
#include "fsx.h"
#include "strmap.h"
#include "banned.h"

#define OUTPUT_NAME_MAX	FSX_NAME_MAX
#define OUTPUT_SHOW_MAX	FSX_PATH_MAX

struct out_dir {
	char	*show;		/* the directory's path, for messages */
	int	 fd;
};

struct out_file {
	const struct artifact_file *art;	/* borrowed */
	size_t	dir;				/* index into dirs */
	char	name[OUTPUT_NAME_MAX];
	char	tmp[FSX_TEMP_NAME_MAX];	/* "" until created */
	/* link to the old file, or "" */
	char	bak[FSX_TEMP_NAME_MAX];
	int	existed;			/* a file was there before */
	int	routed;				/* sent by a route */
};

struct install {
	struct out_dir	*dirs;
	size_t		 ndirs, dircap;
	struct strmap	 dirmap;	/* show to index into dirs */
	char		**created;		/* directories made, in order */
	size_t		 ncreated, createdcap;
	struct out_file	*files;
	size_t		 nfiles;
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

/* Creates path and its missing parents 0755 (mkdir -p), noting each. */
static int
make_out_dir(struct install *in, const char *path, struct errbuf *eb)
{
	char p[OUTPUT_SHOW_MAX];
	size_t i, len = strlen(path);
	struct stat st;
	int fd;

	if (len >= sizeof(p))
		return errbuf_set(eb, EC_WRITE, "%s: path too long", path);
	memcpy(p, path, len + 1);
	for (i = 1; i <= len; i++) {
		if (p[i] != '/' && p[i] != '\0')
			continue;
		p[i] = '\0';
		if (mkdir(p, 0755) == 0) {
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
	char show[OUTPUT_SHOW_MAX], comp[OUTPUT_NAME_MAX], sub[OUTPUT_SHOW_MAX];
	char upto[OUTPUT_SHOW_MAX];
	const char *p, *slash;
	struct out_dir *d;
	size_t clen;
	int fd, nfd, made;

	if (join(show, sizeof(show), base, prefix) == -1)
		return errbuf_set(eb, EC_WRITE, "%s/%s: path too long", base,
		    prefix);
	if (strmap_get(&in->dirmap, show, idx))
		return 0;
	if ((fd = open(base, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return errbuf_set(eb, EC_WRITE, "open %s: %s", base,
		    strerror(errno));
	for (p = prefix; *p != '\0'; p = *slash ? slash + 1 : slash) {
		if ((slash = strchr(p, '/')) == NULL)
			slash = p + strlen(p);
		if ((clen = (size_t)(slash - p)) == 0)
			continue;
		if (clen >= sizeof(comp)) {
			close(fd);
			return errbuf_set(eb, EC_WRITE, "%s: name too long",
			    show);
		}
		memcpy(comp, p, clen);
		comp[clen] = '\0';
		memcpy(upto, prefix, (size_t)(p - prefix) + clen);
		upto[(size_t)(p - prefix) + clen] = '\0';
		(void)join(sub, sizeof(sub), base, upto);
		made = 0;
		if (mkdirat(fd, comp, 0755) == 0) {
			made = 1;
			if (remember_created(in, sub) == -1) {
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
		fd = nfd;
	}
	if (ARRAY_GROW(in->dirs, in->ndirs + 1, in->dircap) == -1) {
		close(fd);
		return errbuf_set(eb, EC_INTERNAL, "out of memory");
	}
	d = &in->dirs[in->ndirs];
	if ((d->show = strdup(show)) == NULL) {
		close(fd);
		return errbuf_set(eb, EC_INTERNAL, "out of memory");
	}
	d->fd = fd;
	*idx = in->ndirs++;
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

/* Writes one file's temporary next to its target: content, mode, fsync. */
static int
stage(struct install *in, struct out_file *f, const struct output_opts *o,
    struct errbuf *eb)
{
	const struct out_dir *d = &in->dirs[f->dir];
	const struct artifact_file *a = f->art;
	struct stat st;
	mode_t mode = 0644;
	uid_t uid;
	gid_t gid;
	int fd, rc = -1;

	if (fstatat(d->fd, f->name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		if (S_ISDIR(st.st_mode))
			return errbuf_set(eb, EC_WRITE,
			    "write %s/%s: is a directory", d->show, f->name);
		if (S_ISREG(st.st_mode))
			mode = st.st_mode & 07777;
		f->existed = 1;
		/*
		 * A second name for the file being replaced, so a rename
		 * that fails later can put it back.  Where the file system
		 * has no hard links the write goes on without one.
		 */
		if (fsx_temp_name(f->bak, sizeof(f->bak), f->name) == -1 ||
		    linkat(d->fd, f->name, d->fd, f->bak, 0) == -1)
			f->bak[0] = '\0';
	}
	if (a->mode != ARTIFACT_MODE_NONE)
		mode = (mode_t)a->mode;
	mode &= 0777;	/* never set-id or sticky, whatever came in */
	if (fsx_temp_name(f->tmp, sizeof(f->tmp), f->name) == -1)
		return errbuf_set(eb, EC_WRITE, "write %s/%s: name too long",
		    d->show, f->name);
	if ((fd = openat(d->fd, f->tmp, O_WRONLY | O_CREAT | O_EXCL |
	    O_NOFOLLOW | O_CLOEXEC, 0600)) == -1) {
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
	if (o->apply_owner && (a->owner != NULL || a->group != NULL)) {
		if (resolve_owner(a, &uid, &gid, eb) == -1)
			goto out;
		if (fchown(fd, uid, gid) == -1) {
			errbuf_set(eb, EC_WRITE, "chown %s/%s: %s", d->show,
			    f->name, strerror(errno));
			goto out;
		}
	}
	/* After fchown, which may clear set-id bits. */
	if (fchmod(fd, mode) == -1 || fsync(fd) == -1) {
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

/*
 * Undoes the renames of files[0..n): each old file comes back from its
 * second name, each new one goes.  Only a crash between the renames, or a
 * file system without hard links, can leave a mixed set.
 */
static void
roll_back(struct install *in, size_t n)
{
	struct out_file *f;
	int dfd;

	while (n-- > 0) {
		f = &in->files[n];
		dfd = in->dirs[f->dir].fd;
		if (f->bak[0] != '\0') {
			if (renameat(dfd, f->bak, dfd, f->name) == 0)
				f->bak[0] = '\0';
		} else if (!f->existed)
			(void)unlinkat(dfd, f->name, 0);
	}
}

static void
install_cleanup(struct install *in, int failed)
{
	size_t i;

	for (i = 0; i < in->nfiles; i++) {
		if (failed && in->files[i].tmp[0] != '\0')
			(void)unlinkat(in->dirs[in->files[i].dir].fd,
			    in->files[i].tmp, 0);
		if (in->files[i].bak[0] != '\0')
			(void)unlinkat(in->dirs[in->files[i].dir].fd,
			    in->files[i].bak, 0);
	}
	for (i = 0; i < in->ndirs; i++) {
		close(in->dirs[i].fd);
		free(in->dirs[i].show);
	}
	for (i = in->ncreated; i > 0; i--) {
		if (failed)
			(void)rmdir(in->created[i - 1]);
		free(in->created[i - 1]);
	}
	free(in->created);
	free(in->dirs);
	strmap_release(&in->dirmap);
	free(in->files);
}

int
output_install(const struct artifact_set *set, const struct output_opts *o,
    struct errbuf *eb)
{
	struct install in;
	size_t i, k;
	int rc = -1;

	memset(&in, 0, sizeof(in));
	strmap_init(&in.dirmap);
	if (set->len == 0)
		return 0;
	if ((in.files = calloc(set->len, sizeof(*in.files))) == NULL)
		return errbuf_set(eb, EC_INTERNAL, "out of memory");
	if (o->out_dir != NULL && make_out_dir(&in, o->out_dir, eb) == -1)
		goto out;
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
	for (i = 0; i < in.nfiles; i++)
		if (stage(&in, &in.files[i], o, eb) == -1)
			goto out;
	for (i = 0; i < in.nfiles; i++) {
		struct out_file *f = &in.files[i];
		const struct out_dir *d = &in.dirs[f->dir];

		if (renameat(d->fd, f->tmp, d->fd, f->name) == -1) {
			errbuf_set(eb, EC_WRITE, "rename %s/%s: %s", d->show,
			    f->name, strerror(errno));
			roll_back(&in, i);
			goto out;
		}
		f->tmp[0] = '\0';
	}
	for (i = 0; i < in.ndirs; i++)
		(void)fsync(in.dirs[i].fd);
	rc = 0;
out:
	install_cleanup(&in, rc == -1);
	return rc;
}
