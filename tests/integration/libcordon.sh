#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# libcordon as a harness uses it: the example program (examples/run_command.c, linked against the
# shared library, public header only) runs commands cold and through a warm pool daemon, and its
# results carry the exit status and the denials; the installed pkg-config file builds a program
# that links the shared library and runs. Checked from outside: the host file is absent, the
# daemon counted the requests.
#
# Environment (besides tests/lib.sh's): EXAMPLE the run_command example; CORDON_SRC and CORDON_BUILD
# the source and build trees; CC the C compiler (default cc); SANITIZE the build's b_sanitize.
. "$(dirname "$0")/../lib.sh"
: "${EXAMPLE:?EXAMPLE must name the run_command example}"
: "${CORDON_SRC:?CORDON_SRC must name the source tree}"
: "${CORDON_BUILD:?CORDON_BUILD must name the build tree}"
mk_scratch

# The example finds libcordon.so.0 through its run path, $ORIGIN/../src. When the test user cannot
# run it from the build tree, a copy in $T/bin with the library in $T/src is the same program.
EX=$EXAMPLE
LIBDIR=$(dirname "$EXAMPLE")/../src
if ! as_user test -x "$EX" || ! as_user test -r "$LIBDIR/libcordon.so.0"; then
	mkdir -p "$T/src"
	cp "$EXAMPLE" "$T/bin/run_command"
	cp -L "$LIBDIR/libcordon.so.0" "$T/src/libcordon.so.0"
	ln -sf libcordon.so.0 "$T/src/libcordon.so"
	own "$T/bin" "$T/src"
	EX=$T/bin/run_command
	LIBDIR=$T/src
fi

# ex ARGS...: the example as the test user, in the fixed environment `sb` gives cordon (with
# CORDON_SOCKET once a daemon runs); sets RC, OUT, ERR.
ex() {
	local -a envv
	mapfile -t envv < <(base_env)
	run as_user env -i "${envv[@]}" "$EX" "$@"
}

# denial_line KIND TARGET: the example's line for that denial is in $OUT.
denial_line() {
	grep -qF -- "denial: $1 $2 (count " <<<"$OUT"
}

# The same checks cold and through the daemon: what the library returns must not depend on it.
run_checks() {
	local how=$1
	local target=$OUTD/libcordon-$how-$NONCE
	ex "$WS" -- /bin/sh -c "echo x >'$target'"
	if denial_line write "$target"; then
		ok "$how: a write outside the workspace comes back as a \`write\` denial naming $target"
	else
		not_ok "$how: a write outside the workspace comes back as a \`write\` denial naming $target" "$(what_happened)"
	fi
	check "$how: ... and the file is absent on the host" test ! -e "$target"
	like "$OUT" "exit status: $RC"$'(\n|$)' "$how: the example prints the status it exits with ($RC)"

	ex "$WS" -- /bin/sh -c 'exit 3'
	is "$RC" 3 "$how: a command exiting 3 gives status 3"
	like "$OUT" "^exit status: 3$" "$how: ... printed from the result, with no denial"

	ex "$WS" -- /bin/sh -c "echo in >'$WS/inside-$how-$NONCE'"
	if [[ $RC == 0 && $(cat "$WS/inside-$how-$NONCE" 2>/dev/null) == in && $OUT != *denial:* ]]; then
		ok "$how: a write inside the workspace goes through, with no denial"
	else
		not_ok "$how: a write inside the workspace goes through, with no denial" "$(what_happened)"
	fi

	# Without WORKSPACE, the current directory is the workspace.
	cd "$WS" || bail_out "cd $WS"
	ex -- /bin/sh -c "echo cwd >'$WS/cwd-$how-$NONCE'"
	cd "$T" || bail_out "cd $T"
	is "$RC:$(cat "$WS/cwd-$how-$NONCE" 2>/dev/null)" "0:cwd" "$how: without WORKSPACE, the current directory is the workspace"

	ex "$T/no-such-workspace-$NONCE" -- true
	if [[ $RC == 125 && $ERR == *"no-such-workspace-$NONCE"* ]]; then
		ok "$how: a workspace that does not exist is 125, the error naming it"
	else
		not_ok "$how: a workspace that does not exist is 125, the error naming it" "$(what_happened)"
	fi
}

# --- cold: the sandbox's supervisor is the example's own process --------------------------------
run_checks cold

# --- through a warm pool daemon (tests/lib.sh starts it as the test user; CORDON_SOCKET finds it) --
CORDON_TEST_DAEMON=1
start_daemon
before=$(daemon_requests)
run_checks daemon
after=$(daemon_requests)
# Five requests per round: all of them must have gone to the daemon, none cold.
if [[ -n $before && -n $after ]] && ((after - before == 5)); then
	ok "daemon: every run of the example went through the daemon ($before -> $after requests)"
else
	not_ok "daemon: every run of the example went through the daemon" "requests before: ${before:-?}, after: ${after:-?}"
fi

# --- pkg-config, and a program built with its flags -------------------------------------------------
PCDIR=$CORDON_BUILD/meson-private
if ! as_user test -r "$PCDIR/cordon.pc"; then
	mkdir -p "$T/pkgconfig"
	cp "$PCDIR/cordon.pc" "$T/pkgconfig/" && own "$T/pkgconfig"
	PCDIR=$T/pkgconfig
fi
# pc ARGS...: pkg-config as the test user, on the build's cordon.pc only.
pc() {
	run as_user env -i PATH="$PATH" PKG_CONFIG_PATH="$PCDIR" pkg-config "$@"
}
pc --cflags --libs cordon
if [[ $RC == 0 && $OUT == *-lcordon* && $OUT == *-I/* ]]; then
	ok "pkg-config --cflags --libs cordon works against the build's cordon.pc ($OUT)"
else
	not_ok "pkg-config --cflags --libs cordon works against the build's cordon.pc" "$(what_happened)"
fi
pc --modversion cordon
pc_version=$OUT

# The .pc names the installed places; --define-variable points the same lines at this tree (the
# header where <cordon/cordon.h> resolves, the directory holding libcordon.so). A source tree the
# test user cannot read (a clone under /root) is copied, as the library is.
INCDIR=$CORDON_SRC/include
if ! as_user test -r "$INCDIR/cordon/cordon.h"; then
	mkdir -p "$T/include/cordon"
	cp "$INCDIR/cordon/cordon.h" "$T/include/cordon/" && own "$T/include"
	INCDIR=$T/include
fi
pc --define-variable=includedir="$INCDIR" --define-variable=libdir="$LIBDIR" --cflags --libs cordon
flags=$OUT
cat >"$T/tiny.c" <<'EOF'
#include <cordon/cordon.h>
#include <stdio.h>

int main(void)
{
	cordon_policy *p = cordon_policy_new();
	char *argv[] = {"/bin/sh", "-c", "exit 5", NULL};
	struct cordon_error *err = NULL;
	int status = p ? cordon_run(p, argv, &err) : CORDON_EXIT_FAILURE;
	printf("%s %d\n", cordon_version(), status);
	if (err)
		fprintf(stderr, "tiny: %s\n", err->message);
	cordon_error_free(err);
	cordon_policy_free(p);
	return 0;
}
EOF
own "$T/tiny.c"
sanitize=()
[[ -n ${SANITIZE:-} && $SANITIZE != none ]] && sanitize=("-fsanitize=$SANITIZE")
read -ra cc <<<"${CC:-cc}"
# shellcheck disable=SC2086 # the flags are words
run as_user env -i PATH="$PATH" "${cc[@]}" -std=c17 -Wall -Wextra -Wstrict-prototypes -Werror "${sanitize[@]}" \
	-o "$T/tiny" "$T/tiny.c" $flags
if [[ $RC == 0 ]]; then
	ok "a program using only <cordon/cordon.h> compiles cleanly (-Wall -Wextra -Werror) with those flags"
else
	not_ok "a program using only <cordon/cordon.h> compiles cleanly (-Wall -Wextra -Werror) with those flags" \
		"flags: $flags" "$(what_happened)"
fi
if readelf -d "$T/tiny" 2>/dev/null | grep -q 'NEEDED.*libcordon\.so\.0'; then
	ok "... linked against the shared library (libcordon.so.0)"
else
	not_ok "... linked against the shared library (libcordon.so.0)" "$(readelf -d "$T/tiny" 2>&1 | head -20)"
fi
mapfile -t envv < <(base_env)
run as_user env -i "${envv[@]}" LD_LIBRARY_PATH="$LIBDIR" "$T/tiny"
is "$RC|$OUT" "0|$pc_version 5" "... and runs: cordon_version() is the .pc's version, cordon_run() returns the command's 5"

done_testing
