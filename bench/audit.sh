#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Cost of auditing: a 50-file C project built from clean (`make -j2`) natively, under `cordon run
# --no-audit`, under `cordon run` (audit log + observer, the default) and with --audit-reads
# (every open past the observer), interleaved round by
# round in one run so that the three see the same machine. Prints medians and the ratios of
# medians; nothing here asserts performance.
#
# usage: bench/audit.sh [--rounds N] [--files N] [--keep]
# env:   CORDON  cordon binary (default: build/src/cordon)
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
rounds=9
files=50
keep=0
while [[ $# -gt 0 ]]; do
	case $1 in
	--rounds) rounds=${2:?--rounds needs a number}; shift ;;
	--files) files=${2:?--files needs a number}; shift ;;
	--keep) keep=1 ;;
	-h|--help) sed -n '4,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; exit 0 ;;
	*) echo "audit.sh: unknown option $1" >&2; exit 2 ;;
	esac
	shift
done
cordon=${CORDON:-$root/build/src/cordon}
[[ -x $cordon ]] || { echo "audit.sh: no cordon at $cordon (set CORDON)" >&2; exit 2; }
command -v make >/dev/null && command -v cc >/dev/null || { echo "audit.sh: needs make and cc" >&2; exit 2; }

work=$(mktemp -d /tmp/cordon-bench-audit.XXXXXX)
[[ $keep == 1 ]] || trap 'rm -rf "$work"' EXIT
proj=$work/proj
mkdir -p "$proj" "$work/state"
# The project: each file includes the usual headers and holds a few functions; one main.
for ((i = 0; i < files; i++)); do
	cat >"$proj/f$i.c" <<EOF
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
struct item$i { char name[32]; double v; };
static int cmp$i(const void *a, const void *b) { const struct item$i *x = a, *y = b; return (x->v > y->v) - (x->v < y->v); }
double f$i(int n)
{
	struct item$i *v = calloc((size_t)n, sizeof(*v));
	double s = 0;
	for (int k = 0; k < n; k++) { snprintf(v[k].name, sizeof(v[k].name), "i%d", k); v[k].v = sin(k * $i.0); }
	qsort(v, (size_t)n, sizeof(*v), cmp$i);
	for (int k = 0; k < n; k++) s += v[k].v * (double)strlen(v[k].name);
	free(v);
	return s;
}
EOF
done
{
	echo '#include <stdio.h>'
	for ((i = 0; i < files; i++)); do echo "double f$i(int n);"; done
	echo 'int main(void) { double s = 0;'
	for ((i = 0; i < files; i++)); do echo "s += f$i(100);"; done
	echo 'printf("%f\n", s); return 0; }'
} >"$proj/main.c"
cat >"$proj/Makefile" <<'EOF'
SRCS := $(wildcard *.c)
OBJS := $(SRCS:.c=.o)
CFLAGS ?= -O1
app: $(OBJS)
	$(CC) -o $@ $(OBJS) -lm
%.o: %.c
	$(CC) $(CFLAGS) -c -o $@ $<
clean:
	rm -f app $(OBJS)
EOF

ms_now() { date +%s%N; }
# One clean build under the given prefix; prints milliseconds.
build() {
	make -s -C "$proj" clean >/dev/null
	local t0 t1
	t0=$(ms_now)
	"$@" make -s -C "$proj" -j2 >/dev/null
	t1=$(ms_now)
	echo $(((t1 - t0) / 1000000))
}
native() { "$@"; }
no_audit() { "$cordon" run -w "$proj" --no-audit -- "$@"; }
audited() { XDG_STATE_HOME=$work/state "$cordon" run -w "$proj" -- "$@"; }
reads() { XDG_STATE_HOME=$work/state "$cordon" run -w "$proj" --audit-reads -- "$@"; }

build native >/dev/null # warm the page cache and the compiler
declare -a tn ta tb tc
for ((r = 0; r < rounds; r++)); do
	tn+=("$(build native)")
	ta+=("$(build no_audit)")
	tb+=("$(build audited)")
	tc+=("$(build reads)")
done
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
mn=$(median "${tn[@]}") ma=$(median "${ta[@]}") mb=$(median "${tb[@]}") mc=$(median "${tc[@]}")
records=$(cat "$work"/state/cordon/audit/*.jsonl 2>/dev/null | wc -l)
printf 'audit bench: %d files, make -j2, %d rounds (ms, medians)\n' "$files" "$rounds"
printf '  native            %6s\n' "$mn"
printf '  cordon --no-audit %6s   %.3fx native\n' "$ma" "$(echo "$ma / $mn" | bc -l)"
printf '  cordon (audited)  %6s   %.3fx native, %+.1f%% over --no-audit\n' "$mb" "$(echo "$mb / $mn" | bc -l)" \
	"$(echo "($mb / $ma - 1) * 100" | bc -l)"
printf '  --audit-reads     %6s   %.3fx native, %+.1f%% over --no-audit\n' "$mc" "$(echo "$mc / $mn" | bc -l)" \
	"$(echo "($mc / $ma - 1) * 100" | bc -l)"
printf '  audit records written: %s\n' "$records"
printf '  samples native:   %s\n  samples no-audit: %s\n  samples audited:  %s\n  samples reads:    %s\n' \
	"${tn[*]}" "${ta[*]}" "${tb[*]}" "${tc[*]}"
