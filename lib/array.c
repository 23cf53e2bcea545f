/*
 * Array growth: see array.h.
 */
#include "array.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "banned.h"

void *
array_grow(void *p, size_t size, size_t n, size_t *cap)
{
	size_t want;
	void *np;

	want = *cap < ARRAY_GROW_MIN ? ARRAY_GROW_MIN :
	    *cap <= SIZE_MAX / 2 ? *cap * 2 : SIZE_MAX;
	if (want < n)
		want = n;
	/* The bytes must fit in a size_t: doubling stops at the limit. */
	if (size > 0 && want > SIZE_MAX / size)
		want = SIZE_MAX / size;
	if (want < n) {
		errno = ENOMEM;
		return p;
	}
	if ((np = reallocarray(p, want, size)) == NULL)
		return p;
	*cap = want;
	return np;
}
