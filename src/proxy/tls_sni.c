// SPDX-License-Identifier: Apache-2.0
/*
 * The ClientHello's server_name (RFC 8446 section 4.1.2, RFC 6066 section 3). Two passes: the first
 * walks the record headers until the records hold the whole handshake message, checking each header
 * as soon as its bytes arrive; the second reads the ClientHello through a cursor that steps over the
 * record headers, so a split hello is read in place without being copied together.
 */
#include "proxy/tls_sni.h"

#include <string.h>

#define TLS_CT_HANDSHAKE 22
#define TLS_HS_CLIENT_HELLO 1
#define TLS_MAX_RECORD 16384
#define EXT_SERVER_NAME 0x0000
#define EXT_ECH 0xfe0d
#define NAME_TYPE_HOST 0

/* Reads the handshake message, record payload by record payload, within [off, lim) of the message. */
struct cursor {
	const uint8_t *b;
	size_t pos;  /* next byte in b */
	size_t rend; /* end of the current record's payload in b */
	size_t off;  /* offset in the handshake message */
	size_t lim;  /* end of the current container, as an offset in the message */
};

static enum tls_status fail(struct tls_hello *h, enum tls_error e)
{
	h->error = e;
	return TLS_ERROR;
}

/* Moves to the next record's payload when the current one is used up; its header was checked. */
static void cur_step(struct cursor *c)
{
	if (c->pos == c->rend) {
		size_t rlen = (size_t)c->b[c->pos + 3] << 8 | c->b[c->pos + 4];
		c->pos += 5;
		c->rend = c->pos + rlen;
	}
}

static bool cur_u8(struct cursor *c, uint8_t *v)
{
	if (c->off >= c->lim)
		return false;
	cur_step(c);
	*v = c->b[c->pos++];
	c->off++;
	return true;
}

static bool cur_uint(struct cursor *c, size_t nbytes, size_t *v)
{
	uint8_t x;
	*v = 0;
	for (size_t i = 0; i < nbytes; i++) {
		if (!cur_u8(c, &x))
			return false;
		*v = *v << 8 | x;
	}
	return true;
}

static bool cur_skip(struct cursor *c, size_t n)
{
	if (n > c->lim - c->off)
		return false;
	while (n > 0) {
		cur_step(c);
		size_t take = c->rend - c->pos < n ? c->rend - c->pos : n;
		c->pos += take;
		c->off += take;
		n -= take;
	}
	return true;
}

/* The checks on a record header, each as soon as its byte is there. */
static enum tls_status record_header(const uint8_t *p, size_t avail, bool first, size_t *rlen,
				     struct tls_hello *h)
{
	enum tls_error bad = first ? TLS_ERR_NOT_HANDSHAKE : TLS_ERR_RECORD;
	if (avail >= 1 && p[0] != TLS_CT_HANDSHAKE)
		return fail(h, bad);
	if (avail >= 2 && p[1] != 3)
		return fail(h, bad);
	if (avail >= 3 && (p[2] < 1 || p[2] > 4))
		return fail(h, bad);
	if (avail < 5)
		return TLS_NEED_MORE;
	*rlen = (size_t)p[3] << 8 | p[4];
	if (*rlen == 0 || *rlen > TLS_MAX_RECORD)
		return fail(h, TLS_ERR_RECORD);
	return TLS_DONE;
}

/* Looks at the handshake header as soon as its bytes arrive, even in a record not yet complete. */
static enum tls_status hs_header(const uint8_t *hs, size_t have, size_t *need, struct tls_hello *h)
{
	if (have >= 1 && hs[0] != TLS_HS_CLIENT_HELLO)
		return fail(h, TLS_ERR_NOT_CLIENT_HELLO);
	if (have < 4)
		return TLS_NEED_MORE;
	*need = 4 + ((size_t)hs[1] << 16 | (size_t)hs[2] << 8 | hs[3]);
	if (*need + 5 > TLS_SNI_MAX_INPUT)
		return fail(h, TLS_ERR_TOO_LARGE); /* cannot fit, however it is split */
	return TLS_DONE;
}

/* Pass one: how long the ClientHello is (*msg_len) and where the record that ends it ends (*end). */
static enum tls_status find_hello(const uint8_t *b, size_t len, struct tls_hello *h, size_t *msg_len,
				  size_t *end)
{
	size_t n = len < TLS_SNI_MAX_INPUT ? len : TLS_SNI_MAX_INPUT;
	size_t pos = 0, have = 0, need = 0, rlen = 0;
	uint8_t hs[4];
	for (;;) {
		if (need && have >= need) {
			*msg_len = need;
			*end = pos;
			return TLS_DONE;
		}
		enum tls_status st = record_header(b + pos, n - pos, pos == 0, &rlen, h);
		if (st != TLS_DONE)
			break;
		size_t avail = n - pos - 5, got = rlen < avail ? rlen : avail;
		for (size_t i = 0; i < got && have + i < 4; i++)
			hs[have + i] = b[pos + 5 + i];
		if (!need && hs_header(hs, have + got, &need, h) == TLS_ERROR)
			return TLS_ERROR;
		if (got < rlen)
			break;
		have += rlen;
		pos += 5 + rlen;
	}
	if (h->error != TLS_OK)
		return TLS_ERROR;
	return len >= TLS_SNI_MAX_INPUT ? fail(h, TLS_ERR_TOO_LARGE) : TLS_NEED_MORE;
}

/* A host_name: letters, digits, '-', '.' in non-empty labels of at most 63; not an address. */
static bool copy_name(struct cursor *c, size_t n, char *out)
{
	size_t label = 0;
	bool digits = true;
	if (n == 0 || n > TLS_SNI_MAX_NAME)
		return false;
	for (size_t i = 0; i < n; i++) {
		uint8_t ch;
		if (!cur_u8(c, &ch))
			return false;
		if (ch >= 'A' && ch <= 'Z')
			ch = (uint8_t)(ch + 32);
		if (ch == '.') {
			if (label == 0)
				return false;
			label = 0;
			digits = true;
		} else if ((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-') {
			if (++label > 63)
				return false;
			digits = digits && ch >= '0' && ch <= '9';
		} else {
			return false;
		}
		out[i] = (char)ch;
	}
	out[n] = '\0';
	/* No trailing dot, and no IP literal: RFC 6066 allows neither. */
	return label > 0 && !digits;
}

/* ServerNameList within an extension of ext_len bytes. */
static enum tls_error parse_server_name(struct cursor *c, size_t ext_len, struct tls_hello *h)
{
	size_t list_len, type, name_len, outer = c->lim;
	if (ext_len < 2 || !cur_uint(c, 2, &list_len) || list_len != ext_len - 2)
		return TLS_ERR_LENGTH;
	c->lim = c->off + list_len;
	while (c->off < c->lim) {
		if (!cur_uint(c, 1, &type) || !cur_uint(c, 2, &name_len) || name_len > c->lim - c->off)
			return TLS_ERR_LENGTH;
		if (type != NAME_TYPE_HOST) {
			cur_skip(c, name_len);
			continue;
		}
		if (h->has_sni)
			return TLS_ERR_DUPLICATE;
		if (!copy_name(c, name_len, h->sni))
			return TLS_ERR_NAME;
		h->has_sni = true;
	}
	c->lim = outer;
	return TLS_OK;
}

static enum tls_error parse_extensions(struct cursor *c, struct tls_hello *h)
{
	size_t total, type, elen;
	bool seen_sni = false;
	if (c->off == c->lim)
		return TLS_OK; /* no extensions at all */
	if (!cur_uint(c, 2, &total) || total != c->lim - c->off)
		return TLS_ERR_LENGTH;
	while (c->off < c->lim) {
		if (!cur_uint(c, 2, &type) || !cur_uint(c, 2, &elen) || elen > c->lim - c->off)
			return TLS_ERR_LENGTH;
		if (type == EXT_SERVER_NAME) {
			if (seen_sni)
				return TLS_ERR_DUPLICATE;
			seen_sni = true;
			enum tls_error e = parse_server_name(c, elen, h);
			if (e != TLS_OK)
				return e;
			continue;
		}
		if (type == EXT_ECH)
			h->has_ech = true;
		cur_skip(c, elen);
	}
	return TLS_OK;
}

/* Pass two: the ClientHello body, legacy_version to extensions. */
static enum tls_error parse_hello(const uint8_t *b, size_t msg_len, struct tls_hello *h)
{
	struct cursor c = {.b = b, .pos = 0, .rend = 0, .off = 0, .lim = msg_len};
	size_t v, n;
	if (!cur_skip(&c, 4) || !cur_uint(&c, 2, &v) || !cur_skip(&c, 32))
		return TLS_ERR_LENGTH;
	h->version = (uint16_t)v;
	if (!cur_uint(&c, 1, &n) || n > 32 || !cur_skip(&c, n)) /* legacy_session_id */
		return TLS_ERR_LENGTH;
	if (!cur_uint(&c, 2, &n) || n < 2 || n % 2 || !cur_skip(&c, n)) /* cipher_suites */
		return TLS_ERR_LENGTH;
	if (!cur_uint(&c, 1, &n) || n < 1 || !cur_skip(&c, n)) /* legacy_compression_methods */
		return TLS_ERR_LENGTH;
	return parse_extensions(&c, h);
}

enum tls_status tls_sni_parse(const uint8_t *buf, size_t len, struct tls_hello *h, size_t *consumed)
{
	size_t msg_len = 0, end = 0;
	*consumed = 0;
	memset(h, 0, sizeof(*h));
	enum tls_status st = find_hello(buf, len, h, &msg_len, &end);
	if (st != TLS_DONE)
		return st;
	enum tls_error e = parse_hello(buf, msg_len, h);
	if (e != TLS_OK) {
		h->has_sni = false;
		h->sni[0] = '\0';
		return fail(h, e);
	}
	*consumed = end;
	return TLS_DONE;
}

const char *tls_sni_strerror(enum tls_error e)
{
	static const char *const names[TLS_ERR__COUNT] = {
		[TLS_OK] = "no error",
		[TLS_ERR_NOT_HANDSHAKE] = "not a TLS handshake record",
		[TLS_ERR_RECORD] = "bad TLS record header",
		[TLS_ERR_NOT_CLIENT_HELLO] = "first handshake message is not a ClientHello",
		[TLS_ERR_TOO_LARGE] = "ClientHello too large",
		[TLS_ERR_LENGTH] = "ClientHello length overruns its container",
		[TLS_ERR_DUPLICATE] = "duplicate server_name",
		[TLS_ERR_NAME] = "invalid server name",
	};
	return ((unsigned)e < TLS_ERR__COUNT && names[e]) ? names[e] : "unknown error";
}
