// SPDX-License-Identifier: Apache-2.0
/*
 * libFuzzer target: the number parsers and the lexical path helpers, on NUL-terminated copies of the
 * input. Each result is checked against an independent property, so a wrong answer is a crash too:
 * the parsers against a slow reference, normalised paths for their shape and for idempotence.
 */
#include <ctype.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fuzz.h"
#include "core/env.h"
#include "core/paths.h"
#include "core/policy.h"

/* Reference parsers: slow and obvious, with 128-bit arithmetic and an early cap. */
static bool ref_digits(const char **sp, unsigned __int128 *out)
{
	const char *s = *sp;
	unsigned __int128 v = 0;
	if (*s < '0' || *s > '9')
		return false;
	for (; *s >= '0' && *s <= '9'; s++) {
		v = v * 10 + (unsigned)(*s - '0');
		if (v > (unsigned __int128)UINT64_MAX * 1000)
			v = (unsigned __int128)UINT64_MAX * 1000 + 1; /* saturate: too big either way */
	}
	*sp = s;
	*out = v;
	return true;
}

static bool ref_count(const char *s, uint64_t *out)
{
	unsigned __int128 v;
	if (!ref_digits(&s, &v) || *s || v > UINT64_MAX)
		return false;
	*out = (uint64_t)v;
	return true;
}

static bool ref_bytes(const char *s, uint64_t *out)
{
	unsigned __int128 v;
	if (!ref_digits(&s, &v))
		return false;
	unsigned shift = 0;
	if (*s) {
		const char *units = "kmgt";
		const char *u = strchr(units, tolower((unsigned char)*s));
		if (!u || !*u)
			return false;
		shift = 10 * (unsigned)(u - units + 1);
		s++;
		/* "B" or "iB", in any case */
		if (*s && strcasecmp(s, "b") != 0 && strcasecmp(s, "ib") != 0)
			return false;
	}
	if (v > UINT64_MAX || (v << shift) > UINT64_MAX)
		return false;
	*out = (uint64_t)(v << shift);
	return true;
}

static bool ref_seconds(const char *s, uint64_t *out)
{
	unsigned __int128 whole = 0, ms;
	/* Digits, or none when a fraction follows (".5"). */
	if (!(*s == '.' || ref_digits(&s, &whole)) || whole >= UINT64_MAX / 1000)
		return false;
	ms = whole * 1000;
	if (*s == '.') {
		s++;
		if (*s < '0' || *s > '9')
			return false;
		unsigned scale = 100;
		for (; *s >= '0' && *s <= '9'; s++, scale /= 10)
			ms += (unsigned)(*s - '0') * scale;
	}
	if (*s || ms == 0 || ms > UINT64_MAX)
		return false;
	*out = (uint64_t)ms;
	return true;
}

static void check_numbers(const char *s)
{
	uint64_t got = 0, want = 0;
	bool ok = ref_count(s, &want);
	CHECK((policy_parse_count(s, &got) == 0) == ok);
	CHECK(!ok || got == want);

	ok = ref_bytes(s, &want);
	CHECK((policy_parse_bytes(s, &got) == 0) == ok);
	CHECK(!ok || got == want);

	ok = ref_seconds(s, &want);
	CHECK((policy_parse_seconds_ms(s, &got) == 0) == ok);
	CHECK(!ok || got == want);
}

/* A normalised path: absolute, no empty, "." or ".." component, no trailing slash but for "/". */
static void check_normal(const char *p)
{
	CHECK(p[0] == '/');
	if (strcmp(p, "/") == 0)
		return;
	size_t n = strlen(p);
	CHECK(p[n - 1] != '/');
	for (const char *c = p; *c; c++) {
		if (*c != '/')
			continue;
		const char *e = c + 1;
		size_t len = strcspn(e, "/");
		CHECK(len > 0);
		CHECK(!(len == 1 && e[0] == '.'));
		CHECK(!(len == 2 && e[0] == '.' && e[1] == '.'));
	}
}

static void check_paths(const char *base, const char *rel)
{
	char *out = path_join_normalize(base, rel);
	if (!out)
		return; /* ENOMEM */
	check_normal(out);
	CHECK(path_is_under(out, "/"));
	CHECK(path_is_under(out, out));
	char *again = path_join_normalize("/", out);
	CHECK(again && strcmp(again, out) == 0);
	free(again);
	/* Joining onto a normalised base never climbs above "/", and an absolute rel ignores the base. */
	if (rel[0] == '/') {
		char *alone = path_join_normalize("/elsewhere", rel);
		CHECK(alone && strcmp(alone, out) == 0);
		free(alone);
	}
	/* Everything under a root is under its parents too. */
	char *parent = path_join_normalize(out, "..");
	CHECK(parent && path_is_under(out, parent));
	free(parent);
	free(out);

	char *home = path_expand_home(rel, "/home/u");
	if (home) {
		if (rel[0] == '~')
			CHECK(strncmp(home, "/home/u", 7) == 0);
		else
			CHECK(strcmp(home, rel) == 0);
		free(home);
	} else {
		CHECK(rel[0] == '~');
	}
	(void)path_is_bare_name(rel);
	(void)env_name_is_secret(rel, strlen(rel));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 8192)
		return 0;
	/* The whole input as one string (cut at a NUL, as C would see it)... */
	char *s = malloc(size + 1);
	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	check_numbers(s);

	/* ...and split at the first newline into a base and a relative path. */
	char *nl = strchr(s, '\n');
	const char *base = "/", *rel = s;
	if (nl) {
		*nl = '\0';
		base = s;
		rel = nl + 1;
	}
	check_paths(base, rel);
	free(s);
	return 0;
}
