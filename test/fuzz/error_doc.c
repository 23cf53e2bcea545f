/*
 * The {"code","message"} error document a client reads from a server
 * (protocol_error_message, protocol_error_code): both always leave a
 * NUL-terminated string within the size given.
 */
#include <string.h>

#include "protocol.h"

#include "fuzz.h"

#include "banned.h"

#define SMALL	16

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char msg[256], code[SMALL];

	memset(msg, 'x', sizeof(msg));
	memset(code, 'x', sizeof(code));
	protocol_error_message((const char *)data, size, msg, sizeof(msg));
	protocol_error_code((const char *)data, size, code, sizeof(code));
	FUZZ_ASSERT(memchr(msg, '\0', sizeof(msg)) != NULL);
	FUZZ_ASSERT(memchr(code, '\0', sizeof(code)) != NULL);
	return 0;
}
