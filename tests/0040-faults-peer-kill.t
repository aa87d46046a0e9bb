#!/bin/bash
# Fault injection: SIGKILL of one onyx-peer process of three at random points (mid-batch, acking, sealing), a replacement started after a delay.
# (tests/faults/run: a seeded nemesis and a checker of invariants; the seed
# is fixed, so a failure replays with the same schedule.)
. "$(dirname "$0")/lib.sh"
. "$ONYX_ROOT/tests/faults/tap.sh"
plan 12
faults --scenario peer-kill --seed 11 --segments 3000 --faults 3
invariants peer-kill:3 3000
like "$(grep -h "reason=peer-dead" "$FD"/coord.*.log | head -1)" "revoke peer=.* reason=peer-dead" "the coordinator revoked the dead peers' offers"
is "$(grep -c "peer process .* started" "$FD/driver.log")" 6 "three processes and three replacements ran"
done_testing
