#!/bin/sh
# Install benchmark (not part of `make check`): `cfgsync fetch --out` of one
# node's 40 000 files of about 100 bytes in 200 directories, from a
# serve-bundle on 127.0.0.1, against `tar x` of the same files into a fresh
# directory (and `tar x` then `sync -f`, which is durable as fetch is).  Each
# round times, in turn: tar x, tar x + sync -f, tar x over the tree of the
# first (synced: what replacing 40 000 files on disk costs), a first fetch
# into an empty directory, a fetch that rewrites every file, and a fetch
# with nothing to change.  Prints the best of RUNS for each and the ratios
# against tar x (fresh), tar x + sync -f (as durable as fetch) and tar x
# over a tree, then every run's time, sorted.
#
# FS=ext4 runs it all on a new ext4 file system (mkfs.ext4's defaults, a
# journal; in a 4 GiB file, mounted through a loop device: root only)
# rather than in $TMPDIR: the results of the root file system move with
# how many inodes were freed on it in the last minutes (see the bench
# README, "The install").
# Usage: [FS=ext4] sh test/bench/install.sh [RUNS [CFGSYNC]]
#     (default 5, ./cfgsync)
set -eu

top=$(cd "$(dirname "$0")/../.." && pwd)
runs=${1:-5}
cfgsync=${2:-$top/cfgsync}
[ -x "$cfgsync" ] || { echo "install.sh: build cfgsync first (make)" >&2; exit 1; }

work=$(mktemp -d)
pid=
img=
cleanup() {
	[ -z "$pid" ] || kill "$pid" 2>/dev/null || :
	[ -z "$pid" ] || wait "$pid" 2>/dev/null || :
	if [ -n "$img" ]; then
		umount "$work" 2>/dev/null || :
		rm -f "$img"
	fi
	rm -rf "$work"
}
trap cleanup EXIT INT TERM
if [ "${FS:-}" = ext4 ]; then
	img=$(mktemp)
	truncate -s 4G "$img"
	mkfs.ext4 -q -F -N 600000 "$img"
	mount -o loop "$img" "$work"
fi

# Two bundles of the same 40 000 paths, the second with other content, and
# the first one's tree as a tar archive.
python3 - "$work" <<'PY'
import json, os, sys
work = sys.argv[1]
def files(tag):
    return [{'path': 'd%03d/f%03d.conf' % (d, f),
             'content': ('%s %03d %03d ' % (tag, d, f)).ljust(99, 'x') + '\n'}
            for d in range(200) for f in range(200)]
for name, tag in (('a', 'key'), ('b', 'new')):
    with open('%s/%s.json' % (work, name), 'w') as out:
        json.dump({'nodes': [{'identifier': 'n1', 'files': files(tag)}]},
                  out)
os.makedirs(work + '/tree')
for f in files('key'):
    p = os.path.join(work, 'tree', f['path'])
    os.makedirs(os.path.dirname(p), exist_ok=True)
    with open(p, 'w') as out:
        out.write(f['content'])
PY
tar cf "$work/tree.tar" -C "$work/tree" .

# serve NAME: serves bundle NAME on 127.0.0.1, port in $work/port.
serve() {
	[ -z "$pid" ] || { kill "$pid"; wait "$pid" 2>/dev/null || :; }
	rm -f "$work/port"
	"$cfgsync" serve-bundle "$work/$1.json" --listen 127.0.0.1:0 \
	    --port-file "$work/port" --max-entries 100000 \
	    --max-total-size 268435456 >/dev/null 2>"$work/serve.log" &
	pid=$!
	i=0
	while [ ! -s "$work/port" ] && [ $i -lt 200 ]; do
		sleep 0.05
		i=$((i + 1))
	done
	[ -s "$work/port" ] || { cat "$work/serve.log" >&2; exit 1; }
	url=http://127.0.0.1:$(cat "$work/port")
}

# now: seconds since the epoch, with nanoseconds.
now() {
	date +%s.%N
}

# timed VAR CMD...: adds CMD's wall time to the list in VAR.
timed() {
	var=$1
	shift
	s=$(now)
	"$@"
	e=$(now)
	eval "$var=\"\${$var:-} $(echo "$e - $s" | bc)\""
}

fetch() {
	"$cfgsync" fetch -q --server "$url" --id n1 --ip 127.0.0.1 \
	    --no-register --out "$1"
}

r=0
while [ $r -lt "$runs" ]; do
	rm -rf "$work/t1" "$work/t2" "$work/o"
	mkdir "$work/t1" "$work/t2"
	timed T_TAR tar xf "$work/tree.tar" -C "$work/t1"
	timed T_TARSYNC sh -c 'tar xf "$1" -C "$2" && sync -f "$2"' sh \
	    "$work/tree.tar" "$work/t2"
	sync -f "$work/t1"
	timed T_TAROVER tar xf "$work/tree.tar" -C "$work/t1"
	# Out of the timing: else the fetch's syncfs writes tar's files too.
	sync -f "$work/t1"
	serve a
	timed T_FIRST fetch "$work/o"
	serve b
	timed T_REWRITE fetch "$work/o"
	timed T_SAME fetch "$work/o"
	r=$((r + 1))
done
n=$(find "$work/o" -type f | wc -l)
[ "$n" -eq 40000 ] || { echo "install.sh: $n files, not 40000" >&2; exit 1; }
head -c 12 "$work/o/d199/f199.conf" | grep -qx 'new 199 199 ' ||
    { echo "install.sh: wrong content after the rewrite" >&2; exit 1; }

best() {
	printf '%s\n' $1 | sort -n | head -n 1
}
b_tar=$(best "$T_TAR")
b_sync=$(best "$T_TARSYNC")
b_over=$(best "$T_TAROVER")
echo "files: $n in 200 directories, best of $runs${img:+, on a new ext4}"
for v in T_TAR T_TARSYNC T_TAROVER T_FIRST T_REWRITE T_SAME; do
	eval "list=\$$v"
	b=$(best "$list")
	case $v in
	T_TAR)		what="tar x" ;;
	T_TARSYNC)	what="tar x + sync -f" ;;
	T_TAROVER)	what="tar x over the tree" ;;
	T_FIRST)	what="fetch, empty directory" ;;
	T_REWRITE)	what="fetch, every file new" ;;
	T_SAME)		what="fetch, nothing changed" ;;
	esac
	printf '%-24s %7.3f s  to tar x %5.2f  + sync %5.2f  over %5.2f ' \
	    "$what" "$b" "$(echo "$b / $b_tar" | bc -l)" \
	    "$(echo "$b / $b_sync" | bc -l)" "$(echo "$b / $b_over" | bc -l)"
	# Every run, sorted: the spread says how much the machine moved.
	printf '%s\n' $list | sort -n | awk '{ printf " %.2f", $1 } END {
		print "" }'
done
