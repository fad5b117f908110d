#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# `cordon log` over hand-made audit files (docs/audit.md) in a scratch XDG_STATE_HOME, read as the
# test user: the table and --json line for line, --denied, --session prefixes, the --since forms,
# which day files are read, and the refusals and warnings on bad input.
#
# Times are relative to now, so the expected text is computed here from each record's time. The
# sandbox's local time zone is chosen so that it is about noon there: "today" cannot roll over while
# the script runs, and records of the last 12 hours are today's while older ones carry their date.
. "$(dirname "$0")/../lib.sh"
mk_scratch

STATE=$T/state
AUD=$STATE/cordon/audit
mkdir -p "$AUD"
NOW=$(date +%s)
utc_hour=$((10#$(date -u -d "@$NOW" +%H)))
TZV=$(printf 'LOG%+d' $((utc_hour - 12))) # POSIX TZ: LOG+3 is three hours behind UTC
TODAY_LOCAL=$(TZ=$TZV date -d "@$NOW" +%F)
EXTRA_ENV=("XDG_STATE_HOME=$STATE" "TZ=$TZV")

# ---------------------------------------------------------------------------------------------
# Fixtures: every record is registered with its id, time, session, type, the line written and the
# summary the table must show; write_fixtures puts them in time order into the day file of their
# UTC date.

declare -A R_SEC R_SES R_TYPE R_SUM R_LINE R_FILE R_LINENO
R_IDS=()

ts_of() { printf '%s.250Z' "$(date -u -d "@$1" +%Y-%m-%dT%H:%M:%S)"; }

# rec ID SEC TYPE SESSION JSON-REST SUMMARY
rec() {
	local id=$1 sec=$2 type=$3 ses=$4 rest=$5 sum=$6
	R_IDS+=("$id")
	R_SEC[$id]=$sec R_SES[$id]=$ses R_TYPE[$id]=$type R_SUM[$id]=$sum
	R_LINE[$id]=$(printf '{"type":"%s","ts":"%s","schema":1,"session":"%s"%s}' "$type" "$(ts_of "$sec")" "$ses" "$rest")
}

# raw ID SEC TEXT: a line that is not a record, placed as if written at SEC.
raw() {
	R_IDS+=("$1")
	R_SEC[$1]=$2 R_TYPE[$1]=bad R_LINE[$1]=$3
}

# by_time ID...: the ids, in the order of their records' times (stable).
by_time() {
	local i
	for i in "$@"; do echo "${R_SEC[$i]} $i"; done | sort -n -s -k1,1 | cut -d' ' -f2
}

write_fixtures() {
	local id f
	for id in $(by_time "${R_IDS[@]}"); do
		f=$AUD/$(date -u -d "@${R_SEC[$id]}" +%F).jsonl
		printf '%s\n' "${R_LINE[$id]}" >>"$f"
		R_FILE[$id]=$f
		R_LINENO[$id]=$(wc -l <"$f")
	done
}

S_OLD=a1b2c3d4e5f60718 S_CURL=c0c0c0c033334444 S_SH=b0b0b0b011112222 S_LS=b0b0b0b099990000
S_YDAY=e0e0e0e0ffff0000 S_STALE=5a1e5a1e00000000
tOLD=$((NOW - 30 * 3600)) tCURL=$((NOW - 20 * 3600)) tSH=$((NOW - 3 * 3600)) tLS=$((NOW - 3600))

rec old1 $tOLD start $S_OLD ',"version":"0.1.0","argv":["make","test"],"cwd":"/home/dev/old","uid":1000,"policy":{},"layers":[]' \
	'make test  in /home/dev/old'
rec old2 $((tOLD + 5)) end $S_OLD ',"exit_status":0,"signal":0,"wall_ms":5000,"cpu_ms":4000,"peak_memory":2048' \
	'exit 0, 5.0s wall, 4.0s CPU, 2.0 KiB peak'

rec curl1 $tCURL start $S_CURL ',"version":"0.1.0","argv":["curl","-s","https://evil.example/x"],"cwd":"/w","uid":1000,"policy":{},"layers":[]' \
	'curl -s https://evil.example/x  in /w'
rec curl2 $((tCURL + 1)) denial $S_CURL ',"kind":"connect","target":"evil.example","port":443,"rule":"not in --allow"' \
	'connect evil.example:443: not in --allow'
rec curl3 $((tCURL + 2)) end $S_CURL ',"exit_status":6,"signal":0,"wall_ms":1200,"cpu_ms":30,"peak_memory":0' \
	'exit 6, 1.2s wall, 30ms CPU, peak memory unknown'

LONGCWD="/home/dev/my proj/$(printf 'deep/%.0s' {1..20})end"
rec sh1 $tSH start $S_SH ",\"version\":\"0.1.0\",\"argv\":[\"sh\",\"-c\",\"echo 'hi' > out.txt\"],\"cwd\":\"$LONGCWD\",\"uid\":1000,\"policy\":{},\"layers\":[]" \
	"sh -c 'echo '\\''hi'\\'' > out.txt'  in '$LONGCWD'"
rec sh2 $((tSH + 1)) file $S_SH ',"change":"created","path":"/home/dev/my proj/out.txt","from":null,"future_field":{"x":[1,2]}' \
	"created '/home/dev/my proj/out.txt'"
rec sh3 $((tSH + 2)) file $S_SH ',"change":"renamed","path":"/w/b.txt","from":"/w/a.txt"' \
	'renamed /w/a.txt -> /w/b.txt'
rec sh4 $((tSH + 3)) net $S_SH ',"host":"registry.npmjs.org","port":443,"address":"104.16.0.1","verdict":"allowed","bytes_out":1536,"bytes_in":35000,"duration_ms":1100' \
	'allowed registry.npmjs.org:443, 1.5 KiB out, 34.1 KiB in, 1.1s'
rec sh5 $((tSH + 4)) net $S_SH ',"host":"evil.example","port":80,"verdict":"denied","bytes_out":0,"bytes_in":0,"duration_ms":3' \
	'denied evil.example:80, 0 B out, 0 B in, 3ms'
raw bad1 $((tSH + 4)) '{"type":"net","ts": oops'
raw bad2 $((tSH + 4)) "{\"type\":\"end\",\"ts\":\"$(ts_of $((tSH + 4)))\",\"schema\":2,\"session\":\"$S_SH\"}"
rec sh6 $((tSH + 5)) denial $S_SH ',"kind":"write","target":"/etc/passwd","rule":"outside writable roots","count":2' \
	'write /etc/passwd: outside writable roots (2 times)'
rec sh7 $((tSH + 6)) end $S_SH ',"exit_status":1,"signal":0,"wall_ms":6500,"cpu_ms":2100,"peak_memory":83886080,"denials":3' \
	'exit 1, 6.5s wall, 2.1s CPU, 80.0 MiB peak, 3 denials'

rec ls1 $tLS start $S_LS ',"version":"0.1.0","argv":["ls","-la"],"cwd":"/w","uid":1000,"policy":{},"layers":[]' \
	'ls -la  in /w'
rec ls2 $((tLS + 1)) denial $S_LS ',"kind":"write","target":"/w/\u001B[2Jx","rule":"outside writable roots"' \
	"write \$'/w/\\x1b[2Jx': outside writable roots"
rec ls3 $((tLS + 2)) end $S_LS ',"exit_status":137,"signal":9,"wall_ms":60000,"cpu_ms":5,"peak_memory":1024' \
	'exit 137 (signal 9), 1m00s wall, 5ms CPU, 1.0 KiB peak'

# One session in yesterday's file (UTC): until 22:00 UTC inside the 24-hour window, at 23:59, or
# five hours ago when that is earlier (just after midnight 23:59 would fall inside the 2-hour and
# 200-minute windows tested below); after 22:00 at 01:00, outside it. Either way it is an hour or
# more from the edge of 24 hours and of 2 days.
MIDNIGHT=$(date -u -d "$(date -u -d "@$NOW" +%F)" +%s)
if ((NOW - MIDNIGHT < 22 * 3600)); then
	tYDAY=$((MIDNIGHT - 60))
	((tYDAY > NOW - 5 * 3600)) && tYDAY=$((NOW - 5 * 3600))
else
	tYDAY=$((MIDNIGHT - 86400 + 3600))
fi
rec yday1 $tYDAY start $S_YDAY ',"version":"0.1.0","argv":["true"],"cwd":"/w","uid":1000,"policy":{},"layers":[]' 'true  in /w'

write_fixtures
# A file three days old holding a recent record: the default window must not even open it, and
# one dated 2020 holding junk must not be warned about.
STALE_FILE=$AUD/$(date -u -d "@$((NOW - 3 * 86400))" +%F).jsonl
printf '{"type":"start","ts":"%s","schema":1,"session":"%s","argv":["stale"],"cwd":"/w"}\n' "$(ts_of $((NOW - 7200)))" \
	"$S_STALE" >"$STALE_FILE"
printf 'junk from 2020\n' >"$AUD/2020-01-01.jsonl"
printf 'not a day file\n' >"$AUD/notes.txt"
own "$T"

# expect ID...: the table rows for these records, in time order, as cordon log must print them.
expect() {
	local id first=1 width=8 when day
	for id in $(by_time "$@"); do
		day=$(TZ=$TZV date -d "@${R_SEC[$id]}" +%F)
		if [[ $day == "$TODAY_LOCAL" ]]; then when=$(TZ=$TZV date -d "@${R_SEC[$id]}" +%T)
		else when=$(TZ=$TZV date -d "@${R_SEC[$id]}" '+%F %T'); fi
		if ((first)); then
			[[ $day == "$TODAY_LOCAL" ]] || width=19
			first=0
		fi
		printf '%*s  %-8s  %-6s  %s\n' "$width" "$when" "${R_SES[$id]:0:8}" "${R_TYPE[$id]}" "${R_SUM[$id]}"
	done
}

# expect_json ID...: the lines --json must print for these records.
expect_json() {
	local id
	for id in $(by_time "$@"); do
		printf '%s\n' "${R_LINE[$id]}"
	done
}

# is_text GOT WANT DESC: exact comparison, with a diff when it fails.
is_text() {
	if [[ $1 == "$2" ]]; then ok "$3"; else not_ok "$3" "$(diff <(printf '%s\n' "$2") <(printf '%s\n' "$1"))"; fi
}

# ids_from SEC: the ids of the fixture records at or after SEC (not the raw lines).
ids_from() {
	local id
	for id in "${R_IDS[@]}"; do
		[[ ${R_TYPE[$id]} != bad ]] && ((R_SEC[$id] >= $1)) && echo "$id"
	done
}

# ---------------------------------------------------------------------------------------------
# The default view: the last 24 hours, as a table

WINDOW=(curl1 curl2 curl3 sh1 sh2 sh3 sh4 sh5 sh6 sh7 ls1 ls2 ls3)
((NOW - tYDAY < 86400)) && WINDOW+=(yday1)
run cordon_as_user log
is "$RC" 0 "cordon log exits 0 although two lines are bad"
is_text "$OUT" "$(expect "${WINDOW[@]}")" "the table: the last 24 hours, one aligned line per record, in time order"
if [[ $OUT != *$'\e'* ]]; then ok "no escape character reaches stdout"; else not_ok "no escape character reaches stdout" "$OUT"; fi
is "$(grep -c . <<<"$ERR")" 2 "stderr has two warnings: one per bad line"
like "$(sed -n 1p <<<"$ERR")" "^cordon log: ${R_FILE[bad1]}:${R_LINENO[bad1]}: skipped: not JSON: " \
	"the malformed line is named as FILE:LINE"
is "$(sed -n 2p <<<"$ERR")" "cordon log: ${R_FILE[bad2]}:${R_LINENO[bad2]}: skipped: schema 2, this cordon reads schema 1" \
	"the schema-2 line is named as FILE:LINE, with its schema"
unlike "$ERR" "2020-01-01|stale" "day files before the window are not opened"
unlike "$OUT" "${S_STALE:0:8}|${S_OLD:0:8}" "records before the window, or in older day files, are left out"
sh1_row=$(grep -F " sh -c " <<<"$OUT")
if ((${#sh1_row} > 150)); then ok "piped output is never truncated (${#sh1_row} columns)"
else not_ok "piped output is never truncated" "$sh1_row"; fi

run cordon_as_user log --json
is_text "$OUT" "$(expect_json "${WINDOW[@]}")" "--json: exactly the records, one compact object per line"
if OUTJ=$(jq -c . <<<"$OUT" 2>&1) && [[ $(wc -l <<<"$OUTJ") == "${#WINDOW[@]}" ]]; then ok "--json output is JSON Lines jq reads"
else not_ok "--json output is JSON Lines jq reads" "$OUTJ"; fi

# ---------------------------------------------------------------------------------------------
# --denied and --session

DENIED=(curl2 sh5 sh6 ls2)
run cordon_as_user log --denied
is "$RC" 0 "--denied exits 0"
is_text "$OUT" "$(expect curl1 curl2 sh1 sh5 sh6 ls1 ls2)" \
	"--denied: denials and denied connections, each session's start line once before them"
run cordon_as_user log --denied --json
is_text "$OUT" "$(expect_json "${DENIED[@]}")" "--denied --json: only the denials and denied connections"

run cordon_as_user log --session b0b0b0b01
is_text "$OUT" "$(expect sh1 sh2 sh3 sh4 sh5 sh6 sh7)" "--session with a unique prefix: that session only"
run cordon_as_user log --session $S_LS --json
is_text "$OUT" "$(expect_json ls1 ls2 ls3)" "--session with a full id, --json"
run cordon_as_user log --session b0b0b0b01 --denied
is_text "$OUT" "$(expect sh1 sh5 sh6)" "--session and --denied together"
run cordon_as_user log --session b0b0
is "$RC" 125 "an ambiguous --session prefix is refused with 125"
like "$ERR" "b0b0.*matches 2 sessions.*$S_SH.*$S_LS" "the refusal names the prefix and the sessions it matches"
is "$OUT" "" "an ambiguous prefix prints no records"
run cordon_as_user log --session abc
is "$RC" 125 "a --session prefix under 4 characters is refused"
like "$ERR" "--session \`abc\`" "the refusal names the value"
run cordon_as_user log --session ffff
is "$RC:$OUT" "0:" "a session that is not there: no records, exit 0"
# An id that is also the start of others names itself, whichever comes first in the log.
PFX=$T/prefix.jsonl
for ses in abcd1111 abcd abcd2222 abcd; do
	printf '{"type":"start","ts":"%s","schema":1,"session":"%s","argv":["%s"],"cwd":"/w"}\n' "$(ts_of "$tLS")" "$ses" "$ses"
done >"$PFX" && own "$PFX"
run cordon_as_user log --file "$PFX" --session abcd --json
is "$(jq -r .argv[0] <<<"$OUT" | tr '\n' ' ')" "abcd abcd " "--session ID that other ids start with: that session exactly"
run cordon_as_user log --file "$PFX" --session abcd2
is "$RC:$(grep -c . <<<"$OUT")" "0:1" "and a longer prefix still picks its one session"
run cordon_as_user log --session a1b2
is "$OUT" "" "--session does not reach before the window"
run cordon_as_user log --session a1b2 --since 2d
is_text "$OUT" "$(expect old1 old2)" "--session with --since 2d finds the older session"

# ---------------------------------------------------------------------------------------------
# --since

run cordon_as_user log --since 2h
is_text "$OUT" "$(expect ls1 ls2 ls3)" "--since 2h"
run cordon_as_user log --since 200m
is_text "$OUT" "$(expect sh1 sh2 sh3 sh4 sh5 sh6 sh7 ls1 ls2 ls3)" "--since 200m"
run cordon_as_user log --since 30s
is "$RC:$OUT" "0:" "--since 30s: nothing, exit 0"
like "$ERR" "no matching records since" "and stderr says there was nothing"
run cordon_as_user log --since 2d --json
is_text "$OUT" "$(expect_json old1 old2 yday1 curl1 curl2 curl3 sh1 sh2 sh3 sh4 sh5 sh6 sh7 ls1 ls2 ls3)" "--since 2d"
run cordon_as_user log --since 4d --json
first=$(head -n1 <<<"$OUT")
like "$first" "\"session\":\"$S_STALE\"" "--since 4d opens the 3-day-old file, and files go by name before time"
YDAY=$(date -u -d "@$((MIDNIGHT - 1))" +%F)
run cordon_as_user log --since "$YDAY" --json
mapfile -t ids_y < <(ids_from $((MIDNIGHT - 86400)))
is_text "$OUT" "$(expect_json "${ids_y[@]}")" "--since YYYY-MM-DD (yesterday, UTC) reads yesterday's file"
since_min=$(date -u -d "@$((tSH - 60))" +%Y-%m-%dT%H:%M)
since_min_sec=$(date -u -d "${since_min/T/ } UTC" +%s)
run cordon_as_user log --since "$since_min" --json
mapfile -t ids < <(ids_from "$since_min_sec")
is_text "$OUT" "$(expect_json "${ids[@]}")" "--since YYYY-MM-DDTHH:MM"
run cordon_as_user log --since "$(date -u -d "@$tLS" +%Y-%m-%dT%H:%M:%S)Z" --json
is_text "$OUT" "$(expect_json ls1 ls2 ls3)" "--since YYYY-MM-DDTHH:MM:SSZ includes a record in that second"
run cordon_as_user log --since "$(date -u -d "@$((tLS + 1))" +%Y-%m-%dT%H:%M:%S)" --json
is_text "$OUT" "$(expect_json ls2 ls3)" "--since YYYY-MM-DDTHH:MM:SS leaves out the second before"
run cordon_as_user log --since "$(ts_of "$tLS")" --json
is_text "$OUT" "$(expect_json ls1 ls2 ls3)" "--since takes a record's own ts"

for bad in 5x 10 -2h 2026-13-01 2026-11-22T25:00 yesterday ''; do
	run cordon_as_user log --since "$bad"
	lines=$(printf '%s\n' "$ERR" | grep -c .)
	if [[ $RC == 125 && $ERR == *"--since \`$bad\`"* && $lines == 1 && -z $OUT ]]; then
		ok "--since \`$bad\` is refused with 125 and one line naming it"
	else
		not_ok "--since \`$bad\` is refused with 125 and one line naming it" "$(what_happened)"
	fi
done

# ---------------------------------------------------------------------------------------------
# Options and other inputs

for bad in --frobnicate -x --json=yes extra; do
	run cordon_as_user log "$bad"
	if [[ $RC == 125 && $ERR == *"\`$bad\`"* && -z $OUT ]]; then ok "\`$bad\` is refused with 125, named"
	else not_ok "\`$bad\` is refused with 125, named" "$(what_happened)"; fi
done
run cordon_as_user log --since
if [[ $RC == 125 && $ERR == *"\`--since\` needs a value"* ]]; then ok "a flag without its value is refused, named"
else not_ok "a flag without its value is refused, named" "$(what_happened)"; fi
run cordon_as_user log --help
if [[ $RC == 0 && $OUT == "usage: cordon log "* && -z $ERR ]]; then ok "--help prints the usage on stdout"
else not_ok "--help prints the usage on stdout" "$(what_happened)"; fi

ONE=$T/one.jsonl
printf '%s\n' "${R_LINE[old1]}" "${R_LINE[old2]}" "${R_LINE[ls1]}" >"$ONE" && own "$ONE"
run cordon_as_user log --file "$ONE"
is_text "$OUT" "$(expect old1 old2 ls1)" "--file reads the whole file, whatever the records' age"
run cordon_as_user log --file "$ONE" --since 2h --json
is_text "$OUT" "$(expect_json ls1)" "--file with --since"
_sb_argv
OUT=$("${_SB[@]}" log --file - --json <"$ONE" 2>/dev/null)
is_text "$OUT" "$(expect_json old1 old2 ls1)" "--file - reads standard input"
run cordon_as_user log --file "$ONE" --file "$T/missing.jsonl" --file "$T"
is "$RC" 125 "a --file that cannot be read makes the exit status 125"
like "$ERR" "cannot read \`$T/missing.jsonl\`: No such file" "a missing file is named"
like "$ERR" "cannot read \`$T\`: is a directory" "a directory is named"
is_text "$OUT" "$(expect old1 old2 ls1)" "the readable file is still shown in full"

JUNK=$T/junk.jsonl
printf 'junk\n{"type":"start","schema":1}\n' >"$JUNK" && own "$JUNK"
run cordon_as_user log --file "$JUNK"
is "$RC:$OUT" "0:" "a file of bad lines: no records, exit 0"
like "$ERR" "junk.jsonl:1: skipped: not JSON" "the first bad line is named"
like "$ERR" "junk.jsonl:2: skipped: no \`ts\`" "the second bad line is named, with what is missing"
like "$ERR" "none of the 2 lines read is a schema-1 audit record" "and stderr says that every line was bad"

# ---------------------------------------------------------------------------------------------
# Where the log is

EXTRA_ENV=("XDG_STATE_HOME=$T/nothing-here" "TZ=$TZV")
run cordon_as_user log
is "$RC:$OUT" "0:" "no audit directory: no output, exit 0"
is "$ERR" "cordon log: no audit records yet (looked in $T/nothing-here/cordon/audit)" "and stderr says where it looked"
mkdir -p "$HOMEDIR/.local/state/cordon/audit"
printf '%s\n' "${R_LINE[ls1]}" >"$HOMEDIR/.local/state/cordon/audit/$(date -u -d "@$tLS" +%F).jsonl"
own "$HOMEDIR"
# base_env may set XDG_STATE_HOME (lib.sh keeps the runs' own logs apart): this one is built here.
run as_user env -i "HOME=$HOMEDIR" "PATH=/usr/bin:/bin" "TZ=$TZV" "$CORDON" log
is_text "$OUT" "$(expect ls1)" "without XDG_STATE_HOME: \$HOME/.local/state/cordon/audit"
EXTRA_ENV=("XDG_STATE_HOME=relative/state" "TZ=$TZV")
run cordon_as_user log
is_text "$OUT" "$(expect ls1)" "a relative XDG_STATE_HOME is ignored for \$HOME's"

# An unreadable day file: named, exit 125, and the other files still read.
S2=$T/state2
mkdir -p "$S2/cordon/audit/$(date -u -d "@$NOW" +%F).jsonl"
printf '%s\n' "${R_LINE[ls1]}" >"$S2/cordon/audit/$(date -u -d "@$((NOW - 86400))" +%F).jsonl"
own "$S2"
EXTRA_ENV=("XDG_STATE_HOME=$S2" "TZ=$TZV")
run cordon_as_user log --since 2d --json
is "$RC" 125 "a day file that cannot be read makes the exit status 125"
like "$ERR" "cannot read \`$S2/cordon/audit/[0-9-]+\\.jsonl\`: is a directory" "the unreadable day file is named"
is_text "$OUT" "$(expect_json ls1)" "the other day files are still read"
if [[ $TEST_USER != root ]]; then
	rmdir "$S2/cordon/audit/$(date -u -d "@$NOW" +%F).jsonl"
	printf '%s\n' "${R_LINE[ls2]}" >"$S2/cordon/audit/$(date -u -d "@$NOW" +%F).jsonl"
	chmod 0000 "$S2/cordon/audit/$(date -u -d "@$NOW" +%F).jsonl"
	run cordon_as_user log --since 2d
	if [[ $RC == 125 && $ERR == *"Permission denied"* ]]; then ok "a day file without read permission is named, 125"
	else not_ok "a day file without read permission is named, 125" "$(what_happened)"; fi
else
	skip "a day file without read permission is named, 125" "root reads any file"
fi

# ---------------------------------------------------------------------------------------------
# On a terminal: rows cut to its width; piped (above): never.

EXTRA_ENV=("XDG_STATE_HOME=$STATE" "TZ=$TZV")
if command -v script >/dev/null; then
	_sb_argv
	OUT=$(script -qec "stty cols 60 rows 20; $(printf '%q ' "${_SB[@]}") log --session b0b0b0b01 2>/dev/null" /dev/null </dev/null |
		tr -d '\r')
	widest=$(awk '{ if (length($0) > w) w = length($0) } END { print w + 0 }' <<<"$OUT")
	rows=$(grep -c . <<<"$OUT")
	sh1_cut=$(head -n1 <<<"$OUT")
	if [[ $widest == 60 && $rows == 7 && $sh1_cut == *"..." && $(expect sh1) == "${sh1_cut%...}"* ]]; then
		ok "on a 60-column terminal, long rows are cut to 60 columns ending in ..."
	else
		not_ok "on a 60-column terminal, long rows are cut to 60 columns ending in ..." "widest $widest, rows $rows" "$OUT"
	fi
else
	skip "on a 60-column terminal, long rows are cut" "no script(1)"
fi

done_testing
