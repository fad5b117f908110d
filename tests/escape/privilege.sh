#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Guarantee 6: no privilege. All capability sets are empty (also when started as root, and after
# exec of a setuid-root or file-capability binary), no_new_privs is set, seccomp is on, and the
# kernel interfaces a build never needs are refused: new user namespaces (unshare, clone, clone3),
# mount (old and new API), keyctl/add_key, bpf, perf_event_open, userfaultfd, io_uring. Arguments
# the kernel reads as 32-bit ints are compared as such (socket() with bit 32 set in the domain).
#
# Each refusal is paired with a control: the same action outside the sandbox, as the same user,
# succeeds (so the kernel allows it, and the refusal is the sandbox's).
# shellcheck source=../lib.sh
. "$(dirname "$0")/../lib.sh"

mk_scratch
ZERO=0000000000000000

sbp caps
is "$OUT" "ok eff=$ZERO prm=$ZERO inh=$ZERO bnd=$ZERO amb=$ZERO" "all capability sets are empty inside (as $TEST_USER)"
sbp nnp
is "$OUT" "ok no_new_privs=1" "no_new_privs is set"
sbp seccomp
is "$OUT" "ok seccomp=2" "a seccomp filter is installed"
sbp whoami
like "$OUT" "^ok uid=$TEST_UID euid=$TEST_UID suid=$TEST_UID gid=$TEST_GID egid=$TEST_GID" "the command runs as the caller's own ids"

# --- setuid and file capabilities ------------------------------------------------------------------
if $IS_ROOT_SCRIPT; then
	mkdir -p "$T/priv"
	cp "$P" "$T/priv/suid-probe"
	chown root:root "$T/priv/suid-probe"
	chmod 4755 "$T/priv/suid-probe"
	if [[ $TEST_UID != 0 ]]; then
		run as_user "$T/priv/suid-probe" whoami
		like "$OUT" "euid=0 " "control: outside the sandbox the setuid-root copy runs with euid 0"
		run sb -w "$WS" -- "$T/priv/suid-probe" whoami
		like "$OUT" "^ok uid=$TEST_UID euid=$TEST_UID suid=$TEST_UID" "a setuid-root binary gains no root inside"
		run sb -w "$WS" -- "$T/priv/suid-probe" caps
		is "$OUT" "ok eff=$ZERO prm=$ZERO inh=$ZERO bnd=$ZERO amb=$ZERO" "a setuid-root binary gains no capability inside"
	fi
	if command -v setcap >/dev/null; then
		cp "$P" "$T/priv/fcap-probe"
		chmod 0755 "$T/priv/fcap-probe"
		setcap 'cap_sys_admin,cap_net_raw,cap_dac_override+ep' "$T/priv/fcap-probe"
		run as_user "$T/priv/fcap-probe" caps
		unlike "$OUT" "eff=$ZERO" "control: outside the sandbox the file-capability copy gets capabilities"
		run sb -w "$WS" -- "$T/priv/fcap-probe" caps
		is "$OUT" "ok eff=$ZERO prm=$ZERO inh=$ZERO bnd=$ZERO amb=$ZERO" "a file-capability binary gains no capability inside"
	else
		not_ok "a file-capability binary gains no capability inside" "setcap is missing: apt-get install libcap2-bin"
	fi
fi

if [[ $TEST_UID != 0 ]]; then
	sbp setuid0
	if probe_refused; then ok "setuid(0) is refused"; else not_ok "setuid(0) is refused" "$(what_happened)"; fi
fi

# --- kernel interfaces ---------------------------------------------------------------------------
# refused_with_control DESC ACTION ARGS...: the control runs outside as the test user; when the
# kernel refuses it there too (say, unprivileged bpf is off), only the refusal inside is checked,
# and the description says so.
refused_with_control() {
	local desc=$1
	shift
	# A control that mounts must not mount on the host: give it a mount namespace of its own.
	local -a wrap=()
	[[ $1 == mount-tmpfs ]] && $IS_ROOT_SCRIPT && wrap=(unshare --mount --propagation private)
	run as_user "${wrap[@]}" "$P" "$@"
	local control=works
	probe_succeeded || control="is refused outside too: $(errno_of_last)"
	sbp "$@"
	if probe_refused; then
		ok "$desc (refused: $(errno_of_last); outside it $control)"
	else
		not_ok "$desc" "$(what_happened)"
	fi
}

mkdir -p "$WS/mnt" && own "$WS/mnt"
refused_with_control "unshare(CLONE_NEWUSER)" unshare-user
refused_with_control "clone(CLONE_NEWUSER)" clone-user
refused_with_control "clone3(CLONE_NEWUSER)" clone3-user
refused_with_control "mount a tmpfs" mount-tmpfs "$WS/mnt"
refused_with_control "fsopen (new mount API)" fsopen
refused_with_control "open_tree(OPEN_TREE_CLONE)" open-tree /
refused_with_control "keyctl" keyctl
refused_with_control "add_key" add-key
refused_with_control "bpf(BPF_PROG_LOAD)" bpf
refused_with_control "perf_event_open" perf
refused_with_control "userfaultfd" userfaultfd
refused_with_control "io_uring_setup" uring-setup
# Checked from outside: nothing got mounted over the workspace directory.
if ! grep -q " $WS/mnt " /proc/self/mountinfo && [[ -z $(ls -A "$WS/mnt") ]]; then
	ok "host: nothing is mounted on $WS/mnt"
else
	not_ok "host: nothing is mounted on $WS/mnt" "$(grep " $WS/mnt " /proc/self/mountinfo)"
fi

# --- 32-bit argument comparison -----------------------------------------------------------------
# The kernel reads socket()'s domain as an int, so AF_VSOCK | 1<<32 opens a vsock socket. A filter
# that compares all 64 bits does not see AF_VSOCK there. The control shows the kernel truncating.
run as_user "$P" socket-hi vsock stream 0
if probe_succeeded; then
	ok "control: outside the sandbox, socket(AF_VSOCK | 1<<32) opens a socket (the kernel drops the high bits)"
else
	not_ok "control: outside the sandbox, socket(AF_VSOCK | 1<<32) opens a socket" "$(what_happened)"
fi
for spec in "vsock stream 0" "vsock dgram 0" "packet raw 0" "alg seqpacket 0" "bluetooth raw 0"; do
	# shellcheck disable=SC2086
	sbp socket $spec
	plain=$(errno_of_last) plain_rc=$RC
	# shellcheck disable=SC2086
	sbp socket-hi $spec
	hi=$(errno_of_last)
	if probe_refused && [[ $plain_rc != 0 && $plain == "$hi" ]]; then
		ok "socket($spec) and socket($spec | 1<<32) are refused alike ($plain)"
	else
		not_ok "socket($spec) and socket($spec | 1<<32) are refused alike" "plain: exit $plain_rc $plain" "high bits: $(what_happened)"
	fi
done

done_testing
