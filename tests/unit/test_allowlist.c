// SPDX-License-Identifier: Apache-2.0
/* The network rule model: --allow/--deny parsing, its errors, and matching names, IPs and ports. */
#include "unit.h"

#include <arpa/inet.h>
#include <errno.h>

#include "common/error.h"
#include "core/allowlist.h"

struct match_case {
	const char *host;
	uint16_t port;
	enum allowlist_result want;
	const char *rule; /* the deciding rule's flag and text, "--deny *.evil.com"; NULL: none */
};

static void add_rules(struct allowlist *al, enum al_kind kind, const char *const *rules)
{
	for (; rules && *rules; rules++) {
		struct cordon_error *err = NULL;
		if (allowlist_add(al, kind, *rules, &err) < 0)
			fail_msg("add `%s`: %s", *rules, err ? err->message : "(no error)");
	}
}

static const char *result_name(enum allowlist_result r)
{
	return r == AL_ALLOWED ? "AL_ALLOWED" : r == AL_DENIED ? "AL_DENIED" : "AL_NOT_ALLOWED";
}

/* Builds a list from `allow` and `deny` (NULL-terminated) and checks every case against it. */
static void check(const char *const *allow, const char *const *deny, const struct match_case *cases, size_t n)
{
	struct allowlist al = {0};
	add_rules(&al, AL_ALLOW, allow);
	add_rules(&al, AL_DENY, deny);
	for (size_t i = 0; i < n; i++) {
		const struct match_case *c = &cases[i];
		const struct al_rule *which = (const struct al_rule *)&al; /* poisoned: must be overwritten */
		enum allowlist_result got = allowlist_match(&al, c->host, c->port, &which);
		char desc[600] = "(none)";
		if (which)
			snprintf(desc, sizeof(desc), "%s %s", allowlist_rule_flag(which), allowlist_describe_rule(which));
		if (got != c->want || (c->rule ? !which || strcmp(desc, c->rule) != 0 : which != NULL))
			fail_msg("`%s` port %u: %s by `%s`, want %s by `%s`", c->host, c->port, result_name(got), desc,
				 result_name(c->want), c->rule ? c->rule : "(none)");
	}
	allowlist_free(&al);
}

#define CHECK(allow, deny, cases) check(allow, deny, cases, sizeof(cases) / sizeof(cases[0]))

static void test_names(void **state)
{
	(void)state;
	static const char *const allow[] = {"example.com", "Mixed.Case.ORG.", "under_score.example.net", NULL};
	static const struct match_case cases[] = {
		{"example.com", 443, AL_ALLOWED, "--allow example.com"},
		{"example.com", 80, AL_ALLOWED, "--allow example.com"},
		{"EXAMPLE.com", 443, AL_ALLOWED, "--allow example.com"},
		{"Example.COM.", 443, AL_ALLOWED, "--allow example.com"},
		{"mixed.case.org", 443, AL_ALLOWED, "--allow Mixed.Case.ORG."},
		{"MIXED.CASE.ORG.", 80, AL_ALLOWED, "--allow Mixed.Case.ORG."},
		{"under_score.example.net", 443, AL_ALLOWED, "--allow under_score.example.net"},
		/* Exact means exact: no subdomains, no lookalikes. */
		{"www.example.com", 443, AL_NOT_ALLOWED, NULL},
		{"notexample.com", 443, AL_NOT_ALLOWED, NULL},
		{"example.com.evil.net", 443, AL_NOT_ALLOWED, NULL},
		{"example.co", 443, AL_NOT_ALLOWED, NULL},
		{"example.com..", 443, AL_NOT_ALLOWED, NULL},
		/* Default ports are 80 and 443 only. */
		{"example.com", 8080, AL_NOT_ALLOWED, NULL},
		{"example.com", 22, AL_NOT_ALLOWED, NULL},
		{"example.com", 0, AL_NOT_ALLOWED, NULL},
		/* Hosts that are not names at all. */
		{"", 443, AL_NOT_ALLOWED, NULL},
		{"exa mple.com", 443, AL_NOT_ALLOWED, NULL},
		{"[example.com]", 443, AL_NOT_ALLOWED, NULL},
	};
	CHECK(allow, NULL, cases);
}

static void test_wildcard(void **state)
{
	(void)state;
	static const char *const allow[] = {"*.example.com", NULL};
	static const struct match_case cases[] = {
		{"a.example.com", 443, AL_ALLOWED, "--allow *.example.com"},
		{"a.b.example.com", 443, AL_ALLOWED, "--allow *.example.com"},
		{"x.y.z.w.EXAMPLE.COM.", 80, AL_ALLOWED, "--allow *.example.com"},
		/* Not the apex, not a name that merely ends the same way. */
		{"example.com", 443, AL_NOT_ALLOWED, NULL},
		{"badexample.com", 443, AL_NOT_ALLOWED, NULL},
		{"a.example.com.evil.net", 443, AL_NOT_ALLOWED, NULL},
		{"a.example.com", 8443, AL_NOT_ALLOWED, NULL},
	};
	CHECK(allow, NULL, cases);
}

static void test_ports(void **state)
{
	(void)state;
	static const char *const allow[] = {"api.example.com:8443", "any.example.com:*", "*.svc.example:5000", NULL};
	static const struct match_case cases[] = {
		{"api.example.com", 8443, AL_ALLOWED, "--allow api.example.com:8443"},
		/* An explicit port replaces the defaults. */
		{"api.example.com", 443, AL_NOT_ALLOWED, NULL},
		{"api.example.com", 80, AL_NOT_ALLOWED, NULL},
		{"api.example.com", 8444, AL_NOT_ALLOWED, NULL},
		{"any.example.com", 1, AL_ALLOWED, "--allow any.example.com:*"},
		{"any.example.com", 443, AL_ALLOWED, "--allow any.example.com:*"},
		{"any.example.com", 65535, AL_ALLOWED, "--allow any.example.com:*"},
		{"any.example.com", 0, AL_NOT_ALLOWED, NULL},
		{"a.svc.example", 5000, AL_ALLOWED, "--allow *.svc.example:5000"},
		{"a.svc.example", 443, AL_NOT_ALLOWED, NULL},
	};
	CHECK(allow, NULL, cases);
}

static void test_ip_literals_are_hosts(void **state)
{
	(void)state;
	/* example.com may well resolve to 93.184.215.14: that does not let the literal through. */
	static const char *const allow[] = {"example.com", "*.example.com:*", NULL};
	static const struct match_case cases[] = {
		{"93.184.215.14", 443, AL_NOT_ALLOWED, NULL},
		{"127.0.0.1", 443, AL_NOT_ALLOWED, NULL},
		{"2606:2800:21f:cb07:6820:80da:af6b:8b2c", 443, AL_NOT_ALLOWED, NULL},
		{"[::1]", 443, AL_NOT_ALLOWED, NULL},
		/* Numeric forms a resolver would read as addresses are not names either. */
		{"2130706433", 443, AL_NOT_ALLOWED, NULL},
		{"0x7f.1", 443, AL_NOT_ALLOWED, NULL},
		{"10.1", 443, AL_NOT_ALLOWED, NULL},
		{"1.2.3.4.", 443, AL_NOT_ALLOWED, NULL},
		{"example.com", 443, AL_ALLOWED, "--allow example.com"},
	};
	CHECK(allow, NULL, cases);
}

static void test_ipv4(void **state)
{
	(void)state;
	static const char *const allow[] = {"10.1.2.3", "192.168.0.0/16:*", "172.16.0.0/12:5432", "0.0.0.0/0:9", NULL};
	static const struct match_case cases[] = {
		{"10.1.2.3", 443, AL_ALLOWED, "--allow 10.1.2.3"},
		{"10.1.2.3", 80, AL_ALLOWED, "--allow 10.1.2.3"},
		{"10.1.2.3", 22, AL_NOT_ALLOWED, NULL},
		{"10.1.2.4", 443, AL_NOT_ALLOWED, NULL},
		/* Boundaries of 192.168.0.0/16. */
		{"192.168.0.0", 22, AL_ALLOWED, "--allow 192.168.0.0/16:*"},
		{"192.168.255.255", 22, AL_ALLOWED, "--allow 192.168.0.0/16:*"},
		{"192.167.255.255", 22, AL_NOT_ALLOWED, NULL},
		{"192.169.0.0", 22, AL_NOT_ALLOWED, NULL},
		/* A /12 does not end on a byte: 172.16.0.0 - 172.31.255.255. */
		{"172.16.0.0", 5432, AL_ALLOWED, "--allow 172.16.0.0/12:5432"},
		{"172.31.255.255", 5432, AL_ALLOWED, "--allow 172.16.0.0/12:5432"},
		{"172.15.255.255", 5432, AL_NOT_ALLOWED, NULL},
		{"172.32.0.0", 5432, AL_NOT_ALLOWED, NULL},
		{"172.20.0.1", 5433, AL_NOT_ALLOWED, NULL},
		{"8.8.8.8", 9, AL_ALLOWED, "--allow 0.0.0.0/0:9"},
		/* An IPv4-mapped IPv6 address is matched as the IPv4 address it carries. */
		{"::ffff:10.1.2.3", 443, AL_ALLOWED, "--allow 10.1.2.3"},
		{"[::ffff:192.168.1.1]", 22, AL_ALLOWED, "--allow 192.168.0.0/16:*"},
		/* No leading zeros, no short forms. */
		{"010.1.2.3", 443, AL_NOT_ALLOWED, NULL},
		{"10.1.2.3 ", 443, AL_NOT_ALLOWED, NULL},
	};
	CHECK(allow, NULL, cases);
}

static void test_ipv6(void **state)
{
	(void)state;
	static const char *const allow[] = {"[2001:db8::1]:443", "2001:db8::2", "[fd00::]/8:*", "fe80::/10",
					    "[2001:db8:1::]/127:53", "::ffff:10.0.0.0/104", NULL};
	static const struct match_case cases[] = {
		{"2001:db8::1", 443, AL_ALLOWED, "--allow [2001:db8::1]:443"},
		{"[2001:db8::1]", 443, AL_ALLOWED, "--allow [2001:db8::1]:443"},
		{"2001:DB8:0:0:0:0:0:1", 443, AL_ALLOWED, "--allow [2001:db8::1]:443"},
		{"2001:db8::1", 80, AL_NOT_ALLOWED, NULL},
		{"2001:db8::2", 80, AL_ALLOWED, "--allow 2001:db8::2"},
		{"2001:db8::2", 443, AL_ALLOWED, "--allow 2001:db8::2"},
		{"2001:db8::3", 443, AL_NOT_ALLOWED, NULL},
		{"fd00::", 1, AL_ALLOWED, "--allow [fd00::]/8:*"},
		{"fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 1, AL_ALLOWED, "--allow [fd00::]/8:*"},
		{"fc00::1", 1, AL_NOT_ALLOWED, NULL},
		{"fe00::", 1, AL_NOT_ALLOWED, NULL},
		{"fe80::1", 443, AL_ALLOWED, "--allow fe80::/10"},
		{"febf:ffff::1", 80, AL_ALLOWED, "--allow fe80::/10"},
		{"fec0::1", 80, AL_NOT_ALLOWED, NULL},
		{"2001:db8:1::", 53, AL_ALLOWED, "--allow [2001:db8:1::]/127:53"},
		{"2001:db8:1::1", 53, AL_ALLOWED, "--allow [2001:db8:1::]/127:53"},
		{"2001:db8:1::2", 53, AL_NOT_ALLOWED, NULL},
		/* A mapped rule is an IPv4 rule: 10.0.0.0/8. */
		{"10.200.0.1", 443, AL_ALLOWED, "--allow ::ffff:10.0.0.0/104"},
		{"::ffff:10.200.0.1", 443, AL_ALLOWED, "--allow ::ffff:10.0.0.0/104"},
		{"11.0.0.1", 443, AL_NOT_ALLOWED, NULL},
		/* Addresses of the other family never match. */
		{"::a01:203", 443, AL_NOT_ALLOWED, NULL},
		{"2001:db8::1%eth0", 443, AL_NOT_ALLOWED, NULL},
	};
	CHECK(allow, NULL, cases);
}

static void test_deny_wins(void **state)
{
	(void)state;
	static const char *const allow[] = {"bad.evil.com", "*.example.com:*", "10.0.0.0/8:*", "fd00::/8", NULL};
	static const char *const deny[] = {"*.evil.com:*", "secret.example.com", "10.9.0.0/16:*", "[fd00::1]:443",
					   NULL};
	static const struct match_case cases[] = {
		/* A wildcard deny beats an exact allow. */
		{"bad.evil.com", 443, AL_DENIED, "--deny *.evil.com:*"},
		/* An exact deny beats a wildcard allow, on its ports only. */
		{"secret.example.com", 443, AL_DENIED, "--deny secret.example.com"},
		{"SECRET.example.com.", 80, AL_DENIED, "--deny secret.example.com"},
		{"secret.example.com", 22, AL_ALLOWED, "--allow *.example.com:*"},
		{"public.example.com", 443, AL_ALLOWED, "--allow *.example.com:*"},
		{"10.9.1.1", 22, AL_DENIED, "--deny 10.9.0.0/16:*"},
		{"::ffff:10.9.1.1", 22, AL_DENIED, "--deny 10.9.0.0/16:*"},
		{"10.8.1.1", 22, AL_ALLOWED, "--allow 10.0.0.0/8:*"},
		{"fd00::1", 443, AL_DENIED, "--deny [fd00::1]:443"},
		{"fd00::1", 80, AL_ALLOWED, "--allow fd00::/8"},
		/* A deny that matches reports itself even where nothing would have allowed the host. */
		{"other.evil.com", 25, AL_DENIED, "--deny *.evil.com:*"},
		{"nowhere.org", 443, AL_NOT_ALLOWED, NULL},
	};
	CHECK(allow, deny, cases);
}

static void test_empty_list(void **state)
{
	(void)state;
	static const struct match_case cases[] = {
		{"example.com", 443, AL_NOT_ALLOWED, NULL},
		{"localhost", 80, AL_NOT_ALLOWED, NULL},
		{"127.0.0.1", 80, AL_NOT_ALLOWED, NULL},
		{"::1", 443, AL_NOT_ALLOWED, NULL},
	};
	CHECK(NULL, NULL, cases);
	/* Deny rules alone allow nothing either. */
	static const char *const deny[] = {"evil.com", NULL};
	CHECK(NULL, deny, cases);
	struct allowlist al = {0};
	assert_int_equal(allowlist_match(&al, "example.com", 443, NULL), AL_NOT_ALLOWED);
	assert_int_equal(allowlist_match(&al, NULL, 443, NULL), AL_NOT_ALLOWED);
	allowlist_free(&al);
}

static void test_localhost(void **state)
{
	(void)state;
	static const char *const allow[] = {"localhost:5432", "LOCALHOST.:8080", NULL};
	static const struct match_case cases[] = {
		{"localhost", 5432, AL_ALLOWED, "--allow localhost:5432"},
		{"127.0.0.1", 5432, AL_ALLOWED, "--allow localhost:5432"},
		{"::1", 5432, AL_ALLOWED, "--allow localhost:5432"},
		{"[::1]", 5432, AL_ALLOWED, "--allow localhost:5432"},
		{"::ffff:127.0.0.1", 5432, AL_ALLOWED, "--allow localhost:5432"},
		{"LocalHost.", 8080, AL_ALLOWED, "--allow LOCALHOST.:8080"},
		/* That port only, that loopback only. */
		{"localhost", 5433, AL_NOT_ALLOWED, NULL},
		{"127.0.0.1", 5433, AL_NOT_ALLOWED, NULL},
		{"localhost", 443, AL_NOT_ALLOWED, NULL},
		{"127.0.0.2", 5432, AL_NOT_ALLOWED, NULL},
		{"0.0.0.0", 5432, AL_NOT_ALLOWED, NULL},
		{"::", 5432, AL_NOT_ALLOWED, NULL},
		{"::2", 5432, AL_NOT_ALLOWED, NULL},
		{"db.localhost", 5432, AL_NOT_ALLOWED, NULL},
	};
	CHECK(allow, NULL, cases);
	static const char *const deny[] = {"localhost:8080", NULL};
	static const struct match_case denied[] = {
		{"127.0.0.1", 8080, AL_DENIED, "--deny localhost:8080"},
		{"127.0.0.1", 5432, AL_ALLOWED, "--allow localhost:5432"},
	};
	CHECK(allow, deny, denied);
}

struct bad_case {
	enum al_kind kind;
	const char *text;
	const char *why; /* a part of the message after the input */
};

static void test_parse_errors(void **state)
{
	(void)state;
	static const struct bad_case cases[] = {
		{AL_ALLOW, "", "empty host name"},
		{AL_ALLOW, ":443", "empty host name"},
		{AL_ALLOW, "localhost", "explicit port"},
		{AL_DENY, "localhost", "explicit port"},
		{AL_ALLOW, "localhost:*", "explicit port"},
		{AL_ALLOW, "db.localhost:5432", "use `localhost:PORT`"},
		{AL_ALLOW, "*.localhost", "use `localhost:PORT`"},
		{AL_ALLOW, "example.com:0", "port `0`"},
		{AL_ALLOW, "example.com:65536", "port `65536`"},
		{AL_ALLOW, "example.com:", "port ``"},
		{AL_ALLOW, "example.com:http", "port `http`"},
		{AL_ALLOW, "example.com:-1", "port `-1`"},
		{AL_ALLOW, "example.com:443:", "IPv6"},
		{AL_ALLOW, "[::1]:99999", "port `99999`"},
		{AL_DENY, "exa mple.com", "only letters, digits"},
		{AL_ALLOW, "ex!ample.com", "only letters, digits"},
		{AL_ALLOW, "bücher.de", "only letters, digits"},
		{AL_ALLOW, "-example.com", "starts or ends with `-`"},
		{AL_ALLOW, "example-.com", "starts or ends with `-`"},
		{AL_ALLOW, "a..example.com", "empty label"},
		{AL_ALLOW, ".example.com", "empty label"},
		{AL_ALLOW, "example.com..", "empty label"},
		{AL_ALLOW, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.com", "longer than 63"},
		{AL_ALLOW, "example.123", "must start with a letter"},
		{AL_ALLOW, "0x7f.1", "must start with a letter"},
		{AL_ALLOW, "*", "whole first label"},
		{AL_ALLOW, "*:443", "whole first label"},
		{AL_ALLOW, "*example.com", "whole first label"},
		{AL_ALLOW, "a.*.example.com", "whole first label"},
		{AL_ALLOW, "*.*.example.com", "whole first label"},
		{AL_ALLOW, "*.", "empty host name"},
		{AL_ALLOW, "example.com/8", "needs an IP address"},
		{AL_ALLOW, "10.1.2", "`10.1.2` is not an IPv4 address"},
		{AL_ALLOW, "10.1.2.256", "not an IPv4 address"},
		{AL_ALLOW, "010.1.2.3", "not an IPv4 address"},
		{AL_ALLOW, "2130706433", "not an IPv4 address"},
		{AL_ALLOW, "10.0.0.1/8", "bits set past the /8 prefix"},
		{AL_DENY, "10.0.0.0/33", "`/33`"},
		{AL_ALLOW, "10.0.0.0/", "`/`"},
		{AL_ALLOW, "10.0.0.0/x", "`/x`"},
		{AL_ALLOW, "fd00::1/8", "bits set past the /8 prefix"},
		{AL_ALLOW, "[fd00::1]/8", "bits set past the /8 prefix"},
		{AL_ALLOW, "[fd00::]/129", "`/129`"},
		{AL_ALLOW, "fd00:::1", "not an IPv6 address"},
		{AL_ALLOW, "1:2:3:4:5:6:7:8:9", "not an IPv6 address"},
		{AL_ALLOW, "fe80::1%eth0", "not an IPv6 address"},
		{AL_ALLOW, "[::1", "missing `]`"},
		{AL_ALLOW, "[::1]443", "unexpected text after `]`"},
		{AL_ALLOW, "[10.0.0.1]:443", "`10.0.0.1` is not an IPv6 address"},
		{AL_ALLOW, "[example.com]:443", "not an IPv6 address"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct allowlist al = {0};
		_cleanup_error_ struct cordon_error *err = NULL;
		const struct bad_case *c = &cases[i];
		if (allowlist_add(&al, c->kind, c->text, &err) == 0)
			fail_msg("`%s` was accepted", c->text);
		assert_non_null(err);
		assert_int_equal(err->code, EINVAL);
		char want[256];
		snprintf(want, sizeof(want), "%s `%s`: ", c->kind == AL_DENY ? "--deny" : "--allow", c->text);
		if (strncmp(err->message, want, strlen(want)) != 0)
			fail_msg("message `%s` does not start with `%s`", err->message, want);
		assert_contains(err->message, c->why);
		assert_int_equal(al.n, 0);
		allowlist_free(&al);
	}
}

static void test_limits(void **state)
{
	(void)state;
	/* 253 characters: four labels of 62 and one of 1, with dots. */
	char name[256], longer[260], huge[2000];
	memset(name, 'a', 253);
	name[62] = name[125] = name[188] = name[251] = '.';
	name[252] = 'b';
	name[253] = '\0';
	snprintf(longer, sizeof(longer), "a%s", name);
	memset(huge, 'a', sizeof(huge) - 1);
	huge[sizeof(huge) - 1] = '\0';
	struct allowlist al = {0};
	_cleanup_error_ struct cordon_error *e1 = NULL;
	_cleanup_error_ struct cordon_error *e2 = NULL;
	assert_int_equal(allowlist_add(&al, AL_ALLOW, name, NULL), 0);
	assert_int_equal(allowlist_add(&al, AL_ALLOW, longer, &e1), -1);
	assert_contains(e1->message, "longer than 253");
	assert_int_equal(allowlist_add(&al, AL_ALLOW, huge, &e2), -1);
	assert_contains(e2->message, "longer than 512");
	assert_int_equal(allowlist_add(&al, AL_ALLOW, NULL, NULL), -1);
	/* A trailing dot does not count towards the 253. */
	char dotted[260];
	snprintf(dotted, sizeof(dotted), "%s.", name);
	assert_int_equal(allowlist_add(&al, AL_DENY, dotted, NULL), 0);
	assert_int_equal(allowlist_match(&al, name, 443, NULL), AL_DENIED);
	assert_int_equal(allowlist_match(&al, longer, 443, NULL), AL_NOT_ALLOWED);
	assert_int_equal(allowlist_match(&al, huge, 443, NULL), AL_NOT_ALLOWED);
	/* Many rules: the list grows, and earlier rule pointers stay valid. */
	for (int i = 0; i < 100; i++) {
		char r[32];
		snprintf(r, sizeof(r), "h%d.example.com:%d", i, i + 1);
		assert_int_equal(allowlist_add(&al, AL_ALLOW, r, NULL), 0);
	}
	const struct al_rule *which = NULL;
	assert_int_equal(allowlist_match(&al, "h99.example.com", 100, &which), AL_ALLOWED);
	assert_string_equal(allowlist_describe_rule(which), "h99.example.com:100");
	assert_int_equal(allowlist_rule_kind(which), AL_ALLOW);
	allowlist_free(&al);
	assert_int_equal(al.n, 0);
	assert_null(al.rules);
}

/* allowlist_parse_ip() must agree with inet_pton() on what is an address and on its bytes. */
/* The DNS resolver's question: does some --allow rule name this host on any port? */
static void test_name_listed(void **state)
{
	(void)state;
	struct allowlist al = {0};
	add_rules(&al, AL_ALLOW, (const char *const[]){"registry.npmjs.org", "*.pypi.test:8443", "localhost:5432",
						       "10.0.0.0/8:*", "gone.test", "half.test:*", NULL});
	add_rules(&al, AL_DENY, (const char *const[]){"gone.test:*", "half.test:22", NULL});
	assert_true(allowlist_name_listed(&al, "registry.npmjs.org"));
	assert_true(allowlist_name_listed(&al, "REGISTRY.npmjs.org."));
	assert_true(allowlist_name_listed(&al, "files.pypi.test"));
	assert_false(allowlist_name_listed(&al, "pypi.test")); /* the apex is not below itself */
	assert_false(allowlist_name_listed(&al, "npmjs.org"));
	assert_false(allowlist_name_listed(&al, "localhost")); /* the sandbox's own hosts file answers it */
	assert_false(allowlist_name_listed(&al, "10.1.2.3")); /* an IP is no name */
	assert_false(allowlist_name_listed(&al, "gone.test")); /* denied on every port */
	assert_true(allowlist_name_listed(&al, "half.test")); /* denied on one port only */
	assert_false(allowlist_name_listed(&al, "bad name"));
	assert_false(allowlist_name_listed(&al, NULL));
	allowlist_free(&al);
	assert_false(allowlist_name_listed(&al, "registry.npmjs.org"));
}

/* The ports transparent mode redirects to the host's loopback. */
static void test_localhost_ports(void **state)
{
	(void)state;
	struct allowlist al = {0};
	uint16_t ports[4] = {0};
	assert_int_equal(allowlist_localhost_ports(&al, ports, 4), 0);
	add_rules(&al, AL_ALLOW, (const char *const[]){"localhost:5432", "example.test:*", "localhost:8080",
						       "localhost:5432", "localhost:6379", "localhost:1", "localhost:2", NULL});
	add_rules(&al, AL_DENY, (const char *const[]){"localhost:6379", NULL});
	assert_int_equal(allowlist_localhost_ports(&al, ports, 2), 4); /* 5432 8080 1 2: 6379 denied, dup once */
	assert_int_equal(ports[0], 5432);
	assert_int_equal(ports[1], 8080);
	assert_int_equal(ports[2], 0); /* nothing written past max */
	assert_int_equal(allowlist_localhost_ports(&al, ports, 4), 4);
	assert_int_equal(ports[2], 1);
	assert_int_equal(ports[3], 2);
	allowlist_free(&al);
}

static void test_parse_ip_like_inet_pton(void **state)
{
	(void)state;
	static const char *const inputs[] = {
		"0.0.0.0", "255.255.255.255", "1.2.3.4", "01.2.3.4", "1.2.3.04", "1.2.3.256", "1.2.3", "1.2.3.4.5",
		"1..3.4", ".1.2.3", "1.2.3.", " 1.2.3.4", "1.2.3.4x", "::", "::1", "1::", ":", ":::", "1:::2", "::1::",
		"1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8:9", "1:2:3:4:5:6:7::", "::2:3:4:5:6:7:8", "1:2:3:4:5:6:7::8",
		"1:2:3:4:5:6::7:8", "12345::", "0001:0002::", ":1::", "1::2:", "::ffff:1.2.3.4", "::1.2.3.4",
		"1:2:3:4:5:6:1.2.3.4", "1:2:3:4:5:6:7:1.2.3.4", "::1.2.3", "::1.2.3.4:5", "1.2.3.4::", "fe80::1%1",
		"FFFF::ABCD", "g::1", "", "[::1]", "::01.2.3.4", "1:2:3:4:5::1.2.3.4", "1:2:3:4:5:6::1.2.3.4",
	};
	for (size_t i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++) {
		const char *s = inputs[i];
		uint8_t got[16] = {0}, want4[4], want6[16];
		int fam = allowlist_parse_ip(s, got);
		int want = inet_pton(AF_INET, s, want4) == 1 ? 4 : inet_pton(AF_INET6, s, want6) == 1 ? 6 : 0;
		if (fam != want)
			fail_msg("`%s`: family %d, inet_pton says %d", s, fam, want);
		if ((fam == 4 && memcmp(got, want4, 4) != 0) || (fam == 6 && memcmp(got, want6, 16) != 0))
			fail_msg("`%s`: bytes differ from inet_pton's", s);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_name_listed),
		cmocka_unit_test(test_localhost_ports),
		cmocka_unit_test(test_wildcard),
		cmocka_unit_test(test_ports),
		cmocka_unit_test(test_ip_literals_are_hosts),
		cmocka_unit_test(test_ipv4),
		cmocka_unit_test(test_ipv6),
		cmocka_unit_test(test_deny_wins),
		cmocka_unit_test(test_empty_list),
		cmocka_unit_test(test_localhost),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_parse_ip_like_inet_pton),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
