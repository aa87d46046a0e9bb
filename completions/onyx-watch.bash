# completions/onyx-watch.bash: bash completion for onyx-watch(1).
# Installed as share/bash-completion/completions/onyx-watch; for a try in
# the current shell: . completions/onyx-watch.bash

_onyx_watch()
{
	local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]} i

	case $prev in
	--password-file | --zk-secret-file)
		compopt -o filenames 2> /dev/null
		local IFS=$'\n'
		COMPREPLY=($(compgen -f -- "$cur"))
		return
		;;
	-n | --count | --timeout | -z | --zk | --zk-reader | -c | --cluster | -B | --broker | \
	-u | --user)
		COMPREPLY=()
		return
		;;
	--zk-secret-file)
		compopt -o filenames 2> /dev/null
		local IFS=$'\n'
		COMPREPLY=($(compgen -f -- "$cur"))
		return
		;;
	esac
	if [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W '--json -f --follow -n --count --timeout
		    -B --broker -u --user --password-file
		    -z --zk --zk-secret-file --zk-reader -c --cluster -v --verbose -h --help -V --version' -- "$cur"))
		return
	fi
	for ((i = 1; i < COMP_CWORD; i++)); do
		[[ ${COMP_WORDS[i]} == tree ]] && return
	done
	COMPREPLY=($(compgen -W 'tree' -- "$cur"))
}
complete -F _onyx_watch onyx-watch
