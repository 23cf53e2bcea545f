/*
 * The one Prometheus text writer (exposition format 0.0.4) every /metrics
 * page is made with: a family line pair (HELP and TYPE) before its samples,
 * label values escaped, and histograms of durations on one fixed set of
 * buckets, observed lock-free from any thread.
 */
#ifndef CFGSYNC_PROM_H
#define CFGSYNC_PROM_H

#include <stddef.h>
#include <stdint.h>

struct buf;

enum prom_type {
	PROM_COUNTER,
	PROM_GAUGE,
	PROM_HISTOGRAM
};

struct prom_label {
	const char	*name;		/* [a-zA-Z_][a-zA-Z0-9_]* */
	const char	*value;		/* any bytes; escaped when written */
};

/* Upper bounds, in seconds, of the duration buckets (+Inf is added). */
#define PROM_DURATION_BUCKETS	15

/*
 * A histogram of durations.  All zero is an empty one, so it needs no
 * init; observe and write may run in different threads at once.
 */
struct prom_histogram {
	uint64_t	counts[PROM_DURATION_BUCKETS + 1];	/* per bucket */
	uint64_t	sum_ns;
};

/* The bucket bounds, PROM_DURATION_BUCKETS of them, ascending. */
extern const double prom_duration_bounds[PROM_DURATION_BUCKETS];

/*
 * Writes "# HELP name help" and "# TYPE name type".  help is one line;
 * a backslash or newline in it is escaped.  These and the writers below
 * return 0, or -1 when b is full or out of memory (b keeps what fitted).
 */
int	prom_family(struct buf *, const char *name, enum prom_type,
	    const char *help);

/* Writes one sample, name{labels} value, of an integer value. */
int	prom_sample_u64(struct buf *, const char *name,
	    const struct prom_label *, size_t nlabels, uint64_t value);

/* Writes one sample of a real value (seconds, say). */
int	prom_sample_double(struct buf *, const char *name,
	    const struct prom_label *, size_t nlabels, double value);

/* Counts one duration of ns nanoseconds; safe from any thread. */
void	prom_histogram_observe(struct prom_histogram *, uint64_t ns);

/* The number of durations h has counted. */
uint64_t	prom_histogram_count(const struct prom_histogram *);

/*
 * Writes the samples of h, name_bucket{labels,le=...} (cumulative, the
 * last le="+Inf"), name_sum in seconds and name_count, after the family
 * lines the caller wrote with PROM_HISTOGRAM.
 */
int	prom_histogram_write(struct buf *, const char *name,
	    const struct prom_label *, size_t nlabels,
	    const struct prom_histogram *);

#endif
