#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Staged sessions benchmark, two parts:
#  1. start-up: what `cordon run --staged --session S` adds to `cordon run` for `true` (the same
#     session every round, made before the timing), with and without the audit log, next to native
#     `true` and bwrap with run.sh's policy; all six variants interleaved in one harness run
#     (bench/startup.c). Target: staged minus direct at most 0.5 ms.
#  2. review: `cordon diff S --stat` on a session holding 10,000 changes (5,000 files modified,
#     3,000 added, 2,000 deleted in a 10,000-file workspace), median of 5 runs; the full unified
#     `cordon diff S` and `cordon sessions` alongside for information. Target: under 1 s.
# Nothing here asserts performance; it measures and prints a markdown report.
#
# usage: bench/staged.sh [--quick] [--no-bwrap] [--no-startup] [--no-diff] [--rounds N]
#                        [--warmup N] [--diff-runs N] [--files N] [--seed N] [--out DIR]
# env:   CORDON  cordon binary (default: build/src/cordon)
#        BENCH   harness binary (default: build/bench/bench-startup, else compiled with $CC)
#        BWRAP   bubblewrap binary (default: bwrap from PATH)
# --files N is the size of part 2's workspace (at least 100); the staged run changes half of it, adds
# 30% and deletes 20% (exactly so when N is a multiple of 1,000).
# --out DIR keeps, per part, the summary (TITLE.tsv) and every sample (TITLE.samples.tsv).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

rounds=200
warmup=5
diff_runs=5
nfiles=10000
seed=
use_bwrap=1
do_startup=1
do_diff=1
out=

usage() { sed -n '4,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; }
need_arg() { [[ $# -ge 2 && -n $2 ]] || { echo "staged.sh: $1 needs an argument" >&2; exit 2; }; }
while [[ $# -gt 0 ]]; do
	case $1 in
	--quick) rounds=20 warmup=2 diff_runs=2 ;;
	--no-bwrap) use_bwrap=0 ;;
	--no-startup) do_startup=0 ;;
	--no-diff) do_diff=0 ;;
	--rounds) need_arg "$@"; rounds=$2; shift ;;
	--warmup) need_arg "$@"; warmup=$2; shift ;;
	--diff-runs) need_arg "$@"; diff_runs=$2; shift ;;
	--files) need_arg "$@"; nfiles=$2; shift ;;
	--seed) need_arg "$@"; seed=$2; shift ;;
	--out) need_arg "$@"; out=$2; shift ;;
	-h|--help) usage; exit 0 ;;
	*) echo "staged.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
	esac
	shift
done
for n in "$rounds" "$warmup" "$diff_runs" "$nfiles"; do
	[[ $n =~ ^[0-9]+$ ]] || { echo "staged.sh: not a number: '$n'" >&2; exit 2; }
done
(( rounds > 0 && diff_runs > 0 && nfiles >= 100 )) || {
	echo "staged.sh: --rounds and --diff-runs must be at least 1, --files at least 100" >&2; exit 2; }
[[ -z $seed ]] && seed=$(( RANDOM << 15 | RANDOM ))

# --- tools ---------------------------------------------------------------------------------------
cordon=${CORDON:-$root/build/src/cordon}
[[ $cordon = /* ]] || cordon=$PWD/$cordon
if [[ ! -x $cordon ]]; then
	echo "staged.sh: no cordon binary at $cordon (build it, or set CORDON=...)" >&2
	exit 2
fi
bwrap=
if [[ $use_bwrap = 1 ]]; then
	bwrap=$(command -v "${BWRAP:-bwrap}") || {
		echo "staged.sh: bwrap not found (apt-get install bubblewrap, or pass --no-bwrap)" >&2
		exit 2
	}
fi
git=$(type -P git) || { echo "staged.sh: git not found" >&2; exit 2; }
true_bin=$(type -P true) || { echo "staged.sh: true not found" >&2; exit 2; }
bash_bin=$(type -P bash) || { echo "staged.sh: bash not found" >&2; exit 2; }

scratch=$(mktemp -d "${TMPDIR:-/tmp}/cordon-bench-staged.XXXXXX")
# The sessions (and the audit log of the audited variants) live in the scratch directory, never in
# the user's ~/.local/state. Exported: the harness passes its environment to every variant.
export XDG_STATE_HOME=$scratch/state
mkdir -p "$XDG_STATE_HOME"
# shellcheck disable=SC2317  # called from the EXIT trap
cleanup() {
	# Drop the sessions through cordon first (it knows their layout), then the whole directory.
	local s
	for s in bench-startup bench-diff; do
		"$cordon" discard "$s" >/dev/null 2>&1 || true
	done
	rm -rf -- "$scratch"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

bench=${BENCH:-$root/build/bench/bench-startup}
if [[ ! -x $bench ]]; then
	bench=$scratch/bench-startup
	"${CC:-cc}" -std=c17 -O2 -Wall -Wextra -Werror -D_GNU_SOURCE -o "$bench" "$root/bench/startup.c"
fi
if [[ -n $out ]]; then mkdir -p "$out" && out=$(cd "$out" && pwd); fi

status=0
# fail TITLE FILE...: the **FAILED** paragraph with the captured output; the script will exit 1.
fail() {
	local title=$1; shift
	echo "**FAILED** ($title, no numbers):"
	echo
	echo '```'
	cat "$@"
	[[ -n $(cat "$@") ]] || echo "(no output)"
	echo '```'
	status=1
}
# now_ns: CLOCK_REALTIME in ns (only for the informational one-off timings; the harness does the rest)
now_ns() { date +%s%N; }
fmt_s() { awk -v ns="$1" 'BEGIN { printf "%.2f s", ns / 1e9 }'; }

# --- the report's head ---------------------------------------------------------------------------
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1)
state_fs=$(findmnt -n -o FSTYPE -T "$XDG_STATE_HOME" 2>/dev/null || stat -f -c %T "$XDG_STATE_HOME")
echo "## Staged sessions benchmark"
echo
echo "- machine: $(nproc) CPUs, ${cpu:-unknown CPU}, Linux $(uname -r)"
echo "- ${bwrap:+$("$bwrap" --version), }cordon at ${cordon#"$root"/} ($("$cordon" version 2>/dev/null | head -n1))"
echo "- XDG_STATE_HOME (sessions, audit log): scratch directory on $state_fs, removed on exit"
echo "- shuffle seed: $seed"

# --- part 1: start-up ----------------------------------------------------------------------------
# A small git repository as the workspace (an agent's usual one): the staged variants mount the
# overlay on it, and its .git is protected as usual.
startup() {
	local ws=$scratch/ws-startup title=startup
	mkdir -p "$ws"
	(
		cd "$ws"
		"$git" init -q .
		for ((i = 0; i < 20; i++)); do printf 'file %d\n' "$i" > "f$i.txt"; done
		"$git" -c user.name="cordon bench" -c user.email=bench@cordon.invalid -c commit.gpgsign=false \
			add -A
		"$git" -c user.name="cordon bench" -c user.email=bench@cordon.invalid -c commit.gpgsign=false \
			commit -q -m "bench fixture"
	)

	# bwrap: cordon's default policy as bench/run.sh writes it (see the differences listed there).
	local -a deny_read=(
		~/.ssh ~/.gnupg ~/.aws ~/.config/gcloud ~/.azure ~/.kube ~/.docker/config.json ~/.netrc
		~/.git-credentials ~/.config/gh ~/.config/hub ~/.password-store ~/.local/share/keyrings
		~/.pypirc ~/.cargo/credentials ~/.cargo/credentials.toml ~/.vault-token
		~/.terraform.d/credentials.tfrc.json
	)
	local -a bwrap_args=(--unshare-all --die-with-parent --new-session --ro-bind / /
		--tmpfs /tmp --dev /dev --proc /proc)
	local p name
	for p in "${deny_read[@]}"; do
		if [[ -d $p ]]; then bwrap_args+=(--tmpfs "$p" --remount-ro "$p")
		elif [[ -e $p ]]; then bwrap_args+=(--ro-bind /dev/null "$p"); fi
	done
	bwrap_args+=(--bind "$ws" "$ws")
	for name in .git .codex .agents; do
		[[ -e $ws/$name ]] && bwrap_args+=(--ro-bind "$ws/$name" "$ws/$name")
	done
	bwrap_args+=(--chdir "$ws" --)

	echo
	echo "### Start-up: \`true\` ($rounds rounds + $warmup warm-up, interleaved)"
	echo
	# The session is made here, once, by a staged run of `true`; every measured staged run reuses it.
	local s=bench-startup
	if ! (cd "$ws" && "$cordon" run --no-audit --staged --session "$s" -w "$ws" -- "$true_bin") \
		> "$scratch/$title.setup" 2>&1; then
		fail "making session $s" "$scratch/$title.setup"
		return 0
	fi
	local -a v=(-- native "$true_bin")
	[[ -n $bwrap ]] && v+=(--- bwrap "$bwrap" "${bwrap_args[@]}" "$true_bin")
	v+=(--- direct "$cordon" run --no-audit -w "$ws" -- "$true_bin"
	    --- staged "$cordon" run --no-audit --staged --session "$s" -w "$ws" -- "$true_bin"
	    --- direct-audit "$cordon" run -w "$ws" -- "$true_bin"
	    --- staged-audit "$cordon" run --staged --session "$s" -w "$ws" -- "$true_bin")
	local tsv=$scratch/$title.tsv smp=$scratch/$title.samples.tsv
	if ! "$bench" --tsv -n "$rounds" -w "$warmup" --seed "$seed" -C "$ws" --samples "$smp" "${v[@]}" \
		> "$tsv" 2> "$scratch/$title.err"; then
		fail "start-up" "$scratch/$title.err"
		return 0
	fi
	[[ -n $out ]] && cp "$tsv" "$smp" "$out/"
	# The table; "vs direct" compares each staged variant with the direct run of the same audit setting.
	awk -F'\t' '
		NR == 1 { next }
		{ name[++n] = $1; med[n] = $3; p10[n] = $4; p90[n] = $5; over[n] = $9; ratio[n] = $10; m[$1] = $3 }
		END {
			print "| variant | median ms | p10 ms | p90 ms | overhead vs native ms | ratio vs native | ratio vs bwrap | ratio vs direct |"
			print "|---|--:|--:|--:|--:|--:|--:|--:|"
			for (i = 1; i <= n; i++) {
				d = name[i] == "staged" ? m["direct"] : name[i] == "staged-audit" ? m["direct-audit"] : 0
				printf "| %s | %.3f | %.3f | %.3f | %+.3f | %.2fx | %s | %s |\n", name[i], med[i], p10[i],
				       p90[i], over[i], ratio[i], ("bwrap" in m) ? sprintf("%.2fx", med[i] / m["bwrap"]) : "n/a",
				       d ? sprintf("%.2fx", med[i] / d) : ""
			}
		}' "$tsv"
	echo
	echo "Variants: \`direct\` is \`cordon run --no-audit -w WS -- true\`, \`staged\` adds \`--staged --session $s\`;"
	echo "the \`-audit\` ones are the same without \`--no-audit\` (audit log on, the default)."
	echo
	# Staged minus direct: the difference of the medians, and the median over rounds of the difference
	# within a round (drift-resistant; the two should agree on a quiet machine).
	local a st di paired
	for a in "" -audit; do
		st=staged$a di=direct$a
		paired=$(awk -F'\t' -v st="$st" -v di="$di" '
			NR == 1 { next }
			$3 == st { s[$1] = $4 } $3 == di { d[$1] = $4 }
			END { for (r in s) if (r in d) print s[r] - d[r] }' "$smp" | sort -g |
			awk '{ x[NR] = $1 } END { if (NR) print (NR % 2) ? x[(NR + 1) / 2] : (x[NR / 2] + x[NR / 2 + 1]) / 2 }')
		awk -F'\t' -v st="$st" -v di="$di" -v paired="${paired:-0}" -v label="${a:+audited}" '
			NR > 1 { m[$1] = $3 }
			END {
				printf "- staged minus direct (%s): **%+.3f ms** median, %+.3f ms paired (target: at most 0.5 ms)\n",
				       label ? label : "--no-audit", m[st] - m[di], paired
			}' "$tsv"
	done
}

# --- part 2: cordon diff on 10,000 changes -------------------------------------------------------
# The workspace: $nfiles small text files in 100 directories (d0..d9/s0..s9, as run.sh lays them
# out). File i is in d(i%10)/s(i/10%10); its fate is decided by (i/100)%10, so that every directory
# has its share: 0-4 modified (rewritten with a second line), 5-6 deleted, 7-9 left alone; and
# 30% of $nfiles new files are added, spread the same way. The added files (32 bytes and more) are
# longer than any deleted one (at most 11), so no add is compared with a deletion as a rename.
# shellcheck disable=SC2016  # expanded by the bash in the sandbox
change_script='
n=$1 del=()
for ((i = 0; i < n; i++)); do
	f=d$((i % 10))/s$((i / 10 % 10))/f$i.txt
	case $((i / 100 % 10)) in
	[0-4]) printf "file %d\nchanged in the session\n" "$i" > "$f" ;;
	[56]) del+=("$f") ;;
	esac
done
[[ ${#del[@]} -eq 0 ]] || rm -- "${del[@]}"
for ((i = 0; i < n * 3 / 10; i++)); do
	printf "file %d\nadded in the session\n" $((n + i)) > "d$((i % 10))/s$((i / 10 % 10))/new$i.txt"
done
'
# tree_sum DIR: a checksum of the names and contents of the files below DIR.
tree_sum() {
	(cd "$1" && { find . -print | LC_ALL=C sort; find . -type f -print0 | LC_ALL=C sort -z | xargs -0 cat; } | md5sum)
}
diffbench() {
	local ws=$scratch/ws-diff title=diff s=bench-diff
	local i nmod=0 ndel=0 nadd=$(( nfiles * 3 / 10 ))
	for ((i = 0; i < nfiles; i++)); do
		case $(( i / 100 % 10 )) in [0-4]) nmod=$((nmod + 1)) ;; [56]) ndel=$((ndel + 1)) ;; esac
	done
	local expect=$(( nmod + nadd + ndel ))
	mkdir -p "$ws"
	for ((i = 0; i < 100; i++)); do mkdir -p "$ws/d$((i % 10))/s$((i / 10))"; done
	for ((i = 0; i < nfiles; i++)); do
		printf 'file %d\n' "$i" > "$ws/d$((i % 10))/s$((i / 10 % 10))/f$i.txt"
	done
	local before after
	before=$(tree_sum "$ws")

	echo
	echo "### Review: \`cordon diff\` on $expect changes"
	echo
	echo "Workspace: $nfiles files of 7 to 11 bytes in 100 directories. One staged run (\`cordon run --staged"
	echo "--session $s -w WS -- bash -c ...\`, audit log on) rewrites $nmod of them, deletes $ndel and adds $nadd."
	echo
	local t0 t1
	t0=$(now_ns)
	if ! (cd "$ws" && "$cordon" run --staged --session "$s" -w "$ws" -- "$bash_bin" -c "$change_script" \
		bench "$nfiles") > "$scratch/$title.setup" 2>&1; then
		fail "the staged run that makes the changes" "$scratch/$title.setup"
		return 0
	fi
	t1=$(now_ns)
	after=$(tree_sum "$ws")
	if [[ $before != "$after" ]]; then
		echo "the staged run changed the real files" > "$scratch/$title.err"
		fail "real workspace modified" "$scratch/$title.err"
		return 0
	fi
	# Check what the timed commands will say before timing them: a wrong count measures nothing.
	if ! (cd "$ws" && "$cordon" diff "$s" --stat) > "$scratch/$title.stat" 2> "$scratch/$title.err"; then
		fail "cordon diff $s --stat" "$scratch/$title.err"
		return 0
	fi
	local last got
	last=$(tail -n1 "$scratch/$title.stat")
	got=$(awk '{ k[$1]++ } END { printf "M %d A %d D %d", k["M"], k["A"], k["D"] }' "$scratch/$title.stat")
	if [[ $last != "$expect changes,"* || $got != "M $nmod A $nadd D $ndel" ]]; then
		{
			echo "expected: $expect changes (M $nmod A $nadd D $ndel)"
			echo "got:      $got; last line: $last"
			echo "first lines:"
			head -n5 "$scratch/$title.stat"
		} > "$scratch/$title.err"
		fail "cordon diff $s --stat: wrong count" "$scratch/$title.err"
		return 0
	fi
	local layer_kib
	layer_kib=$(du -sk "$XDG_STATE_HOME/cordon/sessions/$s" | cut -f1)
	echo "- the staged run: $(fmt_s $((t1 - t0))) (once, for information); session directory ${layer_kib} KiB"
	echo "- \`cordon diff $s --stat\` last line: \`$last\`"
	echo

	local -a v=(-- stat "$cordon" diff "$s" --stat
	    --- full "$cordon" diff "$s"
	    --- sessions "$cordon" sessions)
	local tsv=$scratch/$title.tsv smp=$scratch/$title.samples.tsv
	if ! "$bench" --tsv -n "$diff_runs" -w 1 --seed "$seed" -C "$ws" --samples "$smp" "${v[@]}" \
		> "$tsv" 2> "$scratch/$title.err"; then
		fail "cordon diff / sessions" "$scratch/$title.err"
		return 0
	fi
	[[ -n $out ]] && cp "$tsv" "$smp" "$out/"
	local full_bytes
	full_bytes=$(cd "$ws" && "$cordon" diff "$s" | wc -c)
	echo "$diff_runs runs + 1 warm-up each, interleaved, output to /dev/null:"
	echo
	awk -F'\t' -v n="$expect" -v fb="$full_bytes" -v s="$s" '
		NR == 1 { next }
		{
			cmd = $1 == "stat" ? "`cordon diff " s " --stat`" : $1 == "full" ? "`cordon diff " s "` (" sprintf("%.1f", fb / 1048576) " MiB)" : "`cordon sessions` (all sessions)"
			if (!hdr++) {
				print "| command | median s | min s | max s | µs per change (median) |"
				print "|---|--:|--:|--:|--:|"
			}
			printf "| %s | %.3f | %.3f | %.3f | %.0f |\n", cmd, $3 / 1000, $7 / 1000, $8 / 1000, $3 * 1000 / n
			if ($1 == "stat") st = $3
		}
		END { printf "\n`cordon diff --stat` on %d changes: **%.3f s** median (target: under 1 s)\n", n, st / 1000 }' "$tsv"
}

[[ $do_startup = 1 ]] && startup
[[ $do_diff = 1 ]] && diffbench
exit "$status"
