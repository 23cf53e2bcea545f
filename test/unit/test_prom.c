/*
 * Unit tests for lib/prom (the Prometheus text writer): family lines,
 * label escaping, integer and real samples, the duration histogram's
 * buckets, sum and count, and a full buffer reported as an error; and
 * diag_add_json_string, which JSON log lines are made with.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "diag.h"
#include "prom.h"

#include "check.h"

static void
test_family(void)
{
	struct buf b;

	buf_init(&b, 4096);
	CHECK(prom_family(&b, "x_total", PROM_COUNTER, "Things.") == 0);
	CHECK(prom_family(&b, "y", PROM_GAUGE, "a\\b\nc \"q\"") == 0);
	CHECK(prom_family(&b, "z_seconds", PROM_HISTOGRAM, "Z.") == 0);
	CHECK_STR(b.data, "# HELP x_total Things.\n# TYPE x_total counter\n"
	    "# HELP y a\\\\b\\nc \"q\"\n# TYPE y gauge\n"
	    "# HELP z_seconds Z.\n# TYPE z_seconds histogram\n");
	buf_release(&b);
}

static void
test_samples(void)
{
	struct prom_label l[2] = { { "route", "node" }, { "status", "200" } };
	struct prom_label bad = { "v", "a\"b\\c\nd" };
	struct buf b;

	buf_init(&b, 4096);
	CHECK(prom_sample_u64(&b, "x_total", NULL, 0, 0) == 0);
	CHECK(prom_sample_u64(&b, "x_total", l, 2,
	    UINT64_C(18446744073709551615)) == 0);
	CHECK(prom_sample_u64(&b, "x_total", &bad, 1, 3) == 0);
	CHECK(prom_sample_double(&b, "s_seconds_total", NULL, 0, 1.25) == 0);
	CHECK(prom_sample_double(&b, "s_seconds_total", l, 1, 0) == 0);
	CHECK_STR(b.data, "x_total 0\n"
	    "x_total{route=\"node\",status=\"200\"} 18446744073709551615\n"
	    "x_total{v=\"a\\\"b\\\\c\\nd\"} 3\n"
	    "s_seconds_total 1.25\n"
	    "s_seconds_total{route=\"node\"} 0\n");
	buf_release(&b);
}

static void
test_histogram(void)
{
	struct prom_histogram h;
	struct prom_label l = { "route", "node" };
	struct buf b;
	size_t i;

	memset(&h, 0, sizeof(h));
	CHECK(prom_histogram_count(&h) == 0);
	for (i = 1; i < PROM_DURATION_BUCKETS; i++)
		CHECK(prom_duration_bounds[i - 1] < prom_duration_bounds[i]);
	prom_histogram_observe(&h, 0);			/* le 0.001 */
	prom_histogram_observe(&h, 1000000);		/* exactly 0.001 */
	prom_histogram_observe(&h, 1000001);		/* le 0.005 */
	prom_histogram_observe(&h, UINT64_C(200000000000));	/* +Inf */
	CHECK(prom_histogram_count(&h) == 4);
	buf_init(&b, 1 << 16);
	CHECK(prom_histogram_write(&b, "d_seconds", &l, 1, &h) == 0);
	CHECK(strstr(b.data, "d_seconds_bucket{route=\"node\",le=\"0.001\"} "
	    "2\n") == b.data);
	CHECK(strstr(b.data, "\nd_seconds_bucket{route=\"node\",le=\"0.005\"}"
	    " 3\n") != NULL);
	CHECK(strstr(b.data, "\nd_seconds_bucket{route=\"node\",le=\"120\"} "
	    "3\n") != NULL);
	CHECK(strstr(b.data, "\nd_seconds_bucket{route=\"node\",le=\"+Inf\"} "
	    "4\nd_seconds_sum{route=\"node\"} 200.002\n"
	    "d_seconds_count{route=\"node\"} 4\n") != NULL);
	buf_reset(&b);
	CHECK(prom_histogram_write(&b, "d_seconds", NULL, 0, &h) == 0);
	CHECK(strstr(b.data, "d_seconds_bucket{le=\"0.001\"} 2\n") == b.data);
	CHECK(strstr(b.data, "\nd_seconds_count 4\n") != NULL);
	buf_release(&b);
	/* A buffer too small is an error, never a silent cut. */
	buf_init(&b, 64);
	CHECK(prom_histogram_write(&b, "d_seconds", &l, 1, &h) == -1);
	CHECK(prom_family(&b, "a_very_long_name_that_does_not_fit_total",
	    PROM_COUNTER, "help text that is long enough to pass the cap") ==
	    -1);
	buf_release(&b);
}

static void
test_json_string(void)
{
	struct buf b;

	buf_init(&b, 4096);
	CHECK(diag_add_json_string(&b, "a\"b\\c\n\t\x01\x7f", 9) == 0);
	CHECK_STR(b.data, "\"a\\\"b\\\\c\\n\\t\\u0001\\u007f\"");
	buf_reset(&b);
	/* Valid UTF-8 passes; a bad byte, overlong or surrogate is U+FFFD. */
	CHECK(diag_add_json_string(&b, "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80",
	    9) == 0);
	CHECK_STR(b.data, "\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"");
	buf_reset(&b);
	CHECK(diag_add_json_string(&b, "\xff" "a\xc0\xaf" "b\xed\xa0\x80"
	    "\xe2\x82", 10) == 0);
	CHECK_STR(b.data, "\"\\ufffda\\ufffd\\ufffdb\\ufffd\\ufffd\\ufffd"
	    "\\ufffd\\ufffd\"");
	buf_reset(&b);
	CHECK(diag_add_json_string(&b, "x\0y", 3) == 0);
	CHECK_STR(b.data, "\"x\\u0000y\"");
	buf_release(&b);
	buf_init(&b, 4);
	CHECK(diag_add_json_string(&b, "abcdef", 6) == -1);
	CHECK(b.len == 0);
	buf_release(&b);
}

int
main(int argc, char **argv)
{
	check_init(argc, argv);
	test_family();
	test_samples();
	test_histogram();
	test_json_string();
	return check_done("test_prom");
}
