#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Warm pool daemon benchmark (`cordon serve`). Builds nothing; starts its own daemons on sockets in
# its scratch directory, stops them at the end and checks that nothing they started is left.
#  1. start-up of `true`: native vs through the daemon (libcordon, a sandbox from the pool) vs cold
#     (libcordon, built in the caller) vs bwrap with run.sh's policy vs `cordon run` with and without
#     the daemon, interleaved in one bench-daemon run. Target: daemon at most 0.3 ms over native.
#  2. `git status --porcelain` in a 5,000-file repository (the workspace), the same variants.
#     Target: daemon within 5% of native.
#  3. N (500) commands started at once through the daemon (bench-daemon --concurrent: cordon_spawn()
#     N times, then every result), and the same with N `cordon run` processes in the background.
#     Target: none fails.
#  4. memory per idle pooled sandbox: a daemon with --pool 50 against one with --pool 0, the same
#     request made to each first; the difference in MemTotal - MemAvailable (/proc/meminfo) and in
#     the summed Pss of the daemon and all its descendants (/proc/PID/smaps_rollup), over 50.
#     Target: at most 2 MiB.
#  5. part 1 again as the unprivileged user `cordon-test` (setpriv), its daemon on the default socket
#     under an XDG_RUNTIME_DIR of its own.
# Nothing here asserts performance; it measures and prints a markdown report. Run it as root (parts
# 4 and 5 need it; as another user they are skipped) on an otherwise idle machine.
#
# usage: bench/daemon.sh [--build DIR] [--quick] [--pool N] [--rounds-true N] [--rounds-git N]
#                        [--warmup N] [--settle MS] [--files N] [--concurrent N] [--mem-pool N]
#                        [--mem-repeat N] [--audit on|off] [--user NAME] [--seed N] [--no-bwrap]
#                        [--no-cli] [--parts LIST] [--out DIR]
#   --build DIR     the meson build directory (default: build): DIR/src/cordon, DIR/bench/bench-daemon
#   --quick         20 and 5 rounds, 50 at once, one pool-10 daemon: a sanity check, not a measurement
#   --pool N        the daemon's --pool for parts 1-3 and 5 (default 4)
#   --settle MS     bench-daemon's sleep before every sample, so that the pool is full (default 50)
#   --concurrent N  part 3's number of commands (default 500)
#   --mem-pool N    part 4's pool (default 50); --mem-repeat N: pool-N daemons measured, each against
#                   pool-0 daemons before and after it (default 2)
#   --audit on|off  the audit log of every cordon variant (default on, as `cordon run`)
#   --user NAME     part 5's user (default cordon-test)
#   --parts LIST    comma-separated parts to run (default 1,2,3,4,5)
#   --out DIR       keep every summary and sample (TSV) and the daemons' logs
# env:   CORDON  cordon binary (default: BUILD/src/cordon)
#        BENCH   bench-daemon binary (default: BUILD/bench/bench-daemon)
#        BWRAP   bubblewrap binary (default: bwrap from PATH)
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

build=$root/build
pool=4
rounds_true=200
rounds_git=50
warmup=5
settle=50
nfiles=5000
conc=500
mem_pool=50
mem_repeat=2
audit=on
user="cordon-test"
seed=
use_bwrap=1
use_cli=1
parts=1,2,3,4,5
out=
DEFAULT_SOCKET=

usage() { sed -n '4,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; }
need_arg() { [[ $# -ge 2 && -n $2 ]] || { echo "daemon.sh: $1 needs an argument" >&2; exit 2; }; }
while [[ $# -gt 0 ]]; do
	case $1 in
	--build) need_arg "$@"; build=$2; shift ;;
	--quick) rounds_true=20 rounds_git=5 warmup=2 conc=50 mem_pool=10 mem_repeat=1 ;;
	--pool) need_arg "$@"; pool=$2; shift ;;
	--rounds-true) need_arg "$@"; rounds_true=$2; shift ;;
	--rounds-git) need_arg "$@"; rounds_git=$2; shift ;;
	--warmup) need_arg "$@"; warmup=$2; shift ;;
	--settle) need_arg "$@"; settle=$2; shift ;;
	--files) need_arg "$@"; nfiles=$2; shift ;;
	--concurrent) need_arg "$@"; conc=$2; shift ;;
	--mem-pool) need_arg "$@"; mem_pool=$2; shift ;;
	--mem-repeat) need_arg "$@"; mem_repeat=$2; shift ;;
	--audit) need_arg "$@"; audit=$2; shift ;;
	--user) need_arg "$@"; user=$2; shift ;;
	--seed) need_arg "$@"; seed=$2; shift ;;
	--no-bwrap) use_bwrap=0 ;;
	--no-cli) use_cli=0 ;;
	--parts) need_arg "$@"; parts=$2; shift ;;
	--out) need_arg "$@"; out=$2; shift ;;
	-h|--help) usage; exit 0 ;;
	*) echo "daemon.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
	esac
	shift
done
for n in "$pool" "$rounds_true" "$rounds_git" "$warmup" "$settle" "$nfiles" "$conc" "$mem_pool" "$mem_repeat"; do
	[[ $n =~ ^[0-9]+$ ]] || { echo "daemon.sh: not a number: '$n'" >&2; exit 2; }
done
[[ $audit = on || $audit = off ]] || { echo "daemon.sh: --audit on or off" >&2; exit 2; }
(( rounds_true > 0 && rounds_git > 0 && conc > 0 && mem_pool > 0 && mem_repeat > 0 )) || {
	echo "daemon.sh: rounds, --concurrent, --mem-pool and --mem-repeat must be at least 1" >&2; exit 2; }
[[ -z $seed ]] && seed=$(( RANDOM << 15 | RANDOM ))
part() { [[ ,$parts, = *,$1,* ]]; }

# --- tools ---------------------------------------------------------------------------------------
[[ $build = /* ]] || build=$PWD/$build
cordon=${CORDON:-$build/src/cordon}
bench=${BENCH:-$build/bench/bench-daemon}
[[ $cordon = /* ]] || cordon=$PWD/$cordon
[[ $bench = /* ]] || bench=$PWD/$bench
for b in "$cordon" "$bench"; do
	[[ -x $b ]] || { echo "daemon.sh: no $b (build it: ninja -C $build; or set CORDON=, BENCH=)" >&2; exit 2; }
done
bwrap=
if [[ $use_bwrap = 1 ]]; then
	bwrap=$(command -v "${BWRAP:-bwrap}") || {
		echo "daemon.sh: bwrap not found (apt-get install bubblewrap, or pass --no-bwrap)" >&2; exit 2; }
fi
git=$(type -P git) || { echo "daemon.sh: git not found" >&2; exit 2; }
true_bin=$(type -P true) || { echo "daemon.sh: true not found" >&2; exit 2; }

# The workspaces, sockets and logs under /var/tmp (a disk, not a tmpfs). Mode 0711 so that part 5's
# user can reach its own directory inside.
scratch=$(mktemp -d /var/tmp/cordon-bench-daemon.XXXXXX)
chmod 711 "$scratch"
# The audit log of every variant goes to a state directory of the script's, never ~/.local/state. Not
# under /var/tmp: a pooled sandbox is handed out only while the listing of every directory above the
# audit and sessions directories (and above each deny-read path under $HOME) is what it was when the
# sandbox was built, else the request starts cold in the daemon; on a shared machine /var/tmp and
# /tmp change every few seconds. A new directory in $HOME, made before any daemon starts, changes
# nothing afterwards. Part 5's user gets a new home under /home for the same reason.
statedir=$(mktemp -d "$HOME/.cordon-bench-daemon.XXXXXX")
export XDG_STATE_HOME=$statedir/state
mkdir -p "$XDG_STATE_HOME"
userhome=
if [[ -n $out ]]; then mkdir -p "$out" && out=$(cd "$out" && pwd); fi

declare -A dpid=() dsock=() dwatch=() # the daemons this script started: name -> pid, socket, watcher
watch_pid= # host_watch's, while one runs
status=0
# shellcheck disable=SC2317  # called from the EXIT trap
cleanup() {
	local n
	[[ -n $watch_pid ]] && kill "$watch_pid" 2>/dev/null
	for n in "${!dpid[@]}"; do stop_daemon "$n" >/dev/null 2>&1 || true; done
	if [[ -n $out ]]; then cp "$scratch"/*.log "$out/" 2>/dev/null || true; fi
	rm -rf -- "$scratch" "$statedir" ${userhome:+"$userhome"}
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# fail TITLE FILE...: the **FAILED** paragraph with the captured output; the script will exit 1.
fail() {
	local title=$1; shift
	echo
	echo "**FAILED** ($title):"
	echo
	echo '```'
	cat "$@" 2>/dev/null | tail -n 40
	echo '```'
	status=1
}

# --- daemons -------------------------------------------------------------------------------------
# descendants PID: PID's descendants (children first found by a walk of /proc), one per line.
descendants() {
	local -A kids=()
	local st pid ppid rest
	for st in /proc/[0-9]*/stat; do
		{ read -r pid rest < "$st"; } 2>/dev/null || continue
		rest=${rest##*) }        # after the command name, which may hold spaces
		ppid=${rest#* }; ppid=${ppid%% *}
		kids[$ppid]+=" $pid"
	done
	local -a todo=("$1")
	while [[ ${#todo[@]} -gt 0 ]]; do
		local p=${todo[0]}; todo=("${todo[@]:1}")
		for c in ${kids[$p]:-}; do echo "$c"; todo+=("$c"); done
	done
}

# status_json NAME [RUNAS...]: the daemon's `cordon serve --status` answer.
status_json() {
	local n=$1; shift
	"$@" "$cordon" serve --status --socket "${dsock[$n]}" 2>&1
}
# ready_min JSON: the fewest sandboxes ready for any one policy (0 when there is none);
# pools JSON: "ready/idle" of each policy, in the daemon's order.
ready_min() { grep -o '"ready":[0-9]*' <<< "$1" | awk -F: 'NR == 1 || $2 < m { m = $2 } END { print m + 0 }'; }
pools() { grep -o '"idle":[0-9]*,"ready":[0-9]*' <<< "$1" | awk -F'[:,]' '{ printf "%s%s/%s", (NR > 1 ? ", " : ""), $4, $2 }'; }
requests_of() { grep -o '"requests":[0-9]*' <<< "$1" | cut -d: -f2; }
# daemon_state NAME: one line on whether the daemon still runs (for failure reports).
daemon_state() {
	if kill -0 "${dpid[$1]}" 2>/dev/null; then echo "cordon serve ($1, pid ${dpid[$1]}) is running"
	else echo "cordon serve ($1, pid ${dpid[$1]}) is NOT running; its log:"; cat "$scratch/daemon-$1.log"; fi
}

# start_daemon NAME POOL SOCKET|"" [RUNAS...]: `cordon serve` in the background (on its default
# socket when SOCKET is empty), waited for. A watcher subshell notes how and when it exits.
start_daemon() {
	local n=$1 p=$2 s=$3; shift 3
	local log=$scratch/daemon-$n.log i
	local -a sopt=()
	[[ -n $s ]] && sopt=(--socket "$s")
	rm -f "$scratch/$n.pid"
	(
		"$@" "$cordon" serve "${sopt[@]}" --pool "$p" > "$log" 2>&1 &
		echo $! > "$scratch/$n.pid"
		rc=0
		wait $! || rc=$?
		echo "cordon serve ($n) exited at $(date +%T.%N) with status $rc$( ((rc > 128)) && echo " (signal $((rc - 128)))")" >> "$log"
	) &
	dwatch[$n]=$!
	for ((i = 0; i < 100; i++)); do [[ -s $scratch/$n.pid ]] && break; sleep 0.01; done
	dpid[$n]=$(cat "$scratch/$n.pid")
	dsock[$n]=${s:-$DEFAULT_SOCKET}
	for ((i = 0; i < 100; i++)); do
		status_json "$n" "$@" > /dev/null && return 0
		kill -0 "${dpid[$n]}" 2>/dev/null || break
		sleep 0.05
	done
	echo "cordon serve ($n) did not answer on $s" >> "$log"
	return 1
}

# wait_ready NAME COUNT SECONDS [RUNAS...]: until COUNT sandboxes are ready for every policy.
wait_ready() {
	local n=$1 want=$2 secs=$3; shift 3
	local i j
	for ((i = 0; i < secs * 20; i++)); do
		j=$(status_json "$n" "$@") || return 1
		(( $(ready_min "$j") >= want )) && return 0
		sleep 0.05
	done
	return 1
}

# stop_daemon NAME: SIGTERM, wait, then check that no process it had started is still there.
# Prints nothing when clean, else the survivors (ps).
stop_daemon() {
	local n=$1 pid=${dpid[$1]} left=() p
	local -a kids
	mapfile -t kids < <(descendants "$pid")
	kill -TERM "$pid" 2>/dev/null || true
	wait "${dwatch[$n]}" 2>/dev/null || true
	unset "dpid[$n]" "dwatch[$n]"
	# Dead but not yet reaped (a zombie, whoever its parent is now) counts as gone.
	local i st
	for ((i = 0; i < 20; i++)); do
		left=()
		for p in "${kids[@]}"; do
			st=$(awk '{ sub(/.*\) /, ""); print $1 }' "/proc/$p/stat" 2>/dev/null) || continue
			[[ -n $st && $st != Z ]] && left+=("$p")
		done
		[[ ${#left[@]} -eq 0 ]] && break
		sleep 0.1
	done
	if [[ ${#left[@]} -gt 0 ]]; then
		echo "2 s after SIGTERM to cordon serve ($n, pid $pid) and its exit, ${#left[@]} of its ${#kids[@]} descendants still run:"
		ps -o pid,ppid,stat,etime,cmd -p "$(IFS=,; echo "${left[*]}")" || true
		return 1
	fi
	[[ -e ${dsock[$n]} ]] && echo "socket ${dsock[$n]} left behind"
	return 0
}

# host_watch FILE: until SIGTERM, every 0.1 s, counts the changes of what a pooled sandbox stands on
# that this script does not control: the host's bound pathname unix sockets outside /run and /tmp
# (each is a mask in the plan) and the host's mount table. A sandbox built before such a change and
# handed out after it is stale (its request starts cold in the daemon); the pool check of bench-daemon
# says how many were. Writes "SOCKET_CHANGES MOUNT_CHANGES" to FILE.
# Bash builtins only: no process started ten times a second beside the measurements.
host_watch() {
	local f=$1 fifo=$scratch/watch.$BASHPID.fifo fd line sc=0 mc=0 s0 m0 s m
	local -a l
	mkfifo "$fifo"
	exec {fd}<> "$fifo"
	snap_sockets() {
		s=
		mapfile -t l < /proc/net/unix
		for line in "${l[@]}"; do
			if [[ $line =~ \ (/[^ ]*)$ && ${BASH_REMATCH[1]} != /run/* && ${BASH_REMATCH[1]} != /tmp/* ]]; then
				s+="${BASH_REMATCH[1]} "
			fi
		done
	}
	snap_mounts() { mapfile -t l < /proc/self/mountinfo; m="${l[*]}"; }
	snap_sockets; snap_mounts
	s0=$s m0=$m
	trap 'echo "$sc $mc" > "$f"; exit 0' TERM
	for ((;;)); do
		read -rt 0.1 -u "$fd" _ || true
		snap_sockets; snap_mounts
		if [[ $s != "$s0" ]]; then sc=$((sc + 1)) s0=$s; fi
		if [[ $m != "$m0" ]]; then mc=$((mc + 1)) m0=$m; fi
	done
}

# --- workspaces and bwrap --------------------------------------------------------------------------
# make_repo DIR N: a git repository with N small committed files (as run.sh makes it).
make_repo() {
	local ws=$1 n=$2
	mkdir -p "$ws"
	(
		cd "$ws"
		"$git" init -q .
		"$git" config user.name "cordon bench"
		"$git" config user.email "bench@cordon.invalid"
		"$git" config commit.gpgsign false
		for ((i = 0; i < n; i++)); do
			d=$(printf 'd%d/s%d' $(( i % 10 )) $(( (i / 10) % 10 )))
			[[ -d $d ]] || mkdir -p "$d"
			printf 'file %d\n' "$i" > "$d/f$i.txt"
		done
		# The index written strictly after every file's mtime: no "racily clean" entries, which git
		# would re-hash at every status (and the sandboxes cannot write .git/index).
		sleep 1.1
		"$git" add -A
		"$git" commit -q -m "bench fixture"
		"$git" status --porcelain > /dev/null
		[[ -z $("$git" status --porcelain) ]]
	)
}

# bwrap_args HOME WS: cordon's default policy as bubblewrap options (bench/run.sh explains it).
bwrap_args() {
	local home=$1 ws=$2 p name
	local -a deny=(.ssh .gnupg .aws .config/gcloud .azure .kube .docker/config.json .netrc
		.git-credentials .config/gh .config/hub .password-store .local/share/keyrings .pypirc
		.cargo/credentials .cargo/credentials.toml .vault-token .terraform.d/credentials.tfrc.json)
	ba=(--unshare-all --die-with-parent --new-session --ro-bind / / --tmpfs /tmp --dev /dev --proc /proc)
	for p in "${deny[@]}"; do
		p=$home/$p
		if [[ -d $p ]]; then ba+=(--tmpfs "$p" --remount-ro "$p")
		elif [[ -e $p ]]; then ba+=(--ro-bind /dev/null "$p"); fi
	done
	ba+=(--bind "$ws" "$ws")
	for name in .git .codex .agents; do
		[[ -e $ws/$name ]] && ba+=(--ro-bind "$ws/$name" "$ws/$name")
	done
	ba+=(--chdir "$ws" --)
}

# --- the interleaved start-up runs ---------------------------------------------------------------
# startup TITLE LABEL ROUNDS DAEMON WS HOME [RUNAS...] -- CMD...: one bench-daemon run; a table.
startup() {
	local title=$1 label=$2 rounds=$3 d=$4 ws=$5 home=$6; shift 6
	local -a runas=()
	while [[ $1 != -- ]]; do runas+=("$1"); shift; done
	shift
	local -a cmd=("$@") v=(-- "$@")
	if [[ -n $bwrap ]]; then
		bwrap_args "$home" "$ws"
		v+=(--- bwrap "$bwrap" "${ba[@]}" "${cmd[@]}")
	fi
	local -a noaudit=()
	[[ $audit = off ]] && noaudit=(--no-audit)
	[[ $use_cli = 1 ]] && v+=(--- cli-daemon "$cordon" run "${noaudit[@]}" -w "$ws" -- "${cmd[@]}"
		--- cli-cold "$cordon" run --no-daemon "${noaudit[@]}" -w "$ws" -- "${cmd[@]}")
	# The samples are written by bench-daemon, which may run as another user: into $odir.
	local tsv=$scratch/$title.tsv smp=${odir:-$scratch}/$title.samples.tsv err=$scratch/$title.err
	local -a opt=(--tsv -n "$rounds" -w "$warmup" --seed "$seed" --settle "$settle" --audit "$audit"
		-C "$ws" -S "${dsock[$d]}" --samples "$smp")
	echo
	echo "### \`$label\` ($rounds rounds + $warmup warm-up, interleaved, ${settle} ms settle before each sample)"
	# The pool for this policy exists once a request with it came: one unmeasured run makes it.
	local before after
	if ! "${runas[@]}" "$bench" -n 1 -w 0 --settle 0 --no-cold --audit "$audit" -C "$ws" -S "${dsock[$d]}" \
		-- "${cmd[@]}" > /dev/null 2> "$err" || ! wait_ready "$d" "$pool" 30 "${runas[@]}"; then
		status_json "$d" "${runas[@]}" >> "$err" || true
		daemon_state "$d" >> "$err"
		fail "$label: priming the pool" "$err"
		return 0
	fi
	before=$(status_json "$d" "${runas[@]}")
	local load0 rc=0
	load0=$(cut -d' ' -f1 /proc/loadavg)
	host_watch "$scratch/$title.watch" &
	watch_pid=$!
	"${runas[@]}" "$bench" "${opt[@]}" "${v[@]}" > "$tsv" 2> "$err" || rc=$?
	kill "$watch_pid"; wait "$watch_pid" || true
	watch_pid=
	if ((rc != 0)); then
		daemon_state "$d" >> "$err"
		fail "$label" "$err"
		return 0
	fi
	after=$(status_json "$d" "${runas[@]}")
	[[ -n $out ]] && cp "$tsv" "$smp" "$out/"
	echo
	awk -F'\t' '
		NR == 1 { next }
		{ name[++n] = $1; med[n] = $3; p10[n] = $4; p90[n] = $5; over[n] = $9; ratio[n] = $10; pd[n] = $11 }
		END {
			print "| variant | median ms | p10 ms | p90 ms | overhead vs native ms | paired delta ms | ratio vs native |"
			print "|---|--:|--:|--:|--:|--:|--:|"
			for (i = 1; i <= n; i++)
				printf "| %s | %.3f | %.3f | %.3f | %+.3f | %+.3f | %.3fx |\n", name[i], med[i], p10[i], p90[i],
				       over[i], pd[i], ratio[i]
		}' "$tsv"
	echo
	echo "- the daemon's pools (ready/idle per policy) before the run: $(pools "$before"); just after it:" \
		"$(pools "$after"); requests it served in the run: $(( $(requests_of "$after") - $(requests_of "$before") ))"
	local w=(? ?)
	read -r -a w < "$scratch/$title.watch" || true
	echo "- during the run, the host's bound unix sockets outside /run and /tmp changed ${w[0]} times and its" \
		"mount table ${w[1]} times (a sandbox built before such a change and handed out after it is stale: its" \
		"request starts cold in the daemon)"
	echo "- load average (1 min) at the start of the run: $load0, at its end: $(cut -d' ' -f1 /proc/loadavg)" \
		"($(nproc) CPUs; the benchmark itself keeps the load under 1: more means something else ran, and noisy figures)"
	awk -F'\t' 'NR > 1 && $1 == "daemon" && split($12, p, "/") == 4 {
		printf "- the daemon samples, as the serving process said (CORDON_DEBUG_POOL=1): %d ran in a pooled sandbox, " \
		       "%d found it stale and started cold in the daemon, %d found none, %d did not say\n", p[1], p[2], p[3], p[4] }' "$tsv"
	awk -F'\t' 'NR > 1 && $1 == "daemon" { printf "- **daemon over native: %+.3f ms median, %+.3f ms paired, ratio %.3fx**\n", $9, $11, $10 }' "$tsv"
}

# --- part 3: many at once ------------------------------------------------------------------------
concurrency() {
	local d=$1 ws=$2 err=$scratch/conc.err
	echo
	echo "### $conc commands started at once (\`true\`, pool $pool)"
	echo
	local kind
	for kind in daemon cold; do
		local -a extra=()
		[[ $kind = cold ]] && extra=(--concurrent-cold)
		local j=$scratch/conc-$kind.json
		"$bench" --json --concurrent "$conc" "${extra[@]}" --timeout 300 --audit "$audit" -C "$ws" \
			-S "${dsock[$d]}" -- "$true_bin" > "$j" 2> "$err" || status=1
		if [[ ! -s $j ]]; then daemon_state "$d" >> "$err"; fail "--concurrent $conc ($kind)" "$err"; continue; fi
		[[ -n $out ]] && cp "$j" "$out/"
		awk -v kind="$kind" '
			{
				for (k in v) delete v[k]
				s = $0
				while (match(s, /"[a-z0-9_]+": [0-9.]+/)) {
					kv = substr(s, RSTART, RLENGTH); s = substr(s, RSTART + RLENGTH)
					split(kv, a, /": /); v[substr(a[1], 2)] = a[2]
				}
				printf "- libcordon (`cordon_spawn` x %d, %s): **%d failed** (spawn %d, wait %d, non-zero %d, hung %d); " \
				       "wall %.0f ms (the spawn calls %.0f ms); spawn to result median %.0f ms, p90 %.0f ms, max %.0f ms; " \
				       "%d descriptors held by the caller with all spawned\n", v["n"], kind == "cold" ? "cold, no daemon" : "daemon",
				       v["failed"], v["spawn_failed"], v["wait_failed"], v["nonzero_status"], v["hung"], v["wall_ms"],
				       v["spawn_phase_ms"], v["latency_median_ms"], v["latency_p90_ms"], v["latency_max_ms"], v["fds_held_at_peak"]
			}' "$j"
		if grep -q '"message"' "$j"; then
			echo
			echo '```'
			grep -o '"count": [0-9]*, "message": "[^"]*"' "$j" | head -n 8
			echo '```'
		fi
		sleep 1
	done
	# The same through the command line: N `cordon run` processes in the background.
	if [[ $use_cli = 1 ]]; then
		local -a pids=()
		local i bad=0 t0 t1 cli_audit=
		[[ $audit = off ]] && cli_audit=--no-audit
		mkdir -p "$scratch/cli-conc"
		t0=$(date +%s%N)
		for ((i = 0; i < conc; i++)); do
			CORDON_SOCKET=${dsock[$d]} "$cordon" run ${cli_audit:+"$cli_audit"} -w "$ws" -- "$true_bin" \
				> /dev/null 2> "$scratch/cli-conc/$i.err" < /dev/null &
			pids+=($!)
		done
		for i in "${!pids[@]}"; do
			local rc=0
			wait "${pids[$i]}" || rc=$?
			if (( rc != 0 )); then bad=$((bad + 1)); echo "exit status $rc" >> "$scratch/cli-conc/$i.err"; fi
		done
		t1=$(date +%s%N)
		echo "- command line (\`cordon run -w WS -- true\` x $conc in the background, CORDON_SOCKET set):" \
			"**$bad failed**; wall $(( (t1 - t0) / 1000000 )) ms"
		if (( bad > 0 )); then
			status=1
			echo
			echo '```'
			cat "$scratch"/cli-conc/*.err | sort | uniq -c | sort -rn | head -n 8
			echo '```'
		fi
	fi
	sleep 1
	local j
	j=$(status_json "$d") || j="(no answer: $(daemon_state "$d"))"
	echo "- the daemon afterwards: $(grep -o '"serving":[0-9]*' <<< "$j"), pools (ready/idle) $(pools "$j")," \
		"$(descendants "${dpid[$d]}" | wc -l) descendant processes"
}

# --- part 4: memory ------------------------------------------------------------------------------
meminfo_kib() { awk -v k="$1:" '$1 == k { print $2 }' /proc/meminfo; }
# used_kib: MemTotal - MemAvailable, the median of 5 readings 0.2 s apart.
used_kib() {
	local i
	for ((i = 0; i < 5; i++)); do
		echo $(( $(meminfo_kib MemTotal) - $(meminfo_kib MemAvailable) ))
		sleep 0.2
	done | sort -n | sed -n 3p
}
# pss_kib PID: "KIB PROCS", the summed Pss of PID and its descendants, and how many they are.
pss_kib() {
	local p sum=0 k n=0
	for p in "$1" $(descendants "$1"); do
		k=$(awk '$1 == "Pss:" { print $2 }' "/proc/$p/smaps_rollup" 2>/dev/null) || continue
		[[ -n $k ]] || continue
		sum=$((sum + k)); n=$((n + 1))
	done
	echo "$sum $n"
}
# mem_point NAME POOL WS: start a daemon, one request, wait for the pool, measure, stop it; prints
# "used_kib pss_kib procs slab kstack pagetables percpu".
mem_point() {
	local n=$1 p=$2 ws=$3
	if ! start_daemon "$n" "$p" "$scratch/$n.sock" ||
		! "$bench" -n 1 -w 0 --settle 0 --no-cold --audit "$audit" -C "$ws" -S "${dsock[$n]}" -- "$true_bin" \
			> /dev/null 2>> "$scratch/daemon-$n.log" ||
		{ (( p > 0 )) && ! wait_ready "$n" "$p" 120; }; then
		status_json "$n" >> "$scratch/daemon-$n.log" || true
		stop_daemon "$n" >> "$scratch/daemon-$n.log" 2>&1
		return 1
	fi
	sleep 2 # the last builds' teardown and the kernel's deferred frees
	local used pss
	used=$(used_kib)
	pss=$(pss_kib "${dpid[$n]}")
	echo "$used $pss $(meminfo_kib Slab) $(meminfo_kib KernelStack) $(meminfo_kib PageTables) $(meminfo_kib Percpu)"
	local left
	left=$(stop_daemon "$n") || { echo "$left" >> "$scratch/mem-leftovers"; }
}
memory() {
	local ws=$1 r pts=()
	echo
	echo "### Memory per idle pooled sandbox (pool $mem_pool against pool 0, $mem_repeat rounds)"
	echo
	# A B A B ... A: each pool-$mem_pool daemon is compared with the mean of the pool-0 daemons measured
	# just before and just after it, which cancels a steady drift of the machine's memory use.
	local -a seq=(0)
	for ((r = 1; r <= mem_repeat; r++)); do seq+=("$mem_pool" 0); done
	for r in "${!seq[@]}"; do
		if ! pts[r]=$(mem_point "mem${seq[r]}" "${seq[r]}" "$ws"); then
			fail "memory, daemon with --pool ${seq[r]}" "$scratch"/daemon-mem*.log
			return 0
		fi
	done
	echo "| round | pool 0: used MiB | pool $mem_pool: used MiB | per sandbox: used KiB | Pss KiB | kernel KiB | Pss + kernel KiB | processes (pool 0, pool $mem_pool) |"
	echo "|---|--:|--:|--:|--:|--:|--:|--:|"
	for ((r = 1; r <= mem_repeat; r++)); do
		printf '%s\n' "${pts[2 * r - 2]}" "${pts[2 * r - 1]}" "${pts[2 * r]}" | awk -v r="$r" -v n="$mem_pool" '
			# fields: used_kib pss_kib procs slab kstack pagetables percpu
			{ u[NR] = $1; p[NR] = $2; c[NR] = $3; k[NR] = $4 + $5 + $6 + $7 }
			END {
				ua = (u[1] + u[3]) / 2; pa = (p[1] + p[3]) / 2; ka = (k[1] + k[3]) / 2
				printf "| %d | %.1f | %.1f | **%.0f** | **%.0f** | %.0f | %.0f | %d, %d |\n", r, ua / 1024, u[2] / 1024,
				       (u[2] - ua) / n, (p[2] - pa) / n, (k[2] - ka) / n, (p[2] - pa + k[2] - ka) / n, c[1], c[2]
			}'
	done
	if [[ -s $scratch/mem-leftovers ]]; then
		fail "processes left after a memory daemon stopped" "$scratch/mem-leftovers"
	fi
	echo
	echo "\"used\" is MemTotal - MemAvailable (system-wide: everything the kernel holds for the sandboxes, and"
	echo "anything else the machine did meanwhile); \"Pss\" sums /proc/PID/smaps_rollup over the daemon and"
	echo "every descendant (the pooled supervisors and their sandboxes' init): user memory only; \"kernel\" is"
	echo "Slab + KernelStack + PageTables + Percpu from /proc/meminfo (system-wide too). Per sandbox = (pool"
	echo "$mem_pool - mean of the pool-0 daemons before and after) / $mem_pool."
}

# --- the report ----------------------------------------------------------------------------------
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1)
echo "## Warm pool daemon benchmark"
echo
echo "- machine: $(nproc) CPUs, ${cpu:-unknown CPU}, Linux $(uname -r), $(awk '$1 == "MemTotal:" { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)"
echo "- $("$git" --version)${bwrap:+, $("$bwrap" --version)}, cordon at ${cordon#"$root"/} ($("$cordon" version 2>/dev/null | head -n1))"
echo "- daemon: \`cordon serve --socket SCRATCH/NAME.sock --pool $pool\`; audit log $audit (every cordon variant)"
echo "- scratch directory $scratch, XDG_STATE_HOME $XDG_STATE_HOME (both removed on exit); shuffle seed $seed"
echo
echo "Variants: \`native\` fork+execve; \`daemon\` cordon_run_command() through the daemon (CORDON_DAEMON_ALWAYS);"
echo "\`cold\` cordon_run_command() without it (CORDON_DAEMON_NEVER, built in the caller); \`bwrap\` run.sh's"
echo "policy; \`cli-daemon\` \`cordon run -w WS -- CMD\` with CORDON_SOCKET set; \`cli-cold\` the same with --no-daemon."

ws_true=$scratch/ws-true
mkdir -p "$ws_true"
if part 1 || part 2 || part 3; then
	if ! start_daemon main "$pool" "$scratch/s.sock"; then
		fail "cordon serve" "$scratch/daemon-main.log"
		exit 1
	fi
	export CORDON_SOCKET=${dsock[main]} # for the cli-daemon variant
	part 1 && startup true true "$rounds_true" main "$ws_true" "$HOME" -- "$true_bin"
	if part 2; then
		repo=$scratch/repo
		if make_repo "$repo" "$nfiles" > "$scratch/repo.log" 2>&1; then
			startup git-status "git status --porcelain ($nfiles files)" "$rounds_git" main "$repo" "$HOME" -- \
				"$git" status --porcelain
			awk -F'\t' 'NR > 1 && $1 == "daemon" { printf "- daemon against native for `git status`: %+.1f%% (medians), target within 5%%\n", ($10 - 1) * 100 }' \
				"$scratch/git-status.tsv" 2> /dev/null || true
		else
			fail "making the $nfiles-file repository" "$scratch/repo.log"
		fi
	fi
	part 3 && concurrency main "$ws_true"
	unset CORDON_SOCKET
	echo
	if left=$(stop_daemon main); then
		echo "- \`cordon serve\` stopped with SIGTERM: no process of its left behind."
	else
		echo "- **cordon serve left processes behind:**"
		echo
		echo '```'
		echo "$left"
		echo '```'
		status=1
	fi
fi

if part 4; then
	if [[ $(id -u) != 0 ]]; then
		echo
		echo "(part 4 skipped: not root)"
	else
		memory "$ws_true"
	fi
fi

if part 5; then
	echo
	echo "### As the unprivileged user \`$user\`"
	if [[ $(id -u) != 0 ]] || ! id "$user" > /dev/null 2>&1; then
		echo
		echo "(skipped: needs root and the user $user)"
	else
		u=$scratch/user
		userhome=$(mktemp -d "/home/cordon-bench-$user.XXXXXX")
		mkdir -p "$u/run" "$u/ws" "$u/out" "$userhome/.local/state"
		chown -R "$user": "$u" "$userhome"
		chmod 700 "$u/run"
		runas=(setpriv --reuid="$user" --regid="$(id -g "$user")" --init-groups --reset-env
			env HOME="$userhome" XDG_RUNTIME_DIR="$u/run" XDG_STATE_HOME="$userhome/.local/state" PATH="$PATH")
		# Its daemon on the default socket: $XDG_RUNTIME_DIR/cordon/cordon.sock.
		DEFAULT_SOCKET=$u/run/cordon/cordon.sock
		if ! start_daemon user "$pool" "" "${runas[@]}"; then
			fail "cordon serve as $user" "$scratch/daemon-user.log"
			exit 1
		fi
		runas+=(CORDON_SOCKET="${dsock[user]}")
		odir=$u/out startup user-true "true, as $user" "$rounds_true" user "$u/ws" "$userhome" "${runas[@]}" -- "$true_bin"
		if left=$(stop_daemon user); then
			echo "- its \`cordon serve\` stopped with SIGTERM: no process of its left behind."
		else
			echo "- **cordon serve left processes behind:**"; echo; echo '```'; echo "$left"; echo '```'
			status=1
		fi
	fi
fi
exit "$status"
