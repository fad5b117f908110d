#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Fail closed: when a kernel feature a guarantee rests on is missing (forced here with a seccomp
# wrapper that makes its syscall return ENOSYS, as on an older kernel), cordon refuses with 125, one
# line naming what and a hint; with --allow-degraded it runs, says so, and the remaining layer holds.
. "$(dirname "$0")/../lib.sh"
: "${ENOSYS:?ENOSYS must name the enosys wrapper}"
mk_scratch
printf 'victim\n' >"$OUTD/victim"
# The build tree may not be reachable by the test user (a clone under /root): use a copy.
if ! as_user test -x "$ENOSYS"; then
	cp "$ENOSYS" "$T/bin/enosys" && chmod 0755 "$T/bin/enosys"
	ENOSYS=$T/bin/enosys
fi

# run_without SYSCALLS ARGS...: `cordon run ARGS...` as the test user, with SYSCALLS failing.
run_without() {
	local calls=$1
	shift
	_sb_argv
	local o e
	o=$(mktemp) e=$(mktemp)
	# _SB is [setpriv ...] env -i VARS... CORDON; the wrapper goes right before cordon.
	local n=${#_SB[@]}
	timeout -s KILL 30 "${_SB[@]:0:n-1}" "$ENOSYS" "$calls" -- "${_SB[n-1]}" run "$@" </dev/null >"$o" 2>"$e"
	RC=$?
	OUT=$(cat "$o") ERR=$(cat "$e")
	rm -f "$o" "$e"
}

one_line() { [[ $(printf '%s\n' "$ERR" | grep -c .) == 1 ]]; }

# Control: the wrapper itself does not break cordon.
run_without getcpu -w "$WS" -- /bin/true
is "$RC" 0 "control: cordon runs under the wrapper when nothing it needs is missing"

run_without landlock_create_ruleset,landlock_add_rule,landlock_restrict_self -w "$WS" -- /bin/true
is "$RC" 125 "no Landlock: refused (125)"
if one_line && [[ $ERR == *Landlock* && $ERR == *hint:*--allow-degraded* ]]; then ok "no Landlock: one line naming Landlock, with a hint"
else not_ok "no Landlock: one line naming Landlock, with a hint" "$ERR"; fi

before=$(tree_state "$OUTD")
run_without landlock_create_ruleset,landlock_add_rule,landlock_restrict_self -w "$WS" --allow-degraded -- \
	/bin/sh -c "echo pwned > '$OUTD/victim'; echo ran"
after=$(tree_state "$OUTD")
like "$OUT" ran "no Landlock, --allow-degraded: the command runs"
like "$ERR" "warning:.*Landlock" "no Landlock, --allow-degraded: cordon says what it gave up"
is "$after" "$before" "no Landlock, --allow-degraded: the mount layer still stops a write outside"

run_without mount_setattr -w "$WS" -- /bin/true
is "$RC" 125 "no mount_setattr (Linux < 5.12): refused (125)"
if one_line && [[ $ERR == *read-only* && $ERR == *hint:* ]]; then ok "no mount_setattr: one line saying what failed, with a hint"
else not_ok "no mount_setattr: one line saying what failed, with a hint" "$ERR"; fi

run_without openat2 -w "$WS" -- /bin/true
is "$RC" 125 "no openat2 (Linux < 5.6): refused (125), no bind made without it"
one_line && ok "no openat2: one line on stderr" || not_ok "no openat2: one line on stderr" "$ERR"

run_without seccomp -w "$WS" -- /bin/true
is "$RC" 125 "no seccomp(2): refused (125)"
like "$ERR" "seccomp" "no seccomp(2): the message names seccomp"

run_without userns -w "$WS" -- /bin/true
is "$RC" 125 "no unprivileged user namespaces: refused (125)"
if one_line && [[ $ERR == *namespaces* && $ERR == *hint:*doctor* ]]; then ok "no user namespaces: one line naming them, with a hint"
else not_ok "no user namespaces: one line naming them, with a hint" "$ERR"; fi
done_testing
