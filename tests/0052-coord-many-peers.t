#!/bin/bash
# More than 1024 virtual peers registered (1100 played by tests/tools/
# fakepeers, which acknowledge their offers and do nothing, named to come
# first, plus 4 real ones after them): the coordinator sees them all, every
# one gets an offer, the real peers still run the job to its exact output,
# and no live peer's offer is revoked as if it were dead.
. "$(dirname "$0")/lib.sh"
plan 7
export ONYX_CLUSTER=$TESTNAME-$$
export ONYX_FN_PATH=$ONYX_ROOT/build/examples
R=/onyx/$ONYX_CLUSTER
NF=1100
J=wide-$$

onyx-coord -s 10000 2> "$T/coord.log" &
PIDS="$PIDS $!"
# "0virt-" sorts before the real peers' "<host>-<pid>-<i>"
fakepeers "$NF" 0virt- > "$T/fake.out" 2> "$T/fake.err" &
PIDS="$PIDS $!"
wait_lines "$T/fake.out" 1 60
onyx-peer -n 4 2> "$T/peer.log" &
PIDS="$PIDS $!"
for i in $(seq 1 100); do
	[ "$(zkput ls "$R/peers" | wc -l)" -ge $((NF + 4)) ] && break
	sleep 0.2
done
is "$(zkput ls "$R/peers" | wc -l | tr -d ' ')" "$((NF + 4))" "$((NF + 4)) peers registered"

jq --arg id "$J" '. + {id: $id} | (.catalog[] | select(."artemis/queue-name") | ."artemis/queue-name") |= "\($id)-" + .' \
    "$ONYX_ROOT/examples/inc/job.json" | onyx-plan > "$T/plan"
onyx-submit --wait --timeout 240000 < "$T/plan" > "$T/id" 2> "$T/submit.err" &
SUB=$!
nums 500 | onyx-queue send "$J-inc-in" --done
onyx-queue recv "$J-inc-out" --until-done -w 240000 > "$T/out"
set +e; wait $SUB; rc=$?; set -e
is "$rc:$(cat "$T/id")" "0:$J" "onyx-submit --wait: the job completed"
awk 'BEGIN { for (i = 1; i <= 500; i++) printf "{\"n\":%d}\n", i + 1 }' | sort > "$T/want"
sort "$T/out" > "$T/got"
check "the output is exactly n+1 for each of the 500 inputs" cmp -s "$T/got" "$T/want"
is "$(grep -c "offer peer=0virt-[0-9]* job=$J " "$T/coord.log")" "$NF" \
    "each of the $NF played peers got one offer, and kept it"
is "$(grep -c "offer peer=$(hostname)-[0-9-]* job=$J " "$T/coord.log" |
    awk '{print ($1 >= 3)}')" 1 "the real peers, past the first 1024, got offers too"
is "$(grep -c 'reason=peer-dead' "$T/coord.log")" 0 "no live peer's offer was revoked as dead"
is "$(grep -c 'fence peer=' "$T/coord.log")" 0 "and none was fenced"
[ "$_failed" = 0 ] || tail -5 "$T/coord.log" "$T/peer.log" | sed "s/^/# /"
done_testing
