#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Network proxy benchmark (`cordon run --network proxy`), two measurements in one run:
#  1. throughput: a 200 MB download from a local server (bench-proxy-server, sendfile() on the host's
#     127.0.0.1) by curl, natively and in `cordon run --network proxy --allow localhost:PORT`, through
#     the proxy explicitly (-x http://127.0.0.1:3128, absolute-form forwarding) and transparently
#     (--noproxy '*', redirected by nftables). The three variants run interleaved, in a shuffled
#     order every round; curl's own %{speed_download} is the figure (it leaves out the sandbox's
#     start-up), the whole command's wall time is printed for information. Target: proxied >= 0.8x.
#  2. memory: bench-proxy-conns in the sandbox holds N (200) downloads open through the proxy at
#     once, stalled with every buffer full; the cordon supervisor's VmRSS, RssAnon and Pss
#     (/proc/PID/status, smaps_rollup) are read from outside before any connection, with the N open,
#     and after they are closed. Target: under 10 MiB with 200 connections.
# Only loopback addresses are used. Nothing here asserts performance; it measures and prints.
#
# usage: bench/proxy.sh [--quick] [--rounds N] [--warmup N] [--size BYTES] [--conns N]
#                       [--modes LIST] [--seed N] [--no-throughput] [--no-memory] [--out DIR]
#   --rounds N     measured throughput rounds (default 10; --quick: 3), --warmup N (default 1)
#   --size BYTES   download size (default 209715200, the issue's 200 MB)
#   --conns N      connections held open for the memory figure (default 200)
#   --modes LIST   comma-separated bench-proxy-conns modes (default get,connect,direct,tunnel):
#                  get = absolute-form GET via :3128, connect = GET in a CONNECT tunnel,
#                  direct = GET to 127.0.0.1:PORT (transparent), tunnel = idle CONNECT tunnels
#   --out DIR      also keep every throughput sample and the memory snapshots, as TSV
# env:   CORDON     cordon binary (default: build/src/cordon)
#        BENCH_DIR  where bench-proxy-server and bench-proxy-conns are (default: build/bench; if
#                   absent they are compiled with $CC into the scratch directory)
#        CURL       curl binary (default: curl from PATH)
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

rounds=10
warmup=1
size=209715200
conns=200
modes=get,connect,direct,tunnel
seed=
do_tput=1
do_mem=1
out=

usage() { sed -n '4,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; }
need_arg() { [[ $# -ge 2 && -n $2 ]] || { echo "proxy.sh: $1 needs an argument" >&2; exit 2; }; }
while [[ $# -gt 0 ]]; do
	case $1 in
	--quick) rounds=3 warmup=1 ;;
	--rounds) need_arg "$@"; rounds=$2; shift ;;
	--warmup) need_arg "$@"; warmup=$2; shift ;;
	--size) need_arg "$@"; size=$2; shift ;;
	--conns) need_arg "$@"; conns=$2; shift ;;
	--modes) need_arg "$@"; modes=$2; shift ;;
	--seed) need_arg "$@"; seed=$2; shift ;;
	--no-throughput) do_tput=0 ;;
	--no-memory) do_mem=0 ;;
	--out) need_arg "$@"; out=$2; shift ;;
	-h|--help) usage; exit 0 ;;
	*) echo "proxy.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
	esac
	shift
done
for n in "$rounds" "$warmup" "$size" "$conns"; do
	[[ $n =~ ^[0-9]+$ ]] || { echo "proxy.sh: not a number: '$n'" >&2; exit 2; }
done
(( rounds >= 1 && size >= 1 && conns >= 1 )) || { echo "proxy.sh: rounds, size and conns must be >= 1" >&2; exit 2; }
IFS=, read -r -a mode_list <<< "$modes"
for m in "${mode_list[@]}"; do
	[[ $m =~ ^(get|connect|direct|tunnel)$ ]] || { echo "proxy.sh: unknown mode '$m'" >&2; exit 2; }
done
[[ -z $seed ]] && seed=$(( RANDOM << 15 | RANDOM ))
[[ $seed =~ ^[0-9]+$ ]] || { echo "proxy.sh: not a number: '$seed'" >&2; exit 2; }

scratch=$(mktemp -d "${TMPDIR:-/tmp}/cordon-bench-proxy.XXXXXX")
server_pid=
client_pid=
# shellcheck disable=SC2317  # called from the EXIT trap
cleanup() {
	local rc=$?
	set +e
	# Only the processes this script started, by pid.
	if [[ -n $client_pid ]]; then kill "$client_pid" 2>/dev/null; wait "$client_pid" 2>/dev/null; fi
	if [[ -n $server_pid ]]; then kill "$server_pid" 2>/dev/null; wait "$server_pid" 2>/dev/null; fi
	rm -rf -- "$scratch"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- tools ---------------------------------------------------------------------------------------
cordon=${CORDON:-$root/build/src/cordon}
[[ $cordon = /* ]] || cordon=$PWD/$cordon
[[ -x $cordon ]] || { echo "proxy.sh: no cordon binary at $cordon (build it or set CORDON=...)" >&2; exit 2; }
curl=$(type -P "${CURL:-curl}") || { echo "proxy.sh: curl not found (apt-get install curl)" >&2; exit 2; }
bdir=${BENCH_DIR:-$root/build/bench}
[[ $bdir = /* ]] || bdir=$PWD/$bdir
server=$bdir/bench-proxy-server
client=$bdir/bench-proxy-conns
if [[ ! -x $server || ! -x $client ]]; then
	server=$scratch/bench-proxy-server
	client=$scratch/bench-proxy-conns
	cflags=(-std=c17 -O2 -Wall -Wextra -Werror -D_GNU_SOURCE)
	"${CC:-cc}" "${cflags[@]}" -pthread -o "$server" "$root/bench/proxy_server.c"
	"${CC:-cc}" "${cflags[@]}" -o "$client" "$root/bench/proxy_conns.c"
fi
if [[ -n $out ]]; then mkdir -p "$out" && out=$(cd "$out" && pwd); fi

# --- the server ----------------------------------------------------------------------------------
# It exits by itself after its lifetime even if this script is killed with SIGKILL.
"$server" --size "$size" --lifetime 1800 > "$scratch/port" 2> "$scratch/server.err" &
server_pid=$!
for _ in $(seq 100); do
	[[ -s $scratch/port ]] && break
	kill -0 "$server_pid" 2>/dev/null || break
	sleep 0.1
done
port=$(head -n1 "$scratch/port" 2>/dev/null || true)
[[ $port =~ ^[0-9]+$ ]] || { echo "proxy.sh: the server did not start:" >&2; cat "$scratch/server.err" >&2; exit 1; }

sandbox=("$cordon" run --network proxy --allow "localhost:$port" --)
fmt='%{http_code} %{size_download} %{speed_download}'

cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1)
echo "## Network proxy benchmark"
echo
echo "- machine: $(nproc) CPUs, ${cpu:-unknown CPU}, Linux $(uname -r)"
echo "- $("$curl" --version | head -n1 | cut -d' ' -f1-2), cordon at ${cordon#"$root"/}"
echo "- server: bench-proxy-server on 127.0.0.1:$port, $size-byte body by sendfile() from a memfd"
echo "- shuffle seed: $seed"
status=0

# --- 1. throughput -------------------------------------------------------------------------------
# run_variant NAME: one download; appends "NAME bytes/s wall_ms" to $scratch/tput, or fails.
run_variant() {
	local name=$1 t0 t1 res
	local -a cmd
	case $name in
	native) cmd=("$curl" -s -o /dev/null -w "$fmt" "http://127.0.0.1:$port/big") ;;
	explicit) cmd=("${sandbox[@]}" "$curl" -s -o /dev/null -w "$fmt" -x http://127.0.0.1:3128 "http://localhost:$port/big") ;;
	transparent) cmd=("${sandbox[@]}" "$curl" -s -o /dev/null -w "$fmt" --noproxy '*' "http://localhost:$port/big") ;;
	esac
	t0=$EPOCHREALTIME
	local rc=0
	res=$("${cmd[@]}" 2> "$scratch/variant.err") || rc=$?
	if [[ $rc != 0 ]]; then
		echo "**FAILED**: variant $name: ${cmd[*]}: exit status $rc; curl said '$res'" >&2
		cat "$scratch/variant.err" >&2
		return 1
	fi
	t1=$EPOCHREALTIME
	local code bytes speed
	read -r code bytes speed <<< "$res"
	if [[ $code != 200 || $bytes != "$size" ]]; then
		echo "**FAILED**: variant $name: HTTP $code, $bytes of $size bytes" >&2
		cat "$scratch/variant.err" >&2
		return 1
	fi
	# EPOCHREALTIME is seconds.microseconds: microseconds without the dot.
	printf '%s\t%s\t%.3f\n' "$name" "$speed" "$(( ${t1/./} - ${t0/./} ))e-3" >> "$scratch/tput"
}

if [[ $do_tput = 1 ]]; then
	variants=(native explicit transparent)
	: > "$scratch/tput"
	RANDOM=$seed
	echo
	echo "### Throughput: $size-byte download, $rounds rounds + $warmup warm-up, interleaved"
	echo
	ok=1
	printf 'round\tposition\tvariant\tbytes_per_s\twall_ms\n' > "$scratch/samples"
	for ((r = 0; r < warmup + rounds && ok; r++)); do
		order=("${variants[@]}")
		for ((i = ${#order[@]} - 1; i > 0; i--)); do # Fisher-Yates
			j=$(( RANDOM % (i + 1) )); t=${order[i]}; order[i]=${order[j]}; order[j]=$t
		done
		: > "$scratch/tput"
		for ((k = 0; k < ${#order[@]}; k++)); do
			run_variant "${order[k]}" || { ok=0; break; }
		done
		(( ok && r >= warmup )) && awk -v r=$(( r - warmup + 1 )) -F'\t' \
			'{ printf "%d\t%d\t%s\t%s\t%s\n", r, NR, $1, $2, $3 }' "$scratch/tput" >> "$scratch/samples"
	done
	if [[ $ok = 1 ]]; then
		[[ -n $out ]] && cp "$scratch/samples" "$out/throughput.samples.tsv"
		# Medians per variant; ratios of medians, and the median of the per-round ratios (paired).
		awk -F'\t' -v q="'" '
			function median(a, n,   i, j, t) {
				for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
				return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
			}
			NR == 1 { next }
			{ sp[$3, $1] = $4 / 1e6; wall[$3, $1] = $5; rounds[$1] = 1; seen[$3] = 1 }
			END {
				split("native explicit transparent", v, " ")
				for (k = 1; k <= 3; k++) {
					n = 0; for (r in rounds) { s[++n] = sp[v[k], r]; w[n] = wall[v[k], r] }
					ms[k] = median(s, n); mw[k] = median(w, n)
					if (k > 1) { n = 0; for (r in rounds) x[++n] = sp[v[k], r] / sp["native", r]; pr[k] = median(x, n) }
				}
				print "| variant | command | median MB/s (curl) | ratio vs native | paired ratio | median wall ms |"
				print "|---|---|--:|--:|--:|--:|"
				cmd[1] = "`curl http://127.0.0.1:PORT/big`"
				cmd[2] = "`cordon run --network proxy --allow localhost:PORT -- curl -x http://127.0.0.1:3128 http://localhost:PORT/big`"
				cmd[3] = "`cordon run --network proxy --allow localhost:PORT -- curl --noproxy " q "*" q " http://localhost:PORT/big`"
				for (k = 1; k <= 3; k++)
					printf "| %s | %s | %.0f | %s | %s | %.1f |\n", v[k], cmd[k], ms[k],
					       sprintf("%.2fx", ms[k] / ms[1]), (k > 1 ? sprintf("%.2fx", pr[k]) : ""), mw[k]
				printf "\nMB = 10^6 bytes. Target: proxied throughput >= 0.80x native: explicit %.3fx (%s), transparent %.3fx (%s).\n",
				       ms[2] / ms[1], (ms[2] / ms[1] >= 0.8 ? "met" : "NOT met"), ms[3] / ms[1], (ms[3] / ms[1] >= 0.8 ? "met" : "NOT met")
			}' "$scratch/samples"
	else
		echo "**FAILED** (no throughput numbers; see above)"
		status=1
	fi
fi

# --- 2. memory with N connections open ------------------------------------------------------------
# snapshot PID: "VmRSS RssAnon RssFile Pss Pss_Anon Threads fds", kB except the last two.
snapshot() {
	local pid=$1
	local st sr
	st=$(awk '/^(VmRSS|RssAnon|RssFile|Threads):/ { v[$1] = $2 }
		END { printf "%d %d %d %d", v["VmRSS:"], v["RssAnon:"], v["RssFile:"], v["Threads:"] }' "/proc/$pid/status")
	sr=$(awk '/^(Pss|Pss_Anon):/ { v[$1] = $2 } END { printf "%d %d", v["Pss:"], v["Pss_Anon:"] }' "/proc/$pid/smaps_rollup")
	local fds
	fds=$(find "/proc/$pid/fd" -mindepth 1 -maxdepth 1 | wc -l)
	read -r rss anon file threads <<< "$st"
	read -r pss pssanon <<< "$sr"
	echo "$rss $anon $file $pss $pssanon $threads $fds"
}

# mem_one MODE: one sandbox holding $conns connections; prints a table row.
mem_one() {
	local mode=$1 line before open after rc=0
	local rfd wfd
	coproc CLIENT { exec "${sandbox[@]}" "$client" --port "$port" -n "$conns" --mode "$mode" 2> "$scratch/client.err"; }
	# shellcheck disable=SC2153  # CLIENT_PID is set by coproc
	client_pid=$CLIENT_PID
	rfd=${CLIENT[0]} wfd=${CLIENT[1]} # bash unsets CLIENT when the coproc ends; the fds stay open
	expect() {
		if ! read -r -t 120 -u "$rfd" line || [[ $line != "$1"* ]]; then
			echo "**FAILED**: mode $mode: expected '$1' from bench-proxy-conns, got '${line:-nothing}'" >&2
			cat "$scratch/client.err" >&2
			return 1
		fi
	}
	if expect ready; then
		[[ $(cat "/proc/$client_pid/comm") = cordon ]] || { echo "proxy.sh: pid $client_pid is not cordon" >&2; rc=1; }
		sleep 0.3
		before=$(snapshot "$client_pid")
		echo go >&"$wfd"
		if expect open; then
			sleep 1 # let every stalled download fill the buffers on its way
			open=$(snapshot "$client_pid")
			echo close >&"$wfd"
			if expect closed; then
				sleep 0.3
				after=$(snapshot "$client_pid")
			else rc=1; fi
		else rc=1; fi
	else rc=1; fi
	exec {wfd}>&- {rfd}<&-
	local st=0
	wait "$client_pid" || st=$?
	if [[ $st != 0 ]]; then
		echo "**FAILED**: mode $mode: cordon run exited with status $st" >&2
		cat "$scratch/client.err" >&2
		rc=1
	fi
	client_pid=
	[[ $rc = 0 ]] || return 1
	[[ -n $out ]] && printf '%s\tbefore\t%s\n%s\topen\t%s\n%s\tafter\t%s\n' "$mode" "${before// /	}" \
		"$mode" "${open// /	}" "$mode" "${after// /	}" >> "$out/memory.tsv"
	echo "$mode $before $open $after" >> "$scratch/mem"
}

if [[ $do_mem = 1 ]]; then
	echo
	echo "### Memory of the cordon supervisor (the proxy's process) with $conns connections open"
	echo
	: > "$scratch/mem"
	[[ -n $out ]] && printf 'mode\tphase\tVmRSS_kB\tRssAnon_kB\tRssFile_kB\tPss_kB\tPss_Anon_kB\tthreads\tfds\n' > "$out/memory.tsv"
	mem_ok=1
	for m in "${mode_list[@]}"; do
		mem_one "$m" || { mem_ok=0; break; }
	done
	if [[ $mem_ok = 1 ]]; then
		awk -v n="$conns" '
			BEGIN { d["get"] = "GET http://localhost:PORT/big via :3128"; d["connect"] = "GET in a CONNECT tunnel"
			        d["direct"] = "GET to 127.0.0.1:PORT (transparent)"; d["tunnel"] = "idle CONNECT tunnels" }
			{ m = $1; b = 2; o = 9; a = 16
			  rows[NR] = sprintf("| %s | %.2f | %.2f | %+.2f | %.2f | %+.2f | %+.2f | %d | %d | %.2f |", d[m],
				$b / 1024, $o / 1024, ($o - $b) / 1024, $(o + 3) / 1024, ($(o + 3) - $(b + 3)) / 1024,
				($(o + 1) - $(b + 1)) / 1024, $(o + 6) - $(b + 6), $(o + 5), $a / 1024)
			  if ($o > max) max = $o; if ($o - $b > maxd) maxd = $o - $b }
			END {
				printf "| %d connections | VmRSS before MiB | VmRSS open MiB | delta MiB | Pss open MiB | Pss delta MiB | RssAnon delta MiB | fds added | threads | VmRSS after close MiB |\n", n
				print "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|"
				for (i = 1; i <= NR; i++) print rows[i]
				printf "\nLargest supervisor VmRSS with %d connections open: %.2f MiB (largest increase %.2f MiB). Target: under 10 MiB: %s.\n",
				       n, max / 1024, maxd / 1024, (max < 10 * 1024 ? "met" : (maxd < 10 * 1024 ? "met for the increase, not for the whole process" : "NOT met"))
			}' "$scratch/mem"
		echo
		echo "MiB = 2^20 bytes. VmRSS is the whole supervisor (main thread, proxy thread, resolver threads);"
		echo "pipe and socket buffers are kernel memory and are not in it."
	else
		echo "**FAILED** (no memory numbers; see above)"
		status=1
	fi
fi
exit "$status"
