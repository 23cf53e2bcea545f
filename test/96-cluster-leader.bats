bats_require_minimum_version 1.5.0

# serve-exec --etcd: one elected leader runs the materializer, publishes
# its results (fenced, chunked, create-only), and every instance installs
# them.  A one-member etcd (test/etcd.bash: free loopback ports, stopped
# by PID); each test has its own key prefix.  What a three-member etcd
# under three instances must show (one run per set, a leader killed or
# stopped past its lease, cross-instance long polls, a 3 MiB result) is in
# 95-cluster.bats; here, what one member is enough for.

load helpers
load etcd

setup_file() {
	etcd_available || return 0
	etcd_start_cluster 1
	ETCD_URL=$(etcd_endpoints)
	export ETCD_URL
}

teardown_file() {
	[ -z "${ETCD_DIR:-}" ] || etcd_stop_all
}

setup() {
	etcd_available || skip "etcd is not installed"
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

# manifests, blob_keys: the result manifests and the chunk keys under the
# test's prefix, one a line.
manifests() { etcd_range "$ETCD_URL" "${PFX}result/"; }
blob_keys() { etcd_range "$ETCD_URL" "${PFX}blob/" keys; }

@test "serve-exec --etcd: one instance leads, publishes its result, and serves it from etcd" {
	inst A "$FIXTURES/need2.sh" --persist "$BATS_TEST_TMPDIR/a.json"
	wait_for 5 leading "$A_URL"
	[ "$(reg "$A_URL" n1)" = 202 ]
	[ "$(reg "$A_URL" n2)" = 202 ]
	wait_for 5 eval "node '$A_URL' n1 | grep -q '^200 '"
	run node "$A_URL" n2
	assert_output --partial '"id: n2\n"'
	run manifests
	assert_line --regexp '^\{"outcome":"ready","generation":[1-9][0-9]*,"reason":"","bytes":[0-9]+,"chunks":1,"sha256":"[0-9a-f]{64}","term":[0-9]+,"at":[0-9]+\}$'
	# one run per set: n1 alone (not ready) may have been one
	[ "$(manifests | wc -l)" -eq "$(wc -l <"$RUNS")" ]
	run blob_keys
	assert_line --regexp "^${PFX}blob/[0-9a-f]{64}/[0-9]+/0000\$"
	grep -q 'published ready' "$BATS_TEST_TMPDIR/A.log"
	grep -q 'installed the ready result' "$BATS_TEST_TMPDIR/A.log"
	jq -e '.nodes | length == 2' "$BATS_TEST_TMPDIR/a.json"
	run curl -s "$A_URL/metrics"
	assert_line "cfgsync_leader{leader=\"$A_URL\"} 1"
	assert_line 'cfgsync_etcd_up 1'
	assert_line 'cfgsync_results_fetched_total 1'
	assert_line --regexp '^cfgsync_mirror_revision [0-9]+$'
	assert_line --regexp '^cfgsync_results_revision [1-9][0-9]*$'
	run curl -s "$A_URL/status"
	assert_equal "$(jq -c .cluster.leader <<<"$output")" "\"$A_URL\""
	assert_equal "$(jq -c .cluster.mirror_current <<<"$output")" true
}

@test "serve-exec --etcd: only the leader runs; its clean stop hands over at once" {
	inst A "$FIXTURES/need2.sh"
	wait_for 5 leading "$A_URL"
	inst B "$FIXTURES/need2.sh"
	wait_for 5 eval "curl -s '$B_URL/status' | jq -e '.cluster.leader == \"$A_URL\"' >/dev/null"
	! leading "$B_URL"
	run curl -s "$B_URL/metrics"
	assert_line "cfgsync_leader{leader=\"$A_URL\"} 0"
	# registered on B, run by A, served by B
	[ "$(reg "$B_URL" b1)" = 202 ]
	[ "$(reg "$B_URL" b2)" = 202 ]
	wait_for 5 eval "node '$B_URL' b1 | grep -q '^200 '"
	[ "$(materializer_runs "$B_URL")" -eq 0 ]
	[ "$(materializer_runs "$A_URL")" -ge 1 ]
	stop_server A
	# The lease is revoked: B leads well before the TTL of 5 s.
	wait_for 2 leading "$B_URL"
	: >"$RUNS"
	[ "$(reg "$B_URL" b3)" = 202 ]
	wait_for 5 eval "node '$B_URL' b3 | grep -q '^200 '"
	[ "$(wc -l <"$RUNS")" -eq 1 ]
	[ "$(materializer_runs "$B_URL")" -eq 1 ]
}

@test "serve-exec --etcd: the leader keeps three results besides the current one, and a new leader clears unfinished uploads" {
	inst A "$FIXTURES/need2.sh"
	wait_for 5 leading "$A_URL"
	local i
	[ "$(reg "$A_URL" n0)" = 202 ]
	for i in 1 2 3 4 5; do
		[ "$(reg "$A_URL" "n$i")" = 202 ]
		wait_for 5 eval "node '$A_URL' n$i | grep -q '\"n: $((i + 1))\\\\n\"'"
	done
	# sets of 1 (not ready) to 6 nodes: the newest 3 and the current kept
	[ "$(manifests | wc -l)" -eq 4 ]
	[ "$(manifests | jq -s 'map(select(.outcome == "ready")) | length')" -eq 4 ]
	[ "$(blob_keys | wc -l)" -eq 4 ]
	# an upload a dead leader left half done
	curl -s "$ETCD_URL/v3/kv/put" -d "{\"key\":\"$(printf '%s' \
	    "${PFX}blob/$(printf '%064d' 0)/7/0000" | base64 -w0)\",\"value\":\"eA==\"}" >/dev/null
	[ "$(blob_keys | wc -l)" -eq 5 ]
	stop_server A
	inst B "$FIXTURES/need2.sh"
	wait_for 5 leading "$B_URL"
	wait_for 5 eval "grep -q 'retired unreferenced' '$BATS_TEST_TMPDIR/B.log'"
	! blob_keys | grep -q "/7/0000"
	[ "$(blob_keys | wc -l)" -eq 4 ]
	[ "$(manifests | wc -l)" -eq 4 ]
}

@test "serve-exec --etcd: etcd unreachable past TTL - 3 s: the leader steps down, cancels its run, and leads again after" {
	local prog
	prog=$(sleepy 6)
	inst A "$prog"
	wait_for 5 leading "$A_URL"
	[ "$(reg "$A_URL" n1)" = 202 ]
	[ "$(reg "$A_URL" n2)" = 202 ]
	wait_for 5 eval '[ -s "$RUNS" ]'
	etcd_pause m1
	wait_for 6 eval "grep -q 'leadership lost' '$BATS_TEST_TMPDIR/A.log'"
	run curl -s "$A_URL/metrics"
	assert_line --regexp '^cfgsync_leader\{leader=".*"\} 0$'
	etcd_resume m1
	wait_for 10 leading "$A_URL"
	wait_for 5 eval "grep -q 'run cancelled: leadership lost' '$BATS_TEST_TMPDIR/A.log'"
	# the set runs again under the new term, and is served
	wait_for 15 eval "node '$A_URL' n1 | grep -q '^200 '"
	[ "$(wc -l <"$RUNS")" -eq 2 ]
}

@test "serve-exec --etcd: a follower whose result watch fell behind a compaction loads the results again" {
	inst A "$FIXTURES/need2.sh"
	wait_for 5 leading "$A_URL"
	inst B "$FIXTURES/need2.sh"
	[ "$(reg "$A_URL" n1)" = 202 ]
	[ "$(reg "$A_URL" n2)" = 202 ]
	wait_for 5 eval "node '$B_URL' n2 | grep -q '^200 '"
	kill -STOP "$B_PID"
	# B's streams break while it sleeps; history moves on and is compacted
	etcd_stop m1
	etcd_restart m1
	wait_for 15 leading "$A_URL"
	[ "$(reg "$A_URL" n3)" = 202 ]
	wait_for 5 eval "node '$A_URL' n3 | grep -q '\"n: 3\\\\n\"'"
	etcd_compact "$ETCD_URL"
	kill -CONT "$B_PID"
	wait_for 15 eval "grep -q 'results: watch compacted' '$BATS_TEST_TMPDIR/B.log'"
	wait_for 10 eval "node '$B_URL' n3 | grep -q '\"n: 3\\\\n\"'"
	run curl -s "$B_URL/metrics"
	assert_line 'cfgsync_results_fetched_total 2'
}
