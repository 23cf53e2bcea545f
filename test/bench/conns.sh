#!/bin/sh
# Connections at fleet scale: serve-exec with N long polls parked (default
# 10 000, from 4 loopback addresses), against the same server built from
# BASE (default main) in the same run.  For each binary it prints the
# server's peak RSS and its cost per parked poll, and the median and max of
# PROBES timed GET /healthz and POST /register while they are parked
# (issue 10: 64 MiB, 100 ms), then the ratios new/old.  The old binary gets
# --max-connections N+100 (its default, 1024, cannot hold them); the new
# one runs with no connection flag at all.
# Usage: sh test/bench/conns.sh [N [PROBES]]   (default 10000 and 20)
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
n=${1:-10000}
probes=${2:-20}
base=${BASE:-main}
work=$(mktemp -d)
pid=
ppid_=
trap 'for p in $ppid_ $pid; do kill "$p" 2>/dev/null || true; done
rm -rf "$work"' EXIT
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

# The reference: BASE built in a directory of its own.
mkdir "$work/old"
git -C "$top" archive "$base" | tar -x -C "$work/old"
make -s -C "$work/old" -j2 cfgsync >/dev/null

ms() { awk -v t="$1" 'BEGIN { printf "%.1f", t * 1000 }'; }
kib() { awk -v k="$2" '$1 == k ":" { print $2 }' "/proc/$1/status"; }
stats() { sort -n | awk '{ a[NR] = $1 } END {
	printf "%.1f %.1f", a[int((NR + 1) / 2)], a[NR] }'; }

# one BINARY FLAGS: prints "rss_kib per_conn_bytes healthz_p50 healthz_max
# register_p50 register_max statuses".
one() {
	bin=$1
	shift
	rm -f "$work/port" "$work/ready"
	# shellcheck disable=SC2086
	# Ready only once node-1, the probes and two more are in.
	NEED=$((probes + 3)) "$bin" serve-exec -q --listen 127.0.0.1:0 \
	    --port-file "$work/port" --debounce 0 "$@" -- \
	    "$top/test/fixtures/need2.sh" 2>"$work/log" &
	pid=$!
	i=0
	while [ ! -s "$work/port" ] && [ $i -lt 200 ]; do
		sleep 0.05; i=$((i + 1))
	done
	url=http://127.0.0.1:$(cat "$work/port")
	curl -s -o /dev/null -X POST \
	    --data '{"identifier":"node-1","ip":"10.0.0.1"}' "$url/register"
	before=$(kib "$pid" VmRSS)
	python3 "$top/test/bench/park_many.py" "$(cat "$work/port")" "$n" \
	    "$work/ready" >"$work/park.out" &
	ppid_=$!
	i=0
	while [ ! -e "$work/ready" ] && [ $i -lt 1200 ]; do
		sleep 0.1; i=$((i + 1))
	done
	sleep 1
	parked=$(kib "$pid" VmRSS)
	: >"$work/h"
	: >"$work/r"
	for i in $(seq 1 "$probes"); do
		ms "$(curl -s -m 3 -o /dev/null -w '%{time_total}' \
		    "$url/healthz" || echo 3)" >>"$work/h"
		echo >>"$work/h"
	done
	# Each registration runs the materializer and wakes every poll.
	for i in $(seq 1 "$probes"); do
		ms "$(curl -s -m 3 -o /dev/null -w '%{time_total}' -X POST \
		    --data "{\"identifier\":\"p$i\",\"ip\":\"10.1.0.1\"}" \
		    "$url/register" || echo 3)" >>"$work/r"
		echo >>"$work/r"
	done
	# Two more make the set ready: every poll is answered.
	for i in 1 2; do
		curl -s -o /dev/null -X POST \
		    --data "{\"identifier\":\"last$i\",\"ip\":\"10.2.0.1\"}" \
		    "$url/register"
	done
	wait "$ppid_" || true
	ppid_=
	peak=$(kib "$pid" VmHWM)
	kill "$pid"
	wait "$pid" || true
	pid=
	echo "$peak $(( (parked - before) * 1024 / n )) $(stats <"$work/h")" \
	    "$(stats <"$work/r") $(cat "$work/park.out")"
}

new=$(one "$top/cfgsync")
old=$(one "$work/old/cfgsync" --max-connections $((n + 100)))
printf '%s parked polls; peak RSS KiB, bytes per parked poll, /healthz ms p50 max, /register ms p50 max, answers\n' "$n"
echo "new ($(git -C "$top" rev-parse --short HEAD)): $new"
echo "old ($base): $old"
echo "$new" | cut -d' ' -f1-6 >"$work/cmp"
echo "$old" | cut -d' ' -f1-6 >>"$work/cmp"
awk 'NR == 1 { split($0, a) } NR == 2 { printf "ratio new/old: peak RSS " \
    "%.2f, per poll %.2f, /healthz max %.2f, /register max %.2f\n",
    a[1] / $1, a[2] / $2, a[4] / $4, a[6] / $6 }' "$work/cmp"
