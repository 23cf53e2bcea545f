#!/bin/sh
# fetch.sh DIR: cfgsync's client for a node without cfgsync, in `busybox
# sh` with busybox wget and busybox tar.  Registers the node, asks for its
# files as a tar archive (POST /node?format=tar, with a long poll), retries
# "not ready" (425), 5xx and connection errors with a doubling back-off,
# and unpacks the archive into DIR (paths relative to it, modes kept).
#
# Environment, as `cfgsync fetch` reads it:
#   CFG_SERVER_ADDR      the server (default http://127.0.0.1:4400)
#   CFG_HOST_IDENTIFIER  this node's identifier (default the host name)
#   CFG_HOST_IP          this node's address (default `hostname -i`)
#   CFG_TOKEN_FILE       a file holding the server's bearer token, if any
#   CFG_TIMEOUT          seconds to keep trying (default 300; 0: forever)
#   CFG_WAIT             seconds of each long poll (default 30; 0: none)
#
# Exit status: 0 the files are in DIR; 2 usage; 3 the server has no
# config for this node (404); 4 timed out; 6 the archive did not unpack.
set -u

die() {
	code=$1
	shift
	echo "fetch.sh: $*" >&2
	exit "$code"
}

# busybox's own applets, whatever else PATH holds (GNU wget and tar
# answer otherwise).
wget() { busybox wget "$@"; }
tar() { busybox tar "$@"; }

[ $# -eq 1 ] || die 2 "usage: fetch.sh DIR"
dir=$1
server=${CFG_SERVER_ADDR:-http://127.0.0.1:4400}
server=${server%/}
id=${CFG_HOST_IDENTIFIER:-$(hostname)}
ip=${CFG_HOST_IP:-$(hostname -i 2>/dev/null | cut -d' ' -f1)}
timeout=${CFG_TIMEOUT:-300}
wait=${CFG_WAIT:-30}
case $timeout$wait in
''|*[!0-9]*) die 2 "CFG_TIMEOUT, CFG_WAIT: not a number of seconds" ;;
esac
[ -n "$id" ] || die 2 "CFG_HOST_IDENTIFIER is empty"
[ -n "$ip" ] || die 2 "CFG_HOST_IP is empty and hostname -i gives nothing"
auth=
if [ -n "${CFG_TOKEN_FILE:-}" ]; then
	token=$(cat "$CFG_TOKEN_FILE") || die 2 "cannot read $CFG_TOKEN_FILE"
	auth="Authorization: Bearer $token"
fi
body="{\"identifier\":\"$id\",\"ip\":\"$ip\"}"

mkdir -p "$dir" || die 6 "cannot make $dir"
tmp=$(mktemp "$dir/.cfgsync-fetch.XXXXXX") || die 6 "cannot write in $dir"
trap 'rm -f "$tmp" "$tmp.err"' EXIT
trap 'exit 1' INT TERM

# post PATH: POSTs the node's registration; the answer in $tmp, wget's
# report (with the status line) in $tmp.err.  wget's exit status.
post() {
	if [ -n "$auth" ]; then
		wget -q -S -O "$tmp" --header "$auth" \
		    --header 'Content-Type: application/json' \
		    --post-data "$body" "$server$1" 2>"$tmp.err"
	else
		wget -q -S -O "$tmp" \
		    --header 'Content-Type: application/json' \
		    --post-data "$body" "$server$1" 2>"$tmp.err"
	fi
}

# status: the last HTTP status wget saw, or 000 without an answer.
status() {
	sed -n 's/^ *HTTP\/[0-9.]* \([0-9][0-9][0-9]\).*/\1/p' "$tmp.err" |
	    tail -n 1 | grep . || echo 000
}

start=$(date +%s)
delay=1
registered=
while :; do
	if [ -z "$registered" ] && post /register; then
		registered=yes
	fi
	if [ -n "$registered" ] && post "/node?format=tar&wait=$wait"; then
		tar -x -f "$tmp" -C "$dir" || die 6 "unpack into $dir failed"
		exit 0
	fi
	code=$(status)
	case $code in
	404) die 3 "no config for $id on $server" ;;
	401) die 2 "the server refused the token" ;;
	400) die 2 "the server refused the request: $(cat "$tmp")" ;;
	esac
	now=$(date +%s)
	if [ "$timeout" -gt 0 ] && [ $((now - start)) -ge "$timeout" ]; then
		die 4 "timed out after $timeout s (last status $code)"
	fi
	echo "fetch.sh: waiting: status $code, again in $delay s" >&2
	sleep "$delay"
	delay=$((delay * 2))
	[ "$delay" -le 30 ] || delay=30
done
