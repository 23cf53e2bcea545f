bats_require_minimum_version 1.5.0

# make install into a DESTDIR: the tree it writes, the installed binary,
# man pages and demo working from there, and make uninstall taking away
# exactly what install put there.  The binary under test is installed as
# built (-o cfgsync: make rebuilds nothing).

load helpers

# inst TARGET ROOT [VAR=VALUE...]: make TARGET with DESTDIR=ROOT.
inst() {
	local target=$1 root=$2
	shift 2
	make -s -C "$TOP" -o cfgsync "$target" DESTDIR="$root" "$@"
}

# tree ROOT: every file and directory under ROOT, with its mode, sorted.
tree() {
	(cd "$1" && find . -mindepth 1 -printf '%m %y %P\n' | sort -k3)
}

@test "install: the DESTDIR tree, the installed binary, man pages and demo, and uninstall leaves nothing" {
	root=$BATS_TEST_TMPDIR/root
	run -0 inst install "$root"
	run -0 tree "$root"
	p=usr/local
	want=$(cat <<-EOF
	755 d usr
	755 d $p
	755 d $p/bin
	755 f $p/bin/cfgsync
	777 l $p/bin/cfgsync-client
	777 l $p/bin/cfgsync-server
	755 d $p/share
	755 d $p/share/bash-completion
	755 d $p/share/bash-completion/completions
	644 f $p/share/bash-completion/completions/cfgsync
	755 d $p/share/cfgsync
	644 f $p/share/cfgsync/.installed-dirs
	755 d $p/share/cfgsync/bundles
	644 f $p/share/cfgsync/bundles/demo.json
	755 d $p/share/cfgsync/busybox
	755 f $p/share/cfgsync/busybox/fetch.sh
	755 d $p/share/cfgsync/compose
	644 f $p/share/cfgsync/compose/docker-compose.yml
	755 f $p/share/cfgsync/demo.sh
	755 d $p/share/cfgsync/kubernetes
	644 f $p/share/cfgsync/kubernetes/cfgsync.yaml
	755 d $p/share/cfgsync/materializers
	755 f $p/share/cfgsync/materializers/exactly-n.py
	644 f $p/share/cfgsync/materializers/peers.c
	755 f $p/share/cfgsync/materializers/wait-for-n.sh
	755 d $p/share/cfgsync/systemd
	644 f $p/share/cfgsync/systemd/cfgsync-fetch.env
	644 f $p/share/cfgsync/systemd/cfgsync-fetch.service
	644 f $p/share/cfgsync/systemd/cfgsync-serve-exec.service
	755 d $p/share/doc
	755 d $p/share/doc/cfgsync
	644 f $p/share/doc/cfgsync/LICENSE
	755 d $p/share/fish
	755 d $p/share/fish/vendor_completions.d
	644 f $p/share/fish/vendor_completions.d/cfgsync.fish
	755 d $p/share/man
	EOF
	for s in 1 5 7; do
		echo "755 d $p/share/man/man$s"
		for m in "$TOP"/man/*.$s; do
			echo "644 f $p/share/man/man$s/${m##*/}"
		done
	done
	cat <<-EOF
	755 d $p/share/zsh
	755 d $p/share/zsh/site-functions
	644 f $p/share/zsh/site-functions/_cfgsync
	EOF
	)
	assert_output "$(sort -k3 <<<"$want")"
	cmp "$TOP/cfgsync" "$root/$p/bin/cfgsync"
	# Everything in share/ is installed (the Makefile lists it by hand),
	# byte for byte.
	(cd "$TOP/share" && find . -type f | sort) >"$BATS_TEST_TMPDIR/src"
	(cd "$root/$p/share/cfgsync" && find . -type f ! -name .installed-dirs |
	    sort) >"$BATS_TEST_TMPDIR/dst"
	diff "$BATS_TEST_TMPDIR/src" "$BATS_TEST_TMPDIR/dst"
	while read -r f; do
		cmp "$TOP/share/$f" "$root/$p/share/cfgsync/$f"
	done <"$BATS_TEST_TMPDIR/src"

	run -0 "$root/$p/bin/cfgsync" --version
	assert_output --partial "0.1.0"
	# The original's program names run its commands.
	assert_equal "$(readlink "$root/$p/bin/cfgsync-client")" cfgsync
	run -0 "$root/$p/bin/cfgsync-client" --help
	assert_regex "$output" '^usage: cfgsync fetch'
	run -0 "$root/$p/bin/cfgsync-server" --help
	assert_regex "$output" '^usage: cfgsync serve'

	# Every installed page renders through man-db, with no complaint,
	# and ends with the copyright line.
	for m in "$root/$p"/share/man/man*/*; do
		run -0 --separate-stderr env MANWIDTH=80 man -P cat -l "$m"
		assert_equal "$stderr" ""
		assert_regex "$output" 'NAME'
		assert_regex "$output" 'Copyright \(c\) 2026 the cfgsync authors'
	done

	# The installed demo finds the installed binary and its bundle, with
	# the source tree nowhere on PATH.
	TMPDIR=$BATS_TEST_TMPDIR PATH=/usr/bin:/bin run -0 --separate-stderr \
	    timeout 60 sh "$root/$p/share/cfgsync/demo.sh"
	assert_line "demo: using $root/$p/bin/cfgsync"
	b=$root/$p/share/cfgsync/bundles/demo.json
	assert_line "==> serving $b on 127.0.0.1, port picked by the kernel"
	assert_line "node started with id: node-3"
	assert_equal "${lines[${#lines[@]} - 1]}" "demo: done"

	run -0 inst uninstall "$root"
	run -0 find "$root" -mindepth 1
	assert_output ""
}

@test "install: twice is the same as once; uninstall keeps what was there before" {
	root=$BATS_TEST_TMPDIR/root
	umask 022
	mkdir -p "$root/usr/local/bin" "$root/usr/local/share/man/man1"
	echo other >"$root/usr/local/bin/other"
	run -0 inst install "$root"
	run -0 tree "$root"
	once=$output
	run -0 inst install "$root"
	run -0 tree "$root"
	assert_output "$once"
	run -0 inst uninstall "$root"
	# man1 was there before, and empty: it stays.
	run -0 tree "$root"
	assert_output "$(printf '%s\n' '755 d usr' '755 d usr/local' \
	    '755 d usr/local/bin' '644 f usr/local/bin/other' \
	    '755 d usr/local/share' '755 d usr/local/share/man' \
	    '755 d usr/local/share/man/man1')"
	# A second uninstall has nothing left to do.
	run -0 inst uninstall "$root"
}

@test "install: PREFIX=/usr puts the zsh completion in vendor-completions" {
	root=$BATS_TEST_TMPDIR/root
	run -0 inst install "$root" PREFIX=/usr
	assert [ -f "$root/usr/share/zsh/vendor-completions/_cfgsync" ]
	assert [ -f "$root/usr/share/fish/vendor_completions.d/cfgsync.fish" ]
	assert [ -f "$root/usr/share/bash-completion/completions/cfgsync" ]
	assert [ -x "$root/usr/bin/cfgsync" ]
	run -0 inst uninstall "$root" PREFIX=/usr
	run -0 find "$root" -mindepth 1
	assert_output ""
}
