# bash completion for cfgsync(1)
#
# Install as /usr/share/bash-completion/completions/cfgsync, or source it
# from ~/.bashrc.  The options come from the program itself
# (`cfgsync COMMAND --list-options`), so they are never out of date; this
# file knows only how to complete operands and option arguments.

_cfgsync_commands="bundle fetch help pin register replace serve serve-bundle serve-exec status"
_cfgsync_bundle_verbs="check list pack unpack"

# _cfgsync_options WORDS...: "SPELLING ARG" lines, one per spelling.
_cfgsync_options()
{
	local names arg n
	"${_cfgsync_prog:-cfgsync}" "$@" --list-options 2>/dev/null |
	while read -r names arg; do
		local IFS=,
		for n in $names; do
			printf '%s\n' "$n${arg:+ $arg}"
		done
	done
}

# _cfgsync_complete_arg ARG: complete an option argument named ARG.
_cfgsync_complete_arg()
{
	local IFS=$'\n'
	case $1 in
	FILE|OUT|BUNDLE|'FILE|DIR')
		compopt -o filenames 2>/dev/null
		COMPREPLY=($(compgen -f -- "$cur"))
		;;
	DIR)
		compopt -o filenames 2>/dev/null
		COMPREPLY=($(compgen -d -- "$cur"))
		;;
	*'|'*)
		COMPREPLY=($(compgen -W "${1//|/$'\n'}" -- "$cur"))
		;;
	ARTIFACT=PATH)
		if [[ $cur == *=* ]]; then
			local art=${cur%%=*}
			cur=${cur#*=}
			compopt -o filenames 2>/dev/null
			COMPREPLY=($(compgen -f -- "$cur"))
			[[ $COMP_WORDBREAKS == *=* ]] ||
			    COMPREPLY=("${COMPREPLY[@]/#/$art=}")
		fi
		;;
	esac
}

_cfgsync()
{
	local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}
	local _cfgsync_prog=${COMP_WORDS[0]}
	local i w cmd= verb= nargs=0 opts arg line

	# The command, the bundle verb, and how many operands precede cur.
	for ((i = 1; i < COMP_CWORD; i++)); do
		w=${COMP_WORDS[i]}
		if [[ -z $cmd ]]; then
			[[ $w != -* ]] && cmd=$w
			continue
		fi
		if [[ $w == -- ]]; then
			# After "--", a command line of its own.
			if [[ $cmd == fetch || $cmd == serve-exec ]]; then
				if declare -F _command_offset >/dev/null; then
					_command_offset $((i + 1))
				else
					COMPREPLY=($(compgen -c -- "$cur"))
				fi
				return 0
			fi
			continue
		fi
		if [[ $cmd == bundle && -z $verb && $w != -* ]]; then
			verb=$w
		elif [[ $w != -* ]]; then
			((nargs++))
		fi
	done
	if [[ -z $cmd ]]; then
		if [[ $cur == -* ]]; then
			COMPREPLY=($(compgen -W "--help --version -h" -- "$cur"))
		else
			COMPREPLY=($(compgen -W "$_cfgsync_commands $(compgen -c \
			    cfgsync- 2>/dev/null | sed 's/^cfgsync-//')" -- "$cur"))
		fi
		return 0
	fi
	if [[ $cmd == help ]]; then
		((nargs == 0)) && COMPREPLY=($(compgen -W \
		    "${_cfgsync_commands/help/}" -- "$cur"))
		return 0
	fi
	if [[ $cmd == bundle && -z $verb ]]; then
		COMPREPLY=($(compgen -W "$_cfgsync_bundle_verbs" -- "$cur"))
		return 0
	fi
	opts=$(_cfgsync_options $cmd $verb)
	# The argument of the option before cur.
	line=$(printf '%s\n' "$opts" | awk -v o="$prev" '$1 == o && NF > 1')
	if [[ -n $line ]]; then
		_cfgsync_complete_arg "${line#* }"
		return 0
	fi
	if [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W "$(printf '%s\n' "$opts" |
		    awk '{ print $1 }') --" -- "$cur"))
		return 0
	fi
	case $cmd${verb:+ $verb} in
	"bundle pack")
		_cfgsync_complete_arg DIR ;;
	"bundle unpack")
		if ((nargs == 0)); then
			_cfgsync_complete_arg FILE
		else
			_cfgsync_complete_arg DIR
		fi ;;
	fetch|serve-exec)
		COMPREPLY=($(compgen -W "--" -- "$cur")) ;;
	register) ;;
	*)
		_cfgsync_complete_arg FILE ;;
	esac
	return 0
}

complete -F _cfgsync cfgsync
