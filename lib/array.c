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
	/* reallocarray fails with ENOMEM when want * size overflows. */
	if ((np = reallocarray(p, want, size)) == NULL)
		return p;
	*cap = want;
	return np;
}
