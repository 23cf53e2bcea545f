bats_require_minimum_version 1.5.0

load helpers

# SB serves test/fixtures/bundles/fetch.json (modes, binary content, nodes
# set up to fail in the middle of a write); VEC serves the wire vectors'
# bundle.  Tests that need answers a bundle cannot give (425, 500, a bad
# payload) start the scripted server.
setup_file() {
	start_server SB "$BATS_FILE_TMPDIR" serve-bundle \
	    "$FIXTURES/bundles/fetch.json"
	start_server VEC "$BATS_FILE_TMPDIR" serve-bundle "$(vec bundle.json)"
}

teardown_file() {
	stop_server SB
	stop_server VEC
}

setup() {
	T=$BATS_TEST_TMPDIR
	LOCKED=
}

teardown() {
	stop_server OWN || true
	stop_server TLS || true
	if [ -n "$LOCKED" ]; then
		chattr -i "$LOCKED" 2>/dev/null || true
	fi
}

# mode FILE: prints FILE's permission bits in octal.
mode() {
	stat -c '%a' "$1"
}

# node_requests FILE: prints "?QUERY" for every /node request logged.
node_requests() {
	jq -r 'select(.path == "/node") | "?" + .query' "$1"
}

@test "fetch: writes node and shared files with the right bytes" {
	run -0 --separate-stderr cfgsync fetch --server "$SB_URL" --id node-1 \
	    --ip 127.0.0.1 --out "$T/o"
	assert_equal "$output" ""
	assert_equal "$stderr" "cfgsync: fetch: wrote 4 files, 0 unchanged"
	assert_equal "$(cat "$T/o/config.yaml")" "id: node-1"
	assert_equal "$(cat "$T/o/deployment-settings.yaml")" "mode: local"
	assert_equal "$(cat "$T/o/secret/key.pem")" "KEY"
	printf '\000\001\002\377' >"$T/blob"
	cmp "$T/blob" "$T/o/bin/blob"
	run -0 find "$T/o" -type f
	assert_equal "${#lines[@]}" 4
}

@test "fetch: trailing newlines and exact sizes are kept" {
	run -0 cfgsync fetch -q --server "$SB_URL" --id node-1 --ip 127.0.0.1 \
	    --out "$T/o"
	printf 'id: node-1\n' >"$T/want"
	cmp "$T/want" "$T/o/config.yaml"
	assert_equal "$(stat -c %s "$T/o/bin/blob")" 4
}

@test "fetch: files are 0644 by default and mode 0600 is honoured" {
	umask 077
	run -0 cfgsync fetch -q --server "$SB_URL" --id node-1 --ip 127.0.0.1 \
	    --out "$T/o"
	assert_equal "$(mode "$T/o/config.yaml")" 644
	assert_equal "$(mode "$T/o/bin/blob")" 644
	assert_equal "$(mode "$T/o/deployment-settings.yaml")" 644
	assert_equal "$(mode "$T/o/secret/key.pem")" 600
	assert_equal "$(mode "$T/o/secret")" 755
	assert_equal "$(mode "$T/o")" 755
}

@test "fetch: modes hold under a default ACL that masks them" {
	# A default ACL, not the umask, decides a new file's mode: fetch
	# sets the mode where the ACL masked it and leaves it where not.
	mkdir -p "$T/o/secret"
	setfacl -d -m u::rw,g::-,o::- "$T/o" ||
	    skip "no ACLs on this file system"
	setfacl -d -m u::rwx,g::rwx,o::rwx,u:nobody:rwx "$T/o/secret"
	run -0 cfgsync fetch -q --server "$SB_URL" --id node-1 --ip 127.0.0.1 \
	    --out "$T/o"
	assert_equal "$(mode "$T/o/config.yaml")" 644
	assert_equal "$(mode "$T/o/bin/blob")" 644
	assert_equal "$(mode "$T/o/bin")" 755
	assert_equal "$(mode "$T/o/secret/key.pem")" 600
	# nobody's entry is masked to the mode's group bits, none here.
	run -0 getfacl -cp "$T/o/secret/key.pem"
	assert_line "user:nobody:rwx	#effective:---"
}

@test "fetch: an existing file keeps its mode when none is given" {
	mkdir -p "$T/o/secret"
	printf 'old\n' >"$T/o/config.yaml"
	chmod 0640 "$T/o/config.yaml"
	printf 'old\n' >"$T/o/secret/key.pem"
	chmod 0644 "$T/o/secret/key.pem"
	run -0 cfgsync fetch -q --server "$SB_URL" --id node-1 --ip 127.0.0.1 \
	    --out "$T/o"
	assert_equal "$(cat "$T/o/config.yaml")" "id: node-1"
	assert_equal "$(mode "$T/o/config.yaml")" 640
	# A mode in the payload wins over the old file's.
	assert_equal "$(mode "$T/o/secret/key.pem")" 600
}

@test "fetch: fetching again replaces the files in place" {
	run -0 cfgsync fetch -q --server "$SB_URL" --id node-1 --ip 127.0.0.1 \
	    --out "$T/o"
	printf 'changed\n' >"$T/o/config.yaml"
	run -0 cfgsync fetch -q --server "$SB_URL" --id node-1 --ip 127.0.0.1 \
	    --out "$T/o"
	assert_equal "$(cat "$T/o/config.yaml")" "id: node-1"
	no_temporaries "$T/o"
}

@test "fetch: --print writes only the payload JSON to stdout" {
	run -0 --separate-stderr cfgsync fetch --server "$VEC_URL" --id node-1 \
	    --ip 10.0.0.1 --print --out "$T/o"
	printf '%s\n' "$output" >"$T/printed.json"
	json_eq "$T/printed.json" "$(vec payload.json)"
	assert_equal "${#lines[@]}" 1
	assert [ ! -e "$T/o" ]
	refute_regex "$stderr" 'wrote'
}

@test "fetch: --print writes no file in the working directory" {
	mkdir "$T/cwd"
	run -0 --separate-stderr bash -c 'cd "$1" && shift && exec "$@"' _ \
	    "$T/cwd" cfgsync fetch --server "$VEC_URL" --id node-2 \
	    --ip 10.0.0.2 --print
	run -0 jq -r '.files[0].content' <(printf '%s\n' "$output")
	assert_output "id: node-2"
	run -0 find "$T/cwd" -mindepth 1
	assert_output ""
}

@test "fetch: --quiet silences progress" {
	run -0 --separate-stderr cfgsync fetch --quiet --server "$SB_URL" \
	    --id node-2 --ip 127.0.0.1 --out "$T/o"
	assert_equal "$stderr" ""
	assert_equal "$output" ""
	assert [ -f "$T/o/config.yaml" ]
}

@test "fetch: an unknown identifier exits 3 and writes nothing" {
	run -3 --separate-stderr cfgsync fetch --server "$SB_URL" --id ghost \
	    --ip 127.0.0.1 --out "$T/o"
	assert_equal "$output" ""
	assert_regex "$stderr" '^cfgsync: fetch: no config for ghost: HTTP 404'
	assert [ ! -e "$T/o" ]
}

@test "fetch: an unknown identifier exits 3 at once without --timeout" {
	local start=$SECONDS
	run -3 cfgsync fetch --server "$SB_URL" --id ghost --ip 127.0.0.1 \
	    --no-register --out "$T/o"
	[ $((SECONDS - start)) -le 3 ]
	assert [ ! -e "$T/o" ]
}

@test "fetch: -- COMMAND runs after the write and sees the files" {
	run -0 --separate-stderr cfgsync fetch -q --server "$SB_URL" \
	    --id node-1 --ip 127.0.0.1 --out "$T/o" -- \
	    sh -c 'cat "$1/config.yaml" "$1/deployment-settings.yaml"' sh "$T/o"
	assert_equal "$output" "$(printf 'id: node-1\nmode: local')"
}

@test "fetch: the exit status of COMMAND becomes fetch's" {
	run -42 cfgsync fetch -q --server "$SB_URL" --id node-1 \
	    --ip 127.0.0.1 --out "$T/o" -- sh -c 'exit 42'
	run -0 cfgsync fetch -q --server "$SB_URL" --id node-1 \
	    --ip 127.0.0.1 --out "$T/o" -- true
	run -1 cfgsync fetch -q --server "$SB_URL" --id node-1 \
	    --ip 127.0.0.1 --out "$T/o" -- false
}

@test "fetch: arguments after -- reach COMMAND untouched" {
	run -0 --separate-stderr cfgsync fetch -q --server "$SB_URL" \
	    --id node-1 --ip 127.0.0.1 --out "$T/o" -- \
	    sh -c 'printf "%s|" "$@"' sh --out -q -- "a b" ''
	assert_equal "$output" "--out|-q|--|a b||"
}

@test "fetch: COMMAND is the process itself (exec, no fork)" {
	run -0 --separate-stderr cfgsync fetch -q --server "$SB_URL" \
	    --id node-1 --ip 127.0.0.1 --out "$T/o" -- \
	    sh -c 'cat /proc/$$/comm /proc/$PPID/comm'
	assert_equal "${lines[0]}" sh
	# The parent's name, not its command line: a clone's path may hold
	# "cfgsync" (the test file bats runs sits under it).
	assert [ "${lines[1]:-cfgsync}" != cfgsync ]
}

@test "fetch: COMMAND does not run when the fetch fails" {
	run -3 cfgsync fetch -q --server "$SB_URL" --id ghost --ip 127.0.0.1 \
	    --out "$T/o" -- touch "$T/ran"
	assert [ ! -e "$T/ran" ]
}

@test "fetch: a COMMAND not found exits 127 after the write, as env does" {
	run -127 --separate-stderr cfgsync fetch -q --server "$SB_URL" \
	    --id node-1 --ip 127.0.0.1 --out "$T/o" -- "$T/no-such-program"
	assert_regex "$stderr" '^cfgsync: fetch: exec .*no-such-program: No such file'
	assert [ -f "$T/o/config.yaml" ]
	run -127 cfgsync fetch -q --server "$SB_URL" --id node-1 \
	    --ip 127.0.0.1 --out "$T/o" -- no-such-program-on-path
}

@test "fetch: a COMMAND that is not executable exits 126 after the write" {
	printf 'echo hi\n' >"$T/not-exec"
	chmod 0644 "$T/not-exec"
	run -126 --separate-stderr cfgsync fetch -q --server "$SB_URL" \
	    --id node-1 --ip 127.0.0.1 --out "$T/o" -- "$T/not-exec"
	assert_regex "$stderr" 'exec .*not-exec: Permission denied'
	assert [ -f "$T/o/config.yaml" ]
}

@test "fetch: options after the operands of COMMAND stay COMMAND's" {
	run -0 --separate-stderr cfgsync fetch --server "$SB_URL" -q \
	    --id node-1 --ip 127.0.0.1 --out "$T/o" -- echo --print -q
	assert_equal "$output" "--print -q"
}

@test "fetch: a 404 that is not missing_config is exit 5 naming the URL" {
	run -5 --separate-stderr cfgsync fetch --server "$SB_URL/wrong/path" \
	    --id node-1 --ip 127.0.0.1 --out "$T/o" --timeout 5
	assert_regex "$stderr" "^cfgsync: fetch: $SB_URL/wrong/path/register: HTTP 404"
	assert [ ! -e "$T/o" ]
}

@test "fetch: without --ip, a server name that does not resolve is retried" {
	run -5 --separate-stderr cfgsync fetch \
	    --server "http://no-such-host.invalid:4400" --id node-1 \
	    --out "$T/o" --timeout 2
	assert_regex "$stderr" 'waiting: server unreachable .*resolve no-such-host.invalid'
	assert_regex "$stderr" 'gave up after 2 s'
	assert [ ! -e "$T/o" ]
}

@test "fetch: --print then COMMAND" {
	run -0 --separate-stderr cfgsync fetch --server "$VEC_URL" \
	    --id node-1 --ip 10.0.0.1 --print -- echo after
	assert_equal "${#lines[@]}" 2
	assert_equal "${lines[1]}" after
}

@test "fetch: CFG_* variables give the server and the identity" {
	CFG_SERVER_ADDR=$SB_URL CFG_HOST_IDENTIFIER=node-2 \
	    CFG_HOST_IP=127.0.0.1 run -0 cfgsync fetch -q --out "$T/o"
	assert_equal "$(cat "$T/o/config.yaml")" "id: node-2"
}

@test "fetch: CFG_FILE_PATH and CFG_DEPLOYMENT_PATH route the two files" {
	CFG_FILE_PATH=$T/etc/node.yaml CFG_DEPLOYMENT_PATH=$T/etc/deploy.yaml \
	    run -0 cfgsync fetch -q --server "$SB_URL" --id node-1 \
	    --ip 127.0.0.1 --out "$T/o"
	assert_equal "$(cat "$T/etc/node.yaml")" "id: node-1"
	assert_equal "$(cat "$T/etc/deploy.yaml")" "mode: local"
	assert [ ! -e "$T/o/config.yaml" ]
	assert [ ! -e "$T/o/deployment-settings.yaml" ]
	assert_equal "$(cat "$T/o/secret/key.pem")" "KEY"
	assert_equal "$(mode "$T/etc")" 755
}

@test "fetch: CFG_FILE_PATH routes /config.yaml without --out" {
	mkdir "$T/cwd"
	CFG_FILE_PATH=$T/etc/node.yaml CFG_DEPLOYMENT_PATH=$T/etc/deploy.yaml \
	    run -0 bash -c 'cd "$1" && shift && exec "$@"' _ "$T/cwd" \
	    cfgsync fetch -q --server "$VEC_URL" --id node-1 --ip 10.0.0.1
	assert_equal "$(cat "$T/etc/node.yaml")" "id: node-1"
	assert_equal "$(cat "$T/etc/deploy.yaml")" "mode: local"
	run -0 find "$T/cwd" -mindepth 1
	assert_output ""
}

@test "fetch: --route sends one artifact elsewhere" {
	run -0 cfgsync fetch -q --server "$SB_URL" --id node-1 --ip 127.0.0.1 \
	    --out "$T/o" --route /config.yaml="$T/r/node.yaml" \
	    --route secret/key.pem="$T/r/key.pem"
	assert_equal "$(cat "$T/r/node.yaml")" "id: node-1"
	assert_equal "$(cat "$T/r/key.pem")" "KEY"
	assert_equal "$(mode "$T/r/key.pem")" 600
	assert [ ! -e "$T/o/config.yaml" ]
	assert [ -f "$T/o/deployment-settings.yaml" ]
}

@test "fetch: --route wins over CFG_FILE_PATH" {
	CFG_FILE_PATH=$T/env.yaml run -0 cfgsync fetch -q --server "$SB_URL" \
	    --id node-1 --ip 127.0.0.1 --out "$T/o" \
	    --route config.yaml="$T/flag.yaml"
	assert [ -f "$T/flag.yaml" ]
	assert [ ! -e "$T/env.yaml" ]
}

@test "fetch: two artifacts routed to one file exit 7 and write nothing" {
	run -7 --separate-stderr cfgsync fetch --server "$SB_URL" --id node-1 \
	    --ip 127.0.0.1 --out "$T/o" --route config.yaml="$T/same" \
	    --route deployment-settings.yaml="$T/same"
	assert_regex "$stderr" 'both go to'
	assert [ ! -e "$T/same" ]
	assert [ ! -e "$T/o" ]
}

@test "fetch: a bad --route is a usage error" {
	run -2 --separate-stderr cfgsync fetch --server "$SB_URL" \
	    --id node-1 --ip 127.0.0.1 --route config.yaml
	run -2 --separate-stderr cfgsync fetch --server "$SB_URL" \
	    --id node-1 --ip 127.0.0.1 --route =x
	run -2 --separate-stderr cfgsync fetch --server "$SB_URL" \
	    --id node-1 --ip 127.0.0.1 --route x=
}

@test "fetch: flags override the CFG_* variables" {
	CFG_SERVER_ADDR=http://127.0.0.1:1 CFG_HOST_IDENTIFIER=ghost \
	    CFG_HOST_IP=256.0.0.1 run -0 cfgsync fetch -q --server "$SB_URL" \
	    --id node-2 --ip 127.0.0.1 --out "$T/o"
	assert_equal "$(cat "$T/o/config.yaml")" "id: node-2"
}

@test "fetch: CFG_HOST_IP and CFG_REGISTRATION_METADATA_JSON are sent" {
	start_fake OWN "$T" --node 200 --payload "$(vec payload.json)"
	CFG_HOST_IP=10.7.7.7 CFG_REGISTRATION_METADATA_JSON='{"a":1.50}' \
	    run -0 cfgsync fetch -q --server "$OWN_URL" --id node-1 --out "$T/o"
	run -0 jq -r .body "$T/OWN.requests"
	assert_equal "${#lines[@]}" 2
	assert_equal "${lines[0]}" '{"identifier":"node-1","ip":"10.7.7.7","metadata":{"a":1.50}}'
	assert_equal "${lines[1]}" "${lines[0]}"
	run -0 jq -r .path "$T/OWN.requests"
	assert_equal "${lines[0]}" /register
	assert_equal "${lines[1]}" /node
}

@test "fetch: --no-register goes straight to /node" {
	start_fake OWN "$T" --node 200 --payload "$(vec payload.json)"
	run -0 cfgsync fetch -q --no-register --server "$OWN_URL" \
	    --id node-1 --ip 10.0.0.1 --out "$T/o"
	run -0 jq -r .path "$T/OWN.requests"
	assert_output /node
}

@test "fetch: --timeout gives exit 4 against a server that answers 425" {
	local start=$SECONDS
	start_fake OWN "$T" --node 425
	run -4 --separate-stderr cfgsync fetch --server "$OWN_URL" \
	    --id node-1 --ip 10.0.0.1 --out "$T/o" --timeout 2
	assert_regex "$stderr" 'cfgsync: fetch: waiting: not ready'
	assert_regex "$stderr" 'cfgsync: fetch: timed out after 2 s: config for node-1 not ready'
	assert_equal "$output" ""
	assert [ ! -e "$T/o" ]
	[ $((SECONDS - start)) -le 8 ]
}

@test "fetch: falls back to plain polls when the server ignores ?wait=" {
	local start n
	start_fake OWN "$T" --node 425,425,425,200 \
	    --payload "$(vec payload.json)"
	start=$(date +%s%N)
	run -0 --separate-stderr cfgsync fetch --server "$OWN_URL" \
	    --id node-1 --ip 10.0.0.1 --out "$T/o" --timeout 30
	assert_equal "$(cat "$T/o/config.yaml")" "id: node-1"
	# Every poll asked for a long poll, got 425 at once, and backed off
	# instead of asking again in a tight loop.
	run -0 node_requests "$T/OWN.requests"
	assert_equal "${#lines[@]}" 4
	for n in 0 1 2 3; do
		assert_regex "${lines[$n]}" '^\?wait=[0-9]+$'
	done
	[ $(( ($(date +%s%N) - start) / 1000000 )) -ge 300 ]
}

@test "fetch: a long poll the server holds is asked again at once" {
	local start
	start_fake OWN "$T" --hold --node 425,200 \
	    --payload "$(vec payload.json)"
	start=$SECONDS
	run -0 cfgsync fetch -q --server "$OWN_URL" --id node-1 --ip 10.0.0.1 \
	    --out "$T/o" --poll-wait 1 --timeout 30
	run -0 node_requests "$T/OWN.requests"
	assert_equal "${lines[0]}" '?wait=1'
	assert_equal "${#lines[@]}" 2
	[ $((SECONDS - start)) -le 5 ]
}

@test "fetch: --poll-wait 0 sends plain polls" {
	start_fake OWN "$T" --node 425,200 --payload "$(vec payload.json)"
	run -0 cfgsync fetch -q --server "$OWN_URL" --id node-1 --ip 10.0.0.1 \
	    --out "$T/o" --poll-wait 0 --timeout 30
	run -0 node_requests "$T/OWN.requests"
	assert_output "$(printf '?\n?')"
}

@test "fetch: a 500 then 200 is retried" {
	start_fake OWN "$T" --node 500,200 --payload "$(vec payload.json)"
	run -0 --separate-stderr cfgsync fetch --server "$OWN_URL" \
	    --id node-1 --ip 10.0.0.1 --out "$T/o" --timeout 30
	assert_regex "$stderr" 'waiting: server error .*HTTP 500: the test server was told to fail'
	assert_equal "$(cat "$T/o/config.yaml")" "id: node-1"
	run -0 node_requests "$T/OWN.requests"
	assert_equal "${#lines[@]}" 2
}

@test "fetch: a 500 on /register is retried too" {
	start_fake OWN "$T" --register 500,202 --node 200 \
	    --payload "$(vec payload.json)"
	run -0 cfgsync fetch -q --server "$OWN_URL" --id node-1 --ip 10.0.0.1 \
	    --out "$T/o" --timeout 30
	assert [ -f "$T/o/config.yaml" ]
}

@test "fetch: a server error that persists exits 5 after --timeout" {
	start_fake OWN "$T" --node 500
	run -5 --separate-stderr cfgsync fetch --server "$OWN_URL" \
	    --id node-1 --ip 10.0.0.1 --out "$T/o" --timeout 1
	assert_regex "$stderr" 'gave up after 1 s: HTTP 500'
	assert [ ! -e "$T/o" ]
}

@test "fetch: no server at all exits 5 after --timeout" {
	local port
	port=$(free_port)
	run -5 --separate-stderr cfgsync fetch \
	    --server "http://127.0.0.1:$port" --id node-1 --ip 10.0.0.1 \
	    --out "$T/o" --timeout 1
	assert_regex "$stderr" 'waiting: server unreachable'
	assert [ ! -e "$T/o" ]
}

@test "fetch: a fetch started before the server comes up succeeds" {
	local port pid rc=0
	port=$(free_port)
	cfgsync fetch --server "http://127.0.0.1:$port" --id node-1 \
	    --ip 127.0.0.1 --out "$T/o" --timeout 30 \
	    >"$T/fetch.out" 2>"$T/fetch.err" 3>&- &
	pid=$!
	sleep 1
	kill -0 "$pid"
	assert [ ! -e "$T/o" ]
	start_server_raw OWN "$T" serve-bundle --listen "127.0.0.1:$port" \
	    --port-file "$T/OWN.port" "$FIXTURES/bundles/fetch.json"
	wait "$pid" || rc=$?
	assert_equal "$rc" 0
	assert_equal "$(cat "$T/o/config.yaml")" "id: node-1"
	run -0 grep -q 'waiting: server unreachable' "$T/fetch.err"
}

@test "fetch: a 1024-byte token gets the files; a 1025-byte one is exit 2 on either side" {
	# The longest token still leaves room in the server's request pool.
	head -c 1024 /dev/zero | tr '\0' t >"$T/token"
	echo >>"$T/token"
	printf 'node-1 %s\n' "$(head -c 1024 /dev/zero | tr '\0' n)" >"$T/nodes"
	start_server OWN "$T" serve-bundle --token-file "$T/token" \
	    --node-tokens "$T/nodes" "$FIXTURES/bundles/fetch.json"
	run -0 cfgsync fetch -q --server "$OWN_URL" --id node-1 \
	    --ip 127.0.0.1 --out "$T/o" --token-file "$T/token"
	assert_equal "$(cat "$T/o/config.yaml")" "id: node-1"
	cut -d' ' -f2 "$T/nodes" >"$T/node-token"
	run -0 cfgsync fetch -q --server "$OWN_URL" --id node-1 \
	    --ip 127.0.0.1 --out "$T/o2" --token-file "$T/node-token"
	assert_equal "$(cat "$T/o2/config.yaml")" "id: node-1"
	head -c 1025 /dev/zero | tr '\0' t >"$T/long"
	run -2 --separate-stderr cfgsync fetch --server "$OWN_URL" \
	    --id node-1 --ip 127.0.0.1 --out "$T/o3" --token-file "$T/long"
	assert_equal "$stderr" "cfgsync: fetch: token file $T/long: a token over 1024 bytes"
	assert [ ! -e "$T/o3" ]
	run -2 --separate-stderr cfgsync serve-bundle --listen 127.0.0.1:0 \
	    --token-file "$T/long" "$FIXTURES/bundles/fetch.json"
	assert_equal "$stderr" "cfgsync: serve-bundle: token file $T/long: a token over 1024 bytes"
	printf 'node-1 %s\n' "$(cat "$T/long")" >"$T/long-nodes"
	run -2 --separate-stderr cfgsync serve-bundle --listen 127.0.0.1:0 \
	    --node-tokens "$T/long-nodes" "$FIXTURES/bundles/fetch.json"
	assert_equal "$stderr" "cfgsync: serve-bundle: $T/long-nodes:1: node-1: token over 1024 bytes"
}

@test "fetch: --token-file works and its token never reaches the log" {
	local tok=fetch-t0ken-9f
	printf '%s\n' "$tok" >"$T/token"
	start_server OWN "$T" serve-bundle --token-file "$T/token" \
	    "$FIXTURES/bundles/fetch.json"
	run -0 cfgsync fetch -q --server "$OWN_URL" --id node-1 \
	    --ip 127.0.0.1 --out "$T/o" --token-file "$T/token"
	assert_equal "$(cat "$T/o/config.yaml")" "id: node-1"
	run -5 --separate-stderr cfgsync fetch --server "$OWN_URL" \
	    --id node-1 --ip 127.0.0.1 --out "$T/o2" --timeout 5
	assert_regex "$stderr" 'HTTP 401'
	assert [ ! -e "$T/o2" ]
	run -1 grep -F "$tok" "$T/OWN.log"
}

@test "fetch: a payload path that escapes --out exits 7 and writes nothing" {
	start_fake OWN "$T" --node 200 \
	    --payload "$FIXTURES/bundles/escape-payload.json"
	mkdir "$T/base"
	run -7 --separate-stderr cfgsync fetch --server "$OWN_URL" \
	    --id node-1 --ip 10.0.0.1 --out "$T/base/o"
	assert_regex "$stderr" '\.\./x'
	assert [ ! -e "$T/base/o" ]
	assert [ ! -e "$T/base/x" ]
	assert [ ! -e "$T/x" ]
}

@test "fetch: a payload that is not JSON or has bad files exits 7" {
	printf 'not json' >"$T/bad1"
	start_fake OWN "$T" --node 200 --payload "$T/bad1"
	run -7 cfgsync fetch -q --server "$OWN_URL" --id n --ip 10.0.0.1 \
	    --out "$T/o" --timeout 5
	stop_server OWN
	printf '{"files":[{"path":"a","content":"x"},{"path":"/a","content":"y"}]}' \
	    >"$T/bad2"
	start_fake OWN "$T" --node 200 --payload "$T/bad2"
	run -7 cfgsync fetch -q --server "$OWN_URL" --id n --ip 10.0.0.1 \
	    --out "$T/o" --timeout 5
	assert [ ! -e "$T/o" ]
}

@test "fetch: a sha256 mismatch refuses the whole set" {
	printf '%s' '{"schema_version":1,"files":[{"path":"a","content":"x"},{"path":"b","content":"abc","sha256":"0000000000000000000000000000000000000000000000000000000000000000"}]}' \
	    >"$T/payload.json"
	start_fake OWN "$T" --node 200 --payload "$T/payload.json"
	run -7 --separate-stderr cfgsync fetch --server "$OWN_URL" --id n \
	    --ip 10.0.0.1 --out "$T/o"
	assert_regex "$stderr" 'sha256 mismatch'
	assert [ ! -e "$T/o/a" ]
	# --print refuses it too: nothing reaches stdout.
	run -7 --separate-stderr cfgsync fetch --server "$OWN_URL" --id n \
	    --ip 10.0.0.1 --print
	assert_equal "$output" ""
}

@test "fetch: a symlink inside --out pointing outside is not followed" {
	mkdir -p "$T/o" "$T/outside"
	ln -s "$T/outside" "$T/o/link"
	run -6 --separate-stderr cfgsync fetch --server "$SB_URL" --id linked \
	    --ip 127.0.0.1 --out "$T/o"
	assert_regex "$stderr" '^cfgsync: fetch: .*link'
	run -0 find "$T/outside" -mindepth 1
	assert_output ""
	assert [ -L "$T/o/link" ]
	assert [ ! -e "$T/o/deployment-settings.yaml" ]
	no_temporaries "$T"
}

@test "fetch: a symlink in place of a file is replaced, not written through" {
	mkdir -p "$T/o" "$T/outside"
	printf 'precious\n' >"$T/outside/target"
	ln -s "$T/outside/target" "$T/o/config.yaml"
	run -0 cfgsync fetch -q --server "$SB_URL" --id node-2 \
	    --ip 127.0.0.1 --out "$T/o"
	assert_equal "$(cat "$T/outside/target")" precious
	assert [ ! -L "$T/o/config.yaml" ]
	assert_equal "$(cat "$T/o/config.yaml")" "id: node-2"
}

@test "fetch: a failure in mid-write leaves no temporary and no partial set" {
	# z/target is a directory, so the third file cannot be written after
	# the first two are staged.
	mkdir -p "$T/o/z/target"
	printf 'old a\n' >"$T/o/a.txt"
	run -6 --separate-stderr cfgsync fetch --server "$SB_URL" --id multi \
	    --ip 127.0.0.1 --out "$T/o"
	assert_regex "$stderr" '^cfgsync: fetch: write .*z/target: is a directory'
	assert_equal "$(cat "$T/o/a.txt")" "old a"
	assert [ ! -e "$T/o/sub" ]
	assert [ ! -e "$T/o/deployment-settings.yaml" ]
	no_temporaries "$T/o"
	run -0 find "$T/o" -mindepth 1
	assert_equal "$(printf '%s\n' "${lines[@]}" | sort | tr '\n' ' ')" \
	    "$T/o/a.txt $T/o/z $T/o/z/target "
}

@test "fetch: a file where a directory is needed fails cleanly" {
	mkdir -p "$T/o"
	printf 'old a\n' >"$T/o/a.txt"
	printf 'i am a file\n' >"$T/o/sub"
	run -6 --separate-stderr cfgsync fetch --server "$SB_URL" --id multi \
	    --ip 127.0.0.1 --out "$T/o"
	assert_regex "$stderr" 'sub'
	assert_equal "$(cat "$T/o/a.txt")" "old a"
	assert_equal "$(cat "$T/o/sub")" "i am a file"
	assert [ ! -e "$T/o/z" ]
	no_temporaries "$T/o"
}

@test "fetch: a directory it may not write in fails cleanly" {
	mkdir -p "$T/o/locked"
	printf 'old a\n' >"$T/o/a.txt"
	chattr +i "$T/o/locked" 2>/dev/null ||
	    skip "chattr +i does not work here"
	LOCKED=$T/o/locked
	if touch "$T/o/locked/probe" 2>/dev/null; then
		skip "an immutable directory is still writable here"
	fi
	run -6 --separate-stderr cfgsync fetch --server "$SB_URL" --id locked \
	    --ip 127.0.0.1 --out "$T/o"
	assert_regex "$stderr" '^cfgsync: fetch: create .*locked/'
	assert_equal "$(cat "$T/o/a.txt")" "old a"
	run -0 find "$T/o/locked" -mindepth 1
	assert_output ""
	assert [ ! -e "$T/o/deployment-settings.yaml" ]
	no_temporaries "$T/o"
}

@test "fetch: --out that cannot be made exits 6" {
	printf 'file\n' >"$T/f"
	run -6 --separate-stderr cfgsync fetch --server "$SB_URL" --id node-1 \
	    --ip 127.0.0.1 --out "$T/f/o"
	assert_regex "$stderr" '^cfgsync: fetch: mkdir '
}

@test "fetch: without --out relative paths land under the working directory" {
	mkdir "$T/cwd"
	run -0 bash -c 'cd "$1" && shift && exec "$@"' _ "$T/cwd" \
	    cfgsync fetch -q --server "$SB_URL" --id rel --ip 127.0.0.1
	assert_equal "$(cat "$T/cwd/rel/r.txt")" r
	assert_equal "$(cat "$T/cwd/deployment-settings.yaml")" "mode: local"
}

@test "fetch: bad flags and operands are usage errors" {
	run -2 --separate-stderr cfgsync fetch --server "$SB_URL" --out ''
	run -2 --separate-stderr cfgsync fetch --server "$SB_URL" --timeout x
	run -2 --separate-stderr cfgsync fetch --server "$SB_URL" --timeout -1
	run -2 --separate-stderr cfgsync fetch --server "$SB_URL" \
	    --poll-wait 61
	run -2 --separate-stderr cfgsync fetch --server "$SB_URL" \
	    --id node-1 --ip 127.0.0.1 stray
	assert_regex "$stderr" 'a command goes after --'
	run -2 --separate-stderr cfgsync fetch --server "$SB_URL" \
	    --id node-1 --ip 1.2.3
	run -2 --separate-stderr cfgsync fetch --server "$SB_URL" \
	    --id a/b --ip 127.0.0.1
	run -2 --separate-stderr cfgsync fetch --server nope --id node-1 \
	    --ip 127.0.0.1
}

@test "fetch: three nodes fetching at once each get their own files" {
	local id pids=
	for id in node-1 node-2 rel; do
		cfgsync fetch -q --server "$SB_URL" --id "$id" --ip 127.0.0.1 \
		    --out "$T/$id" >/dev/null 2>&1 3>&- &
		pids="$pids $!"
	done
	for id in $pids; do
		wait "$id"
	done
	assert_equal "$(cat "$T/node-1/config.yaml")" "id: node-1"
	assert_equal "$(cat "$T/node-2/config.yaml")" "id: node-2"
	assert_equal "$(cat "$T/rel/rel/r.txt")" r
}

@test "fetch: works against a server on IPv6 loopback" {
	ip -6 addr show lo 2>/dev/null | grep -q '::1' ||
	    skip "no IPv6 loopback here"
	start_server_raw OWN "$T" serve-bundle --listen '[::1]:0' \
	    --port-file "$T/OWN.port" "$FIXTURES/bundles/fetch.json"
	run -0 cfgsync fetch -q --server "http://[::1]:$OWN_PORT" \
	    --id node-2 --out "$T/o"
	assert_equal "$(cat "$T/o/config.yaml")" "id: node-2"
	run -0 grep -F "listening on http://[::1]:$OWN_PORT" "$T/OWN.log"
}

@test "fetch: a rename that fails after others rolls every file back" {
	local T=$BATS_TEST_TMPDIR
	mkdir -p "$T/o"
	echo old-a >"$T/o/a"
	echo old-b >"$T/o/b"
	chattr +i "$T/o/b" 2>/dev/null ||
	    skip "no immutable attribute on this file system"
	printf '%s' '{"nodes":[{"identifier":"n1","files":[{"path":"c","content":"new-c\n"},{"path":"a","content":"new-a\n"},{"path":"b","content":"new-b\n"}]}]}' >"$T/b.json"
	start_server OWN "$T" serve-bundle "$T/b.json"
	run -6 --separate-stderr cfgsync fetch --server "$OWN_URL" --id n1 \
	    --ip 10.0.0.1 --out "$T/o" --timeout 5
	chattr -i "$T/o/b"
	stop_server OWN
	assert_regex "$stderr" 'rename .*/o/b: Operation not permitted'
	assert_equal "$(cat "$T/o/a")" old-a
	assert_equal "$(cat "$T/o/b")" old-b
	assert [ ! -e "$T/o/c" ]
	no_temporaries "$T/o"
}

@test "fetch: a payload asking for a set-uid or sticky mode exits 7 and writes nothing" {
	local T=$BATS_TEST_TMPDIR m
	for m in 4755 2755 1777; do
		printf '{"schema_version":1,"files":[{"path":"bin/sh","content":"#!/bin/sh\\n","mode":"%s","owner":"0"}]}' \
		    "$m" >"$T/p.json"
		start_fake OWN "$T" --node 200 --payload "$T/p.json"
		run -7 --separate-stderr cfgsync fetch --server "$OWN_URL" \
		    --id n1 --ip 10.0.0.1 --out "$T/o" --timeout 5
		stop_server OWN
		assert_regex "$stderr" "mode $m: set-id and sticky bits are refused"
		assert [ ! -e "$T/o" ]
	done
}

@test "fetch: a payload over --max-payload exits 7 at once instead of retrying" {
	python3 -c 'import json; print(json.dumps({"schema_version": 1, "files": [{"path": "big", "content": "x" * 5000}]}))' \
	    >"$T/big.json"
	start_fake OWN "$T" --node 200 --payload "$T/big.json"
	SECONDS=0
	run -7 --separate-stderr cfgsync fetch --server "$OWN_URL" --id n \
	    --ip 10.0.0.1 --out "$T/o" --max-payload 1024 --timeout 30
	[ "$SECONDS" -lt 10 ]
	assert_regex "$stderr" 'answer over 1024 bytes'
	assert [ ! -e "$T/o" ]
}

@test "fetch: a payload of 1500 directories installs under a soft limit of 1024 open files" {
	python3 -c 'import json, sys
json.dump({"nodes": [{"identifier": "n1", "files": [
    {"path": "d%d/f" % i, "content": "%d\n" % i} for i in range(1500)]}]},
    open(sys.argv[1], "w"))' "$T/many.json"
	start_server OWN "$T" serve-bundle "$T/many.json"
	run -0 --separate-stderr bash -c 'ulimit -Sn 1024 &&
	    exec cfgsync fetch -q --server "$1" --id n1 --ip 10.0.0.1 --out "$2"' \
	    _ "$OWN_URL" "$T/o"
	stop_server OWN
	assert_equal "$(cat "$T/o/d1499/f")" 1499
	assert_equal "$(find "$T/o" -type f | wc -l)" 1500
}

@test "fetch: over HTTPS with --cacert; an untrusted certificate exits 5" {
	openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/key.pem" \
	    -out "$T/cert.pem" -days 2 -subj /CN=127.0.0.1 \
	    -addext "subjectAltName=IP:127.0.0.1" 2>/dev/null
	start_server TLS "$T" serve-bundle --tls-cert "$T/cert.pem" \
	    --tls-key "$T/key.pem" "$(vec bundle.json)"
	url="https://127.0.0.1:$TLS_PORT"
	assert_regex "$(cat "$T/TLS.log")" "listening on $url"
	run -0 --separate-stderr cfgsync fetch --server "$url" --id node-1 \
	    --ip 10.0.0.1 --cacert "$T/cert.pem" --print
	echo "$output" >"$T/p.json"
	json_eq "$T/p.json" "$(vec payload.json)"
	run -5 --separate-stderr cfgsync fetch --server "$url" --id node-1 \
	    --ip 10.0.0.1 --print --timeout 2
	assert_regex "$stderr" 'SSL certificate problem'
	assert_equal "$output" ""
	run -2 --separate-stderr cfgsync serve-bundle --listen 127.0.0.1:0 \
	    --tls-cert "$T/cert.pem" "$(vec bundle.json)"
	assert_regex "$stderr" 'tls-cert and --tls-key go together'
	stop_server TLS
}

@test "fetch: --pin trusts the server's key without a CA file; a wrong pin is final" {
	local pin other start
	openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/key.pem" \
	    -out "$T/cert.pem" -days 2 -subj /CN=elsewhere 2>/dev/null
	openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/k2.pem" \
	    -out "$T/c2.pem" -days 2 -subj /CN=other 2>/dev/null
	start_server TLS "$T" serve-bundle --tls-cert "$T/cert.pem" \
	    --tls-key "$T/key.pem" "$(vec bundle.json)"
	run -0 --separate-stderr cfgsync pin "$T/cert.pem"
	pin=$output
	assert_regex "$pin" '^sha256//[A-Za-z0-9+/]{43}=$'
	# The same pin as openssl computes, and the one the server announces.
	assert_equal "$pin" "sha256//$(openssl x509 -in "$T/cert.pem" -pubkey -noout |
	    openssl pkey -pubin -outform der | openssl dgst -sha256 -binary |
	    openssl base64)"
	run -0 grep -qF "(key pin $pin)" "$T/TLS.log"
	# Neither the name nor a CA matters: the key does.
	run -0 cfgsync fetch -q --server "https://127.0.0.1:$TLS_PORT" \
	    --id node-1 --ip 10.0.0.1 --pin "$pin" --print
	other=$(cfgsync pin "$T/c2.pem")
	start=$SECONDS
	run -5 --separate-stderr cfgsync fetch --server "https://127.0.0.1:$TLS_PORT" \
	    --id node-1 --ip 10.0.0.1 --pin "$other" --print --timeout 30
	assert [ $((SECONDS - start)) -lt 10 ]
	stop_server TLS
	run -2 cfgsync fetch --pin sha256//short --print
	run -2 --separate-stderr cfgsync fetch --cacert "$T/no-such-ca.pem" --print
	assert_regex "$stderr" 'cacert .*no-such-ca.pem: No such file'
	run -2 cfgsync pin "$T/missing.pem"
	printf 'not a cert\n' >"$T/junk.pem"
	run -7 cfgsync pin "$T/junk.pem"
}

@test "fetch: LOGOS_BLOCKCHAIN_CFGSYNC_PORT gives the default server's port" {
	LOGOS_BLOCKCHAIN_CFGSYNC_PORT=$SB_PORT run -0 cfgsync fetch -q \
	    --id node-2 --ip 127.0.0.1 --out "$T/o"
	assert_equal "$(cat "$T/o/config.yaml")" "id: node-2"
	# CFG_SERVER_ADDR wins over it.
	CFG_SERVER_ADDR=$SB_URL LOGOS_BLOCKCHAIN_CFGSYNC_PORT=1 run -0 \
	    cfgsync fetch -q --id node-2 --ip 127.0.0.1 --out "$T/p"
}

@test "fetch: run as cfgsync-client, the binary is fetch" {
	mkdir -p "$T/bin"
	ln -s "$TOP/cfgsync" "$T/bin/cfgsync-client"
	CFG_SERVER_ADDR=$SB_URL CFG_HOST_IDENTIFIER=node-2 CFG_HOST_IP=127.0.0.1 \
	    CFG_FILE_PATH=$T/etc/node.yaml run -0 --separate-stderr \
	    "$T/bin/cfgsync-client" --out "$T/o"
	assert_equal "$(cat "$T/etc/node.yaml")" "id: node-2"
	run -3 "$T/bin/cfgsync-client" --server "$SB_URL" --id ghost \
	    --ip 127.0.0.1 --out "$T/q"
}
