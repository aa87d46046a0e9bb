# completions/onyx-plan.bash: bash completion for onyx-plan(1).
# Installed as share/bash-completion/completions/onyx-plan; for a try in
# the current shell: . completions/onyx-plan.bash

_onyx_plan()
{
	local cur=${COMP_WORDS[COMP_CWORD]} i

	if [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W '--check -v --verbose -h --help -V --version' \
		    -- "$cur"))
		return
	fi
	# one job document at most; -h and -V take no operand
	for ((i = 1; i < COMP_CWORD; i++)); do
		case ${COMP_WORDS[i]} in
		-h | --help | -V | --version) return ;;
		--check | -v | -vv | --verbose) ;;
		*) return ;;
		esac
	done
	compopt -o filenames 2> /dev/null
	local IFS=$'\n'
	COMPREPLY=($(compgen -f -X '!*.json' -- "$cur") $(compgen -d -- "$cur"))
}
complete -F _onyx_plan onyx-plan
