#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Issue 4: the audit log and structured denials. Each record type and each denial kind is provoked
# from inside and read from outside (the log, the report, stderr); the log survives the command's
# attempts to tamper with it (also when it lies inside the workspace, and in full-access mode); the
# report is valid JSON when the command is killed or times out; a burst of 10,000 file creations is
# recorded without loss.
# shellcheck source=../lib.sh
. "$(dirname "$0")/../lib.sh"

mk_scratch
LOGDIR=$AUDIT_STATE/cordon/audit
printf 'victim\n' >"$OUTD/victim"
mkdir -p "$HOMEDIR/.ssh"
printf 'SECRET-%s\n' "$NONCE" >"$HOMEDIR/.ssh/id_ed25519"
own "$OUTD" "$HOMEDIR"

# q PY-EXPR: evaluates PY-EXPR over the records of the newest run (`recs`, a list of dicts) and
# prints the result; `allrecs` holds every record of every run, `bad` the lines that did not parse.
q() {
	python3 - "$LOGDIR" "$1" <<'PY'
import glob, json, sys
allrecs, bad = [], []
for f in sorted(glob.glob(sys.argv[1] + "/*.jsonl")):
    for line in open(f, encoding="ascii"):
        try:
            allrecs.append(json.loads(line))
        except ValueError:
            bad.append(line)
starts = [r for r in allrecs if r.get("type") == "start"]
sess = starts[-1]["session"] if starts else None
recs = [r for r in allrecs if r.get("session") == sess]
print(eval(sys.argv[2]))
PY
}
sessions() { q 'len([r for r in allrecs if r["type"] == "start"])'; }

# ---- start and end
run sb -w "$WS" -- sh -c 'exit 3'
is "$RC" 3 "the command's status comes through"
is "$(q 'recs[0]["type"], recs[-1]["type"], len(recs)')" "('start', 'end', 2)" "a quiet run: one start, one end"
is "$(q 'recs[0]["argv"], recs[0]["cwd"], recs[0]["uid"], recs[0]["schema"]')" \
	"(['sh', '-c', 'exit 3'], '$WS', $TEST_UID, 1)" "start: argv, cwd, uid, schema"
is "$(q 'recs[0]["policy"]["mode"], recs[0]["policy"]["network"], "seccomp-notify-observer" in recs[0]["layers"]')" \
	"('workspace-write', 'off', True)" "start: the policy in force and the observer among the layers"
is "$(q 'recs[-1]["exit_status"], recs[-1]["signal"], recs[-1]["wall_ms"] >= 0, recs[-1]["peak_memory"] > 0')" \
	"(3, 0, True, True)" "end: exit status, signal, wall time, peak memory"
is "$(q 'len({r["session"] for r in recs}), len(recs[0]["session"]) >= 16, bad')" "(1, True, [])" \
	"one session id per run, every line parses"

run sb -w "$WS" -- sh -c 'kill -KILL $$'
is "$RC" 137 "killed by SIGKILL: 137"
is "$(q 'recs[-1]["type"], recs[-1]["exit_status"], recs[-1]["signal"]')" "('end', 137, 9)" "end: the signal"

# ---- file changes under the workspace
printf 'old\n' >"$WS/mod"
printf 'old\n' >"$WS/del"
printf 'old\n' >"$WS/ren"
printf 'old\n' >"$WS/same"
printf 'old\n' >"$WS/saved"
printf 'old\n' >"$WS/over"
own "$WS"
run sb -w "$WS" -- sh -c 'echo new >>mod; rm del; mv ren ren2; echo x >new; cat same >/dev/null; : >>same2; rm same2;
	mkdir d; echo y >/tmp/private; echo new >saved.tmp; mv saved.tmp saved; mv over mod2'
is "$RC" 0 "file changes: the command ran"
is "$(q 'sorted((r["change"], r["path"], r.get("from")) for r in recs if r["type"] == "file")')" \
	"[('created', '$WS/d', None), ('created', '$WS/new', None), ('deleted', '$WS/del', None), ('modified', '$WS/mod', None), ('modified', '$WS/saved', None), ('renamed', '$WS/mod2', '$WS/over'), ('renamed', '$WS/ren2', '$WS/ren')]" \
	"file records: created, modified, deleted, renamed; nothing for reads, for a file made and removed, or for the private /tmp"

# Many renames in one run (the observer's table of paths grows under them), then a clean end.
mkdir -p "$WS/ren-many" && printf 'x\n' >"$WS/ren-many/src" && own "$WS/ren-many"
run sb -w "$WS" -- python3 -c "
import os
os.chdir('ren-many')
for i in range(3000):
    os.rename('src', 't%d' % i); os.rename('t%d' % i, 'src')
os.rename('src', 'dst')
"
is "$RC $(q 'recs[-1]["type"]')" "0 end" "3,000 renames: the run ends normally, on record"
is "$(q '[(r["change"], r["path"], r.get("from")) for r in recs if r["type"] == "file"]')" \
	"[('renamed', '$WS/ren-many/dst', '$WS/ren-many/src')]" "3,000 renames: the net change is one rename"

# Writing through /dev/stdout, and through a symlink in a read-only place into the workspace, works
# as it does without the observer, with no denial.
ln -sfn "$WS/through-link" "$OUTD/link"
run sb -w "$WS" -- sh -c "(echo hi >/dev/stdout) | cat; echo x >'$OUTD/link'"
is "$RC $OUT $(cat "$WS/through-link" 2>&1)" "0 hi x" "/dev/stdout and a symlink into the workspace: written"
is "$(q '[r["target"] for r in recs if r["type"] == "denial"]')" "[]" "... and no denial recorded"
rm -f "$OUTD/link"

# connect() to 0.0.0.0 is loopback on Linux: refused by nobody listening, not by the policy.
run sb -w "$WS" -- python3 -c "
import socket
s = socket.socket()
try:
    s.connect(('0.0.0.0', 9))
except OSError as e:
    print(e.errno)
"
is "$OUT $(q '[r["target"] for r in recs if r["type"] == "denial"]')" "111 []" "connect to 0.0.0.0: ECONNREFUSED, no denial"

# Bytes that are not UTF-8, and a name built to forge a line on the terminal: on record, escaped.
run sb -w "$WS" -- touch $'/etc/bad\xffname' $'/etc/x\ncordon: all clear\e[0m'
is "$(q '[r["target"] for r in recs if r["type"] == "denial"] == ["/etc/bad\\xffname", "/etc/x\ncordon: all clear\x1b[0m"]')" \
	True "names that are not UTF-8 or hold control characters: recorded (\\xff as text)"
unlike "$ERR" $'\ncordon: all clear' "a forged line on stderr: the newline is escaped"
unlike "$ERR" $'\e' "no escape character reaches the terminal"
is "$(q 'recs[0]["argv"][1]')" '/etc/bad\xffname' "start: an argv that is not UTF-8 is on record"

# ---- denials, one kind at a time: the log, the stderr line, and the effect outside
before=$(tree_state "$OUTD")
run sb -w "$WS" -- sh -c "echo forged >>'$OUTD/victim'"
is "$(tree_state "$OUTD")" "$before" "write outside: the file is unchanged on the host"
like "$ERR" "cordon: denied write $OUTD/victim: outside writable roots" "write outside: one line on stderr"
is "$(q '[(r["kind"], r["target"], r["rule"]) for r in recs if r["type"] == "denial"]')" \
	"[('write', '$OUTD/victim', 'outside writable roots')]" "write outside: the denial record"

# The observer answers as the kernel would: EEXIST before EROFS, EXDEV for a rename across mounts.
printf 'x\n' >"$WS/xdev" && own "$WS/xdev"
errnos() {
	run sb -w "$WS" "$@" -- python3 -c "
import errno, os
for f in (lambda: os.mkdir('/usr'), lambda: os.rename('$WS/xdev', '/usr/xdev'), lambda: os.unlink('/usr/no-such'),
          lambda: os.open('/etc/hostname', os.O_CREAT | os.O_EXCL | os.O_WRONLY), lambda: os.open('/etc/hostname', os.O_RDONLY | os.O_CREAT),
          lambda: os.open('/etc/shadow', os.O_WRONLY | os.O_APPEND)):
    try:
        f(); print('ok', end=' ')
    except OSError as e:
        print(errno.errorcode[e.errno], end=' ')
"
}
errnos --no-audit
want=$OUT
like "$want" "^EEXIST EXDEV EROFS EEXIST ok E(ACCES|ROFS) $" "control: the kernel's own answers (--no-audit)"
errnos
is "$OUT" "$want" "the observer answers as the kernel does"
# /etc/shadow: root may write it (the read-only mount refuses: a denial); another user may not anyway.
shadow=""
[[ $TEST_USER == root ]] && shadow=", ('write', '/etc/shadow')"
is "$(q '[(r["kind"], r["target"]) for r in recs if r["type"] == "denial"]')" "[('write', '/usr/no-such')$shadow]" \
	"only the calls the read-only mount refused are denials"

run sb -w "$WS" -- mkdir "$WS/.git"
is "$([[ -e $WS/.git ]] && echo present || echo absent)" absent "protected name: not created"
is "$(q '[(r["kind"], r["target"], r["rule"]) for r in recs if r["type"] == "denial"]')" \
	"[('write', '$WS/.git', 'protected path $WS/.git')]" "protected name: the denial record names the rule"

run sb -w "$WS" -- cat "$HOMEDIR/.ssh/id_ed25519"
unlike "$OUT" "$NONCE" "read without --audit-reads: the secret did not come out"
is "$(q '[r["kind"] for r in recs if r["type"] == "denial"]')" "[]" "read without --audit-reads: not observed"
printf '{"audit_reads": true}\n' >"$T/reads.json"
own "$T/reads.json"
run sb -w "$WS" --config "$T/reads.json" -- cat "$HOMEDIR/.ssh/id_ed25519"
is "$(q '[(r["kind"], r["target"]) for r in recs if r["type"] == "denial"]') $(q 'recs[0]["policy"]["audit_reads"]')" \
	"[('read', '$HOMEDIR/.ssh/id_ed25519')] True" "read: audit_reads in a config file works as the flag"
run sb -w "$WS" --audit-reads -- cat "$HOMEDIR/.ssh/id_ed25519"
unlike "$OUT" "$NONCE" "read: the secret did not come out"
is "$(q '[(r["kind"], r["target"]) for r in recs if r["type"] == "denial"]')" \
	"[('read', '$HOMEDIR/.ssh/id_ed25519')]" "read: the denial record"
like "$ERR" "cordon: denied read $HOMEDIR/.ssh/id_ed25519: deny-read path $HOMEDIR/.ssh" "read: the stderr line"

run sb -w "$WS" -- bash -c 'exec 3<>/dev/tcp/203.0.113.9/8080'
is "$(q '[(r["kind"], r["target"], r["port"]) for r in recs if r["type"] == "denial"]')" \
	"[('connect', '203.0.113.9', 8080)]" "connect with the network off: the denial record (host, port)"
like "$ERR" "cordon: denied connect 203.0.113.9 port 8080: network off" "connect: the stderr line"

# A unix socket on the host, in a directory the sandbox sees; and an abstract one.
python3 - "$OUTD/app.sock" "cordon-audit-$NONCE" <<'PY' &
import socket, sys, time
a = socket.socket(socket.AF_UNIX); a.bind(sys.argv[1]); a.listen(8)
b = socket.socket(socket.AF_UNIX); b.bind("\0" + sys.argv[2]); b.listen(8)
time.sleep(60)
PY
track_pid $!
for _ in $(seq 50); do [[ -S $OUTD/app.sock ]] && break; sleep 0.1; done
chmod 0777 "$OUTD/app.sock"
run sb -w "$WS" -- python3 -c "
import socket, sys
for addr in ('$OUTD/app.sock', '\0cordon-audit-$NONCE'):
    s = socket.socket(socket.AF_UNIX)
    try:
        s.connect(addr); print('CONNECTED', addr)
    except OSError as e:
        print('refused', e.errno)
"
unlike "$OUT" CONNECTED "unix sockets of the host: no connection"
is "$(q 'sorted((r["kind"], r["target"]) for r in recs if r["type"] == "denial")')" \
	"[('unix-connect', '$OUTD/app.sock'), ('unix-connect', '@cordon-audit-$NONCE')]" \
	"unix-connect: pathname and abstract, each on record"

run sb -w "$WS" -- unshare -U true
is "$(q '[(r["kind"], r["target"], r["rule"]) for r in recs if r["type"] == "denial"]')" \
	"[('syscall', 'unshare with namespace flags', 'blocked system call')]" "blocked system call: on record"

run sb -w "$WS" --network proxy --allow listed.example.test -- getent hosts "unlisted-$NONCE.example.test"
is "$(q '[(r["kind"], r["target"]) for r in recs if r["type"] == "denial"]')" \
	"[('dns', 'unlisted-$NONCE.example.test')]" "a DNS lookup the allowlist refuses: on record"

# ---- net records: an allowed connection with its bytes each way, a refused one
python3 - "$LOGS/port" <<'PY' &
import os, socket, sys
s = socket.socket()
s.bind(("127.0.0.1", 0)); s.listen(8)
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write(str(s.getsockname()[1]))
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
# 62 bytes: what bytes_in must count exactly.
reply = b"HTTP/1.0 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello"
while True:
    c, _ = s.accept()
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = c.recv(4096)
        if not chunk:
            break
        data += chunk
    c.sendall(reply); c.close()
PY
track_pid $!
for _ in $(seq 50); do [[ -s $LOGS/port ]] && break; sleep 0.1; done
port=$(cat "$LOGS/port")
run sb -w "$WS" --network proxy --allow "localhost:$port" -- sh -c \
	"curl -sS http://localhost:$port/; echo; curl -sS -m 5 -o /dev/null -w '%{http_code}' http://203.0.113.7/"
is "$OUT" $'hello\n403' "net: the allowed host answered, the other one was refused"
is "$(q '[(r["host"], r["port"], r["address"], r["verdict"], r["bytes_in"], r["bytes_out"] > 40) for r in recs if r["type"] == "net"]')" \
	"[('localhost', $port, '127.0.0.1', 'allowed', 62, True), ('203.0.113.7', 80, None, 'denied', 0, False)]" \
	"net: one record per connection, with the address dialled and the bytes each way"

# ---- the report
run sb -w "$WS" --report "$WS/report.json" -- true
is "$RC $([[ -e $WS/report.json ]] && echo written || echo none)" "125 none" "--report inside the workspace: refused"
like "$ERR" "report.json. lies inside writable root" "--report inside the workspace: the message says why"
rep=$T/report.json
printf '{"exit_status": 0, "stale": true}\n' >"$rep" && own "$rep"
run sb -w "$T/no-such-workspace" --report "$rep" -- true
is "$RC $(python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print(r["exit_status"], "stale" in r, "no-such-workspace" in r["error"])' "$rep" 2>&1)" \
	"125 125 False True" "cordon failing: the report says so with the error, and no earlier report survives"
rm -f "$rep"
run sb -w "$WS" --report "$rep" -- sh -c "echo a >'$OUTD/victim'; echo b >'$OUTD/victim'; exit 5"
is "$RC" 5 "report: the command's status"
unlike "$ERR" "cordon: denied" "report: no denial lines on stderr"
is "$(python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print(r["exit_status"], r["timed_out"], [(d["kind"], d["target"], d["count"]) for d in r["denials"]], r["session"] == sys.argv[2])' "$rep" "$(q 'recs[0]["session"]')")" \
	"5 False [('write', '$OUTD/victim', 2)] True" "report: exit status, the denials counted, the log's session"

rm -f "$rep"
run sb -w "$WS" --timeout 1 --report "$rep" -- sleep 30
is "$RC" 124 "timeout: 124"
is "$(python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print(r["exit_status"], r["timed_out"], r["denials"])' "$rep" 2>&1)" \
	"124 True []" "timeout: the report is valid JSON and says so"

rm -f "$rep"
run sb -w "$WS" --report "$rep" -- sh -c 'kill -KILL $$'
is "$(python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print(r["exit_status"], r["signal"])' "$rep" 2>&1)" \
	"137 9" "killed: the report is valid JSON with the signal"

rm -f "$rep"
sb_bg "$LOGS/bg.out" -w "$WS" --report "$rep" -- sleep 30
sleep 1
kill -TERM "$SB_PID"
wait "$SB_PID"
is "$(python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print(r["exit_status"], r["signal"])' "$rep" 2>&1)" \
	"143 15" "cordon terminated from outside: the report is still written, valid"

# ---- tampering
tamper='for f in "$LOGD"/*.jsonl; do echo forged >>"$f"; : >"$f"; truncate -s0 "$f"; rm -f "$f"; mv "$f" "$f.x"; chmod 666 "$f"; done
	mv "$LOGD" "$LOGD.x"; rm -rf "$LOGD"; ln -s /tmp "$LOGD.new"; kill -9 -1'
count_before=$(wc -l <"$LOGDIR"/*.jsonl | tail -1)
head_before=$(cat "$LOGDIR"/*.jsonl | sha256sum)
n_before=$(sessions)
EXTRA_ENV=("LOGD=$LOGDIR")
run sb -w "$WS" -- bash -c "$tamper"
EXTRA_ENV=()
is "$(cat "$LOGDIR"/*.jsonl | head -n "$count_before" | sha256sum)" "$head_before" "tamper: every earlier record intact"
is "$(sessions) $(q 'recs[-1]["type"]') $(grep -cx forged "$LOGDIR"/*.jsonl)" "$((n_before + 1)) end 0" \
	"tamper: the run is on record to its end, nothing forged"
run sb -w "$WS" -- sh -c "cat '$LOGDIR'/*.jsonl; ls '$LOGDIR'"
is "$([[ $RC != 0 ]] && echo refused) $(printf '%s' "$OUT" | grep -c session)" "refused 0" \
	"the log cannot be read from inside (other runs' commands are not the sandbox's business)"

# The log inside the workspace: it is guarded like a protected path.
WSTATE=$WS/state
mkdir -p "$WSTATE" && own "$WSTATE"
EXTRA_ENV=("XDG_STATE_HOME=$WSTATE")
run sb -w "$WS" -- true
wlog=$(ls "$WSTATE"/cordon/audit/*.jsonl)
wsum=$(sha256sum <"$wlog")
EXTRA_ENV=("XDG_STATE_HOME=$WSTATE" "LOGD=$WSTATE/cordon/audit")
run sb -w "$WS" -- bash -c "$tamper; mv '$WSTATE/cordon' '$WS/x'; mv '$WSTATE' '$WS/y'"
EXTRA_ENV=()
is "$(head -n 2 "$wlog" | sha256sum)" "$wsum" "log inside the workspace: intact"
is "$(grep -c '"type":"end"' "$wlog") $(grep -cx forged "$wlog")" "2 0" "log inside the workspace: the tampering run on record"

# --audit FILE inside the workspace: the file itself is kept read-only and its name guarded.
flog=$WS/logs/run.jsonl
mkdir -p "$WS/logs" && own "$WS/logs"
run sb -w "$WS" --audit "$flog" -- true
fsum=$(sha256sum <"$flog")
run sb -w "$WS" --audit "$flog" -- bash -c "echo forged >>'$flog'; : >'$flog'; rm -f '$flog'; mv '$flog' '$flog.x'; mv '$WS/logs' '$WS/logs2'"
is "$(head -n 2 "$flog" | sha256sum) $(grep -cx forged "$flog") $(grep -c '"type":"end"' "$flog")" "$fsum 0 2" \
	"--audit FILE inside the workspace: intact, and the tampering run on record"

# Full access: no file boundary, but the log stays out of reach.
count_before=$(cat "$LOGDIR"/*.jsonl | wc -l)
head_before=$(cat "$LOGDIR"/*.jsonl | sha256sum)
EXTRA_ENV=("LOGD=$LOGDIR")
run sb -w "$WS" --mode full-access -- bash -c "$tamper"
EXTRA_ENV=()
is "$(cat "$LOGDIR"/*.jsonl | head -n "$count_before" | sha256sum) $(grep -cx forged "$LOGDIR"/*.jsonl)" \
	"$head_before 0" "full-access: the log cannot be written or truncated"
is "$(q 'recs[0]["policy"]["mode"], recs[-1]["type"]')" "('full-access', 'end')" "full-access: the run is on record"

# ---- a burst of 10,000 file creations
run sb -w "$WS" -- python3 -c "
import os
os.mkdir('burst')
for i in range(10000):
    open('burst/f%05d' % i, 'w').close()
"
is "$RC" 0 "burst: the command ran"
is "$(q 'len({r["path"] for r in recs if r["type"] == "file" and r["change"] == "created" and r["path"].startswith("'"$WS"'/burst/f")})')" \
	10000 "burst: 10,000 creations, 10,000 records"

# A symlink planted in the default log's directories (by an earlier --no-audit run, say) is refused.
mkdir -p "$T/st2" "$WS/fake"
ln -sfn "$WS/fake" "$T/st2/cordon"
own "$T/st2" "$WS/fake"
EXTRA_ENV=("XDG_STATE_HOME=$T/st2")
run sb -w "$WS" -- true
EXTRA_ENV=()
is "$RC $(find "$WS/fake" -mindepth 1 | wc -l)" "125 0" "a symlink in the log's directories: refused, nothing made through it"
like "$ERR" "audit log directory .*a symlink is refused" "a symlink in the log's directories: the message says why"

# A planted hard link or FIFO where the day's log goes is refused, quickly.
mkdir -p "$T/st3/cordon/audit" && own "$T/st3"
day=$(date -u +%F)
as_user ln "$WS/xdev" "$T/st3/cordon/audit/$day.jsonl" 2>/dev/null || ln "$WS/xdev" "$T/st3/cordon/audit/$day.jsonl"
EXTRA_ENV=("XDG_STATE_HOME=$T/st3")
run sb -w "$WS" -- true
is "$RC" 125 "a log with another name (a planted hard link): refused"
like "$ERR" "other names" "a planted hard link: the message says why"
rm -f "$T/st3/cordon/audit/$day.jsonl"
as_user mkfifo "$T/st3/cordon/audit/$day.jsonl"
CORDON_TEST_CALL_TIMEOUT=10 run sb -w "$WS" -- true
EXTRA_ENV=()
is "$RC" 125 "a FIFO planted as the log: refused, not waited on"

# The kernel's answers stay the kernel's: an O_PATH open asks for no write; with --audit-reads, a
# deny-read path that does not exist is ENOENT.
run sb -w "$WS" --audit-reads -- python3 -c "
import errno, os
os.close(os.open('/etc/hostname', os.O_PATH | os.O_WRONLY)); print('ok', end=' ')
try:
    open(os.path.expanduser('~/.aws/credentials'))
except OSError as e:
    print(errno.errorcode[e.errno])
"
is "$OUT $(q '[r["target"] for r in recs if r["type"] == "denial"]')" "ok ENOENT []" \
	"O_PATH with O_WRONLY opens; a missing deny-read path is ENOENT; no denial"

# ---- --no-audit, and bad input
n_before=$(sessions)
run sb -w "$WS" --no-audit -- sh -c "echo x >'$OUTD/victim'"
is "$(sessions)" "$n_before" "--no-audit: nothing logged"
unlike "$ERR" "cordon: denied write" "--no-audit: no observer"
run sb -w "$WS" --audit "$LOGS" -- true
is "$RC" 125 "--audit naming a directory: refused (125)"
like "$ERR" "audit log \`$LOGS\`" "--audit naming a directory: the message names it"
ln -sfn "$LOGS/target" "$LOGS/link.jsonl"
run sb -w "$WS" --audit "$LOGS/link.jsonl" -- true
is "$RC $([[ -e $LOGS/target ]] && echo followed || echo not-followed)" "125 not-followed" "--audit through a symlink: refused"
run sb -w "$WS" --audit - --no-audit -- true
is "$RC" 125 "--audit with --no-audit: a usage error"
run sb -w "$WS" --audit-reads --no-audit -- true
is "$RC" 125 "--audit-reads with --no-audit: a usage error"
run sb -w "$WS" --audit - -- true
is "$(printf '%s\n' "$ERR" | python3 -c 'import json,sys; print([json.loads(l)["type"] for l in sys.stdin])')" \
	"['start', 'end']" "--audit -: the records on stderr"

done_testing
