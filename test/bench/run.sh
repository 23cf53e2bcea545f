#!/bin/sh
# make bench: every benchmark in test/bench, one after the other.  Each
# prints its own figures as a ratio against a reference run measured in the
# same invocation; none is part of `make check` (machines are noisy).
set -eu
dir=$(dirname "$0")
for b in "$dir"/*.sh; do
	[ "$(basename "$b")" = run.sh ] && continue
	echo "== $(basename "$b")"
	sh "$b"
done
