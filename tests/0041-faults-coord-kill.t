#!/bin/bash
# Fault injection: SIGKILL of the coordinator leader while a standby runs; the standby takes over (a new standby starts after a delay).
# (tests/faults/run: a seeded nemesis and a checker of invariants; the seed
# is fixed, so a failure replays with the same schedule.)
. "$(dirname "$0")/lib.sh"
. "$ONYX_ROOT/tests/faults/tap.sh"
plan 11
faults --scenario coord-kill --seed 12 --segments 3000 --faults 3
invariants coord-kill:3 3000
is "$(cat "$FD"/coord.*.log | grep -c "onyx-coord: leader:")" 4 "four leaders in turn: the first and one after each kill"
done_testing
