# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
#
# Shared helpers for cordon's shell tests: TAP output, a scratch tree, and runners that start
# cordon (and the probe) as the test user. Source it first thing:
#
#     . "$(dirname "$0")/../lib.sh"
#
# Environment:
#   CORDON            the cordon executable (required)
#   PROBE             the static probe executable (required)
#   CORDON_TEST_USER  `root` (default): run as is; NAME: run cordon as that user (via setpriv);
#                     ignored when the script itself is not root (it then runs as itself)
#   CORDON_TEST_TMP   where scratch trees go (default /var/tmp, see mk_scratch)
#   CORDON_TEST_CALL_TIMEOUT  seconds one command may take before it is killed (default 30)
#   CORDON_TEST_DAEMON  1: every cordon run goes through a warm pool daemon (`cordon serve`)
#                     started for the script as the test user (see start_daemon)
#
# Every escape test attacks from inside and then checks the effect from OUTSIDE the sandbox (the
# host file is unchanged, the marker is absent, the listener got nothing, the process is alive),
# so a sandbox that merely fails to start, or a probe that prints the wrong thing, cannot pass.

set -u
set -o pipefail

: "${CORDON:?CORDON must name the cordon executable}"
: "${PROBE:?PROBE must name the probe executable}"

# ---------------------------------------------------------------------------------------------
# TAP

_tap_n=0
_tap_failed=0
_tap_planned=

plan() {
	_tap_planned=$1
	echo "1..$1"
}

diag() {
	local line
	for line in "$@"; do
		while IFS= read -r l; do printf '# %s\n' "$l"; done <<<"$line"
	done
}

# ok DESC: records a passing test.
ok() {
	_tap_n=$((_tap_n + 1))
	echo "ok $_tap_n - $1"
}

# not_ok DESC [DIAG...]: records a failing test, with diagnostic lines.
not_ok() {
	local desc=$1
	shift
	_tap_n=$((_tap_n + 1))
	_tap_failed=$((_tap_failed + 1))
	echo "not ok $_tap_n - $desc"
	(($#)) && diag "$@"
	return 0
}

# skip DESC REASON
skip() {
	_tap_n=$((_tap_n + 1))
	echo "ok $_tap_n - $1 # SKIP $2"
}

# check DESC CMD...: passes when CMD exits 0.
check() {
	local desc=$1
	shift
	if "$@"; then ok "$desc"; else not_ok "$desc" "command failed: $*"; fi
}

# is GOT WANT DESC
is() {
	if [[ $1 == "$2" ]]; then
		ok "$3"
	else
		not_ok "$3" "got:      $1" "expected: $2"
	fi
}

# like GOT ERE DESC / unlike GOT ERE DESC
like() {
	if [[ $1 =~ $2 ]]; then ok "$3"; else not_ok "$3" "got:          $1" "should match: $2"; fi
}
unlike() {
	if [[ $1 =~ $2 ]]; then not_ok "$3" "got:              $1" "should not match: $2"; else ok "$3"; fi
}

bail_out() {
	echo "Bail out! $*"
	exit 1
}

done_testing() {
	if [[ -n $DAEMON_PID ]]; then
		local served
		served=$(daemon_requests)
		if kill -0 "$DAEMON_PID" 2>/dev/null && [[ ${served:-0} -gt 0 || $_SB_RUNS == 0 ]]; then
			ok "daemon mode: the warm pool daemon served $served requests and is still running"
		else
			not_ok "daemon mode: the warm pool daemon served the runs and is still running" \
				"alive: $(kill -0 "$DAEMON_PID" 2>/dev/null && echo yes || echo no), requests: ${served:-none}"
		fi
	fi
	[[ -n $_tap_planned ]] || echo "1..$_tap_n"
	if [[ -n $_tap_planned && $_tap_planned != "$_tap_n" ]]; then
		diag "planned $_tap_planned tests but ran $_tap_n"
		exit 1
	fi
	# The TAP lines carry the verdict; a non-zero status would make meson report the whole script
	# as an ERROR instead of listing the failed subtests.
	((_tap_failed == 0)) || diag "$_tap_failed of $_tap_n tests failed"
	exit 0
}

# ---------------------------------------------------------------------------------------------
# Who runs the sandbox

CORDON_TEST_USER=${CORDON_TEST_USER:-root}
if [[ $(id -u) != 0 ]]; then
	# Not root: we can only be ourselves.
	TEST_USER=$(id -un)
	_as_user=()
elif [[ $CORDON_TEST_USER == root ]]; then
	TEST_USER=root
	_as_user=()
else
	if ! id -u "$CORDON_TEST_USER" >/dev/null 2>&1; then
		echo "1..0 # SKIP no test user"
		exit 0
	fi
	TEST_USER=$CORDON_TEST_USER
	# setpriv execs (no lingering parent), so $! of a background `sb` is cordon's pid.
	_as_user=(setpriv --reuid="$(id -u "$TEST_USER")" --regid="$(id -g "$TEST_USER")" --init-groups --)
fi
TEST_UID=$(id -u "$TEST_USER")
TEST_GID=$(id -g "$TEST_USER")
IS_ROOT_SCRIPT=false
[[ $(id -u) == 0 ]] && IS_ROOT_SCRIPT=true

# as_user CMD...: runs CMD as the test user, outside any sandbox.
as_user() {
	"${_as_user[@]}" "$@"
}

# ---------------------------------------------------------------------------------------------
# Scratch tree

_bg_pids=()
_cleanup_paths=()

_lib_cleanup() {
	local p
	for p in "${_bg_pids[@]}"; do
		kill -KILL "$p" 2>/dev/null && wait "$p" 2>/dev/null
	done
	for p in "${_cleanup_paths[@]}"; do
		[[ -n $p && $p != / ]] || continue
		# A sandbox that let a mount through leaves it on the host; it must go before the tree.
		if $IS_ROOT_SCRIPT; then
			awk -v p="$p" 'index($5, p "/") == 1 {print $5}' /proc/self/mountinfo | sort -r |
				while read -r m; do umount -l "$m" 2>/dev/null; done
		fi
		rm -rf -- "$p"
	done
}
trap _lib_cleanup EXIT

# track_pid PID: a background process this script started, killed at exit if still there.
track_pid() {
	_bg_pids+=("$1")
}

# track_path PATH: removed at exit.
track_path() {
	_cleanup_paths+=("$1")
}

# own PATH...: gives PATH (recursively) to the test user.
own() {
	$IS_ROOT_SCRIPT && chown -R "$TEST_UID:$TEST_GID" "$@"
	return 0
}

# AUDIT_STATE: the XDG_STATE_HOME every sandboxed run gets, so that audit logs land outside the
# trees the tests watch (the home, the workspace); tests read the logs there.
AUDIT_STATE=$(mktemp -d "${CORDON_TEST_TMP:-/var/tmp}/cordon-state.XXXXXX") || {
	echo "Bail out! cannot make a state dir"
	exit 1
}
track_path "$AUDIT_STATE"
chmod 0755 "$AUDIT_STATE"
own "$AUDIT_STATE"

# mk_scratch: makes the scratch tree and sets
#   T      the scratch root (0755, owned by the test user)
#   WS     $T/ws, the workspace
#   OUTD   $T/out, a directory outside every writable root that the test user may write on the
#          host (so only the sandbox can be what stops a write there), holding `victim` (a file),
#          `vdir/inner`, and `empty/`
#   HOMEDIR $T/home, given to the sandbox as HOME, with dotfiles
#   P      $T/bin/probe, a copy of the probe every user can run, inside the tree the sandbox sees
#   NONCE  a random word for names and payloads
#   LOGS   a directory for the tests' own files (outputs of background runs), outside $T
#
# The default parent is /var/tmp rather than /tmp: a sandbox gives the command a private /tmp, so
# a directory under the host's /tmp that is not a writable root is not even visible inside, and a
# write attempt there would fail for the wrong reason (ENOENT), proving nothing. Each script checks
# that $OUTD is visible inside before it trusts a refusal.
mk_scratch() {
	local base=${CORDON_TEST_TMP:-/var/tmp}
	T=$(mktemp -d "$base/cordon-escape.XXXXXX") || bail_out "cannot make a scratch dir under $base"
	track_path "$T"
	LOGS=$(mktemp -d "$base/cordon-escape-logs.XXXXXX") || bail_out "cannot make a log dir under $base"
	track_path "$LOGS"
	chmod 0755 "$LOGS"
	chmod 0755 "$T"
	NONCE=$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')
	WS=$T/ws
	OUTD=$T/out
	HOMEDIR=$T/home
	mkdir -p "$WS" "$T/bin"
	reset_outside
	cp "$PROBE" "$T/bin/probe"
	chmod 0755 "$T/bin/probe"
	P=$T/bin/probe
	own "$T"
	# cordon itself must be executable by the test user; the build tree may not be (say, a clone
	# under /root). A copy is the same program.
	if ! as_user test -x "$CORDON"; then
		cp "$CORDON" "$T/bin/cordon"
		chmod 0755 "$T/bin/cordon"
		# `cordon diff` runs the cordon-diff beside cordon.
		if [[ -x $(dirname "$CORDON")/cordon-diff ]]; then
			cp "$(dirname "$CORDON")/cordon-diff" "$T/bin/cordon-diff"
			chmod 0755 "$T/bin/cordon-diff"
		fi
		CORDON=$T/bin/cordon
	fi
	cd "$T" || bail_out "cd $T"
	start_daemon
}

# reset_outside: (re)makes $OUTD and $HOMEDIR as mk_scratch describes them, so that one attack
# that got through cannot make the next one fail for the wrong reason (ENOENT, EEXIST).
reset_outside() {
	rm -rf "$OUTD" "$HOMEDIR"
	mkdir -p "$OUTD/vdir" "$OUTD/empty" "$HOMEDIR"
	printf 'victim\n' >"$OUTD/victim"
	printf 'inner\n' >"$OUTD/vdir/inner"
	printf '# bashrc\n' >"$HOMEDIR/.bashrc"
	printf '# profile\n' >"$HOMEDIR/.profile"
	own "$OUTD" "$HOMEDIR"
}

# tree_state PATH: one line per entry under PATH (or "absent"): type, mode, owner, size, mtime,
# ctime, link target and a content hash. Any write, chmod, chown, utimes, link or xattr change
# (all of which touch ctime) shows up as a difference.
tree_state() {
	if [[ ! -e $1 && ! -L $1 ]]; then
		echo "absent"
		return
	fi
	find "$1" -printf '%P|%y|%m|%U|%G|%s|%n|%T@|%C@|%l\n' 2>/dev/null | LC_ALL=C sort
	find "$1" -type f -exec sha256sum {} + 2>/dev/null | LC_ALL=C sort
}

# names PATH: the names under PATH, for "nothing new appeared" checks.
names() {
	find "$1" -printf '%P %y\n' 2>/dev/null | LC_ALL=C sort
}

# ---------------------------------------------------------------------------------------------
# Running things

# The sandbox gets a small, fixed environment, the same for root and the test user.
base_env() {
	printf '%s\n' "PATH=/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin" \
		"HOME=${HOMEDIR:-/nonexistent}" "USER=$TEST_USER" "LOGNAME=$TEST_USER" "LANG=C.UTF-8" \
		"XDG_CONFIG_HOME=${HOMEDIR:-/nonexistent}/.config" "XDG_STATE_HOME=$AUDIT_STATE"
	[[ -z $DAEMON_SOCK ]] || printf '%s\n' "CORDON_SOCKET=$DAEMON_SOCK"
}

# CORDON_TEST_DAEMON=1: a warm pool daemon serves every run of the script. It runs as the test user
# in the same fixed environment, on a socket of its own; cordon finds it through CORDON_SOCKET.
# done_testing then checks that it is still alive and served requests: a daemon that quietly died
# would turn the script into a cold run, passing for the wrong reason.
DAEMON_SOCK=
DAEMON_PID=
_SB_RUNS=0
start_daemon() {
	[[ ${CORDON_TEST_DAEMON:-0} == 1 && -z $DAEMON_PID ]] || return 0
	local dir
	dir=$(mktemp -d "${CORDON_TEST_TMP:-/var/tmp}/cordon-daemon.XXXXXX") || bail_out "cannot make a daemon dir"
	track_path "$dir"
	chmod 0700 "$dir"
	own "$dir"
	local -a envv
	mapfile -t envv < <(base_env)
	"${_as_user[@]}" env -i "${envv[@]}" "$CORDON" serve --socket "$dir/cordon.sock" --pool 2 \
		</dev/null >"$dir.log" 2>&1 &
	DAEMON_PID=$!
	track_pid "$DAEMON_PID"
	track_path "$dir.log"
	local i
	for ((i = 0; i < 100; i++)); do
		[[ -S $dir/cordon.sock ]] && break
		sleep 0.05
	done
	[[ -S $dir/cordon.sock ]] || bail_out "cordon serve did not start: $(cat "$dir.log")"
	DAEMON_SOCK=$dir/cordon.sock
}

# The daemon's count of requests (cordon serve --status), or nothing.
daemon_requests() {
	local -a envv
	mapfile -t envv < <(base_env)
	"${_as_user[@]}" env -i "${envv[@]}" "$CORDON" serve --status --socket "$DAEMON_SOCK" 2>/dev/null |
		sed -n 's/.*"requests":\([0-9]*\).*/\1/p'
}

# EXTRA_ENV: more NAME=VALUE words for the next sb calls (tests set and reset it).
EXTRA_ENV=()

# _sb_argv: sets _SB to the command that starts cordon as the test user in the fixed
# environment (no verb), and _SB_ENV to the same without the switch of user.
_sb_argv() {
	local -a envv
	mapfile -t envv < <(base_env)
	_SB_ENV=(env -i "${envv[@]}" "${EXTRA_ENV[@]}" "$CORDON")
	_SB=("${_as_user[@]}" "${_SB_ENV[@]}")
}

# CORDON_TEST_STAGED=1: every `sb` run of workspace-write mode is staged (`--staged`, one session
# per script), and committed right after it, so that the same checks from outside hold: what a
# direct run may write reaches the real files through `cordon commit`, what it may not write never
# does. A commit that holds anything back (a protected name) is what the checks then see as absent.
STAGED_SESSION=
if [[ ${CORDON_TEST_STAGED:-0} == 1 ]]; then
	STAGED_SESSION=esc-$$
fi

# _sb_staged ARGS...: sets _SB_STAGE to the staging flags for this run (empty when the run is not
# workspace-write, or staging is off).
_sb_staged() {
	_SB_STAGE=()
	[[ -n $STAGED_SESSION ]] || return 0
	local prev=
	for a in "$@"; do
		[[ $a == -- ]] && break
		case $prev:$a in
		--mode:read-only | --mode:full-access | *:--mode=read-only | *:--mode=full-access | *:--explain) return 0 ;;
		esac
		prev=$a
	done
	_SB_STAGE=(--staged --session "$STAGED_SESSION")
}

# sb ARGS...: `cordon run ARGS...` as the test user. With setpriv and env both exec'ing, the pid of
# a background `sb` is cordon's own.
sb() {
	_SB_RUNS=$((_SB_RUNS + 1))
	_sb_argv
	_sb_staged "$@"
	if ((${#_SB_STAGE[@]})); then
		local rc=0
		"${_SB[@]}" run "${_SB_STAGE[@]}" "$@" || rc=$?
		"${_SB[@]}" commit "$STAGED_SESSION" --force >/dev/null 2>&1
		return $rc
	fi
	"${_SB[@]}" run "$@"
}

# sb_bg OUTFILE ARGS...: starts `cordon run ARGS...` in the background with stdout and stderr to
# OUTFILE and stdin from /dev/null; sets SB_PID to cordon's own pid (setpriv and env exec).
sb_bg() {
	local outfile=$1
	shift
	_SB_RUNS=$((_SB_RUNS + 1))
	_sb_argv
	"${_SB[@]}" run "$@" </dev/null >"$outfile" 2>&1 &
	SB_PID=$!
	track_pid "$SB_PID"
}

# cordon_as_user ARGS...: `cordon ARGS...` (any verb) as the test user, same environment.
cordon_as_user() {
	_sb_argv
	"${_SB[@]}" "$@"
}

# run CMD...: runs CMD with stdin from /dev/null, at most CORDON_TEST_CALL_TIMEOUT seconds, and
# sets RC, OUT (stdout) and ERR (stderr). CMD may be `sb` or `cordon_as_user`. A command killed for
# taking too long gets RC 137 (never 124, which is cordon's own timeout status).
run() {
	case $1 in
	sb) shift; _SB_RUNS=$((_SB_RUNS + 1)); _sb_argv; set -- "${_SB[@]}" run "$@" ;;
	cordon_as_user) shift; _sb_argv; set -- "${_SB[@]}" "$@" ;;
	as_user) shift; set -- "${_as_user[@]}" "$@" ;;
	esac
	local o e
	o=$(mktemp) e=$(mktemp)
	timeout --preserve-status -s KILL "${CORDON_TEST_CALL_TIMEOUT:-30}" "$@" </dev/null >"$o" 2>"$e"
	RC=$?
	OUT=$(cat "$o")
	ERR=$(cat "$e")
	rm -f "$o" "$e"
}

# sbp ACTION ARGS...: the probe in the sandbox with workspace $WS (and SB_OPTS before --).
SB_OPTS=()
sbp() {
	run sb -w "$WS" "${SB_OPTS[@]}" -- "$P" "$@"
}

# last_line TEXT
last_line() {
	local text=$1
	printf '%s\n' "${text##*$'\n'}"
}

# The probe was refused: it printed a `fail` line and exited 1, or seccomp killed it (SIGSYS).
probe_refused() {
	[[ $RC == 1 && $(last_line "$OUT") == fail\ * ]] || [[ $RC == 159 && $OUT != *ok* ]]
}

probe_succeeded() {
	[[ $RC == 0 && $(last_line "$OUT") == ok* ]]
}

# what_happened: a diagnostic for the last run.
what_happened() {
	printf '%s\n' "exit $RC" "stdout: $OUT" "stderr: $ERR"
}

# errno_of_last: EPERM, EROFS, ... from the last fail line, or the signal.
errno_of_last() {
	local l
	l=$(last_line "$OUT")
	if [[ $RC == 159 ]]; then
		echo SIGSYS
	else
		l=${l#fail }
		echo "${l%%:*}"
	fi
}

# attack DESC WATCH -- SANDBOX-ARGS...
#   Runs `cordon run SANDBOX-ARGS` (the last command in it should be the probe) and passes when
#   the probe was refused AND WATCH (a path on the host, file or tree) is exactly as before.
attack() {
	local desc=$1 watch=$2
	shift 2
	[[ ${1:-} == -- ]] && shift
	local before after
	# A script may define before_attack to restore its fixture before every attack.
	declare -F before_attack >/dev/null && before_attack
	before=$(tree_state "$watch")
	run sb "$@"
	after=$(tree_state "$watch")
	local -a why=()
	probe_refused || why+=("the attack was not refused inside:" "$(what_happened)")
	[[ $before == "$after" ]] || why+=("$watch changed on the host:" "$(diff <(echo "$before") <(echo "$after"))")
	if ((${#why[@]})); then
		not_ok "$desc" "${why[@]}"
	else
		ok "$desc (refused: $(errno_of_last))"
	fi
}

# attack_p DESC WATCH ACTION ARGS...: attack with the probe in workspace $WS (SB_OPTS applied).
attack_p() {
	local desc=$1 watch=$2
	shift 2
	attack "$desc" "$watch" -- -w "$WS" "${SB_OPTS[@]}" -- "$P" "$@"
}

# attack_sh DESC WATCH SCRIPT: a multi-step attack as `sh -c SCRIPT` in $WS; $P is the probe.
# Write the script so that it exits with the probe's status of the step that must be refused.
attack_sh() {
	local desc=$1 watch=$2 script=$3
	attack "$desc" "$watch" -- -w "$WS" "${SB_OPTS[@]}" -- /bin/sh -c "$script"
}

# wait_for TENTHS CMD...: polls CMD every 0.1 s, at most TENTHS times; true when it succeeded.
wait_for() {
	local n=$1
	shift
	while ((n-- > 0)); do
		"$@" && return 0
		sleep 0.1
	done
	return 1
}

# no_process_matching PATTERN: no process's command line contains PATTERN.
no_process_matching() {
	! pgrep -f -- "$1" >/dev/null
}

# pids_of_probe TAG: pids of probe processes (comm "probe") whose command line contains TAG.
pids_of_probe() {
	local pid
	for pid in $(pgrep -f -- "$1"); do
		[[ $(cat "/proc/$pid/comm" 2>/dev/null) == probe ]] && echo "$pid"
	done
}

# probe_running TAG: some probe process with TAG in its command line is alive.
probe_running() {
	[[ -n $(pids_of_probe "$1") ]]
}

# kill_matching PATTERN: SIGKILLs processes this test started that match PATTERN (the pattern is a
# nonce the test made, so nothing else can match).
kill_matching() {
	local pid
	for pid in $(pgrep -f -- "$1"); do
		kill -KILL "$pid" 2>/dev/null
	done
}

# sandbox_sees PATH: the probe inside the sandbox (workspace $WS) can stat PATH. The refusal
# tests on a path are only worth something when this holds.
sandbox_sees() {
	sbp stat "$1"
	probe_succeeded
}

# require_visible PATH: a test that the sandbox sees PATH, with the reason it matters.
require_visible() {
	if sandbox_sees "$1"; then
		ok "sandbox sees $1 (so refusals below are the policy's doing)"
	else
		not_ok "sandbox sees $1 (so refusals below are the policy's doing)" \
			"set CORDON_TEST_TMP to a directory the sandbox shows read-only" "$(what_happened)"
	fi
}
