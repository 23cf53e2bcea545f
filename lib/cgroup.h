/*
 * A cgroup v2 directory of its own for one process tree (Linux): the
 * materializer runs in one, so its whole tree, daemons that left its
 * session included, is killed at the end of the run (cgroup.kill, or
 * SIGKILL of every pid in cgroup.procs until it is empty) and the
 * directory removed.  The child cgroup enables no controllers, so the
 * "no internal processes" rule of cgroup v2 does not stand in the way of
 * a parent that holds processes itself.
 */
#ifndef CFGSYNC_CGROUP_H
#define CFGSYNC_CGROUP_H

#include <sys/types.h>

#include <limits.h>
#include <stddef.h>

struct errbuf;

#define CGROUP_PATH_MAX	PATH_MAX

struct cgroup {
	char	path[CGROUP_PATH_MAX];	/* the directory */
	char	procs[CGROUP_PATH_MAX];	/* its cgroup.procs */
	int	dirfd;			/* for CLONE_INTO_CGROUP; -1: none */
	int	has_kill;		/* cgroup.kill exists (Linux 5.14) */
	int	no_clone3;		/* fork and join, as before 5.7 */
};

/*
 * Finds the cgroup v2 directory of this process (from /proc/self/cgroup
 * and the cgroup2 mount in /proc/self/mountinfo) and checks that a child
 * cgroup can be made and removed in it.  Returns 0 with the directory in
 * dir[0..size), or -1 with EC_INTERNAL saying why not (no cgroup v2,
 * not writable, ...).
 */
int	cgroup_probe(char *dir, size_t size, struct errbuf *);

/*
 * Makes the cgroup parent/name and opens it.  Returns 0, or -1 with
 * EC_INTERNAL (cg is then unused: cgroup_remove is harmless on it).
 */
int	cgroup_make(struct cgroup *, const char *parent, const char *name,
	    struct errbuf *);

/* Opens the cgroup parent/name, which exists, as cgroup_make does. */
int	cgroup_open(struct cgroup *, const char *parent, const char *name,
	    struct errbuf *);

/*
 * Forks a child that starts in the cgroup: clone3 with CLONE_INTO_CGROUP
 * (Linux 5.7), else fork and the child writes itself to cgroup.procs
 * before it returns (_exit 127 if it cannot).  As fork: 0 in the child,
 * the pid in the parent, -1 with errno.  The child may call only
 * async-signal-safe functions.
 */
pid_t	cgroup_fork(const struct cgroup *);

/*
 * Sends SIGKILL to every process in the cgroup: cgroup.kill where the
 * kernel has it, else each pid in cgroup.procs.  Returns 0 or -1.
 */
int	cgroup_kill(const struct cgroup *);

/*
 * Kills what is left, waits (at most about two seconds) until the cgroup
 * is empty, reaping with reap() between rounds, and removes it.  Returns
 * 0, or -1 when it stayed populated or could not be removed.  Accepts a
 * cgroup cgroup_make failed on.
 */
int	cgroup_remove(struct cgroup *, void (*reap)(void));

#endif
