/*
 * Unit tests for lib/array.h: ARRAY_GROW's growth steps, its refusal of a
 * size that overflows (array and capacity left as they were), nitems.
 */
#include "array.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "check.h"
#include "banned.h"

struct wide {
	char	bytes[1024];
};

int
main(int argc, char **argv)
{
	static const int six[6];
	struct wide *w = NULL, *before;
	size_t n, len = 0, cap = 0, bad = 0, wcap = 0;
	int *a = NULL;

	check_init(argc, argv);
	CHECK(nitems(six) == 6);
	CHECK(ARRAY_GROW(a, len, cap) == 0 && a == NULL && cap == 0);
	CHECK(ARRAY_GROW(a, 1, cap) == 0 && a != NULL);
	CHECK(cap == ARRAY_GROW_MIN);
	CHECK(ARRAY_GROW(a, ARRAY_GROW_MIN, cap) == 0 &&
	    cap == ARRAY_GROW_MIN);
	CHECK(ARRAY_GROW(a, ARRAY_GROW_MIN + 1, cap) == 0 &&
	    cap == 2 * ARRAY_GROW_MIN);
	/* A jump past twice the capacity gets what it asks for. */
	CHECK(ARRAY_GROW(a, 1000, cap) == 0 && cap == 1000);
	/* Every element up to the capacity is writable (ASan checks). */
	for (n = 0; n < 100000; n++) {
		if (ARRAY_GROW(a, len + 1, cap) == -1)
			bad++;
		a[len++] = (int)n;
	}
	CHECK(bad == 0 && cap >= len && len == 100000);
	for (n = 0; n < len; n++)
		if (a[n] != (int)n)
			bad++;
	CHECK(bad == 0);
	free(a);

	/* An element count whose byte size overflows is refused. */
	CHECK(ARRAY_GROW(w, 4, wcap) == 0 && wcap == ARRAY_GROW_MIN);
	before = w;
	errno = 0;
	CHECK(ARRAY_GROW(w, SIZE_MAX / sizeof(*w) + 1, wcap) == -1);
	CHECK(errno == ENOMEM);
	CHECK(w == before && wcap == ARRAY_GROW_MIN);
	free(w);
	return check_done("test_array");
}
