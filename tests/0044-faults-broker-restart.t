#!/bin/bash
# Fault injection: the Artemis broker restarted mid-job with its journal kept; peers roll back, reconnect with backoff and resume their tasks.
# (tests/faults/run: a seeded nemesis and a checker of invariants; the seed
# is fixed, so a failure replays with the same schedule.)
. "$(dirname "$0")/lib.sh"
. "$ONYX_ROOT/tests/faults/tap.sh"
plan 11
faults --scenario broker-restart --seed 15 --segments 3000 --faults 2
invariants broker-restart:2 3000
like "$(cat "$FD"/peer.*.log)" "resumed after the broker connection came back" "peers resumed their tasks after the restart"
done_testing
