#!/bin/bash
# A peer whose egress address the broker blocks (AddressControl.block over
# management: the broker then gives the address's senders no credit): the
# peer does not hang; it logs the stall once, naming the queue and what the
# broker reports for the address, rolls the batch back and retries; SIGTERM
# ends it within 2 s; after the block is lifted and a peer restarted, the
# job completes with every segment exactly once.
. "$(dirname "$0")/lib.sh"
plan 12
export ONYX_CLUSTER=$TESTNAME-$$
export ONYX_FN_PATH=$ONYX_ROOT/build/examples
now_ms() { date +%s%3N; }
wait_for() { # SECONDS CMD...
	local n=$(($1 * 10)) i; shift
	for i in $(seq 1 $n); do "$@" > /dev/null 2>&1 && return 0; sleep 0.1; done
	return 1
}
# has_producer ADDRESS: a sender is attached to ADDRESS, as the broker lists them
has_producer() {
	mgmt-call broker -o listProducers '["{\"field\":\"address\",\"operation\":\"EQUALS\",\"value\":\"'"$1"'\"}",1,100]' |
	    jq -e 'fromjson | .data | length > 0'
}
plus1() { awk -v n="$1" 'BEGIN { for (i = 1; i <= n; i++) printf "{\"n\":%d}\n", i + 1 }'; }
N=3000

onyx-coord -s 4000 2>> "$T/coord.log" & PIDS="$PIDS $!"
jq --arg s "-$$" '(.catalog[] | select(."artemis/queue-name") | ."artemis/queue-name") |= . + $s' \
    "$ONYX_ROOT/examples/inc/job.json" | jq --arg id "blocked-$$" '. + {id: $id}' | onyx-plan > "$T/plan"
EDGE=$(jq -r '.tasks[] | select(.name == "in") | .egress[0]' "$T/plan")
onyx-submit --wait --timeout 180000 < "$T/plan" > "$T/job.id" 2> "$T/submit.err" &
SUB=$!
PIDS="$PIDS $SUB"
check "the job's edge queue $EDGE exists once submitted" wait_for 30 onyx-queue stat "$EDGE"
mgmt-call "address.$EDGE" -o block > /dev/null
nums $N | onyx-queue send "inc-in-$$" --done

# 1. the peer of task in gets no credit for the edge: one log line, no hang
ONYX_CREDIT_TIMEOUT_MS=1500 onyx-peer -v -n 3 2> "$T/peer1.log" &
PEER=$!
PIDS="$PIDS $PEER"
check "the stall is logged" wait_for 60 grep -q "no credit to send to '$EDGE'" "$T/peer1.log"
like "$(grep "no credit to send to '$EDGE'" "$T/peer1.log" | head -1)" \
    "task in of job .*the broker reports for the address: paging: (true|false), size: [0-9]+ bytes.*rolls back and is retried" \
    "the line names the queue, what the broker reports, and the retry"
# retries go on (1.5 s for credit, then a backoff) without a line each
for _ in $(seq 1 60); do kill -0 $PEER; sleep 0.1; done
is "$(grep -c "no credit to send to" "$T/peer1.log")" 1 "logged once over several retries"
is "$(messages "$EDGE")" 0 "nothing reached the blocked edge"

# 2. SIGTERM while the peer waits for credit
START=$(now_ms)
kill -TERM $PEER
set +e; wait $PEER; RC=$?; set -e
T1=$(($(now_ms) - START))
echo "# SIGTERM to exit: $T1 ms"
is "$RC" 0 "SIGTERM: the peer exits 0"
check "within 2 s (${T1} ms)" [ "$T1" -lt 2000 ]

# 3. SIGTERM while a peer is inside the wait for credit (30 s by default)
onyx-peer -v -n 3 2> "$T/peer2.log" &
PEER=$!
PIDS="$PIDS $PEER"
check "a new peer's sender to the edge is attached and waits" wait_for 60 has_producer "$EDGE"
START=$(now_ms)
kill -TERM $PEER
set +e; wait $PEER; RC=$?; set -e
T2=$(($(now_ms) - START))
echo "# SIGTERM to exit, inside the wait for credit: $T2 ms"
is "$RC" 0 "SIGTERM in the wait for credit: exit 0"
check "within 2 s (${T2} ms)" [ "$T2" -lt 2000 ]

# 4. the block lifted, a peer again: the job completes, exactly
mgmt-call "address.$EDGE" -o unblock > /dev/null
onyx-peer -n 3 2> "$T/peer3.log" & PIDS="$PIDS $!"
onyx-queue recv "inc-out-$$" --until-done -w 120000 > "$T/out"
set +e; wait $SUB; RC=$?; set -e
is "$RC" 0 "onyx-submit --wait: the job completes"
sort "$T/out" > "$T/got"
plus1 $N | sort > "$T/want"
check "every segment exactly once ($(wc -l < "$T/out") lines)" cmp -s "$T/got" "$T/want"
if [ "$_failed" != 0 ]; then
	sed 's/^/# peer1: /' "$T/peer1.log" | tail -40
	sed 's/^/# peer2: /' "$T/peer2.log" | tail -20
	sed 's/^/# peer3: /' "$T/peer3.log" | tail -20
	sed 's/^/# submit: /' "$T/submit.err"
fi
done_testing
