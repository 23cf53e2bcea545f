bats_require_minimum_version 1.5.0

load helpers

# Drop-in for the original (issue 9, SPEC 5 and 9).

teardown() {
	stop_server OWN || true
}

# ---------------------------------------------------------------------
# YAML bundles and both shapes (issue 9, items 1 and 2): the original's
# artifact files load, and what cfgsync writes the original can read.
# Fixtures in test/fixtures/dropin/ hold test/vectors/bundle.json in the
# other shapes and forms.
# ---------------------------------------------------------------------

DROPIN="$FIXTURES/dropin"

# packed BUNDLE: the JSON that pack writes for the tree BUNDLE unpacks to.
packed() {
	local d
	d=$(mktemp -d "$BATS_TEST_TMPDIR/packed.XXXXXX")
	cfgsync bundle unpack "$1" "$d/t" || return 1
	cfgsync bundle pack "$d/t" -o -
}

@test "bundle: YAML of both shapes and JSON of the materialized one hold the vector bundle" {
	local f
	run -0 --separate-stderr packed "$(vec bundle.json)"
	local want=$output
	for f in artifacts.yaml static.yaml materialized.json; do
		run -0 --separate-stderr packed "$DROPIN/$f"
		assert_equal "$output" "$want"
		run -0 --separate-stderr cfgsync bundle check "$DROPIN/$f"
		run -0 --separate-stderr cfgsync bundle list "$DROPIN/$f"
		assert_output "$(printf 'node-1\t/config.yaml\t0644\t11\nnode-2\t/config.yaml\t0644\t11\nshared\tdeployment-settings.yaml\t0644\t12')"
	done
}

@test "serve-bundle: serves YAML bundles of both shapes and the materialized shape in JSON" {
	local f
	for f in artifacts.yaml static.yaml materialized.json; do
		start_server OWN "$BATS_TEST_TMPDIR/$f" serve-bundle \
		    "$DROPIN/$f"
		req POST "$OWN_URL/node" -H 'Content-Type: application/json' \
		    --data-binary "@$(vec registration.json)"
		assert_equal "$STATUS" 200
		json_eq "$BATS_TEST_TMPDIR/body" "$(vec payload.json)"
		stop_server OWN
	done
}

@test "bundle: YAML in flow style is read, and bad JSON stays a JSON error" {
	local t=$BATS_TEST_TMPDIR
	printf '{nodes: {n1: {files: [{path: a, content: "x\\n"}]}}, shared: {files: []}}\n' \
	    >"$t/flow.yaml"
	run -0 --separate-stderr cfgsync bundle list "$t/flow.yaml"
	assert_output "$(printf 'n1\ta\t0644\t2')"
	printf '{"nodes": [' >"$t/trunc.json"
	run -7 --separate-stderr cfgsync bundle check "$t/trunc.json"
	assert_regex "$stderr" 'trunc\.json: bundle: truncated JSON$'
}

@test "bundle: a node without files has none, in both shapes" {
	local t=$BATS_TEST_TMPDIR
	printf 'nodes:\n  a:\n  b: {}\n  c:\n    files:\n  d:\n    files: []\n' \
	    >"$t/m.yaml"
	printf '{"nodes":[{"identifier":"a"},{"identifier":"b","files":null}]}' \
	    >"$t/s.json"
	printf 'nodes:\n- identifier: a\n' >"$t/s.yaml"
	run -0 --separate-stderr cfgsync bundle unpack "$t/m.yaml" "$t/m"
	run -0 ls -A "$t/m" "$t/m/nodes/a" "$t/m/nodes/b" "$t/m/nodes/c" \
	    "$t/m/nodes/d"
	assert_output "$(printf '%s:\nnodes\n\n' "$t/m"; printf '%s:\n\n' \
	    "$t/m/nodes/a" "$t/m/nodes/b" "$t/m/nodes/c"; printf '%s:' \
	    "$t/m/nodes/d")"
	run -0 --separate-stderr cfgsync bundle pack "$t/m" -o -
	assert_output '{"nodes":[{"identifier":"a","files":[]},{"identifier":"b","files":[]},{"identifier":"c","files":[]},{"identifier":"d","files":[]}],"shared_files":[]}'
	run -0 --separate-stderr packed "$t/s.json"
	assert_output '{"nodes":[{"identifier":"a","files":[]},{"identifier":"b","files":[]}],"shared_files":[]}'
	run -0 --separate-stderr packed "$t/s.yaml"
	assert_output '{"nodes":[{"identifier":"a","files":[]}],"shared_files":[]}'
}

@test "bundle pack: YAML and the materialized shape, each byte-stable and read back whole" {
	local t=$BATS_TEST_TMPDIR out
	cfgsync bundle unpack "$(vec bundle.json)" "$t/tree"
	printf '#!/bin/sh\nexit 0\n' >"$t/tree/shared/hook.sh"
	chmod 0755 "$t/tree/shared/hook.sh"
	mkdir "$t/tree/nodes/node-3"
	cfgsync bundle pack "$t/tree" -o "$t/want.json"
	for out in s.yaml s.yml m.yaml m.json; do
		case $out in
		m.*)	set -- --shape materialized ;;
		*)	set -- ;;
		esac
		run -0 --separate-stderr cfgsync bundle pack "$t/tree" "$@" \
		    -o "$t/$out"
		run -0 --separate-stderr cfgsync bundle pack "$t/tree" "$@" \
		    -o "$t/again.$out"
		cmp "$t/$out" "$t/again.$out"
		run -0 --separate-stderr packed "$t/$out"
		assert_equal "$output" "$(cat "$t/want.json")"
		# The tree unpacked from it packs to the same bytes again.
		cfgsync bundle unpack "$t/$out" "$t/back.$out"
		run -0 --separate-stderr cfgsync bundle pack "$t/back.$out" \
		    "$@" -o "$t/back.$out.${out#*.}"
		cmp "$t/$out" "$t/back.$out.${out#*.}"
	done
	cmp "$t/s.yaml" "$t/s.yml"
	run -0 --separate-stderr cfgsync bundle pack "$t/tree" --format yaml \
	    -o -
	assert_equal "$output" "$(cat "$t/s.yaml")"
	run -0 cat "$t/m.yaml"
	assert_output - <<-'EOF'
	nodes:
	  node-1:
	    files:
	    - path: /config.yaml
	      content: |
	        id: node-1
	  node-2:
	    files:
	    - path: /config.yaml
	      content: |
	        id: node-2
	  node-3:
	    files: []
	shared:
	  files:
	  - path: deployment-settings.yaml
	    content: |
	      mode: local
	  - path: hook.sh
	    content: |
	      #!/bin/sh
	      exit 0
	    mode: "0755"
	EOF
	run -0 jq -c '.nodes | keys' "$t/m.json"
	assert_output '["node-1","node-2","node-3"]'
	run -0 jq -c '.shared.files[1]' "$t/m.json"
	assert_output '{"path":"hook.sh","content":"#!/bin/sh\nexit 0\n","mode":"0755"}'
}

@test "serve-exec: a materializer may print the materialized shape; --persist reads back" {
	local t=$BATS_TEST_TMPDIR i
	start_server_raw OWN "$t" serve-exec --listen 127.0.0.1:0 \
	    --port-file "$t/OWN.port" --debounce 50 --persist "$t/ready.json" \
	    -- "$DROPIN/materialized.sh"
	run -0 --separate-stderr cfgsync fetch --server "$OWN_URL" --id node-1 \
	    --ip 10.0.0.1 --out "$t/o" --timeout 10 -q
	assert_equal "$(cat "$t/o/config.yaml")" "id: node-1"
	assert_equal "$(cat "$t/o/shared.yaml")" "shared"
	for i in $(seq 1 100); do
		[ -s "$t/ready.json" ] && break
		sleep 0.05
	done
	run -0 --separate-stderr cfgsync bundle list "$t/ready.json"
	assert_output "$(printf 'node-1\tconfig.yaml\t0644\t11\nshared\tshared.yaml\t0644\t7')"
}

@test "bundle pack: --shape needs a document format and a known shape" {
	cfgsync bundle unpack "$(vec bundle.json)" "$BATS_TEST_TMPDIR/tree"
	run -2 --separate-stderr cfgsync bundle pack "$BATS_TEST_TMPDIR/tree" \
	    --shape materialized -o "$BATS_TEST_TMPDIR/x.tar"
	assert_regex "$stderr" '^cfgsync: bundle pack: --shape: only a JSON or YAML bundle has a shape'
	run -2 --separate-stderr cfgsync bundle pack "$BATS_TEST_TMPDIR/tree" \
	    --shape round -o -
	assert_regex "$stderr" '^cfgsync: bundle pack: --shape round: not static or materialized'
	assert [ ! -e "$BATS_TEST_TMPDIR/x.tar" ]
}

@test "bundle check: YAML's hazards are exit 7 naming the line and column" {
	local t=$BATS_TEST_TMPDIR doc want
	while IFS='|' read -r doc want; do
		printf "$doc" >"$t/bad.yaml"
		run -7 --separate-stderr cfgsync bundle check "$t/bad.yaml"
		assert_regex "$stderr" "^cfgsync: bundle check: $t/bad.yaml: bundle: YAML $want"
		run -7 --separate-stderr cfgsync bundle unpack "$t/bad.yaml" \
		    "$t/out"
		assert [ ! -e "$t/out" ]
	done <<-'EOF'
	nodes:\n  a: {}\n  a: {}\n|3:3: duplicate key a$
	nodes: {}\nshared:\n  files: []\n  files: []\n|4:3: duplicate key files$
	nodes: !!map {}\n|1:8: tag tag:yaml.org,2002:map: tags are refused$
	nodes:\n  a:\n    files:\n    - path: !x a\n|4:13: tag !x: tags are refused$
	nodes:\n  1: {}\n|2:3: key 1: a number, not a string \(quote it\)$
	nodes:\n  true: {}\n|2:3: key true: a boolean
	nodes:\n  ~: {}\n|2:3: key ~: a null
	nodes:\n  [a]: {}\n|2:3: a collection as a key: only strings are keys$
	x: &k a\nnodes:\n  *k : {}\n|3:3: an alias as a key
	nodes:\n  a:\n    files: *none\n|3:12: alias \*none: no anchor &none before it$
	nodes: &n\n  a: *n\n|2:6: alias \*n: no anchor
	nodes: {}\n---\nnodes: {}\n|2:1: a second document$
	nodes:\n  a:\n    files:\n    - path: "\xff"\n|4:14: invalid leading UTF-8 octet \(byte 0xff\)$
	nodes:\n  b\xc3(: {}\n|2:5: invalid trailing UTF-8 octet
	nodes: {}\nx: "\x01"\n|2:5: control characters are not allowed
	nodes: [\n|2:1: did not find expected node content
	EOF
}

@test "bundle check: a billion laughs is refused within the caps, fast" {
	run -7 --separate-stderr timeout 10 cfgsync bundle check \
	    "$DROPIN/bomb.yaml"
	assert_regex "$stderr" 'bomb\.yaml: bundle: YAML 12:17: over [0-9]+ nodes with aliases expanded$'
	run -7 --separate-stderr timeout 10 cfgsync serve-bundle \
	    --listen 127.0.0.1:0 "$DROPIN/bomb.yaml"
	assert_regex "$stderr" 'over [0-9]+ nodes with aliases expanded$'
	# Aliases within the caps are expanded, as the original expands them.
	printf 'f: &f\n  path: a\n  content: x\nnodes:\n  n1:\n    files: [*f]\n  n2:\n    files: [*f]\n' \
	    >"$BATS_TEST_TMPDIR/alias.yaml"
	run -0 --separate-stderr cfgsync bundle list "$BATS_TEST_TMPDIR/alias.yaml"
	assert_output "$(printf 'n1\ta\t0644\t1\nn2\ta\t0644\t1')"
	# Bytes count too: an alias of a big string past --max-total-size.
	{
		printf 's: &s "'; head -c 600 /dev/zero | tr '\0' a; printf '"\n'
		printf 'nodes: {}\nx: [*s, *s]\n'
	} >"$BATS_TEST_TMPDIR/bytes.yaml"
	run -7 --separate-stderr cfgsync bundle check --max-total-size 1000 \
	    "$BATS_TEST_TMPDIR/bytes.yaml"
	assert_regex "$stderr" 'YAML 3:5: over 1000 bytes of scalars with aliases expanded$'
}

@test "serve-bundle: a YAML bundle with a duplicate key exits 7" {
	printf 'nodes:\n  a: {}\n  a: {}\n' >"$BATS_TEST_TMPDIR/dup.yaml"
	run -7 --separate-stderr cfgsync serve-bundle --listen 127.0.0.1:0 \
	    "$BATS_TEST_TMPDIR/dup.yaml"
	assert_regex "$stderr" '^cfgsync: serve-bundle: .*dup\.yaml: bundle: YAML 3:3: duplicate key a$'
}

@test "bundle pack: controls and astral characters are written so a YAML reader takes them exactly" {
	local t=$BATS_TEST_TMPDIR out
	mkdir -p "$t/tree/nodes/n1" "$t/tree/shared"
	# C0 and C1 controls, DEL, CR, tab, a BOM, U+FFFE, and an emoji.
	printf 'c0 \001\033\037 del \177 c1 \302\205\302\220\302\237\r\n\ttab \357\273\277 \357\277\276 \360\237\230\200\n' \
	    >"$t/tree/nodes/n1/ctl.txt"
	printf '\360\220\200\200 astral only' >"$t/tree/shared/astral.txt"
	cat >"$t/read.py" <<-'EOF'
	import os, re, sys, yaml
	data = open(sys.argv[1], 'rb').read()
	assert not re.search(rb'[\x00-\x09\x0b-\x1f\x7f]|\xc2[\x80-\x9f]', data), 'raw control'
	assert not re.search(rb'\\u[dD][89abAB]', data), 'surrogate escape'
	doc = yaml.safe_load(data)
	got = {}
	nodes = doc['nodes']
	if isinstance(nodes, list):
	    for n in nodes:
	        for f in n.get('files') or []:
	            got['nodes/%s/%s' % (n['identifier'], f['path'])] = f['content']
	    shared = doc.get('shared_files') or []
	else:
	    for k, n in nodes.items():
	        for f in (n or {}).get('files') or []:
	            got['nodes/%s/%s' % (k, f['path'])] = f['content']
	    shared = (doc.get('shared') or {}).get('files') or []
	for f in shared:
	    got['shared/' + f['path']] = f['content']
	want = {}
	for root, _, names in os.walk(sys.argv[2]):
	    for name in names:
	        p = os.path.join(root, name)
	        want[os.path.relpath(p, sys.argv[2])] = open(p, 'rb').read().decode()
	assert got == want, (got, want)
	EOF
	for out in s.json s.yaml m.json m.yaml; do
		case $out in
		m.*)	set -- --shape materialized ;;
		*)	set -- ;;
		esac
		run -0 --separate-stderr cfgsync bundle pack "$t/tree" "$@" \
		    -o "$t/$out"
		run -0 python3 "$t/read.py" "$t/$out" "$t/tree"
		# libyaml, the original's reader, takes the JSON as YAML too.
		{ printf '# JSON read as YAML\n'; cat "$t/$out"; } >"$t/as-yaml"
		run -0 --separate-stderr packed "$t/as-yaml"
		assert_equal "$output" "$(cfgsync bundle pack "$t/tree" -o -)"
	done
	run -0 grep -c 'u0085' "$t/s.json"
}

# ---------------------------------------------------------------------
# `cfgsync serve CONFIG` (issue 9, item 5) and the original's program
# names (item 6).
# ---------------------------------------------------------------------

# serve_config NAME DIR CONFIG...: starts `cfgsync serve` on 127.0.0.1
# port 0 with the config text given (written to DIR/NAME.yaml).
serve_config() {
	local name=$1 dir=$2
	shift 2
	mkdir -p "$dir"
	printf '%s\n' "$@" >"$dir/$name.yaml"
	start_server_raw "$name" "$dir" serve --listen 127.0.0.1:0 \
	    --port-file "$dir/$name.port" "$dir/$name.yaml"
}

status_of() {
	curl -s -o /dev/null -w '%{http_code}' --data \
	    "{\"identifier\":\"$2\",\"ip\":\"10.0.0.1\"}" "$1$3"
}

@test "serve: kind static (and bundle) serves the artifacts as serve-bundle does" {
	local T=$BATS_TEST_TMPDIR kind
	cp "$DROPIN/artifacts.yaml" "$T/cfgsync.artifacts.yaml"
	for kind in static bundle; do
		serve_config OWN "$T" 'port: 4400' 'source:' "  kind: $kind" \
		    '  artifacts_path: cfgsync.artifacts.yaml' 'unknown_key: 1'
		assert_equal "$(status_of "$OWN_URL" node-1 /node)" 200
		assert_equal "$(status_of "$OWN_URL" ghost /node)" 404
		assert_equal "$(status_of "$OWN_URL" node-1 /register)" 202
		run -0 cfgsync fetch -q --server "$OWN_URL" --id node-2 \
		    --ip 127.0.0.1 --out "$T/o-$kind"
		assert [ -f "$T/o-$kind/config.yaml" ]
		stop_server OWN
	done
}

@test "serve: kind registration: 202 for any node, 425 until registered, 404 when unnamed" {
	local T=$BATS_TEST_TMPDIR
	mkdir -p "$T/conf"
	cp "$DROPIN/artifacts.yaml" "$T/conf/cfgsync.artifacts.yaml"
	serve_config OWN "$T/conf" 'port: 4400' 'source:' \
	    '  kind: registration' '  artifacts_path: cfgsync.artifacts.yaml'
	assert_equal "$(status_of "$OWN_URL" node-1 /node)" 425
	assert_equal "$(status_of "$OWN_URL" node-1 /register)" 202
	assert_equal "$(status_of "$OWN_URL" node-1 /node)" 200
	assert_equal "$(status_of "$OWN_URL" stranger /register)" 202
	assert_equal "$(status_of "$OWN_URL" stranger /node)" 404
	assert_equal "$(status_of "$OWN_URL" '../x' /register)" 400
	# The whole client works against it.
	run -0 cfgsync fetch -q --server "$OWN_URL" --id node-2 \
	    --ip 127.0.0.1 --out "$T/o"
	assert [ -f "$T/o/config.yaml" ]
}

@test "serve: the older form, bundle_path and serving_mode" {
	local T=$BATS_TEST_TMPDIR
	cp "$DROPIN/static.yaml" "$T/b.yaml"
	serve_config OWN "$T" 'port: 4400' 'bundle_path: b.yaml' \
	    'serving_mode: registration'
	assert_equal "$(status_of "$OWN_URL" node-1 /node)" 425
	assert_equal "$(status_of "$OWN_URL" node-1 /register)" 202
	assert_equal "$(status_of "$OWN_URL" node-1 /node)" 200
	stop_server OWN
	serve_config OWN "$T" 'port: 4400' 'bundle_path: b.yaml'
	assert_equal "$(status_of "$OWN_URL" node-1 /node)" 200
}

@test "serve: without --listen it listens on every address at the config's port" {
	local T=$BATS_TEST_TMPDIR port
	port=$(free_port)
	cp "$DROPIN/artifacts.yaml" "$T/a.yaml"
	printf 'port: %s\nsource: {kind: static, artifacts_path: a.yaml}\n' \
	    "$port" >"$T/c.yaml"
	start_server_raw OWN "$T" serve "$T/c.yaml" --port-file "$T/OWN.port"
	run -0 grep -q "listening on http://0.0.0.0:$port" "$T/OWN.log"
	assert_equal "$(status_of "http://127.0.0.1:$port" node-1 /node)" 200
}

@test "serve: a bad config is exit 2 or 7 naming the key" {
	local T=$BATS_TEST_TMPDIR
	cp "$DROPIN/artifacts.yaml" "$T/a.yaml"
	bad() {
		local want=$1 code=$2
		shift 2
		printf '%s\n' "$@" >"$T/c.yaml"
		run "-$code" --separate-stderr cfgsync serve --listen 127.0.0.1:0 "$T/c.yaml"
		assert_regex "$stderr" "$want"
	}
	bad 'port: missing' 7 'source: {kind: static, artifacts_path: a.yaml}'
	bad 'port: 99999 is not a port' 7 'port: 99999' \
	    'source: {kind: static, artifacts_path: a.yaml}'
	bad 'source.kind: dynamic is not static' 7 'port: 1' \
	    'source: {kind: dynamic, artifacts_path: a.yaml}'
	bad 'source.artifacts_path: missing' 7 'port: 1' 'source: {kind: static}'
	bad 'source: not a mapping' 7 'port: 1' 'source: [1]'
	bad 'neither source nor bundle_path' 7 'port: 1'
	bad 'serving_mode: x is not' 7 'port: 1' 'bundle_path: a.yaml' \
	    'serving_mode: x'
	bad 'duplicate key' 7 'port: 1' 'port: 2' 'bundle_path: a.yaml'
	bad 'not a mapping' 7 '- 1'
	bad 'no-such.yaml' 2 'port: 1' 'bundle_path: no-such.yaml'
	run -2 --separate-stderr cfgsync serve --listen 127.0.0.1:0 "$T/none.yaml"
	run -2 --separate-stderr cfgsync serve
	assert_regex "$stderr" 'expected one CONFIG'
}

@test "serve: run as cfgsync-server, the binary is serve" {
	local T=$BATS_TEST_TMPDIR
	mkdir -p "$T/bin"
	ln -s "$TOP/cfgsync" "$T/bin/cfgsync-server"
	cp "$DROPIN/artifacts.yaml" "$T/a.yaml"
	printf 'port: 1\nsource: {kind: static, artifacts_path: a.yaml}\n' \
	    >"$T/c.yaml"
	"$T/bin/cfgsync-server" --listen 127.0.0.1:0 --port-file "$T/OWN.port" \
	    "$T/c.yaml" 2>"$T/OWN.log" &
	wait_port OWN "$T" $!
	assert_equal "$(status_of "$OWN_URL" node-1 /node)" 200
}

# ---------------------------------------------------------------------
# The original's client against serve-exec (issue 9, item 4): read your
# writes and --hold (SPEC 4).
# ---------------------------------------------------------------------

# original_client URL ID: what the original's client does: register,
# then POST /node 5 times, 250 ms apart, no long poll; prints the last
# status and how many milliseconds it took.
original_client() {
	local url=$1 id=$2 i code start=$(date +%s%N)
	local body="{\"identifier\":\"$id\",\"ip\":\"10.0.0.1\"}"
	curl -s -o /dev/null --data "$body" "$url/register"
	for i in 1 2 3 4 5; do
		code=$(curl -s -o /dev/null -w '%{http_code}' --data "$body" \
		    "$url/node")
		[ "$code" = 200 ] && break
		sleep 0.25
	done
	echo "$code $(( ($(date +%s%N) - start) / 1000000 ))"
}

@test "serve-exec: the original's client gets its files from a 2 s materializer" {
	local T=$BATS_TEST_TMPDIR
	SLEEP=2 start_server S "$T" serve-exec -- "$DROPIN/slow-all.sh"
	run -0 original_client "$S_URL" node-1
	assert_regex "$output" '^200 '
	# --hold 0 answers at once: the original's client then gives up.
	stop_server S
	SLEEP=2 start_server S "$T" serve-exec --hold 0 -- "$DROPIN/slow-all.sh"
	run -0 original_client "$S_URL" node-2
	assert_regex "$output" '^425 '
	stop_server S
}

@test "serve-exec: under a trickle of registrations every node gets its files within about two runs" {
	local T=$BATS_TEST_TMPDIR i pids= worst=0 line
	SLEEP=0.5 start_server S "$T" serve-exec -- "$DROPIN/slow-all.sh"
	for i in $(seq 1 50); do
		original_client "$S_URL" "node-$i" >"$T/c$i" &
		pids="$pids $!"
		sleep 0.15
	done
	wait $pids
	for i in $(seq 1 50); do
		read -r line <"$T/c$i"
		[ "${line%% *}" = 200 ] || fail "node-$i: $line"
		ms=${line#* }
		[ "$ms" -gt "$worst" ] && worst=$ms
	done
	echo "slowest node: $worst ms"
	# Two 0.5 s runs, their debounce, and a loaded machine's slack.
	[ "$worst" -lt 4000 ]
	stop_server S
}

@test "serve: POST /node/replace on the original's registration kind" {
	local T=$BATS_TEST_TMPDIR
	cp "$DROPIN/artifacts.yaml" "$T/a.yaml"
	serve_config OWN "$T" 'port: 4400' 'source:' '  kind: registration' \
	    '  artifacts_path: a.yaml'
	run -0 curl -s -o /dev/null -w '%{http_code}' --data \
	    '{"identifier":"node-1","files":[{"path":"new.txt","content":"n\n"}]}' \
	    "$OWN_URL/node/replace"
	assert_output 202
	assert_equal "$(status_of "$OWN_URL" node-1 /register)" 202
	run -0 curl -s --data '{"identifier":"node-1","ip":"10.0.0.1"}' \
	    "$OWN_URL/node"
	assert_equal "$(jq -c '[.files[].path]' <<<"$output")" \
	    '["new.txt","deployment-settings.yaml"]'
}
