/*
 * The Prometheus text writer: see prom.h.
 */
#include "prom.h"

#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "banned.h"

#define PROM_NUM_MAX	64

const double prom_duration_bounds[PROM_DURATION_BUCKETS] = {
	0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30,
	60, 120
};

static const char *const type_names[] = { "counter", "gauge", "histogram" };

/*
 * Appends s escaped as the format wants: backslash and newline always,
 * the double quote too inside a label value.
 */
static int
add_escaped(struct buf *b, const char *s, int quote)
{
	for (; *s != '\0'; s++) {
		if (*s == '\\') {
			if (buf_add(b, "\\\\", 2) == -1)
				return -1;
		} else if (*s == '\n') {
			if (buf_add(b, "\\n", 2) == -1)
				return -1;
		} else if (quote && *s == '"') {
			if (buf_add(b, "\\\"", 2) == -1)
				return -1;
		} else if (buf_addc(b, *s) == -1)
			return -1;
	}
	return 0;
}

int
prom_family(struct buf *b, const char *name, enum prom_type type,
    const char *help)
{
	if (buf_addf(b, "# HELP %s ", name) == -1 ||
	    add_escaped(b, help, 0) == -1 ||
	    buf_addf(b, "\n# TYPE %s %s\n", name, type_names[type]) == -1)
		return -1;
	return 0;
}

/* Writes name{labels[, le="..."]} without the value. */
static int
add_series(struct buf *b, const char *name, const char *suffix,
    const struct prom_label *labels, size_t nlabels, const char *le)
{
	size_t i;

	if (buf_adds(b, name) == -1 || buf_adds(b, suffix) == -1)
		return -1;
	if (nlabels == 0 && le == NULL)
		return 0;
	if (buf_addc(b, '{') == -1)
		return -1;
	for (i = 0; i < nlabels; i++)
		if ((i > 0 && buf_addc(b, ',') == -1) ||
		    buf_addf(b, "%s=\"", labels[i].name) == -1 ||
		    add_escaped(b, labels[i].value, 1) == -1 ||
		    buf_addc(b, '"') == -1)
			return -1;
	if (le != NULL && buf_addf(b, "%sle=\"%s\"", nlabels > 0 ? "," : "",
	    le) == -1)
		return -1;
	return buf_addc(b, '}');
}

int
prom_sample_u64(struct buf *b, const char *name,
    const struct prom_label *labels, size_t nlabels, uint64_t value)
{
	if (add_series(b, name, "", labels, nlabels, NULL) == -1 ||
	    buf_addf(b, " %llu\n", (unsigned long long)value) == -1)
		return -1;
	return 0;
}

int
prom_sample_double(struct buf *b, const char *name,
    const struct prom_label *labels, size_t nlabels, double value)
{
	if (add_series(b, name, "", labels, nlabels, NULL) == -1 ||
	    buf_addf(b, " %.9g\n", value) == -1)
		return -1;
	return 0;
}

void
prom_histogram_observe(struct prom_histogram *h, uint64_t ns)
{
	double s = (double)ns / 1e9;
	size_t i;

	for (i = 0; i < PROM_DURATION_BUCKETS; i++)
		if (s <= prom_duration_bounds[i])
			break;
	__atomic_fetch_add(&h->counts[i], 1, __ATOMIC_RELAXED);
	__atomic_fetch_add(&h->sum_ns, ns, __ATOMIC_RELAXED);
}

uint64_t
prom_histogram_count(const struct prom_histogram *h)
{
	uint64_t total = 0;
	size_t i;

	for (i = 0; i <= PROM_DURATION_BUCKETS; i++)
		total += __atomic_load_n(&h->counts[i], __ATOMIC_RELAXED);
	return total;
}

int
prom_histogram_write(struct buf *b, const char *name,
    const struct prom_label *labels, size_t nlabels,
    const struct prom_histogram *h)
{
	char le[PROM_NUM_MAX];
	uint64_t total = 0;
	size_t i;
	int n;

	for (i = 0; i <= PROM_DURATION_BUCKETS; i++) {
		total += __atomic_load_n(&h->counts[i], __ATOMIC_RELAXED);
		if (i < PROM_DURATION_BUCKETS)
			n = snprintf(le, sizeof(le), "%g",
			    prom_duration_bounds[i]);
		else
			n = snprintf(le, sizeof(le), "+Inf");
		if (n < 0 || (size_t)n >= sizeof(le))
			return -1;
		if (add_series(b, name, "_bucket", labels, nlabels, le) == -1 ||
		    buf_addf(b, " %llu\n", (unsigned long long)total) == -1)
			return -1;
	}
	/* _count is the +Inf bucket, so the two always agree. */
	if (add_series(b, name, "_sum", labels, nlabels, NULL) == -1 ||
	    buf_addf(b, " %.9g\n", (double)__atomic_load_n(&h->sum_ns,
	    __ATOMIC_RELAXED) / 1e9) == -1 ||
	    add_series(b, name, "_count", labels, nlabels, NULL) == -1 ||
	    buf_addf(b, " %llu\n", (unsigned long long)total) == -1)
		return -1;
	return 0;
}
