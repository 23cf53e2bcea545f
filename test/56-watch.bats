bats_require_minimum_version 1.5.0

load helpers

# fetch --watch against real servers: serve-bundle reloaded with SIGHUP,
# serve-exec with a new materializer result, a server that knows ETags
# (test/fixtures/etag-server.py), and a supervised child.  Every watcher
# runs in the background with its PID kept, and is killed in teardown.

setup() {
	T=$BATS_TEST_TMPDIR
	WPID=
	LOCKED=
}

teardown() {
	if [ -n "$LOCKED" ]; then
		chattr -i "$LOCKED" 2>/dev/null || true
	fi
	if [ -n "$WPID" ]; then
		kill -KILL "$WPID" 2>/dev/null || true
		wait "$WPID" 2>/dev/null || true
	fi
	if [ -s "$T/child.pid" ]; then
		kill -KILL "$(cat "$T/child.pid")" 2>/dev/null || true
	fi
	stop_server S || true
	stop_server E || true
}

# bundle FILE CONTENT: a bundle giving node-1 a.txt with CONTENT.
bundle() {
	jq -n --arg c "$2" '{nodes: [{identifier: "node-1",
	    files: [{path: "a.txt", content: $c}]}]}' >"$1"
}

# watch ARGS...: starts `cfgsync fetch --watch ARGS` in the background,
# stdout and stderr in $T/w.out and $T/w.log; sets WPID.
watch() {
	cfgsync fetch --watch --id node-1 --ip 127.0.0.1 "$@" \
	    >"$T/w.out" 2>"$T/w.log" 3>&- &
	WPID=$!
}

# wait_for CMD...: retries CMD for at most 15 s.
wait_for() {
	local i
	for i in $(seq 1 300); do
		"$@" && return 0
		sleep 0.05
	done
	return 1
}

# lines_are N FILE: FILE exists and has N lines.
lines_are() {
	[ -f "$2" ] && [ "$(wc -l <"$2")" -eq "$1" ]
}

# has FILE TEXT: FILE holds exactly TEXT.
has() {
	[ -f "$1" ] && [ "$(cat "$1")" = "$2" ]
}

# finish PID: waits (at most 15 s) for PID to exit; sets RC to its status.
finish() {
	local i
	for i in $(seq 1 300); do
		kill -0 "$1" 2>/dev/null || break
		sleep 0.05
	done
	RC=0
	wait "$1" || RC=$?
	WPID=
}

# A child that logs what it sees once its traps are set: its start (with
# a.txt's content), each SIGHUP and SIGUSR1, SIGINT (then exits 8) and
# SIGTERM (then exits 7).  It exits on its
# own after 60 s, and exits 3 at once when a.txt says "exit".
child_script() {
	cat >"$T/child.sh" <<-'SH'
	#!/bin/sh
	trap 'echo hup >>"$DIR/child.log"' HUP
	trap 'echo usr1 >>"$DIR/child.log"' USR1
	trap 'echo int >>"$DIR/child.log"; exit 8' INT
	trap 'echo term >>"$DIR/child.log"; exit 7' TERM
	echo $$ >"$DIR/child.pid"
	echo "start $(cat "$DIR/o/a.txt")" >>"$DIR/child.log"
	[ "$(cat "$DIR/o/a.txt")" = exit ] && exit 3
	i=0
	while [ $i -lt 600 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	SH
	chmod +x "$T/child.sh"
	export DIR=$T
}

@test "fetch --watch: a new bundle loaded by SIGHUP is written, --on-change runs once per change" {
	bundle "$T/b.json" v1
	start_server S "$T" serve-bundle "$T/b.json"
	watch --server "$S_URL" --out "$T/o" \
	    --on-change "echo \$(cat '$T/o/a.txt') >>'$T/changes'"
	wait_for lines_are 1 "$T/changes"
	assert_equal "$(cat "$T/changes")" v1
	bundle "$T/b.json" v2
	kill -HUP "$S_PID"
	wait_for has "$T/o/a.txt" v2
	wait_for lines_are 2 "$T/changes"
	# The same payload again and again is no change.
	sleep 2
	assert_equal "$(printf 'v1\nv2')" "$(cat "$T/changes")"
	run -0 grep -c 'wrote 1 files' "$T/w.log"
	assert_output 2
	no_temporaries "$T/o"
}

@test "fetch --watch: a server that answers the same payload at once is not asked in a loop" {
	bundle "$T/b.json" v1
	start_server S "$T" serve-bundle "$T/b.json"
	watch --server "$S_URL" --out "$T/o"
	wait_for has "$T/o/a.txt" v1
	: >"$T/S.log"
	sleep 3
	# serve-bundle parks a poll that carries the payload's ETag until the
	# payload changes: no poll is answered in these 3 s, none loops.
	local n
	n=$(grep -c 'POST /node' "$T/S.log" || true)
	echo "polls answered in 3 s: $n"
	assert [ "$n" -le 2 ]
}

@test "fetch --watch: a change that cannot be written keeps the old files and is tried again" {
	bundle "$T/b.json" v1
	start_server S "$T" serve-bundle "$T/b.json"
	watch --server "$S_URL" --out "$T/o" --on-change "echo x >>'$T/changes'"
	wait_for has "$T/o/a.txt" v1
	chattr +i "$T/o" 2>/dev/null || skip "chattr +i does not work here"
	LOCKED=$T/o
	bundle "$T/b.json" v2
	kill -HUP "$S_PID"
	wait_for grep -q 'old files kept' "$T/w.log"
	assert_equal "$(cat "$T/o/a.txt")" v1
	chattr -i "$T/o"
	LOCKED=
	wait_for has "$T/o/a.txt" v2
	wait_for lines_are 2 "$T/changes"
	no_temporaries "$T/o"
}

@test "fetch --watch: a new materializer result of serve-exec is written" {
	NEED=1 start_server E "$T" serve-exec --debounce 50 -- \
	    "$FIXTURES/need2.sh"
	watch --server "$E_URL" --out "$T/o" --on-change "echo x >>'$T/changes'"
	wait_for has "$T/o/shared.yaml" "n: 1"
	assert_equal "$(cat "$T/o/config.yaml")" "id: node-1"
	run -0 cfgsync register -q --server "$E_URL" --id node-2 --ip 127.0.0.2
	wait_for has "$T/o/shared.yaml" "n: 2"
	wait_for lines_are 2 "$T/changes"
}

@test "fetch --watch: a server that goes away is waited for, and its new files written" {
	port=$(free_port)
	bundle "$T/b.json" v1
	start_server_raw S "$T" serve-bundle --listen "127.0.0.1:$port" \
	    --port-file "$T/S.port" "$T/b.json"
	watch --server "$S_URL" --out "$T/o" --timeout 1
	wait_for has "$T/o/a.txt" v1
	stop_server S
	# Longer than --timeout: that was for the first write only.
	sleep 2
	run -0 grep 'waiting: server unreachable' "$T/w.log"
	assert kill -0 "$WPID"
	bundle "$T/b.json" v2
	start_server_raw S "$T" serve-bundle --listen "127.0.0.1:$port" \
	    --port-file "$T/S.port" "$T/b.json"
	wait_for has "$T/o/a.txt" v2
}

@test "fetch --watch: polls carry If-None-Match, a held 304 is asked again, a new ETag is written" {
	printf '{"files":[{"path":"a.txt","content":"v1"}]}\n' \
	    >"$T/payload.json"
	: >"$T/E.requests"
	python3 "$FIXTURES/etag-server.py" --port-file "$T/E.port" \
	    --payload "$T/payload.json" --log "$T/E.requests" --hold 1 \
	    >"$T/E.out" 2>"$T/E.log" 3>&- &
	wait_port E "$T" $!
	watch --server "$E_URL" --out "$T/o" --on-change "echo x >>'$T/changes'"
	wait_for has "$T/o/a.txt" v1
	wait_for sh -c "[ \$(jq -s 'map(select(.status == 304)) | length' \
	    '$T/E.requests') -ge 2 ]"
	run -0 jq -r 'select(.status == 304) | .if_none_match' "$T/E.requests"
	assert_regex "${lines[0]}" '^"[0-9a-f]{16}"$'
	# Each 304 was held a second and asked again at once: no back-off.
	run -0 jq -s 'map(select(.if_none_match == null)) | length' \
	    "$T/E.requests"
	assert_output 1
	jq -c '.files[0].content = "v2"' "$T/payload.json" >"$T/p.new"
	mv "$T/p.new" "$T/payload.json"
	wait_for has "$T/o/a.txt" v2
	wait_for lines_are 2 "$T/changes"
}

@test "fetch --watch -- COMMAND: starts it after the first write, sends HUP after a change, forwards SIGTERM, passes its status" {
	child_script
	bundle "$T/b.json" v1
	start_server S "$T" serve-bundle "$T/b.json"
	watch --server "$S_URL" --out "$T/o" -- "$T/child.sh"
	wait_for lines_are 1 "$T/child.log"
	assert_equal "$(cat "$T/child.log")" "start v1"
	bundle "$T/b.json" v2
	kill -HUP "$S_PID"
	wait_for lines_are 2 "$T/child.log"
	assert_equal "$(sed -n 2p "$T/child.log")" hup
	assert_equal "$(cat "$T/o/a.txt")" v2
	kill -TERM "$WPID"
	finish "$WPID"
	assert_equal "$RC" 7
	assert_equal "$(sed -n 3p "$T/child.log")" term
	assert [ ! -e "/proc/$(cat "$T/child.pid")" ]
}

@test "fetch --watch -- COMMAND: SIGHUP and SIGINT are forwarded, --reload-signal USR1 is sent" {
	child_script
	bundle "$T/b.json" v1
	start_server S "$T" serve-bundle "$T/b.json"
	watch --server "$S_URL" --out "$T/o" --reload-signal SIGUSR1 \
	    -- "$T/child.sh"
	wait_for lines_are 1 "$T/child.log"
	kill -HUP "$WPID"
	wait_for lines_are 2 "$T/child.log"
	assert_equal "$(sed -n 2p "$T/child.log")" hup
	bundle "$T/b.json" v2
	kill -HUP "$S_PID"
	wait_for lines_are 3 "$T/child.log"
	assert_equal "$(sed -n 3p "$T/child.log")" usr1
	kill -INT "$WPID"
	finish "$WPID"
	assert_equal "$RC" 8
	assert_equal "$(sed -n 4p "$T/child.log")" int
}

@test "fetch --watch -- COMMAND: --restart-on-change restarts it on the new files" {
	child_script
	bundle "$T/b.json" v1
	start_server S "$T" serve-bundle "$T/b.json"
	watch --server "$S_URL" --out "$T/o" --restart-on-change \
	    --on-change "echo x >>'$T/changes'" -- "$T/child.sh"
	wait_for lines_are 1 "$T/child.log"
	first=$(cat "$T/child.pid")
	bundle "$T/b.json" v2
	kill -HUP "$S_PID"
	wait_for lines_are 3 "$T/child.log"
	assert_equal "$(sed -n 2,3p "$T/child.log")" "$(printf 'term\nstart v2')"
	refute [ "$(cat "$T/child.pid")" = "$first" ]
	assert kill -0 "$WPID"
	assert_equal "$(cat "$T/changes")" "$(printf 'x\nx')"
}

@test "fetch --watch -- COMMAND: a command that exits on its own ends fetch with its status" {
	child_script
	bundle "$T/b.json" exit
	start_server S "$T" serve-bundle "$T/b.json"
	watch --server "$S_URL" --out "$T/o" -- "$T/child.sh"
	finish "$WPID"
	assert_equal "$RC" 3
	assert_equal "$(cat "$T/child.log")" "start exit"
	printf '#!/bin/sh\nkill -KILL $$\n' >"$T/die.sh"
	chmod +x "$T/die.sh"
	watch --server "$S_URL" --out "$T/o" -- "$T/die.sh"
	finish "$WPID"
	assert_equal "$RC" 137
	watch --server "$S_URL" --out "$T/o" -- "$T/no-such-command"
	finish "$WPID"
	assert_equal "$RC" 127
}

@test "fetch --watch: --on-change past --on-change-timeout is killed, and the watch goes on" {
	bundle "$T/b.json" v1
	start_server S "$T" serve-bundle "$T/b.json"
	watch --server "$S_URL" --out "$T/o" --on-change-timeout 1 \
	    --on-change "echo \$\$ >>'$T/sh.pids'; sleep 30"
	wait_for grep -q 'on-change: killed after 1 s' "$T/w.log"
	bundle "$T/b.json" v2
	kill -HUP "$S_PID"
	wait_for lines_are 2 "$T/sh.pids"
	wait_for has "$T/o/a.txt" v2
	# The whole group went, the sleep included.
	run ps -o pid= -g "$(head -1 "$T/sh.pids")"
	assert_output ""
}

@test "fetch --watch: options that need --watch or a command, and a bad signal, exit 2" {
	run -2 cfgsync fetch --on-change true --server http://127.0.0.1:1
	assert_output --partial 'needs --watch'
	run -2 cfgsync fetch --restart-on-change --server http://127.0.0.1:1
	run -2 cfgsync fetch --watch --restart-on-change \
	    --server http://127.0.0.1:1
	assert_output --partial 'needs a command'
	run -2 cfgsync fetch --watch --reload-signal NOPE -- true
	assert_output --partial 'not a signal'
	run -2 cfgsync fetch --watch --reload-signal 65 -- true
	run -2 cfgsync fetch --watch --print --server http://127.0.0.1:1
	run -2 cfgsync fetch --watch --on-change-timeout 0 -- true
}
