bats_require_minimum_version 1.5.0

load helpers

# The installer under faults (issue 12) and its incremental write (issue
# 11): fetch killed at several points of a 200-file install (strace fault
# injection), a full disk, ulimit -f, ulimit -n, unchanged files and the
# --check-cmd options.  OLD and NEW serve one node "n" of 200 files in 10
# directories, with old and new content, and a node "other" of one file.
setup_file() {
	python3 - "$BATS_FILE_TMPDIR" <<'PY'
import json, sys
d = sys.argv[1]
for tag in ('old', 'new'):
    files = [{'path': 'd%02d/f%03d' % (i % 10, i), 'content': '%s %d\n' % (tag, i)}
             for i in range(200)]
    json.dump({'nodes': [{'identifier': 'n', 'files': files},
                         {'identifier': 'other',
                          'files': [{'path': 'other.txt', 'content': 'x\n'}]}]},
              open('%s/%s.json' % (d, tag), 'w'))
PY
	start_server OLD "$BATS_FILE_TMPDIR" serve-bundle \
	    "$BATS_FILE_TMPDIR/old.json"
	start_server NEW "$BATS_FILE_TMPDIR" serve-bundle \
	    "$BATS_FILE_TMPDIR/new.json"
}

teardown_file() {
	stop_server OLD
	stop_server NEW
}

setup() {
	T=$BATS_TEST_TMPDIR
	MNT=
}

teardown() {
	stop_server OWN || true
	if [ -n "$MNT" ]; then
		umount "$MNT" 2>/dev/null || true
	fi
}

# get URL ID DIR [ARGS...]: fetch ID's files from URL into DIR.
get() {
	local url=$1 id=$2 out=$3
	shift 3
	cfgsync fetch -q --server "$url" --id "$id" --ip 127.0.0.1 \
	    --no-register --out "$out" "$@"
}

# count TAG: how many of the 200 files under $T/o hold TAG's content.
count() {
	cat "$T"/o/d*/f* 2>/dev/null | grep -c "^$1 " || true
}

# need_strace: skips the test where Debian's strace is missing (make
# deps-test installs it).
need_strace() {
	command -v strace >/dev/null || skip "strace is not installed"
}

# killed_at SYSCALL N: the install of NEW over OLD, killed by SIGKILL at
# the Nth call of SYSCALL, then a fetch of another node into the same
# directory (the next run); prints "old", "new" or "mixed".
killed_at() {
	get "$OLD_URL" n "$T/o" || return 1
	run strace -o /dev/null -e "inject=$1:signal=KILL:when=$2" \
	    cfgsync fetch -q --server "$NEW_URL" --id n --ip 127.0.0.1 \
	    --no-register --out "$T/o"
	[ "$status" -ne 0 ] || { echo "not killed"; return 1; }
	get "$OLD_URL" other "$T/o" || { echo "next run failed"; return 1; }
	no_temporaries "$T/o" || return 1
	[ ! -e "$T/o/.cfgsync-intent" ] || { echo "record left"; return 1; }
	if [ "$(count old)" = 200 ]; then
		echo old
	elif [ "$(count new)" = 200 ]; then
		echo new
	else
		echo mixed
	fi
}

@test "install: killed at either intent record's rename, the next run leaves every old file" {
	need_strace
	run -0 killed_at rename,renameat,renameat2 1
	assert_output old
	rm -rf "$T/o"
	run -0 killed_at rename,renameat,renameat2 2
	assert_output old
}

@test "install: killed before the first file's rename, the next run finishes the install" {
	need_strace
	get "$OLD_URL" n "$T/o"
	run strace -o /dev/null -e inject=rename,renameat,renameat2:signal=KILL:when=3 \
	    cfgsync fetch -q --server "$NEW_URL" --id n --ip 127.0.0.1 \
	    --no-register --out "$T/o"
	[ "$status" -ne 0 ]
	# Killed: the record is there, and every final path still old.
	[ -e "$T/o/.cfgsync-intent" ]
	assert_equal "$(count old)" 200
	run -0 --separate-stderr get "$OLD_URL" other "$T/o"
	assert_equal "$(count new)" 200
	no_temporaries "$T/o"
	[ ! -e "$T/o/.cfgsync-intent" ]
}

@test "install: killed between renames (after 1, 99 and 199 files), the next run leaves every new file" {
	need_strace
	local n
	for n in 4 102 202; do
		rm -rf "$T/o"
		run -0 killed_at rename,renameat,renameat2 "$n"
		assert_output new
	done
}

@test "install: killed while staging, the next run leaves every old file and no temporary" {
	need_strace
	local n
	# linkat: the second name each old file gets as its new one is staged
	for n in 1 57 200; do
		rm -rf "$T/o"
		run -0 killed_at linkat "$n"
		assert_output old
	done
}

@test "install: a first install makes each new directory under a temporary name and renames it whole" {
	need_strace
	# LeakSanitizer (make check SANITIZE=1) cannot run under ptrace
	export ASAN_OPTIONS=detect_leaks=0
	run -0 strace -f -qq -o "$T/trace" -e trace=rename,renameat,renameat2 \
	    cfgsync fetch -q --server "$NEW_URL" --id n --ip 127.0.0.1 \
	    --no-register --out "$T/o"
	assert_equal "$(count new)" 200
	no_temporaries "$T/o"
	# The two intent records and the ten directories: no file's own.
	assert_equal "$(grep -c '^[0-9]* *rename' "$T/trace")" 12
	assert_equal "$(grep -c 'RENAME_NOREPLACE' "$T/trace")" 10
	# The next install into the same directories renames file by file.
	run -0 strace -f -qq -o "$T/trace2" -e trace=rename,renameat,renameat2 \
	    cfgsync fetch -q --server "$OLD_URL" --id n --ip 127.0.0.1 \
	    --no-register --out "$T/o"
	assert_equal "$(count old)" 200
	assert_equal "$(grep -c '^[0-9]* *rename' "$T/trace2")" 202
	# Directories made 0755 whatever the umask, files 0644.
	(umask 077 && rm -rf "$T/o3" && get "$NEW_URL" n "$T/o3")
	assert_equal "$(stat -c %a "$T/o3/d03" "$T/o3/d03/f013" | paste -sd' ')" \
	    "755 644"
}

@test "install: a first install killed while staging or between its directories' renames" {
	need_strace
	local n
	# Killed at the 1st, 57th and 200th file's write: the next run (of
	# another node) leaves none of it, not even a directory.
	for n in 2 58 201; do
		rm -rf "$T/o"
		run strace -o /dev/null -e "inject=write:signal=KILL:when=$n" \
		    cfgsync fetch -q --server "$NEW_URL" --id n --ip 127.0.0.1 \
		    --no-register --out "$T/o"
		[ "$status" -ne 0 ]
		run -0 get "$OLD_URL" other "$T/o"
		no_temporaries "$T/o"
		assert_equal "$(ls "$T/o")" other.txt
	done
	# Killed after the first of the ten directories is in place: the
	# next run puts the other nine there.
	rm -rf "$T/o"
	run strace -o /dev/null -e inject=renameat2:signal=KILL:when=2 \
	    cfgsync fetch -q --server "$NEW_URL" --id n --ip 127.0.0.1 \
	    --no-register --out "$T/o"
	[ "$status" -ne 0 ]
	[ -e "$T/o/.cfgsync-intent" ]
	assert_equal "$(count new)" 20
	run -0 get "$OLD_URL" other "$T/o"
	assert_equal "$(count new)" 200
	no_temporaries "$T/o"
	[ ! -e "$T/o/.cfgsync-intent" ]
	# Killed before the first directory's rename, the same node again:
	# the record is finished first, then the install finds the
	# directories in place (not new, so not staged a second time).
	rm -rf "$T/o"
	run strace -o /dev/null -e inject=renameat2:signal=KILL:when=1 \
	    cfgsync fetch -q --server "$NEW_URL" --id n --ip 127.0.0.1 \
	    --no-register --out "$T/o"
	[ "$status" -ne 0 ]
	run -0 get "$NEW_URL" n "$T/o"
	assert_equal "$(count new)" 200
	no_temporaries "$T/o"
	[ ! -e "$T/o/.cfgsync-intent" ]
}

@test "install: killed at the syncfs, the next run leaves every old file" {
	need_strace
	run -0 killed_at syncfs 1
	assert_output old
}

@test "install: the next fetch of the same node after a kill has every new file" {
	need_strace
	get "$OLD_URL" n "$T/o"
	run strace -o /dev/null -e inject=rename,renameat,renameat2:signal=KILL:when=60 \
	    cfgsync fetch -q --server "$NEW_URL" --id n --ip 127.0.0.1 \
	    --no-register --out "$T/o"
	[ "$status" -ne 0 ]
	run -0 --separate-stderr cfgsync fetch --server "$NEW_URL" --id n \
	    --ip 127.0.0.1 --no-register --out "$T/o"
	assert_equal "${stderr_lines[0]}" \
	    "cfgsync: fetch: finished 143 renames of an interrupted fetch"
	assert_equal "${stderr_lines[1]}" "cfgsync: fetch: wrote 0 files, 200 unchanged"
	assert_equal "$(count new)" 200
	no_temporaries "$T/o"
}

@test "install: a full file system is exit 6 with every old file and nothing partial" {
	MNT=$T/small
	mkdir -p "$MNT"
	if ! mount -t tmpfs -o size=256k tmpfs "$MNT" 2>/dev/null; then
		MNT=
		skip "cannot mount a tmpfs here (not root, or no CAP_SYS_ADMIN)"
	fi
	python3 -c 'import json, sys
json.dump({"nodes": [
    {"identifier": "small", "files": [{"path": "a.txt", "content": "old\n"}]},
    {"identifier": "big", "files": [{"path": "a.txt", "content": "new\n"},
        {"path": "big/blob", "content": "x" * 600000}]}]},
    open(sys.argv[1], "w"))' "$T/disk.json"
	start_server OWN "$T" serve-bundle "$T/disk.json"
	get "$OWN_URL" small "$MNT/o"
	run -6 --separate-stderr get "$OWN_URL" big "$MNT/o"
	assert_regex "$stderr" 'No space left on device'
	assert_equal "$(cat "$MNT/o/a.txt")" old
	[ ! -e "$MNT/o/big" ]
	no_temporaries "$MNT/o"
	assert_equal "$(find "$MNT/o" | wc -l)" 2
}

@test "install: a file over ulimit -f is exit 6, not SIGXFSZ, and leaves nothing partial" {
	python3 -c 'import json, sys
json.dump({"nodes": [{"identifier": "n", "files": [
    {"path": "a.txt", "content": "new\n"},
    {"path": "blob", "content": "x" * 400000}]}]},
    open(sys.argv[1], "w"))' "$T/big.json"
	start_server OWN "$T" serve-bundle "$T/big.json"
	mkdir "$T/o"
	echo old >"$T/o/a.txt"
	run -6 --separate-stderr bash -c 'ulimit -f 100 && exec cfgsync fetch -q \
	    --server "$1" --id n --ip 127.0.0.1 --no-register --out "$2"' \
	    _ "$OWN_URL" "$T/o"
	assert_regex "$stderr" 'File too large'
	assert_equal "$(cat "$T/o/a.txt")" old
	[ ! -e "$T/o/blob" ]
	no_temporaries "$T/o"
}

@test "install: 1 100 files in 1 100 directories under ulimit -n 1024" {
	python3 -c 'import json, sys
json.dump({"nodes": [{"identifier": "n", "files": [
    {"path": "d%04d/f" % i, "content": "%d\n" % i} for i in range(1100)]}]},
    open(sys.argv[1], "w"))' "$T/many.json"
	start_server OWN "$T" serve-bundle "$T/many.json"
	run -0 --separate-stderr bash -c 'ulimit -n 1024 && exec cfgsync fetch \
	    --server "$1" --id n --ip 127.0.0.1 --no-register --out "$2"' \
	    _ "$OWN_URL" "$T/o"
	assert_equal "$stderr" "cfgsync: fetch: wrote 1100 files, 0 unchanged"
	assert_equal "$(cat "$T/o/d1099/f")" 1099
	assert_equal "$(find "$T/o" -type f | wc -l)" 1100
}

@test "install: unchanged files keep their inode and mtime; only changed ones are written" {
	get "$OLD_URL" n "$T/o"
	touch -d '2001-02-03 04:05:06' "$T/o/d00/f000" "$T/o/d01/f001"
	before=$(stat -c '%i %Y' "$T/o/d00/f000" "$T/o/d01/f001")
	echo changed >"$T/o/d02/f002"
	chmod 0600 "$T/o/d03/f003"
	inode2=$(stat -c %i "$T/o/d02/f002")
	run -0 --separate-stderr cfgsync fetch --server "$OLD_URL" --id n \
	    --ip 127.0.0.1 --no-register --out "$T/o"
	# No mode in the payload: the file's own mode is kept, no change.
	assert_equal "$stderr" "cfgsync: fetch: wrote 1 files, 199 unchanged"
	assert_equal "$(stat -c '%i %Y' "$T/o/d00/f000" "$T/o/d01/f001")" \
	    "$before"
	assert_equal "$(cat "$T/o/d02/f002")" "old 2"
	[ "$(stat -c %i "$T/o/d02/f002")" != "$inode2" ]
	assert_equal "$(stat -c %a "$T/o/d03/f003")" 600
	run -0 --separate-stderr cfgsync fetch --server "$OLD_URL" --id n \
	    --ip 127.0.0.1 --no-register --out "$T/o"
	assert_equal "$stderr" "cfgsync: fetch: wrote 0 files, 200 unchanged"
}

@test "install: a mode that differs is a change" {
	python3 -c 'import json, sys
json.dump({"nodes": [{"identifier": "n", "files": [
    {"path": "a", "content": "a\n", "mode": "0640"}]}]},
    open(sys.argv[1], "w"))' "$T/m.json"
	start_server OWN "$T" serve-bundle "$T/m.json"
	mkdir "$T/o"
	echo a >"$T/o/a"
	chmod 0644 "$T/o/a"
	run -0 --separate-stderr cfgsync fetch --server "$OWN_URL" --id n \
	    --ip 127.0.0.1 --no-register --out "$T/o"
	assert_equal "$stderr" "cfgsync: fetch: wrote 1 files, 0 unchanged"
	assert_equal "$(stat -c %a "$T/o/a")" 640
}

@test "install: a failing --check-cmd leaves every old file, shows its stderr, exits 7" {
	get "$OLD_URL" n "$T/o"
	run -7 --separate-stderr get "$NEW_URL" n "$T/o" --check-cmd \
	    'if grep -q "new 150" {}; then echo "bad file: 150" >&2; exit 3; fi'
	assert_regex "$stderr" 'bad file: 150'
	assert_regex "$stderr" 'd00/f150: check .*: exit 3'
	assert_equal "$(count old)" 200
	no_temporaries "$T/o"
}

@test "install: --check-cmd runs once per file to be written, on its staged copy" {
	get "$OLD_URL" n "$T/o"
	echo changed >"$T/o/d05/f005"
	run -0 --separate-stderr get "$NEW_URL" n "$T/o" --check-cmd \
	    "printf '%s %s\n' {} \"\$(cat {})\" >>'$T/log'; test ! -e '$T/o/d00/f010' || grep -q old '$T/o/d00/f010'"
	assert_equal "$(wc -l <"$T/log")" 200
	assert_regex "$(grep '/d00/\.f010\.cfgsync-' "$T/log")" ' new 10$'
	assert_equal "$(count new)" 200
	: >"$T/log"
	echo changed >"$T/o/d05/f005"
	run -0 --separate-stderr get "$NEW_URL" n "$T/o" --check-cmd \
	    "echo {} >>'$T/log'"
	assert_equal "$(wc -l <"$T/log")" 1
	assert_regex "$(cat "$T/log")" '/d05/\.f005\.cfgsync-'
}

@test "install: --check-dir-cmd sees every file laid out as it will be" {
	run -0 --separate-stderr get "$NEW_URL" n "$T/o" --check-dir-cmd \
	    "find {} -type f | wc -l >'$T/n'; cat {}/d03/f123 >'$T/c'"
	assert_equal "$(cat "$T/n")" 200
	assert_equal "$(cat "$T/c")" "new 123"
	run -7 --separate-stderr get "$OLD_URL" n "$T/o" --check-dir-cmd \
	    'exit 1'
	assert_equal "$(count new)" 200
	[ -z "$(find "${TMPDIR:-/tmp}" -maxdepth 1 -name 'cfgsync-check-*' \
	    -newer "$T/n" 2>/dev/null)" ]
}

@test "install: a check past --check-timeout is killed, exit 7, nothing replaced" {
	get "$OLD_URL" n "$T/o"
	SECONDS=0
	run -7 --separate-stderr get "$NEW_URL" n "$T/o" --check-timeout 1 \
	    --check-dir-cmd 'sleep 30'
	[ "$SECONDS" -lt 10 ]
	assert_regex "$stderr" 'timed out after 1 s'
	assert_equal "$(count old)" 200
	no_temporaries "$T/o"
}

# many FILE DIRS TAG: a bundle of node "m" with FILES files in DIRS
# directories (enough for the installer's threads) holding TAG.
many() {
	python3 - "$@" <<'PY'
import json, sys
n, dirs, tag, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
json.dump({'nodes': [{'identifier': 'm', 'files': [
    {'path': 'd%02d/f%04d' % (i % dirs, i), 'content': '%s %d\n' % (tag, i)}
    for i in range(n)]},
    {'identifier': 'other', 'files': [{'path': 'other.txt', 'content': 'x\n'}]}]},
    open(out, 'w'))
PY
}

@test "install: 3 000 files in 30 directories, written by several threads: all there, each its own" {
	many 3000 30 old "$T/m-old.json"
	many 3000 30 new "$T/m-new.json"
	start_server OWN "$T" serve-bundle "$T/m-old.json"
	get "$OWN_URL" m "$T/o"
	assert_equal "$(cat "$T"/o/d*/f* | grep -c '^old ')" 3000
	assert_equal "$(cat "$T/o/d07/f2107")" "old 2107"
	stop_server OWN
	start_server OWN "$T" serve-bundle "$T/m-new.json"
	get "$OWN_URL" m "$T/o"
	assert_equal "$(cat "$T"/o/d*/f* | grep -c '^new ')" 3000
	assert_equal "$(cat "$T/o/d29/f2999")" "new 2999"
	no_temporaries "$T/o"
}

@test "install: 3 000 files killed while several threads stage them, the next run leaves every old file" {
	need_strace
	many 3000 30 old "$T/m-old.json"
	many 3000 30 new "$T/m-new.json"
	start_server OWN "$T" serve-bundle "$T/m-old.json"
	get "$OWN_URL" m "$T/o"
	stop_server OWN
	start_server OWN "$T" serve-bundle "$T/m-new.json"
	# -f: the stagers are threads; the 1 500th second name kills them all
	run strace -f -o /dev/null -e inject=linkat:signal=KILL:when=1500 \
	    cfgsync fetch -q --server "$OWN_URL" --id m --ip 127.0.0.1 \
	    --no-register --out "$T/o"
	[ "$status" -ne 0 ]
	run -0 get "$OWN_URL" other "$T/o"
	no_temporaries "$T/o"
	assert_equal "$(cat "$T"/o/d*/f* | grep -c '^old ')" 3000
}

@test "install: 3 000 files, a full file system under several threads: exit 6, every old file, nothing partial" {
	MNT=$T/small
	mkdir -p "$MNT"
	if ! mount -t tmpfs -o size=64m,nr_inodes=4500 tmpfs "$MNT" 2>/dev/null; then
		MNT=
		skip "cannot mount a tmpfs here (not root, or no CAP_SYS_ADMIN)"
	fi
	many 3000 30 old "$T/m-old.json"
	start_server OWN "$T" serve-bundle "$T/m-old.json"
	get "$OWN_URL" m "$MNT/o"
	stop_server OWN
	# the new set has 3 000 more files: no inodes for all of them
	many 6000 30 new "$T/m-new.json"
	start_server OWN "$T" serve-bundle "$T/m-new.json"
	run -6 --separate-stderr get "$OWN_URL" m "$MNT/o"
	assert_regex "$stderr" 'No space left on device'
	assert_equal "$(cat "$MNT"/o/d*/f* | grep -c '^old ')" 3000
	assert_equal "$(find "$MNT/o" -type f | wc -l)" 3000
	no_temporaries "$MNT/o"
}
