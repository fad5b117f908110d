#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Guarantees 7/8: cordon fails closed. A bad flag value, a missing or malformed config file, a
# config file inside a writable root, a writable root that does not exist: each ends in exit 125
# with one line on stderr naming the bad input, and the command is NOT run (checked from outside:
# its marker file never appears). The exit-status contract is checked too: the command's own
# status, 128+N on signal N, 124 on timeout, 126/127 as in a shell.
# shellcheck source=../lib.sh
. "$(dirname "$0")/../lib.sh"

mk_scratch
MARK=$WS/ran-$NONCE

# refuses DESC BAD-WORD OPTIONS...: `cordon run OPTIONS -w $WS -- probe write $MARK` must exit 125,
# print exactly one line on stderr that contains BAD-WORD, print nothing on stdout, and not run
# the command.
refuses() {
	local desc=$1 word=$2
	shift 2
	rm -f "$MARK"
	run sb "$@" -w "$WS" -- "$P" write "$MARK" ran
	local -a why=()
	[[ $RC == 125 ]] || why+=("exit $RC, not 125")
	[[ -n $ERR && $(wc -l <<<"$ERR") == 1 ]] || why+=("stderr is not one line")
	[[ $ERR == *"$word"* ]] || why+=("stderr does not name \`$word\`")
	[[ -z $OUT ]] || why+=("stdout is not empty")
	[[ ! -e $MARK ]] || why+=("the command ran: $MARK exists on the host")
	if ((${#why[@]})); then
		not_ok "$desc" "${why[@]}" "$(what_happened)"
	else
		ok "$desc"
	fi
}

# The baseline: with good options the same command does run (so "not run" above means something).
run sb -w "$WS" -- "$P" write "$MARK" ran
if [[ $RC == 0 && -e $MARK ]]; then ok "control: the command runs with good options"; else not_ok "control: the command runs with good options" "$(what_happened)"; fi

refuses "unknown --mode" "bogus-mode-$NONCE" --mode "bogus-mode-$NONCE"
refuses "unknown --network" "sometimes-$NONCE" --network "sometimes-$NONCE"
refuses "--writable that does not exist" "$T/missing-$NONCE" --writable "$T/missing-$NONCE"
refuses "--config that does not exist" "$T/missing-$NONCE.json" --config "$T/missing-$NONCE.json"
refuses "--timeout that is not a number" "12x$NONCE" --timeout "12x$NONCE"
refuses "--timeout that is negative" "-5" --timeout -5
refuses "--memory that is not a size" "lots$NONCE" --memory "lots$NONCE"
refuses "--max-procs that is not a number" "many$NONCE" --max-procs "many$NONCE"
refuses "--cpu-seconds that is not a number" "soon$NONCE" --cpu-seconds "soon$NONCE"
refuses "--file-size that is not a size" "huge$NONCE" --file-size "huge$NONCE"
refuses "--env without =" "NOEQUALS$NONCE" --env "NOEQUALS$NONCE"
refuses "an unknown option" "--no-such-option-$NONCE" "--no-such-option-$NONCE"

# -w comes last in refuses(), so a bad workspace is checked by hand.
rm -f "$MARK"
run sb -w "$T/no-ws-$NONCE" -- "$P" write "$MARK" ran
if [[ $RC == 125 && $(wc -l <<<"$ERR") == 1 && $ERR == *"no-ws-$NONCE"* && ! -e $MARK && ! -e $T/no-ws-$NONCE ]]; then
	ok "a workspace that does not exist"
else
	not_ok "a workspace that does not exist" "$(what_happened)"
fi

printf '{ "mode": \n' >"$T/broken.json"
refuses "a malformed config file" "broken.json" --config "$T/broken.json"

printf '{}\n' >"$WS/cordon.json"
own "$WS/cordon.json"
refuses "a config file inside a writable root" "$WS/cordon.json" --config "$WS/cordon.json"
rm -f "$WS/cordon.json"

# The user config file, found through XDG_CONFIG_HOME, inside the workspace: a command could have
# written it in an earlier run to loosen the next one.
mkdir -p "$WS/xdg/cordon" && printf '{}\n' >"$WS/xdg/cordon/config.json" && own "$WS/xdg"
EXTRA_ENV=("XDG_CONFIG_HOME=$WS/xdg")
refuses "a user config file inside a writable root" "$WS/xdg/cordon/config.json"
EXTRA_ENV=()
rm -rf "$WS/xdg"

run sb -w "$WS"
if [[ $RC == 125 && -n $ERR && $(wc -l <<<"$ERR") == 1 ]]; then ok "no command: exit 125 with one line"; else not_ok "no command: exit 125 with one line" "$(what_happened)"; fi

# --- the exit-status contract -------------------------------------------------------------------
rm -f "$MARK"
run sb -w "$WS" -- /bin/sh -c "'$P' write '$MARK' ran; exit 7"
if [[ $RC == 7 && -e $MARK ]]; then ok "the command's own status comes back (7)"; else not_ok "the command's own status comes back (7)" "$(what_happened)"; fi
run sb -w "$WS" -- /bin/sh -c 'kill -TERM $$'
is "$RC" 143 "killed by SIGTERM: exit 128+15"
run sb -w "$WS" -- /bin/sh -c 'kill -KILL $$'
is "$RC" 137 "killed by SIGKILL: exit 128+9"
run sb -w "$WS" -- "$T/no-such-command-$NONCE"
is "$RC" 127 "a command that does not exist: exit 127"
printf 'echo hi\n' >"$T/not-executable" && chmod 0644 "$T/not-executable"
run sb -w "$WS" -- "$T/not-executable"
is "$RC" 126 "a command that is not executable: exit 126"
start=$SECONDS
run sb -w "$WS" --timeout 1 -- "$P" sleep 20000
if [[ $RC == 124 && $((SECONDS - start)) -le 10 ]]; then ok "--timeout 1: exit 124"; else not_ok "--timeout 1: exit 124" "after $((SECONDS - start))s" "$(what_happened)"; fi

done_testing
