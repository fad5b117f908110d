// SPDX-License-Identifier: Apache-2.0
#include "core/allowlist.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/error.h"

/* Longer arguments are refused before any parsing: no valid rule comes close. */
#define RULE_TEXT_MAX 512
#define NAME_MAX_LEN 253
#define LABEL_MAX_LEN 63

enum host_kind {
	HOST_NAME,      /* exact name, lower case, no trailing dot */
	HOST_SUFFIX,    /* *.example.com, stored as ".example.com" */
	HOST_IP,        /* an address or CIDR block; a bare address has the full prefix */
	HOST_LOCALHOST, /* localhost:PORT: 127.0.0.1 and ::1 (and the name) on that port only */
};

enum port_kind { PORTS_DEFAULT, PORTS_ANY, PORTS_ONE };

struct ipaddr {
	int family; /* 4 or 6 */
	uint8_t b[16];
};

struct al_rule {
	enum al_kind kind;
	enum host_kind host;
	enum port_kind ports;
	uint16_t port;
	unsigned prefix;
	struct ipaddr ip;
	char name[NAME_MAX_LEN + 3]; /* HOST_SUFFIX's leading dot, the name, NUL */
	char text[];
};

/* ---- character classes, without <ctype.h>'s locale */

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int hex_value(char c)
{
	if (is_digit(c))
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static char to_lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

/* ---- IP literals, as strict as inet_pton(): what it accepts, a resolver would too */

static bool parse_ipv4(const char *s, const char *end, uint8_t out[4])
{
	for (int n = 0; n < 4; n++) {
		if (n > 0 && (s >= end || *s++ != '.'))
			return false;
		const char *start = s;
		unsigned v = 0;
		while (s < end && is_digit(*s) && v <= 255)
			v = v * 10 + (unsigned)(*s++ - '0');
		/* No digits, too big, or a leading zero (inet_aton would read "010" as octal). */
		if (s == start || v > 255 || (s - start > 1 && *start == '0'))
			return false;
		out[n] = (uint8_t)v;
	}
	return s == end;
}

static bool parse_group(const char *s, const char *end, uint8_t out[2])
{
	unsigned v = 0;
	if (s == end || end - s > 4)
		return false;
	for (; s < end; s++) {
		int h = hex_value(*s);
		if (h < 0)
			return false;
		v = v << 4 | (unsigned)h;
	}
	out[0] = (uint8_t)(v >> 8);
	out[1] = (uint8_t)v;
	return true;
}

/* Reads groups into b; *gap is where "::" stood (-1: nowhere). Returns the bytes read, -1 if bad. */
static int ipv6_groups(const char *s, const char *end, uint8_t b[16], int *gap)
{
	int n = 0;
	*gap = -1;
	if (end - s >= 2 && s[0] == ':' && s[1] == ':') {
		*gap = 0;
		s += 2;
	}
	while (s < end) {
		const char *colon = memchr(s, ':', (size_t)(end - s));
		const char *gend = colon ? colon : end;
		if (!colon && memchr(s, '.', (size_t)(gend - s)))
			return n <= 12 && parse_ipv4(s, gend, b + n) ? n + 4 : -1;
		if (n > 14 || !parse_group(s, gend, b + n))
			return -1;
		n += 2;
		if (!colon)
			break;
		s = colon + 1;
		if (s < end && *s == ':') {
			if (*gap >= 0)
				return -1;
			*gap = n;
			s++;
		} else if (s == end) {
			return -1; /* a single trailing colon */
		}
	}
	return n;
}

static bool parse_ipv6(const char *s, const char *end, uint8_t out[16])
{
	uint8_t b[16] = {0};
	int gap;
	int n = ipv6_groups(s, end, b, &gap);
	/* Without "::" all eight groups are needed; with it, "::" must stand for at least one. */
	if (n < 0 || (gap < 0 && n != 16) || (gap >= 0 && n > 14))
		return false;
	if (gap < 0) {
		memcpy(out, b, 16);
		return true;
	}
	size_t tail = (size_t)(n - gap);
	memset(out, 0, 16);
	memcpy(out, b, (size_t)gap);
	memcpy(out + 16 - tail, b + gap, tail);
	return true;
}

int allowlist_parse_ip(const char *s, uint8_t out[16])
{
	const char *end = s + strlen(s);
	if (parse_ipv4(s, end, out))
		return 4;
	if (memchr(s, ':', (size_t)(end - s)) && parse_ipv6(s, end, out))
		return 6;
	return 0;
}

static const uint8_t v4_mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

/* ::ffff:a.b.c.d is an IPv4 connection: it is matched as a.b.c.d, so that an IPv4 --deny cannot be
 * stepped around by writing the address as IPv6. */
static void unmap_v4(struct ipaddr *a, unsigned *prefix)
{
	if (a->family != 6 || memcmp(a->b, v4_mapped, 12) != 0 || *prefix < 96)
		return;
	memmove(a->b, a->b + 12, 4);
	memset(a->b + 4, 0, 12);
	a->family = 4;
	*prefix -= 96;
}

static bool prefix_match(const uint8_t *a, const uint8_t *net, unsigned prefix)
{
	unsigned whole = prefix / 8, rest = prefix % 8;
	if (memcmp(a, net, whole) != 0)
		return false;
	if (!rest)
		return true;
	uint8_t mask = (uint8_t)(0xff << (8 - rest));
	return (a[whole] & mask) == (net[whole] & mask);
}

static bool host_bits_zero(const struct ipaddr *a, unsigned prefix)
{
	unsigned len = a->family == 4 ? 4 : 16;
	for (unsigned i = prefix; i < len * 8; i++)
		if (a->b[i / 8] & (0x80 >> (i % 8)))
			return false;
	return true;
}

/* ---- host names */

/* Checks a lower-cased name without a trailing dot. NULL if valid, else why not. */
static const char *name_problem(const char *name)
{
	size_t len = strlen(name), label = 0;
	if (len == 0)
		return "empty host name";
	if (len > NAME_MAX_LEN)
		return "host name longer than 253 characters";
	const char *last = name;
	for (const char *p = name;; p++) {
		if (*p == '.' || *p == '\0') {
			if (label == 0)
				return "empty label in host name";
			if (label > LABEL_MAX_LEN)
				return "label longer than 63 characters";
			if (p[-1] == '-' || *(p - label) == '-')
				return "label starts or ends with `-`";
			if (!*p)
				break;
			last = p + 1;
			label = 0;
			continue;
		}
		if (!is_alpha(*p) && !is_digit(*p) && *p != '-' && *p != '_')
			return "host name may hold only letters, digits, `-`, `_` and dots";
		label++;
	}
	/* A numeric last label makes getaddrinfo() read the name as an address ("10.1", "0x7f.1"). */
	if (!is_alpha(*last))
		return "the last label of a host name must start with a letter";
	return NULL;
}

/* Lower-cases src into dst (NAME_MAX_LEN + 2 bytes) and drops one trailing dot. false if too long. */
static bool normalise_name(const char *src, size_t len, char *dst)
{
	if (len > 0 && src[len - 1] == '.')
		len--;
	if (len > NAME_MAX_LEN)
		return false;
	for (size_t i = 0; i < len; i++)
		dst[i] = to_lower(src[i]);
	dst[len] = '\0';
	return true;
}

static bool is_localhost(const char *name)
{
	size_t n = strlen(name);
	return strcmp(name, "localhost") == 0 || (n > 10 && strcmp(name + n - 10, ".localhost") == 0);
}

/* ---- rule parsing */

/* The parts of an argument: addr[/prefix][:port], or [addr][/prefix][:port] for IPv6. */
struct parts {
	char buf[RULE_TEXT_MAX + 1];
	char *addr, *prefix, *port;
	bool bracketed, bare_v6;
};

static int split_bracketed(struct parts *p, struct cordon_error **err)
{
	char *close = strchr(p->buf, ']');
	if (!close)
		return cerr_set(err, EINVAL, "missing `]` after the IPv6 address");
	*close = '\0';
	p->addr = p->buf + 1;
	p->bracketed = true;
	char *rest = close + 1;
	if (*rest == '/') {
		*rest++ = '\0';
		p->prefix = rest;
		rest += strcspn(rest, ":");
	}
	if (*rest == ':') {
		*rest++ = '\0';
		p->port = rest;
	} else if (*rest) {
		return cerr_set(err, EINVAL, "unexpected text after `]`: use [ADDR]:PORT or [ADDR]/BITS:PORT");
	}
	return 0;
}

static int split_parts(const char *text, struct parts *p, struct cordon_error **err)
{
	memset(p, 0, sizeof(*p));
	strcpy(p->buf, text);
	if (p->buf[0] == '[')
		return split_bracketed(p, err);
	p->addr = p->buf;
	char *colon = strchr(p->buf, ':');
	if (colon && strchr(colon + 1, ':')) {
		p->bare_v6 = true; /* two colons or more: an IPv6 address, which cannot carry a port */
	} else if (colon) {
		*colon = '\0';
		p->port = colon + 1;
	}
	char *slash = strchr(p->addr, '/');
	if (slash) {
		*slash = '\0';
		p->prefix = slash + 1;
	}
	return 0;
}

static int parse_number(const char *s, unsigned max_digits, unsigned long *out)
{
	size_t n = strlen(s);
	if (n == 0 || n > max_digits || strspn(s, "0123456789") != n)
		return -1;
	*out = strtoul(s, NULL, 10);
	return 0;
}

static int parse_port(struct al_rule *r, const char *port, struct cordon_error **err)
{
	unsigned long v;
	if (!port) {
		r->ports = PORTS_DEFAULT;
	} else if (strcmp(port, "*") == 0) {
		r->ports = PORTS_ANY;
	} else if (parse_number(port, 5, &v) < 0 || v < 1 || v > 65535) {
		return cerr_set(err, EINVAL, "port `%s` is not a number from 1 to 65535 or `*`", port);
	} else {
		r->ports = PORTS_ONE;
		r->port = (uint16_t)v;
	}
	return 0;
}

static bool looks_like_ipv4(const char *s)
{
	return *s && strspn(s, "0123456789.") == strlen(s);
}

static int parse_ip_host(struct al_rule *r, const struct parts *p, struct cordon_error **err)
{
	const char *a = p->addr, *end = a + strlen(a);
	bool v6 = p->bracketed || p->bare_v6;
	r->ip.family = v6 ? 6 : 4;
	if (v6 ? !parse_ipv6(a, end, r->ip.b) : !parse_ipv4(a, end, r->ip.b))
		return cerr_set(err, EINVAL, "`%s` is not an %s address", a, v6 ? "IPv6" : "IPv4");
	unsigned max = v6 ? 128 : 32;
	unsigned long bits = max;
	if (p->prefix && (parse_number(p->prefix, 3, &bits) < 0 || bits > max))
		return cerr_set(err, EINVAL, "prefix length `/%s` is not a number from 0 to %u", p->prefix, max);
	r->prefix = (unsigned)bits;
	if (!host_bits_zero(&r->ip, r->prefix))
		return cerr_set(err, EINVAL, "address has bits set past the /%u prefix (host bits must be zero)",
				r->prefix);
	r->host = HOST_IP;
	unmap_v4(&r->ip, &r->prefix);
	return 0;
}

static int parse_name_host(struct al_rule *r, const struct parts *p, struct cordon_error **err)
{
	const char *a = p->addr;
	bool wild = strncmp(a, "*.", 2) == 0;
	if (strchr(wild ? a + 2 : a, '*'))
		return cerr_set(err, EINVAL, "`*` may only be the whole first label, as in `*.example.com`");
	if (p->prefix)
		return cerr_set(err, EINVAL, "a `/` prefix length needs an IP address");
	char *dst = r->name + (wild ? 1 : 0);
	r->name[0] = '.';
	const char *src = wild ? a + 2 : a;
	const char *why = normalise_name(src, strlen(src), dst) ? name_problem(dst)
										 : "host name longer than 253 characters";
	if (why)
		return cerr_set(err, EINVAL, "%s", why);
	if (!wild && strcmp(dst, "localhost") == 0) {
		if (r->ports != PORTS_ONE)
			return cerr_set(err, EINVAL, "loopback needs one explicit port, as in `localhost:5432`");
		r->host = HOST_LOCALHOST;
		return 0;
	}
	if (is_localhost(dst))
		return cerr_set(err, EINVAL, "names under `localhost` are loopback: use `localhost:PORT`");
	r->host = wild ? HOST_SUFFIX : HOST_NAME;
	return 0;
}

static int parse_rule(struct al_rule *r, const char *text, struct cordon_error **err)
{
	struct parts p;
	if (strlen(text) > RULE_TEXT_MAX)
		return cerr_set(err, EINVAL, "longer than %d characters", RULE_TEXT_MAX);
	if (split_parts(text, &p, err) < 0 || parse_port(r, p.port, err) < 0)
		return -1;
	if (p.bracketed || p.bare_v6 || looks_like_ipv4(p.addr))
		return parse_ip_host(r, &p, err);
	return parse_name_host(r, &p, err);
}

int allowlist_add(struct allowlist *al, enum al_kind kind, const char *text, struct cordon_error **err)
{
	const char *flag = kind == AL_DENY ? "--deny" : "--allow";
	if (!text)
		return cerr_set(err, EINVAL, "%s: no host given", flag);
	size_t len = strnlen(text, RULE_TEXT_MAX + 1);
	_cleanup_free_ struct al_rule *r = calloc(1, sizeof(*r) + len + 1);
	if (!r)
		return cerr_set(err, ENOMEM, "%s: out of memory", flag);
	memcpy(r->text, text, len);
	r->kind = kind;
	if (parse_rule(r, text, err) < 0)
		return cerr_prefix(err, "%s `%.*s`", flag, RULE_TEXT_MAX, text);
	if (al->n == al->cap) {
		size_t cap = al->cap ? al->cap * 2 : 8;
		struct al_rule **v = realloc(al->rules, cap * sizeof(*v));
		if (!v)
			return cerr_set(err, ENOMEM, "%s `%s`: out of memory", flag, r->text);
		al->rules = v;
		al->cap = cap;
	}
	al->rules[al->n++] = steal_ptr(&r);
	return 0;
}

/* ---- matching */

/* What is being connected to, classified once. */
struct query {
	bool is_ip;
	struct ipaddr ip;
	char name[NAME_MAX_LEN + 2];
	uint16_t port;
};

static bool parse_query(const char *host, uint16_t port, struct query *q)
{
	size_t len = strlen(host);
	char buf[NAME_MAX_LEN + 3];
	q->port = port;
	if (len >= 2 && host[0] == '[' && host[len - 1] == ']' && len - 2 < sizeof(buf)) {
		memcpy(buf, host + 1, len - 2);
		buf[len - 2] = '\0';
		host = buf;
	}
	q->ip.family = allowlist_parse_ip(host, q->ip.b);
	if (host == buf && q->ip.family != 6)
		return false; /* brackets are for IPv6 only */
	if (q->ip.family) {
		unsigned full = 128;
		q->is_ip = true;
		unmap_v4(&q->ip, &full);
		return true;
	}
	q->is_ip = false;
	return normalise_name(host, len, q->name) && !name_problem(q->name);
}

static bool port_matches(const struct al_rule *r, uint16_t port)
{
	switch (r->ports) {
	case PORTS_ANY: return port != 0;
	case PORTS_ONE: return port == r->port;
	case PORTS_DEFAULT: return port == 80 || port == 443;
	}
	return false;
}

static bool is_loopback_ip(const struct ipaddr *a)
{
	static const uint8_t v6_loopback[16] = {[15] = 1};
	static const uint8_t v4_loopback[4] = {127, 0, 0, 1};
	return a->family == 6 ? memcmp(a->b, v6_loopback, 16) == 0 : memcmp(a->b, v4_loopback, 4) == 0;
}

static bool host_matches(const struct al_rule *r, const struct query *q)
{
	size_t qn, rn;
	switch (r->host) {
	case HOST_NAME:
		return !q->is_ip && strcmp(q->name, r->name) == 0;
	case HOST_SUFFIX:
		qn = strlen(q->name);
		rn = strlen(r->name);
		return !q->is_ip && qn > rn && strcmp(q->name + qn - rn, r->name) == 0;
	case HOST_IP:
		return q->is_ip && q->ip.family == r->ip.family && prefix_match(q->ip.b, r->ip.b, r->prefix);
	case HOST_LOCALHOST:
		return q->is_ip ? is_loopback_ip(&q->ip) : strcmp(q->name, "localhost") == 0;
	}
	return false;
}

static const struct al_rule *first_match(const struct allowlist *al, enum al_kind kind, const struct query *q)
{
	for (size_t i = 0; i < al->n; i++) {
		const struct al_rule *r = al->rules[i];
		if (r->kind == kind && port_matches(r, q->port) && host_matches(r, q))
			return r;
	}
	return NULL;
}

enum allowlist_result allowlist_match(const struct allowlist *al, const char *host_or_ip, uint16_t port,
				      const struct al_rule **which)
{
	struct query q;
	const struct al_rule *r = NULL;
	enum allowlist_result res = AL_NOT_ALLOWED;
	if (host_or_ip && parse_query(host_or_ip, port, &q)) {
		if ((r = first_match(al, AL_DENY, &q)))
			res = AL_DENIED;
		else if ((r = first_match(al, AL_ALLOW, &q)))
			res = AL_ALLOWED;
	}
	if (which)
		*which = r;
	return res;
}

size_t allowlist_localhost_ports(const struct allowlist *al, uint16_t *out, size_t max)
{
	size_t n = 0;
	for (size_t i = 0; i < al->n; i++) {
		const struct al_rule *r = al->rules[i];
		if (r->kind != AL_ALLOW || r->host != HOST_LOCALHOST ||
		    allowlist_match(al, "localhost", r->port, NULL) != AL_ALLOWED)
			continue;
		bool dup = false;
		for (size_t k = 0; k < n && k < max; k++)
			dup |= out[k] == r->port;
		if (dup)
			continue;
		if (n < max)
			out[n] = r->port;
		n++;
	}
	return n;
}

bool allowlist_name_listed(const struct allowlist *al, const char *name)
{
	struct query q;
	if (!name || !parse_query(name, 0, &q) || q.is_ip)
		return false;
	bool allowed = false;
	for (size_t i = 0; i < al->n; i++) {
		const struct al_rule *r = al->rules[i];
		if (r->host == HOST_LOCALHOST || !host_matches(r, &q))
			continue;
		if (r->kind == AL_DENY && r->ports == PORTS_ANY)
			return false;
		if (r->kind == AL_ALLOW)
			allowed = true;
	}
	return allowed;
}

const char *allowlist_describe_rule(const struct al_rule *r)
{
	return r->text;
}

const char *allowlist_rule_flag(const struct al_rule *r)
{
	return r->kind == AL_DENY ? "--deny" : "--allow";
}

enum al_kind allowlist_rule_kind(const struct al_rule *r)
{
	return r->kind;
}

void allowlist_free(struct allowlist *al)
{
	for (size_t i = 0; i < al->n; i++)
		free(al->rules[i]);
	free(al->rules);
	memset(al, 0, sizeof(*al));
}
