/*
 * File-system helpers: a capped whole-file read and an atomic whole-file
 * write (temporary file in the same directory, fsync, rename, fsync of the
 * directory), so a reader sees the old file or the new one, never a part.
 */
#ifndef CFGSYNC_FSX_H
#define CFGSYNC_FSX_H

#include <stddef.h>
#include <sys/types.h>

struct buf;
struct errbuf;

/*
 * Appends the contents of path ("-" for stdin) to b, which caps the size.
 * Returns 0, or -1 with EC_USAGE (cannot open), EC_INVALID (over the cap,
 * or a read error) or EC_INTERNAL (out of memory).
 */
int	fsx_read_file(const char *path, struct buf *, struct errbuf *);

/*
 * Replaces path with data[0..len) atomically, with the given mode.
 * Returns 0, or -1 with EC_WRITE; no temporary file is left behind.
 */
int	fsx_write_atomic(const char *path, const void *data, size_t len,
	    mode_t mode, struct errbuf *);

/*
 * As fsx_write_atomic, for name in the directory dfd, which it also
 * fsyncs; names in messages are shown as show/name.
 */
int	fsx_write_atomic_at(int dfd, const char *show, const char *name,
	    const void *data, size_t len, mode_t mode, struct errbuf *);

/*
 * Makes the directory entry of path durable (fsync of its directory), for
 * a file just created or renamed.  Errors are ignored: it is a best effort
 * after the write itself succeeded.
 */
void	fsx_sync_parent(const char *path);

/* Writes all of data to fd, retrying short writes; 0 or -1 (errno). */
int	fsx_write_all(int fd, const void *data, size_t len);

/* The longest path the helpers build. */
#define FSX_PATH_MAX		4096
/* The longest file name, as NAME_MAX, plus its NUL. */
#define FSX_NAME_MAX		256
/* How much of base a temporary name keeps, so it stays under NAME_MAX. */
#define FSX_TEMP_BASE_MAX	200
/* The size a temporary name needs: ".", base, ".cfgsync-XXXXXX", NUL. */
#define FSX_TEMP_NAME_MAX	(1 + FSX_TEMP_BASE_MAX + 15 + 1)

/*
 * Fills name (size bytes, FSX_TEMP_NAME_MAX is always enough) with
 * ".BASE.cfgsync-XXXXXX", a temporary name for base in the same directory,
 * BASE cut to FSX_TEMP_BASE_MAX bytes; returns 0, or -1 when it does not
 * fit.
 */
int	fsx_temp_name(char *name, size_t size, const char *base);

/* Returns 1 when name has the form fsx_temp_name makes, else 0. */
int	fsx_is_temp_name(const char *name);

#endif
