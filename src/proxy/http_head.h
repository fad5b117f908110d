// SPDX-License-Identifier: Apache-2.0
/*
 * HTTP/1.x request heads, as the filtering proxy receives them from inside the sandbox: forward-proxy
 * requests (CONNECT host:port, absolute-form http://host/...) and, in transparent mode, origin-form
 * requests whose destination is the Host header.
 *
 * The parser is a pure function over the bytes read so far from the start of the connection. It keeps
 * no state between calls: the caller appends what it reads and calls again. It never allocates and
 * never reads past `len`. Every line must end in CRLF (a bare LF or bare CR is an error, so that the
 * proxy and the upstream server cannot split the head differently).
 *
 * Errors and the status the proxy should answer with (http_head_status()):
 *   400  everything not listed below (bad syntax, bad host or port, Host missing/duplicated/
 *        disagreeing, obs-fold, NUL, bare CR/LF, bad header name, whitespace before the colon,
 *        bad Content-Length, Transfer-Encoding together with Content-Length)
 *   414  HH_ERR_LINE_TOO_LONG: the request line is longer than HH_MAX_REQUEST_LINE
 *   431  HH_ERR_HEAD_TOO_LARGE, HH_ERR_TOO_MANY_HEADERS
 *   501  HH_ERR_SCHEME (absolute-form with a scheme other than http), HH_ERR_TRANSFER_CODING
 *        (a Transfer-Encoding other than a single "chunked")
 *   505  HH_ERR_VERSION (anything but HTTP/1.0 and HTTP/1.1)
 */
#ifndef CORDON_PROXY_HTTP_HEAD_H
#define CORDON_PROXY_HTTP_HEAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HH_MAX_REQUEST_LINE 8192 /* bytes before the request line's CRLF */
#define HH_MAX_HEAD 32768	  /* the whole head, request line to the empty line's CRLF inclusive */
#define HH_MAX_HEADERS 100	  /* header lines */
#define HH_MAX_HOST 255		  /* host name text, without brackets */

enum hh_status {
	HH_ERROR = -1,
	HH_NEED_MORE = 0,
	HH_DONE = 1,
};

enum hh_error {
	HH_OK = 0,
	HH_ERR_LINE_TOO_LONG,	 /* 414 */
	HH_ERR_HEAD_TOO_LARGE,	 /* 431 */
	HH_ERR_TOO_MANY_HEADERS, /* 431 */
	HH_ERR_SCHEME,		 /* 501 */
	HH_ERR_TRANSFER_CODING,	 /* 501 */
	HH_ERR_VERSION,		 /* 505 */
	HH_ERR_REQUEST_LINE,	 /* 400 from here on */
	HH_ERR_METHOD,
	HH_ERR_TARGET,
	HH_ERR_BARE_CR,
	HH_ERR_BARE_LF,
	HH_ERR_NUL,
	HH_ERR_CTL,
	HH_ERR_OBS_FOLD,
	HH_ERR_HEADER_NAME,
	HH_ERR_SPACE_BEFORE_COLON,
	HH_ERR_HOST,
	HH_ERR_PORT,
	HH_ERR_USERINFO,
	HH_ERR_HOST_MISSING,
	HH_ERR_HOST_DUPLICATE,
	HH_ERR_HOST_MISMATCH,
	HH_ERR_CONTENT_LENGTH,
	HH_ERR_TE_WITH_CL,
	HH_ERR__COUNT,
};

/* Which of the request-target forms (RFC 9112 section 3.2) the request used. */
enum hh_form {
	HH_FORM_ORIGIN = 1, /* "/path?q": transparent mode; the host comes from the Host header */
	HH_FORM_ABSOLUTE,   /* "http://host[:port]/path" */
	HH_FORM_AUTHORITY,  /* "host:port", CONNECT only */
};

enum hh_host_kind {
	HH_HOST_NONE = 0, /* no host known (HTTP/1.0 origin-form without Host) */
	HH_HOST_NAME,	  /* letters, digits, '-', '.', lowercased */
	HH_HOST_IPV4,	  /* dotted quad */
	HH_HOST_IPV6,	  /* the text between the brackets, lowercased */
};

/* A byte range of the caller's buffer. */
struct hh_span {
	uint32_t off;
	uint32_t len;
};

struct hh_request {
	enum hh_error error; /* HH_OK unless the status was HH_ERROR */
	enum hh_form form;
	bool connect;		/* the method is CONNECT (then form is HH_FORM_AUTHORITY) */
	int minor;		/* HTTP/1.<minor>: 0 or 1 */
	struct hh_span method;
	struct hh_span target;
	/* The origin-form target to send upstream: for origin-form the target itself, for absolute-form
	 * the part after the authority. When path_slash is set the span is empty or starts with '?' and
	 * the caller must send "/" before it. Empty for CONNECT. */
	struct hh_span path;
	bool path_slash;
	/* Destination: from the target for CONNECT and absolute-form, from Host for origin-form. */
	enum hh_host_kind host_kind;
	char host[HH_MAX_HOST + 1];
	uint16_t port; /* 80 when absent from absolute-form or Host */
	bool has_host_header;
	bool has_content_length;
	uint64_t content_length;
	bool chunked; /* Transfer-Encoding: chunked */
	uint32_t headers_off; /* first byte of the first header line */
	uint32_t nheaders;
	uint32_t head_len; /* through the empty line's CRLF */
};

/*
 * Parses the request head at the start of buf[0..len). On HH_DONE, *consumed is the head's length
 * (the body or tunnelled bytes follow it); otherwise *consumed is 0. On HH_ERROR, req->error says why.
 * `req` is filled only as far as parsing got; its other fields are meaningful only on HH_DONE.
 */
enum hh_status http_head_parse(const uint8_t *buf, size_t len, struct hh_request *req, size_t *consumed);

/* The HTTP status code to answer an error with (400, 414, 431, 501 or 505); 0 for HH_OK. */
int http_head_status(enum hh_error e);
/* A short static description of an error, for logs and the audit record. */
const char *http_head_strerror(enum hh_error e);

#endif
