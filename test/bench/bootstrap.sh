#!/bin/sh
# Fleet bootstrap: N nodes, one connection each, register and then wait for
# their files from a real `cfgsync serve-exec` on 127.0.0.1 (port 0) whose
# materializer (fleet.sh) is ready once all N are in.  Each N runs twice:
# long poll (POST /node?wait=30) and, as the reference, the original
# client's plain polling (POST /node every 250 ms).  One summary line a
# run, then the ratio long/plain of the wall times.
#
# Usage: sh test/bench/bootstrap.sh [N ...]     (default 1000 10000 100000)
# Environment: PEERS=1 makes the shared file list every peer; BENCH_GZIP=1 makes
# the nodes send Accept-Encoding: gzip; WAVE (default 10000) is the most
# connections at a time; DATA=FILE appends "mode n wall_ms rss_kib" lines.
#
# Server flags: --max-connections WAVE + WAVE/25 + 100, so that WAVE stays
# under the mark (97 %) from which idle keep-alive connections are closed
# for room (the default follows the open-file limit), and
# --max-connections-per-ip 0: every node here comes
# from 127.0.0.1 (up to 10 000) or 16 loopback addresses, where a real
# fleet has an address each, and the per-address default (half the
# connection limit) would refuse half of them.  Everything else is the
# default.
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
wave=${WAVE:-10000}
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
# One socket per node on both sides: take the whole open-file limit.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

metric() {	# metric NAME: sum of the samples of NAME in $work/metrics
	awk -v m="$1" 'index($0, m) == 1 { s += $2 } END { print s + 0 }' \
	    "$work/metrics"
}

# run MODE N: one run; prints its line and keeps its wall time in $work.
run() {
	rm -f "$work/port"
	NEED=$2 PEERS=${PEERS:-0} "$top/cfgsync" serve-exec -q \
	    --listen 127.0.0.1:0 --port-file "$work/port" \
	    --max-connections $((wave + wave / 25 + 100)) \
	    --max-connections-per-ip 0 -- \
	    "$top/test/bench/fleet.sh" 2>"$work/log" &
	pid=$!
	i=0
	while [ ! -s "$work/port" ] && [ $i -lt 200 ]; do
		sleep 0.05; i=$((i + 1))
	done
	port=$(cat "$work/port")
	naddrs=1
	[ "$2" -gt "$wave" ] && naddrs=16
	gz=
	[ "${BENCH_GZIP:-0}" = 1 ] && gz=-z
	line=$(timeout 300 "$gen" -m "$1" -n "$2" -w "$wave" -a $naddrs $gz \
	    -t 240 -p "$port" 127.0.0.1) || echo "bootstrap: $1 $2 failed" >&2
	curl -s -m 10 -o "$work/metrics" "http://127.0.0.1:$port/metrics" ||
	    : >"$work/metrics"
	rss=$(awk '/^VmHWM:/ { print $2 }' "/proc/$pid/status")
	kill "$pid"
	wait "$pid" || true
	pid=
	runs=$(metric cfgsync_materializer_runs_total)
	mat=$(metric cfgsync_materializer_seconds_total)
	echo "$line mat_runs=$runs mat_s=$mat rss_kib=$rss"
	wall=$(echo "$line" | sed -n 's/.* wall_ms=\([0-9]*\).*/\1/p')
	echo "${wall:-0}" >"$work/wall.$1"
	if [ -n "${DATA:-}" ]; then
		echo "$1 $2 ${wall:-0} $rss" >>"$DATA"
	fi
}

for n in ${@:-1000 10000 100000}; do
	run long "$n"
	run plain "$n"
	awk -v n="$n" -v a="$(cat "$work/wall.long")" \
	    -v b="$(cat "$work/wall.plain")" 'BEGIN {
		printf "n=%d ratio wall long/plain: %.3f\n", n, (b > 0 ? a / b : 0)
	}'
done
