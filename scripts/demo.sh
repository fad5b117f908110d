#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Sets up a fresh machine (build dependencies from Debian), builds cordon, and shows it at work on
# a scratch git checkout: what an agent's command may do, and what the kernel stops it doing.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
[[ -d build-demo ]] || meson setup build-demo -Dtests=false >/dev/null
ninja -C build-demo >/dev/null
CORDON=$PWD/build-demo/src/cordon

demo=$(mktemp -d /var/tmp/cordon-demo.XXXXXX)
ws=$demo/checkout
server=
trap '[[ -n $server ]] && kill "$server" 2>/dev/null; rm -rf "$demo"' EXIT
mkdir -p "$ws" "$demo/home/.ssh"
git -C "$ws" init -q && git -C "$ws" -c user.email=d@x -c user.name=demo commit -q --allow-empty -m init
echo 'int main(void) { return 0; }' >"$ws/main.c"
echo "PRIVATE KEY (demo)" >"$demo/home/.ssh/id_ed25519"
echo "# demo bashrc" >"$demo/home/.bashrc"
export HOME=$demo/home XDG_STATE_HOME=$demo/state
# A service on the host's loopback, to show the network is off (loopback included).
port=$((20000 + RANDOM % 20000))
python3 -m http.server --bind 127.0.0.1 "$port" >/dev/null 2>&1 &
server=$!
sleep 0.3

say() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }
show() {
	say "cordon run -w CHECKOUT -- bash -c '$1'"
	local rc=0
	"$CORDON" run -w "$ws" -- bash -c "$1" 2>&1 || rc=$?
	echo "(exit $rc)"
}

"$CORDON" doctor | sed -n '/guarantees:/,$p'
show 'cc -o hello main.c && ./hello && echo "built and ran inside the workspace"'
show 'echo "alias ls=rm" >> ~/.bashrc'
show 'echo "#!/bin/sh" > .git/hooks/pre-commit'
show 'mkdir .agents'
show 'cat ~/.ssh/id_ed25519'
show "exec 3<>/dev/tcp/127.0.0.1/$port && echo connected to the host"
show 'setsid sleep 300 & echo "started a background daemon"'
# The network allowlist: one host port allowed, everything else refused and reported.
say "cordon run --network proxy --allow localhost:$port -- bash -c 'curl to the allowed port, then to example.com'"
"$CORDON" run -w "$ws" --network proxy --allow "localhost:$port" -- bash -c \
	"curl -sS -o /dev/null -w 'localhost:$port: HTTP %{http_code}\n' http://localhost:$port/; curl -sS -m 5 http://example.com/" 2>&1 || true
say "cordon run --report DEMO/report.json -w CHECKOUT -- bash -c 'echo x > ~/.profile; echo done'"
"$CORDON" run -w "$ws" --report "$demo/report.json" -- bash -c 'echo x > ~/.profile; echo done' 2>&1 || true
cat "$demo/report.json"
say "after the runs, on the host:"
echo "~/.bashrc:               $(cat "$HOME/.bashrc")"
echo ".git/hooks/pre-commit:   $([[ -e $ws/.git/hooks/pre-commit ]] && echo PRESENT || echo absent)"
echo ".agents:                 $([[ -e $ws/.agents ]] && echo PRESENT || echo absent)"
echo "sleep 300 still running: $(pgrep -f 'sleep 300' >/dev/null && echo YES || echo no)"
echo "the host's loopback server is up: $(bash -c "exec 3<>/dev/tcp/127.0.0.1/$port" 2>/dev/null && echo yes || echo no)"
# Staged: an agent's edits held in a session, reviewed, then partly committed, the rest discarded.
say "cordon run --staged --session demo -w CHECKOUT -- bash -c 'sed -i s/0/42/ main.c; echo notes > NOTES.md; rm hello'"
"$CORDON" run --staged --session demo -w "$ws" -- bash -c 'sed -i s/0/42/ main.c; echo notes > NOTES.md; rm hello' 2>&1 || true
echo "on the host, main.c still says: $(cat "$ws/main.c")"
say "cordon diff demo --stat; cordon diff demo main.c"
"$CORDON" diff demo --stat
"$CORDON" diff demo "$ws/main.c"
say "cordon commit demo main.c NOTES.md; cordon discard demo"
(cd "$ws" && "$CORDON" commit demo main.c NOTES.md && "$CORDON" discard demo) 2>&1
echo "on the host, main.c now says: $(cat "$ws/main.c"); NOTES.md: $(cat "$ws/NOTES.md" 2>&1); hello: $([[ -e $ws/hello ]] && echo kept || echo gone)"
say "cordon log --denied   # what the audit log holds of the refusals above"
"$CORDON" log --denied
