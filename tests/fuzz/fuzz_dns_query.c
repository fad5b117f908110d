// SPDX-License-Identifier: Apache-2.0
/*
 * libFuzzer target: DNS queries and the stub's responses. The input is parsed as a datagram and, with
 * a two-byte length in front, as a TCP stream cut at a point chosen from the input (NEED_MORE or the
 * same result). Every query that can be answered is answered in each way, and the responses are
 * decoded again: same ID and question, QR and RA set, RD copied, the counts matching the length.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "proxy/dns_query.h"

static void check_response(const struct dns_query *q, const uint8_t *r, int n, int rcode, size_t rrlen)
{
	CHECK(n >= DNS_HEADER_LEN + q->question_len);
	CHECK((r[0] << 8 | r[1]) == q->id && (r[2] & 0x80) && (r[3] & 0x80) && (r[3] & 0xf) == rcode);
	CHECK(((r[2] & 1) != 0) == q->rd && (r[4] << 8 | r[5]) == 1 && (r[8] | r[9] | r[10] | r[11]) == 0);
	CHECK(memcmp(r + DNS_HEADER_LEN, q->question, q->question_len) == 0);
	size_t an = (size_t)(r[6] << 8 | r[7]);
	CHECK((size_t)n == DNS_HEADER_LEN + q->question_len + an * rrlen);
}

static void answer(const struct dns_query *q, const uint8_t *d, size_t size)
{
	uint8_t out[512];
	static const enum dns_rcode codes[] = {DNS_RCODE_NOERROR, DNS_RCODE_NXDOMAIN, DNS_RCODE_REFUSED};
	for (size_t i = 0; i < 3; i++) {
		int n = dns_build_response(q, codes[i], out, sizeof(out));
		check_response(q, out, n, (int)codes[i], 0);
	}
	size_t alen = q->qtype == DNS_TYPE_A ? 4 : q->qtype == DNS_TYPE_AAAA ? 16 : 0;
	size_t naddrs = alen ? size / alen : 0;
	size_t cap = size ? 12 + d[0] * 2u : 512;
	int n = dns_build_answer(q, d, naddrs, 3600, out, cap < sizeof(out) ? cap : sizeof(out));
	if (alen == 0 || cap < DNS_HEADER_LEN + (size_t)q->question_len)
		CHECK(n == -1);
	else
		check_response(q, out, n, 0, 12 + alen);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *b = malloc(size ? size : 1);
	uint8_t *t = malloc(size + 2);
	if (!b || !t)
		goto out;
	memcpy(b, data, size);
	struct dns_query q, q2;
	enum dns_status st = dns_parse_query(b, size, &q);
	CHECK(st == DNS_DONE || st == DNS_ERROR);
	if (st == DNS_DONE) {
		CHECK(size <= DNS_MAX_QUERY && q.msg_len == size && q.error == DNS_OK);
		CHECK(q.question_len >= 5 && q.question_len <= DNS_MAX_QUESTION && strlen(q.name) <= DNS_MAX_NAME);
	}
	if (st == DNS_DONE || q.error == DNS_ERR_NAME)
		answer(&q, b, size);
	else
		CHECK(q.question_len == 0 && dns_build_response(&q, DNS_RCODE_REFUSED, b, size) == -1);

	/* The same message over TCP, cut short. */
	size_t mlen = size & 0xffff, used, used2;
	t[0] = (uint8_t)(mlen >> 8), t[1] = (uint8_t)mlen;
	memcpy(t + 2, data, size);
	enum dns_status ts = dns_parse_query_tcp(t, size + 2, &q2, &used);
	CHECK(used <= size + 2 && (ts == DNS_DONE) == (used != 0));
	if (ts == DNS_DONE)
		CHECK(used == mlen + 2);
	size_t k = split_point(t, size + 2);
	enum dns_status s2 = dns_parse_query_tcp(t, k, &q, &used2);
	if (s2 != DNS_NEED_MORE)
		CHECK(s2 == ts && q.error == q2.error && used2 == used && memcmp(&q, &q2, sizeof(q)) == 0);
out:
	free(b);
	free(t);
	return 0;
}
