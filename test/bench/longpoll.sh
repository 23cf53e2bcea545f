#!/bin/sh
# Long poll against plain polling: how soon after the registration that
# makes a set ready does a waiting `cfgsync fetch` have its files?
# Runs serve-exec on 127.0.0.1 with a materializer that needs 2 nodes,
# ROUNDS times each way, and prints the median latencies and their ratio.
# Usage: sh test/bench/longpoll.sh [ROUNDS]   (default 10)
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
rounds=${1:-10}
work=$(mktemp -d)
pid=
trap 'if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; fi; rm -rf "$work"' EXIT

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

# one_round POLL_WAIT: prints the latency in ms of one round.
one_round() {
	rm -f "$work/port"
	NEED=2 "$top/cfgsync" serve-exec -q --listen 127.0.0.1:0 \
	    --port-file "$work/port" --debounce 0 -- \
	    "$top/test/fixtures/need2.sh" 2>/dev/null &
	pid=$!
	i=0
	while [ ! -s "$work/port" ] && [ $i -lt 200 ]; do
		sleep 0.05; i=$((i + 1))
	done
	url=http://127.0.0.1:$(cat "$work/port")
	"$top/cfgsync" fetch -q --server "$url" --id node-1 --ip 10.0.0.1 \
	    --poll-wait "$1" --timeout 30 --out "$work/o" &
	fetch=$!
	sleep 1.5	# the fetch is waiting, its back-off grown
	start=$(now_ms)
	curl -s -o /dev/null -X POST \
	    --data '{"identifier":"node-2","ip":"10.0.0.2"}' "$url/register"
	wait "$fetch"
	echo $(( $(now_ms) - start ))
	kill "$pid"; wait "$pid" || true; pid=
}

median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

for r in $(seq 1 "$rounds"); do one_round 30; done >"$work/long"
for r in $(seq 1 "$rounds"); do one_round 0; done >"$work/plain"
long=$(median <"$work/long")
plain=$(median <"$work/plain")
echo "rounds: $rounds"
echo "long poll (--poll-wait 30): median ${long} ms from last registration to files"
echo "plain polling (--poll-wait 0): median ${plain} ms (the reference)"
awk -v a="$long" -v b="$plain" 'BEGIN { printf "ratio long/plain: %.3f\n", (b > 0 ? a / b : 0) }'
