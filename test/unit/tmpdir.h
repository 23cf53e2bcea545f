/*
 * Scratch directories for the unit tests that touch the file system: made
 * under $TMPDIR (or /tmp) and removed whole, links not followed.
 */
#ifndef CFGSYNC_TEST_TMPDIR_H
#define CFGSYNC_TEST_TMPDIR_H

#include <sys/stat.h>

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define TMPDIR_PATH_MAX	4096
#define TMPDIR_FDS	16

/* Makes a fresh directory, its path in dir; exits when it cannot. */
static inline void
tmpdir_make(char dir[TMPDIR_PATH_MAX], const char *name)
{
	const char *base = getenv("TMPDIR");
	int n;

	n = snprintf(dir, TMPDIR_PATH_MAX, "%s/cfgsync-%s-XXXXXX",
	    base != NULL && base[0] != '\0' ? base : "/tmp", name);
	if (n < 0 || n >= TMPDIR_PATH_MAX || mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		exit(2);
	}
}

static inline int
tmpdir_rm_one(const char *path, const struct stat *st, int type,
    struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (type == FTW_DP)
		(void)rmdir(path);
	else
		(void)unlink(path);
	return 0;
}

/* Removes dir and everything below it. */
static inline void
tmpdir_remove(const char *dir)
{
	(void)nftw(dir, tmpdir_rm_one, TMPDIR_FDS, FTW_DEPTH | FTW_PHYS);
}

#endif
