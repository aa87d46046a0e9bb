#!/bin/bash
# A streaming job (no sentinel): segments sent at intervals each come out,
# and killing the job stops its peers cleanly, taking nothing more.
. "$(dirname "$0")/lib.sh"
plan 9
export ONYX_CLUSTER=$TESTNAME-$$
export ONYX_FN_PATH=$ONYX_ROOT/build/examples
onyx-coord -s 4000 2> "$T/coord.log" &
PIDS="$PIDS $!"
onyx-peer -v -n 3 2> "$T/peer.log" &
PIDS="$PIDS $!"
in=s-in-$$
out=s-out-$$
jq --arg id "stream-$$" --arg in "$in" --arg out "$out" '. + {id: $id}
    | (.catalog[] | ."onyx/batch-timeout") = 20
    | (.catalog[] | select(."onyx/name" == "in") | ."artemis/queue-name") = $in
    | (.catalog[] | select(."onyx/name" == "out") | ."artemis/queue-name") = $out' \
    "$ONYX_ROOT/examples/inc/job.json" | onyx-plan > "$T/plan"
J=$(onyx-submit < "$T/plan")
is "$J" "stream-$$" "the streaming job is submitted"
got=
for i in 1 2 3 4 5; do
	echo "{\"n\":$i}" | onyx-queue send "$in"
	got="$got$(onyx-queue recv "$out" -n 1 -w 20000) "
	sleep 0.3
done
is "$got" '{"n":2} {"n":3} {"n":4} {"n":5} {"n":6} ' \
    "five segments sent at intervals each cross the three tasks, in turn"
is "$(onyx-watch --json | jq -r --arg j "$J" '.jobs[] | select(.job == $j) | .status')" running \
    "the job is still running: no sentinel, no end"
run_rc onyx-submit --kill "$J"
is "$RC" 0 "the streaming job is killed"
for i in $(seq 1 50); do
	[ "$(onyx-watch --json | jq '[.peers[] | select(.state != "idle")] | length')" = 0 ] && break
	sleep 0.2
done
is "$(onyx-watch --json | jq '[.peers[] | select(.state != "idle")] | length')" 0 \
    "its peers stop and go back to idle"
# the offers are gone at once; each peer stops between two batches
for i in $(seq 1 100); do
	[ "$(grep -c "of job $J: stopped" "$T/peer.log")" -ge 3 ] && break
	sleep 0.1
done
is "$(grep -c "of job $J: stopped" "$T/peer.log")" 3 "the peer of each task stopped its work"
check "they stopped cleanly, without errors" sh -c "! grep -q 'failed' '$T/peer.log'"
echo '{"n":100}' | onyx-queue send "$in"
sleep 2
is "$(messages "$in")" 1 "after the kill nothing takes from the input queue"
is "$(messages "$out")" 0 "and nothing more reaches the output"
done_testing
