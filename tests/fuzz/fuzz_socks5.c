// SPDX-License-Identifier: Apache-2.0
/*
 * libFuzzer target: the SOCKS5 greeting and request parsers, and the reply builders. Each parse is
 * checked for staying within the input, for agreeing with itself on a prefix (split at a point chosen
 * from the input), and a DONE request for a well-formed host; the replies are decoded again.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "proxy/socks5.h"

static void check_greeting(const uint8_t *b, size_t size, size_t k)
{
	struct s5_greeting g, g2;
	size_t used, used2;
	enum s5_status st = s5_parse_greeting(b, size, &g, &used);
	CHECK(used <= size && (st == S5_DONE || used == 0));
	if (st == S5_DONE)
		CHECK(used == 2 + (size_t)g.nmethods && g.error == S5_OK);
	enum s5_status s2 = s5_parse_greeting(b, k, &g2, &used2);
	if (s2 != S5_NEED_MORE)
		CHECK(s2 == st && g2.error == g.error && used2 == used && g2.noauth == g.noauth);
}

static void check_request(const uint8_t *b, size_t size, size_t k)
{
	struct s5_request r, r2;
	size_t used, used2;
	enum s5_status st = s5_parse_request(b, size, &r, &used);
	CHECK(used <= size && (st == S5_DONE || used == 0));
	if (st == S5_DONE) {
		CHECK(used >= 8 && used <= 4 + 256 + 2 && r.port != 0 && r.cmd == S5_CMD_CONNECT);
		size_t hl = strlen(r.host);
		CHECK(hl >= 1 && hl <= S5_MAX_HOST);
		if (r.atyp == S5_ATYP_DOMAIN)
			CHECK(hl == b[4] && used == 7 + hl);
	} else if (st == S5_ERROR) {
		enum s5_rep rep = s5_error_reply(r.error);
		CHECK(rep >= S5_REP_GENERAL_FAILURE && rep <= S5_REP_ATYP_UNSUPPORTED);
		CHECK(s5_strerror(r.error) != NULL);
	}
	enum s5_status s2 = s5_parse_request(b, k, &r2, &used2);
	if (s2 != S5_NEED_MORE)
		CHECK(s2 == st && r2.error == r.error && used2 == used && memcmp(&r, &r2, sizeof(r)) == 0);
}

static void check_replies(const uint8_t *d, size_t size)
{
	uint8_t out[S5_MAX_REPLY];
	struct s5_bound bd = {.atyp = size > 0 && (d[0] & 1) ? S5_ATYP_IPV6 : S5_ATYP_IPV4};
	memcpy(bd.addr, d, size < 16 ? size : 16);
	bd.port = size > 17 ? (uint16_t)(d[16] << 8 | d[17]) : 0;
	int n = s5_reply_success(out, sizeof(out), &bd);
	size_t alen = bd.atyp == S5_ATYP_IPV6 ? 16 : 4;
	CHECK(n == (int)(6 + alen) && out[0] == 5 && out[1] == 0 && out[2] == 0 && out[3] == bd.atyp);
	CHECK(memcmp(out + 4, bd.addr, alen) == 0 && (out[4 + alen] << 8 | out[5 + alen]) == bd.port);
	CHECK(s5_reply_success(out, (size_t)n - 1, &bd) == -1);
	enum s5_rep code = (enum s5_rep)(size > 18 ? d[18] : 2);
	n = s5_reply_failure(out, sizeof(out), code);
	CHECK(code == S5_REP_SUCCEEDED ? n == -1 : (n == 10 && out[1] == (uint8_t)code && out[3] == 1));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *b = malloc(size ? size : 1);
	if (!b)
		return 0;
	memcpy(b, data, size);
	size_t k = split_point(b, size);
	check_greeting(b, size, k);
	check_request(b, size, k);
	check_replies(b, size);
	free(b);
	return 0;
}
