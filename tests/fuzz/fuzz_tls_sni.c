// SPDX-License-Identifier: Apache-2.0
/*
 * libFuzzer target: the ClientHello SNI parser. It checks that what was consumed lies within the
 * input and the cap, that a DONE name is well formed, that a prefix (split at a point chosen from the
 * input) gives NEED_MORE or the same result, and that a DONE result is the same when cut exactly at
 * the end of what was consumed.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "proxy/tls_sni.h"

static void check_done(const struct tls_hello *h, size_t used)
{
	CHECK(used >= 5 + 4 + 38 + 4 && used <= TLS_SNI_MAX_INPUT && h->error == TLS_OK);
	size_t n = strlen(h->sni);
	CHECK(n <= TLS_SNI_MAX_NAME && (n > 0) == h->has_sni);
	for (size_t i = 0; i < n; i++) {
		char c = h->sni[i];
		CHECK((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.');
	}
	CHECK(n == 0 || (h->sni[0] != '.' && h->sni[n - 1] != '.' && !strstr(h->sni, "..")));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *b = malloc(size ? size : 1);
	if (!b)
		return 0;
	memcpy(b, data, size);
	struct tls_hello h, h2;
	size_t used, used2;
	enum tls_status st = tls_sni_parse(b, size, &h, &used);
	CHECK(used <= size && (st == TLS_DONE || used == 0));
	if (st == TLS_NEED_MORE)
		CHECK(size < TLS_SNI_MAX_INPUT);
	if (st == TLS_ERROR)
		CHECK(h.error != TLS_OK && !h.has_sni && tls_sni_strerror(h.error) != NULL);
	if (st == TLS_DONE) {
		check_done(&h, used);
		CHECK(tls_sni_parse(b, used, &h2, &used2) == TLS_DONE && memcmp(&h, &h2, sizeof(h)) == 0);
	}
	size_t k = split_point(b, size);
	enum tls_status s2 = tls_sni_parse(b, k, &h2, &used2);
	if (s2 != TLS_NEED_MORE)
		CHECK(s2 == st && h2.error == h.error && used2 == used && memcmp(&h, &h2, sizeof(h)) == 0);
	free(b);
	return 0;
}
