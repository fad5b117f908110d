// SPDX-License-Identifier: Apache-2.0
/* DNS queries and the stub's responses (RFC 1035 sections 4.1 and 3.1). */
#include "proxy/dns_query.h"

#include <string.h>

#define FLAG_QR 0x8000
#define FLAG_OPCODE 0x7800
#define FLAG_RD 0x0100
#define FLAG_RA 0x0080
#define ANSWER_FIXED 12 /* pointer, type, class, ttl, rdlength */

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static enum dns_status fail(struct dns_query *q, enum dns_error e)
{
	q->error = e;
	return DNS_ERROR;
}

static bool name_byte_ok(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

/*
 * The QNAME at msg[DNS_HEADER_LEN..len): labels of 1-63 bytes ending in the root label. Sets *wire
 * to its length. Character errors are reported only after the name's structure has been checked, so
 * that DNS_ERR_NAME means "well-formed but not a name we serve".
 */
static enum dns_error parse_qname(const uint8_t *msg, size_t len, char *name, size_t *wire)
{
	size_t p = DNS_HEADER_LEN, t = 0;
	bool bad_char = false;
	for (;;) {
		if (p >= len)
			return DNS_ERR_SHORT;
		uint8_t l = msg[p];
		if (l & 0xc0)
			return DNS_ERR_POINTER; /* 0xc0 pointer; 0x40 and 0x80 are reserved */
		if (l == 0)
			break;
		if (p + 1 + l - DNS_HEADER_LEN > 254) /* leaves room for the root label within 255 */
			return DNS_ERR_NAME_LENGTH;
		if (p + 1 + l > len)
			return DNS_ERR_SHORT;
		if (t + (t > 0) + l > DNS_MAX_NAME)
			return DNS_ERR_NAME_LENGTH;
		if (t > 0)
			name[t++] = '.';
		for (size_t i = 0; i < l; i++) {
			uint8_t c = msg[p + 1 + i];
			c = (c >= 'A' && c <= 'Z') ? (uint8_t)(c + 32) : c;
			bad_char = bad_char || !name_byte_ok(c);
			name[t++] = (char)c;
		}
		p += 1 + (size_t)l;
	}
	name[t] = '\0';
	*wire = p + 1 - DNS_HEADER_LEN;
	return bad_char ? DNS_ERR_NAME : DNS_OK;
}

static enum dns_error parse_header(const uint8_t *msg, size_t len, struct dns_query *q)
{
	if (len > DNS_MAX_QUERY)
		return DNS_ERR_TOO_LONG;
	if (len < DNS_HEADER_LEN)
		return DNS_ERR_SHORT;
	q->id = get16(msg);
	q->flags = get16(msg + 2);
	q->rd = (q->flags & FLAG_RD) != 0;
	if ((q->flags & FLAG_QR) || (q->flags & FLAG_OPCODE))
		return DNS_ERR_NOT_QUERY;
	if (get16(msg + 4) != 1 || get16(msg + 6) != 0 || get16(msg + 8) != 0)
		return DNS_ERR_COUNTS;
	return DNS_OK;
}

enum dns_status dns_parse_query(const uint8_t *msg, size_t len, struct dns_query *q)
{
	memset(q, 0, sizeof(*q));
	enum dns_error e = parse_header(msg, len, q);
	if (e != DNS_OK)
		return fail(q, e);
	size_t wire = 0;
	e = parse_qname(msg, len, q->name, &wire);
	if (e != DNS_OK && e != DNS_ERR_NAME) {
		q->name[0] = '\0';
		return fail(q, e);
	}
	if (DNS_HEADER_LEN + wire + 4 > len) {
		q->name[0] = '\0';
		return fail(q, DNS_ERR_SHORT);
	}
	q->qtype = get16(msg + DNS_HEADER_LEN + wire);
	q->qclass = get16(msg + DNS_HEADER_LEN + wire + 2);
	q->question_len = (uint16_t)(wire + 4);
	memcpy(q->question, msg + DNS_HEADER_LEN, q->question_len);
	q->msg_len = (uint16_t)len;
	if (e == DNS_ERR_NAME) {
		q->name[0] = '\0';
		return fail(q, e);
	}
	return DNS_DONE;
}

enum dns_status dns_parse_query_tcp(const uint8_t *buf, size_t len, struct dns_query *q, size_t *consumed)
{
	*consumed = 0;
	memset(q, 0, sizeof(*q));
	if (len < 2)
		return DNS_NEED_MORE;
	size_t mlen = get16(buf);
	if (mlen > DNS_MAX_QUERY)
		return fail(q, DNS_ERR_TOO_LONG); /* known before the message arrives */
	if (len < 2 + mlen)
		return DNS_NEED_MORE;
	enum dns_status st = dns_parse_query(buf + 2, mlen, q);
	if (st == DNS_DONE)
		*consumed = 2 + mlen;
	return st;
}

/* Header and question; returns the length written or -1. */
static int put_head(const struct dns_query *q, enum dns_rcode rcode, uint16_t ancount, uint8_t *out,
		    size_t cap)
{
	size_t n = DNS_HEADER_LEN + q->question_len;
	if (q->question_len == 0 || cap < n)
		return -1;
	put16(out, q->id);
	put16(out + 2, (uint16_t)(FLAG_QR | FLAG_RA | (q->rd ? FLAG_RD : 0) | ((unsigned)rcode & 0xf)));
	put16(out + 4, 1);
	put16(out + 6, ancount);
	put16(out + 8, 0);
	put16(out + 10, 0);
	memcpy(out + DNS_HEADER_LEN, q->question, q->question_len);
	return (int)n;
}

int dns_build_response(const struct dns_query *q, enum dns_rcode rcode, uint8_t *out, size_t cap)
{
	return put_head(q, rcode, 0, out, cap);
}

int dns_build_answer(const struct dns_query *q, const uint8_t *addrs, size_t naddrs, uint32_t ttl,
		     uint8_t *out, size_t cap)
{
	size_t alen = q->qtype == DNS_TYPE_AAAA ? 16 : q->qtype == DNS_TYPE_A ? 4 : 0;
	if (alen == 0)
		return -1;
	int head = put_head(q, DNS_RCODE_NOERROR, 0, out, cap);
	if (head < 0)
		return -1;
	size_t n = (size_t)head, fit = (cap - n) / (ANSWER_FIXED + alen);
	ttl &= 0x7fffffff; /* RFC 2181 section 8: the top bit is zero */
	if (fit > naddrs)
		fit = naddrs;
	if (fit > UINT16_MAX)
		fit = UINT16_MAX;
	for (size_t i = 0; i < fit; i++) {
		uint8_t *rr = out + n;
		put16(rr, 0xc000 | DNS_HEADER_LEN); /* the name: a pointer to the question's */
		put16(rr + 2, q->qtype);
		put16(rr + 4, q->qclass);
		put16(rr + 6, (uint16_t)(ttl >> 16));
		put16(rr + 8, (uint16_t)ttl);
		put16(rr + 10, (uint16_t)alen);
		memcpy(rr + ANSWER_FIXED, addrs + i * alen, alen);
		n += ANSWER_FIXED + alen;
	}
	put16(out + 6, (uint16_t)fit);
	return (int)n;
}

const char *dns_strerror(enum dns_error e)
{
	static const char *const names[DNS_ERR__COUNT] = {
		[DNS_OK] = "no error",
		[DNS_ERR_SHORT] = "message too short",
		[DNS_ERR_TOO_LONG] = "message too long",
		[DNS_ERR_NOT_QUERY] = "not a standard query",
		[DNS_ERR_COUNTS] = "not exactly one question and nothing else",
		[DNS_ERR_POINTER] = "compression pointer in a query name",
		[DNS_ERR_NAME_LENGTH] = "name too long",
		[DNS_ERR_NAME] = "name with characters that are never allowlisted",
	};
	return ((unsigned)e < DNS_ERR__COUNT && names[e]) ? names[e] : "unknown error";
}
