/*
 * Unit tests for lib/fsx: the capped read (missing file, over the cap,
 * empty file), the atomic write (content, exact mode, replacement, no
 * temporary left behind, a failure that leaves the old file), the
 * temporary names, and the full write.
 */
#include "fsx.h"

#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "errbuf.h"
#include "exitcode.h"
#include "check.h"
#include "tmpdir.h"
#include "banned.h"

#define BIG	200000

static char dir[TMPDIR_PATH_MAX];

static void
path_in(char *out, size_t size, const char *name)
{
	int n = snprintf(out, size, "%s/%s", dir, name);

	if (n < 0 || (size_t)n >= size)
		abort();
}

/* Returns the number of entries of dir, "." and ".." aside. */
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
test_read(void)
{
	char p[TMPDIR_PATH_MAX];
	struct errbuf eb;
	struct buf b;
	int fd;

	path_in(p, sizeof(p), "missing");
	buf_init(&b, 100);
	CHECK(fsx_read_file(p, &b, &eb) == -1 && eb.code == EC_USAGE);
	CHECK(strstr(eb.msg, "open ") == eb.msg);
	buf_release(&b);

	/* An empty file reads as "", not NULL. */
	path_in(p, sizeof(p), "empty");
	CHECK((fd = open(p, O_WRONLY | O_CREAT | O_EXCL, 0644)) != -1);
	close(fd);
	buf_init(&b, 100);
	CHECK(fsx_read_file(p, &b, &eb) == 0);
	CHECK(b.data != NULL && b.len == 0 && b.data[0] == '\0');
	buf_release(&b);

	/* Exactly the cap is fine; one byte past it is refused. */
	path_in(p, sizeof(p), "ten");
	CHECK(fsx_write_atomic(p, "0123456789", 10, 0644, &eb) == 0);
	buf_init(&b, 10);
	CHECK(fsx_read_file(p, &b, &eb) == 0);
	CHECK_STR(b.data, "0123456789");
	buf_release(&b);
	buf_init(&b, 9);
	CHECK(fsx_read_file(p, &b, &eb) == -1 && eb.code == EC_INVALID);
	CHECK(strstr(eb.msg, "over 9 bytes") != NULL);
	buf_release(&b);

	/* A directory cannot be read. */
	buf_init(&b, 100);
	CHECK(fsx_read_file(dir, &b, &eb) == -1 && eb.code == EC_INVALID);
	buf_release(&b);
}

static void
test_write(void)
{
	char p[TMPDIR_PATH_MAX], *big;
	struct errbuf eb;
	struct stat st;
	struct buf b;
	mode_t old;
	size_t i;

	path_in(p, sizeof(p), "w");
	/* The mode is exact, whatever the umask. */
	old = umask(077);
	CHECK(fsx_write_atomic(p, "one\n", 4, 0644, &eb) == 0);
	umask(old);
	CHECK(stat(p, &st) == 0 && (st.st_mode & 07777) == 0644);
	CHECK(fsx_write_atomic(p, "two\n", 4, 0600, &eb) == 0);
	CHECK(stat(p, &st) == 0 && (st.st_mode & 07777) == 0600);
	buf_init(&b, 100);
	CHECK(fsx_read_file(p, &b, &eb) == 0);
	CHECK_STR(b.data, "two\n");
	buf_release(&b);

	/* Large content, NUL bytes included, comes back whole. */
	CHECK((big = malloc(BIG)) != NULL);
	for (i = 0; i < BIG; i++)
		big[i] = (char)(i % 251);
	CHECK(fsx_write_atomic(p, big, BIG, 0644, &eb) == 0);
	buf_init(&b, BIG);
	CHECK(fsx_read_file(p, &b, &eb) == 0);
	CHECK(b.len == BIG && memcmp(b.data, big, BIG) == 0);
	buf_release(&b);
	free(big);

	/* Nothing but the files written: no temporaries left. */
	CHECK(count_entries(dir) == 3);		/* empty, ten, w */

	/* Into a directory that does not exist: EC_WRITE, nothing made. */
	path_in(p, sizeof(p), "nodir/f");
	CHECK(fsx_write_atomic(p, "x", 1, 0644, &eb) == -1 &&
	    eb.code == EC_WRITE);
	CHECK(strstr(eb.msg, "create ") == eb.msg);
	CHECK(count_entries(dir) == 3);

	/* Over a directory: the rename fails, the temporary goes. */
	path_in(p, sizeof(p), "sub");
	CHECK(mkdir(p, 0755) == 0);
	CHECK(fsx_write_atomic(p, "x", 1, 0644, &eb) == -1 &&
	    eb.code == EC_WRITE);
	CHECK(strstr(eb.msg, "rename ") == eb.msg);
	CHECK(count_entries(dir) == 4);
	CHECK(count_entries(p) == 0);
	CHECK(rmdir(p) == 0);
	fsx_sync_parent(p);		/* best effort, never fails */
	fsx_sync_parent("no-slash");
}

static void
test_temp_name(void)
{
	char a[64], b[64], small[16], base[300], name[300];

	CHECK(fsx_temp_name(a, sizeof(a), "node.yaml") == 0);
	CHECK(fsx_temp_name(b, sizeof(b), "node.yaml") == 0);
	CHECK(strncmp(a, ".node.yaml.cfgsync-", 19) == 0 && strlen(a) == 25);
	CHECK(strcmp(a, b) != 0);	/* random suffixes */
	CHECK(fsx_temp_name(small, sizeof(small), "node.yaml") == -1);
	/* A long base is cut so the name stays under NAME_MAX. */
	memset(base, 'b', 299);
	base[299] = '\0';
	CHECK(fsx_temp_name(name, sizeof(name), base) == 0);
	CHECK(strlen(name) == FSX_TEMP_NAME_MAX - 1 && strlen(name) < 256);
	/* What fsx_temp_name makes is a temporary name, and little else. */
	CHECK(fsx_is_temp_name(a) && fsx_is_temp_name(name));
	CHECK(fsx_is_temp_name("..cfgsync-intent.cfgsync-aZ09xy"));
	CHECK(!fsx_is_temp_name(".cfgsync-intent"));
	CHECK(!fsx_is_temp_name("node.yaml.cfgsync-abcdef"));
	CHECK(!fsx_is_temp_name(".node.yaml.cfgsync-abcde"));
	CHECK(!fsx_is_temp_name(".node.yaml.cfgsync-abc-ef"));
	CHECK(!fsx_is_temp_name(".cfgsync-abcdef"));
	CHECK(!fsx_is_temp_name(""));
}

static void
test_write_at(void)
{
	char p[TMPDIR_PATH_MAX];
	struct errbuf eb;
	struct buf b;
	struct stat st;
	int dfd;

	path_in(p, sizeof(p), "at");
	CHECK(mkdir(p, 0755) == 0);
	CHECK((dfd = open(p, O_RDONLY | O_DIRECTORY)) != -1);
	CHECK(fsx_write_atomic_at(dfd, p, "rec", "one\n", 4, 0600, &eb) == 0);
	CHECK(fsx_write_atomic_at(dfd, p, "rec", "two\n", 4, 0600, &eb) == 0);
	CHECK(count_entries(p) == 1);
	path_in(p, sizeof(p), "at/rec");
	buf_init(&b, 100);
	CHECK(fsx_read_file(p, &b, &eb) == 0);
	CHECK_STR(b.data, "two\n");
	buf_release(&b);
	CHECK(stat(p, &st) == 0 && (st.st_mode & 07777) == 0600);
	/* A name that is a directory: the rename fails, no temporary left. */
	CHECK(mkdirat(dfd, "sub", 0755) == 0);
	CHECK(fsx_write_atomic_at(dfd, "at", "sub", "x", 1, 0600, &eb) == -1 &&
	    eb.code == EC_WRITE && strstr(eb.msg, "rename at/sub") != NULL);
	path_in(p, sizeof(p), "at");
	CHECK(count_entries(p) == 2);
	close(dfd);
}

static void
test_write_all(void)
{
	char p[TMPDIR_PATH_MAX];
	struct errbuf eb;
	struct buf b;
	int fd;

	path_in(p, sizeof(p), "all");
	CHECK((fd = open(p, O_WRONLY | O_CREAT | O_EXCL, 0644)) != -1);
	CHECK(fsx_write_all(fd, "abc", 3) == 0);
	CHECK(fsx_write_all(fd, "", 0) == 0);
	close(fd);
	buf_init(&b, 100);
	CHECK(fsx_read_file(p, &b, &eb) == 0);
	CHECK_STR(b.data, "abc");
	buf_release(&b);
	errno = 0;
	CHECK(fsx_write_all(-1, "abc", 3) == -1 && errno == EBADF);
}

int
main(int argc, char **argv)
{
	check_init(argc, argv);
	tmpdir_make(dir, "fsx");
	test_read();
	test_write();
	test_temp_name();
	test_write_at();
	test_write_all();
	tmpdir_remove(dir);
	return check_done("test_fsx");
}
