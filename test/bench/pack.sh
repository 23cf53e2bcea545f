#!/bin/sh
# Pack benchmark (not part of `make check`): 10 000 small files across 100
# nodes, `cfgsync bundle pack DIR -o x.tar.gz` against `tar czf` of the same
# tree in the same run.  Prints both times (best of RUNS) and the ratio.
# Usage: sh test/bench/pack.sh [RUNS]
set -eu

top=$(cd "$(dirname "$0")/../.." && pwd)
cfgsync=$top/cfgsync
runs=${1:-5}
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

# best CMD...: the best wall time of RUNS runs of CMD, in seconds.
best() {
	python3 - "$runs" "$@" <<'PY'
import subprocess, sys, time
runs, cmd = int(sys.argv[1]), sys.argv[2:]
t = []
for _ in range(runs):
    s = time.perf_counter()
    subprocess.run(cmd, check=True)
    t.append(time.perf_counter() - s)
print('%.4f' % min(t))
PY
}

# Warm the page cache, so both read the tree from memory.
tar cf /dev/null -C "$work/tree" .
t_tar=$(best tar czf "$work/tar.tar.gz" -C "$work/tree" .)
t_cfg=$(best "$cfgsync" bundle pack "$work/tree" -o "$work/x.tar.gz")
"$cfgsync" bundle check "$work/x.tar.gz"
echo "files:   $(find "$work/tree" -type f | wc -l)"
echo "tar czf:               ${t_tar} s ($(wc -c <"$work/tar.tar.gz") bytes)"
echo "cfgsync bundle pack:   ${t_cfg} s ($(wc -c <"$work/x.tar.gz") bytes)"
python3 -c 'import sys; print("ratio (cfgsync/tar): %.2f" % (float(sys.argv[1]) / float(sys.argv[2])))' \
    "$t_cfg" "$t_tar"
