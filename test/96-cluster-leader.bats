bats_require_minimum_version 1.5.0

# serve-exec --etcd: one elected leader runs the materializer, publishes
# its results (fenced, chunked, create-only), and every instance installs
# them.  A one-member etcd on free loopback ports, started here and
# stopped by PID; each test has its own key prefix.

load helpers

setup_file() {
	command -v etcd >/dev/null 2>&1 || return 0
	local c p i
	c=$(free_port)
	p=$(free_port)
	etcd --name m1 --data-dir "$BATS_FILE_TMPDIR/m1" \
	    --listen-client-urls "http://127.0.0.1:$c" \
	    --advertise-client-urls "http://127.0.0.1:$c" \
	    --listen-peer-urls "http://127.0.0.1:$p" \
	    --initial-advertise-peer-urls "http://127.0.0.1:$p" \
	    --initial-cluster "m1=http://127.0.0.1:$p" \
	    --pre-vote=true >"$BATS_FILE_TMPDIR/m1.log" 2>&1 3>&- &
	export ETCD_PID=$! ETCD_URL="http://127.0.0.1:$c"
	for i in $(seq 1 100); do
		curl -s "$ETCD_URL/health" | grep -q '"true"' && return 0
		sleep 0.1
	done
	cat "$BATS_FILE_TMPDIR/m1.log" >&2
	return 1
}

teardown_file() {
	if [ -n "${ETCD_PID:-}" ]; then
		kill "$ETCD_PID" 2>/dev/null || true
		wait "$ETCD_PID" 2>/dev/null || true
	fi
}

setup() {
	[ -n "${ETCD_PID:-}" ] || skip "etcd is not installed"
	PFX="cfgsync/t$BATS_TEST_NUMBER/"
	RUNS="$BATS_TEST_TMPDIR/runs"
	: >"$RUNS"
}

teardown() {
	local n
	for n in A B C; do
		# a stopped one cannot take SIGTERM
		eval "[ -n \"\${${n}_PID:-}\" ] && kill -CONT \${${n}_PID}" \
		    2>/dev/null || true
		stop_server "$n" || true
	done
}

# inst NAME MATERIALIZER [OPTIONS]: starts an instance on the test's prefix.
inst() {
	local name=$1 prog=$2
	shift 2
	RUNS_FILE="$RUNS" start_server_raw "$name" "$BATS_TEST_TMPDIR" \
	    serve-exec --listen 127.0.0.1:0 \
	    --port-file "$BATS_TEST_TMPDIR/$name.port" --etcd "$ETCD_URL" \
	    --etcd-prefix "$PFX" --lease-ttl 5 --debounce 50 "$@" -- "$prog"
}

# sleepy SECONDS: a materializer that sleeps, then is need2.sh.
sleepy() {
	local f="$BATS_TEST_TMPDIR/sleepy.sh"
	printf '#!/bin/sh\necho run >>"$RUNS_FILE"\nsleep %s\nRUNS_FILE= exec %s\n' \
	    "$1" "$FIXTURES/need2.sh" >"$f"
	chmod +x "$f"
	echo "$f"
}

# reg URL ID: registers ID there; prints the status.
reg() {
	curl -s -o /dev/null -w '%{http_code}' -X POST \
	    --data "{\"identifier\":\"$2\",\"ip\":\"10.0.0.1\"}" "$1/register"
}

# node URL ID [QUERY]: POST /node; prints "STATUS BODY".
node() {
	http POST "$1/node${3:-}" "{\"identifier\":\"$2\",\"ip\":\"10.0.0.1\"}"
}

leading() {
	[ "$(curl -s "$1/status" | jq -r .cluster.leading)" = true ]
}

# wait_for SECONDS CMD...: retries CMD, 20 times a second.
wait_for() {
	local n=$(($1 * 20)) i
	shift
	for i in $(seq 1 "$n"); do
		"$@" && return 0
		sleep 0.05
	done
	return 1
}

# The manifests under the prefix, one JSON document a line.
manifests() {
	curl -s "$ETCD_URL/v3/kv/range" -d "{\"key\":\"$(printf '%s' \
	    "${PFX}result/" | base64 -w0)\",\"range_end\":\"$(printf '%s' \
	    "${PFX}result0" | base64 -w0)\"}" |
	    jq -r '.kvs[]?.value' | while read -r v; do
		printf '%s' "$v" | base64 -d
		echo
	done
}

# blob_keys: the chunk keys under the prefix.
blob_keys() {
	curl -s "$ETCD_URL/v3/kv/range" -d "{\"key\":\"$(printf '%s' \
	    "${PFX}blob/" | base64 -w0)\",\"range_end\":\"$(printf '%s' \
	    "${PFX}blob0" | base64 -w0)\",\"keys_only\":true}" |
	    jq -r '.kvs[]?.key' | while read -r k; do
		printf '%s' "$k" | base64 -d
		echo
	done
}

# need_mirror A B: skips until registrations reach other instances (the
# registry mirror of the etcd-store branch).
need_mirror() {
	[ "$(reg "$1" probe-mirror)" = 202 ] || return 1
	wait_for 3 eval "curl -s '$2/registrations' | grep -q probe-mirror" ||
	    skip "registrations are not shared between instances yet"
	curl -s -o /dev/null -X DELETE "$1/registrations/probe-mirror"
}

@test "serve-exec --etcd: one instance leads, publishes its result, and serves it from etcd" {
	inst A "$FIXTURES/need2.sh" --persist "$BATS_TEST_TMPDIR/a.json"
	wait_for 5 leading "$A_URL"
	[ "$(reg "$A_URL" n1)" = 202 ]
	[ "$(reg "$A_URL" n2)" = 202 ]
	wait_for 5 eval "node '$A_URL' n1 | grep -q '^200 '"
	run node "$A_URL" n2
	assert_output --partial '"id: n2\n"'
	run manifests
	assert_line --regexp '^\{"outcome":"ready","generation":[0-9]+,"reason":"","bytes":[0-9]+,"chunks":1,"sha256":"[0-9a-f]{64}","term":[0-9]+,"at":[0-9]+\}$'
	run blob_keys
	assert_line --regexp "^${PFX}blob/[0-9a-f]{64}/[0-9]+/0000\$"
	grep -q 'published ready' "$BATS_TEST_TMPDIR/A.log"
	grep -q 'installed the ready result' "$BATS_TEST_TMPDIR/A.log"
	jq -e '.nodes | length == 2' "$BATS_TEST_TMPDIR/a.json"
	run curl -s "$A_URL/metrics"
	assert_line "cfgsync_leader{leader=\"$A_URL\"} 1"
	assert_line 'cfgsync_etcd_up 1'
	assert_line 'cfgsync_results_fetched_total 1'
	assert_line --regexp '^cfgsync_mirror_revision [1-9][0-9]*$'
	run curl -s "$A_URL/status"
	assert_equal "$(jq -c .cluster.leader <<<"$output")" "\"$A_URL\""
	[ "$(wc -l <"$RUNS")" -eq 1 ]
}

@test "serve-exec --etcd: only the leader runs; its clean stop hands over at once" {
	inst A "$FIXTURES/need2.sh"
	wait_for 5 leading "$A_URL"
	inst B "$FIXTURES/need2.sh"
	wait_for 5 eval "curl -s '$B_URL/status' | jq -e '.cluster.leader == \"$A_URL\"' >/dev/null"
	! leading "$B_URL"
	run curl -s "$B_URL/metrics"
	assert_line "cfgsync_leader{leader=\"$A_URL\"} 0"
	# B's own set waits for B to lead: no run while A does.
	[ "$(reg "$B_URL" b1)" = 202 ]
	[ "$(reg "$B_URL" b2)" = 202 ]
	sleep 1
	[ "$(wc -l <"$RUNS")" -eq 0 ] || need_mirror "$A_URL" "$B_URL"
	# With the mirror A ran for B's set (and the probe's): B must not.
	local runs
	runs=$(wc -l <"$RUNS")
	stop_server A
	# The lease is revoked: B leads well before the TTL of 5 s.
	wait_for 2 leading "$B_URL"
	wait_for 5 eval "node '$B_URL' b1 | grep -q '^200 '"
	[ "$(wc -l <"$RUNS")" -eq $((runs == 0 ? 1 : runs)) ]
}

@test "serve-exec --etcd: register on A, a long poll on B gets the files" {
	inst A "$FIXTURES/need2.sh"
	wait_for 5 leading "$A_URL"
	inst B "$FIXTURES/need2.sh"
	need_mirror "$A_URL" "$B_URL"
	[ "$(reg "$A_URL" n1)" = 202 ]
	node "$B_URL" n2 '?wait=20' >"$BATS_TEST_TMPDIR/poll" &
	local poll=$!
	sleep 0.3
	[ "$(reg "$A_URL" n2)" = 202 ]
	wait "$poll"
	run cat "$BATS_TEST_TMPDIR/poll"
	assert_output --partial '"id: n2\n"'
	assert_output --regexp '^200 '
	[ "$(wc -l <"$RUNS")" -ge 1 ]
}

@test "serve-exec --etcd: exactly one materializer run per distinct set across three instances" {
	inst A "$FIXTURES/need2.sh"
	wait_for 5 leading "$A_URL"
	inst B "$FIXTURES/need2.sh"
	inst C "$FIXTURES/need2.sh"
	need_mirror "$A_URL" "$B_URL"
	: >"$RUNS"
	local i u
	for i in 1 2 3 4 5 6; do
		case $((i % 3)) in 0) u=$A_URL ;; 1) u=$B_URL ;; 2) u=$C_URL ;; esac
		[ "$(reg "$u" "n$i")" = 202 ]
		wait_for 5 eval "node '$C_URL' n$i | grep -q '^200 '" ||
		    [ "$i" -lt 2 ]
	done
	for u in "$A_URL" "$B_URL" "$C_URL"; do
		wait_for 5 eval "node '$u' n6 | grep -q '\"n: 6\\\\n\"'"
	done
	# one run per set reached (n1 alone, then 2, 3 ... 6 nodes)
	[ "$(wc -l <"$RUNS")" -eq 6 ]
	# a set seen before (the deletion of n6 brings back the set of 5)
	run curl -s -o /dev/null -w '%{http_code}' -X DELETE "$B_URL/registrations/n6"
	assert_output 204
	wait_for 5 eval "node '$A_URL' n5 | grep -q '\"n: 5\\\\n\"'"
	sleep 0.5
	[ "$(wc -l <"$RUNS")" -eq 6 ]
}

@test "serve-exec --etcd: kill -9 of the leader mid-run: a new leader runs once and every node finishes" {
	local prog
	prog=$(sleepy 3)
	inst A "$prog"
	wait_for 5 leading "$A_URL"
	inst B "$prog"
	[ "$(reg "$A_URL" n1)" = 202 ]
	[ "$(reg "$A_URL" n2)" = 202 ]
	# without the shared registry, B is given the same set itself
	[ "$(reg "$B_URL" n1)" = 202 ]
	[ "$(reg "$B_URL" n2)" = 202 ]
	wait_for 5 eval '[ -s "$RUNS" ]'
	kill -9 "$A_PID"
	wait "$A_PID" 2>/dev/null || true
	A_PID=
	wait_for 15 eval "node '$B_URL' n1 | grep -q '^200 '"
	run node "$B_URL" n2
	assert_output --regexp '^200 .*"id: n2\\n"'
	# A's run died with A; B ran once
	[ "$(wc -l <"$RUNS")" -eq 2 ]
	local term
	term=$(manifests | jq -s -r 'map(select(.outcome == "ready")) |
	    length == 1 and .[0].term > 0')
	[ "$term" = true ]
	grep -q 'leading' "$BATS_TEST_TMPDIR/B.log"
}

@test "serve-exec --etcd: a leader stopped past its lease: its late publish is refused" {
	local prog
	prog=$(sleepy 2)
	inst A "$prog"
	wait_for 5 leading "$A_URL"
	inst B "$FIXTURES/need2.sh"
	[ "$(reg "$A_URL" n1)" = 202 ]
	[ "$(reg "$A_URL" n2)" = 202 ]
	wait_for 5 eval '[ -s "$RUNS" ]'
	kill -STOP "$A_PID"
	# A's lease (5 s) expires; B is elected and runs for the set
	wait_for 12 leading "$B_URL"
	[ "$(reg "$B_URL" n1)" = 202 ]
	[ "$(reg "$B_URL" n2)" = 202 ]
	wait_for 5 eval "node '$B_URL' n1 | grep -q '^200 '"
	kill -CONT "$A_PID"
	wait_for 5 eval "grep -Eq 'publish refused|run cancelled' '$BATS_TEST_TMPDIR/A.log'"
	wait_for 5 eval "grep -q 'leadership lost' '$BATS_TEST_TMPDIR/A.log'"
	sleep 0.5
	run manifests
	[ "$(printf '%s\n' "$output" | grep -c '"outcome":"ready"')" -eq 1 ]
	! grep -q 'published ready' "$BATS_TEST_TMPDIR/A.log"
	# A campaigns again, behind B
	! leading "$A_URL"
	wait_for 5 eval "curl -s '$A_URL/status' | jq -e '.cluster.leader == \"$B_URL\"' >/dev/null"
}

@test "serve-exec --etcd: a 3 MiB result goes in 1 MiB chunks and is identical on every instance" {
	local prog="$BATS_TEST_TMPDIR/big.py"
	cat >"$prog" <<-'PY'
	#!/usr/bin/env python3
	import json, os, sys
	snap = json.load(sys.stdin)
	open(os.environ["RUNS_FILE"], "a").write("run\n")
	line = "".join(chr(0x41 + i % 26) for i in range(1023)) + "\n"
	big = line * 3 * 1024
	print(json.dumps({"nodes": [{"identifier": r["identifier"],
	    "files": [{"path": "id", "content": r["identifier"]}]}
	    for r in snap["registrations"]],
	    "shared_files": [{"path": "big.txt", "content": big}]}))
	PY
	chmod +x "$prog"
	inst A "$prog" --persist "$BATS_TEST_TMPDIR/a.json"
	wait_for 5 leading "$A_URL"
	inst B "$prog" --persist "$BATS_TEST_TMPDIR/b.json"
	need_mirror "$A_URL" "$B_URL"
	[ "$(reg "$A_URL" big1)" = 202 ]
	wait_for 10 eval "node '$A_URL' big1 | grep -q '^200 '"
	wait_for 10 eval "node '$B_URL' big1 | grep -q '^200 '"
	node "$A_URL" big1 >"$BATS_TEST_TMPDIR/from-a"
	node "$B_URL" big1 >"$BATS_TEST_TMPDIR/from-b"
	cmp "$BATS_TEST_TMPDIR/from-a" "$BATS_TEST_TMPDIR/from-b"
	[ "$(stat -c %s "$BATS_TEST_TMPDIR/from-a")" -gt $((3 << 20)) ]
	cmp "$BATS_TEST_TMPDIR/a.json" "$BATS_TEST_TMPDIR/b.json"
	run blob_keys
	[ "$(printf '%s\n' "$output" | grep -c '/000[0-9]$')" -eq 4 ]
	assert_line --regexp '/0003$'
	run manifests
	assert_output --regexp '"chunks":4,'
	[ "$(wc -l <"$RUNS")" -eq 1 ]
}
