#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The command-line contract of `cordon run`: exit statuses, where the command starts, the
# environment it gets, configuration files and their refusals, modes. Checked from outside.
. "$(dirname "$0")/../lib.sh"
mk_scratch
mkdir -p "$WS/sub/deeper" && own "$WS"

# --- exit statuses -----------------------------------------------------------------------------
run sb -w "$WS" -- /bin/sh -c 'exit 3'
is "$RC" 3 "the command's own exit status passes through"
run sb -w "$WS" -- /bin/sh -c 'kill -TERM $$'
is "$RC" 143 "death by signal N is 128+N"
run sb -w "$WS" -- /nonexistent/command-$NONCE
is "$RC" 127 "a missing command is 127"
like "$ERR" "command not found" "a missing command is named on stderr"
printf 'not a program\n' >"$WS/notexec" && chmod 0644 "$WS/notexec" && own "$WS/notexec"
run sb -w "$WS" -- "$WS/notexec"
is "$RC" 126 "a file that cannot be executed is 126"
run sb -w "$WS" --timeout 0.5 -- /bin/sh -c 'sleep 30'
is "$RC" 124 "a command past --timeout is 124"

# --- exit 125: one line on stderr naming the bad input -------------------------------------------
for bad in "--mode=writeall" "--network=maybe" "--timeout=soon" "--memory=lots" "--max-procs=-1" \
	"--frobnicate" "--env=1BAD=x" "--env-keep=A-B"; do
	run sb -w "$WS" "$bad" -- true
	is "$RC" 125 "bad input $bad is refused with 125"
	value=${bad#*=}
	[[ $bad == *=* ]] || value=$bad
	lines=$(printf '%s\n' "$ERR" | grep -c .)
	if [[ $ERR == *"$value"* && $lines == 1 ]]; then ok "the refusal of $bad is one line naming \`$value\`"
	else not_ok "the refusal of $bad is one line naming \`$value\`" "$ERR"; fi
done
run sb -w "$T/does-not-exist" -- true
is "$RC" 125 "a missing workspace is refused with 125"
like "$ERR" "does-not-exist" "the refusal names the missing workspace"
run sb -w "$WS" --writable "$T/no-such-root" -- true
is "$RC" 125 "a missing writable root is refused with 125"
run sb -w "$WS"
is "$RC" 125 "no command is refused with 125"
run sb --timeout
is "$RC $ERR" "125 cordon run: option \`--timeout\` needs a value; hint: see \`cordon run --help\`" \
	"a flag without its value is named as such"
run sb --no-such-flag x
like "$ERR" "unknown option \`--no-such-flag\`" "an unknown flag is named"

# --- where the command starts ----------------------------------------------------------------
run sb -w "$WS" -- /bin/pwd
is "$OUT" "$(cd "$WS" && pwd -P)" "the command starts in the workspace by default"
_sb_argv
OUT=$(cd "$WS/sub/deeper" && "${_SB[@]}" run -w "$WS" -- /bin/pwd </dev/null 2>&1)
is "$OUT" "$(cd "$WS/sub/deeper" && pwd -P)" "a current directory inside the workspace is kept"
OUT=$(cd "$OUTD" && "${_SB[@]}" run -w "$WS" -- /bin/pwd </dev/null 2>&1)
is "$OUT" "$(cd "$WS" && pwd -P)" "a current directory outside the workspace becomes the workspace"

# --- environment -------------------------------------------------------------------------------
EXTRA_ENV=("GITHUB_TOKEN=tok-$NONCE" "AWS_SECRET_ACCESS_KEY=aws-$NONCE" "OPENAI_API_KEY=oai-$NONCE"
	"DB_PASSWORD=pw-$NONCE" "PLAIN_SETTING=plain-$NONCE")
run sb -w "$WS" -- /usr/bin/env
unlike "$OUT" "(tok|aws|oai|pw)-$NONCE" "secret-looking variables are not inherited"
like "$OUT" "PLAIN_SETTING=plain-$NONCE" "ordinary variables are inherited"
like "$OUT" $'(^|\n)TMPDIR=/tmp(\n|$)' "TMPDIR points at the private /tmp"
like "$OUT" $'(^|\n)CORDON_SANDBOX=1(\n|$)' "CORDON_SANDBOX=1 tells the command where it runs"
run sb -w "$WS" --env-keep GITHUB_TOKEN -- /usr/bin/env
like "$OUT" "GITHUB_TOKEN=tok-$NONCE" "--env-keep keeps a named secret"
unlike "$OUT" "aws-$NONCE" "--env-keep keeps only what it names"
run sb -w "$WS" --env "PLAIN_SETTING=over" --env "NEW_ONE=1" -- /usr/bin/env
like "$OUT" $'PLAIN_SETTING=over(\n|$)' "--env overrides an inherited variable"
like "$OUT" "NEW_ONE=1" "--env adds a variable"
run sb -w "$WS" --env-clear --env-keep PATH -- /usr/bin/env
unlike "$OUT" "PLAIN_SETTING" "--env-clear starts from an empty environment"
like "$OUT" "PATH=" "--env-clear keeps what --env-keep names"
EXTRA_ENV=()

# --- modes -------------------------------------------------------------------------------------
before=$(tree_state "$WS")
run sb -w "$WS" --mode read-only -- /bin/sh -c "echo x > $WS/ro-$NONCE"
after=$(tree_state "$WS")
if [[ $RC != 0 && $before == "$after" ]]; then ok "read-only mode: the workspace is not writable"
else not_ok "read-only mode: the workspace is not writable" "$(what_happened)"; fi
run sb -w "$WS" --mode read-only -- /bin/sh -c 'echo x > /tmp/t && cat /tmp/t'
is "$OUT" x "read-only mode: the private /tmp is writable"
run sb -w "$WS" --mode full-access -- /bin/sh -c "echo full > $OUTD/full-$NONCE"
if [[ $RC == 0 && $(cat "$OUTD/full-$NONCE" 2>/dev/null) == full ]]; then ok "full-access mode writes outside the workspace"
else not_ok "full-access mode writes outside the workspace" "$(what_happened)"; fi
rm -f "$OUTD/full-$NONCE"
run sb -w "$WS" --mode full-access -- /bin/sh -c 'echo $$; ls /proc | grep -c "^[0-9]"'
is "$(sed -n 1p <<<"$OUT")" 2 "full-access mode still runs in its own PID namespace"

# --- configuration files -------------------------------------------------------------------------
CFG=$T/policy.json
printf '{"mode": "read-only"}\n' >"$CFG" && own "$CFG"
run sb -w "$WS" --config "$CFG" -- /bin/sh -c "echo x > $WS/cfg-$NONCE"
if [[ $RC != 0 && ! -e $WS/cfg-$NONCE ]]; then ok "--config applies the file's mode"; else not_ok "--config applies the file's mode" "$(what_happened)"; fi
run sb -w "$WS" --config "$CFG" --mode workspace-write -- /bin/sh -c "echo x > $WS/cfg-$NONCE"
if [[ $RC == 0 && -e $WS/cfg-$NONCE ]]; then ok "flags win over a --config file"; else not_ok "flags win over a --config file" "$(what_happened)"; fi
rm -f "$WS/cfg-$NONCE"
mkdir -p "$HOMEDIR/.config/cordon"
printf '{"env": {"set": {"FROM_USER_CONFIG": "yes"}}}\n' >"$HOMEDIR/.config/cordon/config.json"
own "$HOMEDIR"
run sb -w "$WS" -- /usr/bin/env
like "$OUT" "FROM_USER_CONFIG=yes" "the user config in \$XDG_CONFIG_HOME/cordon is read"
run sb -w "$WS" --no-user-config -- /usr/bin/env
unlike "$OUT" "FROM_USER_CONFIG" "--no-user-config skips it"
rm -rf "$HOMEDIR/.config"
printf '{"mode": "full-access"}\n' >"$WS/evil.json" && own "$WS/evil.json"
run sb -w "$WS" --config "$WS/evil.json" -- true
is "$RC" 125 "a config file inside the workspace is refused"
like "$ERR" "inside writable root" "the refusal says why"
printf '{"deny_raed": ["/x"]}\n' >"$CFG" && own "$CFG"
run sb -w "$WS" --config "$CFG" -- true
is "$RC" 125 "a misspelt key is an error, not ignored"
like "$ERR" "deny_raed" "the error names the key"
printf '{"mode": "read-only",\n "limits": {"timeout": "soon"}}\n' >"$CFG"
run sb -w "$WS" --config "$CFG" -- true
like "$ERR" "policy.json.*limits.timeout" "a wrong type names the file and the key"
printf '{"mode": \n' >"$CFG"
run sb -w "$WS" --config "$CFG" -- true
like "$ERR" "policy.json:[0-9]+:[0-9]+:" "malformed JSON is reported as FILE:LINE:COL"
printf '{}\n' >"$CFG" && chmod 0666 "$CFG"
run sb -w "$WS" --config "$CFG" -- true
is "$RC" 125 "a world-writable config file is refused"
run sb -w "$WS" --config "$T/missing.json" -- true
is "$RC" 125 "a missing --config file is refused"

# --- explain and doctor ------------------------------------------------------------------------
run sb -w "$WS" --explain
like "$OUT" "mount bind-rw $(cd "$WS" && pwd -P)" "--explain prints the plan with the workspace bound read-write"
like "$OUT" "guard $(cd "$WS" && pwd -P)/.agents \(absent\)" "--explain lists the guarded names"
run cordon_as_user doctor
is "$RC" 0 "doctor: the default policy can be enforced on this machine"
run cordon_as_user doctor --json
if printf '%s' "$OUT" | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["default_policy_enforceable"] is True; assert all(g["holds"] for g in d["guarantees"])' 2>/dev/null
then ok "doctor --json is valid JSON and says every guarantee holds"
else not_ok "doctor --json is valid JSON and says every guarantee holds" "$OUT"; fi
done_testing
