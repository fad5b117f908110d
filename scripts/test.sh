#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Sets up a fresh Debian 12 machine and runs every test: unit, integration and escape suites, built
# with gcc, with clang, and with gcc under AddressSanitizer + UndefinedBehaviorSanitizer. The
# sandbox is exercised as root and as the unprivileged user `cordon-test` (created here when run as
# root). Ends with one line: "N passed, N failed".
#
#   scripts/test.sh            everything
#   scripts/test.sh --quick    the gcc build only
set -uo pipefail
cd "$(dirname "$0")/.."
quick=false
[[ ${1:-} == --quick ]] && quick=true

bash scripts/deps.sh || { echo "test: could not install dependencies" >&2; exit 1; }
if [[ $(id -u) == 0 ]] && ! id -u cordon-test >/dev/null 2>&1; then
	useradd --system --no-create-home --shell /usr/sbin/nologin cordon-test
fi

builds=("build-test-gcc:gcc:")
$quick || builds+=("build-test-clang:clang:" "build-test-asan:gcc:-Db_sanitize=address,undefined -Db_lundef=false")

passed=0 failed=0 skipped=0 todo=0
status=0
fails_file=$(mktemp)
trap 'rm -f "$fails_file"' EXIT
for b in "${builds[@]}"; do
	IFS=: read -r dir cc opts <<<"$b"
	echo "=== $dir ($cc $opts)"
	# shellcheck disable=SC2086
	if ! { [[ -d $dir ]] || CC=$cc meson setup "$dir" $opts >"$dir.setup.log" 2>&1; } || ! ninja -C "$dir" >"$dir.build.log" 2>&1; then
		cat "$dir.setup.log" "$dir.build.log" 2>/dev/null | tail -40
		echo "test: $dir failed to build" >&2
		echo "$dir: failed to build (above)" >>"$fails_file"
		failed=$((failed + 1))
		status=1
		continue
	fi
	export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
	meson test -C "$dir" --print-errorlogs --num-processes 2 || status=1
	# Count single checks from the machine-readable log: TAP lines, cmocka's summaries, else one
	# per program by its result.
	read -r p f s t < <(python3 - "$dir/meson-logs/testlog.json" "$dir" 2>>"$fails_file" <<'PY'
import json, re, sys
p = f = s = t = 0
def bad(r, what):
    # Named at the end of the run, where a log cut to its last lines still shows them.
    sys.stderr.write("%s: %s: %s\n" % (sys.argv[2], r.get("name", "?"), what))
for line in open(sys.argv[1]):
    r = json.loads(line)
    out = r.get("stdout", r.get("stdo", "")) or ""
    tap_ok = re.findall(r"^ok \d+", out, re.M)
    tap_skip = re.findall(r"^ok \d+.*# SKIP", out, re.M)
    tap_bad = [l for l in re.findall(r"^not ok \d+.*", out, re.M) if "# TODO" not in l]
    tap_todo = [l for l in re.findall(r"^not ok \d+.*", out, re.M) if "# TODO" in l]
    cm_ok = re.findall(r"^\[  PASSED  \] (\d+) test", out, re.M)
    cm_bad = re.findall(r"^\[  FAILED  \] (\d+) test", out, re.M)
    if tap_ok or tap_bad:
        p += len(tap_ok) - len(tap_skip); s += len(tap_skip); f += len(tap_bad); t += len(tap_todo)
        lines = out.splitlines()
        for i, l in enumerate(lines):
            if l.startswith("not ok") and "# TODO" not in l:
                why = []
                for d in lines[i + 1:i + 7]:
                    if not d.startswith("#"):
                        break
                    why.append("    " + d[:200])
                bad(r, "\n".join([l] + why))
        if r.get("result") not in ("OK", "SKIP") and not tap_bad:
            f += 1  # the program failed outside its TAP lines (crash, sanitizer, wrong plan)
            bad(r, "%s outside its TAP lines" % r.get("result"))
    elif cm_ok or cm_bad:
        p += sum(map(int, cm_ok)); f += sum(map(int, cm_bad))
        for l in re.findall(r"^\[  FAILED  \] (?!\d+ test).*", out, re.M):
            bad(r, l)
        if r.get("result") != "OK" and not cm_bad:
            f += 1
            bad(r, r.get("result"))
    elif r.get("result") == "SKIP":
        s += 1
    elif r.get("result") in ("OK", "EXPECTEDFAIL"):
        p += 1
    else:
        f += 1
        bad(r, r.get("result"))
print(p, f, s, t)
PY
)
	passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s)) todo=$((todo + t))
done
# A short fuzzing pass over every parser (libFuzzer, clang): longer runs are tests/fuzz/run.sh N.
if ! $quick; then
	echo "=== fuzz (${CORDON_FUZZ_SECONDS:-20} s per target)"
	if FUZZ_BUILD_DIR=build-test-fuzz bash tests/fuzz/run.sh "${CORDON_FUZZ_SECONDS:-20}" >build-test-fuzz.log 2>&1; then
		passed=$((passed + 1))
		grep -E "^#[0-9]+ +DONE|Done [0-9]+ runs" build-test-fuzz.log | tail -2
	else
		# What failed and why (the log's tail is mostly libFuzzer's dictionary report).
		grep -v '# Uses:' build-test-fuzz.log |
			grep -E '^fuzz_[a-z_]+: |ERROR|SUMMARY|Test unit written|Base64|FAILED|^   /|run.sh:|error:' | tail -40
		echo "test: fuzzing found a crash or failed to build" >&2
		echo "fuzz: a crash, or a target failed to build (above)" >>"$fails_file"
		failed=$((failed + 1))
		status=1
	fi
fi

echo
echo "skipped: $skipped, known limits (TAP TODO, see docs/policy.md): $todo"
if [[ -s $fails_file ]]; then
	echo "failed checks:"
	sed 's/^/  /' "$fails_file" | head -40
fi
echo "tests: $passed passed, $failed failed"
((failed == 0)) || status=1
exit $status
