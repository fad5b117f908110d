#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Supervision: signals reach the command, the timeout kills everything, limits hold, and a command
# on a terminal gets a pty of its own. Checked from outside.
. "$(dirname "$0")/../lib.sh"
mk_scratch

# A TERM to cordon reaches the command, which may exit as it likes.
sb_bg "$LOGS/term" -w "$WS" -- /bin/sh -c 'trap "echo got-term; exit 7" TERM; echo ready; while :; do sleep 0.05; done'
wait_for 50 grep -q ready "$LOGS/term"
kill -TERM "$SB_PID"
wait "$SB_PID"
is "$?" 7 "SIGTERM to cordon is forwarded to the command"
like "$(cat "$LOGS/term")" got-term "the command's handler ran"

# A command deaf to SIGTERM: a second terminating signal ends the whole sandbox (exit 128+15).
tag=deaf-$NONCE
sb_bg "$LOGS/deaf" -w "$WS" -- /bin/bash -c "trap '' TERM INT; echo ready; exec -a $tag sleep 60"
wait_for 50 grep -q ready "$LOGS/deaf"
kill -TERM "$SB_PID"
sleep 0.3
if pgrep -f "$tag" >/dev/null; then ok "one SIGTERM is passed on; a deaf command keeps running"; else not_ok "one SIGTERM is passed on; a deaf command keeps running"; fi
kill -TERM "$SB_PID"
wait "$SB_PID"
is "$?" 143 "a second SIGTERM ends the sandbox: exit 128+15"
if wait_for 20 no_process_matching "$tag"; then ok "after the second SIGTERM nothing of the command is left"
else not_ok "after the second SIGTERM nothing of the command is left" "$(pgrep -af "$tag")"; fi

# The timeout kills the whole tree, daemons included.
tag=tmo-$NONCE
run sb -w "$WS" --timeout 1 -- /bin/bash -c "(setsid bash -c 'exec -a $tag sleep 60' &) ; exec -a $tag-main sleep 60"
is "$RC" 124 "timeout: exit 124"
if wait_for 20 no_process_matching "$tag"; then ok "timeout: nothing the command started survives"
else not_ok "timeout: nothing the command started survives" "$(pgrep -af "$tag")"; fi

# Limits.
run sb -w "$WS" --max-procs 4 -- /bin/sh -c 'n=0; for i in 1 2 3 4 5 6 7 8; do sleep 2 & n=$((n+1)); done; wait; exit 0'
like "$ERR" "[Cc]annot fork|Resource temporarily unavailable" "--max-procs refuses the fork past the limit"
run sb -w "$WS" --file-size 4096 -- /bin/sh -c 'head -c 100000 /dev/zero > big; exit 0'
size=$(stat -c %s "$WS/big" 2>/dev/null || echo 0)
if ((size <= 4096)); then ok "--file-size caps the size of a written file ($size bytes)"; else not_ok "--file-size caps a written file" "size $size"; fi
run sb -w "$WS" --cpu-seconds 1 -- /bin/sh -c 'while :; do :; done'
is "$RC" 152 "--cpu-seconds: a busy loop dies of SIGXCPU (128+24)"
if [[ $TEST_USER == root ]]; then
	run sb -w "$WS" --memory 64M -- /usr/bin/python3 -c 'b = bytearray(300 * 1024 * 1024); print("allocated")'
	if [[ $RC != 0 && $OUT != *allocated* ]]; then ok "--memory: a 300 MiB allocation fails under a 64 MiB limit"
	else not_ok "--memory: a 300 MiB allocation fails under a 64 MiB limit" "$(what_happened)"; fi
else
	run sb -w "$WS" --memory 64M -- true
	if [[ $RC == 0 ]]; then
		ok "--memory: this user has a delegated cgroup"
	else
		is "$RC" 125 "--memory without a cgroup is refused (fail closed)"
	fi
	run sb -w "$WS" --allow-degraded --memory 64M -- /usr/bin/python3 -c 'b = bytearray(300 * 1024 * 1024); print("allocated")'
	if [[ $OUT != *allocated* && $ERR == *warning* ]]; then ok "--memory with --allow-degraded limits the process and warns"
	else not_ok "--memory with --allow-degraded limits the process and warns" "$(what_happened)"; fi
fi

# Signals: a mask the caller left (a harness's runtime blocking SIGINT in a thread) is not handed
# on, or Ctrl-C and every forwarded signal would be silent no-ops; nor is an ignored SIGHUP, which
# cordon forwards. The same wrapper natively is the control.
sigwrap=(python3 -c 'import os, signal, sys
signal.signal(signal.SIGHUP, signal.SIG_IGN)
signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
os.execvp(sys.argv[1], sys.argv[1:])')
run "${sigwrap[@]}" grep -E '^Sig(Blk|Ign)' /proc/self/status
native=$OUT
_sb_argv
run "${sigwrap[@]}" "${_SB[@]}" run -w "$WS" -- grep -E '^Sig(Blk|Ign)' /proc/self/status
if [[ $native == *"SigBlk:	0000000000004002"* && $OUT == *"SigBlk:	0000000000000000"* ]]; then
	ok "a signal mask the caller blocked is emptied for the command"
else
	not_ok "a signal mask the caller blocked is emptied for the command" "native: $native" "$(what_happened)"
fi
ign=$(sed -n 's/^SigIgn:\t//p' <<<"$OUT") nign=$(sed -n 's/^SigIgn:\t//p' <<<"$native")
if [[ -n $ign && -n $nign ]] && (( (16#$nign & 1) == 1 && (16#$ign & 1) == 0 )); then
	ok "a SIGHUP the caller ignored starts at its default action for the command (cordon forwards it)"
else
	not_ok "a SIGHUP the caller ignored starts at its default action for the command" "native: $native" \
		"$(what_happened)"
fi

# A terminal: the command gets its own pty (script(1) gives cordon a terminal on stdin).
if command -v script >/dev/null; then
	_sb_argv
	out=$(timeout 20 script -qec "$(printf '%q ' "${_SB[@]}") run -w $(printf '%q' "$WS") -- /bin/sh -c 'tty; test -t 0 && echo stdin-is-tty; stty size'" /dev/null </dev/null 2>&1 | tr -d '\r')
	like "$out" "/dev/pts/[0-9]+" "on a terminal, the command's tty is a pty inside the sandbox"
	like "$out" "stdin-is-tty" "on a terminal, stdin is a tty"
	# Started in the background of that terminal, cordon must not touch it (SIGTTOU would stop it).
	bg=$(timeout 20 script -qec "bash -ic '$(printf '%q ' "${_SB[@]}") run -w $(printf '%q' "$WS") -- /bin/echo bg-done & wait \$!; echo exit=\$?'" /dev/null </dev/null 2>&1 | tr -d '\r')
	like "$bg" "bg-done" "in the background of a terminal, the command runs"
	like "$bg" "exit=0" "in the background of a terminal, cordon is not stopped by SIGTTOU"
else
	not_ok "script(1) is needed for the pty test (package bsdutils)"
fi
done_testing
