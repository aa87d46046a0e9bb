#!/bin/bash
# Fault injection: every kind of fault mixed in one run (pause, partition, coordinator kill, ZooKeeper and broker restarts).
# (tests/faults/run: a seeded nemesis and a checker of invariants; the seed
# is fixed, so a failure replays with the same schedule.)
. "$(dirname "$0")/lib.sh"
. "$ONYX_ROOT/tests/faults/tap.sh"
plan 10
faults --scenario mixed --seed 25 --segments 4000 --faults 5
invariants coord-kill:1,pause:1,broker-restart:1,zk-restart:1,partition:1 4000
done_testing
