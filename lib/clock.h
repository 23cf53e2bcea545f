/*
 * The monotonic clock every timeout and back-off is measured on.
 */
#ifndef CFGSYNC_CLOCK_H
#define CFGSYNC_CLOCK_H

#include <stdint.h>

/* Milliseconds on CLOCK_MONOTONIC: for intervals, never for dates. */
uint64_t	clock_ms(void);

/* Nanoseconds on CLOCK_MONOTONIC. */
uint64_t	clock_ns(void);

#endif
