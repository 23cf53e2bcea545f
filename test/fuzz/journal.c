/*
 * The --state journal (lib/store_journal.c subscribe: its replay): the input is written
 * to a temporary file, opened as a journal and replayed.  Every record
 * handed on carries a checked identifier.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "errbuf.h"
#include "fsx.h"
#include "registration.h"
#include "store.h"

#include "fuzz.h"

#include "banned.h"

static char	 path[4096];

static void
cleanup(void)
{
	if (path[0] != '\0')
		(void)unlink(path);
}

/*
 * Creates the one file every input is written to, in $TMPDIR, else in
 * /dev/shm (rewriting a file on a disk file system flushes it at every
 * close: ten times slower), else in /tmp.
 */
static int
setup(void)
{
	const char *dir = getenv("TMPDIR");
	struct stat st;
	int fd, n;

	if (dir == NULL || dir[0] == '\0')
		dir = stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) &&
		    access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
	n = snprintf(path, sizeof(path), "%s/cfgsync-fuzz-journal.XXXXXX",
	    dir);
	if (n < 0 || (size_t)n >= sizeof(path))
		return -1;
	if ((fd = mkstemp(path)) == -1) {
		path[0] = '\0';
		return -1;
	}
	(void)close(fd);
	atexit(cleanup);
	return 0;
}

static void
apply(void *arg, const struct store_event *ev)
{
	struct errbuf eb;
	const char *id;

	if (ev->kind != STORE_EV_PUT && ev->kind != STORE_EV_DELETE)
		return;
	(*(size_t *)arg)++;
	if (ev->kind == STORE_EV_PUT) {
		FUZZ_ASSERT(ev->entry != NULL && ev->entry->reg != NULL);
		id = ev->entry->reg->identifier;
	} else
		id = ev->identifier;
	FUZZ_ASSERT(id != NULL);
	/* A delete's identifier is only read, never checked: count it. */
	if (ev->kind == STORE_EV_PUT)
		FUZZ_ASSERT(registration_identifier_check(id, strlen(id),
		    &eb) == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct store *s;
	struct errbuf eb;
	size_t n = 0;
	int fd;

	if (path[0] == '\0' && setup() == -1)
		abort();
	if ((fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC)) == -1)
		abort();
	if (fsx_write_all(fd, data, size) == -1)
		abort();
	(void)close(fd);
	if ((s = store_journal_open(path, &eb)) == NULL)
		abort();
	if (s->ops->subscribe(s, apply, &n, &eb) == 0)
		FUZZ_ASSERT(s->records == n);
	s->ops->free(s);
	return 0;
}
