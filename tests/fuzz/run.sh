#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Builds the libFuzzer targets (clang, -Dfuzz=true) and runs each for SECONDS (default 30) over its
# seed corpus in tests/fuzz/corpus/NAME. New inputs go to BUILD/fuzz-corpus/NAME, so the checked-in
# seeds stay as they are; a crash leaves its input in BUILD/fuzz-artifacts/ and makes this fail.
#   usage: tests/fuzz/run.sh [SECONDS]
#   env:   FUZZ_BUILD_DIR (default build-fuzz), FUZZ_MESON_ARGS (extra `meson setup` arguments)
set -eu

secs=${1:-30}
case $secs in
'' | *[!0-9]*) echo "usage: $0 [SECONDS]" >&2; exit 2 ;;
esac

root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
build=${FUZZ_BUILD_DIR:-build-fuzz}
targets="config parsers allowlist audit_read stagefile proto http_head socks5 tls_sni dns_query"

if [ ! -f "$build/build.ninja" ]; then
	# shellcheck disable=SC2086 # FUZZ_MESON_ARGS is a list of words
	CC=clang meson setup "$build" -Dfuzz=true ${FUZZ_MESON_ARGS:-}
else
	meson configure "$build" -Dfuzz=true
fi
ninja_targets=
for t in $targets; do
	ninja_targets="$ninja_targets tests/fuzz/fuzz_$t"
done
# Only the fuzz targets: the rest of the tree is not needed here.
# shellcheck disable=SC2086
if ! ninja -C "$build" $ninja_targets; then
	echo "run.sh: building the fuzz targets failed (is subdir('fuzz') in tests/meson.build?)" >&2
	exit 1
fi

export ASAN_OPTIONS="${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
mkdir -p "$build/fuzz-artifacts"
failed=
for t in $targets; do
	exe="$build/tests/fuzz/fuzz_$t"
	work="$build/fuzz-corpus/$t"
	mkdir -p "$work"
	set -- -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len=16384 -print_final_stats=1 \
		-artifact_prefix="$build/fuzz-artifacts/$t-"
	if [ -f "tests/fuzz/$t.dict" ]; then
		set -- "$@" -dict="tests/fuzz/$t.dict"
	fi
	echo "== fuzz_$t for ${secs}s"
	if "$exe" "$@" "$work" "tests/fuzz/corpus/$t"; then
		echo "== fuzz_$t: no crash"
	else
		echo "== fuzz_$t: FAILED (exit $?); inputs:" >&2
		for a in "$build/fuzz-artifacts/$t-"*; do
			[ -e "$a" ] && echo "   $a" >&2
		done
		failed="$failed $t"
	fi
done

if [ -n "$failed" ]; then
	echo "run.sh: crashes in:$failed" >&2
	exit 1
fi
echo "run.sh: all fuzz targets ran ${secs}s without a crash"
