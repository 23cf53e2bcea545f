#!/bin/sh
# serve-bundle under load: POST /node for a node of a 1000-node bundle
# against GET /healthz (the reference: the same server, no lookup, no
# body parse) in the same run, with wrk from Debian's packages on loopback.
# Usage: sh test/bench/serve.sh [SECONDS]   (default 5 per run)
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
secs=${1:-5}
command -v wrk >/dev/null || { echo "serve.sh: needs wrk (apt-get install wrk)"; exit 0; }
work=$(mktemp -d)
pid=
trap 'if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; fi; rm -rf "$work"' EXIT

python3 - "$work/bundle.json" <<'PY'
import json, sys
nodes = [{"identifier": "node-%d" % i,
          "files": [{"path": "/etc/app/config.yaml",
                     "content": "id: node-%d\nport: %d\n" % (i, 3000 + i)}]}
         for i in range(1000)]
json.dump({"nodes": nodes, "shared_files": [
    {"path": "deployment-settings.yaml", "content": "mode: bench\n" * 20}]},
    open(sys.argv[1], "w"))
PY
cat >"$work/node.lua" <<'LUA'
wrk.method = "POST"
wrk.body = '{"identifier":"node-500","ip":"10.0.0.1"}'
wrk.headers["Content-Type"] = "application/json"
LUA
"$top/cfgsync" serve-bundle -q --listen 127.0.0.1:0 --port-file "$work/port" \
    "$work/bundle.json" 2>/dev/null &
pid=$!
i=0
while [ ! -s "$work/port" ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
url=http://127.0.0.1:$(cat "$work/port")

rate() { awk '/Requests\/sec/ { print $2 }'; }
ref=$(wrk -t1 -c32 -d"${secs}s" "$url/healthz" | rate)
node=$(wrk -t1 -c32 -d"${secs}s" -s "$work/node.lua" "$url/node" | rate)
echo "GET /healthz (reference): $ref requests/s"
echo "POST /node (1000-node bundle): $node requests/s"
awk -v a="$node" -v b="$ref" 'BEGIN { printf "ratio node/healthz: %.3f\n", a / b }'
