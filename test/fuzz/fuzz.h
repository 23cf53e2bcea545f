/*
 * What every fuzz target shares: the libFuzzer entry point, and FUZZ_ASSERT
 * for a property, which aborts (libFuzzer and the replay main both report
 * an abort as a finding) instead of printing and going on.
 */
#ifndef CFGSYNC_FUZZ_H
#define CFGSYNC_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define FUZZ_ASSERT(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "%s:%d: property broken: %s\n",		\
		    __FILE__, __LINE__, #cond);				\
		abort();						\
	}								\
} while (0)

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#endif
