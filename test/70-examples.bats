bats_require_minimum_version 1.5.0

# The examples that ship in share/: the Kubernetes and Compose files are
# well-formed YAML of the expected shape, every cfgsync flag an example
# uses is one that `cfgsync COMMAND --help` lists, the systemd units pass
# systemd-analyze verify, and the C materializer builds warning-free and
# works against a real serve-exec.  (The sh and Python materializers run
# against serve-exec in 60-serve-exec.bats.)

load helpers

SHARE="$TOP/share"

teardown() {
	stop_server S || true
}

# need_yaml: skips unless python3 can import yaml (Debian's python3-yaml,
# installed by make deps-test).
need_yaml() {
	python3 -c 'import yaml' 2>/dev/null ||
	    skip "python3 has no yaml module (python3-yaml)"
}

@test "examples: share/kubernetes/cfgsync.yaml is a Secret, a Service, the server's Deployment and an app with a fetching init container" {
	need_yaml
	run -0 python3 - "$SHARE/kubernetes/cfgsync.yaml" <<'PY'
import sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d is not None]
kinds = {d["kind"]: d for d in docs}
assert sorted(kinds) == ["Deployment", "Secret", "Service",
                        "StatefulSet"], kinds
assert "token" in kinds["Secret"]["stringData"]
svc = kinds["Service"]["spec"]
srv = kinds["Deployment"]["spec"]["template"]
assert svc["selector"] == srv["metadata"]["labels"]
c = srv["spec"]["containers"][0]
assert c["args"][:2] == ["cfgsync", "serve-exec"], c["args"]
assert "/run/secrets/cfgsync/token" in c["args"]
app = kinds["StatefulSet"]["spec"]["template"]["spec"]
init = app["initContainers"][0]
assert init["args"][:2] == ["cfgsync", "fetch"], init["args"]
out = init["args"][init["args"].index("--out") + 1]
vols = {v["name"]: v for v in app["volumes"]}
shared = [m["name"] for m in init["volumeMounts"] if m["mountPath"] == out]
assert shared and "emptyDir" in vols[shared[0]], (out, vols)
assert any(m["name"] == shared[0] for m in app["containers"][0]["volumeMounts"])
env = {e["name"]: e for e in init["env"]}
assert env["CFG_SERVER_ADDR"]["value"] == "http://%s:%d" % (
    kinds["Service"]["metadata"]["name"], svc["ports"][0]["port"])
assert "CFG_HOST_IDENTIFIER" in env and "CFG_HOST_IP" in env
print("ok")
PY
	assert_output ok
}

@test "examples: share/compose/docker-compose.yml has a server and three nodes that fetch from it" {
	need_yaml
	run -0 python3 - "$SHARE/compose/docker-compose.yml" <<'PY'
import sys, yaml
doc = yaml.safe_load(open(sys.argv[1]))
svc = doc["services"]
assert sorted(svc) == ["node-1", "node-2", "node-3", "server"], sorted(svc)
assert svc["server"]["command"][:2] == ["cfgsync", "serve-exec"]
port = svc["server"]["command"][svc["server"]["command"].index("--listen") + 1]
for n in ("node-1", "node-2", "node-3"):
    s = svc[n]
    assert s["command"][:2] == ["cfgsync", "fetch"], s["command"]
    assert s["environment"]["CFG_HOST_IDENTIFIER"] == n
    assert s["environment"]["CFG_SERVER_ADDR"] == "http://server:" + port
    assert "server" in s["depends_on"]
print("ok")
PY
	assert_output ok
}

@test "examples: every cfgsync flag the examples use is in that command's --help" {
	need_yaml
	run -0 python3 - "$SHARE" <<'PY'
import os, shlex, subprocess, sys, yaml
share = sys.argv[1]
calls = []                      # (where, argv)

def walk(where, node):
    if isinstance(node, dict):
        for v in node.values():
            walk(where, v)
    elif isinstance(node, list):
        if node and node[0] == "cfgsync":
            calls.append((where, [str(a) for a in node]))
        else:
            for v in node:
                walk(where, v)

for sub in ("kubernetes", "compose"):
    d = os.path.join(share, sub)
    for f in sorted(os.listdir(d)):
        for doc in yaml.safe_load_all(open(os.path.join(d, f))):
            walk(f, doc)
d = os.path.join(share, "systemd")
for f in sorted(os.listdir(d)):
    if not f.endswith(".service"):
        continue
    text = open(os.path.join(d, f)).read().replace("\\\n", " ")
    for line in text.splitlines():
        if line.startswith("ExecStart="):
            argv = shlex.split(line[len("ExecStart="):])
            argv[0] = os.path.basename(argv[0])
            calls.append((f, argv))

helps = {}
bad = []
for where, argv in calls:
    cmd = argv[1]
    if cmd not in helps:
        helps[cmd] = subprocess.run(["cfgsync", cmd, "--help"],
            capture_output=True, text=True, check=True).stdout
    words = set(helps[cmd].replace("[", " ").replace("]", " ")
        .replace("|", " ").split())
    for a in argv[2:]:
        if a == "--":
            break
        if a.startswith("-") and a.split("=")[0] not in words:
            bad.append("%s: cfgsync %s %s" % (where, cmd, a))
print("%d calls" % len(calls))
for b in bad:
    print(b)
PY
	# Two in Kubernetes, four in Compose, two units.
	assert_output "8 calls"
}

@test "examples: the systemd units pass systemd-analyze verify" {
	command -v systemd-analyze >/dev/null || skip "no systemd-analyze"
	d=$BATS_TEST_TMPDIR
	# The units name the installed paths; point them at this tree, and
	# Documentation= at its man pages.
	for u in cfgsync-serve-exec.service cfgsync-fetch.service; do
		sed -e "s|/usr/local/bin/cfgsync|$TOP/cfgsync|" \
		    -e "s|/usr/local/share/cfgsync|$SHARE|" \
		    "$SHARE/systemd/$u" >"$d/$u"
	done
	mkdir -p "$d/man/man1" "$d/man/man5" "$d/man/man7"
	for m in "$TOP"/man/*; do
		cp "$m" "$d/man/man${m##*.}/"
	done
	cd "$d"
	# verify exits 0 on unknown keys too: no output at all is the test.
	MANPATH=$d/man run -0 systemd-analyze verify \
	    "$d/cfgsync-serve-exec.service" "$d/cfgsync-fetch.service"
	assert_output ""
}

@test "examples: the systemd units keep state under StateDirectory= and run sandboxed; fetch is a oneshot before the app" {
	u=$SHARE/systemd/cfgsync-serve-exec.service
	for k in DynamicUser=yes StateDirectory=cfgsync ProtectSystem=strict \
	    ProtectHome=yes NoNewPrivileges=yes PrivateTmp=yes \
	    CapabilityBoundingSet= RestrictAddressFamilies=; do
		grep -q "^$k" "$u" || fail "$u lacks $k"
	done
	grep -q -- '--state /var/lib/cfgsync/' "$u"
	u=$SHARE/systemd/cfgsync-fetch.service
	for k in Type=oneshot RemainAfterExit=yes Before=app.service \
	    EnvironmentFile=/etc/cfgsync/fetch.env RequiredBy=app.service \
	    ProtectSystem=strict; do
		grep -q "^$k" "$u" || fail "$u lacks $k"
	done
	# The environment file sets only variables fetch reads.
	run -0 sed -n 's/^#\{0,1\}\([A-Z_]*\)=.*/\1/p' \
	    "$SHARE/systemd/cfgsync-fetch.env"
	for v in "${lines[@]}"; do
		grep -q "^\.It Ev $v\$" "$TOP/man/cfgsync-fetch.1" ||
		    fail "cfgsync-fetch(1) does not document $v"
	done
	assert [ "${#lines[@]}" -ge 4 ]
}

# build_peers: compiles share/materializers/peers.c against json-c,
# warning-free, into $BATS_TEST_TMPDIR/peers.
build_peers() {
	run -0 cc -std=c11 -Wall -Wextra -Wformat=2 -Wshadow -Werror \
	    -o "$BATS_TEST_TMPDIR/peers" "$SHARE/materializers/peers.c" \
	    $(pkg-config --cflags --libs json-c)
	assert_output ""
}

@test "examples: share/materializers/peers.c builds warning-free and is not ready below N" {
	build_peers
	snap=$(vec snapshot.json)
	run -0 --separate-stderr "$BATS_TEST_TMPDIR/peers" 3 <"$snap"
	assert_output '{"ready": false}'
	assert_equal "$stderr" "peers: 2 of 3 nodes registered"
	run -0 --separate-stderr "$BATS_TEST_TMPDIR/peers" 2 <"$snap"
	jq -e '.nodes | map(.identifier) == ["node-1", "node-2"]' <<<"$output"
	run -2 --separate-stderr "$BATS_TEST_TMPDIR/peers" x </dev/null
	run -1 --separate-stderr "$BATS_TEST_TMPDIR/peers" 1 <<<'{"x": 1}'
	assert_regex "$stderr" 'no registrations'
}

@test "examples: share/materializers/peers.c under serve-exec gives each node its peers and all one deployment.yaml" {
	build_peers
	start_server S "$BATS_TEST_TMPDIR" serve-exec --debounce 50 -- \
	    "$BATS_TEST_TMPDIR/peers" 3
	for i in 1 2 3; do
		cfgsync fetch --server "$S_URL" --id "node-$i" --ip "10.0.0.$i" \
		    --metadata "{\"network_port\": 700$i}" \
		    --out "$BATS_TEST_TMPDIR/o$i" --timeout 20 -q &
		eval "p$i=\$!"
	done
	wait "$p1" && wait "$p2" && wait "$p3"
	run cat "$BATS_TEST_TMPDIR/o2/config.yaml"
	assert_output "$(printf '%s\n' 'id: "node-2"' 'ip: "10.0.0.2"' \
	    'port: 7002' 'peers:' '  - id: "node-1"' '    address: "10.0.0.1"' \
	    '    port: 7001' '  - id: "node-3"' '    address: "10.0.0.3"' \
	    '    port: 7003')"
	cmp "$BATS_TEST_TMPDIR/o1/deployment.yaml" \
	    "$BATS_TEST_TMPDIR/o3/deployment.yaml"
	run cat "$BATS_TEST_TMPDIR/o2/deployment.yaml"
	assert_line 'cluster_size: 3'
	assert_line '  - id: "node-3"'
	if python3 -c 'import yaml' 2>/dev/null; then
		python3 -c 'import sys, yaml
d = yaml.safe_load(open(sys.argv[1]))
assert [n["port"] for n in d["nodes"]] == [7001, 7002, 7003], d' \
		    "$BATS_TEST_TMPDIR/o1/deployment.yaml"
	fi
	# A fourth node is in the next set: everyone's peers grow.
	run -0 cfgsync fetch --server "$S_URL" --id node-4 --ip 10.0.0.4 \
	    --out "$BATS_TEST_TMPDIR/o4" --timeout 20 -q
	run grep -c '^  - id:' "$BATS_TEST_TMPDIR/o4/config.yaml"
	assert_output 3
}
