bats_require_minimum_version 1.5.0

load helpers

# Every command and bundle verb, as "cfgsync WORDS" takes them.
COMMANDS=(fetch pin register replace serve serve-bundle serve-exec status bundle "bundle pack"
    "bundle list" "bundle unpack" "bundle check")

# man_page WORDS: the page that documents a command.
man_page() {
	local c=${1%% *}
	printf '%s/man/cfgsync-%s.1\n' "$TOP" "$c"
}

# synopsis_flags WORDS: the options the man page's SYNOPSIS gives the
# command, one a line ("-h", "--out"); for a bundle verb, its block only.
synopsis_flags() {
	local verb=
	[[ $1 == "bundle "* ]] && verb=${1#bundle }
	awk -v verb="$verb" -v whole="$1" '
		/^\.Sh SYNOPSIS/ { on = 1; next }
		/^\.Sh/ { on = 0 }
		!on { next }
		/^\.Nm / { block = ""; next }
		/^\.Cm / && block == "" { block = $2; next }
		{
			if ((verb == "" && block != "") || (verb != "" && block != verb))
				next
			for (i = 1; i < NF; i++) {
				if ($i != "Fl" && $i != ".Fl")
					continue
				f = $(i + 1)
				if (f == "\\-")
					continue
				if (substr(f, 1, 2) == "\\-")
					print "--" substr(f, 3)
				else
					for (j = 1; j <= length(f); j++)
						print "-" substr(f, j, 1)
			}
		}' "$(man_page "$1")" | sort -u
}

# usage_flags WORDS: the options the command's table puts in its SYNOPSIS:
# each option's first spelling, but --list-options and --version, which
# every command takes (cfgsync(1) documents them).
usage_flags() {
	cfgsync $1 --list-options | awk '{ split($1, s, ","); print s[1] }' |
	    grep -vx -e --list-options -e --version | sort -u
}

@test "cfgsync: --version prints the version" {
	run -0 --separate-stderr cfgsync --version
	assert_regex "$output" '^cfgsync [0-9]+\.[0-9]+\.[0-9]+$'
}

@test "cfgsync: COMMAND --version prints the version too" {
	local c
	for c in "${COMMANDS[@]}"; do
		run -0 --separate-stderr cfgsync $c --version
		assert_regex "$output" '^cfgsync [0-9]+\.[0-9]+\.[0-9]+$'
	done
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

@test "cfgsync: a mistyped command suggests the nearest one" {
	run -2 --separate-stderr cfgsync helo
	assert_equal "$output" ""
	assert_equal "$stderr" "cfgsync: 'helo' is not a cfgsync command; did you mean 'help'?"
	run -2 --separate-stderr cfgsync fecth
	assert_regex "$stderr" "did you mean 'fetch'\?$"
}

@test "cfgsync: an unknown NAME runs cfgsync-NAME from PATH" {
	mkdir -p "$BATS_TEST_TMPDIR/bin"
	printf '#!/bin/sh\necho "ext $*"\n' >"$BATS_TEST_TMPDIR/bin/cfgsync-hello"
	chmod +x "$BATS_TEST_TMPDIR/bin/cfgsync-hello"
	PATH="$BATS_TEST_TMPDIR/bin:$PATH" run -0 cfgsync hello a b
	assert_output "ext a b"
}

@test "cfgsync: help COMMAND opens the man page where man has it" {
	local bin=$BATS_TEST_TMPDIR/bin
	mkdir -p "$bin"
	# A man(1) that knows only cfgsync-fetch, and says how it was run.
	cat >"$bin/man" <<-'SH'
	#!/bin/sh
	if [ "$1" = -w ]; then [ "$2" = cfgsync-fetch ]; exit; fi
	echo "man $*"
	SH
	chmod +x "$bin/man"
	PATH="$bin:$PATH" run -0 --separate-stderr cfgsync help fetch
	assert_output "man cfgsync-fetch"
	# No page: the usage instead.
	PATH="$bin:$PATH" run -0 --separate-stderr cfgsync help register
	assert_regex "$output" '^usage: cfgsync register'
}

@test "cfgsync: help COMMAND without man prints the usage" {
	local bin=$BATS_TEST_TMPDIR/bin
	mkdir -p "$bin"
	ln -s "$TOP/cfgsync" "$bin/cfgsync"
	run -0 --separate-stderr env PATH="$bin" "$bin/cfgsync" help serve-exec
	assert_regex "$output" '^usage: cfgsync serve-exec'
	assert_equal "$stderr" ""
}

@test "cfgsync: every command answers -h on stdout, one line per option" {
	local c n
	for c in "${COMMANDS[@]}"; do
		run -0 --separate-stderr cfgsync $c -h
		assert_regex "$output" "^usage: cfgsync $c"
		assert_equal "$stderr" ""
		# Every option of the table has its line, within 80 columns.
		n=$(cfgsync $c --list-options | wc -l)
		assert_equal "$(printf '%s\n' "$output" | grep -c '^  *-')" "$n"
		run -1 grep -E '^.{81,}$' <<<"$output"
	done
}

@test "cfgsync: every command refuses a bad flag with exit 2 and its usage" {
	local c
	for c in "${COMMANDS[@]}"; do
		run -2 --separate-stderr cfgsync $c --no-such-flag
		assert_equal "$output" ""
		assert_regex "$stderr" "usage: cfgsync $c"
	done
}

@test "cfgsync: usage and man page SYNOPSIS name the same options" {
	local c diff
	for c in "${COMMANDS[@]}"; do
		diff=$(diff <(usage_flags "$c") <(synopsis_flags "$c")) ||
		    fail "$c: usage (<) and SYNOPSIS (>) differ: $diff"
	done
}

@test "cfgsync: every option is described in its man page" {
	local c opt long missing=
	for c in "${COMMANDS[@]}"; do
		for opt in $(cfgsync $c --list-options | awk '{ print $1 }'); do
			long=${opt##*,}
			case $long in --list-options|--version) continue ;; esac
			grep -qE -- "^\\.It .*Fl \\\\${long#-}( |$)" \
			    "$(man_page "$c")" || missing="$missing $c:$long"
		done
	done
	assert_equal "$missing" ""
	# The options every command takes are in the overview.
	grep -q 'Fl \\-list-options' "$TOP/man/cfgsync.1"
	grep -q 'Fl \\-version' "$TOP/man/cfgsync.1"
}

@test "cfgsync: options may follow operands, and -- ends them" {
	run -0 --separate-stderr cfgsync bundle list "$TOP/share/bundles/demo.json" --json
	assert_regex "$output" '^\[\{"identifier":"node-1"'
	# After --, a name that looks like an option is an operand.
	run -2 --separate-stderr cfgsync bundle check -- --json
	assert_regex "$stderr" 'open --json: No such file'
}

@test "cfgsync: --listen refuses a port over 65535" {
	run -2 --separate-stderr cfgsync serve-bundle --listen 127.0.0.1:99999 \
	    "$TOP/share/bundles/demo.json"
	assert_regex "$stderr" 'port 99999 is not a number from 0 to 65535'
	run -2 --separate-stderr cfgsync serve-bundle --listen :x \
	    "$TOP/share/bundles/demo.json"
}

@test "cfgsync: --list-options gives each option once, with its argument" {
	run -0 --separate-stderr cfgsync fetch --list-options
	assert_line -- "--out DIR"
	assert_line -- "-q,--quiet"
	assert_line -- "--print"
	run -0 --separate-stderr cfgsync bundle pack --list-options
	assert_line -- "-o,--output OUT"
}

# complete WORDS...: what the bash completion offers for the last word.
bash_complete() {
	bash -c '
		source "$1/completions/cfgsync.bash"
		shift
		COMP_WORDS=("$@")
		COMP_CWORD=$(($# - 1))
		COMP_LINE="$*"
		COMP_WORDBREAKS=" "
		_cfgsync
		printf "%s\n" "${COMPREPLY[@]}"
	' _ "$TOP" "$@"
}

@test "completions: bash offers the options of each command's table" {
	run -0 bash_complete cfgsync fetch --p
	assert_line -- --poll-wait
	assert_line -- --print
	refute_line -- --persist
	run -0 bash_complete cfgsync serve-exec --per
	assert_output -- --persist
	run -0 bash_complete cfgsync bundle pack --f
	assert_output -- --format
	run -0 bash_complete cfgsync bundle pack --format t
	assert_line tar.gz
	run -0 bash_complete cfgsync serve-bundle --log-format ""
	assert_line json
	assert_line text
	run -0 bash_complete cfgsync bundle ""
	assert_line unpack
}

@test "completions: zsh and fish files parse where the shells are installed" {
	local ran=
	if command -v zsh >/dev/null; then zsh -n "$TOP/completions/_cfgsync"; ran=1; fi
	if command -v fish >/dev/null; then fish -n "$TOP/completions/cfgsync.fish"; ran=1; fi
	[ -n "$ran" ] || skip "neither zsh nor fish is installed"
}
