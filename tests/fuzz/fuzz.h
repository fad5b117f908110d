// SPDX-License-Identifier: Apache-2.0
/* What every libFuzzer target here shares: the entry point's prototype, an invariant check that
 * aborts (so the fuzzer records the input), and a split point derived from the input itself (so a
 * crash reproduces from the saved input alone). */
#ifndef CORDON_TESTS_FUZZ_H
#define CORDON_TESTS_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                    \
	do {                                                                                           \
		if (!(cond))                                                                           \
			abort();                                                                       \
	} while (0)

/* A point in [0, n], from an FNV-1a hash of the input. */
static inline size_t split_point(const uint8_t *d, size_t n)
{
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < n; i++)
		h = (h ^ d[i]) * 16777619u;
	return n ? h % (n + 1) : 0;
}

#endif
