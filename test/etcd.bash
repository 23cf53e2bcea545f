# A test etcd: members of one cluster on free 127.0.0.1 ports, pre-vote
# on, each with its own data dir, found and stopped by PID.  Load it after
# helpers.  State lives in files under ETCD_DIR (tests run in other
# processes than setup_file): mK.pid, mK.url (client URL), mK.args.
#
#   etcd_start_cluster N [DIR]  start m1..mN, wait until every one is healthy
#   etcd_endpoints              "http://127.0.0.1:C1,http://..." (all members)
#   etcd_url MEMBER             one member's client URL (MEMBER is mK or K)
#   etcd_leader                 prints the leading member's name (mK)
#   etcd_wait_leader [NOT]      waits (at most 15 s) for a leader other than NOT
#   etcd_stop MEMBER            SIGTERM, then SIGKILL after 10 s
#   etcd_kill MEMBER            SIGKILL
#   etcd_kill_leader            SIGKILL of the leader; prints its name
#   etcd_pause / etcd_resume MEMBER   SIGSTOP / SIGCONT
#   etcd_restart MEMBER         starts a stopped member again on its data dir
#   etcd_stop_all               every member, by PID (teardown)
#   etcd_backup DIR             every member stopped, its data dir copied
#                               to DIR, started again
#   etcd_restore DIR            every member stopped, its data dir put back
#                               from DIR, started again: etcd's history
#                               (revisions included) is the backup's
#   etcd_running                prints the members whose process is alive

ETCD_BIN=${ETCD_BIN:-etcd}

# etcd_available: whether an etcd binary is on PATH (skip the suite if not).
etcd_available() {
	command -v "$ETCD_BIN" >/dev/null 2>&1
}

_etcd_name() {
	case $1 in
	m*) printf '%s\n' "$1" ;;
	*) printf 'm%s\n' "$1" ;;
	esac
}

_etcd_pid() {
	cat "$ETCD_DIR/$(_etcd_name "$1").pid" 2>/dev/null
}

etcd_url() {
	cat "$ETCD_DIR/$(_etcd_name "$1").url"
}

# _etcd_launch NAME: starts NAME with the arguments saved for it.
_etcd_launch() {
	local name=$1 args
	args=$(cat "$ETCD_DIR/$name.args")
	# Started from a subshell, so that no shell reports its death.
	# shellcheck disable=SC2086
	(
		"$ETCD_BIN" $args >>"$ETCD_DIR/$name.log" 2>&1 3>&- &
		echo $! >"$ETCD_DIR/$name.pid"
	)
}

# _etcd_healthy URL: the member at URL answers /health with a leader.
_etcd_healthy() {
	curl -s -m 2 "$1/health" 2>/dev/null | jq -e '.health == "true"' \
	    >/dev/null 2>&1
}

# _etcd_wait_healthy NAME: waits (at most 20 s) for NAME to be healthy.
_etcd_wait_healthy() {
	local name=$1 url i pid end=$((SECONDS + 20))
	url=$(etcd_url "$name")
	pid=$(_etcd_pid "$name")
	for i in $(seq 1 200); do
		_etcd_healthy "$url" && return 0
		kill -0 "$pid" 2>/dev/null || break
		[ "$SECONDS" -lt "$end" ] || break
		sleep 0.1
	done
	echo "etcd $name at $url is not healthy:" >&2
	tail -n 20 "$ETCD_DIR/$name.log" >&2
	return 1
}

etcd_start_cluster() {
	local n=$1 i cluster= cport pport name token=cfgsync-test-$$-$RANDOM
	ETCD_DIR=${2:-${BATS_FILE_TMPDIR:-$BATS_TEST_TMPDIR}/etcd}
	ETCD_N=$n
	export ETCD_DIR ETCD_N
	mkdir -p "$ETCD_DIR"
	for i in $(seq 1 "$n"); do
		cport=$(free_port)
		pport=$(free_port)
		while [ "$pport" = "$cport" ]; do
			pport=$(free_port)
		done
		echo "http://127.0.0.1:$cport" >"$ETCD_DIR/m$i.url"
		echo "http://127.0.0.1:$pport" >"$ETCD_DIR/m$i.peer"
		cluster="$cluster${cluster:+,}m$i=http://127.0.0.1:$pport"
	done
	for i in $(seq 1 "$n"); do
		name=m$i
		cat >"$ETCD_DIR/$name.args" <<-ARGS
		--name $name --data-dir $ETCD_DIR/$name.data
		--listen-client-urls $(etcd_url "$name")
		--advertise-client-urls $(etcd_url "$name")
		--listen-peer-urls $(cat "$ETCD_DIR/$name.peer")
		--initial-advertise-peer-urls $(cat "$ETCD_DIR/$name.peer")
		--initial-cluster $cluster --initial-cluster-state new
		--initial-cluster-token $token
		--pre-vote=true --log-level warn
		ARGS
		_etcd_launch "$name"
	done
	for i in $(seq 1 "$n"); do
		_etcd_wait_healthy "m$i" || return 1
	done
}

etcd_endpoints() {
	local i list=
	for i in $(seq 1 "$ETCD_N"); do
		list="$list${list:+,}$(etcd_url "m$i")"
	done
	printf '%s\n' "$list"
}

etcd_running() {
	local i pid
	for i in $(seq 1 "${ETCD_N:-0}"); do
		pid=$(_etcd_pid "m$i")
		[ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && echo "m$i"
	done
	return 0
}

# _etcd_status URL: the member's maintenance status ({"header":
# {"member_id"}, "leader", ...}), or nothing.
_etcd_status() {
	curl -s -m 2 -X POST -d '{}' "$1/v3/maintenance/status" 2>/dev/null
}

# etcd_leader: the name of the member that leads, as the running members
# see it; fails when none does.
etcd_leader() {
	local m st
	for m in $(etcd_running); do
		st=$(_etcd_status "$(etcd_url "$m")") || continue
		if [ -n "$st" ] && jq -e '.header.member_id == .leader and
		    .leader != null and .leader != "0"' >/dev/null 2>&1 <<<"$st"
		then
			echo "$m"
			return 0
		fi
	done
	return 1
}

etcd_wait_leader() {
	local not=${1:-} i l end=$((SECONDS + 15))
	for i in $(seq 1 150); do
		if l=$(etcd_leader) && [ "$l" != "$not" ]; then
			echo "$l"
			return 0
		fi
		[ "$SECONDS" -lt "$end" ] || break
		sleep 0.1
	done
	echo "etcd: no leader${not:+ other than $not} after 15 s" >&2
	return 1
}

_etcd_gone() {
	local pid=$1 i
	for i in $(seq 1 100); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.1
	done
	return 1
}

etcd_stop() {
	local pid
	pid=$(_etcd_pid "$1")
	[ -n "$pid" ] || return 0
	kill -CONT "$pid" 2>/dev/null || return 0
	kill -TERM "$pid" 2>/dev/null || return 0
	_etcd_gone "$pid" && return 0
	kill -KILL "$pid" 2>/dev/null
	_etcd_gone "$pid"
}

etcd_kill() {
	local pid
	pid=$(_etcd_pid "$1")
	[ -n "$pid" ] || return 0
	kill -KILL "$pid" 2>/dev/null || return 0
	_etcd_gone "$pid"
}

etcd_kill_leader() {
	local l
	l=$(etcd_wait_leader) || return 1
	etcd_kill "$l" || return 1
	echo "$l"
}

etcd_pause() {
	kill -STOP "$(_etcd_pid "$1")"
}

etcd_resume() {
	kill -CONT "$(_etcd_pid "$1")"
}

etcd_restart() {
	local name pid
	name=$(_etcd_name "$1")
	pid=$(_etcd_pid "$name")
	if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
		echo "etcd $name is still running" >&2
		return 1
	fi
	_etcd_launch "$name"
	_etcd_wait_healthy "$name"
}

etcd_stop_all() {
	local i
	[ -n "${ETCD_DIR:-}" ] || return 0
	for i in $(seq 1 "${ETCD_N:-0}"); do
		etcd_stop "m$i" || true
	done
	[ -z "$(etcd_running)" ]
}

# _etcd_start_all: starts every member that is not running, then waits
# until each is healthy (none is before a quorum is up).
_etcd_start_all() {
	local i
	for i in $(seq 1 "$ETCD_N"); do
		etcd_running | grep -qx "m$i" || _etcd_launch "m$i"
	done
	for i in $(seq 1 "$ETCD_N"); do
		_etcd_wait_healthy "m$i" || return 1
	done
}

etcd_backup() {
	local i
	etcd_stop_all || return 1
	mkdir -p "$1"
	for i in $(seq 1 "$ETCD_N"); do
		cp -a "$ETCD_DIR/m$i.data" "$1/" || return 1
	done
	_etcd_start_all
}

etcd_restore() {
	local i
	etcd_stop_all || return 1
	for i in $(seq 1 "$ETCD_N"); do
		rm -rf "$ETCD_DIR/m$i.data"
		cp -a "$1/m$i.data" "$ETCD_DIR/" || return 1
	done
	_etcd_start_all
}

# etcd_range URL PREFIX [keys]: what is stored under PREFIX (ending in
# "/"), decoded, one value (or with "keys", one key) a line.
etcd_range() {
	local field=value extra= v
	[ "${3:-}" = keys ] && field=key extra=',"keys_only":true'
	curl -s "$1/v3/kv/range" -d "{\"key\":\"$(printf '%s' "$2" |
	    base64 -w0)\",\"range_end\":\"$(printf '%s0' "${2%/}" |
	    base64 -w0)\"$extra}" | jq -r ".kvs[]?.$field" |
	    while read -r v; do
		printf '%s' "$v" | base64 -d
		echo
	done
}

# etcd_compact URL: compacts etcd's history up to its current revision,
# physically: a watch from before it is refused.
etcd_compact() {
	local rev
	rev=$(curl -s "$1/v3/kv/range" -d '{"key":"AA=="}' |
	    jq -r .header.revision)
	curl -s "$1/v3/kv/compaction" \
	    -d "{\"revision\":\"$rev\",\"physical\":true}" >/dev/null
}

# materializer_runs URL: the runs that instance made, all outcomes.
materializer_runs() {
	curl -s "$1/metrics" | awk '/^cfgsync_materializer_runs_total/ {
	    n += $2 } END { print n + 0 }'
}
