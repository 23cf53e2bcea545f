#!/bin/sh
# cfgsync demo (`make demo`): serve bundles/demo.json (beside this script)
# on a free local port, let three nodes fetch their files at once, show
# what they got, run one node as an entrypoint, then stop the server.
# Builds nothing.  It runs $CFGSYNC when set, else the cfgsync of the
# source tree it sits in (share/../cfgsync, after `make`), else the
# installed one (PREFIX/share/cfgsync/../../bin/cfgsync), else cfgsync on
# PATH.  Everything stays on 127.0.0.1 and in a temporary directory that
# is removed at the end.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
if [ -z "${CFGSYNC:-}" ]; then
	for c in "$here/../cfgsync" "$here/../../bin/cfgsync"; do
		if [ -f "$c" ] && [ -x "$c" ]; then
			CFGSYNC=$(cd "$(dirname "$c")" && pwd)/cfgsync
			break
		fi
	done
fi
if [ -z "${CFGSYNC:-}" ]; then
	CFGSYNC=$(command -v cfgsync) || {
		echo "demo: cfgsync not found: run make first" >&2
		exit 1
	}
fi
BUNDLE=$here/bundles/demo.json
NODES="node-1 node-2 node-3"

if [ ! -x "$CFGSYNC" ]; then
	echo "demo: $CFGSYNC is not an executable" >&2
	exit 1
fi
echo "demo: using $CFGSYNC"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/cfgsync-demo.XXXXXX")
server=

cleanup() {
	if [ -n "$server" ] && kill -0 "$server" 2>/dev/null; then
		kill -TERM "$server" 2>/dev/null || :
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

step() {
	printf '\n==> %s\n' "$*"
}

step "serving $BUNDLE on 127.0.0.1, port picked by the kernel"
"$CFGSYNC" serve-bundle --listen 127.0.0.1:0 --port-file "$tmp/port" \
    "$BUNDLE" 2>"$tmp/server.log" &
server=$!
i=0
while [ ! -s "$tmp/port" ]; do
	i=$((i + 1))
	if [ "$i" -gt 100 ] || ! kill -0 "$server" 2>/dev/null; then
		echo "demo: the server did not start:" >&2
		cat "$tmp/server.log" >&2
		exit 1
	fi
	sleep 0.1
done
url="http://127.0.0.1:$(cat "$tmp/port")"
echo "server pid $server at $url"

step "three nodes fetch at once: cfgsync fetch --id NODE --out DIR"
pids=
for n in $NODES; do
	"$CFGSYNC" fetch --server "$url" --id "$n" --ip 127.0.0.1 \
	    --timeout 30 --out "$tmp/$n" 2>"$tmp/$n.log" &
	pids="$pids $!"
done
failed=0
for p in $pids; do
	wait "$p" || failed=1
done
for n in $NODES; do
	sed "s/^/$n: /" "$tmp/$n.log"
done
if [ "$failed" -ne 0 ]; then
	echo "demo: a fetch failed" >&2
	exit 1
fi

for n in $NODES; do
	step "files of $n"
	(cd "$tmp/$n" && find . -type f | sort) | while read -r f; do
		printf -- '--- %s (mode %s)\n' "${f#./}" \
		    "$(stat -c %a "$tmp/$n/$f")"
		head -n 10 "$tmp/$n/$f"
	done
done

step "the payload itself: cfgsync fetch --print"
"$CFGSYNC" fetch --server "$url" --id node-2 --ip 127.0.0.1 --quiet \
    --timeout 30 --print

step "as an entrypoint: cfgsync fetch ... -- COMMAND runs once files are in"
"$CFGSYNC" fetch --server "$url" --id node-3 --ip 127.0.0.1 --quiet \
    --timeout 30 --out "$tmp/entry" -- \
    sh -c 'echo "node started with $(head -n 1 "$1/config.yaml")"' sh \
    "$tmp/entry"

step "an unknown node: exit 3, nothing written"
rc=0
"$CFGSYNC" fetch --server "$url" --id node-9 --ip 127.0.0.1 \
    --out "$tmp/node-9" || rc=$?
echo "exit status $rc; $tmp/node-9 exists: $([ -e "$tmp/node-9" ] &&
    echo yes || echo no)"

step "stopping the server (SIGTERM to pid $server)"
kill -TERM "$server"
rc=0
wait "$server" || rc=$?
server=
echo "server exit status $rc; its log:"
cat "$tmp/server.log"
[ "$rc" -eq 0 ]
echo
echo "demo: done"
