#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Guarantee 2: protected paths inside writable roots (.git, .codex, .agents by default, plus
# --protect) cannot be created, modified, renamed, deleted or replaced, including names that do
# not exist when the command starts; git worktrees (a .git file) and a .git symlink still work for
# `git status`; sub/.git is not protected; and no stray or placeholder file is left on the host,
# also when cordon is SIGKILLed mid-run.
# shellcheck source=../lib.sh
. "$(dirname "$0")/../lib.sh"

command -v git >/dev/null || bail_out "git is needed (apt-get install git)"
mk_scratch

# git as the test user, with no user or system config in the way.
ugit() {
	as_user env -i PATH="$PATH" HOME="$HOMEDIR" GIT_CONFIG_NOSYSTEM=1 \
		git -c user.name=t -c user.email=t@example.invalid -c init.defaultBranch=main "$@"
}

# The workspace: a git repository with .codex, no .agents, and things to plant with.
before_attack() {
	rm -rf "$WS" && mkdir -p "$WS"
	git init -q "$WS"
	mkdir -p "$WS/.codex" "$WS/evildir" "$WS/fakegit/hooks" "$WS/sub" "$WS/conf" "$WS/.git/refs/tags"
	printf 'model = "x"\n' >"$WS/.codex/config.toml"
	printf '#!/bin/sh\necho pwned\n' >"$WS/evil"
	cp "$WS/evil" "$WS/fakegit/hooks/pre-commit"
	printf '{}\n' >"$WS/settings.json"
	printf 'a: 1\n' >"$WS/conf/app.yml"
	printf 'b: 1\n' >"$WS/conf/other.yml"
	ln -s .git "$WS/gl"
	own "$WS"
}
before_attack
G=$WS/.git

# --- controls -----------------------------------------------------------------------------------
require_visible "$G/config"
run sb -w "$WS" --no-default-protect -- "$P" append "$G/config" "# control-$NONCE"
if probe_succeeded && grep -q "control-$NONCE" "$G/config"; then
	ok "control: with --no-default-protect, .git/config is writable (so refusals below are the protection's)"
else
	not_ok "control: with --no-default-protect, .git/config is writable" "$(what_happened)"
fi

# --- an existing .git ---------------------------------------------------------------------------
attack_p "create a hook in .git/hooks" "$G" create "$G/hooks/pre-commit"
attack_p "write .git/config" "$G" write "$G/config" "[core]\n\thooksPath = /tmp"
attack_p "append to .git/config" "$G" append "$G/config" pwned
attack_p "truncate .git/HEAD" "$G" truncate "$G/HEAD" 0
attack_p "unlink .git/HEAD" "$G" unlink "$G/HEAD"
attack_p "rmdir .git/refs/tags" "$G" rmdir "$G/refs/tags"
attack_p "rename .git/config within .git" "$G" rename "$G/config" "$G/config.bak"
attack_p "rename .git/config out of .git" "$G" rename "$G/config" "$WS/config-out"
attack_p "rename .git/hooks out of .git" "$G" rename "$G/hooks" "$WS/hooks-out"
attack_p "rename .git itself away" "$G" rename "$G" "$WS/git-moved"
attack_p "rename a file into .git/hooks" "$G" rename "$WS/evil" "$G/hooks/post-checkout"
attack_p "exchange a fake .git with .git" "$G" exchange "$WS/fakegit" "$G"
attack_p "symlink into .git/hooks" "$G" symlink "$WS/evil" "$G/hooks/pre-push"
attack_p "hard link into .git/hooks" "$G" link "$WS/evil" "$G/hooks/pre-push"
attack_p "chmod .git/config" "$G" chmod "$G/config" 777
attack_p "utimes .git/config" "$G" utimes "$G/config"
attack_p "setxattr .git/config" "$G" setxattr "$G/config" user.cordon pwned
attack_p "mkfifo in .git" "$G" mkfifo "$G/fifo"
attack_p "bind a unix socket in .git" "$G" bind-unix "$G/sock"
attack_p "O_TMPFILE in .git" "$G" tmpfile "$G"
attack_p "O_TMPFILE in the workspace, linkat into .git/hooks" "$G" tmpfile "$WS" "$G/hooks/pre-commit"
attack_p "io_uring open .git/config" "$G" uring-openat "$G/config" pwned
attack_p "write .git/config through a workspace symlink to .git" "$G" write "$WS/gl/config" pwned
attack_p "write .git/config through a .. alias" "$G" write "$WS/sub/../.git/config" pwned
attack_p "write .git/config through /proc/self/root" "$G" proc-root-write "$G/config" pwned
attack_p "reopen .git/config for writing via /proc/self/fd" "$G" reopen-write "$G/config" pwned
attack_p "new user+mount namespace, unmount/remount, write .git/config" "$G" userns-write "$G/config" pwned
attack_sh "write .git/config by a relative path from the workspace" "$G" \
	"cd '$WS' && exec '$P' write .git/config pwned"
attack_sh "hard link .git/config into the workspace, then write the link" "$G" \
	"'$P' link '$G/config' '$WS/cfg-hl' || exit 1; exec '$P' write '$WS/cfg-hl' pwned"

# --- .codex ----------------------------------------------------------------------------------
attack_p "write .codex/config.toml" "$WS/.codex" write "$WS/.codex/config.toml" pwned
attack_p "create a file in .codex" "$WS/.codex" create "$WS/.codex/new.toml"
attack_p "rename .codex away" "$WS/.codex" rename "$WS/.codex" "$WS/codex-moved"

# --- .agents, which does not exist when the command starts ---------------------------------------
A=$WS/.agents
attack_p "mkdir .agents" "$A" mkdir "$A"
attack_p "create a file named .agents" "$A" create "$A"
attack_p "symlink named .agents" "$A" symlink "$WS/evildir" "$A"
attack_p "mkfifo named .agents" "$A" mkfifo "$A"
attack_p "bind a unix socket named .agents" "$A" bind-unix "$A"
attack_p "hard link named .agents" "$A" link "$WS/evil" "$A"
attack_p "rename a directory to .agents" "$A" rename "$WS/evildir" "$A"
attack_p "rename a file to .agents" "$A" rename "$WS/evil" "$A"
attack_p "O_TMPFILE, linkat to .agents" "$A" tmpfile "$WS" "$A"
attack_p "io_uring mkdir .agents" "$A" uring-mkdir "$A"
attack_sh "mkdir .agents by a relative path" "$A" "cd '$WS' && exec '$P' mkdir .agents"
# The same name reached in ways a path-based check may not resolve the way the kernel does.
attack_sh "create .agents through /proc/self/cwd" "$A" "cd '$WS' && exec '$P' proc-cwd-write .agents"
attack_p "mkdir .agents through /proc/self/root" "$A" mkdir "/proc/self/root$A"
attack_p "mkdir .agents through /proc/self/fd/N (a dir fd of the workspace)" "$A" proc-fd-mkdir "$WS" .agents
attack_p "mkdirat(workspace dir fd, .agents)" "$A" mkdirat "$WS" .agents
attack_p "openat(workspace dir fd, .agents, O_CREAT)" "$A" createat "$WS" .agents
attack_p "openat2(workspace dir fd, .agents, O_CREAT)" "$A" openat2 "$WS" .agents none
attack_p "mkdir .agents through sub/.." "$A" mkdir "$WS/sub/../.agents"
attack_sh "mkdir ../.agents from a subdirectory" "$A" "cd '$WS/sub' && exec '$P' mkdir ../.agents"
attack_sh "mkdir .agents through a symlink to the workspace" "$A" \
	"'$P' symlink '$WS' '$WS/sub/self' || exit 3; exec '$P' mkdir '$WS/sub/self/.agents'"
attack_sh "mkdir .agents through a relative symlink to the workspace" "$A" \
	"'$P' symlink .. '$WS/sub/up' || exit 3; exec '$P' mkdir '$WS/sub/up/.agents'"
LONG=$WS/./sub/$(printf '..//./sub/%.0s' $(seq 1 300))../.agents
attack_p "mkdir .agents through a ${#LONG}-byte path of ./ // and .. components" "$A" mkdir "$LONG"
# A checker that approves a path and lets the kernel resolve it again can be raced: flip a symlink
# between an allowed directory and the workspace while calling mkdir through it, for one second.
attack_p "race a symlink flip against a path check (mkdir link/.agents, 1 s)" "$A" race-mkdir "$WS" .agents 1000

# A workspace that is not a repository: .git must not be creatable either.
WS2=$T/ws2
rm -rf "$WS2" && mkdir -p "$WS2" && own "$WS2"
attack "mkdir .git in a workspace that has none" "$WS2/.git" -- -w "$WS2" -- "$P" mkdir "$WS2/.git"
attack "race a symlink flip to make .git (and fill it) in a workspace that has none" "$WS2/.git" -- \
	-w "$WS2" -- "$P" race-mkdir "$WS2" .git 1000
run sb -w "$WS2" -- git init -q "$WS2"
if [[ $RC != 0 && ! -e $WS2/.git ]]; then
	ok "git init in a workspace without .git fails and leaves nothing (exit $RC)"
else
	not_ok "git init in a workspace without .git fails and leaves nothing" "$(what_happened)" "host: $(ls -la "$WS2")"
fi

# --- --protect ----------------------------------------------------------------------------------
SB_OPTS=(--protect settings.json)
attack_p "--protect NAME: write the file" "$WS/settings.json" write "$WS/settings.json" pwned
attack_p "--protect NAME: unlink the file" "$WS/settings.json" unlink "$WS/settings.json"
attack_p "--protect NAME: rename a file over it" "$WS/settings.json" rename "$WS/evil" "$WS/settings.json"
sbp write "$WS/sub/settings.json" "nested-$NONCE"
if probe_succeeded && [[ $(cat "$WS/sub/settings.json" 2>/dev/null) == "nested-$NONCE" ]]; then
	ok "--protect NAME protects the top only: sub/settings.json is writable"
else
	not_ok "--protect NAME protects the top only: sub/settings.json is writable" "$(what_happened)"
fi
SB_OPTS=()

mkdir -p "$T/extra" && printf '{}\n' >"$T/extra/settings.json" && own "$T/extra"
attack "--protect NAME applies at the top of every writable root" "$T/extra/settings.json" -- \
	-w "$WS" --writable "$T/extra" --protect settings.json -- "$P" write "$T/extra/settings.json" pwned

SB_OPTS=(--protect "$WS/conf/app.yml")
attack_p "--protect PATH: write it" "$WS/conf/app.yml" write "$WS/conf/app.yml" pwned
sbp write "$WS/conf/other.yml" "other-$NONCE"
if probe_succeeded && [[ $(cat "$WS/conf/other.yml") == "other-$NONCE" ]]; then
	ok "--protect PATH: its sibling stays writable"
else
	not_ok "--protect PATH: its sibling stays writable" "$(what_happened)"
fi
SB_OPTS=(--protect .env)
attack_p "--protect NAME that does not exist yet: create it" "$WS/.env" create "$WS/.env"
SB_OPTS=()

# Renaming an ancestor away and rebuilding the path must not leave an unprotected file there.
mkdir -p "$WS/deep/er" && printf 'deep\n' >"$WS/deep/er/file" && own "$WS/deep"
attack "--protect PATH: rename its parent away, recreate the path" "$WS/conf" -- \
	-w "$WS" --protect "$WS/conf/app.yml" -- /bin/sh -c \
	"'$P' rename '$WS/conf' '$WS/conf-moved' || exit 1; '$P' mkdir '$WS/conf'; exec '$P' write '$WS/conf/app.yml' pwned"
attack "--protect PATH: rename a far ancestor away, recreate the path" "$WS/deep" -- \
	-w "$WS" --protect "$WS/deep/er/file" -- /bin/sh -c \
	"'$P' rename '$WS/deep' '$WS/deep-moved' || exit 1; '$P' mkdir '$WS/deep'; '$P' mkdir '$WS/deep/er'; exec '$P' write '$WS/deep/er/file' pwned"
attack "--protect PATH that does not exist yet: rename its parent away, create it" "$WS/sub" -- \
	-w "$WS" --protect "$WS/sub/hook" -- /bin/sh -c \
	"'$P' rename '$WS/sub' '$WS/sub-moved' || exit 1; '$P' mkdir '$WS/sub'; exec '$P' create '$WS/sub/hook'"
attack "exchange the parent of a --protect PATH with another directory" "$WS/conf" -- \
	-w "$WS" --protect "$WS/conf/app.yml" -- "$P" exchange "$WS/conf" "$WS/evildir"

# The user's own tools replace files while the command runs (an editor saving by rename, git
# rewriting .git/config through config.lock). What they write must stay protected.
before_attack
wait_go="i=0; while [ ! -e '$WS/sub/go' ] && [ \$i -lt 100 ]; do '$P' sleep 50 >/dev/null; i=\$((i+1)); done"
sb_bg "$LOGS/midrun.out" -w "$WS" --protect settings.json -- /bin/sh -c \
	"'$P' write '$WS/sub/ready' x >/dev/null; $wait_go; '$P' write '$WS/settings.json' pwned; '$P' append '$G/config' pwned; '$P' append '$WS/.codex/config.toml' pwned"
if wait_for 100 test -e "$WS/sub/ready"; then
	printf '{"host": "%s"}\n' "$NONCE" >"$WS/settings.json.tmp" && mv "$WS/settings.json.tmp" "$WS/settings.json"
	ugit -C "$WS" config user.name "host-$NONCE"
	printf 'model = "%s"\n' "$NONCE" >"$WS/.codex/config.toml.tmp" && mv "$WS/.codex/config.toml.tmp" "$WS/.codex/config.toml"
	own "$WS"
	touch "$WS/sub/go"
	wait "$SB_PID"
	is "$(cat "$WS/settings.json")" "{\"host\": \"$NONCE\"}" "--protect NAME replaced by rename on the host mid-run stays protected"
	if grep -q "host-$NONCE" "$G/config" && ! grep -q pwned "$G/config"; then
		ok ".git/config rewritten by git on the host mid-run stays protected"
	else
		not_ok ".git/config rewritten by git on the host mid-run stays protected" "$(cat "$G/config")" "$(cat "$LOGS/midrun.out")"
	fi
	is "$(cat "$WS/.codex/config.toml")" "model = \"$NONCE\"" ".codex/config.toml replaced by rename on the host mid-run stays protected"
else
	not_ok "the sandbox started for the mid-run tests" "$(cat "$LOGS/midrun.out")"
	kill -KILL "$SB_PID" 2>/dev/null
fi

# --- nested repositories are not protected -------------------------------------------------------
git init -q "$WS/sub" && own "$WS/sub"
sbp append "$WS/sub/.git/config" "# nested-$NONCE"
if probe_succeeded && grep -q "nested-$NONCE" "$WS/sub/.git/config"; then
	ok "sub/.git is not protected (nested repositories work)"
else
	not_ok "sub/.git is not protected (nested repositories work)" "$(what_happened)"
fi
run sb -w "$WS" -- git init -q "$WS/nested"
if [[ $RC == 0 && -d $WS/nested/.git ]]; then
	ok "git init of a nested repository works"
else
	not_ok "git init of a nested repository works" "$(what_happened)"
fi
sbp mkdir "$WS/sub/.agents"
if probe_succeeded && [[ -d $WS/sub/.agents ]]; then
	ok "sub/.agents may be created"
else
	not_ok "sub/.agents may be created" "$(what_happened)"
fi

# --- worktrees and a .git symlink ---------------------------------------------------------------
REPO=$T/repo WT=$T/wt
mkdir -p "$REPO" && own "$REPO"
ugit init -q "$REPO" && printf 'x\n' >"$REPO/file" && own "$REPO" &&
	ugit -C "$REPO" add file && ugit -C "$REPO" commit -qm init && ugit -C "$REPO" worktree add -q "$WT" ||
	bail_out "cannot make the worktree fixture"
printf '#!/bin/sh\n' >"$WT/evil" && own "$WT"
run sb -w "$WT" -- git status --porcelain
if [[ $RC == 0 ]]; then ok "git status works in a worktree (.git is a file)"; else not_ok "git status works in a worktree (.git is a file)" "$(what_happened)"; fi
attack "worktree: overwrite the .git file" "$WT/.git" -- -w "$WT" -- "$P" write "$WT/.git" "gitdir: /tmp/evil"
attack "worktree: rename a file over .git" "$WT/.git" -- -w "$WT" -- "$P" rename "$WT/evil" "$WT/.git"
attack "worktree: unlink .git" "$WT/.git" -- -w "$WT" -- "$P" unlink "$WT/.git"

WS3=$T/ws3
mkdir -p "$WS3" && cp "$REPO/file" "$WS3/" && ln -s "$REPO/.git" "$WS3/.git" && own "$WS3"
run sb -w "$WS3" -- git status --porcelain
if [[ $RC == 0 ]]; then ok "git status works when .git is a symlink"; else not_ok "git status works when .git is a symlink" "$(what_happened)"; fi
attack "a .git symlink cannot be removed" "$WS3/.git" -- -w "$WS3" -- "$P" unlink "$WS3/.git"
attack "a .git symlink cannot be replaced" "$WS3/.git" -- -w "$WS3" -- "$P" rename "$WS3/file" "$WS3/.git"

# A .git symlink to a directory INSIDE the workspace: git uses the target, so a hook planted there
# would run just the same. The protection has to follow the link.
WS4=$T/ws4
mkdir -p "$WS4" && git init -q --separate-git-dir="$WS4/gitdata" "$WS4" && rm -f "$WS4/.git" &&
	ln -s gitdata "$WS4/.git" && own "$WS4"
attack "a hook cannot be planted in the target of a .git symlink inside the workspace" "$WS4/gitdata" -- \
	-w "$WS4" -- "$P" create "$WS4/gitdata/hooks/pre-commit"

# --- cordon's own clean-up must not become a way out -------------------------------------------
# When a guarded name appears anyway (the race above), cordon moves it to its quarantine under
# $HOME/.local/state. With HOME inside the workspace the command can plant a symlink there first;
# the move must not follow it to a place outside the writable roots.
QH=$T/qhome ELSEWHERE=$T/elsewhere
mkdir -p "$QH" "$ELSEWHERE" && own "$QH" "$ELSEWHERE"
EXTRA_ENV=("HOME=$QH" "XDG_CONFIG_HOME=$HOMEDIR/.config")
before=$(tree_state "$ELSEWHERE")
run sb -w "$QH" -- /bin/sh -c "mkdir -p '$QH/.local/state/cordon' && ln -s '$ELSEWHERE' '$QH/.local/state/cordon/quarantine' &&
	exec '$P' race-mkdir '$QH' .agents 1000"
EXTRA_ENV=()
if [[ $(tree_state "$ELSEWHERE") == "$before" && ! -e $QH/.agents ]]; then
	ok "the quarantine cannot be redirected outside the writable roots (exit $RC)"
else
	not_ok "the quarantine cannot be redirected outside the writable roots" "host: $(find "$ELSEWHERE" "$QH/.agents" 2>&1)" "$(what_happened)"
fi

# --- no stray files -----------------------------------------------------------------------------
before_attack
SB_OPTS=(--protect .env --protect "$WS/not-yet/deep")
before_ws=$(names "$WS") before_t=$(names "$T")
sbp stat "$WS"
if [[ $(names "$WS") == "$before_ws" && $(names "$T") == "$before_t" ]]; then
	ok "a run leaves no stray or placeholder file (workspace and its parent unchanged)"
else
	not_ok "a run leaves no stray or placeholder file" "$(diff <(echo "$before_ws") <(names "$WS"))" \
		"$(diff <(echo "$before_t") <(names "$T"))"
fi

tag=protected-kill-$NONCE
sb_bg "$LOGS/kill.out" -w "$WS" "${SB_OPTS[@]}" -- "$P" linger 20000 "$tag"
if wait_for 50 probe_running "$tag"; then
	kill -KILL "$SB_PID"
	wait "$SB_PID" 2>/dev/null
	if wait_for 50 no_process_matching "$tag"; then
		ok "SIGKILL of cordon mid-run: the sandboxed command is gone too"
	else
		not_ok "SIGKILL of cordon mid-run: the sandboxed command is gone too" "$(ps -o pid,comm,args -p "$(pgrep -d, -f -- "$tag")")"
		kill_matching "$tag"
	fi
	if [[ $(names "$WS") == "$before_ws" && $(names "$T") == "$before_t" ]]; then
		ok "SIGKILL of cordon mid-run leaves no stray or placeholder file"
	else
		not_ok "SIGKILL of cordon mid-run leaves no stray or placeholder file" \
			"$(diff <(echo "$before_ws") <(names "$WS"))" "$(diff <(echo "$before_t") <(names "$T"))"
	fi
else
	not_ok "SIGKILL of cordon mid-run: the sandboxed command started" "$(cat "$LOGS/kill.out")"
	not_ok "SIGKILL of cordon mid-run leaves no stray or placeholder file" "not run"
fi
rm -f "$LOGS/kill.out"
SB_OPTS=()

done_testing
