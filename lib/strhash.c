/*
 * SipHash-2-4 (Aumasson and Bernstein, 2012) over NUL-terminated strings:
 * see strhash.h.  The key comes from getrandom(2) on first use.
 */
#include "strhash.h"

#include <sys/random.h>

#include <pthread.h>
#include <string.h>

#include "banned.h"

static uint64_t key[2];
static pthread_once_t key_once = PTHREAD_ONCE_INIT;

static void
key_init(void)
{
	/* Without entropy the table still works, just unkeyed. */
	if (getrandom(key, sizeof(key), 0) != (ssize_t)sizeof(key))
		memset(key, 0, sizeof(key));
}

#define ROTL(x, b)	(((x) << (b)) | ((x) >> (64 - (b))))

#define SIPROUND do {							\
	v0 += v1; v1 = ROTL(v1, 13); v1 ^= v0; v0 = ROTL(v0, 32);	\
	v2 += v3; v3 = ROTL(v3, 16); v3 ^= v2;				\
	v0 += v3; v3 = ROTL(v3, 21); v3 ^= v0;				\
	v2 += v1; v1 = ROTL(v1, 17); v1 ^= v2; v2 = ROTL(v2, 32);	\
} while (0)

uint64_t
strhash(const char *s)
{
	uint64_t v0, v1, v2, v3, m;
	size_t len = strlen(s), i, k;

	pthread_once(&key_once, key_init);
	v0 = key[0] ^ 0x736f6d6570736575ULL;
	v1 = key[1] ^ 0x646f72616e646f6dULL;
	v2 = key[0] ^ 0x6c7967656e657261ULL;
	v3 = key[1] ^ 0x7465646279746573ULL;
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
