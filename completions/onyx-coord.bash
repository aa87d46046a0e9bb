# bash completion for onyx-coord
_onyx_coord()
{
	local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}
	case $prev in
	-B|--broker|-c|--cluster|-H|--history|-o|--offer-timeout|-s|--session-timeout|-u|--user|-z|--zk|--zk-reader|--metrics)
		return ;;
	--password-file|--broker-ca|--broker-cert|--broker-key|--zk-secret-file)
		COMPREPLY=($(compgen -f -- "$cur"))
		return ;;
	esac
	COMPREPLY=($(compgen -W '-B --broker -c --cluster -H --history -o --offer-timeout -s
	    --session-timeout -u --user --metrics --password-file -v --verbose -z --zk
	    --broker-ca --broker-cert --broker-key --insecure-plain --zk-secret-file --zk-reader
	    -h --help -V --version' -- "$cur"))
}
complete -F _onyx_coord onyx-coord
