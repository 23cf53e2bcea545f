bats_require_minimum_version 1.5.0

# serve-exec --etcd: the registrations live in etcd, every instance holds
# a mirror fed by a watch, and registrations are decided from it and
# committed conditionally.  One etcd member on free loopback ports,
# started here (its data dir in the file's temp dir) and stopped by PID;
# each test has its own key prefix.  The member is stopped and restarted
# by the last two tests.

load helpers
load etcd

etcd_up() {
	etcd --name m1 --data-dir "$BATS_FILE_TMPDIR/m1" \
	    --listen-client-urls "http://127.0.0.1:$ETCD_CPORT" \
	    --advertise-client-urls "http://127.0.0.1:$ETCD_CPORT" \
	    --listen-peer-urls "http://127.0.0.1:$ETCD_PPORT" \
	    --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PPORT" \
	    --initial-cluster "m1=http://127.0.0.1:$ETCD_PPORT" \
	    --pre-vote=true >>"$BATS_FILE_TMPDIR/m1.log" 2>&1 3>&- &
	ETCD_PID=$!
	echo "$ETCD_PID" >"$BATS_FILE_TMPDIR/etcd.pid"
	local i
	for i in $(seq 1 100); do
		curl -s "$ETCD_URL/health" | grep -q '"true"' && return 0
		sleep 0.1
	done
	cat "$BATS_FILE_TMPDIR/m1.log" >&2
	return 1
}

etcd_down() {
	local pid
	pid=$(cat "$BATS_FILE_TMPDIR/etcd.pid" 2>/dev/null) || return 0
	kill "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	rm -f "$BATS_FILE_TMPDIR/etcd.pid"
}

setup_file() {
	command -v etcd >/dev/null 2>&1 || return 0
	ETCD_CPORT=$(free_port)
	ETCD_PPORT=$(free_port)
	export ETCD_CPORT ETCD_PPORT ETCD_URL="http://127.0.0.1:$ETCD_CPORT"
	etcd_up
}

teardown_file() {
	etcd_down
}

setup() {
	command -v etcd >/dev/null 2>&1 || skip "etcd is not installed"
	[ -f "$BATS_FILE_TMPDIR/etcd.pid" ] || etcd_up
	PFX="cfgsync/s$BATS_TEST_NUMBER/"
}

teardown() {
	local n
	for n in A B; do
		eval "[ -n \"\${${n}_PID:-}\" ] && kill -CONT \${${n}_PID}" \
		    2>/dev/null || true
		stop_server "$n" || true
	done
}

# inst NAME [OPTIONS]: an instance on the test's prefix; every instance
# runs the same trivial materializer (need2.sh).
inst() {
	local name=$1
	shift
	start_server_raw "$name" "$BATS_TEST_TMPDIR" \
	    serve-exec --listen 127.0.0.1:0 \
	    --port-file "$BATS_TEST_TMPDIR/$name.port" --etcd "$ETCD_URL" \
	    --etcd-prefix "$PFX" --debounce 50 "$@" -- "$FIXTURES/need2.sh"
}

# reg URL ID [IP]: registers ID there; prints the status.
reg() {
	curl -s -o /dev/null -w '%{http_code}' -X POST \
	    --data "{\"identifier\":\"$2\",\"ip\":\"${3:-10.0.0.1}\"}" \
	    "$1/register"
}

# count URL: how many registrations URL lists.
count() {
	curl -s "$1/registrations" | jq '.registrations | length'
}

# wait_count URL N: until URL lists N registrations (at most 5 s).
wait_count() {
	local i
	for i in $(seq 1 100); do
		[ "$(count "$1")" = "$2" ] && return 0
		sleep 0.05
	done
	echo "$1 lists $(count "$1"), not $2" >&2
	return 1
}

@test "serve-exec --etcd: --state too is a usage error" {
	run -2 --separate-stderr cfgsync serve-exec --etcd "$ETCD_URL" \
	    --state "$BATS_TEST_TMPDIR/s" -- "$FIXTURES/need2.sh"
	assert_regex "$stderr" 'exclude'
}

@test "serve-exec --etcd: 50 nodes across two instances, the same list with seq 1..50 on both" {
	inst A
	inst B
	local i pids=
	for i in $(seq 1 50); do
		if [ $((i % 2)) = 0 ]; then u=$A_URL; else u=$B_URL; fi
		reg "$u" "node-$i" >"$BATS_TEST_TMPDIR/st.$i" &
		pids="$pids $!"
	done
	# the registrations only: the instances are children too
	wait $pids
	for i in $(seq 1 50); do
		assert_equal "$(cat "$BATS_TEST_TMPDIR/st.$i")" 202
	done
	wait_count "$A_URL" 50
	wait_count "$B_URL" 50
	curl -s "$A_URL/registrations" >"$BATS_TEST_TMPDIR/a.json"
	curl -s "$B_URL/registrations" >"$BATS_TEST_TMPDIR/b.json"
	cmp "$BATS_TEST_TMPDIR/a.json" "$BATS_TEST_TMPDIR/b.json"
	run jq -c '[.registrations[].seq] | sort' "$BATS_TEST_TMPDIR/a.json"
	assert_equal "$output" "$(seq -s, 1 50 | sed 's/^/[/; s/$/]/')"
	# the values in etcd are exactly the snapshot's elements
	run curl -s -X POST --data "{\"key\":\"$(printf '%sreg/node-7' "$PFX" |
	    base64 -w0)\"}" "$ETCD_URL/v3/kv/range"
	run jq -r '.kvs[0].value | @base64d' <<<"$output"
	assert_equal "$output" "$(jq -c '.registrations[] |
	    select(.identifier == "node-7")' "$BATS_TEST_TMPDIR/a.json")"
}

@test "serve-exec --etcd: an identical registration writes nothing, a change keeps its seq, a removal reaches the other instance" {
	inst A
	inst B
	assert_equal "$(reg "$A_URL" x)" 202
	assert_equal "$(reg "$B_URL" y)" 202
	wait_count "$A_URL" 2
	gen=$(curl -s "$A_URL/registrations" | jq .generation)
	assert_equal "$(reg "$B_URL" x)" 202
	sleep 0.2
	assert_equal "$(curl -s "$A_URL/registrations" | jq .generation)" "$gen"
	assert_equal "$(curl -s "$B_URL/registrations" | jq .generation)" "$gen"
	assert_equal "$(reg "$B_URL" x 10.0.0.9)" 202
	sleep 0.2
	run curl -s "$A_URL/registrations"
	assert_equal "$(jq -c '.registrations[] | select(.identifier == "x") |
	    [.ip, .seq]' <<<"$output")" '["10.0.0.9",1]'
	# the generation only rises
	assert [ "$(jq .generation <<<"$output")" -gt "$gen" ]
	run curl -s -o /dev/null -w '%{http_code}' -X DELETE \
	    "$A_URL/registrations/x"
	assert_equal "$output" 204
	wait_count "$B_URL" 1
	run curl -s -o /dev/null -w '%{http_code}' -X DELETE \
	    "$B_URL/registrations/x"
	assert_equal "$output" 404
	# coming back: a new seq
	assert_equal "$(reg "$B_URL" x)" 202
	wait_count "$A_URL" 2
	run curl -s "$A_URL/registrations"
	assert_equal "$(jq -c '[.registrations[] | .seq]' <<<"$output")" \
	    '[3,2]'
}

@test "serve-exec --etcd: etcd gone, register is 503 within --commit-timeout and /readyz 503; back after a restart" {
	inst A --commit-timeout 2
	run curl -s -w '%{http_code}' "$A_URL/readyz"
	assert_equal "$output" '{"ready":true}
200'
	assert_equal "$(reg "$A_URL" before)" 202
	etcd_down
	start=$(date +%s)
	run curl -s -w ' %{http_code}' -X POST \
	    --data '{"identifier":"during","ip":"10.0.0.1"}' "$A_URL/register"
	end=$(date +%s)
	assert_regex "$output" '"code":"unavailable".* 503$'
	assert [ $((end - start)) -le 4 ]
	run curl -s -o /dev/null -w '%{http_code}' "$A_URL/readyz"
	assert_equal "$output" 503
	# liveness is not readiness
	run curl -s -o /dev/null -w '%{http_code}' "$A_URL/healthz"
	assert_equal "$output" 200
	etcd_up
	for i in $(seq 1 50); do
		[ "$(reg "$A_URL" after)" = 202 ] && break
		sleep 0.1
	done
	assert_equal "$(reg "$A_URL" after)" 202
	for i in $(seq 1 50); do
		[ "$(curl -s -o /dev/null -w '%{http_code}' \
		    "$A_URL/readyz")" = 200 ] && break
		sleep 0.1
	done
	run curl -s -o /dev/null -w '%{http_code}' "$A_URL/readyz"
	assert_equal "$output" 200
	run curl -s "$A_URL/registrations"
	assert_equal "$(jq -c '[.registrations[] | [.identifier, .seq]]' \
	    <<<"$output")" '[["after",2],["before",1]]'
}

@test "serve-exec --etcd: a mirror whose watch fell behind a compaction lists again, in pages, and equals the store" {
	inst A
	inst B
	assert_equal "$(reg "$A_URL" n1)" 202
	assert_equal "$(reg "$A_URL" n2)" 202
	wait_count "$B_URL" 2
	kill -STOP "$B_PID"
	# B's watch breaks while it sleeps; history moves on and is compacted
	etcd_down
	etcd_up
	local i
	for i in $(seq 1 50); do
		[ "$(reg "$A_URL" n3)" = 202 ] && break
		sleep 0.1
	done
	assert_equal "$(reg "$A_URL" n3)" 202
	# 300 more: B's listing takes two pages (the first is 256 keys)
	run bash -c "seq 1 300 | xargs -P 8 -I{} curl -s -o /dev/null \
	    -w '%{http_code}\n' --data '{\"identifier\":\"m{}\",\"ip\":\"10.0.0.9\"}' \
	    '$A_URL/register' | sort | uniq -c"
	assert_equal "$(echo $output)" "300 202"
	run curl -s -o /dev/null -w '%{http_code}' -X DELETE \
	    "$A_URL/registrations/n1"
	assert_equal "$output" 204
	wait_count "$A_URL" 302
	etcd_compact "$ETCD_URL"
	kill -CONT "$B_PID"
	# the removal of n1 is in no event B can still get: only a listing
	for i in $(seq 1 100); do
		curl -s "$B_URL/registrations" >"$BATS_TEST_TMPDIR/b.json"
		jq -e '[.registrations[].identifier] | length == 302 and
		    index("n1") == null and index("n2") != null' \
		    "$BATS_TEST_TMPDIR/b.json" >/dev/null && break
		sleep 0.1
	done
	curl -s "$A_URL/registrations" >"$BATS_TEST_TMPDIR/a.json"
	cmp "$BATS_TEST_TMPDIR/a.json" "$BATS_TEST_TMPDIR/b.json"
	run curl -s "$B_URL/metrics"
	assert_line 'cfgsync_watch_resyncs_total 1'
	run curl -s -o /dev/null -w '%{http_code}' "$B_URL/readyz"
	assert_equal "$output" 200
}

@test "serve-exec --etcd: 60 registrations of 60 KB at once fit etcd's request cap: every one 202, listed on both" {
	inst A
	inst B
	local i pids=
	python3 -c 'import json, sys
print(json.dumps({"identifier": "ID", "ip": "10.0.0.1",
    "metadata": {"pad": "x" * 60000}}))' >"$BATS_TEST_TMPDIR/body"
	for i in $(seq 1 60); do
		sed "s/ID/big-$i/" "$BATS_TEST_TMPDIR/body" >"$BATS_TEST_TMPDIR/b.$i"
	done
	for i in $(seq 1 60); do
		curl -s -o /dev/null -w '%{http_code}' -X POST \
		    --data-binary "@$BATS_TEST_TMPDIR/b.$i" "$A_URL/register" \
		    >"$BATS_TEST_TMPDIR/st.$i" &
		pids="$pids $!"
	done
	wait $pids
	for i in $(seq 1 60); do
		assert_equal "$(cat "$BATS_TEST_TMPDIR/st.$i")" 202
	done
	wait_count "$B_URL" 60
	run curl -s "$B_URL/registrations"
	assert_equal "$(jq '[.registrations[].metadata.pad | length] | unique' \
	    <<<"$output" | jq -c .)" '[60000]'
}
