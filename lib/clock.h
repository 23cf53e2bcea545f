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

#define CLOCK_UTC_LEN	21	/* "2026-11-27T10:00:00Z" and its NUL */

/* Writes t as UTC in RFC 3339 ("2026-11-27T10:00:00Z") into out. */
void	clock_utc(time_t t, char out[CLOCK_UTC_LEN]);

/* Parses what clock_utc writes; 0, or -1 when s is not exactly that. */
int	clock_utc_parse(const char *s, time_t *out);

#endif
