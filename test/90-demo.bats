bats_require_minimum_version 1.5.0

load helpers

@test "demo: share/demo.sh serves, fetches three nodes and stops cleanly" {
	TMPDIR=$BATS_TEST_TMPDIR run -0 --separate-stderr timeout 60 \
	    sh "$TOP/share/demo.sh"
	assert_line "==> files of node-1"
	assert_line "==> files of node-3"
	assert_line "id: node-2"
	assert_line "node started with id: node-3"
	assert_regex "$output" 'exit status 3; [^ ]*/node-9 exists: no'
	assert_line "server exit status 0; its log:"
	assert_equal "${lines[${#lines[@]} - 1]}" "demo: done"
	# Its temporary directory is gone.
	run -0 find "$BATS_TEST_TMPDIR" -name 'cfgsync-demo.*'
	assert_output ""
}
