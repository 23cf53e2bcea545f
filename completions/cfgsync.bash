# bash completion for cfgsync(1)
#
# Install as /usr/share/bash-completion/completions/cfgsync, or source it
# from ~/.bashrc.  It uses the bash-completion helpers where they are
# loaded and works without them.

_cfgsync_commands="bundle fetch help register serve-bundle serve-exec"
# What "cfgsync help" takes: every command but help itself.
_cfgsync_help_commands="bundle fetch register serve-bundle serve-exec"
_cfgsync_bundle_verbs="check list pack unpack"

_cfgsync_server_opts="--connection-timeout --help --listen --log-format
	--max-body --max-connections --port-file --quiet --threads --tls-cert
	--tls-key --token-file -h -q"
_cfgsync_client_opts="--cacert --help --id --ip --metadata --metadata-file
	--quiet --server --timeout --token-file -h -q"
_cfgsync_limit_opts="--max-entries --max-file-size --max-total-size"

# _cfgsync_takes_arg OPTION: true if OPTION takes an argument.
_cfgsync_takes_arg()
{
	case $1 in
	--cacert|--connection-timeout|--debounce|--format|--id|--ip|\
	--listen|--log-format|--materializer-timeout|--max-body|\
	--max-connections|--max-entries|--max-file-size|--max-output|\
	--max-payload|\
	--max-registrations|--max-total-size|--metadata|--metadata-file|\
	--out|--output|--persist|--poll-wait|--port-file|--route|--server|\
	--state|--threads|--timeout|--tls-cert|--tls-key|--token-file|-o)
		return 0
		;;
	esac
	return 1
}

# _cfgsync_files [-d]: complete file names, or directory names with -d.
_cfgsync_files()
{
	local IFS=$'\n'
	compopt -o filenames 2>/dev/null
	if [[ $1 == -d ]]; then
		COMPREPLY=($(compgen -d -- "$cur"))
	else
		COMPREPLY=($(compgen -f -- "$cur"))
	fi
}

_cfgsync_words()
{
	COMPREPLY=($(compgen -W "$1" -- "$cur"))
}

_cfgsync()
{
	local cur prev words cword
	local i w cmd= verb= nargs=0 dd=0

	if declare -F _get_comp_words_by_ref >/dev/null; then
		_get_comp_words_by_ref -n =: cur prev words cword
	else
		words=("${COMP_WORDS[@]}")
		cword=$COMP_CWORD
		cur=${COMP_WORDS[COMP_CWORD]}
		prev=${COMP_WORDS[COMP_CWORD-1]}
	fi

	# After "--", serve-exec and fetch take a command line of their own.
	for ((i = 1; i < COMP_CWORD; i++)); do
		if [[ ${COMP_WORDS[i]} == -- ]]; then
			dd=$i
			break
		fi
	done

	# Find the command, the bundle verb and the operands before cur.
	for ((i = 1; i < cword; i++)); do
		w=${words[i]}
		if [[ -z $cmd ]]; then
			if [[ $w != -* ]]; then
				cmd=$w
			fi
			continue
		fi
		[[ $w == -- ]] && break
		if _cfgsync_takes_arg "$w"; then
			((i++))
		elif [[ $w != -* ]]; then
			if [[ $cmd == bundle && -z $verb ]]; then
				verb=$w
			else
				((nargs++))
			fi
		fi
	done

	local ext
	if [[ -z $cmd || $cmd == help ]]; then
		ext=$(compgen -c cfgsync- 2>/dev/null | sed 's/^cfgsync-//')
	fi
	if [[ -z $cmd ]]; then
		if [[ $cur == -* ]]; then
			_cfgsync_words "--help --version -h"
		else
			_cfgsync_words "$_cfgsync_commands $ext"
		fi
		return 0
	fi

	if ((dd > 0)) && [[ $cmd == fetch || $cmd == serve-exec ]]; then
		if declare -F _command_offset >/dev/null; then
			_command_offset $((dd + 1))
		elif ((COMP_CWORD == dd + 1)); then
			COMPREPLY=($(compgen -c -- "$cur"))
		else
			_cfgsync_files
		fi
		return 0
	fi

	# Option arguments.
	case $prev in
	--format)
		_cfgsync_words "json tar tar.gz tar.xz tar.zst zip"
		return 0
		;;
	--log-format)
		_cfgsync_words "text json"
		return 0
		;;
	--cacert|--metadata-file|--output|--persist|--port-file|--state|\
	--tls-cert|--tls-key|--token-file|-o)
		_cfgsync_files
		return 0
		;;
	--out)
		_cfgsync_files -d
		return 0
		;;
	--route)
		# ARTIFACT=PATH: complete PATH once the "=" is typed.  When
		# "=" breaks words, readline replaces only what follows it.
		if [[ $cur == *=* ]]; then
			local art=${cur%%=*}
			cur=${cur#*=}
			_cfgsync_files
			[[ $COMP_WORDBREAKS == *=* ]] ||
			    COMPREPLY=("${COMPREPLY[@]/#/$art=}")
		fi
		return 0
		;;
	esac
	_cfgsync_takes_arg "$prev" && return 0

	case $cmd in
	help)
		((nargs == 0)) && _cfgsync_words "$_cfgsync_help_commands $ext"
		;;
	serve-bundle)
		if [[ $cur == -* ]]; then
			_cfgsync_words "$_cfgsync_server_opts $_cfgsync_limit_opts"
		else
			_cfgsync_files
		fi
		;;
	serve-exec)
		# PROGRAM must follow "--": offer it before anything else.
		if [[ $cur == -* ]]; then
			_cfgsync_words "$_cfgsync_server_opts --debounce
			    --materializer-timeout --max-output
			    --max-registrations --persist --state --"
		else
			_cfgsync_words "--"
		fi
		;;
	register)
		[[ $cur == -* ]] && _cfgsync_words "$_cfgsync_client_opts"
		;;
	fetch)
		# A command may only follow "--".
		if [[ $cur == -* ]]; then
			_cfgsync_words "$_cfgsync_client_opts --max-payload
			    --no-register --out --poll-wait --print --route --"
		else
			_cfgsync_words "--"
		fi
		;;
	bundle)
		if [[ -z $verb ]]; then
			if [[ $cur == -* ]]; then
				_cfgsync_words "--help -h"
			else
				_cfgsync_words "$_cfgsync_bundle_verbs"
			fi
			return 0
		fi
		case $verb in
		pack)
			if [[ $cur == -* ]]; then
				_cfgsync_words "--format --hash --help --output
				    $_cfgsync_limit_opts -h -o"
			else
				_cfgsync_files -d
			fi
			;;
		list)
			if [[ $cur == -* ]]; then
				_cfgsync_words "--help --json -h
				    $_cfgsync_limit_opts"
			else
				_cfgsync_files
			fi
			;;
		unpack)
			if [[ $cur == -* ]]; then
				_cfgsync_words "--help -h $_cfgsync_limit_opts"
			elif ((nargs == 0)); then
				_cfgsync_files
			else
				_cfgsync_files -d
			fi
			;;
		check)
			if [[ $cur == -* ]]; then
				_cfgsync_words "--help -h $_cfgsync_limit_opts"
			else
				_cfgsync_files
			fi
			;;
		esac
		;;
	*)
		# An extension command: offer file names.
		_cfgsync_files
		;;
	esac
	return 0
}

complete -F _cfgsync cfgsync
