/*
 * Unit tests for lib/output (the installer), in a scratch directory:
 * files and missing directories made with their modes, whatever the
 * umask; an existing file's mode kept; set-id bits dropped; all or
 * nothing (a failure leaves old files as they were and removes what was
 * made); routes, and two files routed to one place; and under --out, no
 * write carried outside through a symlinked directory or a symlinked file.
 * Then the incremental write (unchanged files keep inode and mtime), the
 * recovery from a killed run (an intent record rolled forward, its
 * temporaries removed), many directories under a small open-file limit,
 * and the checks.
 */
#include "output.h"

#include <sys/resource.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "artifacts.h"
#include "buf.h"
#include "errbuf.h"
#include "exitcode.h"
#include "fsx.h"
#include "check.h"
#include "tmpdir.h"
#include "banned.h"

static char dir[TMPDIR_PATH_MAX];

/* Returns dir/name in a static buffer (one of four, round robin). */
static const char *
at(const char *name)
{
	static char paths[4][TMPDIR_PATH_MAX];
	static int next;
	char *p = paths[next++ % 4];
	int n = snprintf(p, TMPDIR_PATH_MAX, "%s/%s", dir, name);

	if (n < 0 || n >= TMPDIR_PATH_MAX)
		abort();
	return p;
}

/* Writes dir/name into p, for a path that must outlive at()'s buffers. */
static const char *
keep(char p[TMPDIR_PATH_MAX], const char *name)
{
	int n = snprintf(p, TMPDIR_PATH_MAX, "%s/%s", dir, name);

	if (n < 0 || n >= TMPDIR_PATH_MAX)
		abort();
	return p;
}

static void
add(struct artifact_set *set, const char *path, const char *content,
    int mode)
{
	struct errbuf eb;

	if (artifact_set_add_copy(set, path, content, strlen(content), mode,
	    &eb) == -1)
		abort();
}

/* Returns 1 when path holds exactly content. */
static int
holds(const char *path, const char *content)
{
	struct errbuf eb;
	struct buf b;
	int ok;

	buf_init(&b, 1UL << 20);
	ok = fsx_read_file(path, &b, &eb) == 0 &&
	    strcmp(b.data, content) == 0;
	buf_release(&b);
	return ok;
}

static int
mode_of(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0 ? (int)(st.st_mode & 07777) : -1;
}

/* The number of entries of d, "." and ".." aside, or -1. */
static int
count_entries(const char *d)
{
	struct dirent *e;
	DIR *dp;
	int n = 0;

	if ((dp = opendir(d)) == NULL)
		return -1;
	while ((e = readdir(dp)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			n++;
	closedir(dp);
	return n;
}

static void
test_install_out(void)
{
	char out[TMPDIR_PATH_MAX];
	struct output_opts o = { 0 };
	struct artifact_set set;
	struct errbuf eb;
	mode_t old;

	artifact_set_init(&set);
	add(&set, "/etc/node.yaml", "id: a\n", ARTIFACT_MODE_NONE);
	add(&set, "etc/app/secret", "s3cret\n", 0600);
	add(&set, "/usr/local/bin/run", "#!/bin/sh\n", 04755);
	add(&set, "/top", "top\n", ARTIFACT_MODE_NONE);
	o.out_dir = keep(out, "out/deeper");
	old = umask(077);
	CHECK(output_install(&set, &o, &eb) == 0);
	umask(old);
	CHECK(holds(at("out/deeper/etc/node.yaml"), "id: a\n"));
	CHECK(holds(at("out/deeper/etc/app/secret"), "s3cret\n"));
	CHECK(holds(at("out/deeper/top"), "top\n"));
	CHECK(mode_of(at("out/deeper/etc/node.yaml")) == 0644);
	CHECK(mode_of(at("out/deeper/etc/app/secret")) == 0600);
	/* Never set-id, whatever came in. */
	CHECK(mode_of(at("out/deeper/usr/local/bin/run")) == 0755);
	/* Directories it makes are 0755 under any umask (SPEC 6). */
	CHECK(mode_of(at("out")) == 0755);
	CHECK(mode_of(at("out/deeper")) == 0755);
	CHECK(mode_of(at("out/deeper/etc/app")) == 0755);
	CHECK(mode_of(at("out/deeper/usr/local/bin")) == 0755);
	CHECK(count_entries(at("out/deeper/etc")) == 2);  /* no temporaries */

	/* Again, new content: an existing file keeps its mode. */
	CHECK(chmod(at("out/deeper/etc/node.yaml"), 0640) == 0);
	artifact_set_release(&set);
	add(&set, "/etc/node.yaml", "id: b\n", ARTIFACT_MODE_NONE);
	CHECK(output_install(&set, &o, &eb) == 0);
	CHECK(holds(at("out/deeper/etc/node.yaml"), "id: b\n"));
	CHECK(mode_of(at("out/deeper/etc/node.yaml")) == 0640);
	artifact_set_release(&set);

	/* An empty set writes nothing, and makes no --out. */
	o.out_dir = keep(out, "never");
	CHECK(output_install(&set, &o, &eb) == 0);
	CHECK(access(at("never"), F_OK) == -1 && errno == ENOENT);
}

static void
test_all_or_nothing(void)
{
	char out[TMPDIR_PATH_MAX], longname[300];
	struct output_opts o = { 0 };
	struct artifact_set set;
	struct errbuf eb;

	CHECK(mkdir(at("aon"), 0755) == 0);
	CHECK(fsx_write_atomic(at("aon/keep"), "old\n", 4, 0644, &eb) == 0);
	CHECK(mkdir(at("aon/dir"), 0755) == 0);
	artifact_set_init(&set);
	add(&set, "/keep", "new\n", ARTIFACT_MODE_NONE);
	add(&set, "/fresh/a/b", "b\n", ARTIFACT_MODE_NONE);
	add(&set, "/dir", "a directory is there\n", ARTIFACT_MODE_NONE);
	o.out_dir = keep(out, "aon");
	CHECK(output_install(&set, &o, &eb) == -1 && eb.code == EC_WRITE);
	CHECK(strstr(eb.msg, "is a directory") != NULL);
	/* The old file as it was; what was made is gone. */
	CHECK(holds(at("aon/keep"), "old\n"));
	CHECK(access(at("aon/fresh"), F_OK) == -1);
	CHECK(count_entries(at("aon")) == 2);	/* keep, dir */
	CHECK(count_entries(at("aon/dir")) == 0);

	/* And --out itself, when it made it. */
	artifact_set_release(&set);
	add(&set, "/fresh/a/b", "b\n", ARTIFACT_MODE_NONE);
	memset(longname, 'n', sizeof(longname) - 1);
	longname[0] = '/';
	longname[sizeof(longname) - 1] = '\0';
	add(&set, longname, "too long a name\n", ARTIFACT_MODE_NONE);
	o.out_dir = keep(out, "aon2/sub");
	CHECK(output_install(&set, &o, &eb) == -1 && eb.code == EC_WRITE);
	CHECK(strncmp(eb.msg, longname + 1, 16) == 0);
	CHECK(access(at("aon2"), F_OK) == -1 && errno == ENOENT);
	artifact_set_release(&set);
}

static void
test_routes(void)
{
	char out[TMPDIR_PATH_MAX], tgt[2][TMPDIR_PATH_MAX];
	struct output_route routes[2];
	struct output_opts o = { 0 };
	struct artifact_set set;
	struct errbuf eb;

	CHECK(mkdir(at("routed"), 0755) == 0);
	artifact_set_init(&set);
	add(&set, "/etc/a.conf", "a\n", ARTIFACT_MODE_NONE);
	add(&set, "/etc/b.conf", "b\n", ARTIFACT_MODE_NONE);
	/* Matched with or without the leading "/". */
	routes[0].artifact = "etc/a.conf";
	routes[0].target = keep(tgt[0], "routed/x/a.conf");
	o.out_dir = keep(out, "rest");
	o.routes = routes;
	o.nroutes = 1;
	CHECK(output_install(&set, &o, &eb) == 0);
	CHECK(holds(at("routed/x/a.conf"), "a\n"));
	CHECK(holds(at("rest/etc/b.conf"), "b\n"));
	CHECK(access(at("rest/etc/a.conf"), F_OK) == -1);

	/* Two files routed to one place: refused, nothing written. */
	routes[1].artifact = "/etc/b.conf";
	routes[1].target = keep(tgt[1], "routed/x/a.conf");
	o.nroutes = 2;
	o.out_dir = keep(out, "rest2");
	CHECK(output_install(&set, &o, &eb) == -1 && eb.code == EC_INVALID);
	CHECK(strstr(eb.msg, "both go to") != NULL);
	CHECK(access(at("rest2"), F_OK) == -1);
	CHECK(holds(at("routed/x/a.conf"), "a\n"));
	artifact_set_release(&set);
}

static void
test_unsafe(void)
{
	char out[TMPDIR_PATH_MAX];
	struct output_opts o = { 0 };
	struct artifact_set set;
	struct errbuf eb;

	CHECK(mkdir(at("outside"), 0755) == 0);
	CHECK(fsx_write_atomic(at("outside/target"), "untouched\n", 10, 0644,
	    &eb) == 0);
	CHECK(mkdir(at("jail"), 0755) == 0);
	CHECK(symlink(at("outside"), at("jail/etc")) == 0);
	artifact_set_init(&set);
	add(&set, "/etc/target", "owned\n", ARTIFACT_MODE_NONE);
	o.out_dir = keep(out, "jail");
	/* A symlinked directory under --out is not followed. */
	CHECK(output_install(&set, &o, &eb) == -1 && eb.code == EC_WRITE);
	CHECK(strstr(eb.msg, "unsafe path") != NULL);
	CHECK(holds(at("outside/target"), "untouched\n"));
	CHECK(count_entries(at("outside")) == 1);

	/* A symlinked file is replaced, not written through. */
	CHECK(unlink(at("jail/etc")) == 0);
	CHECK(mkdir(at("jail/etc"), 0755) == 0);
	CHECK(symlink(at("outside/target"), at("jail/etc/target")) == 0);
	CHECK(output_install(&set, &o, &eb) == 0);
	CHECK(holds(at("outside/target"), "untouched\n"));
	CHECK(holds(at("jail/etc/target"), "owned\n"));
	CHECK(mode_of(at("jail/etc/target")) == 0644);	/* a plain file */
	artifact_set_release(&set);
}

static void
test_unchanged(void)
{
	char out[TMPDIR_PATH_MAX];
	struct output_result res;
	struct output_opts o = { 0 };
	struct artifact_set set;
	struct errbuf eb;
	struct stat a1, a2, b1, b2;
	struct timespec old[2] = { { 1000000000, 0 }, { 1000000000, 0 } };

	artifact_set_init(&set);
	add(&set, "a", "same\n", ARTIFACT_MODE_NONE);
	add(&set, "b", "new b\n", ARTIFACT_MODE_NONE);
	add(&set, "c", "c\n", 0600);
	o.out_dir = keep(out, "inc");
	o.result = &res;
	CHECK(output_install(&set, &o, &eb) == 0);
	CHECK(res.written == 3 && res.unchanged == 0);
	CHECK(utimensat(AT_FDCWD, at("inc/a"), old, 0) == 0);
	CHECK(stat(at("inc/a"), &a1) == 0);
	CHECK(chmod(at("inc/c"), 0644) == 0);
	set.files[1].content[0] = 'N';
	CHECK(stat(at("inc/b"), &b1) == 0);
	CHECK(output_install(&set, &o, &eb) == 0);
	/* b's content and c's mode changed; a is left alone. */
	CHECK(res.written == 2 && res.unchanged == 1);
	CHECK(stat(at("inc/a"), &a2) == 0);
	CHECK(a1.st_ino == a2.st_ino && a2.st_mtime == 1000000000);
	CHECK(stat(at("inc/b"), &b2) == 0 && b1.st_ino != b2.st_ino);
	CHECK(holds(at("inc/b"), "New b\n"));
	CHECK(mode_of(at("inc/c")) == 0600);
	CHECK(output_install(&set, &o, &eb) == 0);
	CHECK(res.written == 0 && res.unchanged == 3);
	CHECK(count_entries(at("inc")) == 3);
	artifact_set_release(&set);
}

/* Writes len bytes of data to path, created 0644. */
static void
put(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	if (fd == -1 || write(fd, data, len) != (ssize_t)len || close(fd) == -1)
		abort();
}

static void
test_recovery(void)
{
	static const char rec[] = "cfgsync-intent 1\n"
	    "MRsub\0.x.cfgsync-AAAAAA\0x\0"
	    "MR\0.y.cfgsync-BBBBBB\0y\0"
	    "SRgone\0";
	char out[TMPDIR_PATH_MAX];
	struct output_result res;
	struct output_opts o = { 0 };
	struct artifact_set set;
	struct errbuf eb;
	struct buf b;

	buf_init(&b, 1UL << 20);
	/* What a run killed between its renames leaves. */
	CHECK(mkdir(at("rec"), 0755) == 0 && mkdir(at("rec/sub"), 0755) == 0);
	put(at("rec/sub/x"), "old x\n", 6);
	put(at("rec/sub/.x.cfgsync-AAAAAA"), "new x\n", 6);
	put(at("rec/y"), "new y\n", 6);	/* renamed before the kill */
	put(at("rec/sub/.x.cfgsync-CCCCCC"), "bak\n", 4);
	put(at("rec/.cfgsync-intent"), rec, sizeof(rec) - 1);
	artifact_set_init(&set);
	add(&set, "other", "o\n", ARTIFACT_MODE_NONE);
	o.out_dir = keep(out, "rec");
	o.result = &res;
	CHECK(output_install(&set, &o, &eb) == 0);
	CHECK(res.replayed == 1 && res.removed == 1 && res.written == 1);
	CHECK(holds(at("rec/sub/x"), "new x\n"));
	CHECK(holds(at("rec/y"), "new y\n"));
	CHECK(count_entries(at("rec/sub")) == 1);
	CHECK(count_entries(at("rec")) == 3);	/* sub, y, other */

	/* A routed file's entry names its directory by absolute path. */
	CHECK(mkdir(at("rtd"), 0755) == 0);
	put(at("rtd/.r.cfgsync-DDDDDD"), "new r\n", 6);
	b.len = 0;
	CHECK(buf_add(&b, "cfgsync-intent 1\nMA", 19) == 0 &&
	    buf_add(&b, at("rtd"), strlen(at("rtd")) + 1) == 0 &&
	    buf_add(&b, ".r.cfgsync-DDDDDD\0r", 20) == 0);
	put(at("rec/.cfgsync-intent"), b.data, b.len);
	CHECK(output_install(&set, &o, &eb) == 0 && res.replayed == 1);
	CHECK(holds(at("rtd/r"), "new r\n"));
	CHECK(count_entries(at("rtd")) == 1);

	/* A record that is not one is refused, and nothing written. */
	put(at("rec/.cfgsync-intent"), "junk\n", 5);
	set.files[0].content[0] = 'O';
	CHECK(output_install(&set, &o, &eb) == -1 && eb.code == EC_WRITE);
	CHECK(strstr(eb.msg, "not an intent record") != NULL);
	CHECK(holds(at("rec/other"), "o\n"));
	artifact_set_release(&set);
	buf_release(&b);
}

static void
test_many_dirs(void)
{
	char out[TMPDIR_PATH_MAX], path[64], content[16];
	struct output_opts o = { 0 };
	struct artifact_set set;
	struct errbuf eb;
	struct rlimit rl, low;
	int i;

	artifact_set_init(&set);
	for (i = 0; i < 300; i++) {
		CHECK(snprintf(path, sizeof(path), "d%03d/f", i) > 0);
		CHECK(snprintf(content, sizeof(content), "%d\n", i) > 0);
		add(&set, path, content, ARTIFACT_MODE_NONE);
	}
	o.out_dir = keep(out, "many");
	CHECK(getrlimit(RLIMIT_NOFILE, &rl) == 0);
	low = rl;
	low.rlim_cur = 100;
	CHECK(setrlimit(RLIMIT_NOFILE, &low) == 0);
	CHECK(output_install(&set, &o, &eb) == 0);
	CHECK(setrlimit(RLIMIT_NOFILE, &rl) == 0);
	CHECK(holds(at("many/d299/f"), "299\n"));
	CHECK(count_entries(at("many")) == 300);
	artifact_set_release(&set);
}

static void
test_checks(void)
{
	char out[TMPDIR_PATH_MAX], cmd[TMPDIR_PATH_MAX * 2];
	struct output_result res;
	struct output_opts o = { 0 };
	struct artifact_set set;
	struct errbuf eb;
	int n;

	artifact_set_init(&set);
	add(&set, "a b", "good\n", ARTIFACT_MODE_NONE);
	add(&set, "d/c", "good\n", ARTIFACT_MODE_NONE);
	o.out_dir = keep(out, "chk");
	o.result = &res;
	o.check_cmd = "grep -qx good {}";
	CHECK(output_install(&set, &o, &eb) == 0 && res.written == 2);
	set.files[1].content[0] = 'b';
	set.files[0].content[1] = 'x';
	CHECK(output_install(&set, &o, &eb) == -1 && eb.code == EC_INVALID);
	CHECK(strstr(eb.msg, "exit 1") != NULL);
	CHECK(holds(at("chk/a b"), "good\n") && holds(at("chk/d/c"), "good\n"));
	CHECK(count_entries(at("chk")) == 2 && count_entries(at("chk/d")) == 1);
	/* The layout: every file at its place under {}. */
	o.check_cmd = NULL;
	CHECK(snprintf(cmd, sizeof(cmd), "test -f {}/'a b' && cp {}/d/c %s",
	    at("copied")) > 0);
	o.check_dir_cmd = cmd;
	o.tmpdir = dir;
	n = count_entries(dir);
	CHECK(output_install(&set, &o, &eb) == 0 && res.written == 2);
	CHECK(holds(at("copied"), "bood\n"));
	/* "copied", and no cfgsync-check-* left. */
	CHECK(count_entries(dir) == n + 1);
	o.check_dir_cmd = "sleep 5";
	o.check_timeout = 1;
	set.files[0].content[0] = 'z';
	CHECK(output_install(&set, &o, &eb) == -1 && eb.code == EC_INVALID);
	CHECK(strstr(eb.msg, "timed out") != NULL);
	CHECK(holds(at("chk/a b"), "gxod\n"));
	artifact_set_release(&set);
}

int
main(int argc, char **argv)
{
	check_init(argc, argv);
	tmpdir_make(dir, "output");
	test_install_out();
	test_all_or_nothing();
	test_routes();
	test_unsafe();
	test_unchanged();
	test_recovery();
	test_many_dirs();
	test_checks();
	tmpdir_remove(dir);
	return check_done("test_output");
}
