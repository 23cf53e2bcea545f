/*
 * The string->index table: see strmap.h.  The hash is SipHash-2-4
 * (Aumasson and Bernstein, 2012) over NUL-terminated strings, its key from
 * getrandom(2) on first use.  Each slot keeps the key's full hash, so
 * growing and deleting never hash again and most mismatches cost no
 * strcmp.
 */
#include "strmap.h"

#include <sys/random.h>

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "banned.h"

static uint64_t sipkey[2];
static pthread_once_t key_once = PTHREAD_ONCE_INIT;

static void
key_init(void)
{
	/* Without entropy the table still works, just unkeyed. */
	if (getrandom(sipkey, sizeof(sipkey), 0) != (ssize_t)sizeof(sipkey))
		memset(sipkey, 0, sizeof(sipkey));
}

#define ROTL(x, b)	(((x) << (b)) | ((x) >> (64 - (b))))

#define SIPROUND do {							\
	v0 += v1; v1 = ROTL(v1, 13); v1 ^= v0; v0 = ROTL(v0, 32);	\
	v2 += v3; v3 = ROTL(v3, 16); v3 ^= v2;				\
	v0 += v3; v3 = ROTL(v3, 21); v3 ^= v0;				\
	v2 += v1; v1 = ROTL(v1, 17); v1 ^= v2; v2 = ROTL(v2, 32);	\
} while (0)

uint64_t
strmap_hash(const char *s)
{
	uint64_t v0, v1, v2, v3, m;
	size_t len = strlen(s), i, k;

	pthread_once(&key_once, key_init);
	v0 = sipkey[0] ^ 0x736f6d6570736575ULL;
	v1 = sipkey[1] ^ 0x646f72616e646f6dULL;
	v2 = sipkey[0] ^ 0x6c7967656e657261ULL;
	v3 = sipkey[1] ^ 0x7465646279746573ULL;
	for (i = 0; i + 8 <= len; i += 8) {
		m = 0;
		for (k = 0; k < 8; k++)		/* little-endian word */
			m |= (uint64_t)(unsigned char)s[i + k] << (8 * k);
		v3 ^= m;
		SIPROUND;
		SIPROUND;
		v0 ^= m;
	}
	m = (uint64_t)len << 56;
	for (k = 0; i + k < len; k++)
		m |= (uint64_t)(unsigned char)s[i + k] << (8 * k);
	v3 ^= m;
	SIPROUND;
	SIPROUND;
	v0 ^= m;
	v2 ^= 0xff;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	return v0 ^ v1 ^ v2 ^ v3;
}

struct strmap_slot {
	char		*key;		/* NULL: the slot is empty */
	uint64_t	 hash;		/* strmap_hash(key) */
	size_t		 value;
};

void
strmap_init(struct strmap *m)
{
	m->slots = NULL;
	m->nslots = 0;
	m->len = 0;
}

void
strmap_release(struct strmap *m)
{
	size_t i;

	if (m == NULL)
		return;
	for (i = 0; i < m->nslots; i++)
		free(m->slots[i].key);
	free(m->slots);
	strmap_init(m);
}

/* Returns the slot holding key, or the empty slot where it would go. */
static size_t
find(const struct strmap *m, const char *key, uint64_t h)
{
	size_t mask = m->nslots - 1, i = (size_t)h & mask;

	while (m->slots[i].key != NULL && (m->slots[i].hash != h ||
	    strcmp(m->slots[i].key, key) != 0))
		i = (i + 1) & mask;
	return i;
}

/* Makes room for n keys in all; 0, or -1 with errno ENOMEM. */
static int
reserve(struct strmap *m, size_t n)
{
	struct strmap_slot *old = m->slots, *s;
	size_t nslots = m->nslots ? m->nslots : STRMAP_MIN_SLOTS, i, oldn;

	/* At most half full: 2 * n slots, a power of two. */
	if (n > SIZE_MAX / 4) {
		errno = ENOMEM;
		return -1;
	}
	while (nslots < 2 * n)
		nslots *= 2;
	if (nslots == m->nslots)
		return 0;
	if ((s = calloc(nslots, sizeof(*s))) == NULL)
		return -1;
	oldn = m->nslots;
	m->slots = s;
	m->nslots = nslots;
	for (i = 0; i < oldn; i++)
		if (old[i].key != NULL)
			m->slots[find(m, old[i].key, old[i].hash)] = old[i];
	free(old);
	return 0;
}

int
strmap_get(const struct strmap *m, const char *key, size_t *value)
{
	size_t i;

	if (m->len == 0)
		return 0;
	i = find(m, key, strmap_hash(key));
	if (m->slots[i].key == NULL)
		return 0;
	if (value != NULL)
		*value = m->slots[i].value;
	return 1;
}

int
strmap_put(struct strmap *m, const char *key, size_t value)
{
	uint64_t h = strmap_hash(key);
	size_t i;
	char *copy;

	if (m->nslots > 0) {
		i = find(m, key, h);
		if (m->slots[i].key != NULL) {
			m->slots[i].value = value;
			return 0;
		}
	}
	if ((copy = strdup(key)) == NULL)
		return -1;
	if (reserve(m, m->len + 1) == -1) {
		free(copy);
		return -1;
	}
	i = find(m, key, h);
	m->slots[i].key = copy;
	m->slots[i].hash = h;
	m->slots[i].value = value;
	m->len++;
	return 0;
}

int
strmap_remove(struct strmap *m, const char *key, size_t *value)
{
	size_t mask, i, j, k;

	if (m->len == 0)
		return 0;
	mask = m->nslots - 1;
	i = find(m, key, strmap_hash(key));
	if (m->slots[i].key == NULL)
		return 0;
	if (value != NULL)
		*value = m->slots[i].value;
	free(m->slots[i].key);
	m->slots[i].key = NULL;
	m->len--;
	/*
	 * Backward shift: move each later key of the run into the hole
	 * unless its home slot lies cyclically in (i, j], where a lookup
	 * would no longer pass the hole to reach it.
	 */
	for (j = (i + 1) & mask; m->slots[j].key != NULL;
	    j = (j + 1) & mask) {
		k = (size_t)m->slots[j].hash & mask;
		if (i <= j ? (i < k && k <= j) : (i < k || k <= j))
			continue;
		m->slots[i] = m->slots[j];
		m->slots[j].key = NULL;
		i = j;
	}
	return 1;
}
