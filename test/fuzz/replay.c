/*
 * A main for the fuzz targets without libFuzzer: calls
 * LLVMFuzzerTestOneInput once on the content of each file named on the
 * command line, so `make fuzz-replay` runs every corpus file and every
 * crash input with the normal compiler (and its sanitizers under
 * SANITIZE=1).  A target that finds a property broken aborts; a file that
 * cannot be read fails the run.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "errbuf.h"
#include "fsx.h"

#include "banned.h"

#define REPLAY_MAX	(64UL << 20)

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* Runs the target on path's bytes, from a copy of exactly their length. */
static int
replay(const char *path)
{
	struct buf b;
	struct errbuf eb;
	uint8_t *copy = NULL;
	int rc = -1;

	buf_init(&b, REPLAY_MAX);
	if (fsx_read_file(path, &b, &eb) == -1) {
		fprintf(stderr, "replay: %s\n", eb.msg);
		goto out;
	}
	/* Not b.data: its spare capacity would hide an overread. */
	if ((copy = malloc(b.len > 0 ? b.len : 1)) == NULL) {
		fprintf(stderr, "replay: %s: out of memory\n", path);
		goto out;
	}
	if (b.len > 0)
		memcpy(copy, b.data, b.len);
	(void)LLVMFuzzerTestOneInput(copy, b.len);
	rc = 0;
out:
	free(copy);
	buf_release(&b);
	return rc;
}

int
main(int argc, char **argv)
{
	int i;

	for (i = 1; i < argc; i++)
		if (replay(argv[i]) == -1)
			return 1;
	printf("replay: %s: %d input%s\n", argv[0], argc - 1,
	    argc == 2 ? "" : "s");
	return 0;
}
