#!/bin/sh
# serve-bundle POST /node against Debian's nginx serving the same payload
# bytes as a static file, both on 127.0.0.1 with keep-alive, in the same
# invocation.  wrk (a Lua script gives the POST body) at 50 and 200
# connections, ROUNDS rounds interleaved (cfgsync, nginx, cfgsync, ...),
# median requests/s of each and the ratio cfgsync/nginx; then, where h2load
# (nghttp2-client) is present, 10 000 connections in HTTP/1.1 mode with
# p50/p99 latency from h2load's per-request log, the ratio of the p99s.
# Usage: sh test/bench/serve.sh [SECONDS [ROUNDS]]   (default 5 and 3)
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
secs=${1:-5}
rounds=${2:-3}
for t in wrk nginx; do
	command -v $t >/dev/null || [ -x /usr/sbin/$t ] ||
	    { echo "serve.sh: needs $t (Debian's packages; make bench)"; exit 0; }
done
nginx=$(command -v nginx || echo /usr/sbin/nginx)
work=$(mktemp -d)
chmod 0755 "$work"	# nginx's workers may run as another user
pid=
npid=
trap 'for p in $pid $npid; do kill "$p" 2>/dev/null || true; done
rm -rf "$work"' EXIT
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

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
body='{"identifier":"node-500","ip":"10.0.0.1"}'
printf '%s' "$body" >"$work/body.json"
cat >"$work/node.lua" <<LUA
wrk.method = "POST"
wrk.body = '$body'
wrk.headers["Content-Type"] = "application/json"
LUA

# Every client here is 127.0.0.1: no per-address limit (its default, half
# the connection limit, would refuse half of h2load's 10 000).  10 400
# connections: from 97 % of the limit on (10 075 here) the server closes
# its oldest idle keep-alive connections to make room, which at 10 100
# (from 9 785 on) cost h2load's 10 000 about 2 % of their requests.
"$top/cfgsync" serve-bundle -q --listen 127.0.0.1:0 --port-file "$work/port" \
    --max-connections 10400 --max-connections-per-ip 0 "$work/bundle.json" \
    2>/dev/null &
pid=$!
i=0
while [ ! -s "$work/port" ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
curl_url=http://127.0.0.1:$(cat "$work/port")
mkdir "$work/www" "$work/tmp"
curl -s -f -o "$work/www/node" -X POST -H 'Content-Type: application/json' \
    --data "$body" "$curl_url/node"
chmod 0644 "$work/www/node"

# nginx: the same bytes as a static file; POST on a file is a 405, which
# error_page turns back into the file with 200.
nport=$(python3 -c 'import socket; s = socket.socket()
s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat >"$work/nginx.conf" <<NGX
daemon off;
worker_processes auto;
worker_rlimit_nofile 20000;
pid $work/nginx.pid;
error_log $work/nginx.err warn;
events { worker_connections 12000; }
http {
	access_log off;
	keepalive_requests 1000000;
	keepalive_timeout 60s;
	client_body_temp_path $work/tmp/body;
	proxy_temp_path $work/tmp/proxy;
	fastcgi_temp_path $work/tmp/fastcgi;
	uwsgi_temp_path $work/tmp/uwsgi;
	scgi_temp_path $work/tmp/scgi;
	default_type application/json;
	sendfile on;
	tcp_nodelay on;
	open_file_cache max=16 inactive=60s;
	open_file_cache_valid 60s;
	server {
		listen 127.0.0.1:$nport backlog=4096;
		root $work/www;
		location / { error_page 405 =200 \$uri; }
	}
}
NGX
"$nginx" -p "$work" -c "$work/nginx.conf" 2>>"$work/nginx.err" &
npid=$!
i=0
until curl -s -f -o "$work/check" -X POST --data "$body" \
    "http://127.0.0.1:$nport/node" || [ $i -ge 100 ]; do
	sleep 0.05; i=$((i + 1))
done
cmp -s "$work/check" "$work/www/node" ||
    { echo "serve.sh: nginx does not serve the payload"
      cat "$work/nginx.err"; exit 1; }
echo "payload: $(wc -c <"$work/www/node") bytes, the same from both servers"

# rate: wrk's requests/s; 0 when any answer was not a 2xx or 3xx.
rate() { awk '/Non-2xx/ { bad = 1 } /Requests\/sec/ { r = $2 }
    END { print (bad ? 0 : r + 0) }'; }
median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
for c in 50 200; do
	r=1
	while [ $r -le "$rounds" ]; do
		wrk -t2 -c$c -d"${secs}s" -s "$work/node.lua" \
		    "$curl_url/node" | rate >>"$work/cfgsync.$c"
		wrk -t2 -c$c -d"${secs}s" -s "$work/node.lua" \
		    "http://127.0.0.1:$nport/node" | rate >>"$work/nginx.$c"
		r=$((r + 1))
	done
	a=$(median <"$work/cfgsync.$c")
	b=$(median <"$work/nginx.$c")
	ra=$(tr '\n' ' ' <"$work/cfgsync.$c")
	rb=$(tr '\n' ' ' <"$work/nginx.$c")
	echo "wrk -c$c: serve-bundle $a req/s, nginx $b req/s" \
	    "(medians of $rounds, each ${secs} s; rounds: $ra/ $rb)"
	# Each round's pair ran back to back: its ratio is the least noisy.
	pr=$(paste "$work/cfgsync.$c" "$work/nginx.$c" |
	    awk '$2 > 0 { printf "%.3f\n", $1 / $2 }' | median)
	awk -v a="$a" -v b="$b" -v c=$c -v pr="$pr" 'BEGIN {
		printf "ratio serve-bundle/nginx at %d connections: %.3f" \
		    " (median of the rounds%s ratios: %s)\n", c,
		    (b > 0 ? a / b : 0), "\047", pr }'
done

command -v h2load >/dev/null ||
    { echo "serve.sh: no h2load (nghttp2-client): 10 000 connections" \
      "skipped"; exit 0; }
# p50/p99 in ms of h2load's per-request log (third column: microseconds).
pct() {
	awk -F '\t' '$2 == 200 { print $3 }' "$1" | sort -n | awk '
	    { a[NR] = $1 }
	    END { if (NR == 0) { print "0 0 0"; exit }
		printf "%.1f %.1f %d\n", a[int((NR + 1) / 2)] / 1e3,
		    a[(int(NR * 0.99) > 0 ? int(NR * 0.99) : 1)] / 1e3, NR }'
}
r=1
while [ $r -le "$rounds" ]; do
	for s in cfgsync nginx; do
		url=$curl_url/node
		[ $s = nginx ] && url=http://127.0.0.1:$nport/node
		rm -f "$work/h2.log"
		timeout 120 h2load -p http/1.1 -t2 -c10000 -n100000 \
		    -d "$work/body.json" -H 'Content-Type: application/json' \
		    --log-file="$work/h2.log" "$url" >"$work/h2.out" 2>&1 || true
		set -- $(pct "$work/h2.log")
		echo "$1" >>"$work/h2p50.$s"
		echo "$2" >>"$work/h2p99.$s"
		echo "$3" >>"$work/h2ok.$s"
	done
	r=$((r + 1))
done
for s in cfgsync nginx; do
	eval "p50_$s=\$(median <\"\$work/h2p50.$s\")"
	eval "p99_$s=\$(median <\"\$work/h2p99.$s\")"
	eval "ok_$s=\$(median <\"\$work/h2ok.$s\")"
done
echo "h2load -c10000 -n100000 (http/1.1): serve-bundle p50 ${p50_cfgsync} ms" \
    "p99 ${p99_cfgsync} ms (${ok_cfgsync} ok), nginx p50 ${p50_nginx} ms" \
    "p99 ${p99_nginx} ms (${ok_nginx} ok), medians of $rounds"
awk -v a="$p99_cfgsync" -v b="$p99_nginx" 'BEGIN {
	printf "ratio p99 serve-bundle/nginx at 10000 connections: %.3f\n",
	    (b > 0 ? a / b : 0) }'
