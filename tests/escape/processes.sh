#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Guarantee 5: no process outlives the command (a daemon that double-forks, calls setsid, ignores
# SIGTERM and writes a marker later must never write it), also when cordon is SIGKILLed or times
# the command out; nothing outside can be signalled, traced or written (/proc/PID/mem,
# process_vm_writev); nothing can be pushed into the user's terminal (TIOCSTI); and no file
# descriptor beyond stdio is inherited.
# shellcheck source=../lib.sh
. "$(dirname "$0")/../lib.sh"

mk_scratch

# --- daemons ------------------------------------------------------------------------------------
run as_user "$P" daemonize "$OUTD/control-marker-$NONCE" 300
if wait_for 30 test -e "$OUTD/control-marker-$NONCE"; then
	ok "control: outside the sandbox the probe's daemon writes its marker"
else
	not_ok "control: outside the sandbox the probe's daemon writes its marker" "$(what_happened)"
fi

# marker_never_appears DESC MARKER: waits past the daemon's delay, then checks from outside.
marker_never_appears() {
	local desc=$1 marker=$2
	sleep 2
	if [[ ! -e $marker ]] && no_process_matching "$marker"; then
		ok "$desc"
	else
		not_ok "$desc" "marker: $(cat "$marker" 2>&1)" \
			"$(pgrep -af -- "$marker")"
		kill_matching "$marker"
	fi
}

M1=$WS/marker-exit-$NONCE
run sb -w "$WS" -- "$P" daemonize "$M1" 1500
if probe_succeeded; then ok "the daemon started inside"; else not_ok "the daemon started inside" "$(what_happened)"; fi
marker_never_appears "a double-forked, setsid, SIGTERM-deaf daemon does not outlive the command" "$M1"

M2=$WS/marker-kill-$NONCE tag2=kill-$NONCE
sb_bg "$LOGS/kill.out" -w "$WS" -- /bin/sh -c "'$P' daemonize '$M2' 1500; exec '$P' linger 20000 $tag2"
if wait_for 50 probe_running "$tag2"; then
	kill -KILL "$SB_PID"
	wait "$SB_PID" 2>/dev/null
	if wait_for 30 no_process_matching "$tag2"; then
		ok "cordon SIGKILLed: the command dies with it"
	else
		not_ok "cordon SIGKILLed: the command dies with it" "$(pgrep -af -- "$tag2")"
		kill_matching "$tag2"
	fi
	marker_never_appears "cordon SIGKILLed: the daemon dies with it" "$M2"
else
	not_ok "cordon SIGKILLed: the command started" "$(cat "$LOGS/kill.out")"
fi

# An agent's harness stops a run with SIGTERM (or the terminal goes away: SIGHUP, or Ctrl-C:
# SIGINT). cordon passes the signal on, the command dies of it, cordon exits 128+N, and the daemon
# the command left (deaf to all three) is gone with it.
for sig in TERM:15 HUP:1 INT:2; do
	num=${sig#*:} sig=${sig%:*}
	M=$WS/marker-$sig-$NONCE tag=sig$sig-$NONCE
	sb_bg "$LOGS/$sig.out" -w "$WS" -- /bin/sh -c "'$P' daemonize '$M' 1500; exec '$P' sleep 20000 $tag"
	if wait_for 50 probe_running "$tag"; then
		kill "-$sig" "$SB_PID"
		if wait_for 50 eval '! kill -0 "$SB_PID" 2>/dev/null || [[ $(ps -o stat= -p "$SB_PID") == Z* ]]'; then
			wait "$SB_PID"
			is "$?" "$((128 + num))" "SIG$sig to cordon: passed to the command, exit 128+$num"
		else
			not_ok "SIG$sig to cordon: passed to the command, exit 128+$num" "cordon still runs after 5 s"
			kill -KILL "$SB_PID" 2>/dev/null
			wait "$SB_PID" 2>/dev/null
		fi
		if no_process_matching "$tag"; then
			ok "SIG$sig to cordon: the command is gone"
		else
			not_ok "SIG$sig to cordon: the command is gone" "$(pgrep -af -- "$tag")"
			kill_matching "$tag"
		fi
		marker_never_appears "SIG$sig to cordon: the daemon (deaf to SIG$sig) is gone too" "$M"
	else
		not_ok "SIG$sig to cordon: the command started" "$(cat "$LOGS/$sig.out")"
	fi
done

M3=$WS/marker-timeout-$NONCE tag3=timeout-$NONCE
start=$SECONDS
run sb -w "$WS" --timeout 1 -- /bin/sh -c "'$P' daemonize '$M3' 1500; exec '$P' linger 20000 $tag3"
elapsed=$((SECONDS - start))
if [[ $RC == 124 && $elapsed -le 10 ]]; then
	ok "--timeout 1 ends a SIGTERM-deaf command with exit 124 (${elapsed}s)"
else
	not_ok "--timeout 1 ends a SIGTERM-deaf command with exit 124" "after ${elapsed}s" "$(what_happened)"
fi
if no_process_matching "$tag3"; then ok "--timeout: the command is gone"; else not_ok "--timeout: the command is gone" "$(pgrep -af -- "$tag3")"; kill_matching "$tag3"; fi
marker_never_appears "--timeout: the daemon is gone" "$M3"

# --- processes outside ------------------------------------------------------------------------
# The victim runs as the test user, so the kernel's own permission checks would let the attacks
# through (the controls show it): only the sandbox can stop them.
start_victim() {
	"${_as_user[@]}" "$P" sleep 60000 "victim-$NONCE" &
	VPID=$!
	track_pid "$VPID"
	wait_for 30 probe_running "victim-$NONCE"
}
start_victim

victim_untouched() {
	local state tracer
	state=$(awk '/^State:/ {print $2}' "/proc/$VPID/status" 2>/dev/null)
	tracer=$(awk '/^TracerPid:/ {print $2}' "/proc/$VPID/status" 2>/dev/null)
	[[ $state == S && $tracer == 0 ]]
}

attack_victim() {
	local desc=$1
	shift
	sbp "$@"
	sleep 0.1
	local -a why=()
	probe_refused || why+=("not refused inside:" "$(what_happened)")
	victim_untouched || why+=("the victim $VPID was touched: $(grep -E '^(State|TracerPid)' "/proc/$VPID/status" 2>&1)")
	if ((${#why[@]})); then not_ok "$desc" "${why[@]}"; else ok "$desc (refused: $(errno_of_last))"; fi
	# Keep a victim usable for the next test, whatever happened to this one.
	kill -CONT "$VPID" 2>/dev/null
	victim_untouched || { kill -KILL "$VPID" 2>/dev/null; wait "$VPID" 2>/dev/null; start_victim; }
}

# With Yama's ptrace_scope above 0 (Ubuntu's default) a non-child cannot be traced even outside;
# the controls then only show that, and the attacks below are still checked.
yama=$(cat /proc/sys/kernel/yama/ptrace_scope 2>/dev/null || echo 0)
for ctl in "kill $VPID 0" "proc-mem $VPID" "vm-write $VPID" "ptrace $VPID"; do
	# shellcheck disable=SC2086
	run as_user "$P" $ctl
	if probe_succeeded; then
		ok "control: outside the sandbox, $ctl works"
	elif [[ $yama != 0 && $ctl != kill* ]]; then
		ok "control: outside the sandbox, $ctl is refused by Yama (ptrace_scope=$yama)"
	else
		not_ok "control: outside the sandbox, $ctl works" "$(what_happened)"
	fi
done
kill -CONT "$VPID" 2>/dev/null
sleep 0.2

attack_victim "SIGTERM to a process outside" kill "$VPID" 15
attack_victim "SIGKILL to a process outside" kill "$VPID" 9
attack_victim "SIGSTOP to a process outside" kill "$VPID" 19
attack_victim "ptrace attach to a process outside" ptrace "$VPID"
attack_victim "open /proc/PID/mem of a process outside for writing" proc-mem "$VPID"
attack_victim "process_vm_writev into a process outside" vm-write "$VPID"

# The sandbox's own init (PID 1 inside) holds cordon's channels to the supervisor: the command
# must not take it over either. Checked from outside: the run still ends as the command did (a
# SIGKILL to PID 1 from inside its namespace is dropped by the kernel, so it reports ok).
run sb -w "$WS" -- /bin/sh -c "'$P' ptrace 1; '$P' proc-mem 1; '$P' vm-write 1; '$P' kill 1 9; exit 42"
if [[ $RC == 42 && $(grep -c '^fail ' <<<"$OUT") == 3 ]]; then
	ok "the sandbox init (PID 1) cannot be traced, written or killed by the command"
else
	not_ok "the sandbox init (PID 1) cannot be traced, written or killed by the command" "$(what_happened)"
fi

# --- the terminal ---------------------------------------------------------------------------------
# `probe pty` gives the command a fresh terminal as its controlling tty and stdio; after cordon
# returns, `probe read-tty` (outside the sandbox, on the same terminal) shows anything injected.
LEGACY=/proc/sys/dev/tty/legacy_tiocsti
if [[ -r $LEGACY && $(cat "$LEGACY") == 0 ]] && $IS_ROOT_SCRIPT; then
	# The kernel refuses TIOCSTI to everyone without CAP_SYS_ADMIN; turn it on for the test so that
	# a refusal is the sandbox's, and put it back at exit.
	echo 1 >"$LEGACY"
	trap 'echo 0 >'"$LEGACY"'; _lib_cleanup' EXIT
fi
for variant in tiocsti tiocsti-hi; do
	text="echo INJECTED-$NONCE-$variant"
	run as_user "$P" pty /bin/sh -c '"$0" "$1" "$2"; exec "$0" read-tty 500' "$P" "$variant" "$text"
	if [[ $OUT == *"got=$text"* ]]; then
		ok "control: outside the sandbox, $variant injects into the terminal"
	else
		not_ok "control: outside the sandbox, $variant injects into the terminal" "$(what_happened)"
	fi
	_sb_argv
	run as_user "$P" pty /bin/sh -c '"$@"; exec "$0" read-tty 500' \
		"$P" "${_SB_ENV[@]}" run -w "$WS" -- "$P" "$variant" "$text"
	if [[ $OUT == *"got=$text"* ]]; then
		not_ok "$variant from inside injects nothing into the user's terminal" "$(what_happened)"
	elif [[ $OUT != *"$variant"* && $OUT != *TIOCSTI* && $OUT != *injected* ]]; then
		not_ok "$variant from inside injects nothing into the user's terminal" "the probe did not run:" "$(what_happened)"
	else
		ok "$variant from inside injects nothing into the user's terminal"
	fi
	# Whatever terminal the command has (the user's or one cordon made), the ioctl itself must be
	# refused: the seccomp filter compares the command as the 32-bit int the kernel reads.
	if [[ $OUT == *"fail "*"TIOCSTI"* && $OUT != *"ok injected"* ]]; then
		ok "$variant is refused inside"
	else
		not_ok "$variant is refused inside" "$(what_happened)"
	fi
done

# --- inherited file descriptors ------------------------------------------------------------------
exec 5</dev/null 7>"$LOGS/fd7"
run as_user "$P" fds
if [[ $OUT == *"5:"* && $OUT == *"7:"* ]]; then
	ok "control: outside the sandbox, fds 5 and 7 are inherited"
else
	not_ok "control: outside the sandbox, fds 5 and 7 are inherited" "$(what_happened)"
fi
sbp fds
is "$OUT" "ok fds=" "no fd beyond stdio reaches the command"
exec 5<&- 7>&-

done_testing
