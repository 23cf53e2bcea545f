bats_require_minimum_version 1.5.0

load helpers

# Clients given a list of servers (--server URL,URL... and CFG_SERVER_ADDR):
# a node starts at the URL a hash of its identifier picks, moves on after a
# connect error, a timeout or a 5xx, and stays on one while it answers.
# DEAD is a loopback port nothing listens on.

setup_file() {
	start_server SB "$BATS_FILE_TMPDIR" serve-bundle \
	    "$FIXTURES/bundles/fetch.json"
	DEAD_URL=http://127.0.0.1:$(free_port)
	export DEAD_URL
}

teardown_file() {
	stop_server SB
}

setup() {
	T=$BATS_TEST_TMPDIR
}

teardown() {
	stop_server A || true
	stop_server B || true
}

# start_index ID N: the index of N URLs that ID starts at (FNV-1a mod N).
start_index() {
	python3 -c 'import sys
h = 0x811c9dc5
for b in sys.argv[1].encode():
	h = ((h ^ b) * 0x01000193) & 0xffffffff
print(h % int(sys.argv[2]))' "$1" "$2"
}

# id_at INDEX N [ID...]: a node identifier (one of IDs, default node-1,
# node-2, ...) that starts at INDEX of N URLs.
id_at() {
	local want=$1 n=$2 id
	shift 2
	[ $# -gt 0 ] || set -- $(seq -f 'node-%g' 1 200)
	for id in "$@"; do
		if [ "$(start_index "$id" "$n")" = "$want" ]; then
			echo "$id"
			return 0
		fi
	done
	return 1
}

# paths NAME: the request paths the fake server NAME logged, one a line.
paths() {
	jq -r .path "$T/$1.requests"
}

@test "fetch: a stopped first server, the next one serves" {
	local id
	id=$(id_at 0 2 node-1 node-2)
	run -0 --separate-stderr cfgsync fetch --server "$DEAD_URL,$SB_URL" \
	    --id "$id" --ip 127.0.0.1 --out "$T/o" --timeout 20
	assert_equal "$(cat "$T/o/config.yaml")" "id: $id"
	assert_regex "$stderr" "$DEAD_URL failed: asking $SB_URL"
}

@test "fetch: every start index reaches the one server up" {
	local k id
	start_fake B "$T" --node 200 --payload "$(vec payload.json)"
	# (k, not i: bats' own functions set i)
	for k in 0 1 2; do
		id=$(id_at "$k" 3)
		rm -rf "$T/o"
		run -0 cfgsync fetch -q --server "$DEAD_URL,$B_URL,$DEAD_URL" \
		    --id "$id" --ip 127.0.0.1 --out "$T/o" --timeout 20
		assert [ -s "$T/o/config.yaml" ]
	done
	run -0 jq -r 'select(.path == "/node") | .body | fromjson |
	    .identifier' "$T/B.requests"
	assert_equal "${#lines[@]}" 3
}

@test "fetch: a server stopped by PID, the other one up, from CFG_SERVER_ADDR" {
	local id
	start_server A "$T" serve-bundle "$FIXTURES/bundles/fetch.json"
	id=$(id_at 0 2 node-1 node-2)
	kill -KILL "$A_PID"
	wait "$A_PID" 2>/dev/null || true
	A_PID=
	CFG_SERVER_ADDR="$A_URL,$SB_URL" run -0 cfgsync fetch -q --id "$id" \
	    --ip 127.0.0.1 --out "$T/o" --timeout 20
	assert_equal "$(cat "$T/o/config.yaml")" "id: $id"
}

@test "register: a 503 moves on to the next server, which takes it" {
	local id
	start_fake A "$T" --register 503
	start_fake B "$T" --register 202
	id=$(id_at 0 2)
	run -0 cfgsync register -q --server "$A_URL,$B_URL" --id "$id" \
	    --ip 10.0.0.1 --timeout 20
	assert_equal "$(paths A)" /register
	assert_equal "$(paths B)" /register
}

@test "fetch: a 5xx on /node moves on, and registers there too" {
	local id
	start_fake A "$T" --node 500
	start_fake B "$T" --node 200 --payload "$(vec payload.json)"
	id=$(id_at 0 2)
	run -0 cfgsync fetch -q --server "$A_URL,$B_URL" --id "$id" \
	    --ip 10.0.0.1 --out "$T/o" --timeout 20
	run -0 paths A
	assert_equal "${lines[*]}" "/register /node"
	run -0 paths B
	assert_equal "${lines[*]}" "/register /node"
}

@test "fetch: stays on the server it starts at while it answers" {
	local id
	start_fake A "$T" --node 200 --payload "$(vec payload.json)"
	start_fake B "$T" --node 200 --payload "$(vec payload.json)"
	id=$(id_at 1 2)
	run -0 cfgsync fetch -q --server "$A_URL,$B_URL" --id "$id" \
	    --ip 10.0.0.1 --out "$T/o" --timeout 20
	assert_equal "$(paths A)" ""
	run -0 paths B
	assert_equal "${lines[*]}" "/register /node"
	id=$(id_at 0 2)
	run -0 cfgsync fetch -q --server "$A_URL,$B_URL" --id "$id" \
	    --ip 10.0.0.1 --out "$T/o2" --timeout 20
	run -0 paths A
	assert_equal "${lines[*]}" "/register /node"
}

@test "fetch: 425 is an answer: no move to the next server" {
	local id
	start_fake A "$T" --node 425,425,200 --payload "$(vec payload.json)"
	start_fake B "$T" --node 200 --payload "$(vec payload.json)"
	id=$(id_at 0 2)
	run -0 cfgsync fetch -q --server "$A_URL,$B_URL" --id "$id" \
	    --ip 10.0.0.1 --out "$T/o" --timeout 20
	run -0 paths A
	assert_equal "${lines[*]}" "/register /node /node /node"
	assert_equal "$(paths B)" ""
}

@test "fetch: all servers down gives exit 5 at the deadline" {
	local start=$SECONDS
	run -5 --separate-stderr cfgsync fetch --server "$DEAD_URL,$DEAD_URL" \
	    --id node-1 --ip 10.0.0.1 --out "$T/o" --timeout 2
	assert_equal "${#stderr_lines[@]}" 3
	assert_regex "${stderr_lines[1]}" "$DEAD_URL failed: asking $DEAD_URL"
	assert_regex "${stderr_lines[2]}" '^cfgsync: fetch: gave up after 2 s: '
	assert [ $((SECONDS - start)) -le 6 ]
	assert [ ! -e "$T/o" ]
}

@test "fetch: a bad URL in a list exits 2 naming it" {
	run -2 --separate-stderr cfgsync fetch --server "$SB_URL,ftp://x" \
	    --id node-1 --out "$T/o"
	assert_regex "$stderr" 'ftp://x: not an http:// or https:// URL'
	run -2 --separate-stderr cfgsync register --server "$SB_URL,,$SB_URL" \
	    --id node-1
	assert_regex "$stderr" 'empty URL'
	CFG_SERVER_ADDR="$SB_URL,127.0.0.1:1" run -2 --separate-stderr \
	    cfgsync status
	assert_regex "$stderr" '127\.0\.0\.1:1: not an http'
	run -2 cfgsync replace --server "http://a,b" --id node-1 \
	    "$FIXTURES/bundles/fetch.json"
}

@test "status: asks the next server when the first does not answer" {
	run -0 --separate-stderr cfgsync status --json \
	    --server "$DEAD_URL,$SB_URL"
	run -0 jq -e 'type == "object"' <<<"$output"
	run -5 --separate-stderr cfgsync status --server "$DEAD_URL,$DEAD_URL" \
	    --timeout 2
	assert_regex "$stderr" '^cfgsync: status: '
}

@test "replace: moves past a stopped server" {
	local list
	printf 't0ken\n' >"$T/token"
	cp "$FIXTURES/bundles/fetch.json" "$T/bundle.json"
	start_server B "$T" serve-bundle --token-file "$T/token" "$T/bundle.json"
	# node-1 starts at the stopped one, whichever index that is.
	if [ "$(start_index node-1 2)" = 0 ]; then
		list=$DEAD_URL,$B_URL
	else
		list=$B_URL,$DEAD_URL
	fi
	run -0 --separate-stderr cfgsync replace --server "$list" \
	    --token-file "$T/token" --id node-1 "$FIXTURES/bundles/fetch.json" \
	    --timeout 20
	assert_regex "$stderr" "$DEAD_URL failed: asking $B_URL"
	assert_regex "$stderr" 'replaced the files of node-1'
}
