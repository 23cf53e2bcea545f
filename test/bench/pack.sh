#!/bin/sh
# Pack benchmark (not part of `make check`): 10 000 small files across 100
# nodes, `cfgsync bundle pack DIR -o x.tar.gz` against `tar czf` of the same
# tree in the same run.  Prints both times (best of RUNS) and the ratio.
# Usage: sh test/bench/pack.sh [RUNS]   (default 9)
set -eu

top=$(cd "$(dirname "$0")/../.." && pwd)
cfgsync=$top/cfgsync
runs=${1:-9}
[ -x "$cfgsync" ] || { echo "pack.sh: build cfgsync first (make)" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT INT TERM

# 100 nodes of 99 files, plus 100 shared files: 10 000 files of 40-200 bytes.
python3 - "$work/tree" <<'PY'
import os, random, sys
random.seed(1)
top = sys.argv[1]
def write(path, i):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'w') as f:
        f.write('key_%d: %s\n' % (i, 'v' * random.randint(30, 190)))
for n in range(100):
    for i in range(99):
        write('%s/nodes/node-%03d/conf/file-%02d.yaml' % (top, n, i), i)
for i in range(100):
    write('%s/shared/common-%03d.yaml' % (top, i), i)
PY

# Warm the page cache, so both read the tree from memory.
tar cf /dev/null -C "$work/tree" .
# RUNS rounds, each timing tar then cfgsync, so load from elsewhere falls
# on both alike; the best time of each is printed.
set -- $(python3 - "$runs" "$work" "$cfgsync" <<'PY'
import subprocess, sys, time
runs, work, cfgsync = int(sys.argv[1]), sys.argv[2], sys.argv[3]
cmds = [['tar', 'czf', work + '/tar.tar.gz', '-C', work + '/tree', '.'],
        [cfgsync, 'bundle', 'pack', work + '/tree', '-o', work + '/x.tar.gz']]
best = [float('inf')] * len(cmds)
for _ in range(runs):
    for i, cmd in enumerate(cmds):
        s = time.perf_counter()
        subprocess.run(cmd, check=True)
        best[i] = min(best[i], time.perf_counter() - s)
print(' '.join('%.4f' % t for t in best))
PY
)
t_tar=$1
t_cfg=$2
"$cfgsync" bundle check "$work/x.tar.gz"
echo "files:   $(find "$work/tree" -type f | wc -l)"
echo "tar czf:               ${t_tar} s ($(wc -c <"$work/tar.tar.gz") bytes)"
echo "cfgsync bundle pack:   ${t_cfg} s ($(wc -c <"$work/x.tar.gz") bytes)"
python3 -c 'import sys; print("ratio (cfgsync/tar): %.2f" % (float(sys.argv[1]) / float(sys.argv[2])))' \
    "$t_cfg" "$t_tar"
