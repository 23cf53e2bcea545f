/*
 * Unit tests for lib/registry.c and lib/store_journal.c: the hash with
 * backward-shift deletion against a plain model under a long random mix
 * of puts and removes, generations, seq kept across replacement, and the
 * journal replayed into an equal registry.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "errbuf.h"
#include "registration.h"
#include "registry.h"
#include "store.h"
#include "check.h"
#include "banned.h"

#define NIDS	300
#define STEPS	5000


static void
make_reg(struct registration *r, int id, int ip)
{
	char name[32], addr[32];
	struct errbuf eb;

	memset(r, 0, sizeof(*r));
	(void)snprintf(name, sizeof(name), "node-%d", id);
	(void)snprintf(addr, sizeof(addr), "10.0.%d.%d", ip / 250, ip % 250);
	if (registration_set(r, name, addr, ip % 3 ? "{\"k\": 1}" : NULL,
	    &eb) == -1)
		abort();
}

static char *
snapshot(struct registry *r, unsigned long *gen, size_t *count)
{
	unsigned char digest[REGISTRY_DIGEST_LEN];
	struct buf b;

	buf_init(&b, 1UL << 24);
	if (registry_snapshot(r, &b, gen, count, digest) == -1)
		abort();
	return buf_detach(&b, NULL);
}

static void
test_random_mix(const char *journal)
{
	int model[NIDS];	/* ip of each id, or -1 */
	struct registration reg;
	struct registry *r, *again;
	struct store *st;
	struct errbuf eb;
	unsigned long gen, gen2, expect_gen = 0;
	size_t count, count2, live = 0;
	char name[32], *s1, *s2;
	int i, id, rc, bad = 0;

	for (i = 0; i < NIDS; i++)
		model[i] = -1;
	srand(7);
	st = store_journal_open(journal, &eb);
	CHECK(st != NULL);
	r = registry_new(NIDS, st, &eb);
	CHECK(r != NULL);
	for (i = 0; i < STEPS; i++) {
		id = rand() % NIDS;
		if (rand() % 3 == 0) {
			(void)snprintf(name, sizeof(name), "node-%d", id);
			rc = registry_remove(r, name, &eb);
			if (rc != (model[id] != -1 ? 1 : 0))
				bad++;
			if (model[id] != -1) {
				model[id] = -1;
				live--;
				expect_gen++;
			}
		} else {
			int ip = rand() % 4;

			make_reg(&reg, id, ip);
			rc = registry_put(r, &reg, 1000 + i, &eb);
			if (model[id] == ip && rc != REGISTRY_UNCHANGED)
				bad++;
			if (model[id] != ip && rc != REGISTRY_CHANGED)
				bad++;
			if (model[id] != ip) {
				if (model[id] == -1)
					live++;
				model[id] = ip;
				expect_gen++;
			}
			registration_release(&reg);
		}
		if (registry_count(r) != live)
			bad++;
	}
	CHECK(bad == 0);
	CHECK(registry_generation(r) == expect_gen);
	for (i = 0; i < NIDS; i++) {
		(void)snprintf(name, sizeof(name), "node-%d", i);
		if (registry_contains(r, name) != (model[i] != -1))
			bad++;
	}
	CHECK(bad == 0);

	/* The journal replays into the same snapshot, byte for byte. */
	s1 = snapshot(r, &gen, &count);
	registry_free(r);
	st = store_journal_open(journal, &eb);
	again = registry_new(NIDS, st, &eb);
	CHECK(again != NULL);
	s2 = snapshot(again, &gen2, &count2);
	CHECK(gen == gen2 && count == count2);
	CHECK(strcmp(s1, s2) == 0);
	registry_free(again);
	free(s1);
	free(s2);
}

static void
test_seq_and_cap(void)
{
	struct registration a, b, c;
	struct registry *r;
	struct errbuf eb;
	unsigned long gen;
	size_t count;
	char *s;

	r = registry_new(2, NULL, &eb);
	make_reg(&a, 2, 1);
	make_reg(&b, 1, 1);
	make_reg(&c, 3, 1);
	CHECK(registry_put(r, &a, 100, &eb) == REGISTRY_CHANGED);
	CHECK(registry_put(r, &b, 200, &eb) == REGISTRY_CHANGED);
	CHECK(registry_put(r, &c, 300, &eb) == REGISTRY_FULL);
	registration_release(&a);
	make_reg(&a, 2, 2);	/* node-2 again, new ip: keeps seq 1 */
	CHECK(registry_put(r, &a, 400, &eb) == REGISTRY_CHANGED);
	s = snapshot(r, &gen, &count);
	CHECK(gen == 3 && count == 2);
	CHECK(strstr(s, "{\"identifier\":\"node-1\",\"ip\":\"10.0.0.1\","
	    "\"metadata\":{\"k\": 1},\"seq\":2,") != NULL);
	CHECK(strstr(s, "{\"identifier\":\"node-2\",\"ip\":\"10.0.0.2\","
	    "\"metadata\":{\"k\": 1},\"seq\":1,\"registered_at\":"
	    "\"1970-01-01T00:01:40Z\"}") != NULL);
	/* Sorted bytewise: node-1 before node-2. */
	CHECK(strstr(s, "node-1") < strstr(s, "node-2"));
	free(s);
	registration_release(&a);
	registration_release(&b);
	registration_release(&c);
	registry_free(r);
}

int
main(void)
{
	char journal[] = "/tmp/cfgsync-test-journal-XXXXXX";
	int fd;

	if ((fd = mkstemp(journal)) == -1)
		return 1;
	close(fd);
	test_random_mix(journal);
	unlink(journal);
	test_seq_and_cap();
	return check_done("test_registry");
}
