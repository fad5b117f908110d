#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Guarantee 4: with --network off (the default) the command reaches nothing: no TCP or UDP over v4
# or v6 (the host's own loopback included), no ICMP, raw, packet or vsock sockets, no host
# pathname unix socket, no host abstract unix socket; nothing outside can connect in; and the
# command's own loopback still works.
#
# The host side is the probe's `listen` helper: each listener first receives a control message
# from the test user outside the sandbox (so it is reachable: ports, file modes), then whatever the
# sandbox manages to send, then STOP. It passes when the sandbox's messages never arrived.
# All traffic stays on loopback.
# shellcheck source=../lib.sh
. "$(dirname "$0")/../lib.sh"

mk_scratch
LISTEN_SECS=60

# start_listener NAME KIND ADDR PORT: a host listener in the background; sets PORT_<NAME>.
declare -A LPID LKIND LADDR LPORT
start_listener() {
	local name=$1 kind=$2 addr=$3 port=$4
	"$P" listen "$kind" "$addr" "$port" "$LISTEN_SECS" >"$LOGS/$name.out" 2>&1 &
	LPID[$name]=$!
	track_pid "$!"
	LKIND[$name]=$kind LADDR[$name]=$addr
	if ! wait_for 50 grep -q '^listening' "$LOGS/$name.out"; then
		bail_out "listener $name ($kind $addr) did not start: $(cat "$LOGS/$name.out")"
	fi
	LPORT[$name]=$(awk '/^listening/ {print $2; exit}' "$LOGS/$name.out")
}

# send_to NAME MSG [as_user]: sends MSG to listener NAME from the host.
send_to() {
	local name=$1 msg=$2
	shift 2
	local kind=${LKIND[$name]} addr=${LADDR[$name]} port=${LPORT[$name]}
	case $kind in
	tcp*) "$@" "$P" tcp "$addr" "$port" "$msg" ;;
	udp*) "$@" "$P" udp "$addr" "$port" "$msg" ;;
	unix) "$@" "$P" unix-connect "$addr" "$msg" ;;
	abstract) "$@" "$P" abstract-connect "$addr" "$msg" ;;
	icmp*) "$@" "$P" icmp-raw "$addr" "$msg" ;;
	esac
}

# attack_net NAME ACTION ARGS...: the probe inside must be refused (the listener is checked later).
attack_net() {
	local desc=$1
	shift
	sbp "$@"
	if probe_refused; then ok "$desc (refused: $(errno_of_last))"; else not_ok "$desc" "$(what_happened)"; fi
}

HAVE_V6=true
"$P" loopback tcp6 >/dev/null 2>&1 || HAVE_V6=false

start_listener tcp4 tcp4 127.0.0.1 0
start_listener udp4 udp4 127.0.0.1 0
if $HAVE_V6; then
	start_listener tcp6 tcp6 ::1 0
	start_listener udp6 udp6 ::1 0
fi
start_listener unix unix "$T/host.sock" 0
start_listener abstract abstract "cordon-escape-$NONCE" 0
if $IS_ROOT_SCRIPT; then
	# /run is where docker.sock, dbus and ssh-agent sockets live. Only root can put one there.
	track_path "/run/cordon-escape-$NONCE.sock"
	start_listener run unix "/run/cordon-escape-$NONCE.sock" 0
	start_listener icmp4 icmp4 127.0.0.1 0
fi

# Controls: each listener is reachable from the host by the test user.
for name in "${!LPID[@]}"; do
	case $name in icmp4) send_to "$name" "control-$NONCE" ;; *) send_to "$name" "control-$NONCE" as_user ;; esac >/dev/null
done

# --- attacks from inside -----------------------------------------------------------------------
require_visible "$T/host.sock"
attack_net "TCP to the host's 127.0.0.1" tcp 127.0.0.1 "${LPORT[tcp4]}" "escape-$NONCE-tcp4"
sbp udp 127.0.0.1 "${LPORT[udp4]}" "escape-$NONCE-udp4" # a send into the sandbox's own loopback may "succeed"
if $HAVE_V6; then
	attack_net "TCP to the host's ::1" tcp ::1 "${LPORT[tcp6]}" "escape-$NONCE-tcp6"
	sbp udp ::1 "${LPORT[udp6]}" "escape-$NONCE-udp6"
fi
attack_net "connect to a host unix socket next to the workspace" unix-connect "$T/host.sock" "escape-$NONCE-unix"
if $IS_ROOT_SCRIPT; then
	attack_net "connect to a host unix socket in /run" unix-connect "/run/cordon-escape-$NONCE.sock" "escape-$NONCE-run"
fi
attack_net "connect to a host abstract unix socket" abstract-connect "cordon-escape-$NONCE" "escape-$NONCE-abstract"
attack_net "ICMP echo on a raw socket" icmp-raw 127.0.0.1 "escape-$NONCE-icmp"
attack_net "ICMP echo on a ping socket" icmp-dgram 127.0.0.1 "escape-$NONCE-icmp"
if $HAVE_V6; then
	attack_net "ICMPv6 echo on a raw socket" icmp-raw ::1 "escape-$NONCE-icmp6"
	attack_net "ICMPv6 echo on a ping socket" icmp-dgram ::1 "escape-$NONCE-icmp6"
fi
# With the network off there is no proxy either: its ports inside must be closed.
attack_net "no HTTP proxy inside on 127.0.0.1:3128" tcp 127.0.0.1 3128 "escape-$NONCE-proxy"
attack_net "no SOCKS proxy inside on 127.0.0.1:1080" tcp 127.0.0.1 1080 "escape-$NONCE-socks"
attack_net "raw IP socket" socket inet raw 255
attack_net "packet socket" packet
attack_net "vsock stream socket (a path out of a VM that no network namespace covers)" socket vsock stream 0
attack_net "vsock datagram socket" socket vsock dgram 0

# --- what the host listeners received ------------------------------------------------------------
for name in "${!LPID[@]}"; do
	if [[ $name == icmp4 ]]; then send_to "$name" STOP >/dev/null; else send_to "$name" STOP as_user >/dev/null; fi
	wait "${LPID[$name]}" 2>/dev/null
	got=$(cat "$LOGS/$name.out")
	if [[ $got == *"got escape-$NONCE"* ]]; then
		not_ok "host $name listener received nothing from the sandbox" "$got"
	elif [[ $got != *"got control-$NONCE"* || $got != *"got STOP"* ]]; then
		not_ok "host $name listener received nothing from the sandbox (and the controls did arrive)" \
			"the control or STOP did not arrive, so the check proves nothing:" "$got"
	else
		ok "host $name listener received nothing from the sandbox (controls arrived)"
	fi
done

# --- nothing outside can connect in ---------------------------------------------------------------
# Two ports that nothing on the host listens on (checked), for listeners inside the sandbox.
free_port() {
	local port
	for _ in 1 2 3 4 5 6 7 8 9 10; do
		port=$((20000 + RANDOM % 30000))
		run "$P" tcp 127.0.0.1 "$port" probe-port
		[[ $OUT == "fail ECONNREFUSED"* ]] && { echo "$port"; return; }
	done
	bail_out "no free port found"
}
IN4=$(free_port) IN6=$(free_port)
inner="'$P' listen tcp4 0.0.0.0 $IN4 4 & "
$HAVE_V6 && inner+="'$P' listen tcp6 :: $IN6 4 & "
inner+="wait"
sb_bg "$LOGS/inbound.out" -w "$WS" -- /bin/sh -c "$inner"
want=1 # read by the eval below
# shellcheck disable=SC2034
$HAVE_V6 && want=2
if wait_for 100 eval '[[ $(grep -c "^listening" "$LOGS/inbound.out") -ge $want ]]'; then
	run "$P" tcp 127.0.0.1 "$IN4" "inbound-$NONCE"
	if probe_refused; then
		ok "the host cannot connect to a TCP listener inside the sandbox on 127.0.0.1 (refused: $(errno_of_last))"
	else
		not_ok "the host cannot connect to a TCP listener inside the sandbox on 127.0.0.1" "$(what_happened)"
	fi
	if $HAVE_V6; then
		run "$P" tcp ::1 "$IN6" "inbound-$NONCE"
		if probe_refused; then
			ok "the host cannot connect to a TCP listener inside the sandbox on ::1 (refused: $(errno_of_last))"
		else
			not_ok "the host cannot connect to a TCP listener inside the sandbox on ::1" "$(what_happened)"
		fi
	fi
	wait "$SB_PID"
	unlike "$(cat "$LOGS/inbound.out")" "got inbound" "the listeners inside received nothing from the host"
else
	not_ok "a listener could be started inside the sandbox" "$(cat "$LOGS/inbound.out")"
	kill -KILL "$SB_PID" 2>/dev/null
fi

# --- the command's own loopback works ----------------------------------------------------------
for kind in tcp4 udp4 $($HAVE_V6 && echo tcp6 udp6); do
	sbp loopback "$kind"
	if probe_succeeded; then ok "own loopback works inside: $kind"; else not_ok "own loopback works inside: $kind" "$(what_happened)"; fi
done

done_testing
