// SPDX-License-Identifier: Apache-2.0
/*
 * libFuzzer target: the --allow/--deny rule parser and the matcher. The input is lines: every line but
 * the last is a rule (a leading `!` makes it a --deny), the last is the query, "PORT HOST". Bad rules
 * are dropped with their errors freed. The decision is checked against one made rule by rule: a
 * --deny that matches on its own must deny, an --allow that matches on its own must allow unless a
 * --deny does, and nothing else may allow. The IP parser is checked against inet_pton().
 */
#include <arpa/inet.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "common/error.h"
#include "core/allowlist.h"

#define MAX_RULES 32

/* Does `text` alone, as a rule of `kind`, decide the query? */
static bool alone_matches(enum al_kind kind, const char *text, const char *host, uint16_t port)
{
	struct allowlist one = {0};
	CHECK(allowlist_add(&one, kind, text, NULL) == 0);
	enum allowlist_result r = allowlist_match(&one, host, port, NULL);
	allowlist_free(&one);
	return r != AL_NOT_ALLOWED;
}

static void check_ip_parser(const char *host)
{
	uint8_t got[16], want[16];
	int fam = allowlist_parse_ip(host, got);
	if (inet_pton(AF_INET, host, want) == 1)
		CHECK(fam == 4 && memcmp(got, want, 4) == 0);
	else if (inet_pton(AF_INET6, host, want) == 1)
		CHECK(fam == 6 && memcmp(got, want, 16) == 0);
	else
		CHECK(fam == 0);
}

static void check_decision(const struct allowlist *al, const char *host, uint16_t port)
{
	const struct al_rule *which = NULL;
	enum allowlist_result res = allowlist_match(al, host, port, &which);
	bool denied = false, allowed = false;
	for (size_t i = 0; i < al->n; i++) {
		const struct al_rule *r = al->rules[i];
		if (alone_matches(allowlist_rule_kind(r), allowlist_describe_rule(r), host, port))
			*(allowlist_rule_kind(r) == AL_DENY ? &denied : &allowed) = true;
	}
	CHECK(res == (denied ? AL_DENIED : allowed ? AL_ALLOWED : AL_NOT_ALLOWED));
	CHECK((res == AL_NOT_ALLOWED) == (which == NULL));
	if (which)
		CHECK(allowlist_rule_kind(which) == (res == AL_ALLOWED ? AL_ALLOW : AL_DENY));
	/* Case never matters: not in names, not in IPv6 hex digits. */
	char upper[512];
	size_t n = strlen(host);
	if (n < sizeof(upper)) {
		for (size_t i = 0; i <= n; i++)
			upper[i] = (host[i] >= 'a' && host[i] <= 'z') ? (char)(host[i] - 32) : host[i];
		CHECK(allowlist_match(al, upper, port, NULL) == res);
	}
}

/* Adds the rule lines of buf (NUL-separated, up to `end`); a rejected rule must say what it was. */
static void add_rules(struct allowlist *al, char *buf, const char *end)
{
	int nrules = 0;
	for (char *line = buf, *next; line && line < end && nrules < MAX_RULES; line = next, nrules++) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		bool deny = line[0] == '!';
		const char *flag = deny ? "--deny `" : "--allow `";
		struct cordon_error *err = NULL;
		if (allowlist_add(al, deny ? AL_DENY : AL_ALLOW, line + deny, &err) < 0)
			CHECK(err && err->message && strncmp(err->message, flag, strlen(flag)) == 0);
		cordon_error_free(err);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size + 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	char *query = strrchr(buf, '\n');
	query = query ? query + 1 : buf;
	if (query > buf)
		query[-1] = '\0';
	struct allowlist al = {0};
	add_rules(&al, buf, query);
	char *end;
	unsigned long port = strtoul(query, &end, 10);
	const char *host = *end == ' ' ? end + 1 : query;
	check_ip_parser(host);
	check_decision(&al, host, (uint16_t)port);
	allowlist_free(&al);
	free(buf);
	return 0;
}
