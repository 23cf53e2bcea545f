#!/bin/sh
# wait-for-n.sh [N]: a cfgsync materializer in POSIX sh and jq.
#
# Not ready until N nodes (the argument, else $N, else 3) have registered.
# Then every node gets config.yaml with its identity and the ip:port of
# every other node (the port from its metadata's network_port, default
# 3000), and all of them share one deployment-settings.yaml.
# See cfgsync-materializer(7).
set -eu

n=${1:-${N:-3}}
case $n in
''|*[!0-9]*) echo "wait-for-n.sh: N must be a number, not '$n'" >&2; exit 2 ;;
esac

snapshot=$(cat)
count=$(printf '%s\n' "$snapshot" | jq '.registrations | length')
if [ "$count" -lt "$n" ]; then
	echo "wait-for-n.sh: $count of $n nodes registered" >&2
	echo '{"ready": false}'
	exit 0
fi

printf '%s\n' "$snapshot" | jq -c --argjson n "$n" '
  def addr: "\(.ip):\(.metadata.network_port // 3000)";
  .registrations as $all |
  {nodes: [$all[] | . as $me | {
      identifier,
      files: [{path: "config.yaml", content: (
        "id: \($me.identifier)\nip: \($me.ip)\npeers:\n" +
        ([$all[] | select(.identifier != $me.identifier) |
          "  - \(addr)\n"] | add // ""))}]}],
   shared_files: [{path: "deployment-settings.yaml", content:
     "nodes: \($all | length)\ngeneration: \(env.CFGSYNC_GENERATION // "0")\n"}]}'
