/*
 * The whole unit-test framework: CHECK counts a condition as passed or
 * failed and says which one failed; check_done prints the tally as
 * "NAME: N passed, N failed" and gives the exit status.  Tests that need
 * the wire vectors read them from the directory in argv[1], or from
 * test/vectors (the repository's copy) when run from the top of the tree.
 */
#ifndef CFGSYNC_TEST_CHECK_H
#define CFGSYNC_TEST_CHECK_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "buf.h"
#include "errbuf.h"
#include "fsx.h"

#define CHECK_VECTORS_DEFAULT	"test/vectors"
#define CHECK_PATH_MAX		4096

static int check_passed, check_failed;
static const char *check_vectors = CHECK_VECTORS_DEFAULT;

#define CHECK(cond) do {						\
	if (cond)							\
		check_passed++;						\
	else {								\
		check_failed++;						\
		fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__,	\
		    __LINE__, #cond);					\
	}								\
} while (0)

/* Like CHECK, for a string result, showing both sides on failure. */
#define CHECK_STR(got, want) do {					\
	const char *check_g = (got), *check_w = (want);			\
	if (check_g != NULL && strcmp(check_g, check_w) == 0)		\
		check_passed++;						\
	else {								\
		check_failed++;						\
		fprintf(stderr, "%s:%d: %s is \"%s\", want \"%s\"\n",	\
		    __FILE__, __LINE__, #got,				\
		    check_g != NULL ? check_g : "(null)", check_w);	\
	}								\
} while (0)

static inline void
check_init(int argc, char **argv)
{
	if (argc > 1)
		check_vectors = argv[1];
}

static inline int
check_done(const char *name)
{
	printf("%s: %d passed, %d failed\n", name, check_passed,
	    check_failed);
	return check_failed == 0 ? 0 : 1;
}

/* Reads the vector NAME into b (initialised here); exits when it cannot. */
static inline void
check_read_vector(const char *name, struct buf *b)
{
	char path[CHECK_PATH_MAX];
	struct errbuf eb;
	int n;

	buf_init(b, 1UL << 20);
	n = snprintf(path, sizeof(path), "%s/%s", check_vectors, name);
	if (n < 0 || (size_t)n >= sizeof(path) ||
	    fsx_read_file(path, b, &eb) == -1) {
		fprintf(stderr, "cannot read vector %s: %s\n", name,
		    n < 0 || (size_t)n >= sizeof(path) ? "path too long" :
		    eb.msg);
		exit(2);
	}
}

/* Returns 1 when the strings a and b hold the same JSON value, else 0. */
static inline int
check_json_eq(const char *a, const char *b)
{
	struct json_object *x, *y;
	int eq;

	x = json_tokener_parse(a);
	y = json_tokener_parse(b);
	eq = x != NULL && y != NULL && json_object_equal(x, y);
	json_object_put(x);
	json_object_put(y);
	return eq;
}

#endif
