#!/bin/bash
# onyx-queue send to an address the broker blocks (no credit): it gives up
# after ONYX_CREDIT_TIMEOUT_MS with 75 naming the queue, SIGTERM ends it
# within 2 s with 75, nothing of the open batch reaches the queue, and once
# the block is lifted the same send works.
. "$(dirname "$0")/lib.sh"
plan 8
Q=$(qname blocked)
now_ms() { date +%s%3N; }
# producers attached to queue Q, as the broker lists them
producers() {
	mgmt-call broker -o listProducers '["{\"field\":\"address\",\"operation\":\"EQUALS\",\"value\":\"'"$1"'\"}",1,100]' |
	    jq -r 'fromjson | .data | length'
}
wait_producer() {
	local i
	for i in $(seq 1 100); do
		[ "$(producers "$1")" -ge 1 ] 2> /dev/null && return 0
		sleep 0.1
	done
	return 1
}

onyx-queue create "$Q"
mgmt-call "address.$Q" -o block > /dev/null

# 1. no credit within the timeout: 75, the queue named, nothing sent
gen 10 > "$T/in"
START=$(now_ms)
run_rc env ONYX_CREDIT_TIMEOUT_MS=1500 onyx-queue send "$Q" < "$T/in"
T1=$(($(now_ms) - START))
like "$RC:$ERR" "^75:onyx-queue: .*no credit to send to '$Q' within 1500 ms" \
    "no credit in time: exit 75, naming the queue and the wait"
check "it gave up after the credit timeout, not much later (${T1} ms)" [ "$T1" -lt 6000 ]
is "$(messages "$Q")" 0 "nothing of the batch reached the queue"

# 2. SIGTERM while it waits for credit: out within 2 s, 75, rolled back
onyx-queue send "$Q" < "$T/in" 2> "$T/send.err" &
SEND=$!
PIDS="$PIDS $SEND"
check "the sender is attached and waits" wait_producer "$Q"
START=$(now_ms)
kill -TERM $SEND
set +e; wait $SEND; RC=$?; set -e
T2=$(($(now_ms) - START))
echo "# SIGTERM to exit: $T2 ms"
check "SIGTERM in a wait for credit: exit within 2 s (${T2} ms)" [ "$T2" -lt 2000 ]
like "$RC:$(cat "$T/send.err")" "^75:onyx-queue: .*stopped while waiting for credit to send to '$Q'.*rolled back" \
    "and 75, saying the open batch was rolled back"

# 3. the block lifted: the same input goes through, exactly
mgmt-call "address.$Q" -o unblock > /dev/null
onyx-queue send "$Q" --done < "$T/in"
onyx-queue recv "$Q" --until-done -w 10000 > "$T/got"
check "after the block is lifted the input arrives exactly once" cmp -s "$T/got" "$T/in"
is "$(messages "$Q")" 0 "and nothing else is on the queue"
onyx-queue delete "$Q"
done_testing
