/*
 * Unit tests for lib/cgroup.c, where this process may make a cgroup v2
 * child of its own (else each test is skipped, and says so): a child
 * forked into it (by clone3, and by fork and join) is in it and only in
 * it; killing it ends every process in it, by cgroup.kill and by the
 * pids of cgroup.procs; removing it leaves no directory.
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cgroup.h"
#include "errbuf.h"
#include "check.h"
#include "banned.h"

static char parent[CGROUP_PATH_MAX];

/* The "0::" line of pid's /proc/PID/cgroup, newline cut, in out. */
static int
cgroup_of(pid_t pid, char *out, size_t size)
{
	char path[64], text[4096], *nl;
	ssize_t n;
	int fd;

	(void)snprintf(path, sizeof(path), "/proc/%ld/cgroup", (long)pid);
	if ((fd = open(path, O_RDONLY)) == -1)
		return -1;
	n = read(fd, text, sizeof(text) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	text[n] = '\0';
	if ((nl = strstr(text, "0::")) == NULL)
		return -1;
	if (strchr(nl, '\n') != NULL)
		*strchr(nl, '\n') = '\0';
	(void)snprintf(out, size, "%s", nl + 3);
	return 0;
}

/*
 * Forks n children into a fresh cgroup (each sleeping until killed),
 * then kills and removes it as has_kill says.
 */
static void
test_tree(int no_clone3, int has_kill)
{
	char name[64], where[CGROUP_PATH_MAX];
	struct cgroup cg;
	struct errbuf eb;
	struct stat st;
	pid_t pid[3];
	size_t i, len;
	int status, ready[2];
	char c;

	(void)snprintf(name, sizeof(name), "cfgsync-test-%ld-%d%d",
	    (long)getpid(), no_clone3, has_kill);
	CHECK(cgroup_make(&cg, parent, name, &eb) == 0);
	cg.no_clone3 = no_clone3;
	CHECK(pipe(ready) == 0);
	for (i = 0; i < 3; i++) {
		if ((pid[i] = cgroup_fork(&cg)) == 0) {
			/* In: by fork and join, only now. */
			(void)write(ready[1], "x", 1);
			for (;;)
				pause();
		}
		CHECK(pid[i] > 0);
	}
	for (i = 0; i < 3; i++)
		CHECK(read(ready[0], &c, 1) == 1);
	close(ready[0]);
	close(ready[1]);
	/* Each child is in the new cgroup, this process is not. */
	len = strlen(name);
	for (i = 0; i < 3; i++) {
		CHECK(cgroup_of(pid[i], where, sizeof(where)) == 0);
		CHECK(strlen(where) > len && strcmp(where + strlen(where) -
		    len, name) == 0);
	}
	CHECK(cgroup_of(getpid(), where, sizeof(where)) == 0);
	CHECK(strstr(where, name) == NULL);
	if (!has_kill)
		cg.has_kill = 0;	/* as before Linux 5.14 */
	(void)snprintf(where, sizeof(where), "%s", cg.path);
	CHECK(cgroup_remove(&cg, NULL) == 0);
	for (i = 0; i < 3; i++) {
		CHECK(waitpid(pid[i], &status, 0) == pid[i]);
		CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	}
	CHECK(stat(where, &st) == -1 && errno == ENOENT);
	/* Harmless on a removed one. */
	CHECK(cgroup_remove(&cg, NULL) == 0);
	CHECK(cgroup_kill(&cg) == 0);
}

/* A cgroup that cannot be made leaves nothing to remove. */
static void
test_bad_parent(void)
{
	struct cgroup cg;
	struct errbuf eb;

	CHECK(cgroup_make(&cg, "/nonexistent/cgroup", "x", &eb) == -1);
	CHECK(strstr(eb.msg, "mkdir /nonexistent/cgroup/x") != NULL);
	CHECK(cgroup_remove(&cg, NULL) == 0);
}

int
main(int argc, char **argv)
{
	struct errbuf eb;

	check_init(argc, argv);
	test_bad_parent();
	if (cgroup_probe(parent, sizeof(parent), &eb) == -1) {
		printf("test_cgroup: no cgroup (%s): skipped\n", eb.msg);
		return check_done("test_cgroup");
	}
	test_tree(0, 1);
	test_tree(1, 1);
	test_tree(0, 0);
	test_tree(1, 0);
	return check_done("test_cgroup");
}
