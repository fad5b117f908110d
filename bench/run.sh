#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Start-up benchmark: native exec vs bubblewrap (same policy, as far as bwrap can express it)
# vs `cordon run`, for `true` and for `git status --porcelain` in a 5,000-file repository.
# All variants of one workload run interleaved in the same harness run (bench/startup.c), so the
# ratios compare like with like. Nothing here asserts performance; it measures and prints.
#
# usage: bench/run.sh [--quick] [--no-cordon] [--no-bwrap] [--rounds-true N] [--rounds-git N]
#                     [--warmup N] [--files N] [--seed N] [--out DIR]
# env:   CORDON  cordon binary (default: build/src/cordon)
#        BENCH   harness binary (default: build/bench/bench-startup, else compiled with $CC)
#        BWRAP   bubblewrap binary (default: bwrap from PATH)
# --out DIR keeps, per workload, the summary (TITLE.tsv) and every sample (TITLE.samples.tsv).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

rounds_true=200
rounds_git=50
warmup=5
nfiles=5000
seed=
use_cordon=1
use_bwrap=1
out=

usage() { sed -n '4,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; }
need_arg() { [[ $# -ge 2 && -n $2 ]] || { echo "run.sh: $1 needs an argument" >&2; exit 2; }; }
while [[ $# -gt 0 ]]; do
	case $1 in
	--quick) rounds_true=20 rounds_git=5 warmup=2 ;;
	--no-cordon) use_cordon=0 ;;
	--no-bwrap) use_bwrap=0 ;;
	--rounds-true) need_arg "$@"; rounds_true=$2; shift ;;
	--rounds-git) need_arg "$@"; rounds_git=$2; shift ;;
	--warmup) need_arg "$@"; warmup=$2; shift ;;
	--files) need_arg "$@"; nfiles=$2; shift ;;
	--seed) need_arg "$@"; seed=$2; shift ;;
	--out) need_arg "$@"; out=$2; shift ;;
	-h|--help) usage; exit 0 ;;
	*) echo "run.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
	esac
	shift
done
for n in "$rounds_true" "$rounds_git" "$warmup" "$nfiles"; do
	[[ $n =~ ^[0-9]+$ ]] || { echo "run.sh: not a number: '$n'" >&2; exit 2; }
done
[[ -z $seed ]] && seed=$(( RANDOM << 15 | RANDOM ))

scratch=$(mktemp -d "${TMPDIR:-/tmp}/cordon-bench.XXXXXX")
# shellcheck disable=SC2317  # called from the EXIT trap
cleanup() { rm -rf -- "$scratch"; }
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- tools ---------------------------------------------------------------------------------------
bench=${BENCH:-$root/build/bench/bench-startup}
if [[ ! -x $bench ]]; then
	bench=$scratch/bench-startup
	"${CC:-cc}" -std=c17 -O2 -Wall -Wextra -Werror -D_GNU_SOURCE -o "$bench" "$root/bench/startup.c"
fi
cordon=
if [[ $use_cordon = 1 ]]; then
	cordon=${CORDON:-$root/build/src/cordon}
	[[ $cordon = /* ]] || cordon=$PWD/$cordon
	if [[ ! -x $cordon ]]; then
		echo "run.sh: no cordon binary at $cordon (build it, set CORDON=..., or pass --no-cordon)" >&2
		exit 2
	fi
fi
bwrap=
if [[ $use_bwrap = 1 ]]; then
	bwrap=$(command -v "${BWRAP:-bwrap}") || {
		echo "run.sh: bwrap not found (apt-get install bubblewrap, or pass --no-bwrap)" >&2
		exit 2
	}
fi
# Absolute paths for the measured commands: native exec resolves PATH once, outside the timing,
# so the sandboxes should not pay for a PATH search (execvp) the native variant does not make.
git=$(type -P git) || { echo "run.sh: git not found" >&2; exit 2; }
true_bin=$(type -P true) || { echo "run.sh: true not found" >&2; exit 2; }

# --- the workspace: a git repository with $nfiles small committed files ---------------------------
ws=$scratch/ws
mkdir -p "$ws"
(
	cd "$ws"
	git init -q .
	git config user.name "cordon bench"
	git config user.email "bench@cordon.invalid"
	git config commit.gpgsign false
	# 10 top-level dirs x 10 subdirs x ($nfiles / 100) files, remainder in the last dir.
	for ((i = 0; i < nfiles; i++)); do
		d=$(printf 'd%d/s%d' $(( i % 10 )) $(( (i / 10) % 10 )))
		[[ -d $d ]] || mkdir -p "$d"
		printf 'file %d\n' "$i" > "$d/f$i.txt"
	done
	# Let the index be written strictly after every file's mtime, so no entry is "racily clean"
	# (git would re-hash those on every status, and the sandboxes cannot write .git/index).
	sleep 1.1
	git add -A
	git commit -q -m "bench fixture"
	git status --porcelain >/dev/null
	[[ -z $(git status --porcelain) ]] || { echo "run.sh: fixture repo is not clean" >&2; exit 1; }
)

# --- bwrap: cordon's default policy, as far as bubblewrap expresses it ----------------------------
# cordon default (include/cordon/cordon.h, src/core/policy.c): workspace-write, network off, new
# user/mount/pid/net/ipc/uts namespaces, a private /tmp, the protected names .git .codex .agents
# read-only at the top of the workspace, and a deny-read list of credential stores under ~.
# Same here:  --unshare-all (user, ipc, pid, net, uts, cgroup), --die-with-parent, --new-session,
#             / read-only, workspace read-write, protected names re-bound read-only, /tmp a tmpfs,
#             a fresh /proc, a minimal /dev, deny-read paths that exist masked.
# Differs:    * no Landlock: bwrap confines with mounts only (cordon adds a Landlock ruleset).
#             * no seccomp filter: bwrap loads none unless given one with --seccomp/--add-seccomp-fd
#               (cordon installs its own filter).
#             * deny-read masks: bwrap hides a dir under an empty read-only tmpfs and a file under
#               /dev/null, so reads see empty content rather than EACCES.
#             * environment: bwrap passes it through; cordon drops secret-looking variables.
#             * no resource limits on either side (cordon sets none by default).
# Order matters: bwrap applies mount options left to right, so /tmp (tmpfs) must come before the
# workspace bind, or a workspace under /tmp would be hidden by the tmpfs.
deny_read=(
	~/.ssh ~/.gnupg ~/.aws ~/.config/gcloud ~/.azure ~/.kube ~/.docker/config.json ~/.netrc
	~/.git-credentials ~/.config/gh ~/.config/hub ~/.password-store ~/.local/share/keyrings
	~/.pypirc ~/.cargo/credentials ~/.cargo/credentials.toml ~/.vault-token
	~/.terraform.d/credentials.tfrc.json
)
bwrap_args=(--unshare-all --die-with-parent --new-session --ro-bind / /
	--tmpfs /tmp --dev /dev --proc /proc)
masked=()
for p in "${deny_read[@]}"; do
	if [[ -d $p ]]; then
		bwrap_args+=(--tmpfs "$p" --remount-ro "$p"); masked+=("$p")
	elif [[ -e $p ]]; then
		bwrap_args+=(--ro-bind /dev/null "$p"); masked+=("$p")
	fi
done
bwrap_args+=(--bind "$ws" "$ws")
for name in .git .codex .agents; do
	[[ -e $ws/$name ]] && bwrap_args+=(--ro-bind "$ws/$name" "$ws/$name")
done
bwrap_args+=(--chdir "$ws" --)

# --- run -----------------------------------------------------------------------------------------
# bench_one TITLE LABEL ROUNDS CMD...: one interleaved harness run; prints a markdown table.
bench_one() {
	local title=$1 label=$2 rounds=$3; shift 3
	local -a v=(-- native "$@")
	[[ -n $bwrap ]] && v+=(--- bwrap "$bwrap" "${bwrap_args[@]}" "$@")
	[[ -n $cordon ]] && v+=(--- cordon "$cordon" run -w "$ws" -- "$@")
	local tsv=$scratch/$title.tsv
	echo
	echo "### \`$label\` ($rounds rounds + $warmup warm-up, interleaved)"
	echo
	# A failing variant makes the whole workload worthless: say so, go on, exit 1 at the end.
	local -a opt=(--tsv -n "$rounds" -w "$warmup" --seed "$seed" -C "$ws")
	[[ -n $out ]] && opt+=(--samples "$out/$title.samples.tsv")
	if ! "$bench" "${opt[@]}" "${v[@]}" > "$tsv" 2> "$scratch/$title.err"; then
		echo "**FAILED** (no numbers):"
		echo
		echo '```'
		cat "$scratch/$title.err"
		echo '```'
		status=1
		return 0
	fi
	if [[ -n $out ]]; then cp "$tsv" "$out/$title.tsv"; fi
	awk -F'\t' '
		NR == 1 { next }
		{ name[++n] = $1; med[n] = $3; p10[n] = $4; p90[n] = $5; over[n] = $9; ratio[n] = $10
		  if ($1 == "bwrap") bw = $3 }
		END {
			print "| variant | median ms | p10 ms | p90 ms | overhead vs native ms | ratio vs native | ratio vs bwrap |"
			print "|---|--:|--:|--:|--:|--:|--:|"
			for (i = 1; i <= n; i++)
				printf "| %s | %.3f | %.3f | %.3f | %+.3f | %.2fx | %s |\n", name[i], med[i], p10[i],
				       p90[i], over[i], ratio[i], bw ? sprintf("%.2fx", med[i] / bw) : "n/a"
		}' "$tsv"
}

if [[ -n $out ]]; then mkdir -p "$out" && out=$(cd "$out" && pwd); fi
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1)
echo "## Start-up benchmark"
echo
echo "- machine: $(nproc) CPUs, ${cpu:-unknown CPU}, Linux $(uname -r)"
echo "- $("$git" --version)${bwrap:+, $("$bwrap" --version)}${cordon:+, cordon at ${cordon#"$root"/}}"
echo "- workspace: git repository with $nfiles committed files in $ws (scratch, removed on exit)"
echo "- bwrap deny-read masks applied: ${masked[*]:-none (no deny-read path exists here)}"
echo "- shuffle seed: $seed"

status=0
bench_one true true "$rounds_true" "$true_bin"
bench_one git-status "git status --porcelain" "$rounds_git" "$git" status --porcelain

if [[ -n $cordon && -s $scratch/true.tsv ]]; then
	awk -F'\t' '$1 == "cordon" { printf "\ncordon start-up overhead over native (`true`): %+.3f ms median, %+.3f ms paired (target: at most 1.5 ms)\n", $9, $11 }' \
		"$scratch/true.tsv"
fi
exit "$status"
