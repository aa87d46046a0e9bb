#!/bin/bash
# Fault injection: network partitions. Each peer process runs in its own network namespace (ip netns, veth pairs); the nemesis cuts one off from ZooKeeper, from the broker, or from both, for longer than the session timeout, then heals the link.
# (tests/faults/run: a seeded nemesis and a checker of invariants; the seed
# is fixed, so a failure replays with the same schedule.)
. "$(dirname "$0")/lib.sh"
. "$ONYX_ROOT/tests/faults/tap.sh"
plan 12
faults --scenario partition --seed 7 --segments 3000 --faults 3
invariants partition:3 3000
like "$(grep -h "nemesis: partition:" "$FD/driver.log" | sed "s/.*cut off from //; s/ for .*//" | sort -u | tr "\n" ,)" "ZooKeeper,.*the broker" "peers were cut off from ZooKeeper and from the broker"
like "$(cat "$FD"/peer.*.log)" "registered again as incarnation 1" "the peer cut off from ZooKeeper registered again once healed"
done_testing
