/*
 * Arrays: the one growth helper for arrays grown by hand (git's
 * ALLOC_GROW) and nitems() for the length of an array object.
 */
#ifndef CFGSYNC_ARRAY_H
#define CFGSYNC_ARRAY_H

#include <stddef.h>

/* The capacity an array gets on its first growth. */
#define ARRAY_GROW_MIN	4

/* The number of elements of the array object a (not a pointer). */
#ifndef nitems
#define nitems(a)	(sizeof(a) / sizeof((a)[0]))
#endif

/*
 * Makes the array a (a pointer lvalue, NULL at first) of cap elements (a
 * size_t lvalue) hold at least n elements: when n > cap, reallocates it to
 * twice cap, at least ARRAY_GROW_MIN and at least n.  Evaluates to 0, or
 * to -1 with errno ENOMEM (out of memory, or the size in bytes would
 * overflow), leaving a and cap as they were.  Evaluates its arguments more
 * than once.
 */
#define ARRAY_GROW(a, n, cap)						\
	((n) <= (cap) ? 0 :						\
	    ((a) = array_grow((a), sizeof(*(a)), (n), &(cap)),		\
	    (n) <= (cap) ? 0 : -1))

/*
 * What ARRAY_GROW calls: returns the grown array, with *cap set, or p
 * itself, *cap unchanged, when it cannot grow.
 */
void	*array_grow(void *p, size_t size, size_t n, size_t *cap);

#endif
