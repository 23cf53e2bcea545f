#!/bin/sh
# Registration throughput of serve-exec in memory and with --state (the
# journal in a temporary directory), ROUNDS rounds interleaved, each a
# fresh server taking N registrations (about 100 bytes of metadata each)
# from the C generator over CONNS keep-alive connections (all from
# 127.0.0.1, so --max-connections-per-ip 0).  Prints each
# round, the medians, the ratio state/memory, and the server's peak RSS
# with the memory per registration (peak minus the RSS before the load).
# The materializer (fleet.sh) never becomes ready, as in a filling fleet.
# A round ends after N registrations or SECS seconds, whichever is first
# (with --state today's server takes minutes for 100 000); its rate is the
# registrations it made over its time.
# Usage: sh test/bench/register.sh [N [CONNS [ROUNDS [SECS]]]]
#        (default 100000, 200, 3 and 30)
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
n=${1:-100000}
conns=${2:-200}
rounds=${3:-3}
secs=${4:-30}
work=$(mktemp -d)
pid=
trap 'if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; fi
rm -rf "$work"' EXIT

gen=$top/test/bench/bootstrap
if [ ! -x "$gen" ] || [ "$gen" -ot "$top/test/bench/bootstrap.c" ]; then
	gen=$work/bootstrap
	cc -std=c11 -Wall -Wextra -O2 -D_GNU_SOURCE -I"$top/lib" -o "$gen" \
	    "$top/test/bench/bootstrap.c"
fi
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

# run memory|state: one round; appends its rate and memory figures.
run() {
	rm -f "$work/port" "$work/state"
	st=
	[ "$1" = state ] && st="--state $work/state"
	# shellcheck disable=SC2086
	NEED=$((n + 1)) "$top/cfgsync" serve-exec -q --listen 127.0.0.1:0 \
	    --port-file "$work/port" --max-connections $((conns + 100)) \
	    --max-connections-per-ip 0 $st \
	    -- "$top/test/bench/fleet.sh" 2>"$work/log" &
	pid=$!
	i=0
	while [ ! -s "$work/port" ] && [ $i -lt 200 ]; do
		sleep 0.05; i=$((i + 1))
	done
	base=$(awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status")
	line=$(timeout 300 "$gen" -m register -n "$n" -c "$conns" -b 100 \
	    -t "$secs" -p "$(cat "$work/port")" 127.0.0.1) ||
	    echo "register.sh: $1 round failed" >&2
	rss=$(awk '/^VmHWM:/ { print $2 }' "/proc/$pid/status")
	kill "$pid"
	wait "$pid" || true
	pid=
	echo "$1: $line rss_kib=$rss"
	echo "$line" | sed -n 's/.* rate=\([0-9]*\).*/\1/p' >>"$work/rate.$1"
	regs=$(echo "$line" | sed -n 's/.* regs=\([0-9]*\).*/\1/p')
	echo "$rss $base ${regs:-0}" >>"$work/rss.$1"
}

median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
r=1
while [ $r -le "$rounds" ]; do
	run memory
	run state
	r=$((r + 1))
done
m=$(median <"$work/rate.memory")
s=$(median <"$work/rate.state")
echo "registrations/s, median of $rounds: in memory $m, with --state $s"
awk -v a="$s" -v b="$m" 'BEGIN {
	printf "ratio state/memory: %.3f\n", (b > 0 ? a / b : 0) }'
awk '{ if ($1 > peak) { peak = $1; base = $2; n = $3 } } END {
	printf "peak RSS in memory: %.1f MiB for %d registrations, " \
	    "%.0f bytes a registration\n", peak / 1024, n,
	    (n > 0 ? (peak - base) * 1024 / n : 0) }' "$work/rss.memory"
