bats_require_minimum_version 1.5.0

load helpers

# start_exec [SERVE-EXEC OPTIONS] -- PROGRAM [ARGS]: serve-exec on
# 127.0.0.1 (port $PORT, default 0) with its log in $BATS_TEST_TMPDIR/S.log.
start_exec() {
	start_server_raw S "$BATS_TEST_TMPDIR" serve-exec \
	    --listen "127.0.0.1:${PORT:-0}" \
	    --port-file "$BATS_TEST_TMPDIR/S.port" --debounce 50 "$@"
}

teardown() {
	stop_server S || true
}

# reg ID [IP]: registers a node with curl; prints the status.
reg() {
	curl -s -o /dev/null -w '%{http_code}' -X POST \
	    --data "{\"identifier\":\"$1\",\"ip\":\"${2:-10.0.0.1}\"}" \
	    "$S_URL/register"
}

# node ID: POST /node; prints "STATUS BODY".
node() {
	http POST "$S_URL/node" "{\"identifier\":\"$1\",\"ip\":\"10.0.0.1\"}"
}

# wait_for CMD...: retries CMD for at most 10 s.
wait_for() {
	local i
	for i in $(seq 1 200); do
		"$@" && return 0
		sleep 0.05
	done
	return 1
}

runs() {
	if [ -f "$BATS_TEST_TMPDIR/runs" ]; then
		wc -l <"$BATS_TEST_TMPDIR/runs"
	else
		echo 0
	fi
}

pipes() {
	local n=0 f
	for f in /proc/"$1"/fd/*; do
		case $(readlink "$f") in pipe:*) n=$((n + 1)) ;; esac
	done
	echo "$n"
}

status_is() {
	[ "$(node "$1" | cut -d' ' -f1)" = "$2" ]
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

@test "serve-exec: threshold: node-1 waits for node-2, then both get their files in order" {
	NEED=2 start_exec -- "$FIXTURES/need2.sh"
	assert_equal "$(reg node-1)" 202
	sleep 0.3
	run node node-1
	assert_output --regexp '^425 .*"code":"not_ready"'
	assert_equal "$(reg node-2 10.0.0.2)" 202
	wait_for status_is node-1 200
	run -0 --separate-stderr cfgsync fetch --server "$S_URL" --id node-1 \
	    --ip 10.0.0.1 --print --timeout 10
	echo "$output" >"$BATS_TEST_TMPDIR/p.json"
	run jq -r '.files[].path' "$BATS_TEST_TMPDIR/p.json"
	assert_output "$(printf 'config.yaml\nshared.yaml')"
	run -0 cfgsync fetch --server "$S_URL" --id node-2 --ip 10.0.0.2 \
	    --out "$BATS_TEST_TMPDIR/o2" --timeout 10 -q
	assert_equal "$(cat "$BATS_TEST_TMPDIR/o2/config.yaml")" "id: node-2"
	assert_equal "$(cat "$BATS_TEST_TMPDIR/o2/shared.yaml")" "n: 2"
}

@test "serve-exec: a fetch waiting with a long poll gets its files soon after the set becomes ready" {
	NEED=2 start_exec -- "$FIXTURES/need2.sh"
	cfgsync fetch --server "$S_URL" --id node-1 --ip 10.0.0.1 \
	    --out "$BATS_TEST_TMPDIR/o1" --timeout 20 -q &
	fetch=$!
	wait_for grep -q 'POST /register' "$BATS_TEST_TMPDIR/S.log"
	sleep 0.5
	start=$(date +%s%N)
	assert_equal "$(reg node-2 10.0.0.2)" 202
	wait "$fetch"
	elapsed_ms=$(( ($(date +%s%N) - start) / 1000000 ))
	echo "fetch finished ${elapsed_ms} ms after the last registration"
	[ "$elapsed_ms" -lt 2000 ]
	assert_equal "$(cat "$BATS_TEST_TMPDIR/o1/config.yaml")" "id: node-1"
	# It was one held request, not a stream of polls.
	run grep -c 'POST /node ' "$BATS_TEST_TMPDIR/S.log"
	assert_output 1
}

@test "serve-exec: 100 concurrent fetches all succeed with far fewer materializer runs" {
	NEED=100 RUNS_FILE="$BATS_TEST_TMPDIR/runs" start_exec \
	    --max-connections 400 -q -- "$FIXTURES/need2.sh"
	pids=
	for i in $(seq 1 100); do
		cfgsync fetch --server "$S_URL" --id "node-$i" --ip 10.0.0.1 \
		    --out "$BATS_TEST_TMPDIR/o/$i" --timeout 60 -q &
		pids="$pids $!"
	done
	failed=0
	for p in $pids; do
		wait "$p" || failed=$((failed + 1))
	done
	assert_equal "$failed" 0
	for i in $(seq 1 100); do
		assert_equal "$(cat "$BATS_TEST_TMPDIR/o/$i/config.yaml")" "id: node-$i"
	done
	echo "materializer runs: $(runs)"
	[ "$(runs)" -lt 30 ]
}

@test "serve-exec: each failure mode gives 500 with a reason, and a fixed program recovers" {
	echo ok >"$BATS_TEST_TMPDIR/mode"
	MODE_FILE="$BATS_TEST_TMPDIR/mode" start_exec \
	    --materializer-timeout 1 --max-output 1048576 -- "$FIXTURES/modal.sh"
	assert_equal "$(reg node-1)" 202
	wait_for status_is node-1 200
	n=2
	for mode in exit3 signal hang bigout garbage dotdot; do
		echo "$mode" >"$BATS_TEST_TMPDIR/mode"
		# A new set, so the program runs again.
		assert_equal "$(reg "other-$n")" 202
		n=$((n + 1))
		wait_for status_is node-1 500
		run node node-1
		echo "$mode: $output"
		assert_output --regexp '^500 \{"code":"internal","message":"[^"]+"\}$'
		case $mode in
		exit3) assert_output --partial "exited 3" ;;
		signal) assert_output --partial "signal" ;;
		hang) assert_output --partial "timeout" ;;
		bigout) assert_output --partial "over 1048576 bytes" ;;
		garbage) assert_output --partial "JSON" ;;
		dotdot) assert_output --partial "'..'" ;;
		esac
		run -0 curl -sf "$S_URL/healthz"
	done
	# The program's stderr reached the log, line-prefixed.
	run grep -c 'materializer: modal materializer: mode' "$BATS_TEST_TMPDIR/S.log"
	[ "$output" -ge 6 ]
	# Fixed: the retry after the back-off succeeds without a new node.
	echo ok >"$BATS_TEST_TMPDIR/mode"
	wait_for status_is node-1 200
}

@test "serve-exec: a failed run is retried after a back-off, not on every poll" {
	echo exit3 >"$BATS_TEST_TMPDIR/mode"
	MODE_FILE="$BATS_TEST_TMPDIR/mode" RUNS_FILE="$BATS_TEST_TMPDIR/runs" \
	    start_exec -- "$FIXTURES/modal.sh"
	assert_equal "$(reg node-1)" 202
	wait_for status_is node-1 500
	local start=$SECONDS elapsed
	for i in $(seq 1 50); do
		node node-1 >/dev/null
	done
	elapsed=$((SECONDS - start))
	# Runs follow the back-off (1 s, 2 s, 4 s...), not the 50 polls: on a
	# loaded machine the polls may take seconds, so allow a run per second
	# they took, far below one per poll.
	echo "runs: $(runs) in ${elapsed} s of polling"
	[ "$(runs)" -le $((2 + elapsed)) ]
	[ "$(runs)" -lt 10 ]
}

@test "serve-exec: a timed-out program's whole process group is killed, no zombie, no leaked descriptor" {
	echo fds >"$BATS_TEST_TMPDIR/mode"
	MODE_FILE="$BATS_TEST_TMPDIR/mode" start_exec \
	    --materializer-timeout 1 -- "$FIXTURES/modal.sh"
	assert_equal "$(reg node-1)" 202
	wait_for test -s "$BATS_TEST_TMPDIR/mode.fds"
	# The program sees its own pipes and nothing of the server's.
	run cat "$BATS_TEST_TMPDIR/mode.fds"
	refute_output --partial socket
	refute_output --partial eventpoll
	wait_for status_is node-1 404
	# Connections come and go; pipes are the materializer's alone.
	fds_before=$(pipes "$S_PID")
	echo hang >"$BATS_TEST_TMPDIR/mode"
	assert_equal "$(reg node-2)" 202
	wait_for status_is node-1 500
	child=$(cat "$BATS_TEST_TMPDIR/mode.child")
	# The background child of the program is gone too.
	wait_for sh -c "! kill -0 $child 2>/dev/null"
	run sh -c "ps -o stat= --ppid $S_PID | grep -c Z"
	assert_output 0
	# Let the retry succeed, so no run is in flight, then count again.
	echo fds >"$BATS_TEST_TMPDIR/mode"
	wait_for status_is node-1 404
	fds_after=$(pipes "$S_PID")
	assert_equal "$fds_after" "$fds_before"
}

@test "serve-exec: the snapshot is sorted by identifier and passes metadata through" {
	SNAPSHOT_FILE="$BATS_TEST_TMPDIR/snap.json" start_exec -- \
	    "$FIXTURES/snapshot-copy.sh"
	run -0 curl -s -o /dev/null -w '%{http_code}' -X POST \
	    --data-binary @"$(vec registration-minimal.json)" "$S_URL/register"
	assert_output 202
	sleep 1.1	# a second apart, so registered_at shows the order
	run -0 curl -s -o /dev/null -w '%{http_code}' -X POST \
	    --data-binary @"$(vec registration.json)" "$S_URL/register"
	assert_output 202
	wait_for sh -c "jq -e '.generation == 2' '$BATS_TEST_TMPDIR/snap.json' >/dev/null"
	# Same shape as the vector: node-1 first (sorted), node-2 first by seq.
	run jq -c '[.schema_version, .generation, [.registrations[] |
	    [.identifier, .ip, .metadata, .seq]]]' "$BATS_TEST_TMPDIR/snap.json"
	assert_output "$(jq -c '[.schema_version, .generation, [.registrations[] |
	    [.identifier, .ip, .metadata, .seq]]]' "$(vec snapshot.json)")"
	run jq -r '.registrations[].registered_at' "$BATS_TEST_TMPDIR/snap.json"
	assert_output --regexp '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z'
	# GET /registrations is the same document.
	run -0 curl -sf "$S_URL/registrations"
	echo "$output" >"$BATS_TEST_TMPDIR/list.json"
	json_eq "$BATS_TEST_TMPDIR/list.json" "$BATS_TEST_TMPDIR/snap.json"
}

@test "serve-exec: metadata reaches the materializer byte for byte" {
	SNAPSHOT_FILE="$BATS_TEST_TMPDIR/snap.json" start_exec -- \
	    "$FIXTURES/snapshot-copy.sh"
	meta='{"b": 1.50, "a": [1e3, "\u00e9"], "c": null}'
	run -0 cfgsync register --server "$S_URL" --id node-1 --ip 10.0.0.1 \
	    --metadata "$meta" -q
	wait_for test -s "$BATS_TEST_TMPDIR/snap.json"
	run -0 --separate-stderr grep -F -c "\"metadata\":$meta," "$BATS_TEST_TMPDIR/snap.json"
	assert_output 1
}

@test "serve-exec: the environment carries generation and count" {
	echo env >"$BATS_TEST_TMPDIR/mode"
	MODE_FILE="$BATS_TEST_TMPDIR/mode" start_exec -- "$FIXTURES/modal.sh"
	reg node-1 >/dev/null
	wait_for test -s "$BATS_TEST_TMPDIR/mode.env"
	rm "$BATS_TEST_TMPDIR/mode.env"
	reg node-2 >/dev/null
	wait_for test -s "$BATS_TEST_TMPDIR/mode.env"
	assert_equal "$(cat "$BATS_TEST_TMPDIR/mode.env")" "2 2"
}

@test "serve-exec: re-registering the same content starts no run; new content does" {
	RUNS_FILE="$BATS_TEST_TMPDIR/runs" NEED=1 start_exec -- "$FIXTURES/need2.sh"
	reg node-1 >/dev/null
	wait_for status_is node-1 200
	assert_equal "$(runs)" 1
	for i in 1 2 3; do
		assert_equal "$(reg node-1)" 202
	done
	sleep 0.5
	assert_equal "$(runs)" 1
	assert_equal "$(reg node-1 10.9.9.9)" 202
	wait_for sh -c "[ \$(wc -l <'$BATS_TEST_TMPDIR/runs') -eq 2 ]"
}

@test "serve-exec: not ready from exit 75 or {\"ready\":false} gives 425" {
	for mode in tempfail notready; do
		echo "$mode" >"$BATS_TEST_TMPDIR/mode"
		MODE_FILE="$BATS_TEST_TMPDIR/mode" RUNS_FILE="$BATS_TEST_TMPDIR/runs" \
		    start_exec -- "$FIXTURES/modal.sh"
		reg node-1 >/dev/null
		wait_for test -s "$BATS_TEST_TMPDIR/runs"
		sleep 0.2
		run node node-1
		assert_output --regexp '^425 .*not_ready'
		run -4 --separate-stderr cfgsync fetch --server "$S_URL" \
		    --id node-1 --ip 10.0.0.1 --timeout 2 --print
		assert_equal "$output" ""
		assert_regex "$stderr" 'timed out'
		stop_server S
		rm -f "$BATS_TEST_TMPDIR/runs"
	done
}

@test "serve-exec: an unregistered node gets 425, a registered node the result leaves out gets 404" {
	echo ok >"$BATS_TEST_TMPDIR/mode"
	MODE_FILE="$BATS_TEST_TMPDIR/mode" start_exec -- "$FIXTURES/modal.sh"
	reg node-1 >/dev/null
	wait_for status_is node-1 200
	run node stranger
	assert_output --regexp '^425 '
	reg node-7 >/dev/null
	wait_for status_is node-7 404
	run node node-7
	assert_output '404 {"code":"missing_config","message":"missing config for host node-7"}'
	run -3 --separate-stderr cfgsync fetch --server "$S_URL" --id node-7 \
	    --ip 10.0.0.1 --out "$BATS_TEST_TMPDIR/o" --timeout 10
	assert [ ! -e "$BATS_TEST_TMPDIR/o" ]
}

@test "serve-exec: DELETE /registrations/ID removes a node in a new generation" {
	SNAPSHOT_FILE="$BATS_TEST_TMPDIR/snap.json" start_exec -- \
	    "$FIXTURES/snapshot-copy.sh"
	reg node-1 >/dev/null
	reg node-2 >/dev/null
	run http DELETE "$S_URL/registrations/node-1"
	assert_output '204 '
	run http DELETE "$S_URL/registrations/node-1"
	assert_output --regexp '^404 .*not_found'
	run http DELETE "$S_URL/registrations/bad%2Fid"
	assert_output --regexp '^(400|404) '
	run -0 curl -sf "$S_URL/registrations"
	assert_output --regexp '"generation":3,"registrations":\[\{"identifier":"node-2"'
	wait_for sh -c "jq -e '.generation == 3' '$BATS_TEST_TMPDIR/snap.json' >/dev/null"
}

@test "serve-exec: kill -9 and restart with --state loses no registration; a waiting fetch finishes" {
	NEED=3 start_exec --state "$BATS_TEST_TMPDIR/state" -- "$FIXTURES/need2.sh"
	port=$S_PORT
	meta='{"network_port": 3000}'
	run -0 cfgsync register --server "$S_URL" --id node-0 --ip 10.0.0.9 \
	    --metadata "$meta" -q
	cfgsync fetch --server "$S_URL" --id node-1 --ip 10.0.0.1 \
	    --out "$BATS_TEST_TMPDIR/o1" --timeout 30 -q &
	fetch=$!
	wait_for sh -c "curl -s '$S_URL/registrations' | grep -q node-1"
	kill -9 "$S_PID"
	wait "$S_PID" || true
	# The third node arrives after the restart.
	PORT=$port NEED=3 start_exec --state "$BATS_TEST_TMPDIR/state" -- \
	    "$FIXTURES/need2.sh"
	run -0 curl -sf "$S_URL/registrations"
	assert_output --partial '"identifier":"node-0","ip":"10.0.0.9","metadata":{"network_port": 3000},"seq":1'
	assert_output --partial '"identifier":"node-1"'
	assert_equal "$(reg node-2)" 202
	wait "$fetch"
	assert_equal "$(cat "$BATS_TEST_TMPDIR/o1/shared.yaml")" "n: 3"
}

@test "serve-exec: kill -9 during a burst of concurrent registrations loses no 202'd node" {
	NEED=100000 start_exec -q --state "$BATS_TEST_TMPDIR/state" -- \
	    "$FIXTURES/need2.sh"
	# 16 clients register new nodes as fast as they can, each noting a
	# node once it got its 202, until the server is gone (at most 60 s).
	python3 - "$S_PORT" "$BATS_TEST_TMPDIR/acked" <<'PY' &
import http.client, sys, threading, time
port, out = int(sys.argv[1]), sys.argv[2]
lock = threading.Lock()
f = open(out, "w")
def client(t):
    end = time.time() + 60
    try:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        for i in range(1000000):
            if time.time() > end:
                return
            body = ('{"identifier":"n%d-%d","ip":"10.0.0.1",'
                    '"metadata":{"pad":"%s"}}' % (t, i, "x" * 100))
            c.request("POST", "/register", body)
            r = c.getresponse()
            r.read()
            if r.status != 202:
                return
            with lock:
                f.write("n%d-%d\n" % (t, i))
                f.flush()
    except (OSError, http.client.HTTPException):
        return
ts = [threading.Thread(target=client, args=(t,)) for t in range(16)]
for t in ts:
    t.start()
for t in ts:
    t.join()
f.close()
PY
	burst=$!
	# Kill once the burst is well under way.
	wait_for sh -c "[ \$(wc -l <'$BATS_TEST_TMPDIR/acked') -ge 2000 ]"
	kill -9 "$S_PID"
	wait "$S_PID" || true
	wait "$burst"
	acked=$(wc -l <"$BATS_TEST_TMPDIR/acked")
	echo "acknowledged before the kill: $acked"
	[ "$acked" -ge 2000 ]
	NEED=100000 start_exec -q --state "$BATS_TEST_TMPDIR/state" -- \
	    "$FIXTURES/need2.sh"
	curl -sf -o "$BATS_TEST_TMPDIR/regs" "$S_URL/registrations"
	python3 - "$BATS_TEST_TMPDIR/regs" "$BATS_TEST_TMPDIR/acked" <<'PY'
import json, sys
have = {r["identifier"] for r in json.load(open(sys.argv[1]))["registrations"]}
acked = [l.strip() for l in open(sys.argv[2]) if l.strip()]
lost = [a for a in acked if a not in have]
print("acked %d, held after restart %d, lost %d" % (len(acked), len(have), len(lost)))
assert not lost, lost[:10]
PY
}

@test "serve-exec: --max-registration-bytes answers 503 past the cap, for new and growing registrations" {
	NEED=9 start_exec --max-registration-bytes 100 -- "$FIXTURES/need2.sh"
	# node-1 10.0.0.1: 6 + 8 bytes; with 60 bytes of metadata, 74.
	meta='{"pad":"'$(printf '%050d' 0)'"}'
	run -0 curl -s -o /dev/null -w '%{http_code}' -X POST --data \
	    "{\"identifier\":\"node-1\",\"ip\":\"10.0.0.1\",\"metadata\":$meta}" \
	    "$S_URL/register"
	assert_output 202
	assert_equal "$(reg node-2)" 202
	# node-3 would make 74 + 14 + 14 = 102 bytes.
	run -0 curl -s -w ' %{http_code}' -X POST \
	    --data '{"identifier":"node-3","ip":"10.0.0.1"}' "$S_URL/register"
	assert_output --regexp '"code":"unavailable".*registration limit reached.* 503$'
	# Growing node-2 past the cap is refused too; shrinking node-1 is not.
	run -0 curl -s -o /dev/null -w '%{http_code}' -X POST --data \
	    "{\"identifier\":\"node-2\",\"ip\":\"10.0.0.1\",\"metadata\":$meta}" \
	    "$S_URL/register"
	assert_output 503
	assert_equal "$(reg node-1)" 202
	assert_equal "$(reg node-3)" 202
	run -0 curl -sf "$S_URL/registrations"
	assert_output --regexp '"node-1","ip":"10.0.0.1","seq":1,.*"node-2","ip":"10.0.0.1","seq":2,.*"node-3"'
}

@test "serve-exec: with --state the journal stays within a small multiple of the live bytes" {
	NEED=9 start_exec -q --state "$BATS_TEST_TMPDIR/state" -- "$FIXTURES/need2.sh"
	# 2 nodes re-register 200 times with 50 KiB of metadata that
	# changes: 10 MiB written, 100 KiB live, too few records for the
	# count rule.
	python3 - "$S_PORT" <<'PY'
import http.client, sys
c = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]), timeout=10)
for i in range(200):
    body = ('{"identifier":"n%d","ip":"10.0.0.1","metadata":{"v":%d,'
            '"pad":"%s"}}' % (i % 2, i, "x" * 50000))
    c.request("POST", "/register", body)
    r = c.getresponse()
    r.read()
    assert r.status == 202, r.status
PY
	size=$(stat -c %s "$BATS_TEST_TMPDIR/state")
	echo "journal: $size bytes after 200 changes of 2 nodes"
	[ "$size" -le $((3 * 1024 * 1024 / 2)) ]
	stop_server S
	NEED=9 start_exec --state "$BATS_TEST_TMPDIR/state" -- "$FIXTURES/need2.sh"
	run -0 curl -sf "$S_URL/registrations"
	assert_output --regexp '"generation":200,'
	assert_output --partial '"identifier":"n1","ip":"10.0.0.1","metadata":{"v":199,'
}

@test "serve-exec: a torn last journal record is dropped with a warning, not a refusal" {
	NEED=9 start_exec --state "$BATS_TEST_TMPDIR/state" -- "$FIXTURES/need2.sh"
	reg node-1 >/dev/null
	reg node-2 >/dev/null
	kill -9 "$S_PID"
	wait "$S_PID" || true
	printf '{"op":"put","generation":3,"seq":3,"regis' >>"$BATS_TEST_TMPDIR/state"
	NEED=9 start_exec --state "$BATS_TEST_TMPDIR/state" -- "$FIXTURES/need2.sh"
	run grep 'torn last record' "$BATS_TEST_TMPDIR/S.log"
	assert_success
	run -0 curl -sf "$S_URL/registrations"
	assert_output --regexp '"generation":2,.*"node-1".*"node-2"'
	# New records append after the cut, and survive another restart.
	reg node-3 >/dev/null
	stop_server S
	NEED=9 start_exec --state "$BATS_TEST_TMPDIR/state" -- "$FIXTURES/need2.sh"
	run -0 curl -sf "$S_URL/registrations"
	assert_output --partial '"identifier":"node-3"'
}

@test "serve-exec: a journal damaged before its last record is refused with exit 7" {
	printf 'garbage\n{"op":"delete","generation":1,"identifier":"x"}\n' \
	    >"$BATS_TEST_TMPDIR/state"
	run -7 --separate-stderr cfgsync serve-exec --listen 127.0.0.1:0 \
	    --state "$BATS_TEST_TMPDIR/state" -- true
	assert_regex "$stderr" 'journal .*line 1'
	# A complete last line is no torn write: refused, and kept as it is.
	printf '{"op":"delete","generation":1,"identifier":"x"}\nnot json\n' \
	    >"$BATS_TEST_TMPDIR/state"
	cp "$BATS_TEST_TMPDIR/state" "$BATS_TEST_TMPDIR/state.before"
	run -7 --separate-stderr cfgsync serve-exec --listen 127.0.0.1:0 \
	    --state "$BATS_TEST_TMPDIR/state" -- true
	assert_regex "$stderr" 'journal .*line 2'
	cmp "$BATS_TEST_TMPDIR/state" "$BATS_TEST_TMPDIR/state.before"
}

@test "serve-exec: --persist writes each ready result as a bundle serve-bundle serves unchanged" {
	NEED=2 start_exec --persist "$BATS_TEST_TMPDIR/ready.json" -- \
	    "$FIXTURES/need2.sh"
	reg node-1 >/dev/null
	reg node-2 >/dev/null
	wait_for status_is node-1 200
	node node-1 >"$BATS_TEST_TMPDIR/exec.out"
	# Every node's files, secrets included: readable by the owner only.
	assert_equal "$(stat -c %a "$BATS_TEST_TMPDIR/ready.json")" 600
	run -0 cfgsync bundle check "$BATS_TEST_TMPDIR/ready.json" 2>/dev/null ||
	    run -0 jq -e .nodes "$BATS_TEST_TMPDIR/ready.json"
	start_server B "$BATS_TEST_TMPDIR/b" serve-bundle "$BATS_TEST_TMPDIR/ready.json"
	run -0 curl -s -X POST --data '{"identifier":"node-1","ip":"10.0.0.1"}' \
	    "$B_URL/node"
	assert_equal "200 $output" "$(cat "$BATS_TEST_TMPDIR/exec.out")"
	stop_server B
}

@test "serve-exec: --persist writes its file 0600 whatever the umask, replacing a wider one" {
	f=$BATS_TEST_TMPDIR/ready.json
	echo '{}' >"$f"
	chmod 0644 "$f"
	umask 000
	NEED=1 start_exec --persist "$f" -- "$FIXTURES/need2.sh"
	reg node-1 >/dev/null
	wait_for status_is node-1 200
	run -0 jq -r '.nodes[0].identifier' "$f"
	assert_equal "$output" node-1
	run -0 stat -c %a "$f"
	assert_equal "$output" 600
}

@test "serve-exec: the registration cap answers 503 and keeps the others" {
	NEED=9 start_exec --max-registrations 2 -- "$FIXTURES/need2.sh"
	assert_equal "$(reg node-1)" 202
	assert_equal "$(reg node-2)" 202
	assert_equal "$(reg node-3)" 503
	assert_equal "$(reg node-1 10.1.1.1)" 202
	run -0 curl -sf "$S_URL/registrations"
	refute_output --partial node-3
}

@test "serve-exec: bad input gets 400 and the server keeps serving" {
	NEED=9 start_exec -- "$FIXTURES/need2.sh"
	for body in '' '{' '[]' '{"identifier":"a/b","ip":"10.0.0.1"}' \
	    '{"identifier":"a","ip":"999.0.0.1"}' '{"identifier":5,"ip":"10.0.0.1"}'; do
		run http POST "$S_URL/register" "$body"
		assert_output --regexp '^400 \{"code":"bad_request"'
	done
	# Metadata every materializer can read, or none: one node must not
	# break the runs of all.
	for meta in NaN -Infinity '"\ud800"' '"\udc00"' "\"a$(printf '\t')b\"" \
	    "\"$(printf '\377')\""; do
		run http POST "$S_URL/register" \
		    "{\"identifier\":\"a\",\"ip\":\"10.0.0.1\",\"metadata\":$meta}"
		assert_output --regexp '^400 \{"code":"bad_request"'
	done
	run http POST "$S_URL/register" \
	    '{"identifier":"a","ip":"10.0.0.1","metadata":["\ud83d\ude00",1e3]}'
	assert_output '202 '
	run http POST "$S_URL/node?wait=abc" '{"identifier":"a","ip":"10.0.0.1"}'
	assert_output --regexp '^400 '
	run http GET "$S_URL/register"
	assert_output --regexp '^405 '
	run -0 curl -sf "$S_URL/healthz"
	assert_output '{"status":"ok"}'
}

@test "serve-exec: usage errors exit 2" {
	run -2 --separate-stderr cfgsync serve-exec --listen 127.0.0.1:0
	assert_regex "$stderr" 'PROGRAM'
	run -2 --separate-stderr cfgsync serve-exec --debounce x -- true
	run -0 --separate-stderr cfgsync serve-exec -h
	assert_regex "$output" '^usage: cfgsync serve-exec'
}

@test "serve-exec: share/materializers/wait-for-n.sh hands out identities and peers" {
	start_exec -- "$TOP/share/materializers/wait-for-n.sh" 3
	for i in 1 2 3; do
		cfgsync fetch --server "$S_URL" --id "node-$i" --ip "10.0.0.$i" \
		    --metadata "{\"network_port\": 700$i}" \
		    --out "$BATS_TEST_TMPDIR/o$i" --timeout 20 -q &
		eval "p$i=\$!"
	done
	wait "$p1" && wait "$p2" && wait "$p3"
	run cat "$BATS_TEST_TMPDIR/o2/config.yaml"
	assert_output "$(printf 'id: node-2\nip: 10.0.0.2\npeers:\n  - 10.0.0.1:7001\n  - 10.0.0.3:7003')"
	run cat "$BATS_TEST_TMPDIR/o3/deployment-settings.yaml"
	assert_line 'nodes: 3'
}

@test "serve-exec: share/materializers/exactly-n.py: the first N form the cluster, a late node exits 3" {
	start_exec -- "$TOP/share/materializers/exactly-n.py" 2
	for i in 1 2; do
		cfgsync fetch --server "$S_URL" --id "node-$i" --ip "10.0.0.$i" \
		    --out "$BATS_TEST_TMPDIR/o$i" --timeout 20 -q &
		eval "p$i=\$!"
	done
	wait "$p1" && wait "$p2"
	assert_equal "$(head -1 "$BATS_TEST_TMPDIR/o1/config.yaml")" "id: node-1"
	assert_equal "$(cat "$BATS_TEST_TMPDIR/o2/deployment-settings.yaml")" "cluster_size: 2"
	run -3 --separate-stderr cfgsync fetch --server "$S_URL" --id node-3 \
	    --ip 10.0.0.3 --out "$BATS_TEST_TMPDIR/o3" --timeout 20
	assert [ ! -e "$BATS_TEST_TMPDIR/o3" ]
}

@test "serve-exec: share/materializers/exactly-n.py: after the deadline a quorum is enough" {
	start_exec -- "$TOP/share/materializers/exactly-n.py" 3 --deadline 1
	for i in 1 2; do
		cfgsync fetch --server "$S_URL" --id "node-$i" --ip "10.0.0.$i" \
		    --out "$BATS_TEST_TMPDIR/o$i" --timeout 20 -q &
		eval "p$i=\$!"
	done
	wait "$p1" && wait "$p2"
	assert_equal "$(cat "$BATS_TEST_TMPDIR/o1/deployment-settings.yaml")" "cluster_size: 2"
}

@test "serve-exec: 500 parked long polls cost no thread each and are all answered" {
	ulimit -n 4096
	NEED=2 start_exec --max-connections 2000 -q -- "$FIXTURES/need2.sh"
	reg node-1 >/dev/null
	threads_before=$(awk '/^Threads:/ { print $2 }' "/proc/$S_PID/status")
	python3 "$FIXTURES/park.py" "$S_PORT" 500 "$BATS_TEST_TMPDIR/parked" \
	    >"$BATS_TEST_TMPDIR/park.out" &
	park=$!
	wait_for test -e "$BATS_TEST_TMPDIR/parked"
	sleep 0.5
	threads_parked=$(awk '/^Threads:/ { print $2 }' "/proc/$S_PID/status")
	echo "threads: $threads_before before, $threads_parked with 500 parked"
	assert_equal "$threads_parked" "$threads_before"
	reg node-2 >/dev/null
	wait "$park"
	assert_equal "$(cat "$BATS_TEST_TMPDIR/park.out")" "200:500"
}

@test "serve-exec: re-registrations do not grow the journal without bound" {
	NEED=9 start_exec -q --state "$BATS_TEST_TMPDIR/state" -- "$FIXTURES/need2.sh"
	python3 - "$S_PORT" <<'PY'
import http.client, sys
c = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]), timeout=10)
for i in range(1200):
    body = '{"identifier":"n1","ip":"10.0.0.%d"}' % (1 + i % 2)
    c.request("POST", "/register", body, {"Content-Type": "application/json"})
    r = c.getresponse()
    r.read()
    assert r.status == 202, r.status
PY
	lines=$(wc -l <"$BATS_TEST_TMPDIR/state")
	echo "journal: $lines records after 1200 changes"
	[ "$lines" -le 300 ]
	stop_server S
	NEED=9 start_exec --state "$BATS_TEST_TMPDIR/state" -- "$FIXTURES/need2.sh"
	run -0 curl -sf "$S_URL/registrations"
	assert_output --regexp '"generation":1200,"registrations":\[\{"identifier":"n1","ip":"10.0.0.2","seq":1,'
}

@test "serve-exec: a set seen before (A, B, then A again) is served without another run" {
	RUNS_FILE="$BATS_TEST_TMPDIR/runs" NEED=1 start_exec -- "$FIXTURES/need2.sh"
	assert_equal "$(reg node-1 10.0.0.1)" 202
	wait_for status_is node-1 200
	assert_equal "$(reg node-1 10.0.0.2)" 202
	wait_for sh -c "[ \$(wc -l <'$BATS_TEST_TMPDIR/runs') -eq 2 ]"
	wait_for status_is node-1 200
	assert_equal "$(reg node-1 10.0.0.1)" 202
	sleep 0.5
	assert_equal "$(runs)" 2
	run node node-1
	assert_output --regexp '^200 '
	run -0 curl -sf "$S_URL/metrics"
	assert_output --partial 'cfgsync_materializer_reused_total 1'
}

@test "serve-exec: a parked long poll costs no CPU while it waits" {
	NEED=5 start_exec -q -- "$FIXTURES/need2.sh"
	reg node-1 >/dev/null
	curl -s -o /dev/null -X POST --data '{"identifier":"node-1","ip":"10.0.0.1"}' \
	    "$S_URL/node?wait=10" &
	poll=$!
	sleep 0.5
	before=$(awk '{ print $14 + $15 }' "/proc/$S_PID/stat")
	sleep 2
	after=$(awk '{ print $14 + $15 }' "/proc/$S_PID/stat")
	kill "$poll" 2>/dev/null || true
	echo "CPU ticks in 2 s with one poll parked: $((after - before))"
	# A spinning wait burns about 200 ticks in 2 s; an idle one none.
	[ $((after - before)) -lt 50 ]
}

@test "serve-exec: a PROGRAM that is not an executable file refuses to start" {
	local T=$BATS_TEST_TMPDIR
	run -2 --separate-stderr cfgsync serve-exec --listen 127.0.0.1:0 \
	    -- ./no-such-materializer
	assert_regex "$stderr" 'materializer ./no-such-materializer: No such file'
	printf '#!/bin/sh\n' >"$T/plain"
	run -2 --separate-stderr cfgsync serve-exec --listen 127.0.0.1:0 \
	    -- "$T/plain"
	assert_regex "$stderr" 'not an executable file'
	run -2 --separate-stderr cfgsync serve-exec --listen 127.0.0.1:0 -- "$T"
	assert_regex "$stderr" 'not an executable file'
	run -2 --separate-stderr cfgsync serve-exec --listen 127.0.0.1:0 \
	    -- no-such-materializer-on-path
	assert_regex "$stderr" 'not found in PATH'
}

@test "serve-exec: under --log-format json a failure run logs only JSON, no HTML" {
	local line
	echo exit3 >"$BATS_TEST_TMPDIR/mode"
	MODE_FILE="$BATS_TEST_TMPDIR/mode" start_exec --log-format json \
	    -- "$FIXTURES/modal.sh"
	assert_equal "$(reg node-1)" 202
	wait_for status_is node-1 500
	run node node-1
	assert_output --partial "exited 3"
	curl -s -o /dev/null --data 'not json' "$S_URL/register"
	curl -s -o /dev/null --data '{"identifier":"../x","ip":"1.2.3.4"}' \
	    "$S_URL/node"
	raw_send "$S_PORT" 'GET / HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n'
	raw_send "$S_PORT" 'GARBAGE / HTTP/1.1\r\nContent-Length: x\r\n\r\n'
	stop_server S
	S_PID=
	cat "$BATS_TEST_TMPDIR/S.log"
	while IFS= read -r line; do
		printf '%s\n' "$line" | jq -e 'type == "object"' >/dev/null \
		    2>&1 || fail "not a JSON log line: $line"
	done <"$BATS_TEST_TMPDIR/S.log"
	run -1 grep -i -e '<html' -e '<body' "$BATS_TEST_TMPDIR/S.log"
	run -0 jq -r 'select(.message != null) | .message' \
	    "$BATS_TEST_TMPDIR/S.log"
	# The program's stderr, the failure and libmicrohttpd's own words.
	assert_output --partial 'materializer: modal materializer: mode exit3'
	assert_output --partial 'materializer: failing on purpose'
	assert_output --regexp 'generation [0-9]+: .*exited 3'
	assert_output --partial 'http: Error processing request'
	run -0 jq -r 'select(.status != null) | .status' \
	    "$BATS_TEST_TMPDIR/S.log"
	assert_output --partial 400
	assert_output --partial 500
}

@test "serve-exec: GET /metrics has HELP and TYPE for every family, a run-time histogram, and passes promtool" {
	echo ok >"$BATS_TEST_TMPDIR/mode"
	MODE_FILE="$BATS_TEST_TMPDIR/mode" start_exec -- "$FIXTURES/modal.sh"
	assert_equal "$(reg node-1)" 202
	wait_for status_is node-1 200
	curl -s -o "$BATS_TEST_TMPDIR/metrics" "$S_URL/metrics"
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
	END { exit bad }' "$BATS_TEST_TMPDIR/metrics"
	run -0 grep -E '^cfgsync_materializer_run_duration_seconds_count [1-9][0-9]*$' \
	    "$BATS_TEST_TMPDIR/metrics"
	run -0 grep -E '^cfgsync_materializer_run_duration_seconds_bucket\{le="\+Inf"\} [1-9][0-9]*$' \
	    "$BATS_TEST_TMPDIR/metrics"
	run -0 grep -E '^cfgsync_http_request_duration_seconds_count\{route="register"\} 1$' \
	    "$BATS_TEST_TMPDIR/metrics"
	command -v promtool >/dev/null || skip "promtool is not installed"
	run -0 promtool check metrics <"$BATS_TEST_TMPDIR/metrics"
	assert_output ""
}

@test "serve-exec: a child that escapes with setsid and holds stdout open neither spoils the run nor outlives it" {
	local escaped start
	echo escape >"$BATS_TEST_TMPDIR/mode"
	MODE_FILE="$BATS_TEST_TMPDIR/mode" start_exec \
	    --materializer-timeout 20 -- "$FIXTURES/modal.sh"
	start=$SECONDS
	assert_equal "$(reg node-1)" 202
	# Judged on the program's own exit and output: ready, not a timeout.
	wait_for status_is node-1 200
	assert [ $((SECONDS - start)) -lt 10 ]
	wait_for test -s "$BATS_TEST_TMPDIR/mode.escaped"
	escaped=$(cat "$BATS_TEST_TMPDIR/mode.escaped")
	# Out of the group, and out of the session: still ended, and reaped.
	wait_for sh -c "! kill -0 $escaped 2>/dev/null"
	run sh -c "ps -o stat= --ppid $S_PID | grep -c Z"
	assert_output 0
}

# etag_of ID: the ETag of node ID's 200.
etag_of() {
	curl -s -D - -o /dev/null --data "{\"identifier\":\"$1\",\"ip\":\"10.0.0.1\"}" \
	    "$S_URL/node" | tr -d '\r' | sed -n 's/^[Ee][Tt][Aa][Gg]: //p'
}

@test "serve-exec: a 200 carries the payload's ETag; If-None-Match of it gives 304; plain bytes to a plain client" {
	NEED=1 start_exec -- "$FIXTURES/need2.sh"
	reg node-1 >/dev/null
	wait_for status_is node-1 200
	etag=$(etag_of node-1)
	assert_regex "$etag" '^"[0-9a-f]{64}"$'
	b='{"identifier":"node-1","ip":"10.0.0.1"}'
	req POST "$S_URL/node" --data "$b" -H "If-None-Match: $etag"
	assert_equal "$STATUS" 304
	refute [ -s "$BATS_TEST_TMPDIR/body" ]
	req POST "$S_URL/node" --data "$b" -H 'If-None-Match: "other"'
	assert_equal "$STATUS" 200
	cp "$BATS_TEST_TMPDIR/body" "$BATS_TEST_TMPDIR/plain"
	run -0 jq -r '.files[0].content' "$BATS_TEST_TMPDIR/plain"
	assert_output 'id: node-1'
	# A plain client gets plain bytes; one that asks gets them gzipped.
	run -0 curl -s -D - -o /dev/null --data "$b" "$S_URL/node"
	refute_output --regexp '[Cc]ontent-[Ee]ncoding'
	run -0 curl -s --compressed --data "$b" "$S_URL/node"
	assert_equal "$output" "$(cat "$BATS_TEST_TMPDIR/plain")"
}

@test "serve-exec: a long poll with If-None-Match waits for a result that changes the node's payload" {
	NEED=1 start_exec -- "$FIXTURES/need2.sh"
	reg node-1 >/dev/null
	wait_for status_is node-1 200
	etag=$(etag_of node-1)
	b='{"identifier":"node-1","ip":"10.0.0.1"}'
	# Unchanged by a new run (node-1 re-registers elsewhere): 304 at
	# the end of the wait.
	start=$(date +%s%N)
	curl -s -o "$BATS_TEST_TMPDIR/p1" -w '%{http_code}' --data "$b" \
	    -H "If-None-Match: $etag" "$S_URL/node?wait=2" \
	    >"$BATS_TEST_TMPDIR/s1" &
	poll=$!
	sleep 0.3
	reg node-1 10.9.9.9 >/dev/null
	wait "$poll"
	assert_equal "$(cat "$BATS_TEST_TMPDIR/s1")" 304
	elapsed=$((($(date +%s%N) - start) / 1000000))
	[ "$elapsed" -ge 1900 ] || fail "answered after ${elapsed} ms"
	# Changed by a new node: the parked poll gets the new payload.
	curl -s -o "$BATS_TEST_TMPDIR/p2" -w '%{http_code}' --data "$b" \
	    -H "If-None-Match: $etag" "$S_URL/node?wait=30" \
	    >"$BATS_TEST_TMPDIR/s2" &
	poll=$!
	sleep 0.5
	kill -0 "$poll"		# still parked
	reg node-2 >/dev/null
	wait "$poll"
	assert_equal "$(cat "$BATS_TEST_TMPDIR/s2")" 200
	run -0 jq -r '.files[1].content' "$BATS_TEST_TMPDIR/p2"
	assert_output 'n: 2'
	refute [ "$(etag_of node-1)" = "$etag" ]
}
