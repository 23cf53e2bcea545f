bats_require_minimum_version 1.5.0

load helpers

# What a materializer starts ends with its run, however it got away: a
# daemon double-forked into a session of its own is killed and reaped at
# the end of the run, and when the server stops during a run.  Each test
# runs once with the containment the machine allows (a cgroup per run
# where the server's cgroup v2 directory is writable) and once with
# --no-cgroup (the session and the scan of reparented processes).

# start_tree [SERVE-EXEC OPTIONS]: serve-exec over test/fixtures/tree.sh.
start_tree() {
	TREE_DIR=$BATS_TEST_TMPDIR start_server_raw S "$BATS_TEST_TMPDIR" \
	    serve-exec --listen 127.0.0.1:0 \
	    --port-file "$BATS_TEST_TMPDIR/S.port" --debounce 50 "$@" \
	    -- "$FIXTURES/tree.sh"
}

teardown() {
	local pid
	stop_server S || true
	# Whatever a failed test left: only the pids this test wrote.
	for pid in $(cat "$BATS_TEST_TMPDIR/daemon" \
	    "$BATS_TEST_TMPDIR/self" 2>/dev/null); do
		kill -KILL "$pid" 2>/dev/null || true
	done
}

reg() {
	curl -s -o /dev/null -w '%{http_code}' -X POST \
	    --data "{\"identifier\":\"$1\",\"ip\":\"10.0.0.1\"}" \
	    "$S_URL/register"
}

# wait_for CMD...: retries CMD for at most 10 s.
wait_for() {
	local i
	for i in $(seq 1 200); do
		"$@" && return 0
		sleep 0.05
	done
	return 1
}

gone() {
	! kill -0 "$1" 2>/dev/null
}

ready() {
	[ "$(curl -s -o /dev/null -w '%{http_code}' --data \
	    '{"identifier":"node-1","ip":"10.0.0.1"}' "$S_URL/node")" = 200 ]
}

# containment: what GET /status says runs are contained by.
containment() {
	curl -s "$S_URL/status" | jq -r .containment
}

# cgroup_mount: the cgroup2 mount point, from mountinfo.
cgroup_mount() {
	sed -n 's/^[^ ]* [^ ]* [^ ]* [^ ]* \([^ ]*\) .* - cgroup2 .*/\1/p' \
	    /proc/self/mountinfo | head -n 1
}

# no_run_cgroup: no cgroup of this server's runs is left.
no_run_cgroup() {
	local mnt
	mnt=$(cgroup_mount)
	[ -n "$mnt" ] || return 0
	[ -z "$(find "$mnt" -maxdepth 3 -type d \
	    -name "cfgsync-run-$S_PID-*" 2>/dev/null)" ]
}

# ends_with_run MODE: a daemon the run left is gone after it.
ends_with_run() {
	local daemon
	assert_equal "$(reg node-1)" 202
	wait_for ready
	wait_for test -s "$BATS_TEST_TMPDIR/daemon"
	daemon=$(cat "$BATS_TEST_TMPDIR/daemon")
	assert [ "$daemon" -gt 1 ]
	wait_for gone "$daemon"
	# Reaped, not left a zombie of the server.
	run sh -c "ps -o stat= --ppid $S_PID | grep -c Z"
	assert_output 0
	wait_for no_run_cgroup
}

@test "materializer tree: a double-forked daemon ends with its run, in a cgroup of its own" {
	start_tree
	[ "$(containment)" = cgroup ] ||
	    skip "no writable cgroup v2 directory here: $(containment)"
	grep -q "materializer containment: a cgroup per run under" \
	    "$BATS_TEST_TMPDIR/S.log"
	ends_with_run
}

@test "materializer tree: the daemon is in the run's cgroup while it runs, and both end with it" {
	local daemon self cg
	# The run hangs until its timeout.
	TREE_MODE=hang start_tree --materializer-timeout 3
	[ "$(containment)" = cgroup ] || skip "no writable cgroup v2 directory"
	assert_equal "$(reg node-1)" 202
	wait_for test -s "$BATS_TEST_TMPDIR/daemon"
	daemon=$(cat "$BATS_TEST_TMPDIR/daemon")
	self=$(cat "$BATS_TEST_TMPDIR/self")
	run -0 sed -n 's/^0:://p' "/proc/$daemon/cgroup"
	assert_output --regexp "/cfgsync-run-$S_PID-[0-9]+\$"
	cg=$(cgroup_mount)$output
	assert [ -d "$cg" ]
	# The timeout ends the run, the daemon and its cgroup with it.
	wait_for gone "$daemon"
	gone "$self"
	wait_for test ! -d "$cg"
	run sh -c "ps -o stat= --ppid $S_PID | grep -c Z"
	assert_output 0
}

@test "materializer tree: with --no-cgroup the session and the scan end the daemon" {
	start_tree --no-cgroup
	assert_equal "$(containment)" session
	grep -q "materializer containment: session (--no-cgroup)" \
	    "$BATS_TEST_TMPDIR/S.log"
	ends_with_run
	# No cgroup was made for it either.
	no_run_cgroup
}

# stop_ends_tree [OPTIONS]: a run in progress (it hangs), the server
# stopped: the materializer and its daemon are gone with it.
stop_ends_tree() {
	local daemon self
	TREE_MODE=hang start_tree "$@"
	assert_equal "$(reg node-1)" 202
	wait_for test -s "$BATS_TEST_TMPDIR/daemon"
	daemon=$(cat "$BATS_TEST_TMPDIR/daemon")
	self=$(cat "$BATS_TEST_TMPDIR/self")
	kill -0 "$daemon"
	kill -0 "$self"
	stop_server S
	gone "$daemon"
	gone "$self"
	no_run_cgroup
}

@test "materializer tree: a server stopped during a run leaves nothing of it (cgroup)" {
	start_tree
	[ "$(containment)" = cgroup ] || skip "no writable cgroup v2 directory"
	stop_server S
	rm -f "$BATS_TEST_TMPDIR/daemon" "$BATS_TEST_TMPDIR/self"
	stop_ends_tree
}

@test "materializer tree: a server stopped during a run leaves nothing of it (--no-cgroup)" {
	stop_ends_tree --no-cgroup
}

@test "materializer tree: a server killed during a run has its run's cgroup ended by the next one" {
	local daemon old cg
	TREE_MODE=hang start_tree
	[ "$(containment)" = cgroup ] || skip "no writable cgroup v2 directory"
	assert_equal "$(reg node-1)" 202
	wait_for test -s "$BATS_TEST_TMPDIR/daemon"
	daemon=$(cat "$BATS_TEST_TMPDIR/daemon")
	run -0 sed -n 's/^0:://p' "/proc/$daemon/cgroup"
	cg=$(cgroup_mount)$output
	old=$S_PID
	kill -KILL "$old"
	wait "$old" 2>/dev/null || true
	# Nothing could end it: the daemon lives on in the old run's cgroup.
	kill -0 "$daemon"
	assert [ -d "$cg" ]
	start_tree
	wait_for gone "$daemon"
	wait_for test ! -d "$cg"
	grep -q "removing .*cfgsync-run-$old-.*, left by a server that" \
	    "$BATS_TEST_TMPDIR/S.log"
}
