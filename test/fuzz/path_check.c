/*
 * The one check for untrusted paths (artifact_path_check).  A path it
 * accepts has no NUL or control byte, no "." or ".." component, no empty
 * component but a leading "/", and fits ARTIFACT_PATH_MAX.
 */
#include <string.h>

#include "artifacts.h"
#include "errbuf.h"

#include "fuzz.h"

#include "banned.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *c, *end = p + size, *slash;
	struct errbuf eb;
	size_t i, n;

	if (artifact_path_check(p, size, &eb) == -1) {
		FUZZ_ASSERT(eb.msg[0] != '\0');
		return 0;
	}
	FUZZ_ASSERT(size > 0 && size <= ARTIFACT_PATH_MAX);
	for (i = 0; i < size; i++)
		FUZZ_ASSERT(data[i] >= 0x20 && data[i] != 0x7f);
	c = p[0] == '/' ? p + 1 : p;
	FUZZ_ASSERT(c < end);
	while (c <= end) {
		slash = memchr(c, '/', (size_t)(end - c));
		n = (slash != NULL ? slash : end) - c;
		FUZZ_ASSERT(n > 0);
		FUZZ_ASSERT(!(n == 1 && c[0] == '.'));
		FUZZ_ASSERT(!(n == 2 && c[0] == '.' && c[1] == '.'));
		if (slash == NULL)
			break;
		c = slash + 1;
	}
	return 0;
}
