/*
 * The monotonic clock every timeout and back-off is measured on.
 */
#ifndef CFGSYNC_CLOCK_H
#define CFGSYNC_CLOCK_H

#include <pthread.h>
#include <stdint.h>
#include <time.h>

/* Milliseconds on CLOCK_MONOTONIC: for intervals, never for dates. */
uint64_t	clock_ms(void);

/* Nanoseconds on CLOCK_MONOTONIC. */
uint64_t	clock_ns(void);

/*
 * Initializes a condition variable whose timed waits count on
 * CLOCK_MONOTONIC, so they neither spin nor jump with the wall clock.
 * Returns 0 or an errno value.
 */
int	clock_cond_init(pthread_cond_t *);

/*
 * The absolute time for pthread_cond_timedwait on such a condition, at
 * at_ns on the clock of clock_ns().
 */
struct timespec clock_deadline(uint64_t at_ns);

#endif
