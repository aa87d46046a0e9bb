# bash completion for onyx-coord
_onyx_coord()
{
	local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}
	case $prev in
	-c|--cluster|-o|--offer-timeout|-s|--session-timeout|-z|--zk)
		return ;;
	esac
	COMPREPLY=($(compgen -W '-c --cluster -o --offer-timeout -s
	    --session-timeout -v --verbose -z --zk -h --help -V --version' -- "$cur"))
}
complete -F _onyx_coord onyx-coord
