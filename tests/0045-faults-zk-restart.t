#!/bin/bash
# Fault injection: the ZooKeeper server restarted mid-job with its data kept; every program reconnects and the job completes.
# (tests/faults/run: a seeded nemesis and a checker of invariants; the seed
# is fixed, so a failure replays with the same schedule.)
. "$(dirname "$0")/lib.sh"
. "$ONYX_ROOT/tests/faults/tap.sh"
plan 10
faults --scenario zk-restart --seed 16 --segments 3000 --faults 2
invariants zk-restart:2 3000
done_testing
