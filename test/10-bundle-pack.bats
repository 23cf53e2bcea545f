bats_require_minimum_version 1.5.0

load helpers

FORMATS="json tar tar.gz tar.xz tar.zst zip"

# make_tree DIR: two nodes, an empty one and a shared file; node-2 has a
# 0755 script and a 0600 binary file with NUL bytes.
make_tree() {
	local t=$1
	mkdir -p "$t/nodes/node-1" "$t/nodes/node-2/sub" "$t/nodes/empty" \
	    "$t/shared"
	printf 'id: node-1\n' >"$t/nodes/node-1/config.yaml"
	printf '#!/bin/sh\necho started\n' >"$t/nodes/node-2/run.sh"
	printf '\000\001\377\376bin\000ary\n' >"$t/nodes/node-2/sub/key.der"
	printf 'mode: local\n' >"$t/shared/deployment-settings.yaml"
	chmod 0644 "$t/nodes/node-1/config.yaml" \
	    "$t/shared/deployment-settings.yaml"
	chmod 0755 "$t/nodes/node-2/run.sh"
	chmod 0600 "$t/nodes/node-2/sub/key.der"
}

# same_tree A B: the same files, bytes and permission bits.
same_tree() {
	diff -r "$1" "$2"
	(cd "$1" && find . -printf '%p %m %y\n' | sort) >"$BATS_TEST_TMPDIR/a.ls"
	(cd "$2" && find . -printf '%p %m %y\n' | sort) >"$BATS_TEST_TMPDIR/b.ls"
	diff -u "$BATS_TEST_TMPDIR/a.ls" "$BATS_TEST_TMPDIR/b.ls"
}

setup_file() {
	local i=0 f
	make_tree "$BATS_FILE_TMPDIR/tree"
	# Each format served under a name without an extension: serve-bundle
	# must sniff the content.
	for f in $FORMATS; do
		cfgsync bundle pack "$BATS_FILE_TMPDIR/tree" \
		    -o "$BATS_FILE_TMPDIR/b.$f"
		cp "$BATS_FILE_TMPDIR/b.$f" "$BATS_FILE_TMPDIR/served$i"
		# serve-bundle stops at its operand, so the listen options
		# go before it (start_server would put them after).
		start_server_raw "S$i" "$BATS_FILE_TMPDIR/srv" serve-bundle \
		    --listen 127.0.0.1:0 --port-file "$BATS_FILE_TMPDIR/srv/S$i.port" \
		    "$BATS_FILE_TMPDIR/served$i"
		eval "export S${i}_URL"
		i=$((i + 1))
	done
}

teardown_file() {
	local i
	for i in 0 1 2 3 4 5; do
		stop_server "S$i"
	done
}

teardown() {
	stop_server AJ
	stop_server AT
	if [ -n "${STATIC_PID:-}" ]; then
		kill "$STATIC_PID" 2>/dev/null || true
		wait "$STATIC_PID" 2>/dev/null || true
	fi
}

@test "bundle pack: bundle and every verb answer -h on stdout, exit 0" {
	run -0 --separate-stderr cfgsync bundle -h
	assert_regex "$output" '^usage: cfgsync bundle pack'
	assert_equal "$stderr" ""
	for v in pack list unpack check; do
		run -0 --separate-stderr cfgsync bundle "$v" -h
		assert_regex "$output" "^usage: cfgsync bundle $v"
		assert_equal "$stderr" ""
	done
	run -0 cfgsync help
	assert_output --partial "pack, list, unpack or check a bundle"
}

@test "bundle pack: a bad flag, no verb or an unknown verb exits 2" {
	for v in pack list unpack check; do
		run -2 --separate-stderr cfgsync bundle "$v" --no-such-flag
		assert_regex "$stderr" "usage: cfgsync bundle $v"
		assert_equal "$output" ""
	done
	run -2 --separate-stderr cfgsync bundle
	assert_regex "$stderr" '^cfgsync: bundle: expected a verb'
	run -2 --separate-stderr cfgsync bundle frobnicate
	assert_regex "$stderr" "^cfgsync: bundle: 'frobnicate' is not a bundle verb"
	run -2 --separate-stderr cfgsync bundle list --max-entries lots x
	assert_regex "$stderr" '^cfgsync: bundle list: --max-entries lots: not a number'
}

@test "bundle pack: every format round-trips through unpack, bytes and modes intact" {
	for f in $FORMATS; do
		run -0 cfgsync bundle unpack "$BATS_FILE_TMPDIR/b.$f" \
		    "$BATS_TEST_TMPDIR/u.$f"
		same_tree "$BATS_FILE_TMPDIR/tree" "$BATS_TEST_TMPDIR/u.$f"
	done
}

@test "bundle pack: JSON, unpack, pack again gives identical bytes" {
	local t=$BATS_TEST_TMPDIR
	for f in $FORMATS; do
		run -0 cfgsync bundle unpack "$BATS_FILE_TMPDIR/b.$f" "$t/u.$f"
		run -0 cfgsync bundle pack "$t/u.$f" -o "$t/again.$f"
		cmp "$BATS_FILE_TMPDIR/b.$f" "$t/again.$f"
		# Every form converts to the same JSON.
		run -0 cfgsync bundle pack "$t/u.$f" -o "$t/from-$f.json"
		cmp "$BATS_FILE_TMPDIR/b.json" "$t/from-$f.json"
	done
}

@test "bundle pack: UTF-8 names survive every format" {
	local t=$BATS_TEST_TMPDIR
	mkdir -p "$t/tree/nodes/n1/dossier été" "$t/tree/shared"
	printf 'x\n' >"$t/tree/nodes/n1/dossier été/héllo wörld.txt"
	printf 'y\n' >"$t/tree/shared/日本.yaml"
	for f in $FORMATS; do
		run -0 cfgsync bundle pack "$t/tree" -o "$t/b.$f"
		run -0 cfgsync bundle unpack "$t/b.$f" "$t/u.$f"
		diff -r "$t/tree" "$t/u.$f"
	done
	run -0 bsdtar -tf "$t/b.tar.gz"
	assert_line 'shared/日本.yaml'
}

@test "bundle pack: two packs of the same tree are identical in every format" {
	local t=$BATS_TEST_TMPDIR
	cp -a "$BATS_FILE_TMPDIR/tree" "$t/tree"
	for f in $FORMATS; do
		run -0 cfgsync bundle pack "$t/tree" -o "$t/one.$f"
	done
	# New times, another time zone: still the same bytes.
	sleep 1
	find "$t/tree" -exec touch {} +
	for f in $FORMATS; do
		TZ=Asia/Tokyo run -0 cfgsync bundle pack "$t/tree" -o "$t/two.$f"
		cmp "$t/one.$f" "$t/two.$f"
		cmp "$BATS_FILE_TMPDIR/b.$f" "$t/two.$f"
	done
}

@test "bundle pack: archives are sorted and carry no times, owners or links" {
	local b=$BATS_FILE_TMPDIR
	run -0 bsdtar -tvf "$b/b.tar.gz"
	refute_output --partial root
	run -0 tar --numeric-owner -tvzf "$b/b.tar.gz"
	assert_line --index 0 --regexp '^drwxr-xr-x 0/0 +0 1970-01-01 00:00 nodes/empty/$'
	assert_line --index 4 --regexp '^-rwxr-xr-x 0/0 +23 1970-01-01 00:00 nodes/node-2/run.sh$'
	assert_line --index 5 --regexp '^-rw------- 0/0 +12 1970-01-01 00:00 nodes/node-2/sub/key.der$'
	assert_line --index 6 --regexp ' shared/deployment-settings.yaml$'
	run -0 tar -tf "$b/b.tar"
	run -0 xz -t "$b/b.tar.xz"
	run -0 zstd -qt "$b/b.tar.zst"
	run -0 unzip -tq "$b/b.zip"
	run -0 zipinfo "$b/b.zip"
	assert_line --partial '-rwxr-xr-x'
	assert_line --partial 'nodes/node-2/run.sh'
}

@test "bundle pack: -o - writes JSON to stdout and nothing else" {
	run -0 --separate-stderr cfgsync bundle pack "$BATS_FILE_TMPDIR/tree" -o -
	assert_equal "$stderr" ""
	printf '%s\n' "$output" >"$BATS_TEST_TMPDIR/out.json"
	cmp "$BATS_FILE_TMPDIR/b.json" "$BATS_TEST_TMPDIR/out.json"
}

@test "bundle pack: --format overrides the extension, -o - included" {
	local t=$BATS_TEST_TMPDIR
	run -0 cfgsync bundle pack --format tar.zst "$BATS_FILE_TMPDIR/tree" \
	    -o "$t/bundle.json"
	cmp "$BATS_FILE_TMPDIR/b.tar.zst" "$t/bundle.json"
	run -0 cfgsync bundle pack --output "$t/x.tgz" "$BATS_FILE_TMPDIR/tree"
	cmp "$BATS_FILE_TMPDIR/b.tar.gz" "$t/x.tgz"
	cfgsync bundle pack --format zip "$BATS_FILE_TMPDIR/tree" -o - >"$t/z"
	cmp "$BATS_FILE_TMPDIR/b.zip" "$t/z"
	run -2 --separate-stderr cfgsync bundle pack --format rar \
	    "$BATS_FILE_TMPDIR/tree" -o "$t/x.zip"
	assert_regex "$stderr" '^cfgsync: bundle pack: --format rar: not json'
}

@test "bundle pack: an unknown extension without --format exits 2, writes nothing" {
	run -2 --separate-stderr cfgsync bundle pack "$BATS_FILE_TMPDIR/tree" \
	    -o "$BATS_TEST_TMPDIR/bundle.rar"
	assert_regex "$stderr" '^cfgsync: bundle pack: .*bundle.rar: no known extension'
	assert_regex "$stderr" 'usage: cfgsync bundle pack'
	assert [ ! -e "$BATS_TEST_TMPDIR/bundle.rar" ]
	run -2 cfgsync bundle pack "$BATS_FILE_TMPDIR/tree"
	run -2 cfgsync bundle pack -o "$BATS_TEST_TMPDIR/x.json"
}

@test "bundle pack: binary is base64, text stays plain, mode only where not 0644" {
	python3 - "$BATS_FILE_TMPDIR/b.json" <<-'PY'
	import base64, json, sys
	b = json.load(open(sys.argv[1]))
	nodes = {n['identifier']: n['files'] for n in b['nodes']}
	assert sorted(nodes) == ['empty', 'node-1', 'node-2'], nodes
	assert nodes['empty'] == []
	assert nodes['node-1'] == [{'path': 'config.yaml', 'content': 'id: node-1\n'}]
	run, key = nodes['node-2']
	assert run == {'path': 'run.sh', 'content': '#!/bin/sh\necho started\n',
	               'mode': '0755'}, run
	assert key['encoding'] == 'base64' and key['mode'] == '0600', key
	assert base64.b64decode(key['content']) == b'\0\1\377\376bin\0ary\n'
	assert b['shared_files'] == [{'path': 'deployment-settings.yaml',
	                              'content': 'mode: local\n'}]
	PY
}

@test "bundle pack: --hash puts the sha256 of its content on every file" {
	local t=$BATS_TEST_TMPDIR
	run -0 cfgsync bundle pack --hash "$BATS_FILE_TMPDIR/tree" -o "$t/h.json"
	sha256sum "$BATS_FILE_TMPDIR/tree/nodes/node-2/sub/key.der" \
	    "$BATS_FILE_TMPDIR/tree/shared/deployment-settings.yaml" |
	    cut -d' ' -f1 >"$t/want"
	python3 -c 'import json,sys; b=json.load(open(sys.argv[1]))
print(b["nodes"][2]["files"][1]["sha256"]); print(b["shared_files"][0]["sha256"])
assert all("sha256" in f for n in b["nodes"] for f in n["files"])' \
	    "$t/h.json" >"$t/got"
	diff -u "$t/want" "$t/got"
	run -0 cfgsync bundle check "$t/h.json"
}

@test "bundle pack: --hash with an archive format exits 2" {
	run -2 --separate-stderr cfgsync bundle pack --hash \
	    "$BATS_FILE_TMPDIR/tree" -o "$BATS_TEST_TMPDIR/h.tar.gz"
	assert_regex "$stderr" '^cfgsync: bundle pack: --hash: only a JSON bundle carries digests'
	assert [ ! -e "$BATS_TEST_TMPDIR/h.tar.gz" ]
}

@test "bundle pack: a symbolic link in the tree exits 7, naming it, and writes nothing" {
	local t=$BATS_TEST_TMPDIR
	make_tree "$t/tree"
	ln -s /etc/passwd "$t/tree/nodes/node-1/passwd"
	run -7 --separate-stderr cfgsync bundle pack "$t/tree" -o "$t/x.tar"
	assert_regex "$stderr" '^cfgsync: bundle pack: .*/tree: nodes/node-1/passwd: symbolic link$'
	assert [ ! -e "$t/x.tar" ]
	rm "$t/tree/nodes/node-1/passwd"
	ln -s "$t/tree/nodes/node-1" "$t/tree/nodes/node-3"
	run -7 --separate-stderr cfgsync bundle pack "$t/tree" -o "$t/x.tar"
	assert_regex "$stderr" 'nodes/node-3: symbolic link$'
}

@test "bundle pack: a FIFO in the tree exits 7 without blocking" {
	local t=$BATS_TEST_TMPDIR
	make_tree "$t/tree"
	mkfifo "$t/tree/shared/pipe"
	run -7 --separate-stderr timeout 10 cfgsync bundle pack "$t/tree" -o -
	assert_regex "$stderr" 'shared/pipe: FIFO$'
	assert_equal "$output" ""
}

@test "bundle pack: an entry outside nodes/ and shared/ exits 7" {
	local t=$BATS_TEST_TMPDIR
	make_tree "$t/tree"
	printf 'x\n' >"$t/tree/README"
	run -7 --separate-stderr cfgsync bundle pack "$t/tree" -o -
	assert_regex "$stderr" 'tree: README: outside nodes/<identifier>/ and shared/$'
	rm "$t/tree/README"
	printf 'x\n' >"$t/tree/nodes/stray"
	run -7 --separate-stderr cfgsync bundle pack "$t/tree" -o -
	assert_regex "$stderr" 'tree: nodes/stray: outside'
}

@test "bundle pack: a node directory that is no identifier exits 7" {
	local t=$BATS_TEST_TMPDIR
	make_tree "$t/tree"
	mkdir "$t/tree/nodes/bad id"
	run -7 --separate-stderr cfgsync bundle pack "$t/tree" -o -
	assert_regex "$stderr" 'tree: nodes/bad id: identifier: byte 0x20'
}

@test "bundle pack: a missing DIR exits 2" {
	run -2 --separate-stderr cfgsync bundle pack "$BATS_TEST_TMPDIR/none" -o -
	assert_regex "$stderr" '^cfgsync: bundle pack: open .*/none: No such file or directory$'
}

@test "bundle pack: a failed pack keeps the old output and leaves no temporary" {
	local t=$BATS_TEST_TMPDIR
	make_tree "$t/tree"
	mkdir "$t/out"
	run -0 cfgsync bundle pack "$t/tree" -o "$t/out/b.tar.gz"
	cp "$t/out/b.tar.gz" "$t/old"
	ln -s /nowhere "$t/tree/shared/dangling"
	run -7 cfgsync bundle pack "$t/tree" -o "$t/out/b.tar.gz"
	cmp "$t/old" "$t/out/b.tar.gz"
	run -0 ls -A "$t/out"
	assert_output "b.tar.gz"
	run -6 --separate-stderr cfgsync bundle pack "$BATS_FILE_TMPDIR/tree" \
	    -o "$t/no/such/dir/b.json"
	assert_regex "$stderr" '^cfgsync: bundle pack: create '
}

@test "bundle list: one tab-separated line per file, node files first" {
	for f in $FORMATS; do
		run -0 --separate-stderr cfgsync bundle list "$BATS_FILE_TMPDIR/b.$f"
		assert_equal "$stderr" ""
		assert_output "$(printf '%s\t%s\t%s\t%s\n' \
		    node-1 config.yaml 0644 11 \
		    node-2 run.sh 0755 23 \
		    node-2 sub/key.der 0600 12 \
		    shared deployment-settings.yaml 0644 12)"
	done
}

@test "bundle list: --json prints an array, identifier null for shared files" {
	run -0 --separate-stderr cfgsync bundle list --json "$BATS_FILE_TMPDIR/b.zip"
	printf '%s\n' "$output" >"$BATS_TEST_TMPDIR/l.json"
	python3 - "$BATS_TEST_TMPDIR/l.json" <<-'PY'
	import json, sys
	l = json.load(open(sys.argv[1]))
	assert l[1] == {'identifier': 'node-2', 'path': 'run.sh',
	                'mode': '0755', 'size': 23}, l[1]
	assert l[3] == {'identifier': None, 'path': 'deployment-settings.yaml',
	                'mode': '0644', 'size': 12}, l[3]
	assert len(l) == 4
	PY
}

@test "bundle unpack: a symlink under DIR is not followed: exit 6, nothing written" {
	local t=$BATS_TEST_TMPDIR
	mkdir -p "$t/dir" "$t/elsewhere"
	ln -s "$t/elsewhere" "$t/dir/nodes"
	run -6 --separate-stderr cfgsync bundle unpack "$BATS_FILE_TMPDIR/b.tar" \
	    "$t/dir"
	assert_regex "$stderr" '^cfgsync: bundle unpack: open .*/dir/nodes: unsafe path'
	run -0 ls -A "$t/elsewhere"
	assert_output ""
	assert [ ! -e "$t/dir/shared" ]
}

@test "bundle unpack: replaces files, and a file without a mode gets 0644" {
	local t=$BATS_TEST_TMPDIR
	mkdir -p "$t/dir/nodes/node-1"
	printf 'old\n' >"$t/dir/nodes/node-1/config.yaml"
	chmod 0600 "$t/dir/nodes/node-1/config.yaml"
	run -0 cfgsync bundle unpack "$BATS_FILE_TMPDIR/b.json" "$t/dir"
	same_tree "$BATS_FILE_TMPDIR/tree" "$t/dir"
}

@test "bundle pack: binary and 0755 survive pack, archive, serve-bundle and fetch" {
	local i=0 f url o tree=$BATS_FILE_TMPDIR/tree
	for f in $FORMATS; do
		eval "url=\$S${i}_URL"
		o=$BATS_TEST_TMPDIR/o$i
		run -0 cfgsync fetch -q --server "$url" --id node-2 \
		    --ip 127.0.0.1 --out "$o"
		cmp "$tree/nodes/node-2/run.sh" "$o/run.sh"
		cmp "$tree/nodes/node-2/sub/key.der" "$o/sub/key.der"
		cmp "$tree/shared/deployment-settings.yaml" \
		    "$o/deployment-settings.yaml"
		assert_equal "$(stat -c %a "$o/run.sh")" 755
		assert_equal "$(stat -c %a "$o/sub/key.der")" 600
		assert_equal "$(stat -c %a "$o/deployment-settings.yaml")" 644
		run -0 "$o/run.sh"
		assert_output started
		i=$((i + 1))
	done
}

@test "bundle pack: archive and JSON forms of a tree serve identical payloads" {
	local i f url id
	for id in node-1 node-2 empty; do
		i=0
		for f in $FORMATS; do
			eval "url=\$S${i}_URL"
			cfgsync fetch -q --print --server "$url" --id "$id" \
			    --ip 127.0.0.1 >"$BATS_TEST_TMPDIR/p$i"
			cmp "$BATS_TEST_TMPDIR/p0" "$BATS_TEST_TMPDIR/p$i"
			i=$((i + 1))
		done
	done
	run -0 cat "$BATS_TEST_TMPDIR/p0"
	assert_output '{"schema_version":1,"files":[{"path":"deployment-settings.yaml","content":"mode: local\n"}]}'
	run -3 cfgsync fetch -q --print --server "$S1_URL" --id ghost \
	    --ip 127.0.0.1
}

@test "bundle pack: --hash, then a tampered file: serve-bundle refuses the bundle" {
	local t=$BATS_TEST_TMPDIR
	run -0 cfgsync bundle pack --hash "$BATS_FILE_TMPDIR/tree" -o "$t/h.json"
	sed 's/id: node-1/id: node-9/' "$t/h.json" >"$t/bad.json"
	run -7 --separate-stderr cfgsync serve-bundle --listen 127.0.0.1:0 \
	    "$t/bad.json"
	assert_regex "$stderr" 'node node-1: config.yaml: sha256 mismatch'
}

@test "bundle pack: --hash, then a tampered file: fetch exits 7 and writes nothing" {
	local t=$BATS_TEST_TMPDIR i
	run -0 cfgsync bundle pack --hash "$BATS_FILE_TMPDIR/tree" -o "$t/h.json"
	sed 's/echo started/echo owned/' "$t/h.json" >"$t/bad.json"
	# serve-bundle refuses such a bundle, so a stand-in server sends it.
	python3 "$FIXTURES/craft.py" payload "$t/payload.json" "$t/bad.json" node-2
	python3 "$FIXTURES/static_server.py" "$t/payload.json" "$t/port" &
	STATIC_PID=$!
	for i in $(seq 1 200); do
		[ -s "$t/port" ] && break
		sleep 0.05
	done
	run -7 --separate-stderr cfgsync fetch -q \
	    --server "http://127.0.0.1:$(cat "$t/port")" --id node-2 \
	    --ip 127.0.0.1 --out "$t/o"
	assert_regex "$stderr" 'run.sh: sha256 mismatch'
	assert [ ! -e "$t/o" ]
}

# every_attr OUT: a JSON bundle, in pack's own form, whose files carry
# every attribute a tree cannot hold: a leading "/", an explicit 0644,
# owner and group (names and ids), a sha256, a binary file.
every_attr() {
	local h
	h=$(printf 'id: node-1\n' | sha256sum | cut -c1-64)
	printf '%s' '{"nodes":[{"identifier":"empty","files":[]},{"identifier":"node-1","files":[{"path":"/config.yaml","content":"id: node-1\n","mode":"0644","owner":"root","group":"adm","sha256":"'"$h"'"},{"path":"etc/key.der","content":"AAH/","mode":"0600","encoding":"base64","owner":"1000"},{"path":"run.sh","content":"echo\n","mode":"0755"}]}],"shared_files":[{"path":"/deploy.yaml","content":"mode: local\n","group":"0"}]}' >"$1"
	printf '\n' >>"$1"
}

@test "bundle unpack: every attribute survives unpack and pack, byte for byte" {
	local t=$BATS_TEST_TMPDIR
	every_attr "$t/in.json"
	run -0 cfgsync bundle unpack "$t/in.json" "$t/u"
	run -0 cfgsync bundle pack "$t/u" -o "$t/out.json"
	cmp "$t/in.json" "$t/out.json"
	# The tree holds what it can, the manifest the rest.
	assert [ "$(stat -c %a "$t/u/nodes/node-1/etc/key.der")" = 600 ]
	run -0 cat "$t/u/.cfgsync-manifest.json"
	assert_line --index 0 '{"cfgsync_manifest":1,"files":['
	assert_line --index 1 --regexp '^\{"name":"nodes/node-1/config.yaml","absolute":true,"explicit_mode":true,"owner":"root","group":"adm","sha256":"[0-9a-f]{64}"\},$'
	assert_line --index 2 '{"name":"nodes/node-1/etc/key.der","owner":"1000"},'
	assert_line --index 3 '{"name":"shared/deploy.yaml","absolute":true,"group":"0"}'
	assert_line --index 4 ']}'
	refute_output --partial run.sh
}

@test "bundle unpack: every attribute survives every archive format too" {
	local t=$BATS_TEST_TMPDIR f
	every_attr "$t/in.json"
	run -0 cfgsync bundle unpack "$t/in.json" "$t/u"
	for f in tar tar.gz tar.xz tar.zst zip; do
		run -0 cfgsync bundle pack "$t/u" -o "$t/b.$f"
		run -0 cfgsync bundle unpack "$t/b.$f" "$t/u.$f"
		diff -r "$t/u" "$t/u.$f"
		run -0 cfgsync bundle pack "$t/u.$f" -o "$t/out.$f.json"
		cmp "$t/in.json" "$t/out.$f.json"
		run -0 cfgsync bundle pack "$t/u.$f" -o "$t/again.$f"
		cmp "$t/b.$f" "$t/again.$f"
		run -0 --separate-stderr cfgsync bundle list "$t/b.$f"
		assert_line 'node-1	/config.yaml	0644	11'
		assert_line 'shared	/deploy.yaml	0644	12'
	done
	# The manifest is the archive's last entry, owners stay out of tar's.
	run -0 tar --numeric-owner -tvf "$t/b.tar"
	assert_line --index 6 --regexp '^-rw-r--r-- 0/0 .* \.cfgsync-manifest\.json$'
	run -0 unzip -l "$t/b.zip"
	assert_output --partial .cfgsync-manifest.json
}

@test "bundle unpack: a plain bundle writes no manifest and removes a stale one" {
	local t=$BATS_TEST_TMPDIR
	every_attr "$t/in.json"
	run -0 cfgsync bundle unpack "$t/in.json" "$t/u"
	assert [ -f "$t/u/.cfgsync-manifest.json" ]
	run -0 cfgsync bundle unpack "$BATS_FILE_TMPDIR/b.json" "$t/u"
	assert [ ! -e "$t/u/.cfgsync-manifest.json" ]
	run -0 cfgsync bundle unpack "$BATS_FILE_TMPDIR/b.tar" "$t/plain"
	assert [ ! -e "$t/plain/.cfgsync-manifest.json" ]
}

@test "bundle pack: a manifest that names no file of the tree exits 7, naming it" {
	local t=$BATS_TEST_TMPDIR
	every_attr "$t/in.json"
	run -0 cfgsync bundle unpack "$t/in.json" "$t/u"
	rm "$t/u/shared/deploy.yaml"
	run -7 --separate-stderr cfgsync bundle pack "$t/u" -o "$t/out.json"
	assert_regex "$stderr" '^cfgsync: bundle pack: .*/u: \.cfgsync-manifest\.json: shared/deploy\.yaml: no such file in the tree$'
	assert [ ! -e "$t/out.json" ]
	run -7 --separate-stderr cfgsync bundle pack "$t/u" -o "$t/out.tar.gz"
	assert_regex "$stderr" 'shared/deploy\.yaml: no such file in the tree$'
	assert [ ! -e "$t/out.tar.gz" ]
}

@test "bundle pack: a file that no longer matches its manifest sha256 exits 7" {
	local t=$BATS_TEST_TMPDIR
	every_attr "$t/in.json"
	run -0 cfgsync bundle unpack "$t/in.json" "$t/u"
	printf 'id: node-9\n' >"$t/u/nodes/node-1/config.yaml"
	run -7 --separate-stderr cfgsync bundle pack "$t/u" -o "$t/out.json"
	assert_regex "$stderr" '\.cfgsync-manifest\.json: nodes/node-1/config\.yaml: sha256 does not match the file'
	assert [ ! -e "$t/out.json" ]
}

@test "bundle pack: a malformed manifest exits 7, saying what is wrong" {
	local t=$BATS_TEST_TMPDIR m
	every_attr "$t/in.json"
	run -0 cfgsync bundle unpack "$t/in.json" "$t/u"
	m=$t/u/.cfgsync-manifest.json
	cp "$m" "$t/good"
	check_bad() {
		run -7 --separate-stderr cfgsync bundle pack "$t/u" -o "$t/o.json"
		assert_regex "$stderr" "^cfgsync: bundle pack: .*/u: \\.cfgsync-manifest\\.json: $1"
		assert [ ! -e "$t/o.json" ]
		rm -f "$m"
		cp "$t/good" "$m"
	}
	printf '{"cfgsync_manifest":1,' >"$m"
	check_bad 'truncated JSON'
	sed -i 's/"cfgsync_manifest":1/"cfgsync_manifest":2/' "$m"
	check_bad 'cfgsync_manifest: missing or not 1'
	sed -i 's/"owner":"1000"/"owner":"1000","colour":"red"/' "$m"
	check_bad 'files\[1\]: unknown member colour'
	sed -i 's/"owner":"1000"/"owner":"-rf"/' "$m"
	check_bad 'files\[1\]: owner: not a user name or id'
	sed -i '0,/"absolute":true/s//"absolute":1/' "$m"
	check_bad 'files\[[0-9]\]: absolute: not true or false'
	# A member named twice is refused as in every JSON document.
	sed -i 's/"group":"0"/"group":"0","group":"0"/' "$m"
	check_bad 'member "group" given twice'
	sed -i 's/"sha256":"[0-9a-f]*"/"sha256":"abc"/' "$m"
	check_bad 'files\[0\]: sha256: not 64 hex digits'
	sed -i 's|"nodes/node-1/etc/key.der"|"nodes/node-1/config.yaml"|' "$m"
	check_bad 'nodes/node-1/config.yaml: listed twice'
	sed -i 's|"nodes/node-1/etc/key.der"|"../key.der"|' "$m"
	check_bad 'files\[1\]: '
	printf '[]' >"$m"
	check_bad 'not a JSON object'
	rm "$m"
	ln -s "$t/good" "$m"
	check_bad 'symbolic link'
}

@test "bundle unpack: a tree packed to an archive serves what its JSON bundle serves" {
	local t=$BATS_TEST_TMPDIR
	every_attr "$t/in.json"
	run -0 cfgsync bundle unpack "$t/in.json" "$t/u"
	run -0 cfgsync bundle pack "$t/u" -o "$t/b.tar.zst"
	start_server AJ "$t/srv" serve-bundle "$t/in.json"
	start_server AT "$t/srv" serve-bundle "$t/b.tar.zst"
	cfgsync fetch -q --print --server "$AJ_URL" --id node-1 \
	    --ip 127.0.0.1 >"$t/pj"
	cfgsync fetch -q --print --server "$AT_URL" --id node-1 \
	    --ip 127.0.0.1 >"$t/pt"
	cmp "$t/pj" "$t/pt"
	run -0 grep -F '{"path":"/config.yaml","content":"id: node-1\n","mode":"0644","owner":"root","group":"adm","sha256":' "$t/pt"
	run -0 grep -F '{"path":"/deploy.yaml","content":"mode: local\n","group":"0"}' "$t/pt"
}
