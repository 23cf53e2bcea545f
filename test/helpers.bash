# Shared by every suite: the cfgsync under test on PATH, bats-support and
# bats-assert, the wire vectors, and servers on 127.0.0.1 port 0.

bats_load_library bats-support 2>/dev/null || load /usr/lib/bats/bats-support/load
bats_load_library bats-assert 2>/dev/null || load /usr/lib/bats/bats-assert/load

TOP="$(cd "$BATS_TEST_DIRNAME/.." && pwd)"
PATH="$TOP:$PATH"
export PATH
VECTORS="$TOP/test/vectors"
FIXTURES="$TOP/test/fixtures"

# Nothing from the caller's environment steers a client under test.
unset CFG_SERVER_ADDR CFG_HOST_IDENTIFIER CFG_HOST_IP \
    CFG_REGISTRATION_METADATA_JSON CFG_FILE_PATH CFG_DEPLOYMENT_PATH

# vec NAME: the path of a wire vector.
vec() {
	printf '%s/%s\n' "$VECTORS" "$1"
}

# wait_port NAME DIR PID: waits (at most 10 s) for DIR/NAME.port, then
# sets and exports NAME_PID, NAME_PORT and NAME_URL.  Fails, showing the
# log, when the process dies or the port file never comes.
wait_port() {
	local name=$1 dir=$2 pid=$3 i port
	for i in $(seq 1 200); do
		[ -s "$dir/$name.port" ] && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	if [ ! -s "$dir/$name.port" ]; then
		cat "$dir/$name.log" >&2
		return 1
	fi
	port=$(cat "$dir/$name.port")
	eval "${name}_PID=$pid ${name}_PORT=$port"
	eval "${name}_URL=http://127.0.0.1:$port"
	export "${name}_PID" "${name}_PORT" "${name}_URL"
}

# start_server NAME DIR COMMAND ARGS...: starts `cfgsync COMMAND ARGS`
# listening on 127.0.0.1 port 0 (the listen options go right after
# COMMAND, before its operands) with its state in DIR; sets NAME_PID,
# NAME_URL and NAME_PORT, with stderr in DIR/NAME.log.  Waits at most 10 s.
start_server() {
	local name=$1 dir=$2 cmd=$3
	shift 3
	mkdir -p "$dir"
	rm -f "$dir/$name.port"
	cfgsync "$cmd" --listen 127.0.0.1:0 --port-file "$dir/$name.port" \
	    "$@" >"$dir/$name.out" 2>"$dir/$name.log" 3>&- &
	wait_port "$name" "$dir" $!
}

# Servers whose command line must be laid out by hand (a fixed port, or
# listen options placed elsewhere).
# start_server_raw NAME DIR ARGS...: as start_server, but ARGS must already
# contain --listen HOST:PORT --port-file DIR/NAME.port.
start_server_raw() {
	local name=$1 dir=$2
	shift 2
	mkdir -p "$dir"
	rm -f "$dir/$name.port"
	cfgsync "$@" >"$dir/$name.out" 2>>"$dir/$name.log" 3>&- &
	wait_port "$name" "$dir" $!
}

# start_fake NAME DIR ARGS...: starts test/fixtures/fake-server.py (a
# scripted server answering what serve-bundle cannot) with ARGS on
# 127.0.0.1 port 0; its requests are logged as JSON lines in
# DIR/NAME.requests.  Sets NAME_PID, NAME_URL and NAME_PORT.
start_fake() {
	local name=$1 dir=$2
	shift 2
	mkdir -p "$dir"
	rm -f "$dir/$name.port" "$dir/$name.requests"
	: >"$dir/$name.requests"
	python3 "$FIXTURES/fake-server.py" --port-file "$dir/$name.port" \
	    --log "$dir/$name.requests" "$@" \
	    >"$dir/$name.out" 2>"$dir/$name.log" 3>&- &
	wait_port "$name" "$dir" $!
}

# free_port: prints a TCP port on 127.0.0.1 that was free a moment ago.
free_port() {
	python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

# stop_server NAME: SIGTERM, then wait (at most 10 s) for a clean exit 0.
stop_server() {
	local pid i
	eval "pid=\${${1}_PID:-}"
	[ -n "$pid" ] || return 0
	kill -TERM "$pid" 2>/dev/null || return 0
	for i in $(seq 1 200); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	if kill -0 "$pid" 2>/dev/null; then
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
		return 1
	fi
	wait "$pid"
}

# http METHOD URL [BODY]: prints the status line's code, then the body, to
# stdout as "CODE BODY"; never fails on HTTP errors.
http() {
	local method=$1 url=$2 body=${3-}
	if [ -n "$body" ]; then
		curl -s -o "$BATS_TEST_TMPDIR/http.body" -w '%{http_code}' \
		    -X "$method" -H 'Content-Type: application/json' \
		    --data-binary "$body" "$url"
	else
		curl -s -o "$BATS_TEST_TMPDIR/http.body" -w '%{http_code}' \
		    -X "$method" "$url"
	fi
	printf ' %s\n' "$(cat "$BATS_TEST_TMPDIR/http.body")"
}

# assert_healthy URL: the server at URL still answers GET /healthz.
assert_healthy() {
	local got
	got=$(curl -s -m 5 -o /dev/null -w '%{http_code}' "$1/healthz")
	assert_equal "$got" 200
}

# assert_error_doc FILE CODE: FILE holds exactly {"code":CODE,"message":M}
# with M a non-empty string.
assert_error_doc() {
	jq -e --arg c "$2" '(keys == ["code", "message"]) and (.code == $c)
	    and (.message | type == "string" and length > 0)' "$1" \
	    >/dev/null || fail "not a $2 error document: $(cat "$1")"
}

# req METHOD URL [CURL-ARGS...]: sends one request with curl; sets STATUS
# to the HTTP status ("000" when there was no answer) and leaves the body
# in $BATS_TEST_TMPDIR/body.
req() {
	local method=$1 url=$2
	shift 2
	STATUS=$(curl -s -m 10 -o "$BATS_TEST_TMPDIR/body" -w '%{http_code}' \
	    -X "$method" "$@" "$url") || true
}

# no_temporaries DIR: no ".*.cfgsync-*" file is left anywhere under DIR.
no_temporaries() {
	local left
	left=$(find "$1" -name '.*.cfgsync-*' 2>/dev/null)
	assert_equal "$left" ""
}

# json_eq A B: A and B (files) hold the same JSON value (objects compared
# without regard to member order).
json_eq() {
	jq -e -n --slurpfile a "$1" --slurpfile b "$2" '$a == $b' >/dev/null ||
	    fail "$(printf 'JSON differs:\n%s\n%s' "$(cat "$1")" "$(cat "$2")")"
}
