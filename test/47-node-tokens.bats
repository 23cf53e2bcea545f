bats_require_minimum_version 1.5.0

load helpers

# Per-node credentials (--node-tokens, --bind-first): a node acts only
# for itself, with its own token; the --token-file token is the
# operator's, and the only one for the operator's routes.

OP=adm1n-t0ken

# The token matrix: the status each endpoint answers on serve-exec and on
# serve-bundle, to a request naming a node (the path's node for delete,
# node-2 for replace, node-1 elsewhere) with that node's own token,
# another node's, the operator's, and none.  serve-bundle has no list,
# delete or readyz route: the operator gets its 404, everyone else the
# same 401 as for any operator's route.  /healthz and /readyz are probes:
# open to all.
MATRIX='
endpoint  exec:own other operator none  bundle:own other operator none
register       202  401   202      401         202  401   202      401
node           200  401   200      401         200  401   200      401
longpoll       200  401   200      401         200  401   200      401
list           401  401   200      401         401  401   404      401
replace        401  401   202      401         401  401   202      401
status         401  401   200      401         401  401   200      401
metrics        401  401   200      401         401  401   200      401
healthz        200  200   200      200         200  200   200      200
readyz         200  200   200      200         401  401   404      401
delete         401  401   204      401         401  401   404      401
'

setup_file() {
	local d=$BATS_FILE_TMPDIR
	printf '%s\n' "$OP" >"$d/token"
	printf '# fleet\nnode-1 tok-node-1\nnode-2 tok-node-2\n\nnode-3 tok-node-3\n' \
	    >"$d/nodes"
	NEED=1 start_server X "$d" serve-exec --token-file "$d/token" \
	    --node-tokens "$d/nodes" -- "$FIXTURES/need2.sh"
	start_server B "$d" serve-bundle --token-file "$d/token" \
	    --node-tokens "$d/nodes" "$FIXTURES/bundles/fetch.json"
}

teardown_file() {
	stop_server X
	stop_server B
}

setup() {
	T=$BATS_TEST_TMPDIR
	D=$BATS_FILE_TMPDIR
}

# token WHO ID: the token WHO (own, other, operator, none) presents for ID.
token() {
	case $1 in
	own) printf 'tok-%s\n' "$2" ;;
	other) [ "$2" = node-1 ] && echo tok-node-2 || echo tok-node-1 ;;
	operator) echo "$OP" ;;
	none) ;;
	esac
}

# call URL ENDPOINT WHO: prints the status of one request.
call() {
	local url=$1 ep=$2 id=node-1 tok
	local -a h=(-s -o "$BATS_TEST_TMPDIR/body" -w '%{http_code}' -m 20)
	case $ep in
	replace) id=node-2 ;;
	delete) id=node-3 ;;
	esac
	tok=$(token "$3" "$id")
	[ -n "$tok" ] && h+=(-H "Authorization: Bearer $tok")
	case $ep in
	register) curl "${h[@]}" --data "{\"identifier\":\"$id\",\"ip\":\"10.0.0.1\"}" "$url/register" ;;
	node) curl "${h[@]}" --data "{\"identifier\":\"$id\",\"ip\":\"10.0.0.1\"}" "$url/node" ;;
	longpoll) curl "${h[@]}" --data "{\"identifier\":\"$id\",\"ip\":\"10.0.0.1\"}" "$url/node?wait=5" ;;
	list) curl "${h[@]}" "$url/registrations" ;;
	delete) curl "${h[@]}" -X DELETE "$url/registrations/$id" ;;
	replace) curl "${h[@]}" --data '{"identifier":"node-2","files":[{"path":"r.txt","content":"r\n"}]}' "$url/node/replace" ;;
	status) curl "${h[@]}" "$url/status" ;;
	metrics) curl "${h[@]}" "$url/metrics" ;;
	healthz) curl "${h[@]}" "$url/healthz" ;;
	readyz) curl "${h[@]}" "$url/readyz" ;;
	esac
}

@test "node tokens: the matrix of endpoints and tokens on serve-exec and serve-bundle" {
	local ep row got want who i url col bad=0
	local -a whos=(own other operator none)
	# node-3 is registered, so the operator's delete has one to remove.
	curl -sf -H "Authorization: Bearer tok-node-3" \
	    --data '{"identifier":"node-3","ip":"10.0.0.3"}' "$X_URL/register"
	while read -r ep row; do
		[ -n "$ep" ] && [ "$ep" != endpoint ] || continue
		set -- $row
		for col in 0 4; do
			[ "$col" = 0 ] && url=$X_URL || url=$B_URL
			for i in 0 1 2 3; do
				who=${whos[$i]}
				want=${@:$((col + i + 1)):1}
				got=$(call "$url" "$ep" "$who")
				if [ "$got" != "$want" ]; then
					echo "$ep on $([ $col = 0 ] && echo serve-exec || echo serve-bundle) with $who: $got, want $want: $(cat "$T/body")" >&2
					bad=1
				elif [ "$got" = 401 ]; then
					assert_error_doc "$T/body" unauthorized
				fi
			done
		done
	done <<<"$MATRIX"
	assert_equal "$bad" 0
}

@test "node tokens: a node's files and registration need its own token, the log never holds one" {
	printf 'tok-node-1\n' >"$T/t1"
	printf 'tok-node-2\n' >"$T/t2"
	run -0 cfgsync fetch -q --server "$X_URL" --token-file "$T/t1" \
	    --id node-1 --ip 127.0.0.1 --timeout 20 --out "$T/o"
	assert_equal "$(cat "$T/o/config.yaml")" "id: node-1"
	run -5 --separate-stderr cfgsync fetch -q --server "$X_URL" \
	    --token-file "$T/t2" --id node-1 --ip 127.0.0.1 --timeout 5 \
	    --out "$T/o2"
	assert_regex "$stderr" '401'
	assert [ ! -e "$T/o2" ]
	run -0 cfgsync fetch -q --server "$B_URL" --token-file "$T/t2" \
	    --id node-2 --ip 127.0.0.1 --out "$T/o3"
	run grep -c -e tok-node- -e "$OP" "$D/X.log" "$D/B.log"
	assert_output --regexp ':0'
	refute_output --regexp ':[1-9]'
}

@test "node tokens: SIGHUP adds and revokes nodes; a broken file keeps the old table" {
	local d=$T n
	printf '%s\n' "$OP" >"$d/token"
	printf 'node-1 one\n' >"$d/nodes"
	start_server H "$d" serve-bundle --token-file "$d/token" \
	    --node-tokens "$d/nodes" "$FIXTURES/bundles/fetch.json"
	body='{"identifier":"node-2","ip":"10.0.0.2"}'
	run curl -s -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer two' --data "$body" "$H_URL/node"
	assert_output 401
	# Added: node-2; revoked: node-1.
	printf 'node-2 two\n' >"$d/nodes"
	kill -HUP "$H_PID"
	for n in $(seq 1 100); do
		grep -q 'node tokens: reloaded, 1 nodes' "$d/H.log" && break
		sleep 0.05
	done
	run curl -s -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer two' --data "$body" "$H_URL/node"
	assert_output 200
	run curl -s -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer one' \
	    --data '{"identifier":"node-1","ip":"10.0.0.1"}' "$H_URL/node"
	assert_output 401
	# Broken: refused, named file:line, node-2 still served.
	printf 'node-2 two\nnode-1\n' >"$d/nodes"
	kill -HUP "$H_PID"
	for n in $(seq 1 100); do
		grep -q 'node tokens: reload refused' "$d/H.log" && break
		sleep 0.05
	done
	run grep -c "node tokens: reload refused, keeping the old table: $d/nodes:2: not IDENTIFIER TOKEN" "$d/H.log"
	assert_output 1
	run curl -s -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer two' --data "$body" "$H_URL/node"
	assert_output 200
	stop_server H
}

@test "node tokens: a directory of one file per node" {
	local d=$T
	mkdir "$d/tokens.d"
	printf 'one\n' >"$d/tokens.d/node-1"
	printf 'two' >"$d/tokens.d/node-2"
	printf 'ignored\n' >"$d/tokens.d/.keep"
	start_server DIR "$d" serve-bundle --node-tokens "$d/tokens.d" \
	    "$FIXTURES/bundles/fetch.json"
	run curl -s -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer two' \
	    --data '{"identifier":"node-2","ip":"10.0.0.2"}' "$DIR_URL/node"
	assert_output 200
	run curl -s -o /dev/null -w '%{http_code}' -H 'Authorization: bearer   one ' \
	    --data '{"identifier":"node-1","ip":"10.0.0.1"}' "$DIR_URL/node"
	assert_output 200
	run curl -s -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer one' \
	    --data '{"identifier":"node-2","ip":"10.0.0.2"}' "$DIR_URL/node"
	assert_output 401
	# No --token-file: no one holds the operator's routes.
	run curl -s -o /dev/null -w '%{http_code}' "$DIR_URL/status"
	assert_output 401
	run curl -s -o /dev/null -w '%{http_code}' "$DIR_URL/healthz"
	assert_output 200
	run grep -c 'no --token-file: the operator' "$d/DIR.log"
	assert_output 1
	stop_server DIR
}

@test "node tokens: a bad tokens file at start exits 2 naming file:line" {
	printf 'node-1 a\n# c\nnode-2 b c\n' >"$T/bad"
	run -2 --separate-stderr cfgsync serve-bundle --listen 127.0.0.1:0 \
	    --node-tokens "$T/bad" "$FIXTURES/bundles/fetch.json"
	assert_equal "$stderr" "cfgsync: serve-bundle: $T/bad:3: not IDENTIFIER TOKEN"
	printf 'node-1 a\nnode-1 b\n' >"$T/dup"
	run -2 --separate-stderr cfgsync serve-exec --listen 127.0.0.1:0 \
	    --node-tokens "$T/dup" -- "$FIXTURES/need2.sh"
	assert_equal "$stderr" "cfgsync: serve-exec: $T/dup:2: node-1 listed twice"
	printf 'no/de a\n' >"$T/badid"
	run -2 --separate-stderr cfgsync serve-exec --listen 127.0.0.1:0 \
	    --node-tokens "$T/badid" -- "$FIXTURES/need2.sh"
	assert_regex "$stderr" "^cfgsync: serve-exec: $T/badid:1: "
	mkdir "$T/d"
	printf 'x\n' >"$T/d/bad name"
	run -2 --separate-stderr cfgsync serve-bundle --listen 127.0.0.1:0 \
	    --node-tokens "$T/d" "$FIXTURES/bundles/fetch.json"
	assert_regex "$stderr" "^cfgsync: serve-bundle: $T/d/bad name: "
	run -2 --separate-stderr cfgsync serve-bundle --listen 127.0.0.1:0 \
	    --node-tokens "$T/none" "$FIXTURES/bundles/fetch.json"
	assert_regex "$stderr" "^cfgsync: serve-bundle: $T/none: "
}

@test "node tokens: serve CONFIG takes --node-tokens" {
	printf 'port: 1\nsource:\n  kind: registration\n  artifacts_path: a.json\n' >"$T/server.yaml"
	cp "$FIXTURES/bundles/fetch.json" "$T/a.json"
	printf 'node-1 one\nnode-2 two\n' >"$T/nodes"
	start_server C "$T" serve --node-tokens "$T/nodes" "$T/server.yaml"
	run curl -s -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer two' \
	    --data '{"identifier":"node-1","ip":"10.0.0.1"}' "$C_URL/register"
	assert_output 401
	run curl -s -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer one' \
	    --data '{"identifier":"node-1","ip":"10.0.0.1"}' "$C_URL/register"
	assert_output 202
	run curl -s -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer one' \
	    --data '{"identifier":"node-1","ip":"10.0.0.1"}' "$C_URL/node"
	assert_output 200
	stop_server C
	run -2 cfgsync serve --bind-first "$T/server.yaml"
}

# reg URL ID TOKEN [PATH]: the status of POST PATH (/register) for ID.
reg() {
	local -a h=()
	[ -n "$3" ] && h=(-H "Authorization: Bearer $3")
	curl -s -o /dev/null -w '%{http_code}' -m 20 "${h[@]}" \
	    --data "{\"identifier\":\"$2\",\"ip\":\"10.0.0.9\"}" "$1${4:-/register}"
}

@test "bind-first: the first registration binds its token, kept in --state across a restart, DELETE unbinds" {
	local d=$T
	printf '%s\n' "$OP" >"$d/token"
	printf 'node-1 one\n' >"$d/nodes"
	NEED=1 start_server F "$d" serve-exec --bind-first --state "$d/state" \
	    --token-file "$d/token" --node-tokens "$d/nodes" -- "$FIXTURES/need2.sh"
	run reg "$F_URL" new-1 ""
	assert_output 401
	run reg "$F_URL" new-1 first
	assert_output 202
	run reg "$F_URL" new-1 second
	assert_output 401
	run reg "$F_URL" new-1 first /node
	assert_output 200
	run reg "$F_URL" new-1 second /node
	assert_output 401
	# A listed node must use its listed token, bind-first or not.
	run reg "$F_URL" node-1 mine
	assert_output 401
	run reg "$F_URL" node-1 one
	assert_output 202
	assert [ -s "$d/state.bindings" ]
	refute grep -q first "$d/state.bindings"
	stop_server F
	rm -f "$d/F.port"
	NEED=1 start_server F "$d" serve-exec --bind-first --state "$d/state" \
	    --token-file "$d/token" --node-tokens "$d/nodes" -- "$FIXTURES/need2.sh"
	run grep -c 'bind-first: 1 nodes bound' "$d/F.log"
	assert_output 1
	run reg "$F_URL" new-1 second
	assert_output 401
	run reg "$F_URL" new-1 first
	assert_output 202
	# The operator deletes it: re-provisioned, it binds anew.
	run curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer second" \
	    -X DELETE "$F_URL/registrations/new-1"
	assert_output 401
	run curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $OP" \
	    -X DELETE "$F_URL/registrations/new-1"
	assert_output 204
	run reg "$F_URL" new-1 second
	assert_output 202
	run reg "$F_URL" new-1 first
	assert_output 401
	stop_server F
}

@test "bind-first: serve-bundle binds nodes its bundle holds, in memory" {
	start_server G "$T" serve-bundle --bind-first "$FIXTURES/bundles/fetch.json"
	run reg "$G_URL" node-2 ""
	assert_output 401
	run reg "$G_URL" node-2 b1 /node
	assert_output 401
	run reg "$G_URL" node-2 b1
	assert_output 202
	run reg "$G_URL" node-2 b1 /node
	assert_output 200
	run reg "$G_URL" node-2 b2 /node
	assert_output 401
	# Not in the bundle: nothing to bind, and no telling it from a bad token.
	run reg "$G_URL" ghost b1
	assert_output 401
	stop_server G
}

@test "node tokens: bash completes --node-tokens with file names" {
	mkdir -p "$T/c"
	: >"$T/c/nodes.txt"
	run -0 bash -c '
		source "$1/completions/cfgsync.bash"
		cd "$2"
		COMP_WORDS=(cfgsync serve-exec --node-tokens no)
		COMP_CWORD=3
		COMP_LINE="${COMP_WORDS[*]}"
		COMP_WORDBREAKS=" "
		_cfgsync
		printf "%s\n" "${COMPREPLY[@]}"' _ "$TOP" "$T/c"
	assert_output nodes.txt
}

@test "bind-first: a binding acknowledged is kept through SIGKILL; past --max-registrations none is made" {
	local d=$T
	NEED=1 start_server K "$d" serve-exec --bind-first --state "$d/state" \
	    --max-registrations 2 -- "$FIXTURES/need2.sh"
	run reg "$K_URL" k-1 first
	assert_output 202
	run reg "$K_URL" k-2 second
	assert_output 202
	run reg "$K_URL" k-3 third
	assert_output 503
	run grep -c '^k-' "$d/state.bindings"
	assert_output 2
	kill -KILL "$K_PID"
	wait "$K_PID" || true
	NEED=1 start_server K "$d" serve-exec --bind-first --state "$d/state" \
	    --max-registrations 2 -- "$FIXTURES/need2.sh"
	run reg "$K_URL" k-1 other
	assert_output 401
	run reg "$K_URL" k-1 first /node
	assert_output 200
	stop_server K
}
