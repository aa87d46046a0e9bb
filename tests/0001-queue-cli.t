#!/bin/bash
# onyx-queue: help, version, usage errors (no broker needed for any of these).
. "$(dirname "$0")/lib.sh"
plan 20

run_rc onyx-queue --help
is "$RC" 0 "--help exits 0"
like "$OUT" '^usage: onyx-queue send' "--help prints the synopsis on stdout"
run_rc onyx-queue -h
is "$RC" 0 "-h exits 0"
run_rc onyx-queue --version
is "$RC" 0 "--version exits 0"
like "$OUT" '^onyx-queue [0-9]+\.[0-9]+\.[0-9]+$' "--version prints name and version"
run_rc onyx-queue
is "$RC" 64 "no command: exit 64"
like "$ERR" '^onyx-queue: no command given' "no command: says so"
run_rc onyx-queue frobnicate q
is "$RC" 64 "unknown command: exit 64"
like "$ERR" "unknown command 'frobnicate'" "unknown command: named"
run_rc onyx-queue send ''
is "$RC" 64 "empty queue name: exit 64"
is "$(head -1 "$T/err")" "onyx-queue: the queue name is empty" "empty queue name: message"
run_rc onyx-queue recv
is "$RC" 64 "recv without a queue: exit 64"
run_rc onyx-queue recv --done q
is "$RC" 64 "--done with recv: exit 64"
is "$ERR" "onyx-queue: --done only applies to send" "--done with recv: message"
run_rc onyx-queue send --until-done q
is "$RC" 64 "--until-done with send: exit 64"
run_rc onyx-queue recv --keep-done q
is "$ERR" "onyx-queue: --keep-done needs --until-done" "--keep-done alone is refused"
run_rc onyx-queue send -b 0 q
is "$RC" 64 "batch size 0: exit 64"
is "$(head -1 "$T/err")" "onyx-queue: --batch-size: '0' is not a whole number from 1 to 2147483647" "batch size 0: message"
run_rc onyx-queue send q1 q2
is "$(head -1 "$T/err")" "onyx-queue: unexpected argument 'q2'" "send with two queues is refused"
ONYX_BROKER=http://x run_rc onyx-queue stat q
is "$RC" 78 "a bad ONYX_BROKER: exit 78"
done_testing
