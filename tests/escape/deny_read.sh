#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Guarantee 3: deny-read paths (the default list under HOME, and --deny-read) cannot be read:
# directly, through a symlink, through a hard link made inside, through /proc/*/root, or after
# renaming a parent. Secret-looking environment variables are dropped too. Every secret file holds
# a nonce; the test passes only when that nonce never comes out of the sandbox.
# shellcheck source=../lib.sh
. "$(dirname "$0")/../lib.sh"

mk_scratch

# Default deny list, relative to HOME (the sandbox's HOME is $HOMEDIR).
DEFAULTS=(.ssh/id_ed25519 .gnupg/private-keys-v1.d/key.key .aws/credentials .config/gcloud/credentials.db
	.azure/accessTokens.json .kube/config .docker/config.json .netrc .git-credentials)

make_secrets() {
	local f
	for f in "${DEFAULTS[@]}"; do
		mkdir -p "$(dirname "$HOMEDIR/$f")"
		printf 'SECRET-%s-%s\n' "$NONCE" "$f" >"$HOMEDIR/$f"
	done
	mkdir -p "$T/secret" "$WS/private"
	printf 'SECRET-%s-outside\n' "$NONCE" >"$T/secret/key"
	printf 'SECRET-%s-wsfile\n' "$NONCE" >"$WS/private.key"
	printf 'SECRET-%s-wsdir\n' "$NONCE" >"$WS/private/key"
	ln -sfn "$HOMEDIR/.ssh/id_ed25519" "$WS/ssh-link"
	ln -sfn "$HOMEDIR/.ssh" "$WS/ssh-dir-link"
	own "$HOMEDIR" "$T/secret" "$WS"
}
make_secrets
# The secrets' names and contents (not times: make_secrets rewrites them between attacks).
secret_hashes() {
	(cd "$HOMEDIR" && find . -type f -exec sha256sum {} + | LC_ALL=C sort)
}
STATE_BEFORE=$(secret_hashes)

# noleak DESC SANDBOX-ARGS...: runs the sandbox; passes when no nonce came out (stdout or stderr)
# and the command did not read the file (the probe's `read` was refused or saw other content).
noleak() {
	local desc=$1
	shift
	run sb "$@"
	if [[ $OUT$ERR == *"SECRET-$NONCE"* ]]; then
		not_ok "$desc" "the secret came out:" "$(what_happened)"
	elif [[ $RC == 125 || $RC == 126 || $RC == 127 ]]; then
		not_ok "$desc" "the sandbox did not run the attack:" "$(what_happened)"
	else
		ok "$desc ($(last_line "$OUT" | cut -c1-60))"
	fi
}

# --- controls -----------------------------------------------------------------------------------
run as_user "$P" read "$HOMEDIR/.ssh/id_ed25519"
if [[ $OUT == *"SECRET-$NONCE"* ]]; then
	ok "control: outside the sandbox the test user can read the secrets"
else
	not_ok "control: outside the sandbox the test user can read the secrets" "$(what_happened)"
fi
run sb -w "$WS" --no-default-deny-read -- "$P" read "$HOMEDIR/.ssh/id_ed25519"
if [[ $OUT == *"SECRET-$NONCE"* ]]; then
	ok "control: with --no-default-deny-read the sandbox reads ~/.ssh (so the refusals below are the policy's)"
else
	not_ok "control: with --no-default-deny-read the sandbox reads ~/.ssh" "$(what_happened)"
fi
require_visible "$HOMEDIR/.bashrc"

# --- the default list ---------------------------------------------------------------------------
for f in "${DEFAULTS[@]}"; do
	noleak "default deny: ~/$f is unreadable" -w "$WS" -- "$P" read "$HOMEDIR/$f"
done
run sb -w "$WS" -- "$P" readdir "$HOMEDIR/.ssh"
if [[ $OUT != *id_ed25519* && $RC != 125 ]]; then
	ok "default deny: ~/.ssh cannot be listed ($(last_line "$OUT"))"
else
	not_ok "default deny: ~/.ssh cannot be listed" "$(what_happened)"
fi
noleak "through a symlink in the workspace" -w "$WS" -- "$P" read "$WS/ssh-link"
noleak "through a symlink to the directory" -w "$WS" -- "$P" read "$WS/ssh-dir-link/id_ed25519"
noleak "through /proc/self/root" -w "$WS" -- "$P" read "/proc/self/root$HOMEDIR/.ssh/id_ed25519"
noleak "through /proc/1/root" -w "$WS" -- "$P" read "/proc/1/root$HOMEDIR/.ssh/id_ed25519"
noleak "through a .. alias" -w "$WS" -- "$P" read "$HOMEDIR/.config/../.ssh/id_ed25519"
noleak "through a hard link made inside (to the workspace)" -w "$WS" -- /bin/sh -c \
	"'$P' link '$HOMEDIR/.ssh/id_ed25519' '$WS/hl'; exec '$P' read '$WS/hl'"
noleak "through /proc/self/root twice" -w "$WS" -- "$P" read "/proc/self/root/proc/self/root$HOMEDIR/.aws/credentials"

# --- --deny-read ---------------------------------------------------------------------------------
noleak "--deny-read DIR outside the workspace" -w "$WS" --deny-read "$T/secret" -- "$P" read "$T/secret/key"
noleak "--deny-read FILE inside the workspace" -w "$WS" --deny-read "$WS/private.key" -- "$P" read "$WS/private.key"
noleak "--deny-read FILE: hard link it inside the workspace, read the link" \
	-w "$WS" --deny-read "$WS/private.key" -- /bin/sh -c \
	"'$P' link '$WS/private.key' '$WS/copy.key'; exec '$P' read '$WS/copy.key'"
make_secrets
noleak "--deny-read FILE: rename it, read the new name" \
	-w "$WS" --deny-read "$WS/private.key" -- /bin/sh -c \
	"'$P' rename '$WS/private.key' '$WS/open.key'; exec '$P' read '$WS/open.key'"
make_secrets
noleak "--deny-read DIR: rename the directory, read inside it" \
	-w "$WS" --deny-read "$WS/private" -- /bin/sh -c \
	"'$P' rename '$WS/private' '$WS/public'; exec '$P' read '$WS/public/key'"
make_secrets
mkdir -p "$WS/a/b" && printf 'SECRET-%s-deep\n' "$NONCE" >"$WS/a/b/key" && own "$WS/a"
noleak "--deny-read FILE: rename a parent directory, read through the new path" \
	-w "$WS" --deny-read "$WS/a/b/key" -- /bin/sh -c \
	"'$P' rename '$WS/a' '$WS/z'; exec '$P' read '$WS/z/b/key'"
make_secrets
noleak "--deny-read FILE: a symlink to it in /tmp" -w "$WS" --deny-read "$T/secret" -- /bin/sh -c \
	"'$P' symlink '$T/secret/key' /tmp/k; exec '$P' read /tmp/k"

# --- the host changes deny-read paths while the command runs ----------------------------------------
# Credential tools replace their files atomically (write a temporary file, rename it over the old
# one: git credential-store, aws, gcloud, kubectl) or create them for the first time (a login in
# another terminal). Either must stay unreadable in a sandbox that is already running.
make_secrets
rm -rf "$HOMEDIR/.kube" "$HOMEDIR/.netrc" "$WS/ready" "$WS/go"
wait_go="i=0; while [ ! -e '$WS/go' ] && [ \$i -lt 100 ]; do '$P' sleep 50 >/dev/null; i=\$((i+1)); done"
sb_bg "$LOGS/midrun.out" -w "$WS" --deny-read "$T/secret/key" --deny-read "$WS/private.key" -- /bin/sh -c \
	"'$P' write '$WS/ready' x >/dev/null; $wait_go; for f in '$T/secret/key' '$WS/private.key' \
	'$HOMEDIR/.git-credentials' '$HOMEDIR/.kube/config' '$HOMEDIR/.netrc'; do '$P' read \$f; done"
if wait_for 100 test -e "$WS/ready"; then
	printf 'SECRET-%s-mid-outside\n' "$NONCE" >"$T/secret/key.tmp" && mv "$T/secret/key.tmp" "$T/secret/key"
	printf 'SECRET-%s-mid-wsfile\n' "$NONCE" >"$WS/.private.key.tmp" && mv "$WS/.private.key.tmp" "$WS/private.key"
	printf 'SECRET-%s-mid-gitcred\n' "$NONCE" >"$HOMEDIR/.git-credentials.lock" &&
		mv "$HOMEDIR/.git-credentials.lock" "$HOMEDIR/.git-credentials"
	mkdir -p "$HOMEDIR/.kube" && printf 'SECRET-%s-mid-kube\n' "$NONCE" >"$HOMEDIR/.kube/config"
	printf 'SECRET-%s-mid-netrc\n' "$NONCE" >"$HOMEDIR/.netrc"
	own "$HOMEDIR" "$T/secret" "$WS"
	touch "$WS/go"
	wait "$SB_PID"
	mid=$(cat "$LOGS/midrun.out")
	for item in "outside:a --deny-read file replaced by rename on the host mid-run" \
		"wsfile:a --deny-read file in the workspace replaced by rename on the host mid-run" \
		"gitcred:~/.git-credentials replaced by rename on the host mid-run (as git credential-store does)" \
		"kube:~/.kube/config created on the host mid-run" \
		"netrc:~/.netrc created on the host mid-run"; do
		if [[ $mid == *"SECRET-$NONCE-mid-${item%%:*}"* && ${item%%:*} == wsfile ]]; then
			# Known limit (docs/policy.md, deny-read): inside a writable root only the mount hides a
			# deny-read path, since Landlock cannot take one name out of a root the command must read
			# whole; a file renamed over it from the host mid-run is readable.
			echo "not ok $((++_tap_n)) - ${item#*:} stays unreadable # TODO known limit: inside a writable root, the mount layer only"
		elif [[ $mid == *"SECRET-$NONCE-mid-${item%%:*}"* ]]; then
			not_ok "${item#*:} stays unreadable" "$mid"
		else
			ok "${item#*:} stays unreadable"
		fi
	done
else
	not_ok "the sandbox started for the mid-run tests" "$(cat "$LOGS/midrun.out")"
	kill -KILL "$SB_PID" 2>/dev/null
fi
make_secrets

# The secrets are still there on the host, unchanged: deny-read masks, it never removes.
is "$(secret_hashes)" "$STATE_BEFORE" "host: the secret files under HOME are all still there, unchanged"

# --- secret-looking environment variables ------------------------------------------------------
SECRET_VARS=(GITHUB_TOKEN GH_TOKEN NPM_TOKEN AWS_SECRET_ACCESS_KEY AWS_ACCESS_KEY_ID AWS_SESSION_TOKEN
	DB_PASSWORD PGPASSWORD OPENAI_API_KEY ANTHROPIC_API_KEY MY_SECRET)
EXTRA_ENV=("CORDON_PLAIN=plain-$NONCE")
for v in "${SECRET_VARS[@]}"; do EXTRA_ENV+=("$v=SECRET-$NONCE-$v"); done
for v in "${SECRET_VARS[@]}"; do
	noleak "secret-looking \$$v is not passed in" -w "$WS" -- "$P" getenv "$v"
done
run sb -w "$WS" -- "$P" getenv CORDON_PLAIN
is "$OUT" "ok plain-$NONCE" "control: an ordinary variable is passed in"
run sb -w "$WS" -- /bin/sh -c 'env'
if [[ $OUT$ERR != *"SECRET-$NONCE"* && $RC == 0 ]]; then
	ok "no secret in the whole environment (env)"
else
	not_ok "no secret in the whole environment (env)" "$(what_happened)"
fi
run sb -w "$WS" --env-keep GITHUB_TOKEN -- "$P" getenv GITHUB_TOKEN
is "$OUT" "ok SECRET-$NONCE-GITHUB_TOKEN" "--env-keep passes a named secret on purpose"
EXTRA_ENV=()

done_testing
