bats_require_minimum_version 1.5.0

load helpers
load etcd

# Several serve-exec instances on one three-member etcd (issue 13): shared
# registrations with seq dense cluster-wide, one materializer run per
# distinct set, results published once and served by every instance, and
# what happens when an instance or etcd members fail.  The etcd is
# test/etcd.bash's, on free loopback ports; each test has its own key
# prefix and its own instances A, B and C.

setup_file() {
	etcd_available || return 0
	etcd_start_cluster 3
	ETCD_ENDPOINTS=$(etcd_endpoints)
	export ETCD_ENDPOINTS
	# The materializer: one line per run in $RUNS_FILE naming the set,
	# after $SLEEP seconds; ready from $NEED nodes on.  Each node gets
	# config.yaml with its identifier and seq, all a shared file.
	MAT=$BATS_FILE_TMPDIR/mat.sh
	cat >"$MAT" <<-'SH'
	#!/bin/sh
	snap=$(cat)
	set=$(printf '%s' "$snap" | jq -r '[.registrations[].identifier] | sort | join(",")')
	[ -n "${RUNS_FILE:-}" ] && echo "run $set" >>"$RUNS_FILE"
	[ "${SLEEP:-0}" = 0 ] || sleep "$SLEEP"
	n=$(printf '%s' "$snap" | jq '.registrations | length')
	if [ "$n" -lt "${NEED:-1}" ]; then
		echo '{"ready":false}'
		exit 0
	fi
	printf '%s' "$snap" | jq -c '{nodes: [.registrations[] |
	    {identifier, files: [{path: "config.yaml",
	    content: ("id: " + .identifier + "\nseq: \(.seq)\n")}]}],
	    shared_files: [{path: "shared.yaml",
	    content: "n: \(.registrations | length)\n"}]}'
	SH
	chmod +x "$MAT"
	export MAT
}

teardown_file() {
	etcd_stop_all
}

setup() {
	etcd_available || skip "no etcd (Debian's etcd-server)"
	PFX="cfgsync/c$BATS_TEST_NUMBER/"
	T=$BATS_TEST_TMPDIR
	RUNS=$T/runs
	: >"$RUNS"
}

teardown() {
	local n pid
	# Members a test stopped or paused are back first, for the instances
	# to stop at once, and for the next test.
	for n in m1 m2 m3; do
		etcd_resume "$n" 2>/dev/null || true
	done
	for n in m1 m2 m3; do
		etcd_running | grep -qx "$n" || etcd_restart "$n" || true
	done
	for n in A B C; do
		eval "pid=\${${n}_PID:-}"
		[ -n "$pid" ] && kill -CONT "$pid" 2>/dev/null
		stop_server "$n" || true
	done
}

# inst NAME [OPTIONS]: starts instance NAME of this test's deployment.
inst() {
	local name=$1
	shift
	RUNS_FILE="$RUNS" start_server "$name" "$T" serve-exec \
	    --etcd "$ETCD_ENDPOINTS" --etcd-prefix "$PFX" --lease-ttl 5 \
	    --commit-timeout 2 --debounce 50 "$@" -- "$MAT"
}

# three [OPTIONS]: instances A, B and C; waits until one leads.
three() {
	inst A "$@"
	inst B "$@"
	inst C "$@"
	wait_for 10 leader >/dev/null
}

# wait_for SECONDS CMD...: retries CMD, 10 times a second.
wait_for() {
	local n=$(($1 * 10)) i
	shift
	for i in $(seq 1 "$n"); do
		"$@" && return 0
		sleep 0.1
	done
	return 1
}

# leader: prints the name (A, B or C) of the instance that leads.
leader() {
	local n url
	for n in A B C; do
		eval "url=\${${n}_URL:-}"
		[ -n "$url" ] || continue
		if [ "$(curl -s -m 2 "$url/status" | jq -r .cluster.leading)" = true ]
		then
			echo "$n"
			return 0
		fi
	done
	return 1
}

# url NAME: the URL of instance NAME.
url() {
	eval "printf '%s\n' \"\$${1}_URL\""
}

# reg URL ID: registers ID there; prints the status.
reg() {
	curl -s -m 10 -o /dev/null -w '%{http_code}' -X POST \
	    --data "{\"identifier\":\"$2\",\"ip\":\"10.0.0.1\"}" "$1/register"
}

# node URL ID [QUERY]: POST /node; prints "STATUS BODY".
node() {
	http POST "$1/node${3:-}" "{\"identifier\":\"$2\",\"ip\":\"10.0.0.1\"}"
}

# served URL ID: the node is served there (200).
served() {
	node "$1" "$2" | grep -q '^200 '
}

# registered URL ID...: GET /registrations there lists every ID.
registered() {
	local u=$1 have
	shift
	have=$(curl -s -m 5 "$u/registrations" | jq -r '.registrations[].identifier')
	for id in "$@"; do
		grep -qx "$id" <<<"$have" || return 1
	done
}

# count_at URL N: GET /registrations there lists N nodes.
count_at() {
	[ "$(curl -s -m 5 "$1/registrations" | jq '.registrations | length')" = "$2" ]
}

# reg_many OUT N URL...: registers n1..nN, 16 at a time from one curl,
# round-robin over the URLs; OUT gets "ID STATUS" per node (000: no
# answer).
reg_many() {
	local out=$1 n=$2 k u
	shift 2
	local urls=("$@")
	for k in $(seq 1 "$n"); do
		u=${urls[$(((k - 1) % ${#urls[@]}))]}
		printf 'url = "%s/register"\nsilent\nmax-time = 10\n' "$u"
		printf 'data = "{\\"identifier\\":\\"n%d\\",\\"ip\\":\\"10.0.0.1\\"}"\n' "$k"
		printf 'output = "/dev/null"\nwrite-out = "n%d %%{http_code}\\n"\n' "$k"
		[ "$k" = "$n" ] || echo next
	done >"$out.curl"
	curl -Z --parallel-max 16 -K "$out.curl" >"$out" 2>/dev/null || true
}

@test "cluster: 300 nodes round-robin: seq exactly 1..300, identical registrations and files everywhere" {
	three
	reg_many "$T/regs" 300 "$A_URL" "$B_URL" "$C_URL"
	run -0 awk '$2 != 202' "$T/regs"
	assert_output ""
	assert_equal "$(wc -l <"$T/regs")" 300
	for n in A B C; do
		wait_for 10 count_at "$(url $n)" 300
	done
	curl -s "$A_URL/registrations" >"$T/a.json"
	curl -s "$B_URL/registrations" >"$T/b.json"
	curl -s "$C_URL/registrations" >"$T/c.json"
	cmp "$T/a.json" "$T/b.json"
	cmp "$T/a.json" "$T/c.json"
	run -0 jq -r '.registrations[].seq' "$T/a.json"
	assert_equal "$(printf '%s\n' "${lines[@]}" | sort -n | tr '\n' ' ')" \
	    "$(seq 1 300 | tr '\n' ' ')"
	# Every instance serves a node the same files, seq included.
	wait_for 10 served "$C_URL" n300
	wait_for 10 eval "node '$A_URL' n7 | grep -q 'n: 300'"
	for n in A B C; do
		wait_for 10 eval "node '$(url $n)' n7 | grep -q 'n: 300'"
		node "$(url $n)" n7 >"$T/n7.$n"
	done
	cmp "$T/n7.A" "$T/n7.B"
	cmp "$T/n7.A" "$T/n7.C"
	seq7=$(jq -r '.registrations[] | select(.identifier == "n7") | .seq' "$T/a.json")
	run -0 cat "$T/n7.A"
	assert_output --partial "seq: $seq7"
}

@test "cluster: register on A, a long poll on B gets the files, as C serves them" {
	NEED=2 three
	[ "$(reg "$A_URL" n1)" = 202 ]
	node "$B_URL" n2 '?wait=20' >"$T/poll" &
	local poll=$!
	sleep 0.3
	[ "$(reg "$A_URL" n2)" = 202 ]
	wait "$poll"
	run -0 cat "$T/poll"
	assert_output --regexp '^200 '
	assert_output --partial 'id: n2'
	node "$C_URL" n2 >"$T/from-c"
	cmp "$T/poll" "$T/from-c"
}

@test "cluster: under a steady trickle of registrations a follower serves from the newest published result" {
	# Each run takes half a second and the set moves on every tenth:
	# no result is ever for the current set.  A follower installs the
	# newest published one, which holds n1, and serves n1 from it while
	# the trickle goes on (before, it waited for the trickle to stop).
	SLEEP=0.5 three
	local lead fol k
	lead=$(leader)
	for k in A B C; do
		[ "$k" != "$lead" ] && fol=$k && break
	done
	[ "$(reg "$(url "$fol")" n1)" = 202 ]
	(for k in $(seq 1 80); do
		reg "$(url "$lead")" "t$k" >/dev/null
		sleep 0.1
	done) &
	local trickle=$!
	sleep 0.3
	node "$(url "$fol")" n1 '?wait=20' >"$T/poll"
	kill -0 "$trickle"	# still registering
	run -0 cat "$T/poll"
	assert_output --regexp '^200 '
	assert_output --partial 'id: n1'
	wait "$trickle"
	grep -q 'the newest; the set moved on since' "$T/$fol.log"
}

@test "cluster: exactly one materializer run per distinct set across the instances" {
	three
	local k u total=0
	# (k, not i: bats' own functions set i)
	for k in 1 2 3; do
		case $((k % 3)) in 0) u=$A_URL ;; 1) u=$B_URL ;; 2) u=$C_URL ;; esac
		[ "$(reg "$u" "n$k")" = 202 ]
		wait_for 10 eval "node '$C_URL' n$k | grep -q 'n: $k'"
	done
	# A burst: the sets it goes through are each run at most once.
	reg_many "$T/regs" 40 "$A_URL" "$B_URL" "$C_URL"
	wait_for 10 eval "node '$B_URL' n40 | grep -q 'n: 40'"
	sleep 0.5
	run -0 sort "$RUNS"
	assert_equal "$(sort "$RUNS" | uniq -d)" ""
	assert_line "run n1"
	assert_line "run n1,n2,n3"
	for u in "$A_URL" "$B_URL" "$C_URL"; do
		total=$((total + $(materializer_runs "$u")))
	done
	assert_equal "$total" "$(wc -l <"$RUNS")"
	# A set seen before (n40 deleted) is not run again.
	run -0 curl -s -o /dev/null -w '%{http_code}' -X DELETE "$A_URL/registrations/n40"
	assert_output 204
	wait_for 10 eval "node '$C_URL' n1 | grep -q 'n: 39'" ||
	    wait_for 10 eval "node '$C_URL' n1 | grep -q 'n: 39'"
	sleep 0.5
	assert_equal "$(sort "$RUNS" | uniq -d)" ""
}

@test "cluster: kill -9 of the leading instance mid-run: a new leader runs once, every node finishes" {
	local l k
	SLEEP=2 NEED=3 three
	l=$(leader)
	for k in 1 2 3; do
		[ "$(reg "$A_URL" "n$k")" = 202 ]
	done
	wait_for 10 grep -q 'run n1,n2,n3' "$RUNS"
	kill -9 "$(eval "echo \$${l}_PID")"
	eval "${l}_PID="
	# The nodes use a list: the dead instance is passed over.
	for k in 1 2 3; do
		run -0 cfgsync fetch -q --server "$A_URL,$B_URL,$C_URL" \
		    --id "n$k" --ip 10.0.0.1 --out "$T/o$k" --timeout 30
		assert_equal "$(cat "$T/o$k/shared.yaml")" "n: 3"
	done
	assert_equal "$(grep -c 'run n1,n2,n3$' "$RUNS")" 2
	run -0 etcd_range "$(etcd_url m1)" "${PFX}result/"
	assert_equal "$(grep -c '"outcome":"ready"' <<<"$output")" 1
}

@test "cluster: SIGSTOP of the leader past its lease: its late publish is refused" {
	local l new pid
	SLEEP=2 NEED=2 three
	l=$(leader)
	[ "$(reg "$A_URL" n1)" = 202 ]
	[ "$(reg "$B_URL" n2)" = 202 ]
	wait_for 10 grep -q 'run n1,n2' "$RUNS"
	eval "pid=\$${l}_PID"
	kill -STOP "$pid"
	wait_for 15 eval '[ -n "$(leader)" ] && [ "$(leader)" != "$l" ]'
	new=$(leader)
	wait_for 15 served "$(url "$new")" n1
	kill -CONT "$pid"
	wait_for 10 grep -Eq 'publish refused|run cancelled|leadership lost' "$T/$l.log"
	sleep 0.5
	run -0 etcd_range "$(etcd_url m1)" "${PFX}result/"
	assert_equal "$(grep -c '"outcome":"ready"' <<<"$output")" 1
	run -1 grep -q 'published ready' "$T/$l.log"
	# The stopped one serves the one published result too.
	wait_for 10 served "$(url "$l")" n1
	node "$(url "$l")" n1 >"$T/from-old"
	node "$(url "$new")" n1 >"$T/from-new"
	cmp "$T/from-old" "$T/from-new"
}

@test "cluster: kill -9 of the etcd leader under registration load: every 202 is listed" {
	local m ok
	three
	reg_many "$T/regs" 300 "$A_URL" "$B_URL" "$C_URL" &
	local load=$!
	sleep 0.5
	m=$(etcd_kill_leader)
	wait "$load"
	etcd_restart "$m"
	ok=$(awk '$2 == 202 { print $1 }' "$T/regs")
	assert [ "$(wc -l <<<"$ok")" -ge 100 ]
	for n in A B C; do
		# shellcheck disable=SC2086
		wait_for 10 registered "$(url $n)" $ok
	done
	run -0 jq -r '.registrations[].seq' <<<"$(curl -s "$A_URL/registrations")"
	assert_equal "$(printf '%s\n' "${lines[@]}" | sort -n | tr '\n' ' ')" \
	    "$(seq 1 "${#lines[@]}" | tr '\n' ' ')"
}

@test "cluster: two etcd members stopped: 503 on register, served nodes still served, recovery" {
	local m start
	NEED=2 three
	[ "$(reg "$A_URL" n1)" = 202 ]
	[ "$(reg "$B_URL" n2)" = 202 ]
	wait_for 10 served "$C_URL" n2
	for m in m2 m3; do
		etcd_pause "$m"
	done
	start=$SECONDS
	assert_equal "$(reg "$A_URL" n3)" 503
	assert [ $((SECONDS - start)) -le 5 ]
	for n in A B C; do
		run -0 node "$(url $n)" n1
		assert_output --regexp '^200 '
	done
	for m in m2 m3; do
		etcd_resume "$m"
	done
	etcd_wait_leader >/dev/null
	wait_for 15 eval '[ "$(reg "$B_URL" n3)" = 202 ]'
	wait_for 10 eval "node '$A_URL' n3 | grep -q 'n: 3'"
}

@test "cluster: a 3 MiB result goes in chunks and is identical on every instance" {
	local prog="$T/big.py"
	cat >"$prog" <<-'PY'
	#!/usr/bin/env python3
	import json, sys
	snap = json.load(sys.stdin)
	line = "".join(chr(0x41 + i % 26) for i in range(1023)) + "\n"
	print(json.dumps({"nodes": [{"identifier": r["identifier"],
	    "files": [{"path": "id", "content": r["identifier"]}]}
	    for r in snap["registrations"]],
	    "shared_files": [{"path": "big.txt", "content": line * 3 * 1024}]}))
	PY
	chmod +x "$prog"
	MAT=$prog three
	[ "$(reg "$B_URL" big1)" = 202 ]
	for n in A B C; do
		wait_for 15 served "$(url $n)" big1
		node "$(url $n)" big1 >"$T/from-$n"
	done
	cmp "$T/from-A" "$T/from-B"
	cmp "$T/from-A" "$T/from-C"
	assert [ "$(stat -c %s "$T/from-A")" -gt $((3 << 20)) ]
	run -0 etcd_range "$(etcd_url m1)" "${PFX}result/"
	assert_output --regexp '"chunks":[4-9],'
}

@test "cluster: DELETE on A is seen on B; the node comes back with a new seq" {
	local old new
	three
	[ "$(reg "$A_URL" x1)" = 202 ]
	[ "$(reg "$A_URL" x2)" = 202 ]
	wait_for 10 registered "$B_URL" x1 x2
	old=$(curl -s "$B_URL/registrations" | jq '.registrations[] | select(.identifier == "x1") | .seq')
	run -0 curl -s -o /dev/null -w '%{http_code}' -X DELETE "$A_URL/registrations/x1"
	assert_output 204
	wait_for 10 eval '! registered "$B_URL" x1'
	run -0 registered "$B_URL" x2
	[ "$(reg "$C_URL" x1)" = 202 ]
	wait_for 10 registered "$B_URL" x1
	new=$(curl -s "$B_URL/registrations" | jq '.registrations[] | select(.identifier == "x1") | .seq')
	assert [ "$new" -gt "$old" ]
	assert_equal "$new" 3
}

# reg_202 URL ID: registers ID there until it is 202 (the instances may
# still be reconnecting).
reg_202() {
	[ "$(reg "$1" "$2")" = 202 ]
}

# within SECONDS CMD...: retries CMD until it succeeds or SECONDS passed,
# however long each try takes.
within() {
	local end=$((SECONDS + $1))
	shift
	while [ "$SECONDS" -lt "$end" ]; do
		"$@" && return 0
		sleep 0.1
	done
	return 1
}

# status_of URL ID: the status of POST /node there, within 3 s (000: no
# answer); the body in $T/node.body.
status_of() {
	curl -s -m 3 -o "$T/node.body" -w '%{http_code}' -X POST \
	    --data "{\"identifier\":\"$2\",\"ip\":\"10.0.0.1\"}" "$1/node"
}

# has URL ID TEXT: POST /node there is a 200 within 3 s, TEXT in its body.
has() {
	[ "$(status_of "$1" "$2")" = 200 ] && grep -qF "$3" "$T/node.body"
}

# seqs URL: "ID:SEQ ..." of GET /registrations there, in its order.
seqs() {
	curl -s -m 5 "$1/registrations" |
	    jq -r '[.registrations[] | "\(.identifier):\(.seq)"] | join(" ")'
}

@test "cluster: etcd restored from a backup, its revisions back: every mirror lists again, the restored set runs again, and a node registered since is served" {
	local n prog=$T/slow4.sh
	# The first run of four nodes takes 3 s: n4's is under way while the
	# backup is taken, so its result is published after it.
	cat >"$prog" <<-SH
	#!/bin/sh
	snap=\$(cat)
	if [ "\$(printf '%s' "\$snap" | jq '.registrations | length')" = 4 ] &&
	    mkdir "$T/slowed" 2>/dev/null; then
		sleep 3
	fi
	printf '%s' "\$snap" | exec "$MAT"
	SH
	chmod +x "$prog"
	MAT=$prog three
	for n in n1 n2 n3; do
		[ "$(reg "$A_URL" $n)" = 202 ]
	done
	within 20 has "$B_URL" n3 'n: 3\n'
	[ "$(reg "$A_URL" n4)" = 202 ]
	etcd_backup "$T/backup"
	within 20 has "$B_URL" n4 'n: 4\n'
	# And what the restore takes back: 36 more nodes, their results.
	reg_many "$T/regs" 40 "$A_URL" "$B_URL"
	run -0 awk '$2 != 202' "$T/regs"
	assert_output ""
	within 30 has "$B_URL" n40 'n: 40\n'
	etcd_restore "$T/backup"
	for n in A B C; do
		within 20 count_at "$(url $n)" 4
	done
	# The restored set's result is not in the restored etcd: run again.
	for n in A B C; do
		within 30 has "$(url $n)" n4 'n: 4\n'
	done
	assert [ "$(grep -c '^run n1,n2,n3,n4$' "$RUNS")" -ge 2 ]
	within 20 reg_202 "$C_URL" m1
	for n in A B C; do
		within 10 eval "[ \"\$(seqs '$(url $n)')\" = 'm1:5 n1:1 n2:2 n3:3 n4:4' ]"
		within 30 has "$(url $n)" m1 'n: 5\n'
		run -0 curl -s "$(url $n)/metrics"
		assert_output --regexp $'\ncfgsync_store_rewinds_total [1-9]'
	done
	run -0 status_of "$A_URL" n40
	assert_output 425
}
