bats_require_minimum_version 1.5.0

load helpers

@test "cfgsync: --version prints the version" {
	run -0 --separate-stderr cfgsync --version
	assert_regex "$output" '^cfgsync [0-9]+\.[0-9]+\.[0-9]+$'
}

@test "cfgsync: help lists every command" {
	run -0 cfgsync help
	assert_output --partial fetch
	assert_output --partial serve-bundle
	assert_output --partial register
}

@test "cfgsync: an unknown command exits 2" {
	run -2 --separate-stderr cfgsync no-such-command
	assert_regex "$stderr" "cfgsync: 'no-such-command' is not a cfgsync command"
}

@test "cfgsync: an unknown NAME runs cfgsync-NAME from PATH" {
	mkdir -p "$BATS_TEST_TMPDIR/bin"
	printf '#!/bin/sh\necho "ext $*"\n' >"$BATS_TEST_TMPDIR/bin/cfgsync-hello"
	chmod +x "$BATS_TEST_TMPDIR/bin/cfgsync-hello"
	PATH="$BATS_TEST_TMPDIR/bin:$PATH" run -0 cfgsync hello a b
	assert_output "ext a b"
}

@test "cfgsync: every command answers -h on stdout, exit 0" {
	for c in fetch register serve-bundle; do
		run -0 --separate-stderr cfgsync "$c" -h
		assert_regex "$output" "^usage: cfgsync $c"
		assert_equal "$stderr" ""
	done
}

@test "cfgsync: every command refuses a bad flag with exit 2" {
	for c in fetch register serve-bundle; do
		run -2 --separate-stderr cfgsync "$c" --no-such-flag
		assert_regex "$stderr" "usage: cfgsync $c"
	done
}

@test "cfgsync: every option in a command's usage is in its man page" {
	local c page opt missing=
	for c in fetch register serve-bundle serve-exec bundle; do
		page="$TOP/man/cfgsync-$c.1"
		for opt in $(cfgsync "$c" --help | grep -o -- '--[a-z][a-z-]*' | sort -u); do
			grep -q -- "^\.It Fl \\\\-${opt#--}\b\|Fl \\\\-${opt#--}\b" "$page" ||
			    missing="$missing $c:$opt"
		done
	done
	assert_equal "$missing" ""
}
