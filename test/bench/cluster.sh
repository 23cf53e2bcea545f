#!/bin/bash
# Several servers against one: N nodes (default 10 000) bootstrap against
# three `cfgsync serve-exec --etcd` instances on a three-member etcd, and
# against one instance with --state, in the same run, with the same load
# (cluster_load.py, which fails over as `cfgsync fetch --server LIST`
# does).  Each setup runs twice:
#   clean  register all, then fetch all: wall time, registrations/s,
#          materializer runs (the sum of every instance's counter)
#   kill   the same, but the leading instance (the only one, for --state)
#          is killed -9 right after the last 202, while its materializer
#          (MAT_SLEEP s) runs; the single server is restarted at once on its
#          state file, as a supervisor would: the time from the death to
#          the last node served
# and registrations/s alone, from the C generator (bootstrap.c -m register,
# REG_CONNS connections) into one --state server and into instance A of three,
# since the Python load above is the limit of its own registration phase,
# against the reference: etcd alone (etcd_txn.c: the same txns in batches
# of 100 from one and from three committers, nothing in front), with the
# CPU etcd and the instances spend a registration.
# Everything on 127.0.0.1, free ports, temp dirs, processes stopped by
# PID.  Needs etcd (Debian's etcd-server), curl, jq and python3.
#
# Usage: bash test/bench/cluster.sh [N]
# Environment: MAT_SLEEP (default 2), LEASE_TTL (default 5), REG_CONNS
# (the generator's connections for registrations/s, default 200; a third
# of them into each instance when all three take registrations), KEEP_LOGS
# (a directory: the servers' logs are copied there at the end),
# ONLY=register (registrations/s alone), ONLY=failover (writes through
# kill -9 of the etcd leader, straight into etcd and through the
# instances: failover.py's longest stall), ETCD_MEM=1 (the members' data
# in /dev/shm: comparing two builds, the disk's fsync times out of it).
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
n=${1:-10000}
mat_sleep=${MAT_SLEEP:-2}
ttl=${LEASE_TTL:-5}
conns=${REG_CONNS:-200}
work=$(mktemp -d)
pids=
cleanup() {
	local p
	for p in $pids; do
		kill -CONT "$p" 2>/dev/null || true
		kill -KILL "$p" 2>/dev/null || true
	done
	etcd_stop_all >/dev/null 2>&1 || true
	[ -z "${etcd_data:-}" ] || rm -rf "$etcd_data"
	[ -z "${KEEP_LOGS:-}" ] || cp "$work"/*.log "$KEEP_LOGS"/ 2>/dev/null ||
	    true
	rm -rf "$work"
}
trap cleanup EXIT
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

free_port() {
	python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}
# shellcheck source=../etcd.bash
. "$top/test/etcd.bash"

cat >"$work/mat.sh" <<SH
#!/bin/sh
sleep $mat_sleep
NEED=$n exec "$top/test/bench/fleet.sh"
SH
chmod +x "$work/mat.sh"

# start NAME ARGS...: a serve-exec on a free port; sets URL_NAME, PID_NAME.
start() {
	local name=$1 i
	shift
	rm -f "$work/$name.port"
	"$top/cfgsync" serve-exec -q --listen 127.0.0.1:0 \
	    --port-file "$work/$name.port" --max-connections $((n + 200)) \
	    --max-connections-per-ip 0 "$@" -- "$work/mat.sh" \
	    >/dev/null 2>>"$work/$name.log" &
	eval "PID_$name=$!"
	pids="$pids $!"
	for i in $(seq 1 200); do
		[ -s "$work/$name.port" ] && break
		sleep 0.05
	done
	eval "URL_$name=http://127.0.0.1:$(cat "$work/$name.port")"
}

stop() {
	local pid
	eval "pid=\${PID_$1:-}"
	[ -n "$pid" ] || return 0
	kill "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	eval "PID_$1="
}

# runs URL...: materializer runs, summed over the instances that answer.
runs() {
	local u s=0 r
	for u in "$@"; do
		r=$(curl -s -m 5 "$u/metrics" | awk '
		    /^cfgsync_materializer_runs_total/ { s += $2 }
		    END { print s + 0 }')
		s=$((s + r))
	done
	echo "$s"
}

leader() {
	local name u
	for name in A B C; do
		eval "u=\$URL_$name"
		if [ "$(curl -s -m 2 "$u/status" | jq -r .cluster.leading)" = true ]
		then
			echo "$name"
			return 0
		fi
	done
	return 1
}

load() {
	python3 "$top/test/bench/cluster_load.py" -n "$n" "$@"
}

# cluster MODE: three instances on a fresh prefix.
cluster() {
	local mode=$1 pfx="cfgsync/bench-$1/" l i line
	for name in A B C; do
		start "$name" --etcd "$ETCD" --etcd-prefix "$pfx" \
		    --lease-ttl "$ttl"
	done
	for i in $(seq 1 100); do
		leader >/dev/null && break
		sleep 0.1
	done
	l=$(leader)
	if [ "$mode" = clean ]; then
		line=$(load "$URL_A,$URL_B,$URL_C")
		echo "etcd x3 clean: $line mat_runs=$(runs "$URL_A" "$URL_B" "$URL_C")"
	else
		eval "kpid=\$PID_$l"
		line=$(load --after-register "kill -9 $kpid" "$URL_A,$URL_B,$URL_C")
		eval "PID_$l="
		echo "etcd x3 kill leader $l: $line mat_runs_survivors=$(runs \
		    $(for x in A B C; do [ "$x" = "$l" ] || eval "echo \$URL_$x"; done))"
	fi
	stop A; stop B; stop C
}

# single MODE: one instance with --state.
single() {
	local mode=$1 line port
	rm -f "$work/state"
	start S --state "$work/state"
	if [ "$mode" = clean ]; then
		line=$(load "$URL_S")
		echo "state x1 clean: $line mat_runs=$(runs "$URL_S")"
	else
		port=${URL_S##*:}
		# The restart takes the same port, as a supervisor's would.
		cat >"$work/restart.sh" <<-SH
		kill -9 $PID_S
		while kill -0 $PID_S 2>/dev/null; do sleep 0.01; done
		"$top/cfgsync" serve-exec -q --listen 127.0.0.1:$port \\
		    --max-connections $((n + 200)) --max-connections-per-ip 0 \\
		    --state "$work/state" -- "$work/mat.sh" >/dev/null 2>>"$work/S2.log" &
		echo \$! >"$work/S2.pid"
		SH
		line=$(load --after-register "sh $work/restart.sh" "$URL_S")
		PID_S=$(cat "$work/S2.pid")
		pids="$pids $PID_S"
		echo "state x1 kill + restart: $line mat_runs_after=$(runs "$URL_S")"
	fi
	stop S
}

gen=$top/test/bench/bootstrap
if [ ! -x "$gen" ] || [ "$gen" -ot "$top/test/bench/bootstrap.c" ]; then
	gen=$work/bootstrap
	cc -std=c11 -Wall -Wextra -O2 -D_GNU_SOURCE -I"$top/lib" -o "$gen" \
	    "$top/test/bench/bootstrap.c"
fi
ref=$top/test/bench/etcd_txn
if [ ! -x "$ref" ] || [ "$ref" -ot "$top/test/bench/etcd_txn.c" ]; then
	ref=$work/etcd_txn
	cc -std=c11 -Wall -Wextra -O2 -D_GNU_SOURCE -I"$top/lib" -o "$ref" \
	    "$top/test/bench/etcd_txn.c" -lcurl -ljson-c -lnettle -lpthread
fi

# reference J W PREFIX: etcd alone, J committers in batches of 100 into
# the first member, W watch streams on the prefix (the instances' mirrors).
reference() {
	local e0 line
	e0=$(etcd_cpu_ms)
	line=$(timeout 120 "$ref" -j "$1" -w "$2" -B 100 -n "$n" -b 100 \
	    -P "$3" "${ETCD%%,*}")
	echo "$line etcd_cpu_us=$(( ($(etcd_cpu_ms) - e0) * 1000 / n ))"
}

# txns URL...: "commits=C conflicts=F", summed over the instances.
txns() {
	local u
	for u in "$@"; do
		curl -s -m 5 "$u/metrics"
	done | awk '
	    /^cfgsync_commit_batches_total/ { c += $2 }
	    /^cfgsync_commit_conflicts_total/ { f += $2 }
	    END { printf "commits=%d conflicts=%d\n", c, f }'
}

# cpu_ms PID...: user + system CPU the processes have used, in ms.
cpu_ms() {
	local p t=0 hz
	hz=$(getconf CLK_TCK)
	for p in "$@"; do
		t=$((t + $(awk '{ print $14 + $15 }' "/proc/$p/stat" 2>/dev/null ||
		    echo 0)))
	done
	echo $((t * 1000 / hz))
}

# etcd_cpu_ms: CPU of the three members so far, in ms.
etcd_cpu_ms() {
	cpu_ms $(for i in 1 2 3; do _etcd_pid "m$i"; done)
}

# regrate: registrations/s into --state, then into A of three instances.
regrate() {
	local line e0 a0
	rm -f "$work/state"
	start S --state "$work/state"
	line=$(timeout 120 "$gen" -m register -n "$n" -c "$conns" -b 100 -t 60 \
	    -p "${URL_S##*:}" 127.0.0.1)
	echo "state x1 register: $line"
	stop S
	echo "etcd alone, one committer: $(reference 1 0 cfgsync/ref-10/)"
	echo "etcd alone, one committer, three watchers:" \
	    "$(reference 1 3 cfgsync/ref-13/)"
	echo "etcd alone, three committers: $(reference 3 0 cfgsync/ref-30/)"
	echo "etcd alone, three committers, three watchers:" \
	    "$(reference 3 3 cfgsync/ref-33/)"
	for name in A B C; do
		start "$name" --etcd "$ETCD" --etcd-prefix cfgsync/bench-reg/ \
		    --lease-ttl "$ttl"
	done
	e0=$(etcd_cpu_ms) a0=$(cpu_ms $PID_A $PID_B $PID_C)
	line=$(timeout 120 "$gen" -m register -n "$n" -c "$conns" -b 100 -t 60 \
	    -p "${URL_A##*:}" 127.0.0.1)
	echo "etcd x3 register into A: $line $(txns "$URL_A")"
	echo "  CPU a registration: etcd $(( ($(etcd_cpu_ms) - e0) * 1000 / n )) us" \
	    "(three members), serve-exec $(( ($(cpu_ms $PID_A $PID_B $PID_C) - a0) \
	    * 1000 / n )) us (three instances)"
	# Then a third of them into each at once, new names (three
	# committers racing for the seq counter).
	local t0 t1 u gens=
	e0=$(etcd_cpu_ms) a0=$(cpu_ms $PID_A $PID_B $PID_C)
	t0=$(date +%s.%N)
	for name in A B C; do
		eval "u=\$URL_$name"
		timeout 120 "$gen" -m register -n $((n / 3)) -c $((conns / 3)) -b 100 \
		    -t 60 -i "$name-" -p "${u##*:}" 127.0.0.1 \
		    >"$work/reg-$name.out" &
		gens="$gens $!"
	done
	wait $gens
	t1=$(date +%s.%N)
	awk -v a="$t0" -v b="$t1" -v n=$((n / 3 * 3)) 'BEGIN {
		printf "etcd x3 register into A, B and C at once: %d in %.2f s: %.0f/s;", n, b - a, n / (b - a) }'
	echo " $(cat "$work"/reg-?.out | grep -o 's202=[0-9]*' | tr '\n' ' ')" \
	    "$(txns "$URL_A" "$URL_B" "$URL_C")"
	echo "  CPU a registration: etcd $(( ($(etcd_cpu_ms) - e0) * 1000 / n )) us" \
	    "(three members), serve-exec $(( ($(cpu_ms $PID_A $PID_B $PID_C) - a0) \
	    * 1000 / n )) us (three instances)"
	stop A; stop B; stop C
}

# failover: writes go on through kill -9 of the etcd leader; first straight
# into etcd (the reference), then through three instances.
failover() {
	local l pid eps line
	eps=$ETCD
	l=$(etcd_wait_leader)
	pid=$(_etcd_pid "$l")
	line=$(python3 "$top/test/bench/failover.py" --etcd --kill "kill -9 $pid" "$eps")
	echo "etcd leader $l killed, writes straight into etcd: $line"
	_etcd_gone "$pid"
	etcd_restart "$l" >/dev/null
	etcd_wait_leader >/dev/null
	for name in A B C; do
		start "$name" --etcd "$ETCD" --etcd-prefix cfgsync/bench-fo/ \
		    --lease-ttl "$ttl"
	done
	sleep 1
	l=$(etcd_wait_leader)
	pid=$(_etcd_pid "$l")
	line=$(python3 "$top/test/bench/failover.py" --kill "kill -9 $pid" \
	    "$URL_A,$URL_B,$URL_C")
	echo "etcd leader $l killed, registrations into A, B and C: $line"
	_etcd_gone "$pid"
	etcd_restart "$l" >/dev/null
	stop A; stop B; stop C
}

if [ -n "${ETCD_MEM:-}" ]; then
	# The members' data in memory: no fsync to wait for, so a comparison
	# of two builds measures CPU, not the disk's moods.
	etcd_data=$(mktemp -d /dev/shm/cfgsync-bench.XXXXXX)
	ln -s "$etcd_data" "$work/etcd"
fi
etcd_start_cluster 3 "$work/etcd" >/dev/null
ETCD=$(etcd_endpoints)
echo "# $n nodes, materializer sleeps $mat_sleep s, lease TTL $ttl s, $(nproc) cores${ETCD_MEM:+, etcd data in memory}"
if [ -z "${ONLY:-}" ]; then
	single clean
	cluster clean
	single kill
	cluster kill
fi
case ${ONLY:-} in ''|register) regrate ;; esac
case ${ONLY:-} in ''|failover) failover ;; esac
