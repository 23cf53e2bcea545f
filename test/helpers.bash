# Shared by every suite: the cfgsync under test on PATH, bats-support and
# bats-assert, the wire vectors, and servers on 127.0.0.1 port 0.

bats_load_library bats-support 2>/dev/null || load /usr/lib/bats/bats-support/load
bats_load_library bats-assert 2>/dev/null || load /usr/lib/bats/bats-assert/load

TOP="$(cd "$BATS_TEST_DIRNAME/.." && pwd)"
PATH="$TOP:$PATH"
export PATH
VECTORS="$TOP/../shared/vectors"
FIXTURES="$TOP/test/fixtures"

# Nothing from the caller's environment steers a client under test.
unset CFG_SERVER_ADDR CFG_HOST_IDENTIFIER CFG_HOST_IP \
    CFG_REGISTRATION_METADATA_JSON CFG_FILE_PATH CFG_DEPLOYMENT_PATH

# vec NAME: the path of a wire vector.
vec() {
	printf '%s/%s\n' "$VECTORS" "$1"
}

# start_server NAME DIR COMMAND ARGS...: starts `cfgsync COMMAND ARGS` on
# 127.0.0.1 port 0 with its state in DIR; sets NAME_PID, NAME_URL and
# NAME_PORT, with stderr in DIR/NAME.log.  Waits at most 10 s.
start_server() {
	local name=$1 dir=$2 i
	shift 2
	mkdir -p "$dir"
	rm -f "$dir/$name.port"
	cfgsync "$1" --listen 127.0.0.1:0 --port-file "$dir/$name.port" \
	    "${@:2}" 2>"$dir/$name.log" &
	eval "${name}_PID=$!"
	for i in $(seq 1 200); do
		[ -s "$dir/$name.port" ] && break
		sleep 0.05
	done
	if [ ! -s "$dir/$name.port" ]; then
		cat "$dir/$name.log" >&2
		return 1
	fi
	eval "${name}_PORT=$(cat "$dir/$name.port")"
	eval "${name}_URL=http://127.0.0.1:\$${name}_PORT"
}

# Servers whose command line ends in `-- PROGRAM`: the listen options must
# come before the `--`, so the caller passes them itself.
# start_server_raw NAME DIR ARGS...: as start_server, but ARGS must already
# contain --listen 127.0.0.1:0 --port-file DIR/NAME.port.
start_server_raw() {
	local name=$1 dir=$2 i
	shift 2
	mkdir -p "$dir"
	rm -f "$dir/$name.port"
	cfgsync "$@" 2>>"$dir/$name.log" &
	eval "${name}_PID=$!"
	for i in $(seq 1 200); do
		[ -s "$dir/$name.port" ] && break
		sleep 0.05
	done
	if [ ! -s "$dir/$name.port" ]; then
		cat "$dir/$name.log" >&2
		return 1
	fi
	eval "${name}_PORT=$(cat "$dir/$name.port")"
	eval "${name}_URL=http://127.0.0.1:\$${name}_PORT"
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

# json_eq A B: A and B (files) hold the same JSON value.
json_eq() {
	python3 -c 'import json,sys; a=json.load(open(sys.argv[1])); b=json.load(open(sys.argv[2])); sys.exit(0 if a==b else 1)' "$1" "$2"
}
