# completions/onyx-peer.bash: bash completion for onyx-peer(1).
# Installed as share/bash-completion/completions/onyx-peer; for a try in
# the current shell: . completions/onyx-peer.bash

_onyx_peer()
{
	local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}

	case $prev in
	--password-file | --exec-allow | --broker-ca | --broker-cert | --broker-key | --zk-secret-file)
		compopt -o filenames 2> /dev/null
		local IFS=$'\n'
		COMPREPLY=($(compgen -f -- "$cur"))
		return
		;;
	-F | --fn-path)
		compopt -o filenames 2> /dev/null
		local IFS=$'\n'
		COMPREPLY=($(compgen -d -- "$cur"))
		return
		;;
	-n | --peers | -s | --session-timeout | -B | --broker | -c | \
	--cluster | -u | --user | -z | --zk | --zk-reader | --max-segment | --metrics)
		return	# a value of the user's
		;;
	esac
	COMPREPLY=($(compgen -W '-B --broker -c --cluster --exec-allow -F --fn-path -h --help
	    --max-segment --metrics -n --peers --password-file -s --session-timeout -u --user
	    --broker-ca --broker-cert --broker-key --insecure-plain
	    -V --version -v --verbose -z --zk --zk-secret-file --zk-reader' -- "$cur"))
}
complete -F _onyx_peer onyx-peer
