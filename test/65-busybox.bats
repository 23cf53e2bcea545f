bats_require_minimum_version 1.5.0

load helpers

# share/busybox/fetch.sh, the client for nodes without cfgsync, run by
# Debian's busybox (its sh, wget and tar): what it unpacks is what
# `cfgsync fetch --out` writes, byte for byte and mode for mode.

FETCH_SH="$TOP/share/busybox/fetch.sh"

teardown() {
	stop_server S || true
	[ -z "${POLL:-}" ] || kill "$POLL" 2>/dev/null || true
}

# tree DIR: every path under DIR with its type and mode, sorted.
tree() {
	(cd "$1" && find . -printf '%y %m %p\n' | sort)
}

# same_tree A B: A and B hold the same files, bytes and modes.
same_tree() {
	diff -r "$1" "$2" || fail "contents differ"
	assert_equal "$(tree "$1")" "$(tree "$2")"
}

# bb ID DIR: fetch.sh for node ID into DIR against $S_URL.
bb() {
	CFG_SERVER_ADDR=$S_URL CFG_HOST_IDENTIFIER=$1 CFG_HOST_IP=10.0.0.1 \
	    CFG_TIMEOUT=${CFG_TIMEOUT:-20} busybox sh "$FETCH_SH" "$2"
}

@test "busybox: fetch.sh unpacks the same tree as cfgsync fetch --out" {
	command -v busybox >/dev/null || fail "busybox is not installed"
	start_server S "$BATS_TEST_TMPDIR" serve-bundle \
	    "$FIXTURES/bundles/fetch.json"
	for id in node-1 multi; do
		run -0 bb "$id" "$BATS_TEST_TMPDIR/bb-$id"
		run -0 cfgsync fetch --server "$S_URL" --id "$id" \
		    --ip 10.0.0.1 --out "$BATS_TEST_TMPDIR/cf-$id" --quiet
		same_tree "$BATS_TEST_TMPDIR/bb-$id" "$BATS_TEST_TMPDIR/cf-$id"
	done
	# The 0600 file, the binary one and the nested directories are there.
	run -0 tree "$BATS_TEST_TMPDIR/bb-node-1"
	assert_line 'f 600 ./secret/key.pem'
	assert_line 'd 755 ./bin'
	run -0 od -An -tx1 "$BATS_TEST_TMPDIR/bb-node-1/bin/blob"
	assert_output ' 00 01 02 ff'
	# No temporary file is left behind.
	run -0 find "$BATS_TEST_TMPDIR/bb-node-1" -name '.cfgsync-fetch.*'
	assert_output ''
}

@test "busybox: fetch.sh exits 3 for an unknown node, 2 on usage" {
	start_server S "$BATS_TEST_TMPDIR" serve-bundle \
	    "$FIXTURES/bundles/fetch.json"
	run -3 --separate-stderr bb ghost "$BATS_TEST_TMPDIR/o"
	assert_regex "$stderr" 'no config for ghost'
	run -2 --separate-stderr busybox sh "$FETCH_SH"
	assert_regex "$stderr" 'usage: fetch.sh DIR'
}

@test "busybox: fetch.sh retries refused connections, then 425, until ready" {
	port=$(free_port)
	S_URL=http://127.0.0.1:$port
	# No long poll: every not-ready answer is a 425 to back off from.
	CFG_WAIT=0 bb node-1 "$BATS_TEST_TMPDIR/bb" \
	    2>"$BATS_TEST_TMPDIR/bb.err" &
	POLL=$!
	sleep 0.5
	NEED=2 start_server_raw S "$BATS_TEST_TMPDIR" serve-exec \
	    --listen "127.0.0.1:$port" --port-file "$BATS_TEST_TMPDIR/S.port" \
	    --debounce 50 -- "$FIXTURES/need2.sh"
	for i in $(seq 1 100); do
		grep -q 'status 425' "$BATS_TEST_TMPDIR/bb.err" && break
		sleep 0.1
	done
	kill -0 "$POLL"
	curl -s -o /dev/null --data '{"identifier":"node-2","ip":"10.0.0.2"}' \
	    "$S_URL/register"
	wait "$POLL"
	POLL=
	run -0 cat "$BATS_TEST_TMPDIR/bb.err"
	assert_line --regexp 'waiting: status 000'
	assert_line --regexp 'waiting: status 425'
	run -0 cfgsync fetch --server "$S_URL" --id node-1 --ip 10.0.0.1 \
	    --out "$BATS_TEST_TMPDIR/cf" --quiet
	same_tree "$BATS_TEST_TMPDIR/bb" "$BATS_TEST_TMPDIR/cf"
	assert_equal "$(cat "$BATS_TEST_TMPDIR/bb/config.yaml")" 'id: node-1'
}
