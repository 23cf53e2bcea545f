#!/bin/sh
# make bench: every benchmark in test/bench, one after the other, each
# bounded by timeout(1).  Each prints its figures as ratios against a
# reference measured in the same invocation; none is part of `make check`
# (machines are noisy).  The bootstrap figures are also drawn, with
# gnuplot where present, into PLOT (default test/bench/bootstrap.png).
# Usage: sh test/bench/run.sh
set -eu
dir=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

bench() {	# bench SECONDS SCRIPT ARGS...
	t=$1
	shift
	echo "== $*"
	timeout "$t" sh "$dir/$@" || echo "== $1: failed or timed out ($?)"
}
DATA=$work/bootstrap.dat
export DATA
bench 1500 bootstrap.sh 1000 10000 100000
bench 600 serve.sh
bench 900 register.sh
bench 300 parked.sh
MAXCONN=0	# today's default --max-connections, 2 000 nodes
export MAXCONN
bench 300 parked.sh 2000 5
unset MAXCONN
bench 300 longpoll.sh
bench 300 pack.sh
if command -v gnuplot >/dev/null && [ -s "$DATA" ]; then
	gnuplot -e "data='$DATA'; out='${PLOT:-$dir/bootstrap.png}'" \
	    "$dir/bootstrap.gp" && echo "plot: ${PLOT:-$dir/bootstrap.png}"
fi
