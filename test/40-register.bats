bats_require_minimum_version 1.5.0

load helpers

# A bundle server for what it can answer, and a scripted server that
# records each request so the tests can read what register sent.
setup_file() {
	start_server SB "$BATS_FILE_TMPDIR" serve-bundle "$(vec bundle.json)"
	start_fake FAKE "$BATS_FILE_TMPDIR"
}

teardown_file() {
	stop_server SB
	stop_server FAKE
}

teardown() {
	stop_server OWN || true
}

# sent [DIR NAME]: prints the body of the last request the scripted server
# got (the shared one unless DIR and NAME say otherwise).
sent() {
	local dir=${1:-$BATS_FILE_TMPDIR} name=${2:-FAKE}
	tail -n 1 "$dir/$name.requests" | jq -r .body
}

@test "register: a known node exits 0 and prints nothing" {
	run -0 --separate-stderr cfgsync register --server "$SB_URL" \
	    --id node-1 --ip 10.0.0.1
	assert_equal "$output" ""
	assert_equal "$stderr" ""
	run -0 grep -E ' POST /register 202 0 .* node-1$' \
	    "$BATS_FILE_TMPDIR/SB.log"
}

@test "register: an unknown identifier exits 3" {
	run -3 --separate-stderr cfgsync register --server "$SB_URL" \
	    --id node-9 --ip 10.0.0.9
	assert_equal "$output" ""
	assert_regex "$stderr" '^cfgsync: register: no config for node-9: HTTP 404: missing config for host node-9$'
}

@test "register: sends the NodeRegistration of the vector" {
	run -0 cfgsync register --server "$FAKE_URL" --id node-1 \
	    --ip 10.0.0.1 --metadata '{"network_port":3000,"api_port":18080}'
	sent >"$BATS_TEST_TMPDIR/sent.json"
	json_eq "$BATS_TEST_TMPDIR/sent.json" "$(vec registration.json)"
	run -0 jq -r '.path' <(tail -n 1 "$BATS_FILE_TMPDIR/FAKE.requests")
	assert_output /register
}

@test "register: without metadata sends the minimal vector" {
	run -0 cfgsync register --server "$FAKE_URL" --id node-2 \
	    --ip 10.0.0.2
	sent >"$BATS_TEST_TMPDIR/sent.json"
	json_eq "$BATS_TEST_TMPDIR/sent.json" "$(vec registration-minimal.json)"
}

@test "register: metadata travels byte for byte" {
	run -0 cfgsync register --server "$FAKE_URL" --id n --ip 10.0.0.1 \
	    --metadata ' {"p": 1.50, "q":1e3, "r":[ true ,null]} '
	run -0 sent
	assert_output '{"identifier":"n","ip":"10.0.0.1","metadata":{"p": 1.50, "q":1e3, "r":[ true ,null]}}'
	run -0 cfgsync register --server "$FAKE_URL" --id n --ip 10.0.0.1 \
	    --metadata '1.50'
	run -0 sent
	assert_output '{"identifier":"n","ip":"10.0.0.1","metadata":1.50}'
}

@test "register: null metadata is none" {
	run -0 cfgsync register --server "$FAKE_URL" --id n --ip 10.0.0.1 \
	    --metadata null
	run -0 sent
	assert_output '{"identifier":"n","ip":"10.0.0.1"}'
}

@test "register: --metadata-file reads the metadata" {
	printf '{"zone": "b",\n "port": 7}\n' >"$BATS_TEST_TMPDIR/meta.json"
	run -0 cfgsync register --server "$FAKE_URL" --id n --ip 10.0.0.1 \
	    --metadata-file "$BATS_TEST_TMPDIR/meta.json"
	run -0 sent
	assert_output "$(printf '{"identifier":"n","ip":"10.0.0.1","metadata":{"zone": "b",\n "port": 7}}')"
}

@test "register: metadata that is not one JSON value exits 2" {
	local m
	for m in '{' '{"a":1} x' 'nul' '1,"identifier":"evil"' '{}{}' "'a'"; do
		run -2 --separate-stderr cfgsync register --server "$FAKE_URL" \
		    --id n --ip 10.0.0.1 --metadata "$m"
		assert_regex "$stderr" 'not one JSON value'
	done
	run -2 --separate-stderr cfgsync register --server "$FAKE_URL" \
	    --id n --ip 10.0.0.1 --metadata-file "$BATS_TEST_TMPDIR/none"
}

@test "register: IPv6 addresses are sent as given" {
	run -0 cfgsync register --server "$FAKE_URL" --id n --ip fe80::1
	run -0 jq -r .ip <(sent)
	assert_output fe80::1
}

@test "register: without --ip it sends the address that routes to the server" {
	run -0 cfgsync register --server "$FAKE_URL" --id n
	run -0 jq -r .ip <(sent)
	assert_output 127.0.0.1
}

@test "register: without --id it sends the host name" {
	local host
	host=$(uname -n)
	[[ $host =~ ^[A-Za-z0-9._:@-]{1,255}$ ]] ||
	    skip "host name $host is not a valid identifier"
	run -0 cfgsync register --server "$FAKE_URL" --ip 10.0.0.1
	run -0 jq -r .identifier <(sent)
	assert_output "$host"
}

@test "register: CFG_* variables give the server, identity and metadata" {
	CFG_SERVER_ADDR=$FAKE_URL CFG_HOST_IDENTIFIER=env-node \
	    CFG_HOST_IP=10.9.9.9 CFG_REGISTRATION_METADATA_JSON='{"env":1.0}' \
	    run -0 --separate-stderr cfgsync register
	run -0 sent
	assert_output '{"identifier":"env-node","ip":"10.9.9.9","metadata":{"env":1.0}}'
}

@test "register: flags override the CFG_* variables" {
	CFG_SERVER_ADDR=http://127.0.0.1:1 CFG_HOST_IDENTIFIER=env-node \
	    CFG_HOST_IP=10.9.9.9 CFG_REGISTRATION_METADATA_JSON='{"env":1}' \
	    run -0 --separate-stderr cfgsync register --server "$FAKE_URL" \
	    --id flag-node --ip 10.1.1.1 --metadata '{"flag":2}'
	run -0 sent
	assert_output '{"identifier":"flag-node","ip":"10.1.1.1","metadata":{"flag":2}}'
	CFG_REGISTRATION_METADATA_JSON='{"env":1}' run -0 cfgsync register \
	    --server "$FAKE_URL" --id n --ip 10.1.1.1 --metadata-file \
	    <(printf '[3]')
	run -0 jq -c .metadata <(sent)
	assert_output '[3]'
}

@test "register: empty CFG_* variables count as unset" {
	CFG_SERVER_ADDR= CFG_HOST_IDENTIFIER= CFG_REGISTRATION_METADATA_JSON= \
	    run -0 cfgsync register --server "$FAKE_URL" --id n --ip 10.0.0.1
	run -0 sent
	assert_output '{"identifier":"n","ip":"10.0.0.1"}'
}

@test "register: a bad identifier exits 2 and sends nothing" {
	local before id
	before=$(wc -l <"$BATS_FILE_TMPDIR/FAKE.requests")
	for id in a/b . .. "" "a b" "$(printf 'a\001')" \
	    "$(printf 'a%.0s' $(seq 1 256))"; do
		run -2 --separate-stderr cfgsync register --server "$FAKE_URL" \
		    --id "$id" --ip 10.0.0.1
		assert_regex "$stderr" 'usage: cfgsync register'
	done
	CFG_HOST_IDENTIFIER=../x run -2 cfgsync register --server "$FAKE_URL" \
	    --ip 10.0.0.1
	assert_equal "$(wc -l <"$BATS_FILE_TMPDIR/FAKE.requests")" "$before"
}

@test "register: a bad IP exits 2" {
	local ip
	for ip in 1.2.3 256.1.1.1 x1.2.3.4 localhost; do
		run -2 --separate-stderr cfgsync register --server "$FAKE_URL" \
		    --id n --ip "$ip"
		assert_regex "$stderr" 'ip'
	done
}

@test "register: a server that is not an http URL exits 2" {
	run -2 --separate-stderr cfgsync register --server ftp://127.0.0.1:1 \
	    --id n --ip 10.0.0.1
	run -2 --separate-stderr cfgsync register --server 127.0.0.1:1 \
	    --id n --ip 10.0.0.1
	run -2 --separate-stderr cfgsync register --server "$FAKE_URL" \
	    --id n --ip 10.0.0.1 --timeout x
	run -2 --separate-stderr cfgsync register --server "$FAKE_URL" \
	    --id n --ip 10.0.0.1 extra
}

@test "register: retries a 500 until the server accepts" {
	start_fake OWN "$BATS_TEST_TMPDIR" --register 500,500,202
	run -0 --separate-stderr cfgsync register --server "$OWN_URL" --id n \
	    --ip 10.0.0.1 --timeout 20
	assert_equal "$(grep -c '"/register"' "$BATS_TEST_TMPDIR/OWN.requests")" 3
	assert_regex "$stderr" 'waiting: server error'
}

@test "register: --quiet silences the progress lines" {
	start_fake OWN "$BATS_TEST_TMPDIR" --register 500,202
	run -0 --separate-stderr cfgsync register --quiet --server "$OWN_URL" \
	    --id n --ip 10.0.0.1 --timeout 20
	assert_equal "$stderr" ""
	run -0 --separate-stderr cfgsync register -q --server "$OWN_URL" \
	    --id n --ip 10.0.0.1 --timeout 20
	assert_equal "$stderr" ""
}

@test "register: a server that stays down exits 5 after --timeout" {
	local port start
	port=$(free_port)
	start=$SECONDS
	run -5 --separate-stderr cfgsync register \
	    --server "http://127.0.0.1:$port" --id n --ip 10.0.0.1 --timeout 1
	assert_regex "$stderr" 'cfgsync: register: gave up after 1 s'
	[ $((SECONDS - start)) -le 5 ]
}

@test "register: a server that keeps failing exits 5 after --timeout" {
	start_fake OWN "$BATS_TEST_TMPDIR" --register 503
	run -5 --separate-stderr cfgsync register --server "$OWN_URL" --id n \
	    --ip 10.0.0.1 --timeout 1
	assert_regex "$stderr" 'HTTP 503'
}

@test "register: a 400 from the server exits 7" {
	start_fake OWN "$BATS_TEST_TMPDIR" --register 400
	run -7 --separate-stderr cfgsync register --server "$OWN_URL" --id n \
	    --ip 10.0.0.1 --timeout 5
	assert_regex "$stderr" 'server refused the registration'
}

@test "register: --token-file sends the bearer token" {
	local tok=reg-t0ken
	printf '%s\n' "$tok" >"$BATS_TEST_TMPDIR/token"
	printf 'wrong\n' >"$BATS_TEST_TMPDIR/wrong"
	start_server OWN "$BATS_TEST_TMPDIR" serve-bundle \
	    --token-file "$BATS_TEST_TMPDIR/token" "$(vec bundle.json)"
	run -0 --separate-stderr cfgsync register --server "$OWN_URL" \
	    --id node-1 --ip 10.0.0.1 --token-file "$BATS_TEST_TMPDIR/token"
	run -5 --separate-stderr cfgsync register --server "$OWN_URL" \
	    --id node-1 --ip 10.0.0.1 --timeout 5
	assert_regex "$stderr" 'HTTP 401'
	run -5 --separate-stderr cfgsync register --server "$OWN_URL" \
	    --id node-1 --ip 10.0.0.1 --timeout 5 \
	    --token-file "$BATS_TEST_TMPDIR/wrong"
	run -2 --separate-stderr cfgsync register --server "$OWN_URL" \
	    --id node-1 --ip 10.0.0.1 --token-file "$BATS_TEST_TMPDIR/none"
	run -1 grep -F "$tok" "$BATS_TEST_TMPDIR/OWN.log"
}

@test "register: a registration started before the server comes up succeeds" {
	local port pid rc=0
	port=$(free_port)
	cfgsync register --server "http://127.0.0.1:$port" --id node-1 \
	    --ip 10.0.0.1 --timeout 20 >"$BATS_TEST_TMPDIR/reg.out" \
	    2>"$BATS_TEST_TMPDIR/reg.err" 3>&- &
	pid=$!
	sleep 0.5
	start_server_raw OWN "$BATS_TEST_TMPDIR" serve-bundle \
	    --listen "127.0.0.1:$port" --port-file "$BATS_TEST_TMPDIR/OWN.port" \
	    "$(vec bundle.json)"
	wait "$pid" || rc=$?
	assert_equal "$rc" 0
	run -0 grep -q 'waiting: server unreachable' "$BATS_TEST_TMPDIR/reg.err"
}

@test "register: over an IPv6 route the default address is the host's IPv4 one" {
	local T=$BATS_TEST_TMPDIR
	start_server_raw V6 "$T" serve-exec --listen '[::1]:0' \
	    --port-file "$T/V6.port" -- "$FIXTURES/need2.sh"
	run -0 cfgsync register -q --server "http://[::1]:$V6_PORT" --id v6-node
	run -0 curl -sfg "http://[::1]:$V6_PORT/registrations"
	assert_equal "$(jq -r '.registrations[0].ip' <<<"$output")" 127.0.0.1
	# An explicit --ip is sent as given.
	run -0 cfgsync register -q --server "http://[::1]:$V6_PORT" --id v6-node \
	    --ip ::1
	run -0 curl -sfg "http://[::1]:$V6_PORT/registrations"
	assert_equal "$(jq -r '.registrations[0].ip' <<<"$output")" ::1
	stop_server V6
}
