/*
 * The registry's own memory per registration: N registrations (default
 * 100 000) with about 100 bytes of metadata, as test/bench/register.sh
 * sends them, put into a memory-only registry; prints the RSS before and
 * after and the bytes a registration, then the same for one snapshot.
 * Build and run from the top of the tree:
 *   make && cc -O2 -D_GNU_SOURCE -Ilib -o /tmp/registry_mem \
 *       test/bench/registry_mem.c lib/libcfgsync.a -lnettle -ljson-c \
 *       -lpthread && /tmp/registry_mem 100000
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "errbuf.h"
#include "registration.h"
#include "registry.h"
#include "banned.h"

static long
rss_kib(void)
{
	char line[256];
	long kib = -1;
	FILE *f;

	if ((f = fopen("/proc/self/status", "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "VmRSS: %ld", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

int
main(int argc, char **argv)
{
	unsigned char digest[REGISTRY_DIGEST_LEN];
	char id[64], ip[32], meta[160];
	struct registration reg;
	struct registry *r;
	struct errbuf eb;
	struct buf doc;
	unsigned long gen;
	size_t count;
	long n = argc > 1 ? strtol(argv[1], NULL, 10) : 100000, i, before,
	    after;

	before = rss_kib();
	if ((r = registry_new((size_t)n, NULL, &eb)) == NULL)
		return 1;
	for (i = 0; i < n; i++) {
		(void)snprintf(id, sizeof(id), "node-%ld", i);
		(void)snprintf(ip, sizeof(ip), "10.%ld.%ld.%ld",
		    (i >> 16) & 255, (i >> 8) & 255, i & 255);
		(void)snprintf(meta, sizeof(meta), "{\"pad\":\"%0*ld\"}",
		    100 - 10, i);
		memset(&reg, 0, sizeof(reg));
		if (registration_set(&reg, id, ip, meta, &eb) == -1 ||
		    registry_put(r, &reg, 1, &eb) != REGISTRY_CHANGED)
			return 1;
		registration_release(&reg);
	}
	after = rss_kib();
	printf("registrations %ld, RSS %.1f MiB -> %.1f MiB, "
	    "%.0f bytes a registration\n", n,
	    before / 1024.0, after / 1024.0,
	    (after - before) * 1024.0 / (double)n);
	buf_init(&doc, SIZE_MAX);
	if (registry_snapshot(r, &doc, &gen, &count, digest) == -1)
		return 1;
	printf("snapshot %zu bytes (%.0f a registration), RSS with it "
	    "%.1f MiB\n", doc.len, (double)doc.len / (double)n,
	    rss_kib() / 1024.0);
	buf_release(&doc);
	registry_free(r);
	return 0;
}
