#!/bin/sh
# Is the server still answering while N long polls are parked?  N nodes
# (default 10 000) register and park in POST /node?wait=30 against a
# serve-exec whose materializer never becomes ready; then GET /healthz and
# POST /register of a new node are timed PROBES times each with curl, and
# their median and max are printed (issue 10 asks for 100 ms at most).
# A probe not answered in 3 s counts as 3 s.  The server's peak RSS
# (VmHWM) is printed last.  MAXCONN=0 runs the server
# with its default --max-connections (else N + 100).  Every node comes
# from 127.0.0.1, so the per-address limit is lifted (as bootstrap.sh
# does): its default, half the connection limit, refuses half of them.
# Usage: sh test/bench/parked.sh [N [PROBES]]   (default 10000 and 20)
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
n=${1:-10000}
probes=${2:-20}
work=$(mktemp -d)
pid=
gpid=
trap 'for p in $gpid $pid; do kill "$p" 2>/dev/null || true; done
rm -rf "$work"' EXIT

gen=$top/test/bench/bootstrap
if [ ! -x "$gen" ] || [ "$gen" -ot "$top/test/bench/bootstrap.c" ]; then
	gen=$work/bootstrap
	cc -std=c11 -Wall -Wextra -O2 -D_GNU_SOURCE -I"$top/lib" -o "$gen" \
	    "$top/test/bench/bootstrap.c"
fi
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

maxconn="--max-connections $((n + 100))"
[ "${MAXCONN:-}" = 0 ] && maxconn=
# shellcheck disable=SC2086
NEED=$((n + probes + 1000)) "$top/cfgsync" serve-exec -q \
    --listen 127.0.0.1:0 --port-file "$work/port" $maxconn \
    --max-connections-per-ip 0 \
    -- "$top/test/bench/fleet.sh" 2>"$work/log" &
pid=$!
i=0
while [ ! -s "$work/port" ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
url=http://127.0.0.1:$(cat "$work/port")
"$gen" -m long -n "$n" -w "$n" -t 60 -p "$(cat "$work/port")" \
    >"$work/gen" 2>&1 &
gpid=$!
# Until every node is in (bounded: 20 s of wall time), then a moment to
# park.
ms() { echo $(( $(date +%s%N) / 1000000 )); }
start=$(ms)
got=0
while [ "$got" != "$n" ] && [ $(( $(ms) - start )) -lt 20000 ]; do
	sleep 0.1
	got=$(curl -s -m 1 "$url/metrics" |
	    awk '$1 == "cfgsync_registrations" { print $2 }')
done
inms=$(( $(ms) - start ))
sleep 1
k=0
while [ $k -lt "$probes" ]; do
	curl -s -o /dev/null -m 3 -w '%{time_total}\n' "$url/healthz" \
	    >>"$work/healthz" || echo 3 >>"$work/healthz"
	curl -s -o /dev/null -m 3 -w '%{time_total}\n' -X POST \
	    --data "{\"identifier\":\"probe-$k\",\"ip\":\"10.255.0.1\"}" \
	    "$url/register" >>"$work/register" || echo 3 >>"$work/register"
	k=$((k + 1))
done
stat() {
	sort -n "$1" | awk '{ a[NR] = $1 * 1000 } END {
		printf "median %.1f ms, max %.1f ms", a[int((NR + 1) / 2)], a[NR] }'
}
parked=$(curl -s -m 5 "$url/metrics" |
    awk '$1 == "cfgsync_registrations" { print $2 }')
rss=$(awk '/^VmHWM:/ { print $2 }' "/proc/$pid/status")
echo "with $n long polls parked (${parked:-?} registrations;" \
    "${maxconn:-default --max-connections}):" \
    "GET /healthz $(stat "$work/healthz"), POST /register" \
    "$(stat "$work/register") ($probes probes each); ${got:-?} of $n" \
    "nodes registered after ${inms} ms (20 000 at most waited);" \
    "server peak RSS ${rss:-?} KiB"
kill "$gpid" 2>/dev/null || true
wait "$gpid" 2>/dev/null || true
gpid=
