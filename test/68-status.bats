bats_require_minimum_version 1.5.0

load helpers

# cfgsync status and GET /status against real servers in each state.

teardown() {
	stop_server S || true
	stop_server B || true
}

reg() {
	curl -s -o /dev/null -w '%{http_code}' -X POST \
	    --data "{\"identifier\":\"$1\",\"ip\":\"10.0.0.1\"}" "$S_URL/register"
}

# exec_status [ARGS]: cfgsync status against the serve-exec started here.
exec_status() {
	cfgsync status --server "$S_URL" "$@"
}

@test "status: a serve-exec waiting, then ready, then after a failing run" {
	local T=$BATS_TEST_TMPDIR
	NEED=2 start_server S "$T" serve-exec --debounce 20 -- "$FIXTURES/need2.sh"
	run -0 --separate-stderr exec_status
	assert_line "registrations  0"
	assert_line "last run       none yet"
	assert_line "nodes          0 served, 0 waiting"
	assert_equal "$(reg node-1)" 202
	for i in $(seq 1 100); do
		exec_status --json | jq -e '.last_run.generation == 1' >/dev/null &&
		    break
		sleep 0.05
	done
	run -0 --separate-stderr exec_status
	assert_line --regexp '^registrations  1 \(newest node-1, [0-9T:Z-]+\)$'
	assert_line --regexp '^last run       not_ready for generation 1 at .*, [0-9.]+ s$'
	assert_line "nodes          0 served, 1 waiting"
	assert_equal "$(reg node-2)" 202
	for i in $(seq 1 100); do
		exec_status --json | jq -e '.nodes.served == 2' >/dev/null && break
		sleep 0.05
	done
	run -0 --separate-stderr exec_status --json
	assert_equal "$(jq -c '[.registrations, .generation, .result.outcome,
	    .result.current, .nodes.served, .nodes.waiting]' <<<"$output")" \
	    '[2,2,"ready",true,2,0]'
}

@test "status: the last run's stderr tail is shown" {
	local T=$BATS_TEST_TMPDIR
	echo exit3 >"$T/mode"
	MODE_FILE="$T/mode" start_server S "$T" serve-exec --debounce 20 \
	    -- "$FIXTURES/modal.sh"
	assert_equal "$(reg node-1)" 202
	for i in $(seq 1 100); do
		exec_status --json | jq -e '.last_run.outcome == "failed"' \
		    >/dev/null && break
		sleep 0.05
	done
	run -0 --separate-stderr exec_status
	assert_line --regexp '^last run       failed for generation 1'
	assert_line "stderr         | modal materializer: mode exit3"
	assert_line "stderr         | failing on purpose"
}

@test "status: --watch prints a line per change when not on a terminal" {
	local T=$BATS_TEST_TMPDIR
	NEED=1 start_server S "$T" serve-exec --debounce 20 -- "$FIXTURES/need2.sh"
	exec_status --watch --interval 1 >"$T/watch" 2>&1 &
	local w=$!
	sleep 1.5
	assert_equal "$(reg node-1)" 202
	for i in $(seq 1 100); do
		[ "$(wc -l <"$T/watch")" -ge 2 ] && break
		sleep 0.05
	done
	kill "$w"
	wait "$w" || true
	run cat "$T/watch"
	assert_line --index 0 'registrations 0, generation 0, no result yet, 0 served, 0 waiting'
	assert_output --partial 'registrations 1, generation 1'
}

@test "status: a bundle server, and the token" {
	local T=$BATS_TEST_TMPDIR
	printf 's3cret\n' >"$T/token"
	start_server B "$T" serve-bundle --token-file "$T/token" \
	    "$(vec bundle.json)"
	run -0 --separate-stderr cfgsync status --server "$B_URL" \
	    --token-file "$T/token"
	assert_line "server         bundle (static)"
	assert_line "nodes          2, 0 with files replaced"
	run -5 --separate-stderr cfgsync status --server "$B_URL"
	assert_regex "$stderr" 'HTTP 401'
	refute_regex "$stderr" 's3cret'
	run -5 --separate-stderr cfgsync status --server "http://127.0.0.1:$(free_port)"
}
