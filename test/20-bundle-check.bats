bats_require_minimum_version 1.5.0

load helpers

# craft KIND OUT ARGS...: an archive built by test/fixtures/craft.py.
craft() {
	python3 "$FIXTURES/craft.py" "$@"
}

# assert_refused BUNDLE REGEX: check, list, unpack and serve-bundle each
# refuse BUNDLE with exit 7 and a message matching REGEX; unpack writes
# nothing.
assert_refused() {
	local b=$1 re=$2
	run -7 --separate-stderr cfgsync bundle check "$b"
	assert_regex "$stderr" "^cfgsync: bundle check: $b: $re"
	assert_equal "$output" ""
	run -7 --separate-stderr cfgsync bundle list "$b"
	assert_regex "$stderr" "^cfgsync: bundle list: $b: $re"
	assert_equal "$output" ""
	run -7 --separate-stderr cfgsync bundle unpack "$b" "$BATS_TEST_TMPDIR/u"
	assert_regex "$stderr" "^cfgsync: bundle unpack: $b: $re"
	assert [ ! -e "$BATS_TEST_TMPDIR/u" ]
	run -7 --separate-stderr cfgsync serve-bundle --listen 127.0.0.1:0 "$b"
	assert_regex "$stderr" "$re"
}

@test "bundle check: a valid bundle in every format exits 0 and prints nothing" {
	local t=$BATS_TEST_TMPDIR f
	mkdir -p "$t/tree/nodes/n1" "$t/tree/shared"
	printf 'a: 1\n' >"$t/tree/nodes/n1/a.yaml"
	printf '\377\n' >"$t/tree/shared/bin"
	for f in json tar tar.gz tar.xz tar.zst zip; do
		run -0 cfgsync bundle pack "$t/tree" -o "$t/b.$f"
		run -0 --separate-stderr cfgsync bundle check "$t/b.$f"
		assert_equal "$output" ""
		assert_equal "$stderr" ""
	done
	run -0 cfgsync bundle check "$(vec bundle.json)"
}

@test "bundle check: archives from tar, bsdtar and zip are read" {
	local t=$BATS_TEST_TMPDIR
	mkdir -p "$t/tree/nodes/n1/sub" "$t/tree/shared"
	printf 'a\n' >"$t/tree/nodes/n1/sub/a"
	printf 'b\n' >"$t/tree/shared/b"
	(cd "$t/tree" && tar czf "$t/gnu.tgz" . && bsdtar --zstd -cf "$t/bsd" nodes shared &&
	    zip -qr "$t/z.zip" nodes shared)
	for b in gnu.tgz bsd z.zip; do
		run -0 cfgsync bundle list "$t/$b"
		assert_line --regexp '^n1	sub/a	0644	2$'
		assert_line --regexp '^shared	b	0644	2$'
	done
}

@test "bundle check: a symbolic link entry exits 7, naming it" {
	craft entry "$BATS_TEST_TMPDIR/x.tar" symlink nodes/n1/passwd /etc/passwd
	assert_refused "$BATS_TEST_TMPDIR/x.tar" 'nodes/n1/passwd: symbolic link$'
}

@test "bundle check: a symbolic link in a zip exits 7" {
	craft zip-symlink "$BATS_TEST_TMPDIR/x.zip"
	assert_refused "$BATS_TEST_TMPDIR/x.zip" 'nodes/n1/passwd: symbolic link$'
}

@test "bundle check: a hard link entry exits 7" {
	craft entry "$BATS_TEST_TMPDIR/x.tar" hardlink nodes/n1/hl nodes/n1/ok.yaml
	assert_refused "$BATS_TEST_TMPDIR/x.tar" 'nodes/n1/hl: hard link$'
}

@test "bundle check: device entries exit 7" {
	craft entry "$BATS_TEST_TMPDIR/c.tar" chr nodes/n1/null
	assert_refused "$BATS_TEST_TMPDIR/c.tar" 'nodes/n1/null: device$'
	craft entry "$BATS_TEST_TMPDIR/b.tar" blk shared/sda
	assert_refused "$BATS_TEST_TMPDIR/b.tar" 'shared/sda: device$'
}

@test "bundle check: a FIFO entry exits 7" {
	craft entry "$BATS_TEST_TMPDIR/x.tar" fifo shared/pipe
	assert_refused "$BATS_TEST_TMPDIR/x.tar" 'shared/pipe: FIFO$'
}

@test "bundle check: an absolute entry name exits 7" {
	craft entry "$BATS_TEST_TMPDIR/x.tar" file /nodes/n1/x
	assert_refused "$BATS_TEST_TMPDIR/x.tar" '/nodes/n1/x: absolute name$'
}

@test "bundle check: an entry name with .. exits 7" {
	craft entry "$BATS_TEST_TMPDIR/x.tar" file nodes/n1/../../../etc/cron.d/x
	assert_refused "$BATS_TEST_TMPDIR/x.tar" \
	    "path nodes/n1/../../../etc/cron.d/x: '..' component$"
	craft entry "$BATS_TEST_TMPDIR/y.tar" file ../x
	assert_refused "$BATS_TEST_TMPDIR/y.tar" "path ../x: '..' component$"
}

@test "bundle check: an entry outside nodes/ and shared/ exits 7" {
	craft entry "$BATS_TEST_TMPDIR/x.tar" file etc/passwd
	assert_refused "$BATS_TEST_TMPDIR/x.tar" \
	    'etc/passwd: outside nodes/<identifier>/ and shared/$'
	craft entry "$BATS_TEST_TMPDIR/y.tar" file nodes/n1
	assert_refused "$BATS_TEST_TMPDIR/y.tar" 'nodes/n1: outside'
	craft entry "$BATS_TEST_TMPDIR/z.tar" dir docs
	assert_refused "$BATS_TEST_TMPDIR/z.tar" 'docs/: outside'
}

@test "bundle check: a node directory the protocol would refuse exits 7" {
	craft entry "$BATS_TEST_TMPDIR/x.tar" file 'nodes/node 1/a'
	assert_refused "$BATS_TEST_TMPDIR/x.tar" \
	    'nodes/node 1/a: identifier: byte 0x20 at 4 not in'
	craft entry "$BATS_TEST_TMPDIR/y.tar" dir "nodes/$(printf 'x%.0s' $(seq 300))/"
	assert_refused "$BATS_TEST_TMPDIR/y.tar" 'nodes/x*: identifier: over 255 bytes$'
}

@test "bundle check: a name that is not UTF-8 exits 7" {
	craft entry "$BATS_TEST_TMPDIR/x.tar" file "$(printf 'shared/\377')"
	assert_refused "$BATS_TEST_TMPDIR/x.tar" 'shared/[?]: name not UTF-8$'
}

@test "bundle check: duplicate paths after normalisation exit 7" {
	craft names "$BATS_TEST_TMPDIR/x.tar" nodes/n1/a.yaml ./nodes/n1/a.yaml
	assert_refused "$BATS_TEST_TMPDIR/x.tar" 'node n1: duplicate path a.yaml$'
	craft names "$BATS_TEST_TMPDIR/y.tar" nodes/n1/a.yaml shared/a.yaml
	assert_refused "$BATS_TEST_TMPDIR/y.tar" \
	    'node n1: duplicate path a.yaml \(also a shared file\)$'
}

@test "bundle check: --max-entries stops an archive of too many entries" {
	local t=$BATS_TEST_TMPDIR
	craft many "$t/x.tar.gz" 20
	run -0 cfgsync bundle check --max-entries 20 "$t/x.tar.gz"
	run -7 --separate-stderr cfgsync bundle check --max-entries 10 "$t/x.tar.gz"
	assert_regex "$stderr" 'x.tar.gz: nodes/n1/f00010: over the limit of 10 entries$'
	run -7 --separate-stderr cfgsync bundle list --max-entries 10 "$t/x.tar.gz"
	assert_regex "$stderr" 'over the limit of 10 entries$'
	run -7 cfgsync bundle unpack --max-entries 10 "$t/x.tar.gz" "$t/u"
	assert [ ! -e "$t/u" ]
}

@test "bundle check: --max-file-size stops a compressed bomb at its entry" {
	local t=$BATS_TEST_TMPDIR
	craft zeros "$t/bomb.tar.gz" 10000000
	run -7 --separate-stderr cfgsync bundle check --max-file-size 1000 \
	    "$t/bomb.tar.gz"
	assert_regex "$stderr" 'bomb.tar.gz: nodes/n1/zeros0: over the limit of 1000 bytes per file$'
	run -7 cfgsync bundle unpack --max-file-size 1000 "$t/bomb.tar.gz" "$t/u"
	assert [ ! -e "$t/u" ]
}

# assert_peak FILE MIB: the peak RSS `/usr/bin/time -f %M -o FILE` wrote
# (KiB, its last line) is under MIB MiB.
assert_peak() {
	local kb
	kb=$(tail -n 1 "$1")
	[[ $kb =~ ^[0-9]+$ ]] || fail "no peak RSS in $1: $kb"
	((kb < $2 * 1024)) || fail "peak RSS $kb KiB: over $2 MiB"
}

# assert_bomb BUNDLE REGEX: check, list and unpack refuse BUNDLE with exit
# 7 and a message matching REGEX, each within 300 MiB and 60 s; unpack
# leaves nothing, neither a DIR it would make nor a byte in one there is.
assert_bomb() {
	local b=$1 re=$2 t=$BATS_TEST_TMPDIR c
	for c in check list; do
		run -7 --separate-stderr timeout 60 /usr/bin/time -f %M \
		    -o "$t/rss" cfgsync bundle $c "$b"
		assert_equal "$output" ""
		assert_regex "$stderr" "^cfgsync: bundle $c: $b: $re\$"
		assert_peak "$t/rss" 300
	done
	run -7 --separate-stderr timeout 60 /usr/bin/time -f %M -o "$t/rss" \
	    cfgsync bundle unpack "$b" "$t/u"
	assert_regex "$stderr" "^cfgsync: bundle unpack: $b: $re\$"
	assert_peak "$t/rss" 300
	assert [ ! -e "$t/u" ]
	mkdir "$t/u2"
	printf 'kept\n' >"$t/u2/old"
	run -7 cfgsync bundle unpack "$b" "$t/u2"
	run -0 ls -A "$t/u2"
	assert_output "old"
	assert_equal "$(cat "$t/u2/old")" "kept"
}

@test "bundle check: a 1.2 MB gzip bomb, one 1.2 GB member, is refused at its header" {
	local b=$BATS_TEST_TMPDIR/bomb.tar.gz
	craft bomb "$b" 1200000000
	assert [ "$(stat -c %s "$b")" -lt 1500000 ]
	assert_bomb "$b" 'nodes/n1/zeros0: over the limit of 67108864 bytes per file'
}

@test "bundle check: a 1.2 MB gzip bomb, 20 members of 60 MB, is refused streaming, in under 300 MB" {
	local b=$BATS_TEST_TMPDIR/bomb.tar.gz
	craft bomb "$b" 60000000 20
	assert [ "$(stat -c %s "$b")" -lt 1500000 ]
	assert_bomb "$b" 'nodes/n1/zeros17: over the limit of 1073741824 bytes in all'
}

@test "bundle check: a bomb on the standard input is refused streaming too" {
	local b=$BATS_TEST_TMPDIR/bomb.tar.gz t=$BATS_TEST_TMPDIR
	craft bomb "$b" 60000000 20
	run -7 --separate-stderr timeout 60 /usr/bin/time -f %M -o "$t/rss" \
	    cfgsync bundle check - <"$b"
	assert_regex "$stderr" '^cfgsync: bundle check: -: nodes/n1/zeros17: over the limit of 1073741824 bytes in all$'
	assert_peak "$t/rss" 300
}

@test "bundle check: a JSON bundle over --max-total-size is refused by its size, unread" {
	local b=$BATS_TEST_TMPDIR/big.json t=$BATS_TEST_TMPDIR
	truncate -s 1200M "$b"	# sparse: no disk, and no byte read
	assert_bomb "$b" "read $b: over 1073741824 bytes"
}

@test "bundle check: a manifest sha256 is checked against the file as it streams" {
	local t=$BATS_TEST_TMPDIR good bad
	mkdir -p "$t/tree/nodes/n1"
	printf 'a: 1\n' >"$t/tree/nodes/n1/a"
	good=$(sha256sum <"$t/tree/nodes/n1/a" | cut -d' ' -f1)
	bad=$(printf 'b: 2\n' | sha256sum | cut -d' ' -f1)
	printf '{"cfgsync_manifest":1,"files":[\n{"name":"nodes/n1/a","sha256":"%s"}\n]}\n' \
	    "$good" >"$t/tree/.cfgsync-manifest.json"
	tar -C "$t/tree" -czf "$t/good.tar.gz" .
	run -0 cfgsync bundle check "$t/good.tar.gz"
	run -0 cfgsync bundle unpack "$t/good.tar.gz" "$t/u"
	run -0 cat "$t/u/.cfgsync-manifest.json"
	assert_output --partial "\"sha256\":\"$good\""
	printf '{"cfgsync_manifest":1,"files":[\n{"name":"nodes/n1/a","sha256":"%s"}\n]}\n' \
	    "$bad" >"$t/tree/.cfgsync-manifest.json"
	tar -C "$t/tree" -czf "$t/bad.tar.gz" .
	run -7 --separate-stderr cfgsync bundle check "$t/bad.tar.gz"
	assert_regex "$stderr" 'bad.tar.gz: .cfgsync-manifest.json: nodes/n1/a: sha256 does not match the file'
	run -7 cfgsync bundle list "$t/bad.tar.gz"
	run -7 cfgsync bundle unpack "$t/bad.tar.gz" "$t/u3"
	assert [ ! -e "$t/u3" ]
}

@test "bundle check: the default file size limit refuses a 100 MiB entry" {
	local t=$BATS_TEST_TMPDIR
	craft zeros "$t/bomb.tar.gz" $((100 << 20))
	run -7 --separate-stderr cfgsync bundle check "$t/bomb.tar.gz"
	assert_regex "$stderr" 'nodes/n1/zeros0: over the limit of 67108864 bytes per file$'
}

@test "bundle check: 100 000 node directories load in linear time" {
	local t=$BATS_TEST_TMPDIR
	craft nodes "$t/x.tar.gz" 100000
	run -0 timeout 10 cfgsync bundle check "$t/x.tar.gz"
	run -7 --separate-stderr cfgsync bundle check --max-entries 99999 \
	    "$t/x.tar.gz"
	assert_regex "$stderr" 'nodes/n099999/: over the limit of 99999 entries$'
}

@test "bundle check: --max-total-size stops at the entry that passes it" {
	local t=$BATS_TEST_TMPDIR
	craft zeros "$t/x.tar.gz" 1000 3
	run -0 cfgsync bundle list --max-total-size 3000 "$t/x.tar.gz"
	run -7 --separate-stderr cfgsync bundle check --max-total-size 2500 \
	    "$t/x.tar.gz"
	assert_regex "$stderr" 'x.tar.gz: nodes/n1/zeros2: over the limit of 2500 bytes in all$'
	# The file read counts too, compressed or not.
	run -7 --separate-stderr cfgsync bundle check --max-total-size 30 \
	    "$(vec bundle.json)"
	assert_regex "$stderr" 'bundle.json: over 30 bytes$'
}

@test "bundle check: lists every problem of an archive, one per line" {
	local b=$BATS_TEST_TMPDIR/multi.tar
	craft multi "$b"
	run -7 --separate-stderr cfgsync bundle check "$b"
	assert_equal "$output" ""
	printf '%s\n' "$stderr" >"$BATS_TEST_TMPDIR/err"
	cat >"$BATS_TEST_TMPDIR/want" <<-EOF
	cfgsync: bundle check: $b: nodes/n1/link: symbolic link
	cfgsync: bundle check: $b: README: outside nodes/<identifier>/ and shared/
	cfgsync: bundle check: $b: nodes/bad id/x: identifier: byte 0x20 at 3 not in [A-Za-z0-9._:@-]
	cfgsync: bundle check: $b: shared/fifo: FIFO
	cfgsync: bundle check: $b: node n1: duplicate path a
	EOF
	diff -u "$BATS_TEST_TMPDIR/want" "$BATS_TEST_TMPDIR/err"
	# The other commands stop at the first.
	run -7 --separate-stderr cfgsync bundle list "$b"
	assert_equal "$stderr" "cfgsync: bundle list: $b: nodes/n1/link: symbolic link"
}

@test "bundle check: lists every problem of a JSON bundle" {
	local b=$BATS_TEST_TMPDIR/b.json
	cat >"$b" <<-'EOF'
	{"nodes": [
	  {"identifier": "bad id", "files": []},
	  {"identifier": "n1", "files": [
	    {"path": "a", "content": "x"},
	    {"path": "a", "content": "y"},
	    {"path": "../b", "content": "y"},
	    {"path": "c", "content": "!!", "encoding": "base64"},
	    {"path": "d", "content": "x", "mode": "rwx"}]},
	  {"identifier": "n1", "files": []}],
	 "shared_files": [{"path": "e", "content": "x", "sha256":
	  "0000000000000000000000000000000000000000000000000000000000000000"}]}
	EOF
	run -7 --separate-stderr cfgsync bundle check "$b"
	printf '%s\n' "$stderr" >"$BATS_TEST_TMPDIR/err"
	cat >"$BATS_TEST_TMPDIR/want" <<-EOF
	cfgsync: bundle check: $b: bundle: nodes[0]: identifier: byte 0x20 at 3 not in [A-Za-z0-9._:@-]
	cfgsync: bundle check: $b: bundle: node n1: files[2]: path ../b: '..' component
	cfgsync: bundle check: $b: bundle: node n1: files[3]: c: bad base64
	cfgsync: bundle check: $b: bundle: node n1: files[4]: d: mode: not an octal string like "0644"
	cfgsync: bundle check: $b: node n1: duplicate identifier
	cfgsync: bundle check: $b: shared: e: sha256 mismatch
	cfgsync: bundle check: $b: node n1: duplicate path a
	EOF
	diff -u "$BATS_TEST_TMPDIR/want" "$BATS_TEST_TMPDIR/err"
}

@test "bundle check: data that is neither JSON nor an archive exits 7" {
	local t=$BATS_TEST_TMPDIR
	printf 'hello, world\n' >"$t/x"
	run -7 --separate-stderr cfgsync bundle check "$t/x"
	assert_regex "$stderr" "^cfgsync: bundle check: $t/x: not a JSON bundle, nor a tar or zip archive: "
	: >"$t/empty"
	run -7 --separate-stderr cfgsync bundle check "$t/empty"
	assert_regex "$stderr" 'empty: empty file: not a bundle$'
	printf '{"nodes": [' >"$t/trunc.json"
	run -7 --separate-stderr cfgsync bundle check "$t/trunc.json"
	assert_regex "$stderr" 'trunc.json: bundle: truncated JSON$'
	head -c 300 /dev/urandom | gzip >"$t/junk.gz"
	run -7 cfgsync bundle check "$t/junk.gz"
}

@test "bundle check: a missing file exits 2" {
	run -2 --separate-stderr cfgsync bundle check "$BATS_TEST_TMPDIR/none"
	assert_regex "$stderr" '^cfgsync: bundle check: .*/none: open .*/none: No such file or directory$'
}

@test "bundle check: limits take only numbers in range" {
	run -2 --separate-stderr cfgsync bundle check --max-file-size 0 x
	assert_regex "$stderr" '^cfgsync: bundle check: --max-file-size 0: not a number from 1 to'
	run -2 cfgsync bundle unpack --max-total-size -1 x y
	run -2 cfgsync bundle list --max-entries 1e3 x
}

@test "bundle check: a file where another path needs a directory exits 7, naming both" {
	local b=$BATS_TEST_TMPDIR/b.json
	printf '%s' '{"nodes":[{"identifier":"n1","files":[{"path":"a","content":"x"},{"path":"/a/b","content":"y"}]},{"identifier":"n2","files":[{"path":"etc","content":"x"}]}],"shared_files":[{"path":"etc/x","content":"s"}]}' >"$b"
	run -7 --separate-stderr cfgsync bundle check "$b"
	assert_regex "$stderr" 'node n1: path a/b: a is a file too'
	assert_regex "$stderr" 'node n2: path etc: shared etc/x needs it as a directory'
	assert_refused "$b" '(bundle: )?node n1: path a/b: a is a file too'
}

@test "bundle check: set-id and sticky modes exit 7, in archives, trees and JSON" {
	local T=$BATS_TEST_TMPDIR
	python3 - "$T/s.tar" <<'PY'
import io, sys, tarfile
with tarfile.open(sys.argv[1], "w") as t:
    for name, mode in (("nodes/n1/sh", 0o6755), ("shared/tmp", 0o1777)):
        i = tarfile.TarInfo(name)
        i.mode, i.size = mode, 1
        t.addfile(i, io.BytesIO(b"x"))
PY
	run -7 --separate-stderr cfgsync bundle check "$T/s.tar"
	assert_regex "$stderr" 'node n1: sh: mode 6755: set-id and sticky bits are refused'
	assert_regex "$stderr" 'shared: tmp: mode 1777: set-id and sticky bits are refused'
	mkdir -p "$T/tree/nodes/n1"
	echo x >"$T/tree/nodes/n1/f"
	chmod 4755 "$T/tree/nodes/n1/f"
	run -7 --separate-stderr cfgsync bundle pack "$T/tree" -o "$T/x.json"
	assert_regex "$stderr" 'mode 4755: set-id and sticky bits are refused'
	assert [ ! -e "$T/x.json" ]
	printf '%s' '{"nodes":[{"identifier":"n1","files":[{"path":"f","content":"x","mode":"4755"}]}]}' >"$T/j.json"
	run -7 --separate-stderr cfgsync bundle check "$T/j.json"
	assert_regex "$stderr" 'mode 4755: set-id and sticky bits are refused'
}

@test "bundle check: an archive's manifest is read, from bsdtar as from pack" {
	local t=$BATS_TEST_TMPDIR
	mkdir -p "$t/tree/nodes/n1" "$t/tree/shared"
	printf 'a\n' >"$t/tree/nodes/n1/a.yaml"
	printf 's\n' >"$t/tree/shared/s.yaml"
	printf '%s\n' '{"cfgsync_manifest":1,"files":[' \
	    '{"name":"nodes/n1/a.yaml","absolute":true,"owner":"0"}' ']}' \
	    >"$t/tree/.cfgsync-manifest.json"
	(cd "$t/tree" && bsdtar -czf "$t/b.tar.gz" .cfgsync-manifest.json nodes shared)
	run -0 --separate-stderr cfgsync bundle check "$t/b.tar.gz"
	run -0 --separate-stderr cfgsync bundle list "$t/b.tar.gz"
	assert_line 'n1	/a.yaml	0644	2'
	run -0 cfgsync bundle pack "$t/tree" -o "$t/p.json"
	run -0 grep -F '"path":"/a.yaml","content":"a\n","owner":"0"' "$t/p.json"
}

@test "bundle check: a bad manifest in an archive exits 7, naming it" {
	local t=$BATS_TEST_TMPDIR
	mkdir -p "$t/tree/nodes/n1"
	printf 'a\n' >"$t/tree/nodes/n1/a.yaml"
	printf '%s\n' '{"cfgsync_manifest":1,"files":[' \
	    '{"name":"nodes/n1/gone.yaml","owner":"root"}' ']}' \
	    >"$t/tree/.cfgsync-manifest.json"
	(cd "$t/tree" && bsdtar -cf "$t/gone.tar" nodes .cfgsync-manifest.json)
	assert_refused "$t/gone.tar" '\.cfgsync-manifest\.json: nodes/n1/gone\.yaml: no such file in the tree'
	printf 'nope' >"$t/tree/.cfgsync-manifest.json"
	(cd "$t/tree" && zip -qr "$t/bad.zip" nodes .cfgsync-manifest.json)
	assert_refused "$t/bad.zip" '\.cfgsync-manifest\.json: bad JSON'
	(cd "$t/tree" && bsdtar -cf "$t/two.tar" .cfgsync-manifest.json nodes ./.cfgsync-manifest.json)
	assert_refused "$t/two.tar" '\./\.cfgsync-manifest\.json: a second manifest'
}
