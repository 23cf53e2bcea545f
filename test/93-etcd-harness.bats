bats_require_minimum_version 1.5.0

load helpers
load etcd

# The test etcd of test/etcd.bash itself: three members come up healthy
# with one leader, a killed leader is replaced, a stopped member comes
# back, and nothing is left running afterwards.

setup_file() {
	etcd_available || skip "no etcd (Debian's etcd-server)"
	etcd_start_cluster 3
}

teardown_file() {
	etcd_stop_all
}

setup() {
	etcd_available || skip "no etcd (Debian's etcd-server)"
}

# put URL KEY VALUE: a put through the v3 gateway; prints the HTTP status.
put() {
	curl -s -m 5 -o /dev/null -w '%{http_code}' -X POST \
	    -d "{\"key\":\"$(printf %s "$2" | base64)\",\"value\":\"$(printf %s "$3" | base64)\"}" \
	    "$1/v3/kv/put"
}

# get URL KEY: the value of KEY read through URL (linearizable).
get() {
	curl -s -m 5 -X POST -d "{\"key\":\"$(printf %s "$2" | base64)\"}" \
	    "$1/v3/kv/range" | jq -r '.kvs[0].value // empty' | base64 -d
}

@test "etcd harness: three members on loopback, healthy, one leader" {
	local m leader
	run -0 etcd_running
	assert_equal "${lines[*]}" "m1 m2 m3"
	run -0 etcd_endpoints
	assert_regex "$output" '^http://127\.0\.0\.1:[0-9]+(,http://127\.0\.0\.1:[0-9]+){2}$'
	leader=$(etcd_wait_leader)
	assert_regex "$leader" '^m[123]$'
	# Every member names the same leader.
	for m in m1 m2 m3; do
		run -0 curl -s -m 2 -X POST -d '{}' "$(etcd_url $m)/v3/maintenance/status"
		assert_equal "$(jq -r .leader <<<"$output")" \
		    "$(curl -s -m 2 -X POST -d '{}' \
		    "$(etcd_url "$leader")/v3/maintenance/status" | jq -r .header.member_id)"
	done
	assert_equal "$(put "$(etcd_url m1)" harness/a 1)" 200
	assert_equal "$(get "$(etcd_url m3)" harness/a)" 1
}

@test "etcd harness: the leader killed, a new one is elected and writes go on" {
	local old new start=$SECONDS
	old=$(etcd_kill_leader)
	assert_regex "$old" '^m[123]$'
	run -0 etcd_running
	assert_equal "${#lines[@]}" 2
	refute_line "$old"
	new=$(etcd_wait_leader "$old")
	assert_regex "$new" '^m[123]$'
	assert [ "$new" != "$old" ]
	assert [ $((SECONDS - start)) -le 15 ]
	assert_equal "$(put "$(etcd_url "$new")" harness/b 2)" 200
	# The member comes back on its data dir and has every write.
	etcd_restart "$old"
	assert_equal "$(get "$(etcd_url "$old")" harness/b)" 2
	assert_equal "$(get "$(etcd_url "$old")" harness/a)" 1
}

@test "etcd harness: two members paused, no quorum; resumed, it recovers" {
	local a b c code
	read -r a b c <<<"$(etcd_running | tr '\n' ' ')"
	etcd_pause "$b"
	etcd_pause "$c"
	code=$(curl -s -m 2 -o /dev/null -w '%{http_code}' -X POST \
	    -d '{"key":"eA==","value":"eA=="}' "$(etcd_url "$a")/v3/kv/put") || true
	assert [ "$code" != 200 ]
	etcd_resume "$b"
	etcd_resume "$c"
	run -0 etcd_wait_leader
	assert_equal "$(put "$(etcd_url "$a")" harness/c 3)" 200
}

@test "etcd harness: etcd_stop_all leaves no member running" {
	local pids m
	pids=$(cat "$ETCD_DIR"/m*.pid)
	etcd_stop_all
	run -0 etcd_running
	assert_output ""
	for m in $pids; do
		assert [ ! -d "/proc/$m" ]
	done
}
