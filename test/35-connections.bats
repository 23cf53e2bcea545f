bats_require_minimum_version 1.5.0

load helpers

# Connections under load and from hostile clients: the limits and their
# defaults, the deadline for a request, parked long polls, the edge's
# parsing.  The floods come from other loopback addresses (127.0.0.2 ...),
# the real client from 127.0.0.1.

setup() {
	T=$BATS_TEST_TMPDIR
}

teardown() {
	stop_server S || true
	if [ -n "${FLOOD:-}" ]; then
		kill "$FLOOD" 2>/dev/null || true
		wait "$FLOOD" 2>/dev/null || true
	fi
}

# metric NAME: the value of one sample of the server's /metrics page.
metric() {
	curl -s -m 5 "$S_URL/metrics" | awk -v n="$1" '$1 == n { print $2 }'
}

# flood ARGS...: starts test/fixtures/flood.py against S (ARGS as it
# takes them after HOLD) for at most 30 s, and waits until every
# connection is open.  Its counts go to $T/flood.out.
flood() {
	local hold=$1
	shift
	rm -f "$T/ready"
	python3 "$FIXTURES/flood.py" "$S_PORT" "$T/ready" "$hold" "$@" \
	    >"$T/flood.out" &
	FLOOD=$!
	wait_for test -e "$T/ready"
}

# wait_for COMMAND...: runs COMMAND every 0.1 s, for at most 30 s.
wait_for() {
	local i
	for i in $(seq 1 300); do
		"$@" && return 0
		sleep 0.1
	done
	return 1
}

@test "connections: the default limit follows the open-file limit" {
	ulimit -n 4096
	start_server S "$T" serve-bundle -q "$(vec bundle.json)"
	assert_equal "$(metric cfgsync_http_connections_max)" 3584
	assert_equal "$(metric 'cfgsync_http_connections_max{scope="ip"}')" 1792
	stop_server S
	start_server S "$T" serve-bundle -q --max-connections 100 \
	    --max-connections-per-ip 0 "$(vec bundle.json)"
	assert_equal "$(metric cfgsync_http_connections_max)" 100
	assert_equal "$(metric 'cfgsync_http_connections_max{scope="ip"}')" 0
}

@test "connections: the soft open-file limit is raised to the hard one, and the default follows" {
	local hard want
	hard=$(ulimit -Hn)
	[ "$hard" != unlimited ] || skip "no hard open-file limit"
	# As http_server_default_connections: the hard limit less 512 kept
	# back, within 64 and 1 000 000.
	want=$((hard > 1024 ? hard - 512 : hard / 2))
	[ "$want" -le 1000000 ] || want=1000000
	ulimit -Sn 256
	start_server S "$T" serve-bundle -q "$(vec bundle.json)"
	assert_equal "$(metric cfgsync_http_connections_max)" "$want"
	run -0 awk '/^Max open files/ { print $4 }' "/proc/$S_PID/limits"
	assert_output "$hard"
}

@test "connections: a client that dribbles its request is cut after --connection-timeout in total" {
	start_server S "$T" serve-bundle --connection-timeout 2 "$(vec bundle.json)"
	flood 8 loris 127.0.0.2 50
	wait "$FLOOD"
	FLOOD=
	run cat "$T/flood.out"
	echo "$output"
	assert_output --regexp '^loris_closed=50 loris_open=0 '
	# One byte a second resets an idle timeout; the deadline is total.
	last=$(sed 's/.*loris_last_close_s=\([0-9.]*\).*/\1/' "$T/flood.out")
	awk -v t="$last" 'BEGIN { exit !(t >= 1.5 && t <= 4.5) }'
	assert_equal "$(metric 'cfgsync_http_connections_cut_total{reason="deadline"}')" 50
	assert_equal "$(grep -c 'more than 2 s to send a request' "$T/S.log")" 1
	run cat "$T/S.log"
	refute_output --partial 'connection closure'
	assert_healthy "$S_URL"
}

@test "connections: 1030 slow-loris and 1000 idle connections do not stop a real fetch (defaults)" {
	ulimit -n 8192
	start_server S "$T" serve-bundle -q --connection-timeout 5 \
	    "$(vec bundle.json)"
	flood 12 loris 127.0.0.2 1030 idle 127.0.0.3 1000
	run -0 --separate-stderr cfgsync fetch -q --server "$S_URL" \
	    --id node-1 --ip 10.0.0.1 --out "$T/o" --timeout 10
	assert_equal "$(cat "$T/o/config.yaml")" "id: node-1"
	assert_healthy "$S_URL"
	wait "$FLOOD"
	FLOOD=
	cat "$T/flood.out"
	grep -q '^loris_closed=1030 loris_open=0 ' "$T/flood.out"
	# The per-IP limit said so once, not per connection.
	[ "$(grep -c 'connection limit' "$T/S.log")" -le 1 ]
}

@test "connections: at the limit the oldest idle keep-alive connections are closed, said once" {
	ulimit -n 8192
	start_server S "$T" serve-bundle -q --connection-timeout 10 \
	    --max-connections 1500 --max-connections-per-ip 0 \
	    "$(vec bundle.json)"
	flood 15 loris 127.0.0.2 1030 idle 127.0.0.3 1000
	run -0 --separate-stderr cfgsync fetch -q --server "$S_URL" \
	    --id node-2 --ip 10.0.0.2 --out "$T/o" --timeout 10
	assert_equal "$(cat "$T/o/config.yaml")" "id: node-2"
	assert_healthy "$S_URL"
	cut=$(metric 'cfgsync_http_connections_cut_total{reason="idle"}')
	echo "idle connections closed for room: $cut"
	[ "$cut" -ge 500 ]
	assert_equal "$(grep -c 'closing the oldest idle keep-alive' "$T/S.log")" 1
	kill "$FLOOD"
	wait "$FLOOD" || true
	FLOOD=
}

@test "connections: /healthz and /register answer at once while 2000 long polls are parked" {
	ulimit -n 8192
	NEED=3 start_server S "$T" serve-exec -q --max-connections 4000 \
	    --max-connections-per-ip 0 --connection-timeout 2 -- \
	    "$FIXTURES/need2.sh"
	req POST "$S_URL/register" --data '{"identifier":"node-1","ip":"10.0.0.1"}'
	assert_equal "$STATUS" 202
	python3 "$FIXTURES/park.py" "$S_PORT" 2000 "$T/parked" \
	    >"$T/park.out" &
	FLOOD=$!
	wait_for test -e "$T/parked"
	wait_for [ "$(metric cfgsync_http_connections)" -ge 2000 ]
	worst=0
	for i in $(seq 1 20); do
		t=$(curl -s -m 5 -o /dev/null -w '%{time_total}' "$S_URL/healthz")
		worst=$(awk -v a="$worst" -v b="$t" 'BEGIN { print (b > a ? b : a) }')
	done
	echo "slowest /healthz of 20 with 2000 parked: ${worst}s"
	awk -v t="$worst" 'BEGIN { exit !(t < 1.0) }'
	# Parked polls are not cut by the request deadline (2 s).
	sleep 3
	[ "$(metric cfgsync_http_connections)" -ge 2000 ]
	assert_equal "$(metric 'cfgsync_http_connections_cut_total{reason="deadline"}')" 0
	for n in 2 3; do
		req POST "$S_URL/register" \
		    --data "{\"identifier\":\"node-$n\",\"ip\":\"10.0.0.$n\"}"
		assert_equal "$STATUS" 202
	done
	wait "$FLOOD"
	FLOOD=
	assert_equal "$(cat "$T/park.out")" "200:2000"
}

@test "connections: a 2 KiB request head is served, a 16 KiB one is 431" {
	start_server S "$T" serve-bundle "$(vec bundle.json)"
	big=$(head -c 2048 /dev/zero | tr '\0' a)
	req POST "$S_URL/node" -H "X-Big: $big" \
	    --data '{"identifier":"node-1","ip":"10.0.0.1"}'
	assert_equal "$STATUS" 200
	big=$(head -c 16384 /dev/zero | tr '\0' a)
	req GET "$S_URL/healthz" -H "X-Big: $big"
	assert_equal "$STATUS" 431
	assert_healthy "$S_URL"
}

@test "connections: a request target with a NUL or a bad %-escape is 400" {
	start_server S "$T" serve-bundle "$(vec bundle.json)"
	for p in '/node%00/x' '/node%zz' '/node%4' '/node%' '/healthz%00'; do
		req POST "$S_URL$p" --data '{"identifier":"node-1"}'
		echo "$p: $STATUS"
		assert_equal "$STATUS" 400
		assert_error_doc "$T/body" bad_request
	done
	req GET "$S_URL/healthz?x=%00"
	assert_equal "$STATUS" 400
	# A good escape still decodes.
	req GET "$S_URL/health%7A"
	assert_equal "$STATUS" 200
}

@test "connections: a decoded path cannot forge fields of the text log" {
	start_server S "$T" serve-bundle "$(vec bundle.json)"
	req GET "$S_URL/x%20200%201%200.0ms%20node-1%0aforged"
	assert_equal "$STATUS" 404
	stop_server S
	run grep ' 404 ' "$T/S.log"
	echo "$output"
	assert_output --regexp '^[^ ]+ GET /x%20200%201%200\.0ms%20node-1%0Aforged 404 [0-9]+ [0-9.]+ms -$'
	run -1 grep -c '^forged' "$T/S.log"
}

@test "connections: the bearer scheme in any case, with whitespace around" {
	printf 's3cret\n' >"$T/token"
	start_server S "$T" serve-bundle --token-file "$T/token" \
	    "$(vec bundle.json)"
	for h in 'Bearer s3cret' 'bearer s3cret' 'BEARER   s3cret' \
	    'bearer s3cret   '; do
		req GET "$S_URL/metrics" -H "Authorization: $h"
		assert_equal "$STATUS" 200
	done
	for h in 'bearer s3cre' 'Basic s3cret' 'bearers3cret'; do
		req GET "$S_URL/metrics" -H "Authorization: $h"
		assert_equal "$STATUS" 401
	done
}

@test "connections: a bad, mismatched or unreadable TLS file is exit 2 naming it" {
	openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/key.pem" \
	    -out "$T/cert.pem" -days 2 -subj /CN=127.0.0.1 2>/dev/null
	openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 \
	    -out "$T/k2.pem" 2>/dev/null
	printf 'not a certificate\n' >"$T/bad.pem"
	run -2 --separate-stderr cfgsync serve-bundle --listen 127.0.0.1:0 \
	    --tls-cert "$T/bad.pem" --tls-key "$T/key.pem" "$(vec bundle.json)"
	assert_regex "$stderr" "tls-cert $T/bad.pem: not a PEM certificate"
	run -2 --separate-stderr cfgsync serve-bundle --listen 127.0.0.1:0 \
	    --tls-cert "$T/cert.pem" --tls-key "$T/bad.pem" "$(vec bundle.json)"
	assert_regex "$stderr" "tls-key $T/bad.pem: not a PEM private key"
	run -2 --separate-stderr cfgsync serve-exec --listen 127.0.0.1:0 \
	    --tls-cert "$T/cert.pem" --tls-key "$T/k2.pem" -- true
	assert_regex "$stderr" "tls-key $T/k2.pem: does not go with"
	run -2 --separate-stderr cfgsync serve-bundle --listen 127.0.0.1:0 \
	    --tls-cert "$T/none.pem" --tls-key "$T/key.pem" "$(vec bundle.json)"
	assert_regex "$stderr" "$T/none.pem"
}
