// SPDX-License-Identifier: Apache-2.0
/*
 * SOCKS5 (RFC 1928) as the proxy speaks it: no authentication, CONNECT only, names resolved by the
 * proxy (after its allowlist check), never by the client.
 *
 * The parsers are pure functions over the bytes read so far for the current message; they keep no
 * state, never allocate, and never read past `len`. The exchange is: greeting -> method reply
 * (s5_method_reply) -> request -> reply (s5_reply_success / s5_reply_failure) -> tunnel.
 */
#ifndef CORDON_PROXY_SOCKS5_H
#define CORDON_PROXY_SOCKS5_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define S5_VERSION 5
#define S5_METHOD_NOAUTH 0x00
#define S5_METHOD_NONE 0xff /* "no acceptable methods" */
#define S5_CMD_CONNECT 0x01
#define S5_ATYP_IPV4 0x01
#define S5_ATYP_DOMAIN 0x03
#define S5_ATYP_IPV6 0x04
#define S5_MAX_HOST 255
#define S5_MAX_REPLY 22 /* 4 + 16 + 2: the longest reply the builders make */

enum s5_status {
	S5_ERROR = -1,
	S5_NEED_MORE = 0,
	S5_DONE = 1,
};

/* Reply codes (RFC 1928 section 6). */
enum s5_rep {
	S5_REP_SUCCEEDED = 0x00,
	S5_REP_GENERAL_FAILURE = 0x01,
	S5_REP_NOT_ALLOWED = 0x02, /* connection not allowed by ruleset */
	S5_REP_NET_UNREACHABLE = 0x03,
	S5_REP_HOST_UNREACHABLE = 0x04,
	S5_REP_REFUSED = 0x05,
	S5_REP_TTL_EXPIRED = 0x06,
	S5_REP_CMD_UNSUPPORTED = 0x07,
	S5_REP_ATYP_UNSUPPORTED = 0x08,
};

/* Why a message was rejected. For a request, s5_error_reply() gives the code to answer with before
 * closing; a bad greeting gets no reply (the peer is not speaking SOCKS5). */
enum s5_error {
	S5_OK = 0,
	S5_ERR_VERSION,	    /* not 5: no reply */
	S5_ERR_COMMAND,	    /* BIND or UDP ASSOCIATE or unknown: reply 0x07 */
	S5_ERR_RESERVED,    /* RSV not 0: reply 0x01 */
	S5_ERR_ATYP,	    /* unknown address type: reply 0x08 */
	S5_ERR_NAME,	    /* empty name, NUL or a character outside letters, digits, '-', '.': 0x04 */
	S5_ERR_PORT,	    /* port 0: reply 0x04 */
	S5_ERR__COUNT,
};

struct s5_greeting {
	enum s5_error error;
	uint8_t nmethods;
	bool noauth; /* the client offered "no authentication"; if not, answer S5_METHOD_NONE and close */
};

struct s5_request {
	enum s5_error error;
	uint8_t cmd;
	uint8_t atyp;
	/* The destination as text: the name lowercased for S5_ATYP_DOMAIN, the address in its usual
	 * form (inet_ntop, IPv6 without brackets) otherwise. */
	char host[S5_MAX_HOST + 1];
	uint8_t addr[16]; /* the address bytes for IPv4 (4) and IPv6 (16) */
	uint16_t port;	  /* host order */
};

/* The address the proxy's outgoing socket is bound to, for a success reply. */
struct s5_bound {
	uint8_t atyp; /* S5_ATYP_IPV4 or S5_ATYP_IPV6 */
	uint8_t addr[16];
	uint16_t port; /* host order */
};

/* VER NMETHODS METHODS...; *consumed is set on S5_DONE only. */
enum s5_status s5_parse_greeting(const uint8_t *buf, size_t len, struct s5_greeting *g, size_t *consumed);
/* VER CMD RSV ATYP DST.ADDR DST.PORT; *consumed is set on S5_DONE only. */
enum s5_status s5_parse_request(const uint8_t *buf, size_t len, struct s5_request *r, size_t *consumed);

/* The reply code for a request error (S5_REP_GENERAL_FAILURE for S5_ERR_VERSION and unknowns). */
enum s5_rep s5_error_reply(enum s5_error e);
const char *s5_strerror(enum s5_error e);

/* The builders write into out[0..cap) and return the length, or -1 if cap is too small
 * (S5_MAX_REPLY always suffices). */
int s5_method_reply(uint8_t *out, size_t cap, bool accept_noauth);
int s5_reply_success(uint8_t *out, size_t cap, const struct s5_bound *bound);
/* A failure reply (code != S5_REP_SUCCEEDED) carries the address 0.0.0.0:0. */
int s5_reply_failure(uint8_t *out, size_t cap, enum s5_rep code);

#endif
