// SPDX-License-Identifier: Apache-2.0
/*
 * The DNS stub of transparent mode: it parses queries (RFC 1035) and answers only allowlisted names,
 * with addresses the supervisor resolved itself. Nothing is forwarded, so the parser accepts only
 * the plain shape a stub resolver sends: a standard query with exactly one question, no answer or
 * authority records, and a QNAME without compression. Additional records (an EDNS OPT) are allowed
 * and ignored; the responses carry none.
 *
 * dns_parse_query() takes one whole message (a UDP datagram) and never returns DNS_NEED_MORE;
 * dns_parse_query_tcp() takes a TCP stream's bytes (a two-byte length, then the message). Both are
 * pure: no state, no allocation, nothing read past `len`.
 *
 * What to do on an error: DNS_ERR_NAME (a well-formed query for a name that cannot be allowlisted)
 * leaves the query fully filled in but `name`, so the server can answer REFUSED with
 * dns_build_response(); on any other error the message is not a query it can answer, so it drops it.
 */
#ifndef CORDON_PROXY_DNS_QUERY_H
#define CORDON_PROXY_DNS_QUERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DNS_MAX_QUERY 512	     /* bytes of a query message (without the TCP length) */
#define DNS_MAX_NAME 253	     /* text form, without a trailing dot */
#define DNS_MAX_QUESTION (255 + 4) /* wire QNAME plus QTYPE and QCLASS */
#define DNS_HEADER_LEN 12

#define DNS_TYPE_A 1
#define DNS_TYPE_AAAA 28
#define DNS_CLASS_IN 1

enum dns_rcode {
	DNS_RCODE_NOERROR = 0,
	DNS_RCODE_FORMERR = 1,
	DNS_RCODE_SERVFAIL = 2,
	DNS_RCODE_NXDOMAIN = 3,
	DNS_RCODE_NOTIMP = 4,
	DNS_RCODE_REFUSED = 5,
};

enum dns_status {
	DNS_ERROR = -1,
	DNS_NEED_MORE = 0,
	DNS_DONE = 1,
};

enum dns_error {
	DNS_OK = 0,
	DNS_ERR_SHORT,	  /* shorter than its header and question */
	DNS_ERR_TOO_LONG, /* longer than DNS_MAX_QUERY */
	DNS_ERR_NOT_QUERY, /* QR set, or an opcode other than QUERY */
	DNS_ERR_COUNTS,	  /* QDCOUNT != 1, or answer or authority records */
	DNS_ERR_POINTER,  /* a compression pointer (or reserved label type) in the QNAME */
	DNS_ERR_NAME_LENGTH, /* the name exceeds 255 wire bytes or 253 text bytes */
	DNS_ERR_NAME,	  /* a label with a byte outside letters, digits, '-', '_' (answer REFUSED) */
	DNS_ERR__COUNT,
};

struct dns_query {
	enum dns_error error;
	uint16_t id;
	uint16_t flags; /* as received */
	bool rd;
	uint16_t qtype;
	uint16_t qclass;
	char name[DNS_MAX_NAME + 1]; /* lowercased, no trailing dot; "" for the root */
	/* The question exactly as received (the client may randomise the name's case, RFC 0x20 draft,
	 * and checks it comes back unchanged). */
	uint8_t question[DNS_MAX_QUESTION];
	uint16_t question_len;
	uint16_t msg_len; /* the whole message, additional records included */
};

enum dns_status dns_parse_query(const uint8_t *msg, size_t len, struct dns_query *q);
/* On DNS_DONE *consumed is 2 + the message's length; the caller answers with the same framing. */
enum dns_status dns_parse_query_tcp(const uint8_t *buf, size_t len, struct dns_query *q, size_t *consumed);

/*
 * Builds a response to q in out[0..cap) and returns its length, or -1 if the header and question do
 * not fit. It echoes the ID and the question, sets QR and RA and copies RD.
 *   dns_build_answer: NOERROR with one A or AAAA record per address (q->qtype says which: 4 or 16
 *   bytes each), TTL `ttl`; addresses that do not fit in cap are left out (a response of 512 bytes
 *   always holds at least 14 A or 8 AAAA records), so the response stays valid for UDP.
 *   dns_build_response: no answers, with rcode NOERROR (the name exists but has no address of that
 *   type), NXDOMAIN or REFUSED.
 */
int dns_build_answer(const struct dns_query *q, const uint8_t *addrs, size_t naddrs, uint32_t ttl,
		     uint8_t *out, size_t cap);
int dns_build_response(const struct dns_query *q, enum dns_rcode rcode, uint8_t *out, size_t cap);

const char *dns_strerror(enum dns_error e);

#endif
