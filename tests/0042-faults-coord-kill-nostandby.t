#!/bin/bash
# Fault injection: SIGKILL of the only coordinator, restarted after a delay; peers keep working meanwhile and the job completes.
# (tests/faults/run: a seeded nemesis and a checker of invariants; the seed
# is fixed, so a failure replays with the same schedule.)
. "$(dirname "$0")/lib.sh"
. "$ONYX_ROOT/tests/faults/tap.sh"
plan 11
faults --scenario coord-kill-nostandby --seed 13 --segments 3000 --faults 3
invariants coord-kill-nostandby:3 3000
is "$(cat "$FD"/coord.*.log | grep -c "onyx-coord: leader:")" 4 "each restarted coordinator became leader"
done_testing
