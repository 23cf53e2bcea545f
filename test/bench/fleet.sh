#!/bin/sh
# Materializer for bootstrap.sh: not ready until NEED nodes (node-0 ..
# node-NEED-1) are registered, then a bundle giving each its config.yaml
# and one shared file: a single line, or with PEERS=1 a list of every
# peer (about 14 bytes a node), the same for all nodes.  A bundle holds at
# most 100 000 files (BUNDLE_MAX_ENTRIES), so from 100 000 nodes on there is
# no shared file unless SHARED=1 (which the server then refuses).
need=${NEED:?}
shared=${SHARED:-1}
[ "$need" -ge 100000 ] && shared=${SHARED:-0}
cat >/dev/null
if [ "${CFGSYNC_REGISTRATIONS:-0}" -lt "$need" ]; then
	echo '{"ready":false}'
	exit 0
fi
exec awk -v n="$need" -v peers="${PEERS:-0}" -v shared="$shared" 'BEGIN {
	printf "{\"nodes\":["
	for (i = 0; i < n; i++)
		printf "%s{\"identifier\":\"node-%d\",\"files\":[{\"path\":" \
		    "\"config.yaml\",\"content\":\"id: node-%d\\nport: %d\\n\"}]}",
		    (i ? "," : ""), i, i, 3000 + i % 1000
	if (!shared) {
		printf "]}\n"
		exit
	}
	printf "],\"shared_files\":[{\"path\":\"deployment-settings.yaml\"," \
	    "\"content\":\""
	if (peers)
		for (i = 0; i < n; i++)
			printf "- node-%d\\n", i
	else
		printf "nodes: %d\\n", n
	printf "\"}]}\n"
}'
