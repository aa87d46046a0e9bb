#!/bin/bash
# Fault injection: SIGKILL of the coordinator leader while a standby runs; the standby takes over (a new standby starts after a delay).
# (tests/faults/run: a seeded nemesis and a checker of invariants; the seed
# is fixed, so a failure replays with the same schedule.)
. "$(dirname "$0")/lib.sh"
. "$ONYX_ROOT/tests/faults/tap.sh"
plan 11
faults --scenario coord-kill --seed 12 --segments 3000 --faults 3
invariants coord-kill:3 3000
# one leader at the start and a new one after each of the 3 kills; a
# coordinator whose session expired on a loaded machine rides it out and may
# lead once more, which is fine
N=$(cat "$FD"/coord.*.log | grep -c "onyx-coord: leader:")
[ "$N" -ge 4 ] || grep -h "leader:\|session" "$FD"/coord.*.log | sed 's/^/# /'
like "$N" '^([4-9]|[1-9][0-9])$' "a leader in turn after each kill: the first and at least one per kill"
done_testing
