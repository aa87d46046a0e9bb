# completions/onyx-queue.bash: bash completion for onyx-queue(1).
# Installed as share/bash-completion/completions/onyx-queue; for a try in
# the current shell: . completions/onyx-queue.bash

_onyx_queue()
{
	local cur prev words cword
	if declare -F _init_completion >/dev/null 2>&1; then
		_init_completion -n = || return
	else
		words=("${COMP_WORDS[@]}")
		cword=$COMP_CWORD
		cur=${COMP_WORDS[COMP_CWORD]}
		prev=${COMP_WORDS[COMP_CWORD-1]}
	fi

	local commands="send recv tap stat create delete purge"
	local common="-v --verbose -B --broker -u --user --password-file
	    --broker-ca --broker-cert --broker-key --insecure-plain
	    --max-segment -h --help -V --version"

	# The command is the first word that is neither an option nor an
	# option's value; note whether --until-done was given already.
	local cmd="" until_done="" i w
	for ((i = 1; i < cword; i++)); do
		w=${words[i]}
		case $w in
		--until-done) until_done=1 ;;
		--) ;;
		-b | --batch-size | -t | --batch-timeout | -n | --count | -w | \
		--timeout | -B | --broker | -u | --user | --password-file | \
		--broker-ca | --broker-cert | --broker-key | \
		--max-segment)
			((i++))	# the option's value is the next word
			;;
		-*) ;;
		*)
			if [[ -z $cmd ]]; then
				cmd=$w
			fi
			;;
		esac
	done

	# Without bash-completion, "--password-file=FILE" splits at the "=".
	if [[ $prev == = && ${words[cword-2]} == --password-file ]]; then
		prev=--password-file
	fi
	case $prev in
	--password-file | --broker-ca | --broker-cert | --broker-key)
		_onyx_queue_files
		return
		;;
	-b | --batch-size | -t | --batch-timeout | -n | --count | -w | --timeout | \
	-B | --broker | -u | --user | --max-segment)
		# a number, a size, a URL or a user name: nothing to offer
		COMPREPLY=()
		return
		;;
	esac

	case $cur in
	--password-file=*)
		cur=${cur#--password-file=}
		_onyx_queue_files
		return
		;;
	-*)
		local opts=$common
		case $cmd in
		send) opts+=" -b --batch-size -t --batch-timeout --done --packed" ;;
		recv)
			opts+=" -b --batch-size -t --batch-timeout -n --count -w"
			opts+=" --timeout --until-done"
			if [[ -n $until_done ]]; then
				opts+=" --keep-done"
			fi
			;;
		tap) opts+=" -n --count -w --timeout" ;;
		stat) opts+=" --json" ;;
		create | delete | purge | "") ;;
		esac
		COMPREPLY=($(compgen -W "$opts" -- "$cur"))
		return
		;;
	esac

	if [[ -z $cmd ]]; then
		COMPREPLY=($(compgen -W "$commands" -- "$cur"))
		return
	fi
	# queue names (and tap's job and tasks): the broker and ZooKeeper have
	# them, there is nothing to list locally
	COMPREPLY=()
}

_onyx_queue_files()
{
	if declare -F _filedir >/dev/null 2>&1; then
		_filedir
	else
		local IFS=$'\n'
		COMPREPLY=($(compgen -f -- "$cur"))
		compopt -o filenames 2>/dev/null
	fi
}

complete -F _onyx_queue onyx-queue
