#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# SB_OPTS and EXTRA_ENV are read by lib.sh (sbp, _sb_argv); sh -c scripts are single-quoted on purpose.
# shellcheck disable=SC2034,SC2016
#
# Second red-team round: what the other escape scripts do not try.
#   - network off: a host unix socket bound before the run under one name and then renamed or
#     hard-linked into place (OpenSSH's ControlMaster does exactly this: bind `path.RANDOM`,
#     link() it to `path`, unlink the temporary name). /proc/net/unix keeps the stale bind name,
#     so the socket cordon masks is not the one that exists;
#   - network on and full-access: /run stays hidden, abstract sockets stay scoped, no daemon
#     outlives the run;
#   - the pty relay (stdin a terminal, made with script(1)): Ctrl-C, a stopped command, a command
#     killed or closing its terminal; the user's terminal must come back out of raw mode;
#   - deny-read with symlinked homes and symlinked deny paths;
#   - a fork bomb under --max-procs leaves no cgroup directory and no process behind.
# Each hole test fails while the hole is open; the others are attacks refused today, checked from
# outside, and can fail too.
# shellcheck source=../lib.sh
. "$(dirname "$0")/../lib.sh"

CORDON=$(realpath "$CORDON") PROBE=$(realpath "$PROBE")
mk_scratch
require_visible "$T"

# A python3 the test user can run (root's may be a shim under /root).
PY=
for c in /usr/bin/python3 /usr/local/bin/python3 "$(command -v python3 2>/dev/null)"; do
	if [[ -n $c ]] && as_user test -x "$c"; then PY=$c; break; fi
done

# ---------------------------------------------------------------------------------------------
# Network off: host sockets moved into place after bind()

# A host listener (as the test user, as an ssh ControlMaster would be) that binds DIR/NAME.tmp,
# then renames (MODE=rename) or links and unlinks (MODE=link, OpenSSH's way) it to DIR/NAME,
# and logs every message it receives until it gets STOP or 20 s pass.
start_moved_listener() {
	local mode=$1 path=$2 log=$3
	as_user "$PY" - "$mode" "$path" >"$log" 2>&1 <<'EOF' &
import os, socket, sys
mode, path = sys.argv[1], sys.argv[2]
tmp = path + ".Xa9f3c1b2"
s = socket.socket(socket.AF_UNIX)
s.bind(tmp)
os.chmod(tmp, 0o777)
if mode == "rename":
    os.rename(tmp, path)
else:
    os.link(tmp, path)
    os.unlink(tmp)
s.listen(8)
print("ready", flush=True)
s.settimeout(20)
try:
    while True:
        c, _ = s.accept()
        m = c.recv(200).decode(errors="replace")
        print("got " + m, flush=True)
        c.close()
        if m.startswith("STOP"):
            break
except Exception as e:
    print("end %s" % e, flush=True)
EOF
	track_pid $!
}

if [[ -z $PY ]]; then
	skip "network off: a host socket renamed or linked into place after bind() is unreachable" "no python3"
else
	mkdir -p "$T/sockdir"
	own "$T/sockdir"
	start_moved_listener rename "$T/sockdir/renamed.sock" "$LOGS/renamed.out"
	start_moved_listener link "$T/sockdir/cm-linked.sock" "$LOGS/linked.out"
	wait_for 50 grep -q ready "$LOGS/renamed.out"
	wait_for 50 grep -q ready "$LOGS/linked.out"
	# Controls: the test user reaches both from the host.
	as_user "$P" unix-connect "$T/sockdir/renamed.sock" "control-$NONCE" >/dev/null
	as_user "$P" unix-connect "$T/sockdir/cm-linked.sock" "control-$NONCE" >/dev/null
	sbp unix-connect "$T/sockdir/renamed.sock" "escape-$NONCE-renamed"
	in1=$(what_happened)
	sbp unix-connect "$T/sockdir/cm-linked.sock" "escape-$NONCE-linked"
	in2=$(what_happened)
	as_user "$P" unix-connect "$T/sockdir/renamed.sock" STOP >/dev/null
	as_user "$P" unix-connect "$T/sockdir/cm-linked.sock" STOP >/dev/null
	# Each listener logs a message once it is read: wait for both STOPs (a loaded machine is slow).
	wait_for 50 eval 'grep -q "got STOP" "$LOGS/renamed.out" && grep -q "got STOP" "$LOGS/linked.out"'
	got=$(cat "$LOGS/renamed.out" "$LOGS/linked.out")
	if [[ $got != *"got control-$NONCE"* ]]; then
		not_ok "network off: a host socket renamed or linked into place after bind() is unreachable" \
			"the controls did not arrive:" "$got"
	elif [[ $got == *"escape-$NONCE"* ]]; then
		not_ok "network off: a host socket renamed or linked into place after bind() is unreachable" \
			"HOLE: /proc/net/unix lists the socket under its bind-time name, which no longer exists," \
			"so it is not masked; the listeners received:" "$got" "inside (renamed): $in1" "inside (linked): $in2"
	else
		ok "network off: a host socket renamed or linked into place after bind() is unreachable"
	fi
fi

# ---------------------------------------------------------------------------------------------
# Network on: /run stays hidden, abstract sockets stay scoped

"$P" listen abstract "rt2-$NONCE" 0 20 >"$LOGS/abs.out" 2>&1 &
track_pid $!
if $IS_ROOT_SCRIPT; then
	track_path "/run/rt2-$NONCE.sock"
	"$P" listen unix "/run/rt2-$NONCE.sock" 0 20 >"$LOGS/run.out" 2>&1 &
	track_pid $!
	wait_for 50 test -S "/run/rt2-$NONCE.sock" && chmod 0777 "/run/rt2-$NONCE.sock"
fi
wait_for 50 grep -q listening "$LOGS/abs.out"

SB_OPTS=(--network on)
sbp readdir /run
if [[ $OUT == "ok 0"* ]]; then ok "network on: /run is empty inside"; else not_ok "network on: /run is empty inside" "$(what_happened)"; fi
if $IS_ROOT_SCRIPT; then
	sbp unix-connect "/run/rt2-$NONCE.sock" "escape-$NONCE-run-on"
	if probe_refused; then ok "network on: a host socket in /run is unreachable (refused: $(errno_of_last))"; else not_ok "network on: a host socket in /run is unreachable" "$(what_happened)"; fi
fi
sbp abstract-connect "rt2-$NONCE" "escape-$NONCE-abs-on"
if probe_refused; then ok "network on: a host abstract socket is unreachable (refused: $(errno_of_last))"; else not_ok "network on: a host abstract socket is unreachable" "$(what_happened)"; fi
SB_OPTS=(--mode full-access --network off)
sbp abstract-connect "rt2-$NONCE" "escape-$NONCE-abs-fa"
if probe_refused; then ok "full-access --network off: a host abstract socket is unreachable (refused: $(errno_of_last))"; else not_ok "full-access --network off: a host abstract socket is unreachable" "$(what_happened)"; fi
SB_OPTS=()
"$P" abstract-connect "rt2-$NONCE" STOP >/dev/null
$IS_ROOT_SCRIPT && "$P" unix-connect "/run/rt2-$NONCE.sock" STOP >/dev/null
stops=1
$IS_ROOT_SCRIPT && stops=2
wait_for 50 eval '(($(cat "$LOGS/abs.out" "$LOGS/run.out" 2>/dev/null | grep -c "got STOP") >= stops))'
got=$(cat "$LOGS/abs.out" "$LOGS/run.out" 2>/dev/null)
if [[ $got == *"escape-$NONCE"* ]]; then
	not_ok "network on / full-access: the host listeners received nothing from the sandbox" "$got"
elif [[ $got != *"got STOP"* ]]; then
	not_ok "network on / full-access: the host listeners received nothing from the sandbox" "the STOP controls did not arrive:" "$got"
else
	ok "network on / full-access: the host listeners received nothing from the sandbox (controls arrived)"
fi

# full-access: the process containment still holds.
marker=$OUTD/fa-daemon-$NONCE
SB_OPTS=(--mode full-access)
sbp daemonize "$marker" 1500
SB_OPTS=()
if probe_succeeded; then
	sleep 2.5
	if [[ ! -e $marker ]]; then ok "full-access: a daemon the command leaves never writes its marker"; else not_ok "full-access: a daemon the command leaves never writes its marker" "$(cat "$marker")"; fi
else
	not_ok "full-access: the daemon started inside" "$(what_happened)"
fi

# ---------------------------------------------------------------------------------------------
# The pty relay. script(1) gives cordon a terminal; FEED (a shell snippet) types into it. After
# cordon returns, the same terminal reports cordon's status and whether it is canonical again.

# pty_run NAME LIMIT FEED CORDON-RUN-ARGS...: sets PTY_RC (cordon's status, or "none" when
# script had to be killed after LIMIT seconds), PTY_CANON (icanon / -icanon / none), PTY_SECS.
pty_run() {
	local name=$1 limit=$2 feed=$3
	shift 3
	_sb_argv
	local cmd
	printf -v cmd '%q ' "${_SB[@]}" run "$@"
	cmd+="; echo \"rc=\$?\" >$LOGS/$name.rc; stty -a >$LOGS/$name.stty"
	rm -f "$LOGS/$name.rc" "$LOGS/$name.stty"
	local start=$SECONDS
	# In a subshell: bash's own "Killed" job report must not land in the TAP stream. script(1)
	# runs CMD with $SHELL, else /bin/sh: dash dies of the SIGINT a Ctrl-C sends its foreground
	# group and would never record cordon's status, so bash is named; and signals start at their
	# defaults, whatever the test runner ignored.
	( (eval "$feed") | timeout -s KILL "$limit" env --default-signal=INT,QUIT,HUP SHELL=/bin/bash \
		script -qec "$cmd" /dev/null >"$LOGS/$name.out" 2>&1 ) 2>/dev/null
	PTY_SECS=$((SECONDS - start))
	PTY_RC=$(sed -n 's/^rc=//p' "$LOGS/$name.rc" 2>/dev/null)
	PTY_RC=${PTY_RC:-none}
	PTY_CANON=$(grep -o -- '-\?icanon' "$LOGS/$name.stty" 2>/dev/null | head -1)
	PTY_CANON=${PTY_CANON:-none}
}

if ! command -v script >/dev/null; then
	skip "pty tests" "no script(1)"
else
	tag=rt2pty-$NONCE
	# Control: a plain command ends on one Ctrl-C, through the pty.
	pty_run ctrlc 15 "sleep 2; printf '\\003'; sleep 4" -w "$WS" -- "$P" sleep 30000 "$tag-a"
	if [[ $PTY_RC == 130 && $PTY_CANON == icanon ]]; then
		ok "pty: Ctrl-C ends a command and the terminal is canonical again"
	else
		not_ok "pty: Ctrl-C ends a command and the terminal is canonical again" "rc=$PTY_RC canon=$PTY_CANON" "$(cat -v "$LOGS/ctrlc.out")"
	fi
	kill_matching "$tag-a"

	# The command stops itself (or ignores SIGINT). On a pty, each Ctrl-C goes to the sandbox's
	# terminal (an interactive shell inside sees many); three within 2 s must end everything
	# (policy.md, Signals) and leave the user's terminal canonical. (Found as a hole: with ISIG off
	# on the user's terminal, cordon never saw a SIGINT and the terminal stayed raw.)
	pty_run stopped 14 "sleep 2; printf '\\003'; sleep 0.3; printf '\\003'; sleep 0.3; printf '\\003'; sleep 10" \
		-w "$WS" -- /bin/sh -c "kill -STOP \$\$; $P sleep 1 $tag-b"
	if [[ $PTY_RC == 130 && $PTY_CANON == icanon ]]; then
		ok "pty: three quick Ctrl-C end a stopped command (exit 130) and the terminal is canonical again"
	else
		not_ok "pty: three quick Ctrl-C end a stopped command (exit 130) and the terminal is canonical again" \
			"HOLE: after ${PTY_SECS}s cordon had not ended (rc=$PTY_RC, terminal: $PTY_CANON);" \
			"Ctrl-C is relayed into the sandbox's pty as a byte, so cordon never gets the SIGINT it" \
			"would escalate on" "$(cat -v "$LOGS/stopped.out")"
	fi
	kill_matching "$tag-b"

	pty_run kill9 15 "sleep 5" -w "$WS" -- /bin/sh -c 'kill -9 $$'
	if [[ $PTY_RC == 137 && $PTY_CANON == icanon ]]; then ok "pty: command SIGKILLed: exit 137, terminal canonical"; else not_ok "pty: command SIGKILLed: exit 137, terminal canonical" "rc=$PTY_RC canon=$PTY_CANON"; fi

	pty_run stoptimeout 15 "sleep 5" --timeout 2 -w "$WS" -- /bin/sh -c 'kill -STOP $$'
	if [[ $PTY_RC == 124 && $PTY_CANON == icanon ]]; then ok "pty: stopped command, --timeout 2: exit 124, terminal canonical"; else not_ok "pty: stopped command, --timeout 2: exit 124, terminal canonical" "rc=$PTY_RC canon=$PTY_CANON"; fi

	pty_run closepty 15 "sleep 5" -w "$WS" -- /bin/sh -c 'exec </dev/null >/dev/null 2>&1; sleep 1; exit 7'
	if [[ $PTY_RC == 7 && $PTY_CANON == icanon ]]; then ok "pty: a command that closes its terminal still ends the run (exit 7), terminal canonical"; else not_ok "pty: a command that closes its terminal still ends the run" "rc=$PTY_RC canon=$PTY_CANON"; fi

	# The command feeds its own pty (TIOCSTI is refused) and floods output: nothing reaches the
	# shell that runs after cordon on the same terminal.
	pty_run flood 20 "sleep 6" -w "$WS" -- /bin/sh -c "head -c 2000000 /dev/zero | tr '\\000' x; $P tiocsti 'touch $OUTD/pty-injected-$NONCE'"
	if [[ $PTY_RC == 1 && $PTY_CANON == icanon && ! -e $OUTD/pty-injected-$NONCE ]]; then
		ok "pty: 2 MB of output then TIOCSTI: refused, nothing injected, terminal canonical"
	else
		not_ok "pty: 2 MB of output then TIOCSTI: refused, nothing injected, terminal canonical" "rc=$PTY_RC canon=$PTY_CANON"
	fi
	if no_process_matching "$tag"; then ok "pty: no process left behind"; else not_ok "pty: no process left behind" "$(pgrep -af -- "$tag")"; kill_matching "$tag"; fi
fi

# ---------------------------------------------------------------------------------------------
# Deny-read: symlinked homes and symlinked deny paths

D=$T/dr
mkdir -p "$D/real/home/.aws" "$D/dot/ssh" "$D/sec/d"
ln -s real/home "$D/h"
ln -s "$D/dot/ssh" "$D/real/home/.ssh"
printf 'SECRET-%s-aws\n' "$NONCE" >"$D/real/home/.aws/credentials"
printf 'SECRET-%s-ssh\n' "$NONCE" >"$D/dot/ssh/id"
printf 'SECRET-%s-netrc\n' "$NONCE" >"$D/real/home/.netrc"
printf 'SECRET-%s-d\n' "$NONCE" >"$D/sec/d/f"
ln -s sec/d "$D/sl"
ln -s sec "$D/secl"
own "$D"
chmod -R a+rX "$D"

# noleak DESC SANDBOX-ARGS...
noleak() {
	local desc=$1
	shift
	run sb "$@"
	if [[ $OUT$ERR == *"SECRET-$NONCE"* ]]; then not_ok "$desc" "the secret came out:" "$(what_happened)"
	elif ! probe_refused; then not_ok "$desc" "the read was not refused:" "$(what_happened)"
	else ok "$desc (refused: $(errno_of_last))"; fi
}
run as_user "$P" read "$D/h/.aws/credentials"
if [[ $OUT == *"SECRET-$NONCE"* ]]; then ok "control: outside, the test user reads the secrets"; else not_ok "control: outside, the test user reads the secrets" "$(what_happened)"; fi
EXTRA_ENV=("HOME=$D/h")
noleak "HOME a symlink: ~/.aws/credentials" -w "$WS" -- "$P" read "$D/h/.aws/credentials"
noleak "HOME a symlink: ~/.netrc" -w "$WS" -- "$P" read "$D/h/.netrc"
noleak "HOME/.ssh a symlink to a directory elsewhere, read through it" -w "$WS" -- "$P" read "$D/h/.ssh/id"
noleak "HOME/.ssh a symlink to a directory elsewhere, read at its target" -w "$WS" -- "$P" read "$D/dot/ssh/id"
EXTRA_ENV=()
noleak "--deny-read given as a symlink to a directory, read at the target" --deny-read "$D/sl" -w "$WS" -- "$P" read "$D/sec/d/f"
noleak "--deny-read given as a symlink to a directory, read through another symlinked ancestor" --deny-read "$D/sl" -w "$WS" -- "$P" read "$D/secl/d/f"
noleak "--deny-read with a symlinked ancestor, read at the real path" --deny-read "$D/secl/d" -w "$WS" -- "$P" read "$D/sec/d/f"
noleak "--deny-read, read through /proc/self/root" --deny-read "$D/sec/d" -w "$WS" -- "$P" read "/proc/self/root$D/sec/d/f"
noleak "--deny-read, read through /proc/1/root" --deny-read "$D/sec/d" -w "$WS" -- "$P" read "/proc/1/root$D/sec/d/f"

# ---------------------------------------------------------------------------------------------
# Resource exhaustion aimed at the supervisor

cg_list() {
	find /sys/fs/cgroup -maxdepth 6 -type d -name 'cordon-*' 2>/dev/null | sort
}
cg_before=$(cg_list)
tag=rt2bomb-$NONCE
run sb --max-procs 16 --timeout 10 -w "$WS" -- /bin/sh -c "b() { $P sleep 60000 $tag & b & b; }; b 2>/dev/null; exit 3"
# sh may give up itself when fork fails (exit 2); 137 would be the test's own kill, 125 a refusal.
if [[ $RC == 2 || $RC == 3 || $RC == 124 ]]; then ok "fork bomb under --max-procs 16: the run ends ($RC)"; else not_ok "fork bomb under --max-procs 16: the run ends" "$(what_happened)"; fi
sleep 0.3
if no_process_matching "$tag"; then ok "fork bomb: no process left behind"; else not_ok "fork bomb: no process left behind" "$(pgrep -af -- "$tag" | head)"; kill_matching "$tag"; fi
# Through the daemon the result comes before the teardown, which removes the run's cgroup once
# init is reaped (a few hundred microseconds; a second at most for the kernel's lag).
wait_for 30 eval '[[ "$(cg_list)" == "$cg_before" ]]'
is "$(cg_list)" "$cg_before" "fork bomb: no cgroup directory left behind"

# Many broker notifications at once (creating and removing entries), then the run ends cleanly.
ws_before=$(names "$WS")
run sb --timeout 20 -w "$WS" -- /bin/sh -c 'i=0; while [ $i -lt 3000 ]; do mkdir d$i; rmdir d$i; i=$((i+1)); done; exit 5'
is "$RC" 5 "3000 mkdir/rmdir pairs through the broker: the command's own status comes back"
is "$(names "$WS")" "$ws_before" "the workspace is left as it was"

done_testing
