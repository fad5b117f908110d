#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The warm pool daemon (`cordon serve`, docs/daemon.md, docs/protocol.md), driven from outside: its
# socket and who may use it, single use of a sandbox, killing the daemon or the client, the same
# behaviour as a cold run, the hand-out check against a machine that changed since the build, fail
# closed, hostile bytes on the socket, --no-daemon, and systemd socket activation. The script starts
# its own daemons (never CORDON_TEST_DAEMON's), as the test user, in the fixed environment of
# tests/lib.sh.
# shellcheck disable=SC2034 # read by lib.sh (start_daemon): this script starts its own daemons
CORDON_TEST_DAEMON=0
. "$(dirname "$0")/../lib.sh"
: "${ENOSYS:?ENOSYS must name the enosys wrapper}"
mk_scratch
if ! as_user test -x "$ENOSYS"; then
	cp "$ENOSYS" "$T/bin/enosys" && chmod 0755 "$T/bin/enosys"
	ENOSYS=$T/bin/enosys
fi

# ---------------------------------------------------------------------------------------------
# Helpers

# The system's python3: the test user cannot always run the one first on root's PATH.
PY=/usr/bin/python3

# sockdir: a new private directory (0700, the test user's) for a socket, outside the scratch tree.
sockdir() {
	local d
	d=$(mktemp -d "$LOGS/sock.XXXXXX") || bail_out "mktemp"
	chmod 0700 "$d"
	own "$d"
	echo "$d"
}

# serve_bg SOCK [SERVE-ARGS...]: `cordon serve --socket SOCK SERVE-ARGS...` as the test user in the
# fixed environment, in the background, under umask 000 (the socket's mode must not depend on it).
# Sets SRV_PID (cordon's own pid: the subshell, setpriv and env exec) and waits for the socket.
# SERVE_WRAP (words) goes right before cordon (the ENOSYS wrapper); SERVE_ENV adds variables.
SERVE_WRAP=()
SERVE_ENV=()
serve_bg() {
	local sock=$1
	shift
	local -a envv
	mapfile -t envv < <(base_env)
	(
		umask 000
		exec "${_as_user[@]}" env -i "${envv[@]}" "${SERVE_ENV[@]}" "${SERVE_WRAP[@]}" "$CORDON" serve \
			${sock:+--socket "$sock"} "$@" </dev/null >>"$LOGS/serve.log" 2>&1
	) &
	SRV_PID=$!
	track_pid "$SRV_PID"
	[[ -z $sock ]] || wait_for 100 test -S "$sock"
}

# status_of SOCK: the daemon's --status JSON, asked as the test user (or as root with AS=root); its
# stderr goes to $LOGS/status.err.
status_of() {
	local -a envv
	mapfile -t envv < <(base_env)
	if [[ ${AS:-} == root ]]; then
		env -i "${envv[@]}" "$CORDON" serve --status --socket "$1" 2>"$LOGS/status.err"
	else
		"${_as_user[@]}" env -i "${envv[@]}" "$CORDON" serve --status --socket "$1" 2>"$LOGS/status.err"
	fi
}

# jget KEY: a top-level key of the JSON object on stdin (empty when it is not JSON).
jget() {
	python3 -c 'import json, sys
try:
    print(json.loads(sys.stdin.read())[sys.argv[1]])
except Exception:
    pass' "$1"
}

requests_of() { status_of "$1" | jget requests; }

# pool_full SOCK: the daemon keeps at least one policy, and every policy has its whole pool built.
pool_full() {
	status_of "$1" | python3 -c 'import json, sys
d = json.load(sys.stdin)
p = d["policies"]
sys.exit(0 if p and all(x["ready"] == x["idle"] == d["pool"] for x in p) else 1)' 2>/dev/null
}

wait_ready() { wait_for 100 pool_full "$1"; }

# via SOCK CMD...: CMD (run sb ..., sb_bg ...) with CORDON_SOCKET=SOCK in the sandbox's environment.
via() {
	local sock=$1
	shift
	local -a save=("${EXTRA_ENV[@]}")
	EXTRA_ENV=("CORDON_SOCKET=$sock" "${save[@]}")
	"$@"
	EXTRA_ENV=("${save[@]}")
}

# pid_gone PID: PID has exited (or is a zombie not yet waited for).
pid_gone() { ! kill -0 "$1" 2>/dev/null || [[ $(ps -o stat= -p "$1" 2>/dev/null) == Z* ]]; }

# reap_rc PID: waits for a background job that has ended (kills it first if it has not) and sets
# BG_RC; BG_LATE=1 when it had to be killed.
reap_rc() {
	BG_LATE=0
	if ! wait_for 50 pid_gone "$1"; then
		BG_LATE=1
		kill -KILL "$1" 2>/dev/null
	fi
	wait "$1" 2>/dev/null
	BG_RC=$?
}

# The raw protocol client (docs/protocol.md). `capture`: listens on SOCK as a fake daemon and saves
# the payload of the RUN a real `cordon run` sends to TEMPLATE, so that the hand-made frames below
# follow the protocol as cordon speaks it. Any other CASE sends one frame built from TEMPLATE, with
# a command that writes MARKER, and prints what came back: `ERROR VERSION JSON`, `RESULT VERSION
# JSON`, `closed` or `timeout`.
RAW=$LOGS/raw.py
cat >"$RAW" <<'EOF'
import array, json, os, socket, struct, sys
sock, case, marker, template = sys.argv[1:5]
def hdr(t, n, magic=b"CRDN", ver=1):
    return magic + struct.pack(">HHI", ver, t, n)
if case == "capture":
    l = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    l.bind(sock)
    l.listen(1)
    l.settimeout(30)
    c, _ = l.accept()
    data = b""
    while len(data) < 12 or len(data) < 12 + struct.unpack(">I", data[8:12])[0]:
        msg, anc, _, _ = c.recvmsg(65536, socket.CMSG_SPACE(16 * 4))
        if not msg:
            break
        data += msg
        for level, kind, fds in anc:
            if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                for fd in array.array("i", fds[: len(fds) - len(fds) % 4]):
                    os.close(fd)
    with open(template + ".tmp", "wb") as f:
        f.write(data[12:])
    os.rename(template + ".tmp", template)
    sys.exit(0)
run = json.load(open(template))
run["argv"] = ["/bin/sh", "-c", "echo ran > " + marker]
body = json.dumps(run).encode()
fds = [os.open("/dev/null", os.O_RDONLY), os.open("/dev/null", os.O_WRONLY), os.open("/dev/null", os.O_WRONLY)]
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sock)
s.settimeout(20)
def send(data, with_fds=True):
    anc = [(socket.SOL_SOCKET, socket.SCM_RIGHTS, struct.pack("3i", *fds))] if with_fds else []
    s.sendmsg([data[:1]], anc)
    s.sendall(data[1:])
try:
    if case == "valid":
        send(hdr(1, len(body)) + body)
    elif case == "garbage":
        send(b"GET / HTTP/1.0\r\nHost: x\r\n\r\n" + os.urandom(40), False)
    elif case == "magic":
        send(hdr(1, len(body), magic=b"CRDX") + body)
    elif case == "version":
        send(hdr(1, len(body), ver=2) + body)
    elif case == "length":
        send(hdr(1, 8388609) + body)
    elif case == "nofds":
        send(hdr(1, len(body)) + body, False)
    elif case == "badjson":
        bad = body[:-7]
        send(hdr(1, len(bad)) + bad)
except (BrokenPipeError, ConnectionResetError):
    pass
data = b""
try:
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
except socket.timeout:
    print("timeout")
    sys.exit(0)
except ConnectionResetError:
    pass
if len(data) < 12:
    print("closed" if not data else "short %r" % data)
    sys.exit(0)
ver, t, n = struct.unpack(">HHI", data[4:12])
name = {3: "RESULT", 4: "ERROR", 5: "STATUS"}.get(t, "type%d" % t)
print(name if data[:4] == b"CRDN" else "badmagic", ver, data[12:12 + n].decode(errors="replace"))
EOF
chmod 0644 "$RAW"

# raw SOCK CASE MARKER: the raw client as the test user, for a RUN whose command writes MARKER.
raw() {
	run as_user "$PY" "$RAW" "$1" "$2" "$3" "$TPL"
}

# Runs below go from $T (the current directory is part of a pooled sandbox's key).
cd "$T" || bail_out "cd $T"

# The template: the RUN that `cordon run -w $WS -- /bin/true` sends from $T, caught by a fake daemon.
DC=$(sockdir)
TPL=$LOGS/run-template.json
"${_as_user[@]}" "$PY" "$RAW" "$DC/fake.sock" capture - "$DC/tpl.json" </dev/null >/dev/null 2>&1 &
track_pid "$!"
wait_for 50 test -S "$DC/fake.sock"
via "$DC/fake.sock" run sb -w "$WS" -- /bin/true
wait_for 50 test -s "$DC/tpl.json"
cp "$DC/tpl.json" "$TPL" 2>/dev/null && chmod 0644 "$TPL"
[[ -s $TPL ]] || bail_out "could not capture the RUN frame cordon run sends"

# ---------------------------------------------------------------------------------------------
# 1. The socket

D1=$(sockdir)
S1=$D1/cordon.sock
serve_bg "$S1" --pool 2 --policies 8
P1=$SRV_PID
if [[ -S $S1 ]]; then
	is "$(stat -c '%a %U' "$S1")" "600 $TEST_USER" "--socket: a socket of mode 0600, the test user's (started under umask 000)"
else
	not_ok "--socket: cordon serve made its socket" "$(cat "$LOGS/serve.log")"
	bail_out "no daemon"
fi

X=$T/xdg
mkdir -m 0700 "$X"
own "$X"
SERVE_ENV=("XDG_RUNTIME_DIR=$X")
serve_bg "" --pool 0
PX=$SRV_PID
SERVE_ENV=()
if wait_for 100 test -S "$X/cordon/cordon.sock"; then
	is "$(stat -c '%a %U' "$X/cordon") $(stat -c '%a %U' "$X/cordon/cordon.sock")" "700 $TEST_USER 600 $TEST_USER" \
		"no --socket: \$XDG_RUNTIME_DIR/cordon (0700) holds cordon.sock (0600), both the test user's"
	EXTRA_ENV=("XDG_RUNTIME_DIR=$X")
	run sb -w "$WS" -- /bin/echo xdg-run
	EXTRA_ENV=()
	is "$RC:$OUT:$(requests_of "$X/cordon/cordon.sock")" "0:xdg-run:1" \
		"a client with only XDG_RUNTIME_DIR set goes through that daemon (its requests: 1)"
else
	not_ok "no --socket: the daemon listens on \$XDG_RUNTIME_DIR/cordon/cordon.sock" "$(cat "$LOGS/serve.log")"
fi
kill -TERM "$PX" 2>/dev/null
reap_rc "$PX"
# A cordon dir others may enter is refused.
mkdir -p "$T/xdg2/cordon" && chmod 0700 "$T/xdg2" && chmod 0755 "$T/xdg2/cordon" && own "$T/xdg2"
EXTRA_ENV=("XDG_RUNTIME_DIR=$T/xdg2")
run cordon_as_user serve --pool 0
EXTRA_ENV=()
if [[ $RC == 125 && $ERR == *"not a directory of yours with mode 0700"* && ! -e $T/xdg2/cordon/cordon.sock ]]; then
	ok "no --socket: a cordon dir of mode 0755 is refused (125), no socket made"
else
	not_ok "no --socket: a cordon dir of mode 0755 is refused (125), no socket made" "$(what_happened)"
fi

# A second daemon on the same socket is refused; the first goes on serving.
before=$(requests_of "$S1")
run cordon_as_user serve --socket "$S1" --pool 0
if [[ $RC == 125 && $ERR == *"already serves"* ]]; then
	ok "a second cordon serve on the same socket is refused (125, already serves)"
else
	not_ok "a second cordon serve on the same socket is refused (125, already serves)" "$(what_happened)"
fi
via "$S1" run sb -w "$WS" -- /bin/echo first-still-serves
after=$(requests_of "$S1")
if kill -0 "$P1" 2>/dev/null && [[ $RC == 0 && $OUT == first-still-serves && $after == $((before + 1)) ]]; then
	ok "the first daemon still serves (requests $before -> $after)"
else
	not_ok "the first daemon still serves" "$(what_happened)" "requests $before -> $after"
fi

# A stale socket (its daemon SIGKILLed) is replaced.
D2=$(sockdir)
S2=$D2/cordon.sock
serve_bg "$S2" --pool 1
kill -KILL "$SRV_PID"
reap_rc "$SRV_PID"
if [[ -S $S2 ]]; then
	serve_bg "$S2" --pool 1
	P2=$SRV_PID
	# The stale file is there from the start: wait for the new daemon to answer on it.
	wait_for 100 eval '[[ $(status_of "$S2" | jget pid) == "$P2" ]]'
	pid2=$(status_of "$S2" | jget pid)
	via "$S2" run sb -w "$WS" -- /bin/echo after-stale
	if [[ $pid2 == "$P2" && $RC == 0 && $OUT == after-stale && $(requests_of "$S2") == 1 ]]; then
		ok "a stale socket (daemon SIGKILLed) is replaced by a new daemon, which serves"
	else
		not_ok "a stale socket (daemon SIGKILLed) is replaced by a new daemon, which serves" \
			"status pid: $pid2, new daemon: $P2" "$(what_happened)" "$(tail -3 "$LOGS/serve.log")"
	fi
	kill -KILL "$P2" 2>/dev/null
	reap_rc "$P2"
else
	not_ok "a SIGKILLed daemon leaves its socket file (the stale case to test)" "$(ls -la "$D2")"
fi

# ---------------------------------------------------------------------------------------------
# 2. Peers: only the daemon's own uid, both ways.

if [[ $TEST_USER != root ]] && $IS_ROOT_SCRIPT; then
	RD=$(mktemp -d "$LOGS/rootd.XXXXXX")
	RS=$RD/cordon.sock
	chmod 0755 "$RD"
	env -i PATH=/usr/bin:/bin HOME="$RD" XDG_STATE_HOME="$RD" "$CORDON" serve --socket "$RS" --pool 0 \
		</dev/null >>"$LOGS/serve.log" 2>&1 &
	RPID=$!
	track_pid "$RPID"
	wait_for 100 test -S "$RS"
	chmod 0666 "$RS"
	via "$RS" run sb -w "$WS" -- /bin/sh -c "echo ran > '$WS/peer-$NONCE'"
	if [[ $RC == 125 && $ERR == *"uid 0"* && ! -e $WS/peer-$NONCE ]]; then
		ok "a root daemon reachable by all: the test user's cordon run is refused (125, names uid 0), nothing ran"
	else
		not_ok "a root daemon reachable by all: the test user's cordon run is refused (125, names uid 0), nothing ran" \
			"$(what_happened)" "marker: $(ls "$WS/peer-$NONCE" 2>&1)"
	fi
	# The daemon's own check, without the client's: a hand-made RUN from the test user.
	raw "$RS" valid "$WS/peer-raw-$NONCE"
	sleep 0.3
	if [[ $OUT == "ERROR 1 "*'"code": 13'* || $OUT == "ERROR 1 "*'"code":13'* ]] &&
		[[ $OUT == *"uid $TEST_UID"* && ! -e $WS/peer-raw-$NONCE && $(AS=root requests_of "$RS") == 0 ]]; then
		ok "a root daemon answers a RUN of uid $TEST_UID with an EACCES ERROR naming it; nothing ran, 0 requests"
	else
		not_ok "a root daemon answers a RUN of uid $TEST_UID with an EACCES ERROR naming it; nothing ran, 0 requests" \
			"$(what_happened)" "requests: $(AS=root requests_of "$RS")" "marker: $(ls "$WS/peer-raw-$NONCE" 2>&1)"
	fi
	kill -TERM "$RPID"
	reap_rc "$RPID"

	# Root as the client of the test user's daemon: refused by the client before it sends anything.
	before=$(requests_of "$S1")
	mapfile -t envv < <(base_env)
	run env -i "${envv[@]}" CORDON_SOCKET="$S1" "$CORDON" run -w "$WS" -- /bin/sh -c "echo ran > '$WS/rootc-$NONCE'"
	after=$(requests_of "$S1")
	if [[ $RC == 125 && $ERR == *"runs as uid $TEST_UID"* && ! -e $WS/rootc-$NONCE && $after == "$before" ]]; then
		ok "root's cordon run at the test user's daemon: refused (125, runs as uid $TEST_UID), nothing sent or ran"
	else
		not_ok "root's cordon run at the test user's daemon: refused (125, runs as uid $TEST_UID), nothing sent or ran" \
			"$(what_happened)" "requests $before -> $after" "marker: $(ls "$WS/rootc-$NONCE" 2>&1)"
	fi
else
	skip "a root daemon refuses the test user" "the test user is root"
	skip "a root daemon answers another uid's RUN with EACCES" "the test user is root"
	skip "root's cordon run refuses the test user's daemon" "the test user is root"
fi

# ---------------------------------------------------------------------------------------------
# 3. Single use

# The ten commands stay alive until all have run (a pid namespace's inode number is reused once it
# is freed, so only live namespaces can be told apart), and each lists /tmp after the ones before it
# made their marks.
via "$S1" run sb -w "$WS" -- /bin/true
before=$(requests_of "$S1")
REL=$T/release-$NONCE
spids=()
for i in 1 2 3 4 5 6 7 8 9 10; do
	wait_ready "$S1" || diag "the pool did not fill: $(status_of "$S1")"
	EXTRA_ENV=(CORDON_DEBUG_POOL=1)
	via "$S1" sb_bg "$LOGS/single-$i" -w "$WS" -- /bin/sh -c "readlink /proc/self/ns/pid; touch /tmp/mark-$NONCE-$i; ls -A /tmp; echo listed; n=0; while [ ! -e '$REL' ] && [ \$n -lt 300 ]; do sleep 0.1; n=\$((n+1)); done"
	EXTRA_ENV=()
	spids+=("$SB_PID")
	wait_for 50 grep -q '^listed' "$LOGS/single-$i"
done
touch "$REL"
declare -A nsseen=()
leaks=() used=0 fails=()
for i in 1 2 3 4 5 6 7 8 9 10; do
	reap_rc "${spids[i - 1]}"
	out=$(cat "$LOGS/single-$i")
	[[ $BG_RC == 0 && $out == *listed* ]] || fails+=("run $i: exit $BG_RC: $out")
	ns=$(grep -m1 '^pid:' <<<"$out")
	[[ -n $ns ]] && nsseen[$ns]+="$i "
	other=$(grep "^mark-$NONCE-" <<<"$out" | grep -vx "mark-$NONCE-$i")
	[[ -z $other ]] || leaks+=("run $i sees: $other")
	[[ $out == *"pooled sandbox used"* ]] && used=$((used + 1))
done
after=$(requests_of "$S1")
if ((${#fails[@]} == 0 && ${#nsseen[@]} == 10)); then
	ok "10 runs through the daemon: 10 different PID namespaces"
else
	not_ok "10 runs through the daemon: 10 different PID namespaces" "distinct: ${#nsseen[@]}" \
		"$(for k in "${!nsseen[@]}"; do echo "$k: runs ${nsseen[$k]}"; done)" "${fails[@]}"
fi
if ((${#leaks[@]} == 0 && ${#fails[@]} == 0)); then
	ok "no run sees another run's /tmp mark"
else
	not_ok "no run sees another run's /tmp mark" "${leaks[@]}" "${fails[@]}"
fi
if ((used >= 1)); then ok "the pool is exercised: $used of 10 runs got a pooled sandbox"
else not_ok "the pool is exercised: some run got a pooled sandbox" "$(cat "$LOGS/single-10")"; fi
is "$((after - before))" 10 "the daemon's requests grew by 10 ($before -> $after)"
if compgen -G "/tmp/mark-$NONCE-*" >/dev/null; then
	not_ok "no /tmp mark reached the host's /tmp" "$(ls /tmp/mark-"$NONCE"-*)"
else
	ok "no /tmp mark reached the host's /tmp"
fi

# ---------------------------------------------------------------------------------------------
# 4. Killing the daemon kills every sandbox it owns

for sig in KILL TERM; do
	Dk=$(sockdir)
	Sk=$Dk/cordon.sock
	serve_bg "$Sk" --pool 2
	Pk=$SRV_PID
	via "$Sk" run sb -w "$WS" -- /bin/true
	wait_ready "$Sk"
	tag=dkill$sig-$NONCE
	via "$Sk" sb_bg "$LOGS/kill-$sig" -w "$WS" -- "$P" linger 100000 "$tag"
	if ! wait_for 50 probe_running "$tag"; then
		not_ok "SIG$sig to the daemon: the command started" "$(cat "$LOGS/kill-$sig")"
		kill -KILL "$Pk" "$SB_PID" 2>/dev/null
		continue
	fi
	# The daemon, its pool of two (each a forked process and its sandbox's init) and the process
	# serving the command: all carry the daemon's command line, socket path included.
	wait_ready "$Sk"
	owned=$(pgrep -f -- "$Sk" | wc -l)
	kill "-$sig" "$Pk"
	if wait_for 50 eval '[[ -z $(pids_of_probe "$tag") ]] && no_process_matching "$Sk" && pid_gone "$SB_PID"' &&
		((owned >= 5)); then
		ok "SIG$sig to the daemon: within 5 s the command, the client and all $owned processes of the daemon (pool included) are gone"
	else
		not_ok "SIG$sig to the daemon: within 5 s the command, the client and all processes of the daemon (pool included) are gone" \
			"before the kill, $owned processes named the socket (5 or more expected)" \
			"left: $(pgrep -af -- "$tag")" "$(pgrep -af -- "$Sk")"
		kill_matching "$tag"
		kill_matching "$Sk"
	fi
	reap_rc "$SB_PID"
	crc=$BG_RC
	if [[ $crc == 125 && $BG_LATE == 0 && $(cat "$LOGS/kill-$sig") == *"ended without a result"* ]]; then
		ok "SIG$sig to the daemon: the client exits 125 with a message"
	else
		not_ok "SIG$sig to the daemon: the client exits 125 with a message" "exit $crc (killed late: $BG_LATE)" \
			"$(cat "$LOGS/kill-$sig")"
	fi
	reap_rc "$Pk"
	if [[ $sig == TERM ]]; then
		if [[ ! -e $Sk ]]; then ok "SIGTERM: the daemon removed its socket"
		else not_ok "SIGTERM: the daemon removed its socket" "$(ls -la "$Sk")"; fi
	fi
done

# A run with --max-procs has a cgroup of its own, which its supervisor removes at the end; killed
# with the daemon, it cannot. The next run that makes a cgroup there removes it (cgroup.c).
Dc=$(sockdir)
Sc=$Dc/cordon.sock
serve_bg "$Sc" --pool 1
Pc=$SRV_PID
tag=dcg-$NONCE
via "$Sc" sb_bg "$LOGS/cg" -w "$WS" --max-procs 64 -- "$P" linger 100000 "$tag"
# The run's cgroup directory, from the command's /proc/PID/cgroup: "0::PATH" (cgroup v2) or
# "N:pids:PATH" (v1, where cgroup.c uses the pids hierarchy for --max-procs).
cg=
if wait_for 50 probe_running "$tag"; then
	cg=$(sed -n 's|^0::\(.*/cordon-[0-9]*\)$|\1|p; s|^[0-9]*:pids:\(.*/cordon-[0-9]*\)$|/pids\1|p' \
		"/proc/$(pids_of_probe "$tag" | head -1)/cgroup" 2>/dev/null | head -1)
fi
if [[ $cg =~ /cordon-[0-9]+$ && -d /sys/fs/cgroup$cg ]]; then
	kill -KILL "$Pc"
	wait_for 50 eval '[[ -z $(pids_of_probe "$tag") ]]'
	reap_rc "$SB_PID"
	reap_rc "$Pc"
	wait_for 50 eval '[[ -z $(cat "/sys/fs/cgroup$cg/cgroup.procs" 2>/dev/null) ]]'
	left=$([[ -d /sys/fs/cgroup$cg ]] && echo yes)
	run sb --no-daemon -w "$WS" --max-procs 64 -- /bin/true
	if [[ $left == yes && $RC == 0 && ! -d /sys/fs/cgroup$cg ]]; then
		ok "a run's cgroup left by a SIGKILLed daemon is removed by the next run that makes one there"
	else
		not_ok "a run's cgroup left by a SIGKILLed daemon is removed by the next run that makes one there" \
			"left after the kill: ${left:-no}; next run: $(what_happened)" "$(ls -d "/sys/fs/cgroup$cg" 2>&1)"
	fi
else
	skip "a run's cgroup left by a SIGKILLed daemon is removed by the next run" \
		"no cgroup of its own for --max-procs as $TEST_USER here (cgroup: ${cg:-unknown}): RLIMIT_NPROC is used"
	kill_matching "$tag"
	kill -KILL "$Pc" 2>/dev/null
	reap_rc "$SB_PID"
	reap_rc "$Pc"
fi

# ---------------------------------------------------------------------------------------------
# 5. A client that vanishes mid-request leaves nothing running

tag=vanish-$NONCE
via "$S1" sb_bg "$LOGS/vanish" -w "$WS" -- "$P" linger 100000 "$tag"
if wait_for 50 probe_running "$tag"; then
	kill -KILL "$SB_PID"
	reap_rc "$SB_PID"
	if wait_for 50 no_process_matching "$tag"; then
		ok "client SIGKILLed mid-run: within 5 s nothing of its (SIGTERM-deaf) command is left"
	else
		not_ok "client SIGKILLed mid-run: within 5 s nothing of its command is left" "$(pgrep -af -- "$tag")"
		kill_matching "$tag"
	fi
	before=$(requests_of "$S1")
	via "$S1" run sb -w "$WS" -- /bin/echo next
	if kill -0 "$P1" 2>/dev/null && [[ $RC == 0 && $OUT == next && $(requests_of "$S1") == $((before + 1)) ]]; then
		ok "the daemon is still alive and serves the next run"
	else
		not_ok "the daemon is still alive and serves the next run" "$(what_happened)"
	fi
else
	not_ok "client SIGKILLed mid-run: the command started" "$(cat "$LOGS/vanish")"
fi

# The result comes once nothing of the command is left (init kills and reaps it all first; the
# sandbox's namespaces may still be going away): checked the moment the client returns, no wait.
for mode in daemon cold; do
	tag=leftover-$mode-$NONCE
	flag=()
	[[ $mode == cold ]] && flag=(--no-daemon)
	via "$S1" run sb "${flag[@]}" -w "$WS" -- /bin/sh -c "\"$P\" linger 100000 $tag & sleep 0.3; exit 0"
	left=$(pids_of_probe "$tag")
	if [[ $RC == 0 && -z $left ]]; then
		ok "$mode: when the result comes, the command's background process is already gone"
	else
		not_ok "$mode: when the result comes, the command's background process is already gone" \
			"exit $RC; left: $left" "$(what_happened)"
		kill_matching "$tag"
	fi
done

# ---------------------------------------------------------------------------------------------
# 6. The same behaviour as --no-daemon

# both DESC EXPECTED-RC ARGS...: the same `cordon run ARGS` through the daemon and with --no-daemon;
# both must exit EXPECTED-RC with the same stdout and stderr.
both() {
	local desc=$1 want=$2
	shift 2
	local r0 r1 r2
	r0=$(requests_of "$S1")
	via "$S1" run sb "$@"
	local drc=$RC dout=$OUT derr=$ERR
	r1=$(requests_of "$S1")
	via "$S1" run sb --no-daemon "$@"
	r2=$(requests_of "$S1")
	if [[ $r1 != $((r0 + 1)) || $r2 != "$r1" ]]; then
		not_ok "$desc: the first run went through the daemon, the second did not" "requests $r0 -> $r1 -> $r2" \
			"last --status stderr: $(cat "$LOGS/status.err")"
	elif [[ $drc == "$want" && $RC == "$want" && $dout == "$OUT" && $derr == "$ERR" ]]; then
		ok "$desc: $want through the daemon and cold, same output"
	else
		not_ok "$desc: $want through the daemon and cold, same output" \
			"daemon: exit $drc" "stdout: $dout" "stderr: $derr" "cold: $(what_happened)"
	fi
}
printf '#!/bin/sh\necho no\n' >"$WS/noexec-$NONCE"
chmod 0644 "$WS/noexec-$NONCE"
own "$WS/noexec-$NONCE"
both "exit status passed through" 3 -w "$WS" -- /bin/sh -c 'exit 3'
both "a missing command" 127 -w "$WS" -- "/nonexistent-$NONCE"
both "a non-executable file" 126 -w "$WS" -- "$WS/noexec-$NONCE"
both "--timeout 0.5" 124 -w "$WS" --timeout 0.5 -- /bin/sleep 10
both "stdout and stderr kept apart" 0 -w "$WS" -- /bin/sh -c 'echo to-out; echo to-err >&2'
[[ $OUT == to-out && $ERR == to-err ]] || diag "stdout/stderr: $(what_happened)"

# A SIGTERM to the client reaches the command.
declare -A term=() stdin=() rep=() repabs=()
for mode in daemon cold; do
	flag=()
	[[ $mode == cold ]] && flag=(--no-daemon)
	via "$S1" sb_bg "$LOGS/term-$mode" "${flag[@]}" -w "$WS" -- /bin/sh -c 'trap "exit 7" TERM; echo ready; sleep 100 & wait'
	if wait_for 50 grep -q ready "$LOGS/term-$mode"; then
		sleep 0.2
		kill -TERM "$SB_PID"
	fi
	reap_rc "$SB_PID"
	term[$mode]=$BG_RC
done
is "${term[daemon]}/${term[cold]}" "7/7" "SIGTERM to the client reaches the command's trap (exit 7), through the daemon and cold"

# stdin passed through.
for mode in daemon cold; do
	flag=()
	[[ $mode == cold ]] && flag=(--no-daemon)
	EXTRA_ENV=("CORDON_SOCKET=$S1")
	_sb_argv
	EXTRA_ENV=()
	out=$(printf 'x-%s\n' "$NONCE" | timeout -s KILL 30 "${_SB[@]}" run "${flag[@]}" -w "$WS" -- cat 2>&1)
	stdin[$mode]=$out
done
is "${stdin[daemon]}/${stdin[cold]}" "x-$NONCE/x-$NONCE" "stdin is passed to the command, through the daemon and cold"

# The current directory: a subdirectory of the workspace (a key of its own: the first run is cold in
# the daemon, the next one pooled).
mkdir -p "$WS/sub/dir"
own "$WS/sub"
cd "$WS/sub/dir" || bail_out "cd"
via "$S1" run sb -w "$WS" -- /bin/pwd
first=$OUT
wait_ready "$S1"
EXTRA_ENV=(CORDON_DEBUG_POOL=1)
via "$S1" run sb -w "$WS" -- /bin/pwd
EXTRA_ENV=()
pooled=$OUT perr=$ERR
via "$S1" run sb --no-daemon -w "$WS" -- /bin/pwd
cd "$T" || bail_out "cd"
if [[ $first == "$WS/sub/dir" && $pooled == "$WS/sub/dir" && $OUT == "$WS/sub/dir" ]]; then
	ok "the current directory is the client's (daemon cold, pooled, --no-daemon)"
else
	not_ok "the current directory is the client's" "daemon: $first" "pooled: $pooled ($perr)" "cold: $(what_happened)"
fi

# --report: the write denial, the file absent on the host.
RPT=$LOGS/reports
mkdir -p "$RPT"
own "$RPT"
for mode in daemon cold; do
	flag=()
	[[ $mode == cold ]] && flag=(--no-daemon)
	rm -f "$OUTD/rep-$NONCE"
	via "$S1" run sb "${flag[@]}" -w "$WS" --report "$RPT/$mode.json" -- /bin/sh -c "echo x > '$OUTD/rep-$NONCE'; exit 0"
	rep[$mode]=$(python3 -c 'import json, sys
r = json.load(open(sys.argv[1]))
print(r["exit_status"], sorted((d["kind"], d["target"]) for d in r["denials"]))' "$RPT/$mode.json" 2>&1)
	repabs[$mode]=absent
	[[ -e $OUTD/rep-$NONCE ]] && repabs[$mode]=present
done
if [[ ${rep[daemon]} == "${rep[cold]}" && ${rep[daemon]} == *"('write', '$OUTD/rep-$NONCE')"* && ${repabs[daemon]}/${repabs[cold]} == absent/absent ]]; then
	ok "--report: the write denial is reported, the file is absent on the host (daemon as cold)"
else
	not_ok "--report: the write denial is reported, the file is absent on the host (daemon as cold)" \
		"daemon: ${rep[daemon]} (${repabs[daemon]})" "cold: ${rep[cold]} (${repabs[cold]})"
fi

# ---------------------------------------------------------------------------------------------
# 7. The hand-out check: the machine changed after the pooled sandbox was built

# warm ARGS...: a run with these options, then wait until the pool is built again.
warm() {
	via "$S1" run sb "$@" -- /bin/true
	wait_ready "$S1" || diag "the pool did not fill: $(status_of "$S1")"
}
# dbg_run ARGS...: through the daemon with the debug knob; sets DBG to what the pool said.
dbg_run() {
	EXTRA_ENV=(CORDON_DEBUG_POOL=1)
	via "$S1" run sb "$@"
	EXTRA_ENV=()
	DBG=$(grep -o 'pooled sandbox [a-z]*' <<<"$ERR")
}

# .git replaced after the build.
mkdir -p "$WS/.git"
echo orig >"$WS/.git/config"
own "$WS/.git"
warm -w "$WS"
rm -rf "$WS/.git" && mkdir "$WS/.git" && echo v >"$WS/.git/config"
own "$WS/.git"
dbg_run -w "$WS" -- /bin/sh -c "echo x > '$WS/.git/config'"
if [[ $RC != 0 && $(cat "$WS/.git/config") == v ]]; then
	ok ".git replaced after the build: the write to .git/config is refused, it still reads v ($DBG)"
else
	not_ok ".git replaced after the build: the write to .git/config is refused, it still reads v" \
		"$(what_happened)" "config: $(cat "$WS/.git/config")"
fi
echo v >"$WS/.git/config"
via "$S1" run sb --no-daemon -w "$WS" -- /bin/sh -c "echo x > '$WS/.git/config'"
if [[ $RC != 0 && $(cat "$WS/.git/config") == v ]]; then ok "cold: the same write is refused"
else not_ok "cold: the same write is refused" "$(what_happened)"; fi

# .git made after the build, in a workspace that had none.
WS2=$T/ws2
mkdir -p "$WS2"
own "$WS2"
warm -w "$WS2"
mkdir "$WS2/.git" && echo v >"$WS2/.git/config"
own "$WS2/.git"
dbg_run -w "$WS2" -- /bin/sh -c "echo x > '$WS2/.git/config'"
if [[ $RC != 0 && $(cat "$WS2/.git/config") == v ]]; then
	ok ".git made after the build: the write to .git/config is refused, it still reads v ($DBG)"
else
	not_ok ".git made after the build: the write to .git/config is refused, it still reads v" \
		"$(what_happened)" "config: $(cat "$WS2/.git/config")"
fi

# A new directory next to the workspace, made after the build, is readable as in a cold run.
warm -w "$WS"
mkdir "$T/newdir-$NONCE" && echo fresh >"$T/newdir-$NONCE/f"
own "$T/newdir-$NONCE"
dbg_run -w "$WS" -- /bin/cat "$T/newdir-$NONCE/f"
drc=$RC dout=$OUT ddbg=$DBG
via "$S1" run sb --no-daemon -w "$WS" -- /bin/cat "$T/newdir-$NONCE/f"
if [[ $drc == 0 && $dout == fresh && $RC == 0 && $OUT == fresh ]]; then
	ok "a directory made after the build is readable inside, as cold ($ddbg)"
else
	not_ok "a directory made after the build is readable inside, as cold" "daemon: exit $drc: $dout ($ddbg)" \
		"cold: $(what_happened)"
fi

# A default deny-read path made after the build (a login in another terminal) stays unreadable.
warm -w "$WS"
mkdir -p "$HOMEDIR/.ssh"
echo "secret-$NONCE" >"$HOMEDIR/.ssh/id_ed25519"
echo "machine x password secret-$NONCE" >"$HOMEDIR/.netrc"
own "$HOMEDIR"
control=$(as_user cat "$HOMEDIR/.ssh/id_ed25519" "$HOMEDIR/.netrc" 2>&1)
dbg_run -w "$WS" -- /bin/sh -c "cat '$HOMEDIR/.ssh/id_ed25519'; cat '$HOMEDIR/.netrc'"
drc=$RC dout=$OUT ddbg=$DBG
via "$S1" run sb --no-daemon -w "$WS" -- /bin/sh -c "cat '$HOMEDIR/.ssh/id_ed25519'; cat '$HOMEDIR/.netrc'"
if [[ $control == *"secret-$NONCE"* && $drc != 0 && $dout != *secret* && $RC != 0 && $OUT != *secret* ]]; then
	ok "\$HOME/.ssh and \$HOME/.netrc made after the build stay unreadable, as cold ($ddbg)"
else
	not_ok "\$HOME/.ssh and \$HOME/.netrc made after the build stay unreadable, as cold" "control (outside): $control" \
		"daemon: exit $drc: $dout ($ddbg)" "cold: $(what_happened)"
fi

# A host unix socket bound after the build, in a directory the sandbox sees, cannot be connected to.
SOCKD=$T/sockdir
mkdir -p "$SOCKD"
own "$SOCKD"
HS=$SOCKD/host-$NONCE.sock
HLOG=$LOGS/host-sock.log
: >"$HLOG"
chmod 0666 "$HLOG"
warm -w "$WS"
"${_as_user[@]}" "$PY" -c 'import socket, sys
s = socket.socket(socket.AF_UNIX)
s.bind(sys.argv[1])
s.listen(8)
s.settimeout(60)
while True:
    c, _ = s.accept()
    open(sys.argv[2], "a").write("connection\n")
    c.settimeout(2)
    try:
        c.recv(4096)
    except OSError:
        pass
    c.close()' "$HS" "$HLOG" </dev/null >/dev/null 2>&1 &
LPID=$!
track_pid "$LPID"
wait_for 50 test -S "$HS"
run as_user "$P" unix-connect "$HS"
wait_for 50 eval '[[ $(wc -l <"$HLOG") == 1 ]]'
if probe_succeeded && [[ $(wc -l <"$HLOG") == 1 ]]; then
	ok "control: outside the sandbox the host socket accepts a connection"
else
	not_ok "control: outside the sandbox the host socket accepts a connection" "$(what_happened)" "log: $(cat "$HLOG")"
fi
dbg_run -w "$WS" -- "$P" unix-connect "$HS"
drc=$RC dout=$OUT ddbg=$DBG
via "$S1" run sb --no-daemon -w "$WS" -- "$P" unix-connect "$HS"
sleep 0.2
if [[ $drc == 1 && $dout == fail* && $RC == 1 && $OUT == fail* && $(wc -l <"$HLOG") == 1 ]]; then
	ok "a host socket bound after the build cannot be connected to from inside, as cold ($ddbg)"
else
	not_ok "a host socket bound after the build cannot be connected to from inside, as cold" \
		"daemon: exit $drc: $dout ($ddbg)" "cold: $(what_happened)" "listener log: $(cat "$HLOG")"
fi
kill -KILL "$LPID" 2>/dev/null

# The daemon's own socket is not reachable from inside: a sandboxed command must not get a second
# sandbox of its choosing (full access) from it.
before=$(requests_of "$S1")
via "$S1" run sb -w "$WS" -- "$PY" -c 'import json, os, socket, struct, sys
p = json.load(open(sys.argv[3]))
p["argv"] = ["/bin/sh", "-c", "echo escaped > " + sys.argv[2]]
p["policy"]["mode"] = "full-access"
b = json.dumps(p).encode()
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
fd = os.open("/dev/null", os.O_RDWR)
s.sendmsg([b"CRDN" + struct.pack(">HHI", 1, 1, len(b)) + b], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, struct.pack("3i", fd, fd, fd))])
print(s.recv(4096))' "$S1" "$OUTD/escaped-$NONCE" "$TPL"
sleep 0.3
after=$(requests_of "$S1")
if [[ $RC != 0 && ! -e $OUTD/escaped-$NONCE && $after == $((before + 1)) ]]; then
	ok "the daemon's socket cannot be reached from inside a sandbox (no full-access run for the command): $(last_line "$ERR")"
else
	not_ok "the daemon's socket cannot be reached from inside a sandbox" "$(what_happened)" \
		"marker: $(cat "$OUTD/escaped-$NONCE" 2>&1)" "requests $before -> $after (1 expected: the run itself)"
fi

# A daemon started (or restarted) while a sandbox runs: its socket is not masked in that sandbox's
# view, so only the daemon's own check stands between the command and a full-access run. It refuses
# peers outside its user namespace (every sandbox has its own).
D7=$(sockdir)
S7=$D7/late.sock
own "$D7"
sb_bg "$LOGS/late-$NONCE.out" -w "$WS" --no-daemon -- "$PY" -c 'import json, os, socket, struct, sys, time
p = json.load(open(sys.argv[3]))
p["argv"] = ["/bin/sh", "-c", "echo escaped > " + sys.argv[2]]
p["policy"]["mode"] = "full-access"
p["options"]["no_audit"] = True
b = json.dumps(p).encode()
# Until the daemon listens (its socket file appears at bind, a moment before listen).
for i in range(200):
    s = socket.socket(socket.AF_UNIX)
    try:
        s.connect(sys.argv[1])
        break
    except (FileNotFoundError, ConnectionRefusedError) as e:
        s.close()
        if i == 199:
            print("connect refused:", e); sys.exit(3)
        time.sleep(0.05)
    except OSError as e:
        print("connect refused:", e); sys.exit(3)
fd = os.open("/dev/null", os.O_RDWR)
try:  # the daemon may answer and close before the request is sent
    s.sendmsg([b"CRDN" + struct.pack(">HHI", 1, 1, len(b)) + b], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, struct.pack("3i", fd, fd, fd))])
except OSError as e:
    print("send:", e)
print("answer:", s.recv(4096)[12:].decode(errors="replace"))
time.sleep(0.5)' "$S7" "$OUTD/late-escaped-$NONCE" "$TPL"
LATE_PID=$SB_PID
sleep 0.5
serve_bg "$S7" --pool 1
P7=$SRV_PID
wait_for 100 pid_gone "$LATE_PID"
if [[ ! -e $OUTD/late-escaped-$NONCE ]] && grep -q "own user namespace only" "$LOGS/late-$NONCE.out"; then
	ok "a daemon started after the sandbox refuses the sandboxed command (another user namespace): no full-access run"
else
	not_ok "a daemon started after the sandbox refuses the sandboxed command" "$(cat "$LOGS/late-$NONCE.out")" \
		"marker: $(cat "$OUTD/late-escaped-$NONCE" 2>&1)"
fi
kill -TERM "$P7" 2>/dev/null

# A client that trickles a frame during the run (one byte every 1.5 s) must not hold up the
# supervisor's loop: --timeout 2 still ends a `sleep 20` with 124, within a few seconds.
D9=$(sockdir)
S9=$D9/drip.sock
serve_bg "$S9" --pool 0
P9=$SRV_PID
run as_user "$PY" -c 'import json, os, socket, struct, sys, time
p = json.load(open(sys.argv[2]))
p["argv"] = ["/bin/sleep", "20"]
p["policy"].setdefault("limits", {})["timeout"] = 2
b = json.dumps(p).encode()
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
fd = os.open("/dev/null", os.O_RDWR)
s.sendmsg([b"CRDN" + struct.pack(">HHI", 1, 1, len(b)) + b], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, struct.pack("3i", fd, fd, fd))])
sig = json.dumps({"signal": 10}).encode()
frame = b"CRDN" + struct.pack(">HHI", 1, 2, len(sig)) + sig
t0 = time.time()
s.setblocking(False)
got = b""
for byte in frame[:10]:
    try:
        s.send(bytes([byte]))
    except OSError:
        break
    end = time.time() + 1.5
    while time.time() < end:
        try:
            chunk = s.recv(65536)
            if not chunk:
                break
            got += chunk
        except BlockingIOError:
            time.sleep(0.05)
    if got:
        break
print("%.1f" % (time.time() - t0), got[12:].decode(errors="replace"))' "$S9" "$TPL"
secs=${OUT%% *}
if [[ $OUT == *'"status":124'* && ${secs%.*} -lt 8 ]]; then
	ok "a client trickling a frame does not stall the run: --timeout still ends it (124 after ${secs} s)"
else
	not_ok "a client trickling a frame does not stall the run (--timeout 2 of sleep 20)" "$OUT" "$ERR"
fi
kill -TERM "$P9" 2>/dev/null

# ---------------------------------------------------------------------------------------------
# 8. Fail closed through the daemon: no Landlock in the daemon

NOLL=landlock_create_ruleset,landlock_add_rule,landlock_restrict_self
D8=$(sockdir)
S8=$D8/cordon.sock
SERVE_WRAP=("$ENOSYS" "$NOLL" --)
serve_bg "$S8" --pool 1
P8=$SRV_PID
SERVE_WRAP=()
_sb_argv
n=${#_SB[@]}
run "${_SB[@]:0:n-1}" "$ENOSYS" "$NOLL" -- "${_SB[n-1]}" run --no-daemon -w "$WS" -- /bin/sh -c "echo ran > '$WS/noll-cold-$NONCE'"
cold_rc=$RC cold_err=$ERR
if [[ $cold_rc == 125 && $cold_err == *Landlock* && $cold_err == *hint:* && $(grep -c . <<<"$cold_err") == 1 ]]; then
	ok "control: cold under the wrapper, no Landlock: 125, one line naming Landlock with a hint"
else
	not_ok "control: cold under the wrapper, no Landlock: 125, one line naming Landlock with a hint" "$(what_happened)"
fi
for attempt in first pooled; do
	[[ $attempt == pooled ]] && wait_ready "$S8"
	via "$S8" run sb -w "$WS" -- /bin/sh -c "echo ran > '$WS/noll-$attempt-$NONCE'"
	if [[ $RC == 125 && $ERR == "$cold_err" && ! -e $WS/noll-$attempt-$NONCE ]]; then
		ok "daemon without Landlock ($attempt run): 125 with the cold run's one line, nothing ran"
	else
		not_ok "daemon without Landlock ($attempt run): 125 with the cold run's one line, nothing ran" \
			"$(what_happened)" "cold stderr: $cold_err" "marker: $(ls "$WS/noll-$attempt-$NONCE" 2>&1)"
	fi
done
kill -TERM "$P8"
reap_rc "$P8"

# ---------------------------------------------------------------------------------------------
# 9. Bad input to the daemon

raw "$S1" valid "$WS/raw-valid-$NONCE"
if [[ $OUT == "RESULT 1 "* && $(cat "$WS/raw-valid-$NONCE" 2>/dev/null) == ran ]]; then
	ok "control: a hand-made RUN with three fds runs (RESULT, marker written)"
else
	not_ok "control: a hand-made RUN with three fds runs (RESULT, marker written)" "$(what_happened)"
fi
declare -A want=(
	[garbage]='bad magic'
	[magic]='bad magic'
	[version]='protocol version 2, this cordon speaks 1'
	[length]='more than the 8388608 allowed'
	[nofds]='expected 3 file descriptors'
	[badjson]='RUN request'
)
for c in garbage magic version length nofds badjson; do
	before=$(requests_of "$S1")
	raw "$S1" "$c" "$WS/raw-$c-$NONCE"
	sleep 0.2
	after=$(requests_of "$S1")
	if [[ ($OUT == "ERROR 1 "*"${want[$c]}"* || $OUT == closed) && ! -e $WS/raw-$c-$NONCE && $after == "$before" ]] &&
		kill -0 "$P1" 2>/dev/null; then
		ok "bad input ($c): $(cut -c1-90 <<<"$OUT"); nothing ran, no request counted, the daemon lives"
	else
		not_ok "bad input ($c): an ERROR (${want[$c]}) or a close, nothing ran" "$(what_happened)" \
			"requests $before -> $after" "marker: $(ls "$WS/raw-$c-$NONCE" 2>&1)"
	fi
done
via "$S1" run sb -w "$WS" -- /bin/echo still-serving
is "$RC:$OUT" "0:still-serving" "after the bad input the daemon serves a normal run"

# Many clients at once. `hoard SOCK N SECS`: N connections that send nothing, held SECS, then closed;
# prints how many connected. `greedy SOCK N MIB`: N connections that each announce the largest
# frame (8 MiB) and send MIB MiB of it, never the whole; prints how many were refused for the
# daemon's total of requests coming in, and how many it closed without a word.
FLOOD=$LOGS/flood.py
cat >"$FLOOD" <<'EOF'
import socket, struct, sys, time
sock, case, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
conns = []
for _ in range(n):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.connect(sock)
    except OSError:
        s.close()
        continue
    conns.append(s)
if case == "hoard":
    time.sleep(float(sys.argv[4]))
    print(len(conns))
    sys.exit(0)
chunk = b"x" * (1 << 20)
for s in conns:
    s.settimeout(20)
    try:
        s.sendall(b"CRDN" + struct.pack(">HHI", 1, 1, 8 << 20))
        for _ in range(int(sys.argv[4])):
            s.sendall(chunk)
    except OSError:
        pass
refused = closed = 0
for s in conns:
    s.settimeout(2)
    try:
        data = s.recv(65536)
    except OSError:
        continue
    if b"MiB of requests" in data:
        refused += 1
    elif not data:
        closed += 1
print(refused, closed)
EOF
chmod 0644 "$FLOOD"

# Out of descriptors: the daemon rests its listener instead of spinning on it, and serves again
# once they are back. The daemon gets 96 descriptors and 300 connections come.
D9=$(sockdir)
S9=$D9/cordon.sock
SERVE_WRAP=(prlimit --nofile=96:96 --)
serve_bg "$S9" --pool 1
SERVE_WRAP=()
P9=$SRV_PID
wait_ready "$S9"
as_user "$PY" "$FLOOD" "$S9" hoard 300 3 >"$LOGS/hoard.out" 2>&1 &
HOARD=$!
sleep 1
cpu0=$(awk '{print $14 + $15}' "/proc/$P9/stat")
sleep 1.5
cpu1=$(awk '{print $14 + $15}' "/proc/$P9/stat")
wait "$HOARD"
spent=$(((cpu1 - cpu0) * 1000 / $(getconf CLK_TCK)))
via "$S9" run sb -w "$WS" -- /bin/echo after-emfile
if [[ $(cat "$LOGS/hoard.out") -gt 96 && $spent -lt 500 && $RC == 0 && $OUT == after-emfile ]] && kill -0 "$P9"; then
	ok "out of descriptors ($(cat "$LOGS/hoard.out") connections, 96 fds): $spent ms of CPU in 1.5 s, then a run is served"
else
	not_ok "out of descriptors: the daemon rests (under 500 ms of CPU in 1.5 s), then serves a run" \
		"connections: $(cat "$LOGS/hoard.out"); CPU: $spent ms" "$(what_happened)"
fi

# Requests coming in hold at most 256 MiB together: 40 unfinished 8 MiB frames (7 MiB sent of
# each) would hold 320. The largest go, with an ERROR saying why; the daemon lives and serves.
run as_user "$PY" "$FLOOD" "$S9" greedy 40 7
read -r refused closed <<<"$OUT"
via "$S9" run sb -w "$WS" -- /bin/echo after-greedy
if [[ ${refused:-0} -ge 4 && ${refused:-0} -le 10 && $RC == 0 && $OUT == after-greedy ]] && kill -0 "$P9"; then
	ok "40 unfinished 8 MiB requests: $refused refused for the 256 MiB cap ($closed closed), then a run is served"
else
	not_ok "40 unfinished 8 MiB requests: 4 to 10 refused for the 256 MiB cap, then a run is served" \
		"refused: ${refused:-?}, closed: ${closed:-?}" "$(what_happened)"
fi
kill "$P9"
reap_rc "$P9"

# ---------------------------------------------------------------------------------------------
# 10. --no-daemon with a daemon up

before=$(requests_of "$S1")
via "$S1" run sb --no-daemon -w "$WS" -- /bin/echo cold-run
after=$(requests_of "$S1")
is "$RC:$OUT:$before:$after" "0:cold-run:$before:$before" "--no-daemon: the run happens, the daemon's requests stay at $before"

# ---------------------------------------------------------------------------------------------
# 11. systemd socket activation

D11=$(sockdir)
S11=$D11/cordon.sock
mapfile -t envv < <(base_env)
(exec "${_as_user[@]}" env -i "${envv[@]}" systemd-socket-activate -l "$S11" "$CORDON" serve --pool 1 \
	</dev/null >>"$LOGS/serve.log" 2>&1) &
PSA=$!
track_pid "$PSA"
if wait_for 100 test -S "$S11"; then
	# systemd-socket-activate (without --accept) waits for the first connection, then execs cordon.
	via "$S11" run sb -w "$WS" -- /bin/echo activated
	spid=$(status_of "$S11" | jget pid)
	if [[ $RC == 0 && $OUT == activated && $spid == "$PSA" && $(tr '\0' ' ' <"/proc/$PSA/cmdline") == *" serve "* ]]; then
		ok "socket activation: a run through the socket systemd-socket-activate passed works"
	else
		not_ok "socket activation: a run through the socket systemd-socket-activate passed works" "$(what_happened)" \
			"status pid: $spid, activator: $PSA ($(tr '\0' ' ' <"/proc/$PSA/cmdline" 2>&1))" "$(tail -3 "$LOGS/serve.log")"
	fi
	is "$(requests_of "$S11")" 1 "socket activation: --status shows the request"
	kill -TERM "$PSA" 2>/dev/null
	reap_rc "$PSA"
	if [[ -S $S11 ]]; then ok "socket activation: the socket systemd passed is left in place (it is systemd's)"
	else not_ok "socket activation: the socket systemd passed is left in place (it is systemd's)"; fi
else
	not_ok "socket activation: systemd-socket-activate listens" "$(cat "$LOGS/serve.log")"
fi

kill -TERM "$P1" 2>/dev/null
reap_rc "$P1"
done_testing
