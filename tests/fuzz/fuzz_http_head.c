// SPDX-License-Identifier: Apache-2.0
/*
 * libFuzzer target: HTTP request heads. Besides the sanitizers it checks the parser's contract: what
 * it consumed lies within the input and the caps, the result on a prefix (split at a point chosen from
 * the input) is NEED_MORE or the same as on the whole, and a DONE head is DONE again when cut exactly
 * at its end and NEED_MORE one byte before.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "proxy/http_head.h"

static void check_done(const uint8_t *b, const struct hh_request *r, size_t used)
{
	CHECK(used == r->head_len && used <= HH_MAX_HEAD && used >= 4);
	CHECK(memcmp(b + used - 4, "\r\n\r\n", 4) == 0 || used == r->headers_off + 2);
	CHECK(r->nheaders <= HH_MAX_HEADERS);
	CHECK(r->error == HH_OK && (r->minor == 0 || r->minor == 1));
	CHECK(r->method.len > 0 && (size_t)r->target.off + r->target.len < r->headers_off);
	CHECK(r->headers_off <= used && r->headers_off - 2 <= HH_MAX_REQUEST_LINE);
	CHECK((size_t)r->path.off + r->path.len <= used);
	size_t hl = strlen(r->host);
	CHECK(hl <= HH_MAX_HOST && (hl == 0) == (r->host_kind == HH_HOST_NONE));
	for (size_t i = 0; i < hl; i++)
		CHECK((r->host[i] >= 'a' && r->host[i] <= 'z') || (r->host[i] >= '0' && r->host[i] <= '9') ||
		      r->host[i] == '-' || r->host[i] == '.' || r->host[i] == ':');
	CHECK(r->host_kind == HH_HOST_NONE || r->port != 0);
	CHECK(r->connect == (r->form == HH_FORM_AUTHORITY));
	CHECK(!(r->chunked && r->has_content_length));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* An exact-size copy: ASan catches a read past `size`. */
	uint8_t *b = malloc(size ? size : 1);
	if (!b)
		return 0;
	memcpy(b, data, size);
	struct hh_request r, r2;
	size_t used, used2;
	enum hh_status st = http_head_parse(b, size, &r, &used);
	CHECK(st == HH_DONE || st == HH_NEED_MORE || st == HH_ERROR);
	CHECK(used <= size && (st == HH_DONE || used == 0));
	if (st == HH_ERROR) {
		int code = http_head_status(r.error);
		CHECK(code == 400 || code == 414 || code == 431 || code == 501 || code == 505);
		CHECK(http_head_strerror(r.error) != NULL);
	}
	if (st == HH_NEED_MORE)
		CHECK(size < HH_MAX_HEAD);
	if (st == HH_DONE) {
		check_done(b, &r, used);
		CHECK(http_head_parse(b, used, &r2, &used2) == HH_DONE && memcmp(&r, &r2, sizeof(r)) == 0);
		CHECK(http_head_parse(b, used - 1, &r2, &used2) == HH_NEED_MORE);
	}
	size_t k = split_point(b, size);
	enum hh_status s2 = http_head_parse(b, k, &r2, &used2);
	if (s2 != HH_NEED_MORE) {
		CHECK(s2 == st && r2.error == r.error && used2 == used);
		CHECK(st != HH_DONE || memcmp(&r, &r2, sizeof(r)) == 0);
	}
	free(b);
	return 0;
}
