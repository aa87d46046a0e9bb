#!/bin/bash
# The same flag means the same thing in each of the six programs: -V and
# --version, --help, an unknown option, a missing value, a stray argument,
# a bad number, -v (info) and -vv (debug). A table of programs; no service
# is reached (every case ends before a connection).
. "$(dirname "$0")/lib.sh"
PROGS="onyx-coord onyx-peer onyx-plan onyx-queue onyx-submit onyx-watch"
plan 94
first() { head -1 "$T/err"; }

# the arguments after which a program has one argument too many
declare -A STRAY=(
	[onyx-coord]="stray" [onyx-peer]="stray" [onyx-plan]="job.json stray"
	[onyx-queue]="send q stray" [onyx-submit]="job.json stray"
	[onyx-watch]="tree stray")
# a number flag of each program, a bad value, and the message's range
declare -A NUMBER=(
	[onyx-coord]="--session-timeout 999 1000 600000"
	[onyx-peer]="--session-timeout 999 1000 600000"
	[onyx-plan]=""
	[onyx-queue]="--count 0 1 2147483647"
	[onyx-submit]="--timeout -1 0 2147483647"
	[onyx-watch]="--count x 1 2147483647")

for p in $PROGS; do
	run_rc "$p" -V
	like "$RC:$OUT" "^0:$p [0-9]+\.[0-9]+\.[0-9]+$" "$p -V: name and version on stdout, exit 0"
	V=$OUT
	run_rc "$p" --version
	is "$RC:$OUT:$ERR" "0:$V:" "$p --version: the same as -V"
	run_rc "$p" --help
	like "$RC:$(head -1 "$T/out")" "^0:usage: $p( |$)" "$p --help: the synopsis on stdout, exit 0"
	is "$ERR" "" "$p --help: nothing on stderr"
	like "$OUT" "\[-v\]" "$p --help: lists -v"
	run_rc sh -c "$p --help > /dev/full"
	is "$RC:$ERR" "74:$p: stdout: No space left on device" "$p --help to a full device: exit 74, named"
	run_rc "$p" --no-such-option
	is "$RC:$(first)" "64:$p: unknown option '--no-such-option'" "$p: an unknown long option: exit 64, named"
	like "$(sed -n 2p "$T/err")" "^usage: $p" "$p: the usage follows on stderr"
	run_rc "$p" -Q
	is "$RC:$(first)" "64:$p: unknown option '-Q'" "$p: an unknown letter: exit 64, named"
	# shellcheck disable=SC2086
	run_rc "$p" ${STRAY[$p]}
	is "$RC:$(first)" "64:$p: unexpected argument 'stray'" "$p: a stray argument: exit 64, named"
	# shellcheck disable=SC2086
	run_rc "$p" -vv ${STRAY[$p]}
	like "$(first)" "^$p: $p [0-9.]+(;|$)" "$p -vv: debug (the settings line)"
	# shellcheck disable=SC2086
	run_rc "$p" -v ${STRAY[$p]}
	is "$(first)" "$p: unexpected argument 'stray'" "$p -v: info, not debug"
	# shellcheck disable=SC2086
	run_rc "$p" --verbose --verbose ${STRAY[$p]}
	like "$(first)" "^$p: $p [0-9.]+(;|$)" "$p --verbose twice: debug too"
	if [ -n "${NUMBER[$p]}" ]; then
		read -r flag bad min max <<< "${NUMBER[$p]}"
		run_rc "$p" "$flag" "$bad"
		is "$RC:$(first)" "64:$p: $flag: '$bad' is not a whole number from $min to $max" \
		    "$p $flag $bad: exit 64, the one message form"
		run_rc "$p" "$flag"
		is "$RC:$(first)" "64:$p: option '$flag' needs a value" "$p $flag without a value: exit 64"
	else
		ok "$p takes no number: skip"
		ok "$p takes no number: skip"
	fi
done

# the session timeout: one rule where it is taken, at both ends
for p in onyx-coord onyx-peer; do
	run_rc "$p" -s 600001
	is "$RC:$(first)" "64:$p: --session-timeout: '600001' is not a whole number from 1000 to 600000" "$p -s 600001: the same upper bound"
done
# ONYX_LOG=debug is not lowered by one -v
run_rc env ONYX_LOG=debug onyx-peer -v stray
like "$(first)" "^onyx-peer: onyx-peer [0-9.]+;" "ONYX_LOG=debug with -v stays debug"
# stdout checked at exit: a full device is an I/O error (74)
run_rc sh -c 'onyx-plan -V > /dev/full'
is "$RC:$ERR" "74:onyx-plan: stdout: No space left on device" "-V to a full device: exit 74, named"
done_testing
