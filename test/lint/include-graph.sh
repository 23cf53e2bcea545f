#!/bin/sh
# Fails when the modules of lib/ include each other in a cycle, and prints
# the cycle.  A module is a name with its .c and .h; module A depends on
# module B when a.c or a.h has #include "b.h".  Headers without a .c
# (exitcode.h, store.h) are modules too, but a module's private header,
# NAME_internal.h, is part of module NAME.  Usage: include-graph.sh [libdir]
dir=${1:-lib}
ls "$dir"/*.c "$dir"/*.h >/dev/null 2>&1 || {
	echo "include-graph: no sources in $dir" >&2
	exit 2
}
sp='[[:space:]]*'
re="s/^$sp#${sp}include$sp\"\\([^\"]*\\)\\.h\".*/\\1/p"
for f in "$dir"/*.c "$dir"/*.h; do
	m=$(basename "$f")
	m=${m%.*}
	m=${m%_internal}
	sed -n "$re" "$f" | while read -r h; do
		h=${h%_internal}
		[ "$h" = "$m" ] || echo "$m $h"
	done
done | sort -u | awk '
{
	if (!($1 in seen)) { seen[$1] = 1; names[++n] = $1 }
	if (!($2 in seen)) { seen[$2] = 1; names[++n] = $2 }
	edge[$1, ++deg[$1]] = $2
}
# Depth-first search; state 1 is on the current path, 2 is finished.
function visit(v,    i, w, k, s) {
	state[v] = 1
	path[++depth] = v
	for (i = 1; i <= deg[v]; i++) {
		w = edge[v, i]
		if (state[w] == 1) {
			s = w
			for (k = depth; k > 0 && path[k] != w; k--)
				;
			for (k++; k <= depth; k++)
				s = s " -> " path[k]
			print "include-graph: cycle: " s " -> " w
			found = 1
			continue
		}
		if (state[w] == 0)
			visit(w)
	}
	depth--
	state[v] = 2
}
END {
	for (i = 1; i <= n; i++)
		if (state[names[i]] == 0)
			visit(names[i])
	exit found
}'
