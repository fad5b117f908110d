// SPDX-License-Identifier: Apache-2.0
/*
 * The server name a TLS client asks for, from the first bytes of its connection (transparent mode):
 * TLS records of type handshake carrying a ClientHello, whose server_name extension (RFC 6066) holds
 * the host_name. The ClientHello may be split across several records; all of it must arrive within
 * the first TLS_SNI_MAX_INPUT bytes of the connection.
 *
 * A pure function over the bytes read so far: no state between calls, no allocation, nothing read
 * past `len`. Every length is checked against the one that contains it.
 */
#ifndef CORDON_PROXY_TLS_SNI_H
#define CORDON_PROXY_TLS_SNI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TLS_SNI_MAX_INPUT 16384 /* bytes of records, headers included, that may carry the ClientHello */
#define TLS_SNI_MAX_NAME 253

enum tls_status {
	TLS_ERROR = -1,
	TLS_NEED_MORE = 0,
	TLS_DONE = 1,
};

enum tls_error {
	TLS_OK = 0,
	TLS_ERR_NOT_HANDSHAKE, /* the first record is not a TLS handshake record (maybe not TLS at all) */
	TLS_ERR_RECORD,	       /* a later record is not a handshake, a bad version, or a bad length */
	TLS_ERR_NOT_CLIENT_HELLO,
	TLS_ERR_TOO_LARGE,     /* the ClientHello does not end within TLS_SNI_MAX_INPUT */
	TLS_ERR_LENGTH,	       /* a length inside the ClientHello overruns its container */
	TLS_ERR_DUPLICATE,     /* a repeated extension, or two host_name entries */
	TLS_ERR_NAME,	       /* an empty or invalid host_name */
	TLS_ERR__COUNT,
};

struct tls_hello {
	enum tls_error error;
	uint16_t version; /* legacy_version of the ClientHello */
	bool has_sni;
	char sni[TLS_SNI_MAX_NAME + 1]; /* lowercased; "" without a server_name host_name */
	bool has_ech;			/* encrypted_client_hello: the SNI is only the public name */
};

/*
 * Parses the records at the start of buf[0..len). On TLS_DONE the whole ClientHello was read and
 * *consumed is the length of the records that carried it (which the proxy then forwards unchanged,
 * with what follows); otherwise *consumed is 0. A ClientHello without server_name is TLS_DONE with
 * has_sni false.
 */
enum tls_status tls_sni_parse(const uint8_t *buf, size_t len, struct tls_hello *h, size_t *consumed);

const char *tls_sni_strerror(enum tls_error e);

#endif
