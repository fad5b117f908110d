#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Staged sessions (docs/staged.md), driven from outside as the test user: a staged run leaves the
# real files as they were; later runs of the session see its changes; `diff` (unified, --stat,
# --json, PATHs), `sessions`, `commit` (all, PATHs, conflicts, --force, protected names never
# applied), `discard`, `--gc`; two runs of one session at once; the sessions directory out of the
# sandbox's reach; bad input. Then the journal: a commit killed at each of its steps in turn
# (CORDON_FAULT_INJECT=commit:N) leaves every real file old or new, and a second commit finishes it.
. "$(dirname "$0")/../lib.sh"
mk_scratch

STATE=$T/state
mkdir -p "$STATE"
own "$STATE"
EXTRA_ENV=("XDG_STATE_HOME=$STATE")
SESSIONS=$STATE/cordon/sessions

# cv VERB ARGS...: `cordon VERB ARGS...` as the test user, in the same environment as the runs.
cv() {
	_sb_argv
	"${_SB[@]}" "$@"
}

# run_in SESSION SCRIPT [FLAGS...]: a staged run of `sh -c SCRIPT` in $WS, output in OUT/ERR/RC.
run_in() {
	local ses=$1 script=$2
	shift 2
	RC=0
	OUT=$(cd "$WS" && sb --staged --session "$ses" "$@" -- sh -c "$script" 2>"$LOGS/err") || RC=$?
	ERR=$(cat "$LOGS/err")
}

# A small project: text, a binary, a directory, a symlink, a git dir.
make_ws() {
	rm -rf "$WS"
	mkdir -p "$WS/src" "$WS/docs/old" "$WS/.git/hooks"
	printf 'one\ntwo\nthree\n' >"$WS/src/main.c"
	printf 'keep\n' >"$WS/src/keep.c"
	printf 'gone\n' >"$WS/src/gone.c"
	printf 'moving content\n' >"$WS/src/from.c"
	printf 'old doc\n' >"$WS/docs/old/a.md"
	printf '\0\1\2binary' >"$WS/blob.bin"
	printf 'script\n' >"$WS/run.sh"
	ln -s src/main.c "$WS/link"
	printf '[core]\n' >"$WS/.git/config"
	own "$WS"
}

make_ws
BEFORE=$(tree_state "$WS")

# ---------------------------------------------------------------------------------------------
# A staged run changes nothing real; the next run sees its changes

run_in s1 'printf "one\nTWO\nthree\nfour\n" > src/main.c; rm src/gone.c; mv src/from.c src/to.c;
	echo new > src/new.c; mkdir -p lib/x; echo deep > lib/x/y.c; chmod 755 run.sh; ln -sfn src/keep.c link;
	printf "\0\3bin2" > blob.bin; rm -rf docs/old; echo fresh > docs/new.md; cat src/main.c'
is "$RC" 0 "a staged run succeeds"
like "$OUT" "TWO" "the command sees its own writes"
is "$(tree_state "$WS")" "$BEFORE" "the real files are exactly as before the staged run"
[[ -d $SESSIONS/s1/layers/0/upper ]] && ok "the layer lives in \$XDG_STATE_HOME/cordon/sessions/s1" ||
	not_ok "the layer lives in \$XDG_STATE_HOME/cordon/sessions/s1" "$(ls -R "$STATE" 2>&1 | head)"

run_in s1 'cat src/new.c lib/x/y.c; test -e src/gone.c && echo still-there; readlink link'
is "$OUT" $'new\ndeep\nsrc/keep.c' "a later run of the session sees the earlier run's changes"
is "$(tree_state "$WS")" "$BEFORE" "... and the real files are still as before"

run_in "" 'true'
like "$RC:$ERR" "^125:.*session name" "an empty --session is refused, naming the input"
run_in "../x" 'true'
like "$RC:$ERR" "^125:.*session name \`\.\./x\`" "a session name with a slash is refused"
RC=0
ERR=$(cd "$WS" && sb --session s1 -- true 2>&1) || RC=$?
like "$RC:$ERR" "^125:.*--session names a staged session: add --staged" "--session without --staged is refused"
RC=0
ERR=$(cd "$WS" && sb --staged --mode read-only -- true 2>&1) || RC=$?
like "$RC:$ERR" "^125:.*--staged stages the writes of --mode workspace-write" "--staged in read-only mode is refused"
RC=0
ERR=$(cd "$WS" && sb --staged -- true 2>&1) || RC=$?
like "$RC:$ERR" "^0:cordon: staged in session s-[0-9]{8}-[0-9]{6}-[0-9a-f]{6} " "without --session, a new session is named on stderr"
NEWSES=$(sed -n 's/^cordon: staged in session \([^ ]*\) .*/\1/p' <<<"$ERR")
RC=0
ERR=$(cd "$WS" && sb --staged --report "$OUTD/report.json" -- true 2>&1) || RC=$?
GEN=$(sed -n 's/^cordon: staged in session \([^ ]*\) .*/\1/p' <<<"$ERR")
is "$RC:$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["staged_session"])' "$OUTD/report.json" 2>&1)" \
	"0:$GEN" "--report names the staged session (staged_session)"

# ---------------------------------------------------------------------------------------------
# diff

STAT=$(cv diff s1 --stat)
expected_stat='A docs/new.md | +1 -0
D docs/old | directory
D docs/old/a.md | +0 -1
M blob.bin | binary
A lib | directory
A lib/x | directory
A lib/x/y.c | +1 -0
M link | +1 -1
M run.sh | mode 100644 -> 100755
D src/gone.c | +0 -1
M src/main.c | +2 -1
A src/new.c | +1 -0
R src/to.c (from src/from.c) | +0 -0
13 changes, 6 insertions(+), 4 deletions(-)'
is "$(sort <<<"$STAT")" "$(sort <<<"$expected_stat")" "diff --stat: every kind of change, with line counts"

DIFF=$(cv diff s1)
like "$DIFF" $'--- a/src/main.c\n\\+\\+\\+ b/src/main.c\n@@ -1,3 \\+1,4 @@\n one\n-two\n\\+TWO\n three\n\\+four' "diff: a unified diff for text"
like "$DIFF" "Binary files a/blob.bin and b/blob.bin differ" "diff: binary files differ"
like "$DIFF" $'rename from src/from.c\nrename to src/to.c' "diff: a rename"
like "$DIFF" $'old mode 100755|old mode 100644\nnew mode 100755' "diff: a mode change"
like "$DIFF" $'-src/main.c\n\\+src/keep.c' "diff: a symlink's new target"
like "$DIFF" $'deleted file mode 100644\n--- a/src/gone.c\n\\+\\+\\+ /dev/null' "diff: a deleted file"

JSON=$(cv diff s1 --json)
got=$(python3 -c 'import json,sys; d=json.load(sys.stdin); c={x["path"]:x for x in d["changes"]};
print(d["session"], len(d["changes"]), c["src/to.c"]["change"], c["src/to.c"]["from"], c["blob.bin"]["binary"],
      c["src/main.c"]["additions"], c["src/main.c"]["deletions"], "@@" in c["src/main.c"]["diff"])' <<<"$JSON" 2>&1)
is "$got" "s1 13 renamed src/from.c True 2 1 True" "diff --json: one object with every change"
is "$(cv diff s1 --stat "$WS/src" | tail -1)" "4 changes, 3 insertions(+), 2 deletions(-)" "diff PATH: only the changes under it"
is "$(cd "$WS/src" && cv diff s1 --stat ../lib/x/y.c)" $'A lib/x/y.c | +1 -0\n1 change, 1 insertion(+), 0 deletions(-)' \
	"diff PATH: relative to the current directory, and a file only in the session"
RC=0
ERR=$(cv diff nosuch 2>&1) || RC=$?
like "$RC:$ERR" "^125:cordon: no session \`nosuch\`; hint: .cordon sessions. lists them" "diff of a missing session: exit 125, named"
RC=0
ERR=$(cv diff s1 --bogus 2>&1) || RC=$?
like "$RC:$ERR" "^125:cordon diff: unknown option .--bogus." "diff: an unknown option is named"

# ---------------------------------------------------------------------------------------------
# sessions

LIST=$(cv sessions)
like "$LIST" $'\ns1 +[0-9TZ:-]+ +0d +13 +[0-9]+ +'"$WS" "sessions: name, creation, age, changes, bytes, root"
got=$(cv sessions --json | python3 -c 'import json,sys; d={s["name"]:s for s in json.load(sys.stdin)};
print(d["s1"]["changes"], d["s1"]["roots"], d["s1"]["bytes"] > 0, d["s1"]["interrupted_commit"])' 2>&1)
is "$got" "13 ['$WS'] True False" "sessions --json"

# ---------------------------------------------------------------------------------------------
# Two runs of one session at once: the second waits, both land

RC=0
(cd "$WS" && sb --staged --session s1 -- sh -c 'sleep 1.5; echo first > conc1') >"$LOGS/c1" 2>&1 &
P1=$!
sleep 0.5
ERR=$(cd "$WS" && sb --staged --session s1 -- sh -c 'test -e conc1 && echo saw-first; echo second > conc2' 2>&1) || RC=$?
wait "$P1"
RC1=$?
is "$RC1:$RC" "0:0" "two runs of one session at once both succeed"
like "$ERR" "session .s1. is in use by another cordon; waiting for it" "the second says it waits"
like "$ERR" "saw-first" "the second ran after the first: it saw its file"
is "$(cv diff s1 --stat "$WS/conc1" "$WS/conc2" | tail -1)" "2 changes, 2 insertions(+), 0 deletions(-)" "both runs' changes are in the session"

# ---------------------------------------------------------------------------------------------
# The sessions directory is out of the sandbox's reach (another session's layer too)

run_in s2 "cat '$SESSIONS/s1/layers/0/upper/src/new.c' 2>&1; ls '$SESSIONS' 2>&1; echo x > '$SESSIONS/s1/layers/0/upper/src/evil.c' 2>&1; echo done"
unlike "$OUT" $'^new' "a sandbox cannot read another session's layer"
[[ ! -e $SESSIONS/s1/layers/0/upper/src/evil.c ]] && ok "a sandbox cannot write into another session's layer" ||
	not_ok "a sandbox cannot write into another session's layer" "$OUT"
run_in s2 "cat '$SESSIONS/s2/session.json' >/dev/null 2>&1 && echo readable; echo x > '$SESSIONS/s2/layers/0/upper/evil' 2>/dev/null && echo wrote; echo done"
is "$OUT" "done" "nor its own session's files"

# ---------------------------------------------------------------------------------------------
# commit: PATHs, conflicts, --force, protected names

RC=0
cv commit s1 "$WS/src/new.c" 2>"$LOGS/err" || RC=$?
is "$RC:$(cat "$WS/src/new.c" 2>&1)" "0:new" "commit PATH applies that change"
is "$(cv diff s1 --stat "$WS/src/new.c" | tail -1)" "0 changes, 0 insertions(+), 0 deletions(-)" "... and drops it from the session"
[[ ! -e $WS/lib ]] && ok "... and nothing else" || not_ok "... and nothing else" "$(ls "$WS")"

sleep 0.05
printf 'edited on the host\n' >"$WS/src/keep.c"
printf 'host side\n' >"$WS/src/main.c"
RC=0
cv commit s1 2>"$LOGS/err" || RC=$?
ERR=$(cat "$LOGS/err")
is "$RC" 1 "commit with a conflict exits 1"
like "$ERR" "not committed: $WS/src/main.c: the real file changed since the session started \(--force overrides\)" \
	"the conflicting file is named"
is "$(cat "$WS/src/main.c")" "host side" "the host's edit is kept"
is "$(cat "$WS/lib/x/y.c" "$WS/src/to.c" 2>&1; test -e "$WS/src/from.c" || echo from-gone)" $'deep\nmoving content\nfrom-gone' \
	"the other changes are applied (a rename too)"
is "$(readlink "$WS/link"):$(stat -c %a "$WS/run.sh")" "src/keep.c:755" "a symlink and a mode change are applied"
[[ ! -e $WS/docs/old ]] && ok "a deleted directory is deleted" || not_ok "a deleted directory is deleted"
is "$(cv diff s1 --stat | tail -1)" "1 change, 4 insertions(+), 1 deletion(-)" "only the held-back change stays in the session (diffed against the host's edit)"
RC=0
cv commit s1 --force 2>"$LOGS/err" || RC=$?
is "$RC:$(cat "$WS/src/main.c")" $'0:one\nTWO\nthree\nfour' "commit --force applies it over the host's edit"
is "$(cv diff s1 --stat)" "0 changes, 0 insertions(+), 0 deletions(-)" "the session is empty after the commit"
ls -A "$WS" "$WS/src" | grep -q '^\.cordon-commit' && not_ok "no temporary file is left in the real tree" ||
	ok "no temporary file is left in the real tree"
# A file cordon committed is no conflict for the next commit of the same session.
run_in s1 'echo again >> src/to.c'
RC=0
cv commit s1 2>"$LOGS/err" || RC=$?
is "$RC:$(tail -1 "$WS/src/to.c")" "0:again" "a file committed before commits again without --force"

# Protected names: the sandbox refuses them; a session made without that refusal still never
# brings them to the real tree.
make_ws
run_in s3 'mkdir -p .agents sub/.git/hooks a/b; echo x > .agents/cfg; echo hook > sub/.git/hooks/post-checkout;
	echo h > .git/hooks/pre-commit; echo y > .codex; echo fine > a/b/ok' --no-default-protect
is "$RC" 0 "a run without the default protection writes .agents, .git and .codex in its layer"
STAT=$(cv diff s3 --stat)
like "$STAT" "A .agents/cfg \| \+1 -0 \(protected: never committed\)" "diff marks protected paths"
RC=0
cv commit s3 2>"$LOGS/err" || RC=$?
ERR=$(cat "$LOGS/err")
is "$RC" 1 "commit of protected changes exits 1"
like "$ERR" "not committed: $WS/\.agents/cfg: protected path: never committed" "each protected change is reported"
like "$ERR" "not committed: $WS/sub/\.git/hooks/post-checkout: protected path" "... at any depth"
[[ ! -e $WS/.agents && ! -e $WS/sub/.git && ! -e $WS/.codex && ! -e $WS/.git/hooks/pre-commit ]] &&
	ok "no protected name reaches the real tree" || not_ok "no protected name reaches the real tree" "$(find "$WS" | sort)"
is "$(cat "$WS/a/b/ok")" "fine" "the rest is committed"
RC=0
cv commit s3 --force 2>"$LOGS/err" || RC=$?
[[ $RC == 1 && ! -e $WS/.agents ]] && ok "--force does not apply protected names either" ||
	not_ok "--force does not apply protected names either" "rc $RC" "$(find "$WS" | sort)"

# ---------------------------------------------------------------------------------------------
# What the real tree became since cannot redirect a commit

# A directory replaced by a file: protected content below it stays where it is.
make_ws
mkdir -p "$WS/d/.git"
printf '[core]\n' >"$WS/d/.git/config"
printf 'data\n' >"$WS/d/f"
own "$WS"
run_in p1 'rm -rf d; echo "now a file" > d' --no-default-protect
RC=0
cv commit p1 2>"$LOGS/err" || RC=$?
like "$RC:$(cat "$LOGS/err")" "^1:.*not committed: $WS/d: a directory deleted or replaced goes only with everything below it" \
	"a directory with a protected path below is not replaced"
is "$(cat "$WS/d/.git/config" 2>&1):$(ls -A "$WS" | grep -c cordon-commit)" "[core]:0" "... the protected path is where it was, nothing moved aside"

# A chmod journaled, then the directory swapped for a symlink before the commit resumes.
make_ws
mkdir -p "$WS/cd" "$OUTD/target"
chmod 755 "$OUTD/target"
own "$WS" "$OUTD"
run_in p2 'chmod 777 cd'
EXTRA_ENV=("XDG_STATE_HOME=$STATE" "CORDON_FAULT_INJECT=commit:1")
RC=0
cv commit p2 >/dev/null 2>&1 || RC=$?
EXTRA_ENV=("XDG_STATE_HOME=$STATE")
mv "$WS/cd" "$WS/cd.old"
ln -s "$OUTD/target" "$WS/cd"
cv commit p2 >/dev/null 2>&1
is "$RC:$(stat -c %a "$OUTD/target")" "137:755" "a resumed chmod does not follow a symlink put in its place"

# A root replaced by a symlink: refused, nothing written through it.
make_ws
run_in p3 'echo staged > src/keep.c'
mv "$WS" "$T/ws.moved"
mkdir -p "$OUTD/fake"
ln -s "$OUTD/fake" "$WS"
RC=0
ERR=$(cv commit p3 2>&1) || RC=$?
like "$RC:$ERR" "^125:cordon: session .p3.: the path of its root .$WS. now holds a symlink" "a root turned into a symlink is refused"
[[ ! -e $OUTD/fake/src ]] && ok "... and nothing is written through it" || not_ok "... and nothing is written through it"
rm "$WS"
mv "$T/ws.moved" "$WS"
mv "$WS" "$T/ws.moved"
mkdir -p "$WS/src"
own "$WS"
RC=0
ERR=$(cv diff p3 2>&1) || RC=$?
like "$RC:$ERR" "^125:cordon: session .p3.: its root .$WS. is no longer the directory it staged" "a root replaced by another directory is refused"
rm -rf "$WS"
mv "$T/ws.moved" "$WS"
is "$(cv diff p3 --stat | tail -1)" "1 change, 1 insertion(+), 1 deletion(-)" "the same root back: the session works again"

# A journal someone tampered with (an id that would walk out of its directory) is refused, not run.
run_in p5 'echo x > tampered.txt'
mkdir -p "$OUTD/escape"
own "$OUTD"
printf '{"schema":1,"id":"../../out/escape/x","phase":"apply","ops":[{"op":"put","root":0,"path":"tampered.txt","mode":33188}]}' \
	>"$SESSIONS/p5/journal.json"
own "$SESSIONS/p5/journal.json"
RC=0
ERR=$(cv commit p5 2>&1) || RC=$?
like "$RC:$ERR" "^125:cordon: session .p5.: the commit journal .* is damaged: id: not 1 to 32 hex digits" \
	"a tampered journal is refused, naming what is wrong"
[[ ! -e $WS/tampered.txt && -z $(ls -A "$OUTD/escape") ]] && ok "... and nothing of it is carried out" ||
	not_ok "... and nothing of it is carried out" "$(ls -A "$WS" "$OUTD/escape")"
rm -f "$SESSIONS/p5/journal.json"

# A set-id file made in a staged run is committed without the bits.
run_in p6 'cp /bin/true suid; chmod 6755 suid; stat -c %a suid'
is "$OUT" "6755" "inside the staged run the file is set-id"
RC=0
ERR=$(cv commit p6 2>&1) || RC=$?
like "$RC:$ERR" "^0:cordon: \"?$WS/suid\"?: committed without its setuid/setgid bits" "commit says it drops the set-id bits"
is "$(stat -c %a "$WS/suid")" "755" "the real file is not set-id"

# A mode change to a file with another name outside the root changes only this name.
make_ws
printf 'secret\n' >"$OUTD/linked"
chmod 600 "$OUTD/linked"
ln "$OUTD/linked" "$WS/hl"
own "$WS" "$OUTD"
sleep 0.02
run_in p7 'chmod 0644 hl'
RC=0
cv commit p7 >/dev/null 2>&1 || RC=$?
is "$RC:$(stat -c %a "$OUTD/linked"):$(stat -c %a "$WS/hl")" "0:600:644" "a committed chmod does not reach a hard link outside the root"

# An operation that fails names its file quoted, and the summary says it failed.
make_ws
run_in p8 "mkdir n; printf x > \"n/\$(printf 'y\\ncordon: forged line')\""
rm -rf "$WS/n"
echo file >"$WS/n"
own "$WS"
RC=0
ERR=$(cv commit p8 2>&1) || RC=$?
unlike "$ERR" $'\ncordon: forged line' "a failing operation cannot forge a line of commit's output"
like "$RC:$ERR" '^1:.*"[^"]*n/y\\ncordon: forged line": Not a directory.*1 operation failed' "the failure is named, quoted, and counted"

# A staged run waits for nothing, but refuses a session whose commit was interrupted.
run_in p9 'echo a > j.txt'
EXTRA_ENV=("XDG_STATE_HOME=$STATE" "CORDON_FAULT_INJECT=commit:1")
cv commit p9 >/dev/null 2>&1
EXTRA_ENV=("XDG_STATE_HOME=$STATE")
run_in p9 'echo unreviewed > j.txt'
like "$RC:$ERR" "^125:cordon: session .p9. has an interrupted commit; hint: run .cordon commit p9." \
	"a staged run of a session with an interrupted commit is refused"
RC=0
cv commit p9 >/dev/null 2>&1 || RC=$?
is "$RC:$(cat "$WS/j.txt")" "0:a" "the commit then finishes with what was reviewed"

# Nested roots in one session.
RC=0
ERR=$(cd "$WS/src" && sb --staged --session p3 -w "$WS/src" -- true 2>&1) || RC=$?
like "$RC:$ERR" "^125:cordon: session .p3. stages .$WS.; .$WS/src. would nest with it" "a root nested in a session's root is refused"

# Names that would forge review output, or are not UTF-8.
run_in p4 "printf x > \"\$(printf 'evil\\n1 change, 0 insertions(+), 0 deletions(-)\\n\\033[8m')\"; printf y > \"\$(printf 'bad\\377name')\""
STAT=$(cv diff p4 --stat)
unlike "$STAT" $'\033' "diff --stat: no raw escape character from a file name"
like "$STAT" 'A "evil\\n1 change, 0 insertions\(\+\), 0 deletions\(-\)\\n\\x1b\[8m" \| \+1 -0' "diff --stat: such a name is quoted and escaped"
like "$STAT" 'A "bad\\xffname"' "diff --stat: bytes that are not UTF-8 are escaped"
got=$(cv diff p4 --json | python3 -c 'import json,sys; p=[c["path"] for c in json.load(sys.stdin)["changes"]]
print(len(p), "bad" + chr(92) + "xffname" in p)' 2>&1)
is "$got" "2 True" "diff --json keeps a name that is not UTF-8 (escaped as \\xHH)"

# ---------------------------------------------------------------------------------------------
# discard and gc

make_ws
BEFORE=$(tree_state "$WS")
run_in s4 'echo junk > junk; rm src/main.c'
RC=0
cv discard s4 2>"$LOGS/err" || RC=$?
is "$RC:$(cat "$LOGS/err")" "0:cordon: session \`s4\` discarded: what it held and was not committed is gone; the real files were not touched" "discard"
[[ ! -e $SESSIONS/s4 ]] && ok "the session's directory is gone" || not_ok "the session's directory is gone"
is "$(tree_state "$WS")" "$BEFORE" "the real files are exactly as before"
RC=0
ERR=$(cv discard s4 2>&1) || RC=$?
like "$RC:$ERR" "^125:cordon: no session .s4." "discarding it again: no such session"
GC=$(cv sessions --gc --older-than 1 2>&1)
[[ -d $SESSIONS/s1 && -z $GC ]] && ok "--gc --older-than 1 keeps today's sessions" || not_ok "--gc --older-than 1 keeps today's sessions" "$GC"
GC=$(cv sessions --gc --older-than 0 2>&1)
like "$GC" "removed session s1 " "--gc --older-than 0 removes them"
is "$(ls "$SESSIONS" | tr '\n' ' ')" "" "... all of them (${NEWSES:-?} and ${GEN:-?} too)"
RC=0
ERR=$(cv sessions --gc 2>&1) || RC=$?
like "$RC:$ERR" "^125:.*--gc and --older-than DAYS go together" "--gc alone is refused"

# ---------------------------------------------------------------------------------------------
# A commit killed at each step, then run again

# The changes cover every operation: a modified file, a new one in a new directory, a deletion,
# a rename, a file that becomes a directory, a directory that becomes a file, a mode, a symlink.
make_fault_ws() {
	rm -rf "$WS"
	mkdir -p "$WS/d/sub" "$WS/todir"
	printf 'old main\n' >"$WS/main.txt"
	printf 'to delete\n' >"$WS/del.txt"
	printf 'renamed body\n' >"$WS/ren_a.txt"
	printf 'file to dir\n' >"$WS/f2d"
	printf 'inner\n' >"$WS/todir/inner"
	printf 'mode\n' >"$WS/mode.sh"
	printf 'sub\n' >"$WS/d/sub/s.txt"
	ln -s main.txt "$WS/ln"
	own "$WS"
}
FAULT_SCRIPT='printf "new main\n" > main.txt; rm del.txt; mv ren_a.txt ren_b.txt; rm f2d; mkdir f2d; echo in > f2d/x;
	rm -r todir; echo now-a-file > todir; chmod 755 mode.sh; ln -sfn del.txt ln; mkdir -p n1/n2; echo nn > n1/n2/f;
	printf "appended\n" >> d/sub/s.txt'

# snapshot: "path type content" for every entry, to compare trees by content.
snapshot() {
	(cd "$WS" && find . -mindepth 1 -printf '%p %y %m %l\n' | LC_ALL=C sort
	 find . -type f -exec sha256sum {} + | LC_ALL=C sort)
}

make_fault_ws
OLD_SNAP=$(snapshot)
declare -A OLDC NEWC
for f in main.txt del.txt ren_a.txt ren_b.txt f2d todir mode.sh ln d/sub/s.txt n1/n2/f f2d/x todir/inner; do
	OLDC[$f]=$( (cd "$WS" && { [[ -L $f ]] && echo "L:$(readlink "$f")"; } || { [[ -f $f ]] && echo "F:$(cat "$f")"; } ||
		{ [[ -d $f ]] && echo D; } || echo absent) 2>&1)
done
run_in f0 "$FAULT_SCRIPT"
cv commit f0 2>/dev/null
NEW_SNAP=$(snapshot)
for f in "${!OLDC[@]}"; do
	NEWC[$f]=$( (cd "$WS" && { [[ -L $f ]] && echo "L:$(readlink "$f")"; } || { [[ -f $f ]] && echo "F:$(cat "$f")"; } ||
		{ [[ -d $f ]] && echo D; } || echo absent) 2>&1)
done
[[ $NEW_SNAP != "$OLD_SNAP" && ${NEWC[main.txt]} == "F:new main" && ${NEWC[todir]} == "F:now-a-file" && ${NEWC[f2d]} == D ]] &&
	ok "control: an uninterrupted commit applies the whole session" || not_ok "control: an uninterrupted commit applies the whole session" "$NEW_SNAP"

fault_bad=() steps=0 finished=false
for n in $(seq 1 200); do
	make_fault_ws
	run_in "f$n" "$FAULT_SCRIPT"
	RC=0
	EXTRA_ENV=("XDG_STATE_HOME=$STATE" "CORDON_FAULT_INJECT=commit:$n")
	cv commit "f$n" >/dev/null 2>&1 || RC=$?
	EXTRA_ENV=("XDG_STATE_HOME=$STATE")
	if [[ $RC != 137 ]]; then
		[[ $RC == 0 ]] && finished=true
		[[ $RC == 0 && $(snapshot) == "$NEW_SNAP" ]] || fault_bad+=("step $n: not killed, exit $RC")
		cv discard "f$n" >/dev/null 2>&1
		break
	fi
	steps=$n
	# Killed: every tracked path is its old or its new self, nothing half-written.
	for f in "${!OLDC[@]}"; do
		now=$( (cd "$WS" && { [[ -L $f ]] && echo "L:$(readlink "$f")"; } || { [[ -f $f ]] && echo "F:$(cat "$f")"; } ||
			{ [[ -d $f ]] && echo D; } || echo absent) 2>&1)
		[[ $now == "${OLDC[$f]}" || $now == "${NEWC[$f]}" ]] || fault_bad+=("step $n: $f is '$now'")
	done
	[[ -e $SESSIONS/f$n/journal.json ]] || fault_bad+=("step $n: no journal left to resume")
	RC=0
	ERR=$(cv commit "f$n" 2>&1) || RC=$?
	[[ $RC == 0 ]] || fault_bad+=("step $n: the second commit exited $RC: $ERR")
	[[ $ERR == *"finishing the interrupted commit"* ]] || fault_bad+=("step $n: the second commit did not say it resumed: $ERR")
	[[ $(snapshot) == "$NEW_SNAP" ]] || fault_bad+=("step $n: after the second commit: $(diff <(echo "$NEW_SNAP") <(snapshot) | head -5)")
	[[ $(cv diff "f$n" --stat) == "0 changes, 0 insertions(+), 0 deletions(-)" ]] || fault_bad+=("step $n: changes left in the session")
	[[ ! -e $SESSIONS/f$n/journal.json ]] || fault_bad+=("step $n: the journal is still there")
	cv discard "f$n" >/dev/null 2>&1
done
((steps >= 20)) && ok "fault injection reached $steps steps of the commit" || not_ok "fault injection reached $steps steps of the commit (expected 20 or more)"
$finished && ok "past the last step, the commit ran through" || not_ok "past the last step, the commit ran through"
((${#fault_bad[@]} == 0)) && ok "killed at each of the $steps steps: every file old or new, and a second commit finished the job" ||
	not_ok "killed at each step: every file old or new, and a second commit finished the job" "${fault_bad[@]:0:10}"

# ---------------------------------------------------------------------------------------------
# The audit log follows the session layer

make_ws
AUDITF=$LOGS/audit.jsonl
touch "$AUDITF"
own "$AUDITF"
run_in s5 'echo a > created.txt; echo b >> src/main.c; rm src/gone.c' --audit "$AUDITF"
got=$(python3 -c 'import json,sys
for l in open(sys.argv[1]):
    r = json.loads(l)
    if r["type"] == "file": print(r["change"], r["path"].rsplit("/", 1)[-1])' "$AUDITF" | sort | tr '\n' ' ')
is "$got" "created created.txt deleted gone.c modified main.c " "file records of a staged run follow its layer"

done_testing
