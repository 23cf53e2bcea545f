/*
 * Unit tests for lib/strmap: lookups through colliding runs that wrap
 * around the end of the table, deletion inside such runs, replacement,
 * growth, and a long random run checked against a plain array.
 */
#include "strmap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "banned.h"

#define NKEYS	4000
#define STEPS	200000
#define KEYLEN	32

static char keys[NKEYS][KEYLEN];

/* Fills keys with "k<i>" names; returns how many land in home slot home. */
static size_t
colliding(size_t home, size_t nslots, size_t want, char (*out)[KEYLEN])
{
	char name[KEYLEN];
	size_t found = 0;
	int i;

	for (i = 0; found < want && i < 1000000; i++) {
		(void)snprintf(name, sizeof(name), "c%d", i);
		if ((strmap_hash(name) & (nslots - 1)) != home)
			continue;
		memcpy(out[found++], name, sizeof(name));
	}
	return found;
}

static void
test_collisions(void)
{
	char run[7][KEYLEN], other[KEYLEN];
	struct strmap m;
	size_t i, k, v, home = STRMAP_MIN_SLOTS - 1;

	/* Seven keys whose home is the last slot: the run wraps to 0..5. */
	CHECK(colliding(home, STRMAP_MIN_SLOTS, 7, run) == 7);
	/* And one whose home is slot 2, inside the wrapped run. */
	CHECK(colliding(2, STRMAP_MIN_SLOTS, 1, &other) == 1);
	strmap_init(&m);
	CHECK(!strmap_get(&m, run[0], &v));
	CHECK(!strmap_remove(&m, run[0], &v));
	for (i = 0; i < 7; i++)
		CHECK(strmap_put(&m, run[i], i) == 0);
	CHECK(strmap_put(&m, other, 99) == 0);
	CHECK(m.len == 8);
	CHECK(m.nslots == STRMAP_MIN_SLOTS);	/* at most half full */
	for (i = 0; i < 7; i++)
		CHECK(strmap_get(&m, run[i], &v) && v == i);
	CHECK(strmap_get(&m, other, &v) && v == 99);

	/* Delete each in turn from the head of the run; the rest stay. */
	for (i = 0; i < 7; i++) {
		CHECK(strmap_remove(&m, run[i], &v) && v == i);
		CHECK(!strmap_get(&m, run[i], NULL));
		CHECK(!strmap_remove(&m, run[i], NULL));
		for (k = i + 1; k < 7; k++)
			CHECK(strmap_get(&m, run[k], &v) && v == k);
		CHECK(strmap_get(&m, other, &v) && v == 99);
	}
	CHECK(m.len == 1);

	/* From the middle of the run, and back in again. */
	for (i = 0; i < 7; i++)
		CHECK(strmap_put(&m, run[i], i) == 0);
	CHECK(strmap_remove(&m, run[3], NULL));
	CHECK(strmap_remove(&m, other, NULL));
	for (k = 0; k < 7; k++)
		CHECK(strmap_get(&m, run[k], &v) == (k != 3) &&
		    (k == 3 || v == k));
	CHECK(strmap_put(&m, run[3], 33) == 0);
	CHECK(strmap_get(&m, run[3], &v) && v == 33);
	CHECK(m.len == 7);
	strmap_release(&m);
	CHECK(m.len == 0 && m.slots == NULL);
	CHECK(!strmap_get(&m, run[0], NULL));
	strmap_release(&m);
	strmap_release(NULL);
}

static void
test_replace(void)
{
	struct strmap m;
	char name[KEYLEN];
	size_t v;

	strmap_init(&m);
	memcpy(name, "node-a", sizeof("node-a"));
	CHECK(strmap_put(&m, name, 1) == 0);
	/* The table holds its own copy: the caller's string may change. */
	memcpy(name, "node-b", sizeof("node-b"));
	CHECK(strmap_get(&m, "node-a", &v) && v == 1);
	CHECK(!strmap_get(&m, "node-b", NULL));
	CHECK(strmap_put(&m, "node-a", 2) == 0);
	CHECK(m.len == 1);
	CHECK(strmap_get(&m, "node-a", &v) && v == 2);
	CHECK(strmap_get(&m, "", NULL) == 0);
	CHECK(strmap_put(&m, "", 7) == 0);
	CHECK(strmap_get(&m, "", &v) && v == 7);
	strmap_release(&m);
}

static void
test_growth(void)
{
	struct strmap m;
	size_t i, v, bad = 0;

	strmap_init(&m);
	for (i = 0; i < NKEYS; i++) {
		(void)snprintf(keys[i], sizeof(keys[i]), "node-%zu", i);
		if (strmap_put(&m, keys[i], i) == -1)
			bad++;
		if (m.len * 2 > m.nslots)
			bad++;
	}
	CHECK(bad == 0);
	CHECK(m.len == NKEYS);
	for (i = 0; i < NKEYS; i++)
		if (!strmap_get(&m, keys[i], &v) || v != i)
			bad++;
	CHECK(bad == 0);
	CHECK(!strmap_get(&m, "node-4000", NULL));

	CHECK((m.nslots & (m.nslots - 1)) == 0);
	/* Emptied by removes, then refilled: every key found again. */
	for (i = 0; i < NKEYS; i++)
		if (!strmap_remove(&m, keys[i], &v) || v != i)
			bad++;
	CHECK(bad == 0 && m.len == 0);
	for (i = NKEYS; i > 0; i--)
		(void)strmap_put(&m, keys[i - 1], i);
	for (i = 0; i < NKEYS; i++)
		if (!strmap_get(&m, keys[i], &v) || v != i + 1)
			bad++;
	CHECK(bad == 0 && m.len == NKEYS);
	strmap_release(&m);
}

/* Random puts and removes over a small key space, against an array. */
static void
test_random(void)
{
	static long model[NKEYS / 8];
	struct strmap m;
	size_t i, k, v, live = 0, bad = 0, n = NKEYS / 8;
	int rc;

	srand(11);
	strmap_init(&m);
	for (i = 0; i < n; i++)
		model[i] = -1;
	for (i = 0; i < STEPS; i++) {
		k = (size_t)rand() % n;
		if (rand() % 2 == 0) {
			rc = strmap_remove(&m, keys[k], &v);
			if (rc != (model[k] != -1) ||
			    (rc && v != (size_t)model[k]))
				bad++;
			if (model[k] != -1)
				live--;
			model[k] = -1;
		} else {
			if (model[k] == -1)
				live++;
			model[k] = (long)i;
			if (strmap_put(&m, keys[k], i) == -1)
				bad++;
		}
		if (m.len != live)
			bad++;
	}
	for (k = 0; k < n; k++) {
		rc = strmap_get(&m, keys[k], &v);
		if (rc != (model[k] != -1) || (rc && v != (size_t)model[k]))
			bad++;
	}
	CHECK(bad == 0);
	strmap_release(&m);
}

int
main(int argc, char **argv)
{
	check_init(argc, argv);
	test_collisions();
	test_replace();
	test_growth();
	test_random();
	return check_done("test_strmap");
}
