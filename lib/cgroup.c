/*
 * A cgroup v2 directory for one process tree: see cgroup.h.
 *
 * The directory is found as the kernel names it: the "0::PATH" line of
 * /proc/self/cgroup (relative to the cgroup2 mount's root) under the
 * cgroup2 mount point from /proc/self/mountinfo, which is /sys/fs/cgroup
 * on a unified system and /sys/fs/cgroup/unified on a hybrid one.
 */
#include "cgroup.h"

#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <linux/sched.h>

#include "errbuf.h"
#include "exitcode.h"
#include "banned.h"

#define LINE_MAX_BYTES	8192	/* of /proc/self/cgroup and mountinfo */
#define PROCS_MAX_BYTES	(1UL << 20)	/* of cgroup.procs read at once */
#define EMPTY_ROUNDS	200	/* of EMPTY_NAP_MS waiting for empty */
#define EMPTY_NAP_MS	10

/* Reads path whole into a malloc'ed string of at most max bytes. */
static char *
read_small(const char *path, size_t max)
{
	size_t len = 0;
	ssize_t n;
	char *s;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return NULL;
	if ((s = malloc(max + 1)) == NULL) {
		close(fd);
		return NULL;
	}
	while (len < max && (n = read(fd, s + len, max - len)) != 0) {
		if (n == -1) {
			if (errno == EINTR)
				continue;
			free(s);
			close(fd);
			return NULL;
		}
		len += (size_t)n;
	}
	close(fd);
	s[len] = '\0';
	return s;
}

/* Writes the string s to path; 0 or -1 with errno. */
static int
write_small(const char *path, const char *s)
{
	size_t len = strlen(s);
	ssize_t n;
	int fd, saved;

	if ((fd = open(path, O_WRONLY | O_CLOEXEC)) == -1)
		return -1;
	n = write(fd, s, len);
	saved = errno;
	close(fd);
	errno = saved;
	return n == (ssize_t)len ? 0 : -1;
}

/*
 * Finds the cgroup2 mount in mountinfo: "ID PARENT MAJ:MIN ROOT MOUNT
 * OPTIONS [TAGS...] - FSTYPE SOURCE SUPER".  Fills root and mnt; 0 or -1.
 */
static int
find_mount(char *root, size_t rootsize, char *mnt, size_t mntsize)
{
	char *info, *line, *next, *dash, *f[5];
	int i, found = 0;

	if ((info = read_small("/proc/self/mountinfo", 1UL << 20)) == NULL)
		return -1;
	for (line = info; line != NULL && *line != '\0' && !found;
	    line = next) {
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		if ((dash = strstr(line, " - ")) == NULL ||
		    strncmp(dash + 3, "cgroup2 ", 8) != 0)
			continue;
		f[0] = line;
		for (i = 1; i < 5; i++) {
			f[i] = strchr(f[i - 1], ' ');
			if (f[i] == NULL)
				break;
			*f[i]++ = '\0';
		}
		/* Escaped characters (\040): not a path this can use. */
		if (i < 5 || strchr(f[3], '\\') != NULL ||
		    strchr(f[4], '\\') != NULL)
			continue;
		*strchrnul(f[4], ' ') = '\0';
		i = snprintf(root, rootsize, "%s", f[3]);
		found = i > 0 && (size_t)i < rootsize;
		i = snprintf(mnt, mntsize, "%s", f[4]);
		found = found && i > 0 && (size_t)i < mntsize;
	}
	free(info);
	return found ? 0 : -1;
}

/* This process's cgroup v2 directory, in dir; 0 or -1 with eb. */
static int
find_own(char *dir, size_t size, struct errbuf *eb)
{
	char root[CGROUP_PATH_MAX], mnt[CGROUP_PATH_MAX], *self, *rel, *nl;
	size_t rootlen;
	int n;

	if ((self = read_small("/proc/self/cgroup", LINE_MAX_BYTES)) == NULL)
		return errbuf_set(eb, EC_INTERNAL, "/proc/self/cgroup: %s",
		    strerror(errno));
	if (strncmp(self, "0::", 3) == 0)
		rel = self + 3;
	else if ((rel = strstr(self, "\n0::")) != NULL)
		rel += 4;
	else {
		free(self);
		return errbuf_set(eb, EC_INTERNAL, "no cgroup v2 hierarchy");
	}
	if ((nl = strchr(rel, '\n')) != NULL)
		*nl = '\0';
	if (find_mount(root, sizeof(root), mnt, sizeof(mnt)) == -1) {
		free(self);
		return errbuf_set(eb, EC_INTERNAL, "no cgroup2 mount");
	}
	/* The path is relative to the hierarchy's root, the mount shows
	 * ROOT of it. */
	rootlen = strcmp(root, "/") == 0 ? 0 : strlen(root);
	if (rootlen > 0 && (strncmp(rel, root, rootlen) != 0 ||
	    (rel[rootlen] != '/' && rel[rootlen] != '\0'))) {
		free(self);
		return errbuf_set(eb, EC_INTERNAL, "own cgroup is not under "
		    "the cgroup2 mount");
	}
	rel += rootlen;
	if (strcmp(rel, "/") == 0)
		rel = "";
	n = snprintf(dir, size, "%s%s", mnt, rel);
	free(self);
	if (n < 0 || (size_t)n >= size)
		return errbuf_set(eb, EC_INTERNAL, "cgroup path too long");
	return 0;
}

/* dir/name into out[0..CGROUP_PATH_MAX); 0 or -1 (too long). */
static int
join(char *out, const char *dir, const char *name)
{
	int n = snprintf(out, CGROUP_PATH_MAX, "%s/%s", dir, name);

	return n < 0 || (size_t)n >= CGROUP_PATH_MAX ? -1 : 0;
}

/* cgroup_make and cgroup_open: mkdir it first when make is 1. */
static int
cgroup_get(struct cgroup *cg, const char *parent, const char *name,
    int make, struct errbuf *eb)
{
	char kill_path[CGROUP_PATH_MAX];

	memset(cg, 0, sizeof(*cg));
	cg->dirfd = -1;
	if (join(cg->path, parent, name) == -1 ||
	    join(cg->procs, cg->path, "cgroup.procs") == -1 ||
	    join(kill_path, cg->path, "cgroup.kill") == -1) {
		cg->path[0] = '\0';
		return errbuf_set(eb, EC_INTERNAL, "cgroup path too long");
	}
	if (make && mkdir(cg->path, 0755) == -1) {
		errbuf_set(eb, EC_INTERNAL, "mkdir %s: %s", cg->path,
		    strerror(errno));
		cg->path[0] = '\0';
		return -1;
	}
	if ((cg->dirfd = open(cg->path, O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) == -1 || access(cg->procs, W_OK) == -1) {
		errbuf_set(eb, EC_INTERNAL, "cgroup %s: %s", cg->path,
		    strerror(errno));
		if (cg->dirfd != -1)
			close(cg->dirfd);
		cg->dirfd = -1;
		if (make)
			(void)rmdir(cg->path);
		cg->path[0] = '\0';
		return -1;
	}
	cg->has_kill = access(kill_path, W_OK) == 0;
	return 0;
}

int
cgroup_make(struct cgroup *cg, const char *parent, const char *name,
    struct errbuf *eb)
{
	return cgroup_get(cg, parent, name, 1, eb);
}

int
cgroup_open(struct cgroup *cg, const char *parent, const char *name,
    struct errbuf *eb)
{
	return cgroup_get(cg, parent, name, 0, eb);
}

pid_t
cgroup_fork(const struct cgroup *cg)
{
	pid_t pid;
	int fd;

#if defined(SYS_clone3) && defined(CLONE_INTO_CGROUP)
	struct clone_args args;

	if (cg->no_clone3)
		goto join;
	memset(&args, 0, sizeof(args));
	args.flags = CLONE_INTO_CGROUP;
	args.exit_signal = SIGCHLD;
	args.cgroup = (uint64_t)cg->dirfd;
	if ((pid = (pid_t)syscall(SYS_clone3, &args, sizeof(args))) != -1)
		return pid;
	/* Older kernels: ENOSYS, E2BIG or EINVAL; fork and join below. */
join:
#endif
	if ((pid = fork()) != 0)
		return pid;
	/* The child: async-signal-safe calls only. */
	if ((fd = open(cg->procs, O_WRONLY | O_CLOEXEC)) == -1 ||
	    write(fd, "0", 1) != 1)
		_exit(127);
	close(fd);
	return 0;
}

int
cgroup_kill(const struct cgroup *cg)
{
	char path[CGROUP_PATH_MAX], *procs, *p, *end;
	long pid;

	if (cg->path[0] == '\0')
		return 0;
	if (cg->has_kill && join(path, cg->path, "cgroup.kill") == 0 &&
	    write_small(path, "1") == 0)
		return 0;
	if ((procs = read_small(cg->procs, PROCS_MAX_BYTES)) == NULL)
		return -1;
	for (p = procs; *p != '\0'; p = end) {
		pid = strtol(p, &end, 10);
		if (end == p)
			break;
		if (pid > 1)
			(void)kill((pid_t)pid, SIGKILL);
	}
	free(procs);
	return 0;
}

/* 1 when cgroup.events says populated 0, 0 when not, -1 unreadable. */
static int
is_empty(const struct cgroup *cg)
{
	char path[CGROUP_PATH_MAX], *ev;
	int empty;

	if (join(path, cg->path, "cgroup.events") == -1 ||
	    (ev = read_small(path, LINE_MAX_BYTES)) == NULL)
		return -1;
	empty = strstr(ev, "populated 0") != NULL;
	free(ev);
	return empty;
}

int
cgroup_remove(struct cgroup *cg, void (*reap)(void))
{
	int round, rc = -1;

	if (cg->path[0] == '\0')
		return 0;
	for (round = 0; round < EMPTY_ROUNDS; round++) {
		if (is_empty(cg) != 0 && rmdir(cg->path) == 0) {
			rc = 0;
			break;
		}
		(void)cgroup_kill(cg);
		if (reap != NULL)
			reap();
		nanosleep(&(struct timespec){ 0, EMPTY_NAP_MS * 1000000L },
		    NULL);
		if (reap != NULL)
			reap();
	}
	if (cg->dirfd != -1)
		close(cg->dirfd);
	cg->dirfd = -1;
	cg->path[0] = '\0';
	return rc;
}

int
cgroup_probe(char *dir, size_t size, struct errbuf *eb)
{
	struct cgroup cg;
	char name[64];
	pid_t pid;
	int status, n;

	if (find_own(dir, size, eb) == -1)
		return -1;
	if (access(dir, W_OK) == -1)
		return errbuf_set(eb, EC_INTERNAL, "%s: %s", dir,
		    strerror(errno));
	n = snprintf(name, sizeof(name), "cfgsync-probe-%ld", (long)getpid());
	if (n < 0 || (size_t)n >= sizeof(name))
		return errbuf_set(eb, EC_INTERNAL, "cgroup name too long");
	if (cgroup_make(&cg, dir, name, eb) == -1)
		return -1;
	/* A process moved in, as a run's will be, and out again by exit. */
	if ((pid = cgroup_fork(&cg)) == 0)
		_exit(0);
	status = -1;
	if (pid != -1)
		while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
			;
	if (cgroup_remove(&cg, NULL) == -1 && pid != -1 && status == 0)
		return errbuf_set(eb, EC_INTERNAL, "cgroup %s/%s: cannot be "
		    "removed", dir, name);
	if (pid == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return errbuf_set(eb, EC_INTERNAL, "cgroup %s: cannot move a "
		    "process into a child cgroup", dir);
	return 0;
}
