// SPDX-License-Identifier: Apache-2.0
/*
 * The network rule model behind `--allow HOST[:PORT]` and `--deny HOST[:PORT]`: parsing the rules and
 * deciding whether one connection (a host name or an IP literal, and a port) may be made. Pure and
 * portable: no OS headers, no name resolution, no network. The syntax is in docs/network-rules.md.
 */
#ifndef CORDON_CORE_ALLOWLIST_H
#define CORDON_CORE_ALLOWLIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cordon_error;

enum al_kind { AL_ALLOW, AL_DENY };

enum allowlist_result {
	AL_ALLOWED,        /* an --allow rule matched and no --deny rule did */
	AL_DENIED, /* a --deny rule matched (it wins over any --allow) */
	AL_NOT_ALLOWED,    /* no rule matched, or the host is not a valid name or IP literal */
};

/* One parsed rule; opaque. Pointers stay valid until allowlist_free(). */
struct al_rule;

/* The rules in the order added. Zero-initialise (`struct allowlist al = {0};`) before use. */
struct allowlist {
	struct al_rule **rules;
	size_t n;
	size_t cap;
};

/* Parses `text` (a --allow or --deny argument) and appends the rule. On a bad rule returns -1 with
 * EINVAL and a message naming the input ("--allow `x`: ..."); ENOMEM likewise. */
int allowlist_add(struct allowlist *al, enum al_kind kind, const char *text, struct cordon_error **err);

/* Decides a connection to `host_or_ip` (a name, an IPv4 literal, or an IPv6 literal with or without
 * brackets) on `port`. Every --deny rule is checked before any --allow rule. *which (if which is not
 * NULL) is set to the deciding rule: the first matching --deny, else the first matching --allow, else
 * NULL. */
enum allowlist_result allowlist_match(const struct allowlist *al, const char *host_or_ip, uint16_t port,
				      const struct al_rule **which);

/* The ports of the --allow localhost:PORT rules that no --deny refuses, each once, into out[0..max);
 * returns how many there are. */
size_t allowlist_localhost_ports(const struct allowlist *al, uint16_t *out, size_t max);

/* Whether some --allow rule names `name` on some port, and no --deny rule refuses it on every port:
 * the question the sandbox's DNS resolver asks before it answers. `localhost` is never listed (the
 * sandbox's own /etc/hosts answers it). */
bool allowlist_name_listed(const struct allowlist *al, const char *name);

/* The rule's argument as the user gave it ("*.evil.com"). */
const char *allowlist_describe_rule(const struct al_rule *r);
/* "--allow" or "--deny": with the text above, the proxy says "denied by --deny *.evil.com". */
const char *allowlist_rule_flag(const struct al_rule *r);
enum al_kind allowlist_rule_kind(const struct al_rule *r);

/* Frees every rule and resets *al to empty; the struct itself belongs to the caller. */
void allowlist_free(struct allowlist *al);

/* Parses an IP literal the way inet_pton() does (dotted quad without leading zeros; RFC 4291 IPv6
 * text, no zone). Returns 4 or 6 and fills out[0..3] or out[0..15]; 0 when `s` is not one. An
 * IPv4-mapped IPv6 address (::ffff:a.b.c.d) is returned as it is written, as IPv6. */
int allowlist_parse_ip(const char *s, uint8_t out[16]);

#endif
