#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Inner sh -c scripts are single-quoted on purpose (their variables are the inner shell's).
# shellcheck disable=SC2016,SC2317
#
# `--network proxy` with --allow/--deny: the command reaches only what the rules allow, whether it
# uses the proxy variables (HTTP proxy, CONNECT, SOCKS5) or ignores them (transparent mode: TCP
# redirected to the proxy, which takes the name from the TLS SNI or HTTP Host; DNS answered by
# cordon's resolver; other UDP dropped).
#
# All traffic stays on this machine: loopback, and a test host in a network namespace this script
# makes (`cth-NONCE`), joined to the host's namespace by a veth pair on 198.51.100.0/24 (TEST-NET-2):
#   host side 198.51.100.1; test host 198.51.100.2 and 198.51.100.3
#   HTTP  198.51.100.2:80, :8080, :9999 and 198.51.100.3:8080 (answer "marker ADDR:PORT REQUEST-LINE")
#   TLS   198.51.100.2:443, 198.51.100.3:443 (log the connection and the names in the ClientHello)
#   UDP   198.51.100.2:9999 and :53 (log every datagram)
#   HTTP  127.0.0.1:A (allowed as localhost:A) and 127.0.0.1:B (never allowed), in the host's namespace
# Every server logs every connection, request and datagram; the checks read those logs from outside.
# The test names come from /etc/hosts, which this script replaces only in a private mount namespace
# (it re-executes itself under `unshare -m`):
#   198.51.100.2 allowed.test www.wild.test a.b.wild.test wild.test bad.wild.test other.test
#   198.51.100.3 third.test
# Inside the sandbox, curl is the client (with --noproxy '*' it is one that ignores the proxy
# variables) and /usr/bin/python3 sends raw DNS questions, TLS ClientHellos and datagrams.

# ---------------------------------------------------------------------------------------------
# A private mount namespace, so that /etc/hosts can be replaced for this script alone. The outer run
# records its mount namespace; the inner one refuses to touch /etc/hosts unless its own differs.

if [[ -z ${CORDON_NP_OUTER_MNTNS:-} ]]; then
	if [[ $(id -u) != 0 ]]; then
		echo "Bail out! network_proxy.sh must run as root: it makes a network namespace, a veth pair and a private /etc/hosts"
		exit 1
	fi
	if ! command -v unshare >/dev/null || ! command -v mount >/dev/null; then
		echo "Bail out! network_proxy.sh needs unshare(1) and mount(8) (util-linux)"
		exit 1
	fi
	CORDON_NP_OUTER_MNTNS=$(readlink /proc/self/ns/mnt)
	export CORDON_NP_OUTER_MNTNS
	exec unshare -m --propagation private -- /bin/bash "$0" "$@"
	echo "Bail out! cannot re-execute under unshare -m"
	exit 1
fi
if [[ $(readlink /proc/self/ns/mnt) == "$CORDON_NP_OUTER_MNTNS" ]]; then
	echo "Bail out! not in a private mount namespace (CORDON_NP_OUTER_MNTNS is set but the namespace is the same)"
	exit 1
fi

# shellcheck source=../lib.sh
. "$(dirname "$0")/../lib.sh"

CORDON=$(realpath "$CORDON") PROBE=$(realpath "$PROBE")
for c in ip curl /usr/bin/python3 getent; do
	command -v "$c" >/dev/null || bail_out "network_proxy.sh needs $c"
done
PY=/usr/bin/python3
mk_scratch
as_user test -x "$PY" || bail_out "the test user cannot run $PY"

# ---------------------------------------------------------------------------------------------
# Fixture: the hosts file, the test host's namespace, the servers. Removed on exit, even on failure.

NS=cth-$NONCE
VH=cth${NONCE:0:8}h # interface names: at most 15 characters
VT=cth${NONCE:0:8}t
NS_MADE=false
SERVER_PIDS=()

np_cleanup() {
	local pid
	for pid in "${SERVER_PIDS[@]}"; do [[ -n $pid ]] && kill -KILL "$pid" 2>/dev/null; done
	ip link del "$VH" 2>/dev/null
	if $NS_MADE; then
		for pid in $(ip netns pids "$NS" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null; done
		ip netns del "$NS" 2>/dev/null
	fi
	umount /etc/hosts 2>/dev/null
}
trap 'np_cleanup; _lib_cleanup' EXIT
trap 'exit 143' TERM
trap 'exit 130' INT
trap 'exit 129' HUP

HOSTS=$LOGS/hosts
{
	grep -E '^[[:space:]]*(127\.|::1[[:space:]])' /etc/hosts
	echo "198.51.100.2 allowed.test www.wild.test a.b.wild.test wild.test bad.wild.test other.test"
	echo "198.51.100.3 third.test"
	echo "198.51.100.1 self.test"
} >"$HOSTS"
chmod 0644 "$HOSTS"
mount --bind "$HOSTS" /etc/hosts || bail_out "cannot bind-mount the test hosts file on /etc/hosts"
if [[ $(getent ahostsv4 allowed.test | awk 'NR == 1 {print $1}') == 198.51.100.2 &&
	$(getent ahostsv4 third.test | awk 'NR == 1 {print $1}') == 198.51.100.3 &&
	$(getent ahostsv4 localhost | awk 'NR == 1 {print $1}') == 127.0.0.1 ]]; then
	ok "the private /etc/hosts names the test hosts (and keeps localhost)"
else
	bail_out "the private /etc/hosts does not resolve the test names: $(getent hosts allowed.test third.test localhost)"
fi

# The test network must be free before we claim it.
if [[ -n $(ip -o addr show to 198.51.100.0/24) ]]; then
	bail_out "198.51.100.0/24 is already configured on this host: $(ip -o addr show to 198.51.100.0/24)"
fi
ip netns add "$NS" || bail_out "ip netns add $NS failed"
NS_MADE=true
{
	ip link add "$VH" type veth peer name "$VT" &&
		ip link set "$VT" netns "$NS" &&
		ip addr add 198.51.100.1/24 dev "$VH" &&
		ip link set "$VH" up &&
		ip -n "$NS" addr add 198.51.100.2/24 dev "$VT" &&
		ip -n "$NS" addr add 198.51.100.3/24 dev "$VT" &&
		ip -n "$NS" link set "$VT" up &&
		ip -n "$NS" link set lo up
} || bail_out "cannot set up the veth pair $VH/$VT"
for a in 198.51.100.2 198.51.100.3; do
	route=$(ip -o route get "$a" 2>&1)
	[[ $route == *" dev $VH "* ]] || bail_out "the route to $a is not via $VH, refusing to send test traffic: $route"
done
ok "the routes to 198.51.100.2 and .3 go through the test veth $VH"

# The servers. np_server.py LOG SPEC...: SPEC is KIND:ADDR:PORT, KIND http, tls or udp.
cat >"$T/bin/np_server.py" <<'EOF'
import re, socket, sys, threading

log = open(sys.argv[1], "a", buffering=1)
lock = threading.Lock()

def note(line):
    with lock:
        log.write(line + "\n")
        log.flush()

def handle(kind, name, c, peer):
    note("accept %s from %s" % (name, peer[0]))
    c.settimeout(3)
    data = b""
    try:
        while len(data) < 65536:
            d = c.recv(4096)
            if not d:
                break
            data += d
            if kind == "tls" or b"\r\n\r\n" in data or b"\n\n" in data:
                break
    except OSError:
        pass
    if kind == "tls":
        names = sorted(set(n.decode() for n in re.findall(rb"[a-z0-9.-]+\.test", data)))
        note("data %s len=%d names=%s" % (name, len(data), ",".join(names) or "-"))
        c.close()
        return
    lines = data.replace(b"\r\n", b"\n").split(b"\n")
    first = lines[0].decode("latin1")
    host = "-"
    for l in lines[1:]:
        if l.lower().startswith(b"host:"):
            host = l[5:].strip().decode("latin1")
            break
    note("request %s %r host=%s" % (name, first, host))
    body = ("marker %s %s\n" % (name, first)).encode()
    try:
        c.sendall(b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n"
                  b"Connection: close\r\n\r\n" % len(body) + body)
    except OSError:
        pass
    c.close()

def handle_ka(name, c, peer):
    # An HTTP/1.1 server that keeps the connection open unless the request says Connection: close,
    # as real servers do: a second request on one connection reaches it.
    note("accept %s from %s" % (name, peer[0]))
    c.settimeout(3)
    data = b""
    try:
        while True:
            while b"\r\n\r\n" not in data:
                d = c.recv(4096)
                if not d:
                    return
                data += d
            head, data = data.split(b"\r\n\r\n", 1)
            lines = head.split(b"\r\n")
            host = "-"
            close = False
            for l in lines[1:]:
                if l.lower().startswith(b"host:"):
                    host = l[5:].strip().decode("latin1")
                if l.lower().startswith(b"connection:") and b"close" in l.lower():
                    close = True
            first = lines[0].decode("latin1")
            note("request %s %r host=%s" % (name, first, host))
            body = ("marker %s %s\n" % (name, first)).encode()
            c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
            if close:
                return
    except OSError:
        pass
    finally:
        c.close()

def serve_tcp(kind, s, name):
    while True:
        c, peer = s.accept()
        if kind == "ka":
            threading.Thread(target=handle_ka, args=(name, c, peer), daemon=True).start()
        else:
            threading.Thread(target=handle, args=(kind, name, c, peer), daemon=True).start()

def serve_udp(s, name):
    while True:
        d, peer = s.recvfrom(65536)
        note("datagram %s from %s %r" % (name, peer[0], d[:200]))

threads = []
for spec in sys.argv[2:]:
    kind, addr, port = spec.split(":")
    if kind == "udp":
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    else:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, int(port)))
    port = s.getsockname()[1]
    name = "%s:%d" % (addr, port)
    if kind == "udp":
        t = threading.Thread(target=serve_udp, args=(s, "udp/" + name), daemon=True)
    else:
        s.listen(64)
        t = threading.Thread(target=serve_tcp, args=(kind, s, name), daemon=True)
    t.start()
    threads.append(t)
    print("listening %s %s %d" % (kind, addr, port), flush=True)
print("ready", flush=True)
for t in threads:
    t.join()
EOF

# The sandbox's client. np_client.py:
#   dns NAME [SERVER]          an A query to SERVER:53 (default 192.0.2.53, which only cordon's
#                              redirect can answer): "rcode N answers A,B|-", or "no answer"
#   tls ADDR PORT SNI          a TLS ClientHello naming SNI: "reset", "eof", "handshake-ok", "error ..."
#   udp ADDR PORT MSG          one datagram: "sent" or "error ..."
#   raw ADDR PORT DATA [NAME|- [DELAY]]  an A query for NAME first, when given; then DATA (with
#                              Python escapes) on a TCP connection, DELAY seconds after connecting:
#                              "reply ...", "reset", "eof" or "error ..."
cat >"$T/bin/np_client.py" <<'EOF'
import random, socket, ssl, struct, sys, time

def dns(name, server="192.0.2.53"):
    qid = random.randrange(65536)
    q = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    for label in name.rstrip(".").split("."):
        q += bytes([len(label)]) + label.encode()
    q += b"\0" + struct.pack(">HH", 1, 1)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(4)
    s.sendto(q, (server, 53))
    try:
        r, _ = s.recvfrom(4096)
    except socket.timeout:
        return "no answer"
    rid, flags, qd, an = struct.unpack(">HHHH", r[:8])
    if rid != qid:
        return "wrong id"
    pos = len(q)
    addrs = []
    for _ in range(an):
        if r[pos] & 0xC0 == 0xC0:
            pos += 2
        else:
            while r[pos]:
                pos += r[pos] + 1
            pos += 1
        typ, cls, ttl, rdlen = struct.unpack(">HHIH", r[pos:pos + 10])
        pos += 10
        if typ == 1 and rdlen == 4:
            addrs.append(socket.inet_ntoa(r[pos:pos + 4]))
        pos += rdlen
    return "rcode %d answers %s" % (flags & 0xF, ",".join(addrs) or "-")

def tls(addr, port, sni):
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    s = socket.create_connection((addr, int(port)), timeout=5)
    try:
        ctx.wrap_socket(s, server_hostname=sni).close()
        return "handshake-ok"
    except ConnectionResetError:
        return "reset"
    except (ssl.SSLEOFError, ssl.SSLZeroReturnError):
        return "eof"
    except Exception as e:
        return "error %s: %s" % (type(e).__name__, e)

def raw(addr, port, data, name="-", delay="0"):
    if name != "-":
        print("dns " + dns(name))
    s = socket.create_connection((addr, int(port)), timeout=5)
    time.sleep(float(delay))
    s.sendall(data.encode("latin1").decode("unicode_escape").encode("latin1"))
    got = b""
    try:
        while True:
            d = s.recv(4096)
            if not d:
                break
            got += d
    except ConnectionResetError:
        return "reset"
    except socket.timeout:
        return "timeout %r" % got
    return "reply %r" % got if got else "eof"

cmd = sys.argv[1]
try:
    if cmd == "dns":
        print(dns(*sys.argv[2:4]))
    elif cmd == "tls":
        print(tls(*sys.argv[2:5]))
    elif cmd == "udp":
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.sendto(sys.argv[4].encode(), (sys.argv[2], int(sys.argv[3])))
        print("sent")
    elif cmd == "raw":
        print(raw(*sys.argv[2:7]))
except ConnectionResetError:
    print("reset")
except OSError as e:
    print("error %s: %s" % (type(e).__name__, e))
EOF
chmod 0644 "$T/bin/np_server.py" "$T/bin/np_client.py"
CL=$T/bin/np_client.py

SRVLOG=$LOGS/srv.log # the test host's servers
LOLOG=$LOGS/lo.log   # the host's loopback servers
: >"$SRVLOG"
: >"$LOLOG"
# Started from a subshell, so that they are not this shell's jobs (whose deaths bash would report
# on stderr); np_cleanup kills them by pid.
(
	ip netns exec "$NS" "$PY" "$T/bin/np_server.py" "$SRVLOG" \
		http:198.51.100.2:80 http:198.51.100.2:8080 http:198.51.100.2:9999 http:198.51.100.3:8080 ka:198.51.100.2:8081 \
		tls:198.51.100.2:443 tls:198.51.100.3:443 udp:198.51.100.2:9999 udp:198.51.100.2:53 \
		>"$LOGS/srv.out" 2>&1 </dev/null &
	echo $! >"$LOGS/srv.pid"
	"$PY" "$T/bin/np_server.py" "$LOLOG" http:127.0.0.1:0 http:127.0.0.1:0 http:198.51.100.1:0 >"$LOGS/lo.out" 2>&1 </dev/null &
	echo $! >"$LOGS/lo.pid"
)
SERVER_PIDS=("$(cat "$LOGS/srv.pid")" "$(cat "$LOGS/lo.pid")")
wait_for 100 grep -q '^ready' "$LOGS/srv.out" || bail_out "the test host's servers did not start: $(cat "$LOGS/srv.out")"
wait_for 100 grep -q '^ready' "$LOGS/lo.out" || bail_out "the loopback servers did not start: $(cat "$LOGS/lo.out")"
PA=$(awk '/^listening/ {print $4}' "$LOGS/lo.out" | sed -n 1p) # allowed as localhost:PA
PB=$(awk '/^listening/ {print $4}' "$LOGS/lo.out" | sed -n 2p) # never allowed
PC=$(awk '/^listening/ {print $4}' "$LOGS/lo.out" | sed -n 3p) # on the host's own veth address
[[ -n $PA && -n $PB && -n $PC ]] || bail_out "no host ports: $(cat "$LOGS/lo.out")"

# ---------------------------------------------------------------------------------------------
# Helpers

# req_at SERVER TAG: SERVER (ADDR:PORT) logged a request whose path starts with /TAG.
req_at() {
	grep -qF "request $1 'GET /$2 " "$SRVLOG" "$LOLOG"
}
# arrived TAG: some server logged something holding TAG.
arrived() {
	grep -qF -- "$1" "$SRVLOG" "$LOLOG"
}
# log_mark / log_since: the test host's log lines written after the mark (for TLS, which has no tag).
log_mark() {
	MARK=$(wc -l <"$SRVLOG")
}
log_since() {
	tail -n "+$((MARK + 1))" "$SRVLOG"
}
# logs_of TAG: the log lines about TAG, for diagnostics.
logs_of() {
	echo "server logs for $1:"
	grep -hF -- "$1" "$SRVLOG" "$LOLOG"
}
# curl_reset: the last run's curl saw its connection reset (transparent refusal).
curl_reset() {
	[[ $RC == 56 && $ERR == *"reset by peer"* ]]
}
# A tag per request, so that each check reads only its own log lines.
tag() {
	echo "np-$NONCE-$1"
}
DENIED_TAGS=() # every tag that must never reach a server; checked again at the end

# px ARGS...: cordon run --network proxy ARGS (the rules, then -- and the command) in $WS.
px() {
	run sb -w "$WS" --network proxy "$@"
}

# The checks below that a request did not arrive are only worth something if the servers log what
# does arrive: every server is reached from the host first.
ctl=$(tag control)
curl -sS -m5 --noproxy '*' "http://198.51.100.2:8080/$ctl" >/dev/null 2>&1
curl -sS -m5 --noproxy '*' "http://198.51.100.2:9999/$ctl" >/dev/null 2>&1
curl -sS -m5 --noproxy '*' "http://198.51.100.2/$ctl" >/dev/null 2>&1
curl -sS -m5 --noproxy '*' "http://198.51.100.3:8080/$ctl" >/dev/null 2>&1
curl -sS -m5 --noproxy '*' "http://127.0.0.1:$PA/$ctl" >/dev/null 2>&1
curl -sS -m5 --noproxy '*' "http://127.0.0.1:$PB/$ctl" >/dev/null 2>&1
curl -sS -m5 --noproxy '*' "http://198.51.100.1:$PC/$ctl" >/dev/null 2>&1
curl -sS -m5 --noproxy '*' "http://198.51.100.2:8081/$ctl" >/dev/null 2>&1
"$PY" "$CL" udp 198.51.100.2 9999 "$ctl" >/dev/null
"$PY" "$CL" tls 198.51.100.3 443 third.test >/dev/null
wait_for 30 grep -q 'data 198.51.100.3:443 .*names=third.test' "$SRVLOG"
missing=()
for s in 198.51.100.2:8080 198.51.100.2:9999 198.51.100.2:80 198.51.100.3:8080 "127.0.0.1:$PA" "127.0.0.1:$PB" \
	"198.51.100.1:$PC" 198.51.100.2:8081; do
	req_at "$s" "$ctl" || missing+=("$s")
done
grep -qF "datagram udp/198.51.100.2:9999 from 198.51.100.1 b'$ctl'" "$SRVLOG" || missing+=(udp/198.51.100.2:9999)
grep -q 'data 198.51.100.3:443 .*names=third.test' "$SRVLOG" || missing+=(tls/198.51.100.3:443)
if ((${#missing[@]})); then
	bail_out "control: servers not reached from the host: ${missing[*]}; logs: $(cat "$SRVLOG" "$LOLOG")"
fi
ok "control: every test server is reachable from the host and logs what it gets"

# ---------------------------------------------------------------------------------------------
# The proxy variables inside

px --allow allowed.test:8080 -- /usr/bin/env
want=(HTTP_PROXY=http://127.0.0.1:3128 HTTPS_PROXY=http://127.0.0.1:3128 ALL_PROXY=socks5h://127.0.0.1:1080
	"NO_PROXY=localhost,127.0.0.1,::1" http_proxy=http://127.0.0.1:3128 https_proxy=http://127.0.0.1:3128
	all_proxy=socks5h://127.0.0.1:1080 "no_proxy=localhost,127.0.0.1,::1")
missing=()
for v in "${want[@]}"; do grep -qxF -- "$v" <<<"$OUT" || missing+=("$v"); done
if [[ $RC == 0 && ${#missing[@]} == 0 ]]; then
	ok "the proxy variables are set inside (both cases)"
else
	not_ok "the proxy variables are set inside (both cases)" "missing: ${missing[*]}" "$(what_happened)"
fi

# ---------------------------------------------------------------------------------------------
# An allowed name

# allowed DESC SERVER TAG RULES... -- CMD...: the command's output holds SERVER's marker for /TAG
# and SERVER logged the request.
allowed() {
	local desc=$1 server=$2 t=$3
	shift 3
	px "$@"
	if [[ $RC == 0 && $OUT == *"marker $server GET /$t "* ]] && req_at "$server" "$t"; then
		ok "$desc"
	else
		not_ok "$desc" "$(what_happened)" "$(logs_of "$t")"
	fi
}

t=$(tag allowed-proxy)
allowed "allowed name through the proxy variables (HTTP proxy): allowed.test:8080 answers" 198.51.100.2:8080 "$t" \
	--allow allowed.test:8080 -- curl -sS -m5 "http://allowed.test:8080/$t"
if grep -qF "request 198.51.100.2:8080 'GET /$t HTTP/1.1' host=allowed.test:8080" "$SRVLOG"; then
	ok "the server saw the request from the proxy with Host: allowed.test:8080"
else
	not_ok "the server saw the request from the proxy with Host: allowed.test:8080" "$(logs_of "$t")"
fi
t=$(tag allowed-connect)
allowed "allowed name through a CONNECT tunnel (curl --proxytunnel)" 198.51.100.2:8080 "$t" \
	--allow allowed.test:8080 -- curl -sS -m5 --proxytunnel "http://allowed.test:8080/$t"
t=$(tag allowed-socks)
allowed "allowed name through SOCKS5 (socks5h://127.0.0.1:1080)" 198.51.100.2:8080 "$t" \
	--allow allowed.test:8080 -- curl -sS -m5 -x socks5h://127.0.0.1:1080 "http://allowed.test:8080/$t"
t=$(tag allowed-transparent)
allowed "a client that ignores the proxy variables (curl --noproxy '*') reaches an allowed name transparently" \
	198.51.100.2:8080 "$t" --allow allowed.test:8080 -- curl -sS -m5 --noproxy '*' "http://allowed.test:8080/$t"
t=$(tag default-ports)
allowed "a rule without a port allows port 80 (allowed.test, transparently)" 198.51.100.2:80 "$t" \
	--allow allowed.test -- curl -sS -m5 --noproxy '*' "http://allowed.test/$t"

# ---------------------------------------------------------------------------------------------
# Refusals: 403 through the proxy, reset transparently, and nothing in any server log.

# refused_proxy DESC TAG RULES... -- CMD...: curl through the HTTP proxy got a 403 from cordon and no
# server logged TAG. Sets BODY to the 403's body.
refused_proxy() {
	local desc=$1 t=$2
	shift 2
	DENIED_TAGS+=("$t")
	px "$@"
	BODY=$OUT
	if [[ $OUT == *"HTTP 403"* && $OUT == cordon:* ]] && ! arrived "$t"; then
		ok "$desc"
	else
		not_ok "$desc" "$(what_happened)" "$(logs_of "$t")"
	fi
}
# refused_transparent DESC TAG RULES... -- CMD...: curl --noproxy '*' had its connection reset and no
# server logged TAG.
refused_transparent() {
	local desc=$1 t=$2
	shift 2
	DENIED_TAGS+=("$t")
	px "$@"
	if curl_reset && [[ $OUT != *marker* ]] && ! arrived "$t"; then
		ok "$desc"
	else
		not_ok "$desc" "$(what_happened)" "$(logs_of "$t")"
	fi
}
CURLP=(curl -sS -m5 -w 'HTTP %{http_code}\n')
CURLT=(curl -sS -m5 --noproxy '*')

W=(--allow '*.wild.test:8080')
t=$(tag wild-www)
allowed "wildcard *.wild.test:8080: www.wild.test answers through the proxy" 198.51.100.2:8080 "$t" \
	"${W[@]}" -- curl -sS -m5 "http://www.wild.test:8080/$t"
t=$(tag wild-ab)
allowed "wildcard *.wild.test:8080: a.b.wild.test (two levels down) answers through the proxy" 198.51.100.2:8080 "$t" \
	"${W[@]}" -- curl -sS -m5 "http://a.b.wild.test:8080/$t"
t=$(tag wild-ab-t)
allowed "wildcard *.wild.test:8080: a.b.wild.test answers transparently" 198.51.100.2:8080 "$t" \
	"${W[@]}" -- "${CURLT[@]}" "http://a.b.wild.test:8080/$t"
refused_proxy "wildcard *.wild.test:8080 does not match the apex wild.test: 403 through the proxy" "$(tag apex-p)" \
	"${W[@]}" -- "${CURLP[@]}" "http://wild.test:8080/$(tag apex-p)"
refused_transparent "wildcard *.wild.test:8080 does not match the apex wild.test: reset transparently" "$(tag apex-t)" \
	"${W[@]}" -- "${CURLT[@]}" "http://wild.test:8080/$(tag apex-t)"

A=(--allow allowed.test:8080)
refused_proxy "a port the rule does not list (allowed.test:9999): 403 through the proxy" "$(tag port-p)" \
	"${A[@]}" -- "${CURLP[@]}" "http://allowed.test:9999/$(tag port-p)"
refused_transparent "a port the rule does not list (allowed.test:9999): reset transparently" "$(tag port-t)" \
	"${A[@]}" -- "${CURLT[@]}" "http://allowed.test:9999/$(tag port-t)"
refused_transparent "a rule without a port does not allow 8080 (allowed.test): reset transparently" "$(tag noport-t)" \
	--allow allowed.test -- "${CURLT[@]}" "http://allowed.test:8080/$(tag noport-t)"
n9999=$(grep -c '^accept 198.51.100.2:9999 ' "$SRVLOG")
if [[ $n9999 == 1 ]]; then
	ok "the 198.51.100.2:9999 server got no connection but the host's control"
else
	not_ok "the 198.51.100.2:9999 server got no connection but the host's control" "$(grep '198.51.100.2:9999 ' "$SRVLOG")"
fi

refused_proxy "an IP literal when only the name is allowed (198.51.100.2:8080): 403 through the proxy" "$(tag ip-p)" \
	"${A[@]}" -- "${CURLP[@]}" "http://198.51.100.2:8080/$(tag ip-p)"
like "$BODY" "198\.51\.100\.2 port 8080" "the 403 for the IP literal names 198.51.100.2 port 8080"
refused_transparent "an IP literal when only the name is allowed (Host: 198.51.100.2): reset transparently" "$(tag ip-t)" \
	"${A[@]}" -- "${CURLT[@]}" "http://198.51.100.2:8080/$(tag ip-t)"
t=$(tag ip-rule)
allowed "control: an IP rule (--allow 198.51.100.2:8080) lets the IP literal through the proxy" 198.51.100.2:8080 "$t" \
	--allow 198.51.100.2:8080 -- curl -sS -m5 "http://198.51.100.2:8080/$t"
# The same rule must serve a client that ignores the proxy variables: transparent mode dials an
# address an IP rule covers as it is.
t=$(tag ip-rule-t)
px --allow 198.51.100.2:8080 -- "${CURLT[@]}" "http://198.51.100.2:8080/$t"
if [[ $RC == 0 && $OUT == *"marker 198.51.100.2:8080 GET /$t "* ]] && req_at 198.51.100.2:8080 "$t"; then
	ok "an IP rule (--allow 198.51.100.2:8080) lets a client that ignores the proxy variables reach it transparently"
else
	why=()
	[[ $ERR == *"denied connect  port 8080"* ]] &&
		why=("BUG: the denial names an empty host: tproxy_accept() calls dial_start(c, c->host, ...), whose"
			"snprintf(c->host, ..., \"%s\", host) copies the buffer onto itself (overlapping, undefined)")
	not_ok "an IP rule (--allow 198.51.100.2:8080) lets a client that ignores the proxy variables reach it transparently" \
		"${why[@]}" "$(what_happened)" "$(logs_of "$t")"
fi

D=(--allow '*.wild.test:8080' --deny bad.wild.test:8080)
refused_proxy "--deny bad.wild.test:8080 beats --allow *.wild.test:8080: 403 through the proxy" "$(tag deny-p)" \
	"${D[@]}" -- "${CURLP[@]}" "http://bad.wild.test:8080/$(tag deny-p)"
deny_body=$BODY deny_err=$ERR
refused_transparent "--deny bad.wild.test:8080 beats --allow *.wild.test:8080: reset transparently" "$(tag deny-t)" \
	"${D[@]}" -- "${CURLT[@]}" "http://bad.wild.test:8080/$(tag deny-t)"
if [[ $deny_body == *"bad.wild.test"* && $deny_body == *"port 8080"* && $deny_body == *"--deny bad.wild.test:8080"* ]]; then
	ok "the 403 body names the host, the port and the rule that refused it"
else
	not_ok "the 403 body names the host, the port and the rule that refused it" "body: $deny_body"
fi
like "$deny_err" "cordon: denied connect bad\.wild\.test port 8080: denied by --deny bad\.wild\.test:8080" \
	"after the run, stderr names the denied connection and the --deny rule"
refused_proxy "--deny bad.wild.test (ports 80, 443) beats --allow *.wild.test (port 80)" "$(tag deny80-p)" \
	--allow '*.wild.test' --deny bad.wild.test -- "${CURLP[@]}" "http://bad.wild.test/$(tag deny80-p)"
t=$(tag deny-www)
allowed "control: with that --deny, www.wild.test:8080 still answers" 198.51.100.2:8080 "$t" \
	"${D[@]}" -- curl -sS -m5 "http://www.wild.test:8080/$t"

# SOCKS5: the proxy answers "not allowed" (reply 2).
t=$(tag socks-deny)
DENIED_TAGS+=("$t")
px "${A[@]}" -- curl -sS -m5 --socks5-hostname 127.0.0.1:1080 "http://wild.test:8080/$t"
if [[ $RC == 97 && $ERR == *"(2)"* ]] && ! arrived "$t"; then
	ok "SOCKS5 to a name not allowed: reply 2 (not allowed by ruleset), nothing arrives"
else
	not_ok "SOCKS5 to a name not allowed: reply 2 (not allowed by ruleset), nothing arrives" "$(what_happened)" "$(logs_of "$t")"
fi

# ---------------------------------------------------------------------------------------------
# Host and SNI mismatches: the name the client gives must resolve to the address it connected to.

H=(--allow allowed.test:8080 --allow third.test:8080)
refused_transparent "plain HTTP to 198.51.100.3 with Host: allowed.test (allowed, but it resolves to .2): reset" \
	"$(tag hostmm)" "${H[@]}" -- "${CURLT[@]}" --resolve allowed.test:8080:198.51.100.3 "http://allowed.test:8080/$(tag hostmm)"
refused_transparent "plain HTTP to 198.51.100.3 with -H 'Host: allowed.test:8080': reset" \
	"$(tag hostmm2)" "${H[@]}" -- "${CURLT[@]}" -H 'Host: allowed.test:8080' "http://198.51.100.3:8080/$(tag hostmm2)"
t=$(tag third)
allowed "control: third.test:8080 (allowed, resolves to .3) answers transparently" 198.51.100.3:8080 "$t" \
	"${H[@]}" -- "${CURLT[@]}" "http://third.test:8080/$t"

S=(--allow allowed.test:443 --allow third.test:443)
# tls_refused DESC ADDR SNI: the ClientHello is reset and no TLS server saw a connection.
tls_refused() {
	local desc=$1 addr=$2 sni=$3
	log_mark
	px "${S[@]}" -- "$PY" "$CL" tls "$addr" 443 "$sni"
	sleep 0.2
	local seen
	seen=$(log_since | grep ':443 ')
	if [[ $OUT == reset && -z $seen ]]; then
		ok "$desc"
	else
		not_ok "$desc" "$(what_happened)" "the TLS servers logged:" "$seen"
	fi
}
tls_refused "TLS to 198.51.100.2:443 with SNI other.test (not allowed): reset, no server sees it" 198.51.100.2 other.test
tls_refused "TLS to 198.51.100.3:443 with SNI allowed.test (allowed on 443, but resolves to .2): reset, no server sees it" \
	198.51.100.3 allowed.test
log_mark
px "${S[@]}" -- "$PY" "$CL" tls 198.51.100.3 443 third.test
wait_for 20 eval 'log_since | grep "data 198.51.100.3:443 .*names=third.test" >/dev/null'
if log_since | grep "data 198.51.100.3:443 .*names=third.test" >/dev/null; then
	ok "control: TLS to 198.51.100.3:443 with SNI third.test reaches the server with that ClientHello"
else
	not_ok "control: TLS to 198.51.100.3:443 with SNI third.test reaches the server with that ClientHello" \
		"$(what_happened)" "log: $(log_since)"
fi

# ---------------------------------------------------------------------------------------------
# Nothing allowed: `--network proxy` alone

t=$(tag empty)
DENIED_TAGS+=("$t")
px -- /bin/sh -c '
	t=$1 py=$2 cl=$3 pa=$4
	try() { label=$1; shift; out=$("$@" 2>&1); rc=$?; echo "$label: $(echo "$out" | tr "\n" " ")rc=$rc"; }
	try proxy curl -sS -m5 -w "HTTP %{http_code}" "http://allowed.test:8080/$t-proxy"
	try connect curl -sS -m5 --proxytunnel "http://allowed.test:8080/$t-connect"
	try socks curl -sS -m5 -x socks5h://127.0.0.1:1080 "http://allowed.test:8080/$t-socks"
	try transparent curl -sS -m5 --noproxy "*" "http://allowed.test:8080/$t-transparent"
	try ip curl -sS -m5 --noproxy "*" "http://198.51.100.2:8080/$t-ip"
	try localhost curl -sS -m5 "http://127.0.0.1:$pa/$t-localhost"
	try localhost-proxy curl -sS -m5 --noproxy "" -x http://127.0.0.1:3128 -w "HTTP %{http_code}" "http://localhost:$pa/$t-lp"
	try dns "$py" "$cl" dns allowed.test
	try udp "$py" "$cl" udp 198.51.100.2 9999 "$t-udp"
' sh "$t" "$PY" "$CL" "$PA"
bad=()
grep -q '^proxy: cordon: .*HTTP 403 rc=0$' <<<"$OUT" || bad+=(proxy)
grep -q '^connect: .*response 403 .*rc=56$' <<<"$OUT" || bad+=(connect)
grep -q '^socks: .*(2) rc=97$' <<<"$OUT" || bad+=(socks)
grep -q '^transparent: .*reset by peer rc=56$' <<<"$OUT" || bad+=(transparent)
grep -q '^ip: .*reset by peer rc=56$' <<<"$OUT" || bad+=(ip)
grep -q '^localhost: .*rc=7$' <<<"$OUT" || bad+=(localhost)
grep -q '^localhost-proxy: cordon: .*HTTP 403 rc=0$' <<<"$OUT" || bad+=(localhost-proxy)
grep -q '^dns: rcode 3 answers - rc=0$' <<<"$OUT" || bad+=(dns)
if [[ $RC == 0 && ${#bad[@]} == 0 ]]; then
	ok "empty allowlist: proxy, CONNECT, SOCKS5, transparent, IP, host loopback and DNS all refused inside"
else
	not_ok "empty allowlist: proxy, CONNECT, SOCKS5, transparent, IP, host loopback and DNS all refused inside" \
		"unexpected: ${bad[*]}" "$(what_happened)"
fi
if arrived "$t"; then
	not_ok "empty allowlist: no server (test host, host loopback, UDP) received anything" "$(logs_of "$t")"
else
	ok "empty allowlist: no server (test host, host loopback, UDP) received anything"
fi

# ---------------------------------------------------------------------------------------------
# localhost:PORT: the host's loopback on that port only; the command's own loopback still works.

L=(--allow "localhost:$PA")
t=$(tag lo-direct)
allowed "localhost:$PA: the host's 127.0.0.1:$PA answers a direct connection (NO_PROXY, redirected)" \
	"127.0.0.1:$PA" "$t" "${L[@]}" -- curl -sS -m5 "http://127.0.0.1:$PA/$t"
t=$(tag lo-name)
allowed "localhost:$PA: http://localhost:$PA/ from a client that ignores the proxy variables" \
	"127.0.0.1:$PA" "$t" "${L[@]}" -- "${CURLT[@]}" "http://localhost:$PA/$t"
t=$(tag lo-proxy)
allowed "localhost:$PA: the host's port through the HTTP proxy" \
	"127.0.0.1:$PA" "$t" "${L[@]}" -- curl -sS -m5 --noproxy '' -x http://127.0.0.1:3128 "http://localhost:$PA/$t"
t=$(tag lo-b-direct)
DENIED_TAGS+=("$t")
px "${L[@]}" -- "${CURLT[@]}" "http://127.0.0.1:$PB/$t"
if [[ $RC == 7 && $OUT != *marker* ]] && ! arrived "$t"; then
	ok "localhost:$PA does not open the host's port $PB directly (connection refused inside)"
else
	not_ok "localhost:$PA does not open the host's port $PB directly" "$(what_happened)" "$(logs_of "$t")"
fi
refused_proxy "localhost:$PA does not open the host's port $PB through the proxy: 403" "$(tag lo-b-proxy)" \
	"${L[@]}" -- "${CURLP[@]}" --noproxy '' -x http://127.0.0.1:3128 "http://localhost:$PB/$(tag lo-b-proxy)"

# own_loopback DESC RULES...: a server the command starts on its own 127.0.0.1 answers it, with the
# proxy variables (NO_PROXY) and without, and logs both requests in the workspace.
own_loopback() {
	local desc=$1 t
	shift
	t=$(tag "own-$RANDOM")
	rm -f "$WS/self.log" "$WS/self.out"
	px "$@" -- /bin/sh -c '
		py=$1 srv=$2 ws=$3 t=$4
		"$py" "$srv" "$ws/self.log" http:127.0.0.1:0 >"$ws/self.out" 2>&1 &
		i=0
		while ! grep -q ready "$ws/self.out" && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
		port=$(awk "/^listening/ {print \$4; exit}" "$ws/self.out")
		echo "port $port"
		curl -sS -m5 "http://127.0.0.1:$port/$t-a"
		curl -sS -m5 --noproxy "*" "http://localhost:$port/$t-b"
		kill $!
	' sh "$PY" "$T/bin/np_server.py" "$WS" "$t"
	local port
	port=$(sed -n 's/^port //p' <<<"$OUT")
	if [[ -n $port && $OUT == *"marker 127.0.0.1:$port GET /$t-a "* && $OUT == *"marker 127.0.0.1:$port GET /$t-b "* ]] &&
		grep -qF "request 127.0.0.1:$port 'GET /$t-a " "$WS/self.log" &&
		grep -qF "request 127.0.0.1:$port 'GET /$t-b " "$WS/self.log" && ! arrived "$t"; then
		ok "$desc (port $port)"
	else
		not_ok "$desc" "$(what_happened)" "inside log: $(cat "$WS/self.log" 2>/dev/null)" "$(logs_of "$t")"
	fi
}
own_loopback "with localhost:$PA allowed, a server the command starts on another loopback port still answers it" "${L[@]}"
own_loopback "the command's own loopback: a server it starts on 127.0.0.1 answers it (names allowed only)" "${A[@]}"

# ---------------------------------------------------------------------------------------------
# DNS: cordon answers A queries for the names the rules list, NXDOMAIN for the rest.

px "${A[@]}" -- "$PY" "$CL" dns other.test
if [[ $OUT == "rcode 3 answers -" ]]; then ok "DNS for an unlisted name (other.test): NXDOMAIN"; else not_ok "DNS for an unlisted name (other.test): NXDOMAIN" "$(what_happened)"; fi
like "$ERR" "cordon: denied DNS lookup other\.test: " "after the run, stderr has a 'denied DNS lookup other.test' line"
px "${A[@]}" -- "$PY" "$CL" dns allowed.test
is "$OUT" "rcode 0 answers 198.51.100.2" "DNS for a listed name (allowed.test): answer 198.51.100.2"
px --allow '*.wild.test:8080' --deny 'bad.wild.test:*' -- /bin/sh -c '
	echo "www $("$1" "$2" dns www.wild.test)"; echo "apex $("$1" "$2" dns wild.test)"; echo "bad $("$1" "$2" dns bad.wild.test)"' \
	sh "$PY" "$CL"
is "$OUT" $'www rcode 0 answers 198.51.100.2\napex rcode 3 answers -\nbad rcode 3 answers -' \
	"DNS with *.wild.test:8080 and --deny bad.wild.test:*: www.wild.test answered; wild.test and bad.wild.test NXDOMAIN"
log_mark
px "${A[@]}" -- /bin/sh -c '"$1" "$2" dns allowed.test 198.51.100.2' sh "$PY" "$CL"
sleep 0.2
if [[ $OUT == "rcode 0 answers 198.51.100.2" ]] && ! log_since | grep 'udp/198.51.100.2:53' >/dev/null; then
	ok "a DNS query addressed to 198.51.100.2:53 is answered by cordon and never reaches that host"
else
	not_ok "a DNS query addressed to 198.51.100.2:53 is answered by cordon and never reaches that host" \
		"$(what_happened)" "log: $(log_since)"
fi

# ---------------------------------------------------------------------------------------------
# UDP other than DNS is dropped.

t=$(tag udp-inside)
DENIED_TAGS+=("$t")
px "${A[@]}" --allow '198.51.100.2:*' -- /bin/sh -c '"$1" "$2" udp 198.51.100.2 9999 "$3"; "$1" "$2" udp 198.51.100.3 9999 "$3"' \
	sh "$PY" "$CL" "$t"
uctl=$(tag udp-control-after)
"$PY" "$CL" udp 198.51.100.2 9999 "$uctl" >/dev/null
wait_for 30 grep -qF "$uctl" "$SRVLOG"
if ! arrived "$t" && grep -qF "$uctl" "$SRVLOG"; then
	ok "UDP to 198.51.100.2:9999 from inside (even with 198.51.100.2:* allowed) never arrives; the host's does"
else
	not_ok "UDP to 198.51.100.2:9999 from inside never arrives; the host's does" "$(what_happened)" "$(grep -F "$t" "$SRVLOG")"
fi

# ---------------------------------------------------------------------------------------------
# The denial summary on stderr, after the command's own output.

px "${A[@]}" -- /bin/sh -c '
	curl -sS -m5 -o /dev/null "http://wild.test:8080/$1-s1"
	curl -sS -m5 --noproxy "*" "http://allowed.test:9999/$1-s2"
	curl -sS -m5 --noproxy "*" "http://allowed.test:9999/$1-s3"
	"$2" "$3" dns other.test >/dev/null
	echo "command-done" >&2' sh "$(tag summary)" "$PY" "$CL"
DENIED_TAGS+=("$(tag summary)")
after=${ERR#*command-done}
bad=()
[[ $ERR == *command-done* ]] || bad+=("the command's last line is missing")
grep -qxF "cordon: denied connect wild.test port 8080: not in the allowlist (--allow)" <<<"$after" || bad+=("wild.test:8080")
grep -qxF "cordon: denied connect allowed.test port 9999: not in the allowlist (--allow) (2 times)" <<<"$after" || bad+=("allowed.test:9999 (2 times)")
grep -qxF "cordon: denied DNS lookup other.test: not in the allowlist (--allow)" <<<"$after" || bad+=("DNS other.test")
if ((${#bad[@]} == 0)); then
	ok "after the command ends, stderr lists each denial once, with a count (connect and DNS lookup)"
else
	not_ok "after the command ends, stderr lists each denial once, with a count (connect and DNS lookup)" \
		"missing: ${bad[*]}" "$(what_happened)"
fi

# ---------------------------------------------------------------------------------------------
# Fronting for a denied name on an allowed name's address. wild.test (denied) shares 198.51.100.2
# with allowed.test (allowed). The command asks cordon's DNS for allowed.test, connects to
# 198.51.100.2:8080 and sends a request with Host: wild.test. The head names a host that is not
# allowed, so the connection must be reset, however it is sent.

# fronting DESC DATA DELAY: the request must be refused and the server must log nothing for it.
fronting() {
	local desc=$1 t=$2 data=$3 delay=$4
	px "${A[@]}" -- "$PY" "$CL" raw 198.51.100.2 8080 "$data" allowed.test "$delay"
	if [[ $OUT == *reset* && $OUT != *marker* ]] && ! arrived "$t"; then
		ok "$desc"
	else
		not_ok "$desc" "HOLE: the request naming wild.test reached the server on allowed.test's address" \
			"$(what_happened)" "$(logs_of "$t")"
	fi
}
t=$(tag front-fast)
fronting "control: Host: wild.test sent at once to allowed.test's address is reset" "$t" \
	"GET /$t HTTP/1.1\\r\\nHost: wild.test:8080\\r\\n\\r\\n" 0
t=$(tag front-slow)
fronting "Host: wild.test sent 0.5 s after connecting to allowed.test's address is reset" "$t" \
	"GET /$t HTTP/1.1\\r\\nHost: wild.test:8080\\r\\n\\r\\n" 0.5
t=$(tag front-lf)
fronting "Host: wild.test in a head with bare LF line ends (which the server accepts) is reset" "$t" \
	"GET /$t HTTP/1.1\\nHost: wild.test:8080\\n\\n" 0

# ---------------------------------------------------------------------------------------------
# Rules that cannot be used

marker=$WS/ran-$NONCE
run sb -w "$WS" --network off --allow allowed.test -- /bin/sh -c "touch '$marker'"
if [[ $RC == 125 && $ERR == *"--allow \`allowed.test\`"* && $ERR == *"--network off"* && ! -e $marker ]]; then
	ok "--allow with --network off: exit 125, the message names the flag, the command does not run"
else
	not_ok "--allow with --network off: exit 125, the message names the flag, the command does not run" "$(what_happened)"
fi
run sb -w "$WS" --network proxy --allow 'a b' -- /bin/sh -c "touch '$marker'"
if [[ $RC == 125 && $ERR == *"--allow \`a b\`"* && ! -e $marker ]]; then
	ok "a bad rule (--allow 'a b'): exit 125, the message names it, the command does not run"
else
	not_ok "a bad rule (--allow 'a b'): exit 125, the message names it, the command does not run" "$(what_happened)"
fi

# ---------------------------------------------------------------------------------------------
# A second request on a kept-alive connection (found by an attacker review): the first names the
# allowed host, the second another one on the same address. The server here keeps connections
# open as HTTP/1.1 servers do; cordon must make the checked request the connection's only one.
t1=$(tag ka-first) t2=$(tag ka-second)
DENIED_TAGS+=("$t2")
px --allow allowed.test:8081 -- "$PY" "$CL" raw 198.51.100.2 8081 \
	"GET /$t1 HTTP/1.1\\r\\nHost: allowed.test:8081\\r\\n\\r\\nGET /$t2 HTTP/1.1\\r\\nHost: wild.test:8081\\r\\n\\r\\n" allowed.test 0
if req_at 198.51.100.2:8081 "$t1" && ! arrived "$t2"; then
	ok "keep-alive: the checked request reaches the server, a second one for another host on the connection does not"
else
	not_ok "keep-alive: a second request for another host on one connection never reaches the server" \
		"$(what_happened)" "$(logs_of "$t1")" "$(logs_of "$t2")"
fi

# A name resolving to one of the host's own addresses (not loopback): the host's services are only
# reachable as localhost:PORT (found by an attacker review).
t=$(tag self)
DENIED_TAGS+=("$t")
px --allow "self.test:$PC" -- curl -sS -m5 "http://self.test:$PC/$t"
if [[ $OUT == *"local address"* ]] && ! arrived "$t"; then
	ok "a name resolving to the host's own veth address is refused through the proxy (403, local address)"
else
	not_ok "a name resolving to the host's own address is refused through the proxy" "$(what_happened)" "$(logs_of "$t")"
fi
t=$(tag self-t)
DENIED_TAGS+=("$t")
px --allow "self.test:$PC" -- curl -sS -m5 --noproxy '*' "http://self.test:$PC/$t"
if curl_reset && ! arrived "$t"; then
	ok "a name resolving to the host's own veth address is refused transparently (reset)"
else
	not_ok "a name resolving to the host's own address is refused transparently" "$(what_happened)" "$(logs_of "$t")"
fi

# ---------------------------------------------------------------------------------------------
# Last: no request that was refused ever reached a server (late arrivals included). The fronting
# attempts above report for themselves and are not counted again here.

sleep 0.3
leaked=()
for t in "${DENIED_TAGS[@]}"; do arrived "$t" && leaked+=("$t"); done
if ((${#leaked[@]} == 0)); then
	ok "no refused request reached any server (${#DENIED_TAGS[@]} checked again at the end)"
else
	not_ok "no refused request reached any server" "reached: ${leaked[*]}" "$(for t in "${leaked[@]}"; do logs_of "$t"; done)"
fi

done_testing
