#!/bin/bash
# An ingress queue whose messages the broker holds back (here: the queue
# paused through management; Artemis 2.40.0 does the same after a paged
# commit fails, see onyx(7), Broker flow control): an idle peer says so
# once, naming the queue and its count, after 30 s; once the broker
# delivers again the job completes, exactly.
. "$(dirname "$0")/lib.sh"
plan 4
export ONYX_CLUSTER=$TESTNAME-$$
export ONYX_FN_PATH=$ONYX_ROOT/build/examples
wait_for() { # SECONDS CMD...
	local n=$(($1 * 10)) i; shift
	for i in $(seq 1 $n); do "$@" > /dev/null 2>&1 && return 0; sleep 0.1; done
	return 1
}
plus1() { awk -v n="$1" 'BEGIN { for (i = 1; i <= n; i++) printf "{\"n\":%d}\n", i + 1 }'; }
N=200
IN=inc-in-$$

onyx-coord -s 4000 2>> "$T/coord.log" & PIDS="$PIDS $!"
jq --arg s "-$$" --arg id "undelivered-$$" '(.catalog[] | select(."artemis/queue-name") | ."artemis/queue-name") |= . + $s | . + {id: $id}' \
    "$ONYX_ROOT/examples/inc/job.json" | onyx-plan > "$T/plan"
onyx-queue create "$IN"
mgmt-call "queue.$IN" -o pause > /dev/null
nums $N | onyx-queue send "$IN" --done
onyx-submit --wait --timeout 180000 < "$T/plan" > /dev/null 2> "$T/submit.err" &
SUB=$!
PIDS="$PIDS $SUB"
onyx-peer -n 3 2> "$T/peer.log" & PIDS="$PIDS $!"
check "the held-back queue is reported" wait_for 90 grep -q "queue '$IN' holds" "$T/peer.log"
like "$(grep "queue '$IN' holds" "$T/peer.log")" \
    "task in: queue '$IN' holds $((N + 1)) messages, none delivered to its [0-9]+ consumers? for 30 s: the broker does not deliver them" \
    "once, with the count and the consumers"
mgmt-call "queue.$IN" -o resume > /dev/null
onyx-queue recv "inc-out-$$" --until-done -w 120000 | sort > "$T/got"
set +e; wait $SUB; RC=$?; set -e
is "$RC" 0 "delivered again, the job completes"
plus1 $N | sort > "$T/want"
check "every segment exactly once" cmp -s "$T/got" "$T/want"
if [ "$_failed" != 0 ]; then sed 's/^/# peer: /' "$T/peer.log" | tail -20; fi
done_testing
