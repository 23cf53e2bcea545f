/*
 * The monotonic clock: see clock.h.
 */
#include "clock.h"

#include <string.h>
#include <time.h>

#include "banned.h"

uint64_t
clock_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t
clock_ms(void)
{
	return clock_ns() / 1000000u;
}

int
clock_cond_init(pthread_cond_t *cond)
{
	pthread_condattr_t attr;
	int e;

	if ((e = pthread_condattr_init(&attr)) != 0)
		return e;
	if ((e = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC)) == 0)
		e = pthread_cond_init(cond, &attr);
	pthread_condattr_destroy(&attr);
	return e;
}

struct timespec
clock_deadline(uint64_t at_ns)
{
	struct timespec ts;

	ts.tv_sec = (time_t)(at_ns / 1000000000u);
	ts.tv_nsec = (long)(at_ns % 1000000000u);
	return ts;
}

void
clock_utc(time_t t, char out[CLOCK_UTC_LEN])
{
	struct tm tm;

	gmtime_r(&t, &tm);
	if (strftime(out, CLOCK_UTC_LEN, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		out[0] = '\0';		/* a year past 9999 */
}

int
clock_utc_parse(const char *s, time_t *out)
{
	struct tm tm;
	const char *end;

	memset(&tm, 0, sizeof(tm));
	if ((end = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm)) == NULL ||
	    *end != '\0')
		return -1;
	*out = timegm(&tm);
	return 0;
}
