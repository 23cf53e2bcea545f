bats_require_minimum_version 1.5.0

load helpers

# One server for the whole file, on the wire vectors' bundle; tests that
# reload, stop or configure a server start their own.
setup_file() {
	start_server SB "$BATS_FILE_TMPDIR" serve-bundle "$(vec bundle.json)"
}

teardown_file() {
	stop_server SB
}

teardown() {
	stop_server OWN || true
}

# post PATH FILE: POSTs the JSON in FILE to the shared server.
post() {
	req POST "$SB_URL$1" -H 'Content-Type: application/json' \
	    --data-binary "@$2"
}

# post_text PATH TEXT: POSTs TEXT as the body.
post_text() {
	printf '%s' "$2" >"$BATS_TEST_TMPDIR/req.json"
	post "$1" "$BATS_TEST_TMPDIR/req.json"
}

# refused STATUS CODE PATH TEXT: the body is refused with STATUS and an
# error document of CODE, and the server still answers.
refused() {
	post_text "$3" "$4"
	assert_equal "$STATUS" "$1"
	assert_error_doc "$BATS_TEST_TMPDIR/body" "$2"
	assert_healthy "$SB_URL"
}

# raw_send PORT TEXT: sends TEXT (printf escapes) on a raw connection to
# 127.0.0.1:PORT and reads the answer, for what curl cannot send.
raw_send() {
	python3 - "$1" "$(printf "$2")" <<-'PY'
	import socket, sys
	s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), 5)
	s.settimeout(5)
	s.sendall(sys.argv[2].encode())
	try:
	    while s.recv(4096):
	        pass
	except OSError:
	    pass
	s.close()
	PY
}

# assert_json_log FILE: every line of FILE is one JSON object, and none
# holds HTML.
assert_json_log() {
	local line
	while IFS= read -r line; do
		printf '%s\n' "$line" | jq -e 'type == "object"' >/dev/null \
		    2>&1 || fail "not a JSON log line: $line"
	done <"$1"
	[ -s "$1" ] || fail "empty log $1"
	run -1 grep -i -e '<html' -e '<body' -e '<b>' "$1"
}

# assert_prom_families FILE: every sample in FILE follows a HELP and a
# TYPE line for its family.
assert_prom_families() {
	run -0 awk '
	/^# HELP / { help[$3] = 1; next }
	/^# TYPE / { type[$3] = $4; next }
	/^#/ || /^$/ { next }
	{
		name = $1; sub(/\{.*/, "", name); fam = name
		if (!(fam in type)) sub(/_(bucket|sum|count)$/, "", fam)
		if (!(fam in help) || !(fam in type)) {
			print "no HELP or TYPE for " name; bad = 1
		}
	}
	END { exit bad }' "$1"
}

@test "serve-bundle: prints where it listens and writes the port file" {
	assert_regex "$(cat "$BATS_FILE_TMPDIR/SB.log")" \
	    "cfgsync: serve-bundle: listening on http://127\.0\.0\.1:$SB_PORT"
	assert_regex "$(cat "$BATS_FILE_TMPDIR/SB.port")" '^[0-9]+$'
	assert_equal "$(cat "$BATS_FILE_TMPDIR/SB.out")" ""
}

@test "serve-bundle: GET /healthz answers {\"status\":\"ok\"}" {
	req GET "$SB_URL/healthz"
	assert_equal "$STATUS" 200
	printf '{"status":"ok"}' >"$BATS_TEST_TMPDIR/want"
	json_eq "$BATS_TEST_TMPDIR/body" "$BATS_TEST_TMPDIR/want"
}

@test "serve-bundle: /node for registration.json is payload.json" {
	post /node "$(vec registration.json)"
	assert_equal "$STATUS" 200
	json_eq "$BATS_TEST_TMPDIR/body" "$(vec payload.json)"
}

@test "serve-bundle: node files come before shared files" {
	post /node "$(vec registration.json)"
	run -0 jq -r '.files[].path' "$BATS_TEST_TMPDIR/body"
	assert_output "$(printf '/config.yaml\ndeployment-settings.yaml')"
}

@test "serve-bundle: /node answers the minimal registration vector" {
	post /node "$(vec registration-minimal.json)"
	assert_equal "$STATUS" 200
	run -0 jq -c . "$BATS_TEST_TMPDIR/body"
	assert_output '{"schema_version":1,"files":[{"path":"/config.yaml","content":"id: node-2\n"},{"path":"deployment-settings.yaml","content":"mode: local\n"}]}'
}

@test "serve-bundle: /node without a prior /register works" {
	start_server OWN "$BATS_TEST_TMPDIR" serve-bundle "$(vec bundle.json)"
	req POST "$OWN_URL/node" --data-binary "@$(vec registration.json)"
	assert_equal "$STATUS" 200
	json_eq "$BATS_TEST_TMPDIR/body" "$(vec payload.json)"
	run -1 grep -q ' /register ' "$BATS_TEST_TMPDIR/OWN.log"
}

@test "serve-bundle: /init-with-node is an alias of /node" {
	post /init-with-node "$(vec registration.json)"
	assert_equal "$STATUS" 200
	json_eq "$BATS_TEST_TMPDIR/body" "$(vec payload.json)"
}

@test "serve-bundle: /register answers 202 with an empty body" {
	post /register "$(vec registration.json)"
	assert_equal "$STATUS" 202
	assert_equal "$(cat "$BATS_TEST_TMPDIR/body")" ""
	post /register "$(vec registration-minimal.json)"
	assert_equal "$STATUS" 202
}

@test "serve-bundle: re-registering is accepted" {
	post /register "$(vec registration.json)"
	assert_equal "$STATUS" 202
	post /register "$(vec registration.json)"
	assert_equal "$STATUS" 202
	post_text /register '{"identifier":"node-1","ip":"10.0.0.9"}'
	assert_equal "$STATUS" 202
}

@test "serve-bundle: unknown identifier on /node is 404 missing_config" {
	post_text /node '{"identifier":"node-9","ip":"10.0.0.9"}'
	assert_equal "$STATUS" 404
	json_eq "$BATS_TEST_TMPDIR/body" "$(vec error-missing-config.json)"
}

@test "serve-bundle: unknown identifier on /register is 404 missing_config" {
	post_text /register '{"identifier":"node-9","ip":"10.0.0.9"}'
	assert_equal "$STATUS" 404
	json_eq "$BATS_TEST_TMPDIR/body" "$(vec error-missing-config.json)"
}

@test "serve-bundle: unknown identifier on /init-with-node is 404" {
	post_text /init-with-node '{"identifier":"node-9","ip":"10.0.0.9"}'
	assert_equal "$STATUS" 404
	assert_error_doc "$BATS_TEST_TMPDIR/body" missing_config
}

@test "serve-bundle: unknown fields and IPv6 addresses are accepted" {
	post_text /node '{"identifier":"node-1","ip":"fe80::1","extra":[1],"metadata":{"a":1.50}}'
	assert_equal "$STATUS" 200
	json_eq "$BATS_TEST_TMPDIR/body" "$(vec payload.json)"
}

@test "serve-bundle: ?wait= on a ready node answers at once" {
	post "/node?wait=5" "$(vec registration.json)"
	assert_equal "$STATUS" 200
	json_eq "$BATS_TEST_TMPDIR/body" "$(vec payload.json)"
}

@test "serve-bundle: malformed JSON is 400 bad_request" {
	refused 400 bad_request /node '{"identifier":'
	refused 400 bad_request /node '{"identifier":"node-1","ip":"10.0.0.1"'
	refused 400 bad_request /node 'not json'
	refused 400 bad_request /node '{"identifier":"node-1","ip":"10.0.0.1"} x'
	refused 400 bad_request /register '{"identifier":"node-1",}'
	refused 400 bad_request /node '[]'
	refused 400 bad_request /node '"node-1"'
}

@test "serve-bundle: an empty body is 400 bad_request" {
	refused 400 bad_request /node ''
	refused 400 bad_request /register ''
	refused 400 bad_request /init-with-node ''
}

@test "serve-bundle: missing fields are 400 bad_request" {
	refused 400 bad_request /node '{}'
	refused 400 bad_request /node '{"identifier":"node-1"}'
	refused 400 bad_request /node '{"ip":"10.0.0.1"}'
	refused 400 bad_request /register '{"ip":"10.0.0.1"}'
}

@test "serve-bundle: wrong-typed fields are 400 bad_request" {
	refused 400 bad_request /node '{"identifier":1,"ip":"10.0.0.1"}'
	refused 400 bad_request /node '{"identifier":["node-1"],"ip":"10.0.0.1"}'
	refused 400 bad_request /node '{"identifier":"node-1","ip":10}'
	refused 400 bad_request /node '{"identifier":"node-1","ip":null}'
	refused 400 bad_request /register '{"identifier":{},"ip":"10.0.0.1"}'
}

@test "serve-bundle: an identifier with / is 400 bad_request" {
	refused 400 bad_request /node '{"identifier":"node-1/x","ip":"10.0.0.1"}'
	refused 400 bad_request /node '{"identifier":"../node-1","ip":"10.0.0.1"}'
	refused 400 bad_request /register '{"identifier":"/","ip":"10.0.0.1"}'
}

@test "serve-bundle: an identifier with control bytes is 400 bad_request" {
	refused 400 bad_request /node '{"identifier":"node\u0001","ip":"10.0.0.1"}'
	refused 400 bad_request /node '{"identifier":"node\n1","ip":"10.0.0.1"}'
	refused 400 bad_request /node '{"identifier":"node\u0000-1","ip":"10.0.0.1"}'
	refused 400 bad_request /node "$(printf '{"identifier":"node\0331","ip":"10.0.0.1"}')"
	# Nothing of the bad identifier reaches the log raw.
	run -1 grep -q "$(printf '\033')" "$BATS_FILE_TMPDIR/SB.log"
}

@test "serve-bundle: . and .. are not identifiers" {
	refused 400 bad_request /node '{"identifier":".","ip":"10.0.0.1"}'
	refused 400 bad_request /node '{"identifier":"..","ip":"10.0.0.1"}'
	refused 400 bad_request /node '{"identifier":"","ip":"10.0.0.1"}'
}

@test "serve-bundle: a 256-byte identifier is 400, 255 bytes is 404" {
	local id255 id256
	id255=$(printf 'a%.0s' $(seq 1 255))
	id256="${id255}a"
	refused 400 bad_request /node "{\"identifier\":\"$id256\",\"ip\":\"10.0.0.1\"}"
	post_text /node "{\"identifier\":\"$id255\",\"ip\":\"10.0.0.1\"}"
	assert_equal "$STATUS" 404
	assert_error_doc "$BATS_TEST_TMPDIR/body" missing_config
}

@test "serve-bundle: a bad IP is 400 bad_request" {
	local ip
	for ip in 1.2.3 256.1.1.1 x1.2.3.4 "1.2.3.4 " "" localhost 1.2.3.4/24 \
	    ":::1"; do
		refused 400 bad_request /node \
		    "{\"identifier\":\"node-1\",\"ip\":\"$ip\"}"
	done
}

@test "serve-bundle: a body over the cap is 413 (Content-Length)" {
	head -c 70000 /dev/zero | tr '\0' ' ' >"$BATS_TEST_TMPDIR/big"
	post /node "$BATS_TEST_TMPDIR/big"
	assert_equal "$STATUS" 413
	assert_error_doc "$BATS_TEST_TMPDIR/body" payload_too_large
	assert_healthy "$SB_URL"
}

@test "serve-bundle: a body over the cap is 413 (chunked upload)" {
	head -c 70000 /dev/zero | tr '\0' ' ' >"$BATS_TEST_TMPDIR/big"
	req POST "$SB_URL/node" -H 'Transfer-Encoding: chunked' \
	    --data-binary "@$BATS_TEST_TMPDIR/big"
	assert_equal "$STATUS" 413
	assert_error_doc "$BATS_TEST_TMPDIR/body" payload_too_large
	assert_healthy "$SB_URL"
}

@test "serve-bundle: a chunked body under the cap is served" {
	req POST "$SB_URL/node" -H 'Transfer-Encoding: chunked' \
	    --data-binary "@$(vec registration.json)"
	assert_equal "$STATUS" 200
	json_eq "$BATS_TEST_TMPDIR/body" "$(vec payload.json)"
}

@test "serve-bundle: --max-body sets the cap" {
	start_server OWN "$BATS_TEST_TMPDIR" serve-bundle --max-body 64 \
	    "$(vec bundle.json)"
	req POST "$OWN_URL/node" --data-binary "@$(vec registration.json)"
	assert_equal "$STATUS" 413
	req POST "$OWN_URL/node" --data-binary \
	    '{"identifier":"node-1","ip":"10.0.0.1"}'
	assert_equal "$STATUS" 200
}

@test "serve-bundle: a wrong method is 405" {
	local m
	for m in GET PUT DELETE; do
		req "$m" "$SB_URL/node"
		assert_equal "$STATUS" 405
		assert_error_doc "$BATS_TEST_TMPDIR/body" method_not_allowed
	done
	req GET "$SB_URL/register"
	assert_equal "$STATUS" 405
	req POST "$SB_URL/healthz" --data-binary '{}'
	assert_equal "$STATUS" 405
	assert_healthy "$SB_URL"
}

@test "serve-bundle: an unknown route is 404 not_found" {
	req GET "$SB_URL/nope"
	assert_equal "$STATUS" 404
	assert_error_doc "$BATS_TEST_TMPDIR/body" not_found
	post /nodes "$(vec registration.json)"
	assert_equal "$STATUS" 404
	assert_error_doc "$BATS_TEST_TMPDIR/body" not_found
	req GET "$SB_URL/"
	assert_equal "$STATUS" 404
	assert_healthy "$SB_URL"
}

@test "serve-bundle: ?wait= that is not a number is 400" {
	local w
	for w in abc -1 1x "" 0x10; do
		post "/node?wait=$w" "$(vec registration.json)"
		assert_equal "$STATUS" 400
		assert_error_doc "$BATS_TEST_TMPDIR/body" bad_request
	done
	assert_healthy "$SB_URL"
}

@test "serve-bundle: the log has one line per request with its identifier" {
	post /node "$(vec registration.json)"
	run -0 grep -E ' POST /node 200 [0-9]+ [0-9.]+ms node-1$' \
	    "$BATS_FILE_TMPDIR/SB.log"
}

@test "serve-bundle: a bundle with ../ paths exits 7 at start" {
	run -7 --separate-stderr cfgsync serve-bundle --listen 127.0.0.1:0 \
	    "$FIXTURES/bundles/dotdot.json"
	assert_regex "$stderr" '^cfgsync: serve-bundle: .*\.\./escape\.yaml'
	assert_equal "$output" ""
}

@test "serve-bundle: a bundle with duplicate paths exits 7 at start" {
	run -7 --separate-stderr cfgsync serve-bundle --listen 127.0.0.1:0 \
	    "$FIXTURES/bundles/dup-path.json"
	assert_regex "$stderr" 'node node-1.*duplicate path config\.yaml'
	run -7 --separate-stderr cfgsync serve-bundle --listen 127.0.0.1:0 \
	    "$FIXTURES/bundles/dup-shared.json"
	assert_regex "$stderr" 'node node-1.*duplicate path settings\.yaml'
}

@test "serve-bundle: a bundle with duplicate identifiers exits 7 at start" {
	run -7 --separate-stderr cfgsync serve-bundle --listen 127.0.0.1:0 \
	    "$FIXTURES/bundles/dup-id.json"
	assert_regex "$stderr" 'node-1: duplicate identifier'
}

@test "serve-bundle: a bad identifier or bad JSON in the bundle exits 7" {
	run -7 --separate-stderr cfgsync serve-bundle --listen 127.0.0.1:0 \
	    "$FIXTURES/bundles/bad-id.json"
	assert_regex "$stderr" 'identifier'
	run -7 --separate-stderr cfgsync serve-bundle --listen 127.0.0.1:0 \
	    "$FIXTURES/bundles/bad-json.json"
	printf 'not a bundle\n' >"$BATS_TEST_TMPDIR/text"
	run -7 --separate-stderr cfgsync serve-bundle --listen 127.0.0.1:0 \
	    "$BATS_TEST_TMPDIR/text"
}

@test "serve-bundle: a missing bundle file exits 2" {
	run -2 --separate-stderr cfgsync serve-bundle --listen 127.0.0.1:0 \
	    "$BATS_TEST_TMPDIR/none.json"
	assert_regex "$stderr" '^cfgsync: serve-bundle: .*none\.json'
}

@test "serve-bundle: no BUNDLE or two are usage errors" {
	run -2 --separate-stderr cfgsync serve-bundle
	assert_regex "$stderr" 'usage: cfgsync serve-bundle'
	run -2 --separate-stderr cfgsync serve-bundle a.json b.json
}

@test "serve-bundle: a bad --listen exits 2" {
	run -2 --separate-stderr cfgsync serve-bundle --listen nope \
	    "$(vec bundle.json)"
	run -2 --separate-stderr cfgsync serve-bundle --listen 127.0.0.1:x \
	    "$(vec bundle.json)"
}

@test "serve-bundle: SIGTERM stops it with exit 0" {
	local rc=0
	start_server OWN "$BATS_TEST_TMPDIR" serve-bundle "$(vec bundle.json)"
	assert_healthy "$OWN_URL"
	stop_server OWN || rc=$?
	assert_equal "$rc" 0
	OWN_PID=
	run -0 grep -q 'stopping' "$BATS_TEST_TMPDIR/OWN.log"
}

@test "serve-bundle: SIGINT stops it with exit 0" {
	local rc=0 i
	start_server OWN "$BATS_TEST_TMPDIR" serve-bundle "$(vec bundle.json)"
	kill -INT "$OWN_PID"
	for i in $(seq 1 100); do
		kill -0 "$OWN_PID" 2>/dev/null || break
		sleep 0.05
	done
	wait "$OWN_PID" || rc=$?
	OWN_PID=
	assert_equal "$rc" 0
}

@test "serve-bundle: SIGHUP with a broken bundle keeps serving the old one" {
	local b=$BATS_TEST_TMPDIR/live.json
	cp "$(vec bundle.json)" "$b"
	start_server OWN "$BATS_TEST_TMPDIR" serve-bundle "$b"
	cp "$FIXTURES/bundles/dotdot.json" "$b"
	kill -HUP "$OWN_PID"
	for i in $(seq 1 100); do
		grep -q 'reload refused' "$BATS_TEST_TMPDIR/OWN.log" && break
		sleep 0.05
	done
	run -0 grep 'reload refused, keeping the old bundle' \
	    "$BATS_TEST_TMPDIR/OWN.log"
	req POST "$OWN_URL/node" --data-binary "@$(vec registration.json)"
	assert_equal "$STATUS" 200
	json_eq "$BATS_TEST_TMPDIR/body" "$(vec payload.json)"
	printf '{"nodes":[' >"$b"
	kill -HUP "$OWN_PID"
	for i in $(seq 1 100); do
		[ "$(grep -c 'reload refused' "$BATS_TEST_TMPDIR/OWN.log")" -ge 2 ] &&
		    break
		sleep 0.05
	done
	req POST "$OWN_URL/node" --data-binary "@$(vec registration.json)"
	assert_equal "$STATUS" 200
	req GET "$OWN_URL/metrics"
	run -0 grep -F 'cfgsync_bundle_reloads_total{outcome="refused"} 2' \
	    "$BATS_TEST_TMPDIR/body"
}

# assert_peak FILE MIB: the peak RSS `/usr/bin/time -f %M -o FILE` wrote
# (KiB, its last line) is under MIB MiB.
assert_peak() {
	local kb
	kb=$(tail -n 1 "$1")
	[[ $kb =~ ^[0-9]+$ ]] || fail "no peak RSS in $1: $kb"
	((kb < $2 * 1024)) || fail "peak RSS $kb KiB: over $2 MiB"
}

@test "serve-bundle: a 1.2 MB gzip bomb is refused at start in under 300 MB" {
	local t=$BATS_TEST_TMPDIR
	python3 "$FIXTURES/craft.py" bomb "$t/bomb.tar.gz" 60000000 20
	run -7 --separate-stderr timeout 60 /usr/bin/time -f %M -o "$t/rss" \
	    cfgsync serve-bundle --listen 127.0.0.1:0 "$t/bomb.tar.gz"
	assert_regex "$stderr" "^cfgsync: serve-bundle: $t/bomb.tar.gz: nodes/n1/zeros17: over the limit of 1073741824 bytes in all\$"
	assert_peak "$t/rss" 300
	# --max-total-size: refused at the member that passes it.
	run -7 --separate-stderr timeout 60 /usr/bin/time -f %M -o "$t/rss" \
	    cfgsync serve-bundle --listen 127.0.0.1:0 \
	    --max-total-size 100000000 "$t/bomb.tar.gz"
	assert_regex "$stderr" 'nodes/n1/zeros1: over the limit of 100000000 bytes in all$'
	assert_peak "$t/rss" 300
}

@test "serve-bundle: SIGHUP with a gzip bomb keeps the old bundle, in under 300 MB" {
	local t=$BATS_TEST_TMPDIR b=$BATS_TEST_TMPDIR/live.tar.gz kb i
	mkdir -p "$t/tree/nodes/node-1"
	printf 'a: 1\n' >"$t/tree/nodes/node-1/a.yaml"
	run -0 cfgsync bundle pack "$t/tree" -o "$b"
	start_server OWN "$t" serve-bundle "$b"
	python3 "$FIXTURES/craft.py" bomb "$b.new" 60000000 20
	mv "$b.new" "$b"
	kill -HUP "$OWN_PID"
	for i in $(seq 1 1200); do
		grep -q 'reload refused' "$t/OWN.log" && break
		sleep 0.05
	done
	run -0 grep 'reload refused, keeping the old bundle: .*zeros17: over the limit of 1073741824 bytes in all$' "$t/OWN.log"
	kb=$(awk '/^VmHWM:/ { print $2 }' "/proc/$OWN_PID/status")
	((kb < 300 * 1024)) || fail "peak RSS $kb KiB: over 300 MiB"
	req POST "$OWN_URL/node" --data-binary \
	    '{"identifier":"node-1","ip":"10.0.0.1"}'
	assert_equal "$STATUS" 200
	run -0 jq -r '.files[0].content' "$t/body"
	assert_output 'a: 1'
}

@test "serve-bundle: SIGHUP with a good bundle serves the new one" {
	local b=$BATS_TEST_TMPDIR/live.json
	cp "$(vec bundle.json)" "$b"
	start_server OWN "$BATS_TEST_TMPDIR" serve-bundle "$b"
	cat >"$b.new" <<-'EOF'
	{"nodes":[{"identifier":"node-3","files":[{"path":"c.yaml","content":"three\n"}]}]}
	EOF
	mv "$b.new" "$b"
	kill -HUP "$OWN_PID"
	for i in $(seq 1 100); do
		grep -q 'reloaded' "$BATS_TEST_TMPDIR/OWN.log" && break
		sleep 0.05
	done
	req POST "$OWN_URL/node" --data-binary \
	    '{"identifier":"node-3","ip":"10.0.0.3"}'
	assert_equal "$STATUS" 200
	run -0 jq -c . "$BATS_TEST_TMPDIR/body"
	assert_output '{"schema_version":1,"files":[{"path":"c.yaml","content":"three\n"}]}'
	req POST "$OWN_URL/node" --data-binary "@$(vec registration.json)"
	assert_equal "$STATUS" 404
	assert_error_doc "$BATS_TEST_TMPDIR/body" missing_config
}

@test "serve-bundle: --token-file guards every route but /healthz" {
	local tok=s3cr3t-t0ken-value
	printf '%s\n' "$tok" >"$BATS_TEST_TMPDIR/token"
	start_server OWN "$BATS_TEST_TMPDIR" serve-bundle \
	    --token-file "$BATS_TEST_TMPDIR/token" "$(vec bundle.json)"
	req POST "$OWN_URL/node" --data-binary "@$(vec registration.json)"
	assert_equal "$STATUS" 401
	assert_error_doc "$BATS_TEST_TMPDIR/body" unauthorized
	req POST "$OWN_URL/register" --data-binary "@$(vec registration.json)"
	assert_equal "$STATUS" 401
	req POST "$OWN_URL/node" -H "Authorization: Bearer wrong" \
	    --data-binary "@$(vec registration.json)"
	assert_equal "$STATUS" 401
	req POST "$OWN_URL/node" -H "Authorization: Bearer ${tok}x" \
	    --data-binary "@$(vec registration.json)"
	assert_equal "$STATUS" 401
	req POST "$OWN_URL/node" -H "Authorization: Bearer ${tok%?}" \
	    --data-binary "@$(vec registration.json)"
	assert_equal "$STATUS" 401
	req POST "$OWN_URL/node" -H "Authorization: Basic $tok" \
	    --data-binary "@$(vec registration.json)"
	assert_equal "$STATUS" 401
	req GET "$OWN_URL/metrics"
	assert_equal "$STATUS" 401
	assert_healthy "$OWN_URL"
	req POST "$OWN_URL/node" -H "Authorization: Bearer $tok" \
	    --data-binary "@$(vec registration.json)"
	assert_equal "$STATUS" 200
	json_eq "$BATS_TEST_TMPDIR/body" "$(vec payload.json)"
	run -1 grep -F "$tok" "$BATS_TEST_TMPDIR/OWN.log"
	run -1 grep -F "${tok%?}" "$BATS_TEST_TMPDIR/OWN.log"
}

@test "serve-bundle: an empty or missing token file exits 2" {
	: >"$BATS_TEST_TMPDIR/token"
	run -2 --separate-stderr cfgsync serve-bundle --listen 127.0.0.1:0 \
	    --token-file "$BATS_TEST_TMPDIR/token" "$(vec bundle.json)"
	run -2 --separate-stderr cfgsync serve-bundle --listen 127.0.0.1:0 \
	    --token-file "$BATS_TEST_TMPDIR/none" "$(vec bundle.json)"
}

@test "serve-bundle: --log-format json writes one JSON object per request" {
	local line n=0
	start_server OWN "$BATS_TEST_TMPDIR" serve-bundle --log-format json \
	    "$(vec bundle.json)"
	req POST "$OWN_URL/node" --data-binary "@$(vec registration.json)"
	req POST "$OWN_URL/node" --data-binary '{"identifier":"a\u0001"}'
	req GET "$OWN_URL/nope"
	req GET "$OWN_URL/healthz"
	stop_server OWN
	OWN_PID=
	assert_json_log "$BATS_TEST_TMPDIR/OWN.log"
	while IFS= read -r line; do
		printf '%s\n' "$line" | jq -e 'has("method")' >/dev/null ||
		    continue
		printf '%s\n' "$line" | jq -e 'type == "object" and
		    (.time | type == "string") and (.method | type == "string")
		    and (.path | type == "string") and
		    (.status | type == "number") and
		    (.bytes | type == "number") and
		    (.duration_ms | type == "number") and
		    (.identifier | type == "string")' >/dev/null ||
		    fail "not a JSON request line: $line"
		n=$((n + 1))
	done <"$BATS_TEST_TMPDIR/OWN.log"
	assert_equal "$n" 4
	run -0 jq -r 'select(.status == 200 and .path == "/node") |
	    .identifier' "$BATS_TEST_TMPDIR/OWN.log"
	assert_output node-1
	run -0 jq -r 'select(.level == "warn") | .command + ": " + .message' \
	    "$BATS_TEST_TMPDIR/OWN.log"
	assert_output --regexp "^serve-bundle: listening on http://127\.0\.0\.1:$OWN_PORT"
}

@test "serve-bundle: under --log-format json a failure run logs only JSON, no HTML" {
	local b=$BATS_TEST_TMPDIR/live.json
	cp "$(vec bundle.json)" "$b"
	start_server OWN "$BATS_TEST_TMPDIR" serve-bundle --log-format json \
	    "$b"
	req POST "$OWN_URL/node" --data-binary 'not json'
	assert_equal "$STATUS" 400
	req POST "$OWN_URL/node" --data-binary '{"identifier":"x\u0000y"}'
	req GET "$OWN_URL/node%FF%01%0a"
	# Malformed at the HTTP level: libmicrohttpd answers these itself.
	raw_send "$OWN_PORT" 'GET / HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n'
	raw_send "$OWN_PORT" 'GET /x HTTP/9.9\r\n\r\n'
	raw_send "$OWN_PORT" 'POST /node HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n'
	raw_send "$OWN_PORT" 'POST /node HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n'
	# A reload refused is a warning.
	printf '{"nodes":[' >"$b"
	kill -HUP "$OWN_PID"
	for i in $(seq 1 100); do
		grep -q 'reload refused' "$BATS_TEST_TMPDIR/OWN.log" && break
		sleep 0.05
	done
	assert_healthy "$OWN_URL"
	stop_server OWN
	OWN_PID=
	cat "$BATS_TEST_TMPDIR/OWN.log"
	assert_json_log "$BATS_TEST_TMPDIR/OWN.log"
	run -0 jq -r 'select(.message != null) | .message' \
	    "$BATS_TEST_TMPDIR/OWN.log"
	assert_output --partial 'http: Error processing request (HTTP response code is 400: Your HTTP request was syntactically incorrect.)'
	assert_output --partial 'code is 505'
	assert_output --partial 'reload refused'
	assert_output --partial 'signal 15: stopping'
	run -0 jq -r 'select(.path != null) | .path' "$BATS_TEST_TMPDIR/OWN.log"
	assert_output --partial $'/node\uFFFD'
}

@test "serve-bundle: GET /metrics has HELP and TYPE for every family and passes promtool" {
	post /node "$(vec registration.json)"
	req GET "$SB_URL/metrics"
	assert_equal "$STATUS" 200
	assert_prom_families "$BATS_TEST_TMPDIR/body"
	run -0 grep -E '^cfgsync_http_request_duration_seconds_count\{route="node"\} [1-9][0-9]*$' \
	    "$BATS_TEST_TMPDIR/body"
	run -0 grep -E '^cfgsync_http_request_duration_seconds_bucket\{route="node",le="\+Inf"\} [1-9][0-9]*$' \
	    "$BATS_TEST_TMPDIR/body"
	command -v promtool >/dev/null || skip "promtool is not installed"
	run -0 promtool check metrics <"$BATS_TEST_TMPDIR/body"
	assert_output ""
}

@test "serve-bundle: --quiet drops the request log" {
	start_server OWN "$BATS_TEST_TMPDIR" serve-bundle --quiet \
	    "$(vec bundle.json)"
	req POST "$OWN_URL/node" --data-binary "@$(vec registration.json)"
	assert_equal "$STATUS" 200
	run -1 grep -F 'POST /node' "$BATS_TEST_TMPDIR/OWN.log"
}

@test "serve-bundle: GET /metrics counts requests by route and status" {
	post /node "$(vec registration.json)"
	req GET "$SB_URL/metrics"
	assert_equal "$STATUS" 200
	run -0 grep -E '^cfgsync_http_requests_total\{route="node",status="200"\} [0-9]+$' \
	    "$BATS_TEST_TMPDIR/body"
	run -0 grep -E '^cfgsync_bundle_nodes 2$' "$BATS_TEST_TMPDIR/body"
}

@test "serve-bundle: many concurrent requests are all answered" {
	local i pids=
	for i in $(seq 1 40); do
		curl -s -m 10 -o "$BATS_TEST_TMPDIR/c$i" -w '%{http_code}' \
		    --data-binary "@$(vec registration.json)" \
		    "$SB_URL/node" >"$BATS_TEST_TMPDIR/s$i" 3>&- &
		pids="$pids $!"
	done
	for i in $pids; do
		wait "$i"
	done
	for i in $(seq 1 40); do
		assert_equal "$(cat "$BATS_TEST_TMPDIR/s$i")" 200
		json_eq "$BATS_TEST_TMPDIR/c$i" "$(vec payload.json)"
	done
}

@test "serve-bundle: a body of exactly the cap is read, one byte more is 413" {
	local reg
	reg='{"identifier":"node-1","ip":"10.0.0.1"}'
	# Pad with trailing white space, which JSON allows.
	{ printf '%s' "$reg"; head -c $((65536 - ${#reg})) /dev/zero |
	    tr '\0' ' '; } >"$BATS_TEST_TMPDIR/exact"
	assert_equal "$(stat -c %s "$BATS_TEST_TMPDIR/exact")" 65536
	post /node "$BATS_TEST_TMPDIR/exact"
	assert_equal "$STATUS" 200
	req POST "$SB_URL/node" -H 'Transfer-Encoding: chunked' \
	    --data-binary "@$BATS_TEST_TMPDIR/exact"
	assert_equal "$STATUS" 200
	printf ' ' >>"$BATS_TEST_TMPDIR/exact"
	post /node "$BATS_TEST_TMPDIR/exact"
	assert_equal "$STATUS" 413
	req POST "$SB_URL/node" -H 'Transfer-Encoding: chunked' \
	    --data-binary "@$BATS_TEST_TMPDIR/exact"
	assert_equal "$STATUS" 413
	assert_healthy "$SB_URL"
}

@test "serve-bundle: reloads under load answer every request" {
	local b=$BATS_TEST_TMPDIR/live.json k i pids=
	cp "$(vec bundle.json)" "$b"
	start_server OWN "$BATS_TEST_TMPDIR" serve-bundle --quiet "$b"
	for k in 1 2 3; do
		(
			for i in $(seq 1 40); do
				curl -s -m 10 -o /dev/null -w '%{http_code}\n' \
				    --data-binary "@$(vec registration.json)" \
				    "$OWN_URL/node"
			done >"$BATS_TEST_TMPDIR/codes$k"
		) 3>&- &
		pids="$pids $!"
	done
	for i in $(seq 1 10); do
		kill -HUP "$OWN_PID"
		sleep 0.05
	done
	for k in $pids; do
		wait "$k"
	done
	run -0 sort -u "$BATS_TEST_TMPDIR"/codes1 "$BATS_TEST_TMPDIR"/codes2 \
	    "$BATS_TEST_TMPDIR"/codes3
	assert_output 200
	assert_equal "$(cat "$BATS_TEST_TMPDIR"/codes? | wc -l)" 120
	assert_healthy "$OWN_URL"
}

@test "serve-bundle: a large shared file is served whole to nodes with and without files of their own" {
	local T=$BATS_TEST_TMPDIR
	python3 -c 'import json, sys
big = "".join("line %06d of the shared file\n" % i for i in range(4000))
json.dump({"nodes": [
    {"identifier": "n1", "files": [{"path": "own", "content": "n1\n"}]},
    {"identifier": "n2", "files": []}],
    "shared_files": [{"path": "big.txt", "content": big},
                     {"path": "small", "content": "s\n"}]},
    open(sys.argv[1], "w"))
open(sys.argv[2], "w").write(big)' "$T/b.json" "$T/big.expected"
	start_server BIG "$T" serve-bundle "$T/b.json"
	run -0 cfgsync fetch -q --server "$BIG_URL" --id n1 --ip 10.0.0.1 --out "$T/o1"
	run -0 cfgsync fetch -q --server "$BIG_URL" --id n2 --ip 10.0.0.2 --out "$T/o2"
	run -0 --separate-stderr cfgsync fetch -q --server "$BIG_URL" --id n2 \
	    --ip 10.0.0.2 --print
	echo "$output" >"$T/p2.json"
	stop_server BIG
	cmp "$T/o1/big.txt" "$T/big.expected"
	cmp "$T/o2/big.txt" "$T/big.expected"
	assert_equal "$(cat "$T/o1/own")" n1
	assert_equal "$(cat "$T/o2/small")" s
	run jq -r '[.files[].path] | join(" ")' "$T/p2.json"
	assert_output "big.txt small"
}

@test "serve-bundle: options may follow BUNDLE, and :PORT listens on every address" {
	local T=$BATS_TEST_TMPDIR
	start_server_raw OPS "$T" serve-bundle "$FIXTURES/bundles/fetch.json" \
	    --listen :0 --port-file "$T/OPS.port"
	run -0 grep -q "listening on http://0.0.0.0:$OPS_PORT" "$T/OPS.log"
	run -0 curl -sf "http://127.0.0.1:$OPS_PORT/healthz"
	stop_server OPS
}

# peers_bundle FILE N: a bundle of N nodes (node-0 without files of its
# own, the others a config.yaml each) and a shared peers.yaml listing
# every node, about 60 bytes a node, and a 0600 file under a directory.
peers_bundle() {
	python3 - "$1" "$2" <<-'PY'
	import json, sys
	n = int(sys.argv[2])
	peers = "".join("- {id: node-%d, ip: 10.0.%d.%d, port: 4400}\n"
	    % (i, i // 256, i % 256) for i in range(n))
	nodes = [{"identifier": "node-0", "files": []}] + [
	    {"identifier": "node-%d" % i, "files": [{"path": "/etc/app/config.yaml",
	    "content": "id: node-%d\n" % i}]} for i in range(1, n)]
	json.dump({"nodes": nodes, "shared_files": [
	    {"path": "peers.yaml", "content": peers},
	    {"path": "/etc/app/secret/key", "content": "k\n", "mode": "0600"}]},
	    open(sys.argv[1], "w"))
	PY
}

@test "serve-bundle: gzip when asked: the same payload in under a quarter of the bytes" {
	peers_bundle "$BATS_TEST_TMPDIR/b.json" 2000
	start_server OWN "$BATS_TEST_TMPDIR" serve-bundle "$BATS_TEST_TMPDIR/b.json"
	for id in node-0 node-7 node-1999; do
		b="{\"identifier\":\"$id\",\"ip\":\"10.0.0.1\"}"
		curl -s -D "$BATS_TEST_TMPDIR/h1" -o "$BATS_TEST_TMPDIR/plain" \
		    --data "$b" "$OWN_URL/node"
		curl -s -D "$BATS_TEST_TMPDIR/h2" -o "$BATS_TEST_TMPDIR/gz" \
		    -H 'Accept-Encoding: gzip' --data "$b" "$OWN_URL/node"
		run -0 grep -ci '^content-encoding: gzip' "$BATS_TEST_TMPDIR/h2"
		run -1 grep -ci '^content-encoding' "$BATS_TEST_TMPDIR/h1"
		run -0 grep -ci '^vary: accept-encoding' "$BATS_TEST_TMPDIR/h2"
		gunzip -c <"$BATS_TEST_TMPDIR/gz" >"$BATS_TEST_TMPDIR/unz"
		cmp "$BATS_TEST_TMPDIR/plain" "$BATS_TEST_TMPDIR/unz"
		plain=$(wc -c <"$BATS_TEST_TMPDIR/plain")
		gz=$(wc -c <"$BATS_TEST_TMPDIR/gz")
		[ $((gz * 4)) -le "$plain" ] || fail "$id: $gz of $plain bytes"
		# Both carry the one ETag of the payload.
		e1=$(grep -i '^etag:' "$BATS_TEST_TMPDIR/h1")
		e2=$(grep -i '^etag:' "$BATS_TEST_TMPDIR/h2")
		assert_equal "$e1" "$e2"
	done
	run -0 jq -r '.files[0].content' "$BATS_TEST_TMPDIR/plain"
	assert_output 'id: node-1999'
	# q=0 refuses gzip.
	req POST "$OWN_URL/node" -D "$BATS_TEST_TMPDIR/h3" \
	    -H 'Accept-Encoding: gzip;q=0, identity' --data "$b"
	cmp "$BATS_TEST_TMPDIR/plain" "$BATS_TEST_TMPDIR/body"
}

@test "serve-bundle: ?format=tar and Accept: application/x-tar answer the files as a tar archive" {
	peers_bundle "$BATS_TEST_TMPDIR/b.json" 30
	start_server OWN "$BATS_TEST_TMPDIR" serve-bundle "$BATS_TEST_TMPDIR/b.json"
	b='{"identifier":"node-3","ip":"10.0.0.1"}'
	req POST "$OWN_URL/node?format=tar" --data "$b" -D "$BATS_TEST_TMPDIR/h"
	assert_equal "$STATUS" 200
	run -0 grep -ci '^content-type: application/x-tar' "$BATS_TEST_TMPDIR/h"
	run -0 tar -tvf "$BATS_TEST_TMPDIR/body"
	assert_line --regexp '^-rw-r--r-- .* etc/app/config\.yaml$'
	assert_line --regexp '^-rw-r--r-- .* peers\.yaml$'
	assert_line --regexp '^-rw------- .* etc/app/secret/key$'
	assert_equal "${#lines[@]}" 3
	mkdir "$BATS_TEST_TMPDIR/x"
	tar -xf "$BATS_TEST_TMPDIR/body" -C "$BATS_TEST_TMPDIR/x"
	assert_equal "$(cat "$BATS_TEST_TMPDIR/x/etc/app/config.yaml")" 'id: node-3'
	req POST "$OWN_URL/node" --data "$b" -H 'Accept: application/x-tar'
	run -0 tar -tf "$BATS_TEST_TMPDIR/body"
	assert_line 'peers.yaml'
	# A node without files of its own gets the shared ones.
	req POST "$OWN_URL/node?format=tar" \
	    --data '{"identifier":"node-0","ip":"10.0.0.1"}'
	run -0 tar -tf "$BATS_TEST_TMPDIR/body"
	assert_output "$(printf 'peers.yaml\netc/app/secret/key')"
	req POST "$OWN_URL/node?format=tar" \
	    --data '{"identifier":"ghost","ip":"10.0.0.1"}'
	assert_equal "$STATUS" 404
	req POST "$OWN_URL/node?format=zip" --data "$b"
	assert_equal "$STATUS" 400
	assert_error_doc "$BATS_TEST_TMPDIR/body" bad_request
}

@test "serve-bundle: If-None-Match: 304 at once, or parked until SIGHUP or a replace changes the answer" {
	local f=$BATS_TEST_TMPDIR/live.json
	peers_bundle "$f" 3
	start_server OWN "$BATS_TEST_TMPDIR" serve-bundle "$f"
	b='{"identifier":"node-1","ip":"10.0.0.1"}'
	etag() {
		curl -s -D - -o /dev/null --data "$b" "$OWN_URL/node" |
		    tr -d '\r' | sed -n 's/^[Ee][Tt][Aa][Gg]: //p'
	}
	e=$(etag)
	assert_regex "$e" '^"[0-9a-f]{64}"$'
	req POST "$OWN_URL/node" --data "$b" -H "If-None-Match: W/$e"
	assert_equal "$STATUS" 304
	req POST "$OWN_URL/node?wait=1" --data "$b" -H "If-None-Match: $e"
	assert_equal "$STATUS" 304
	# A reload to the same bundle leaves the answer, and the poll, alone.
	curl -s -o /dev/null -w '%{http_code}' --data "$b" \
	    -H "If-None-Match: $e" "$OWN_URL/node?wait=30" \
	    >"$BATS_TEST_TMPDIR/s" &
	poll=$!
	sleep 0.3
	kill -HUP "$OWN_PID"
	sleep 0.5
	kill -0 "$poll"
	peers_bundle "$f" 4
	kill -HUP "$OWN_PID"
	wait "$poll"
	assert_equal "$(cat "$BATS_TEST_TMPDIR/s")" 200
	e2=$(etag)
	refute [ "$e2" = "$e" ]
	# A replace of node-1 wakes its poll; tar has a tag of its own.
	curl -s -o "$BATS_TEST_TMPDIR/p" -w '%{http_code}' --data "$b" \
	    -H "If-None-Match: $e2" "$OWN_URL/node?wait=30" \
	    >"$BATS_TEST_TMPDIR/s" &
	poll=$!
	sleep 0.3
	kill -0 "$poll"
	req POST "$OWN_URL/node/replace" --data \
	    '{"identifier":"node-1","files":[{"path":"new","content":"n\n"}]}'
	assert_equal "$STATUS" 202
	wait "$poll"
	assert_equal "$(cat "$BATS_TEST_TMPDIR/s")" 200
	run -0 jq -r '.files[0].path' "$BATS_TEST_TMPDIR/p"
	assert_output new
	req POST "$OWN_URL/node?format=tar" --data "$b" -H "If-None-Match: $(etag)"
	assert_equal "$STATUS" 200
}
