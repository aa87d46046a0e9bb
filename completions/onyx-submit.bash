# completions/onyx-submit.bash: bash completion for onyx-submit(1).
# Installed as share/bash-completion/completions/onyx-submit; for a try in
# the current shell: . completions/onyx-submit.bash

_onyx_submit()
{
	local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}

	case $prev in
	--password-file | --broker-ca | --broker-cert | --broker-key | --zk-secret-file)
		compopt -o filenames 2> /dev/null
		local IFS=$'\n'
		COMPREPLY=($(compgen -f -- "$cur"))
		return
		;;
	--kill | --job | --timeout | -B | --broker | -u | --user | -z | --zk | --zk-reader | \
	-c | --cluster)
		# a job id, a number, a URL, a name: nothing to list locally
		COMPREPLY=()
		return
		;;
	esac
	if [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W '-w --wait --job --timeout --kill --list
		    -v --verbose -B --broker -u --user --password-file -z --zk
		    --broker-ca --broker-cert --broker-key --insecure-plain --zk-secret-file --zk-reader
		    -c --cluster -h --help -V --version' -- "$cur"))
		return
	fi
	compopt -o filenames 2> /dev/null
	local IFS=$'\n'
	COMPREPLY=($(compgen -f -X '!*.json' -- "$cur") $(compgen -d -- "$cur"))
}
complete -F _onyx_submit onyx-submit
