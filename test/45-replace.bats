bats_require_minimum_version 1.5.0

load helpers

# POST /node/replace (the original's admin route) and `cfgsync replace`:
# an override is what the node is served until replaced again, through
# reloads; the shared files still come with it.

setup_file() {
	local d=$BATS_FILE_TMPDIR
	printf 'adm1n-t0ken\n' >"$d/token"
	cp "$FIXTURES/bundles/fetch.json" "$d/bundle.json"
	start_server RB "$d" serve-bundle --token-file "$d/token" "$d/bundle.json"
	# A bundle tree with new files for node-2 and for a node the bundle lacks.
	mkdir -p "$d/tree/nodes/node-2/etc" "$d/tree/nodes/newcomer" "$d/tree/shared"
	printf 'id: node-2\nversion: 2\n' >"$d/tree/nodes/node-2/etc/node.yaml"
	printf 'hello\n' >"$d/tree/nodes/newcomer/hi.txt"
}

teardown_file() {
	stop_server RB
}

setup() {
	T=$BATS_TEST_TMPDIR
	D=$BATS_FILE_TMPDIR
}

node_files() {
	curl -sf -H "Authorization: Bearer adm1n-t0ken" -X POST \
	    --data "{\"identifier\":\"$1\",\"ip\":\"10.0.0.1\"}" "$RB_URL/node" |
	    jq -c '[.files[].path]'
}

@test "replace: a node is served its new files, plus the shared ones" {
	run -0 --separate-stderr cfgsync replace --server "$RB_URL" \
	    --token-file "$D/token" --id node-2 "$D/tree"
	assert_equal "$output" ""
	assert_regex "$stderr" 'replaced the files of node-2: 1 files'
	assert_equal "$(node_files node-2)" '["etc/node.yaml","deployment-settings.yaml"]'
	# Others are untouched.
	assert_equal "$(node_files node-1)" '["/config.yaml","secret/key.pem","bin/blob","deployment-settings.yaml"]'
	run -0 cfgsync fetch -q --server "$RB_URL" --token-file "$D/token" \
	    --id node-2 --ip 127.0.0.1 --out "$T/o"
	assert_equal "$(cat "$T/o/etc/node.yaml")" "$(printf 'id: node-2\nversion: 2')"
}

@test "replace: a node the bundle does not name is served too" {
	run -0 cfgsync replace -q --server "$RB_URL" --token-file "$D/token" \
	    --id newcomer "$D/tree"
	assert_equal "$(node_files newcomer)" '["hi.txt","deployment-settings.yaml"]'
	run -0 cfgsync register -q --server "$RB_URL" --token-file "$D/token" \
	    --id newcomer --ip 127.0.0.1
}

@test "replace: an override survives a SIGHUP reload" {
	run -0 cfgsync replace -q --server "$RB_URL" --token-file "$D/token" \
	    --id node-2 "$D/tree"
	kill -HUP "$RB_PID"
	for i in $(seq 1 100); do
		grep -q 'reloaded' "$D/RB.log" && break
		sleep 0.05
	done
	run -0 grep -q 'reloaded' "$D/RB.log"
	assert_equal "$(node_files node-2)" '["etc/node.yaml","deployment-settings.yaml"]'
}

@test "replace: the files may come from a bundle file" {
	run -0 cfgsync bundle pack "$D/tree" -o "$T/new.json"
	run -0 cfgsync replace -q --server "$RB_URL" --token-file "$D/token" \
	    --id newcomer "$T/new.json"
}

@test "replace: without the token the server refuses, exit 5" {
	run -5 --separate-stderr cfgsync replace --server "$RB_URL" \
	    --id node-2 --timeout 2 "$D/tree"
	assert_regex "$stderr" 'refused: HTTP 401'
	refute_regex "$stderr" 'adm1n'
}

@test "replace: bad bodies are 400 and change nothing" {
	local body
	for body in 'nope' '{"files":[]}' '{"identifier":"../x","files":[]}' \
	    '{"identifier":"node-1"}' \
	    '{"identifier":"node-1","files":[{"path":"a/../b","content":""}]}' \
	    '{"identifier":"node-1","files":[{"path":"a","content":""},{"path":"a","content":""}]}' \
	    '{"identifier":"node-1","files":[{"path":"a","content":"x","sha256":"00"}]}'; do
		run -0 curl -s -o /dev/null -w '%{http_code}' \
		    -H "Authorization: Bearer adm1n-t0ken" --data "$body" \
		    "$RB_URL/node/replace"
		assert_equal "$output" 400
	done
	assert_equal "$(node_files node-1)" '["/config.yaml","secret/key.pem","bin/blob","deployment-settings.yaml"]'
}

@test "replace: --id is required, and SOURCE must hold the node" {
	run -2 --separate-stderr cfgsync replace --server "$RB_URL" "$D/tree"
	assert_regex "$stderr" -- '--id is required'
	run -7 --separate-stderr cfgsync replace --server "$RB_URL" \
	    --id ghost "$D/tree"
	assert_regex "$stderr" 'no node ghost'
	run -2 --separate-stderr cfgsync replace --server "$RB_URL" \
	    --id node-2 "$T/missing"
}

@test "replace: serve-exec serves an override over every later result, with its shared files, until DELETE" {
	local T=$BATS_TEST_TMPDIR
	NEED=1 start_server S "$T" serve-exec --debounce 20 \
	    --token-file "$D/token" -- "$FIXTURES/need2.sh"
	run -0 cfgsync fetch -q --server "$S_URL" --token-file "$D/token" \
	    --id node-2 --ip 127.0.0.1 --out "$T/o0"
	run -0 cfgsync replace -q --server "$S_URL" --token-file "$D/token" \
	    --id node-2 "$D/tree"
	run -0 cfgsync fetch -q --server "$S_URL" --token-file "$D/token" \
	    --id node-2 --ip 127.0.0.1 --out "$T/o1"
	assert [ -f "$T/o1/etc/node.yaml" ]
	assert [ ! -e "$T/o1/config.yaml" ]
	assert_equal "$(cat "$T/o1/shared.yaml")" "n: 1"
	# A new node makes a new result: the override stays, with its
	# shared files made again.
	run -0 cfgsync register -q --server "$S_URL" --token-file "$D/token" \
	    --id node-3 --ip 127.0.0.1
	for i in $(seq 1 100); do
		cfgsync fetch -q --server "$S_URL" --token-file "$D/token" \
		    --id node-2 --ip 127.0.0.1 --print --timeout 5 |
		    grep -q 'n: 2' && break
		sleep 0.05
	done
	run -0 --separate-stderr cfgsync fetch --server "$S_URL" \
	    --token-file "$D/token" --id node-2 --ip 127.0.0.1 --print
	assert_output --partial 'etc/node.yaml'
	assert_output --partial 'n: 2'
	refute_output --partial 'config.yaml'
	# Deleted, the node is its materializer's again (once re-registered).
	run -0 curl -sf -X DELETE -H "Authorization: Bearer adm1n-t0ken" \
	    "$S_URL/registrations/node-2"
	run -0 cfgsync fetch -q --server "$S_URL" --token-file "$D/token" \
	    --id node-2 --ip 127.0.0.1 --out "$T/o2" --timeout 10
	assert [ -f "$T/o2/config.yaml" ]
	stop_server S
}

@test "replace: with --state an override survives kill -9 and a restart; DELETE forgets it" {
	local T=$BATS_TEST_TMPDIR pid
	NEED=1 start_server S "$T" serve-exec --debounce 20 \
	    --state "$T/state" -- "$FIXTURES/need2.sh"
	run -0 cfgsync replace -q --server "$S_URL" --id node-2 "$D/tree"
	assert_equal "$(stat -c %a "$T/state.overrides")" 600
	kill -KILL "$S_PID"
	wait "$S_PID" 2>/dev/null || true
	NEED=1 start_server S "$T" serve-exec --debounce 20 \
	    --state "$T/state" -- "$FIXTURES/need2.sh"
	run -0 grep -q '1 nodes with files replaced' "$T/S.log"
	run -0 cfgsync fetch -q --server "$S_URL" --id node-2 --ip 127.0.0.1 \
	    --out "$T/o"
	assert [ -f "$T/o/etc/node.yaml" ]
	run -0 curl -sf -o /dev/null -X DELETE "$S_URL/registrations/node-2"
	stop_server S
	NEED=1 start_server S "$T" serve-exec --debounce 20 \
	    --state "$T/state" -- "$FIXTURES/need2.sh"
	run -1 grep -q 'with files replaced' "$T/S.log"
	# A damaged overrides file refuses the start, naming the line.
	printf '{"identifier":"x"}\n' >"$T/state.overrides"
	stop_server S
	run -7 --separate-stderr cfgsync serve-exec --listen 127.0.0.1:0 \
	    --state "$T/state" -- "$FIXTURES/need2.sh"
	assert_regex "$stderr" 'state.overrides: line 1: replace: no files'
}
