/*
 * File-system helpers: see fsx.h.
 */
#include "fsx.h"

#include <sys/random.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "errbuf.h"
#include "exitcode.h"
#include "banned.h"

#define FSX_READ_CHUNK	65536

int
fsx_read_file(const char *path, struct buf *b, struct errbuf *eb)
{
	char chunk[FSX_READ_CHUNK];
	ssize_t n;
	int fd, rc = -1;

	if (strcmp(path, "-") == 0)
		fd = STDIN_FILENO;
	else if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return errbuf_set(eb, EC_USAGE, "open %s: %s", path,
		    strerror(errno));
	for (;;) {
		if ((n = read(fd, chunk, sizeof(chunk))) == -1) {
			if (errno == EINTR)
				continue;
			errbuf_set(eb, EC_INVALID, "read %s: %s", path,
			    strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		if (buf_add(b, chunk, (size_t)n) == -1) {
			errbuf_set(eb, errno == ENOMEM ? EC_INTERNAL :
			    EC_INVALID, "read %s: over %zu bytes", path,
			    b->max);
			goto out;
		}
	}
	if (b->data == NULL && buf_add(b, "", 0) == -1) {
		errbuf_set(eb, EC_INTERNAL, "out of memory");
		goto out;
	}
	rc = 0;
out:
	if (fd != STDIN_FILENO)
		close(fd);
	return rc;
}

int
fsx_write_all(int fd, const void *data, size_t len)
{
	const char *p = data;
	ssize_t n;

	while (len > 0) {
		if ((n = write(fd, p, len)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

void
fsx_sync_parent(const char *path)
{
	char dir[FSX_PATH_MAX];
	const char *slash = strrchr(path, '/');
	int fd, n;

	if (slash == NULL)
		n = snprintf(dir, sizeof(dir), ".");
	else
		n = snprintf(dir, sizeof(dir), "%.*s",
		    slash == path ? 1 : (int)(slash - path), path);
	if (n < 0 || (size_t)n >= sizeof(dir))
		return;
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) != -1) {
		(void)fsync(fd);
		close(fd);
	}
}

int
fsx_temp_name(char *name, size_t size, const char *base)
{
	static const char alphabet[] =
	    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
	unsigned char rnd[6];
	char suffix[sizeof(rnd) + 1];
	size_t i;
	int n;

	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		return -1;
	for (i = 0; i < sizeof(rnd); i++)
		suffix[i] = alphabet[rnd[i] % (sizeof(alphabet) - 1)];
	suffix[sizeof(rnd)] = '\0';
	/* Keep the name under NAME_MAX whatever the length of base. */
	n = snprintf(name, size, ".%.*s.cfgsync-%s", FSX_TEMP_BASE_MAX, base,
	    suffix);
	return n < 0 || (size_t)n >= size ? -1 : 0;
}

int
fsx_is_temp_name(const char *name)
{
	static const char mark[] = ".cfgsync-";
	size_t len = strlen(name), i;
	const char *suf;

	if (name[0] != '.' || len < 1 + (sizeof(mark) - 1) + 6)
		return 0;
	suf = name + len - 6;
	if (memcmp(suf - (sizeof(mark) - 1), mark, sizeof(mark) - 1) != 0)
		return 0;
	for (i = 0; i < 6; i++)
		if (!((suf[i] >= 'a' && suf[i] <= 'z') ||
		    (suf[i] >= 'A' && suf[i] <= 'Z') ||
		    (suf[i] >= '0' && suf[i] <= '9')))
			return 0;
	return 1;
}

int
fsx_write_atomic_at(int dfd, const char *show, const char *name,
    const void *data, size_t len, mode_t mode, struct errbuf *eb)
{
	char tmp[FSX_TEMP_NAME_MAX];
	int fd, rc = -1;

	if (fsx_temp_name(tmp, sizeof(tmp), name) == -1)
		return errbuf_set(eb, EC_WRITE, "write %s/%s: name too long",
		    show, name);
	if ((fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC |
	    O_NOFOLLOW, mode)) == -1)
		return errbuf_set(eb, EC_WRITE, "create %s/%s: %s", show, tmp,
		    strerror(errno));
	if (fsx_write_all(fd, data, len) == -1 || fchmod(fd, mode) == -1 ||
	    fsync(fd) == -1) {
		errbuf_set(eb, EC_WRITE, "write %s/%s: %s", show, tmp,
		    strerror(errno));
		close(fd);
		goto out;
	}
	if (close(fd) == -1) {
		errbuf_set(eb, EC_WRITE, "write %s/%s: %s", show, tmp,
		    strerror(errno));
		goto out;
	}
	if (renameat(dfd, tmp, dfd, name) == -1) {
		errbuf_set(eb, EC_WRITE, "rename %s/%s: %s", show, name,
		    strerror(errno));
		goto out;
	}
	tmp[0] = '\0';
	if (fsync(dfd) == -1) {
		errbuf_set(eb, EC_WRITE, "sync %s: %s", show, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	if (tmp[0] != '\0')
		(void)unlinkat(dfd, tmp, 0);
	return rc;
}

int
fsx_write_atomic(const char *path, const void *data, size_t len, mode_t mode,
    struct errbuf *eb)
{
	char dir[FSX_PATH_MAX], base[FSX_NAME_MAX], tmpname[FSX_TEMP_NAME_MAX];
	char tmp[FSX_PATH_MAX + FSX_TEMP_NAME_MAX];
	char *d = NULL, *b = NULL;
	int fd = -1, created = 0, n, rc = -1;

	if ((d = strdup(path)) == NULL || (b = strdup(path)) == NULL) {
		errbuf_set(eb, EC_INTERNAL, "out of memory");
		goto out;
	}
	n = snprintf(dir, sizeof(dir), "%s", dirname(d));
	if (n < 0 || (size_t)n >= sizeof(dir) ||
	    (n = snprintf(base, sizeof(base), "%s", basename(b))) < 0 ||
	    (size_t)n >= sizeof(base) ||
	    fsx_temp_name(tmpname, sizeof(tmpname), base) == -1 ||
	    (n = snprintf(tmp, sizeof(tmp), "%s/%s", dir, tmpname)) < 0 ||
	    (size_t)n >= sizeof(tmp)) {
		errbuf_set(eb, EC_WRITE, "write %s: path too long", path);
		goto out;
	}
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC |
	    O_NOFOLLOW, mode)) == -1) {
		errbuf_set(eb, EC_WRITE, "create %s: %s", tmp, strerror(errno));
		goto out;
	}
	created = 1;
	if (fsx_write_all(fd, data, len) == -1 || fchmod(fd, mode) == -1 ||
	    fsync(fd) == -1) {
		errbuf_set(eb, EC_WRITE, "write %s: %s", tmp, strerror(errno));
		goto out;
	}
	if (close(fd) == -1) {
		fd = -1;
		errbuf_set(eb, EC_WRITE, "write %s: %s", tmp, strerror(errno));
		goto out;
	}
	fd = -1;
	if (rename(tmp, path) == -1) {
		errbuf_set(eb, EC_WRITE, "rename %s: %s", path,
		    strerror(errno));
		goto out;
	}
	created = 0;		/* renamed: nothing to clean up */
	fsx_sync_parent(path);
	rc = 0;
out:
	if (fd != -1)
		close(fd);
	if (created)
		(void)unlink(tmp);
	free(b);
	free(d);
	return rc;
}
