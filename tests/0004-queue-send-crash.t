#!/bin/bash
# onyx-queue send killed mid-batch leaves only whole committed batches; a
# rolled-back transaction leaves the queue as it was.
. "$(dirname "$0")/lib.sh"
plan 8
q=$(qname send)

# Lines trickle in: 10 a batch commit, the 11th batch never completes.
(gen 105; exec sleep 60) | onyx-queue send "$q" -b 10 -t 60000 &
SPID=$!
PIDS="$PIDS $SPID"
for i in $(seq 1 100); do
	[ "$(messages "$q")" -ge 100 ] && break
	sleep 0.1
done
sleep 0.5
kill -9 $SPID
wait $SPID 2>/dev/null || true
is "$(messages "$q")" 100 "after SIGKILL only the 10 committed batches are queued"
onyx-queue recv "$q" -n 100 -w 5000 > "$T/got"
gen 100 > "$T/want"
check "and they are the first 100 lines, in order" cmp -s "$T/got" "$T/want"

# Rollback by discharge(fail): sends vanish, accepted messages come back.
gen 20 > "$T/in"
onyx-queue send "$q" < "$T/in"
run_rc txn-rollback "$q" 7 5
is "$RC" 0 "a transaction with 7 sends and 5 accepts is rolled back"
like "$OUT" 'rolled back: yes' "the broker says it rolled back"
is "$(messages "$q")" 20 "the queue holds what it held before"
onyx-queue recv "$q" -n 20 -w 5000 > "$T/after"
check "the same 20 segments, in the same order" cmp -s "$T/in" "$T/after"
is "$(messages "$q")" 0 "and nothing else"

# --batch-timeout commits a partial batch when input stalls.
(gen 3; sleep 3) | onyx-queue send "$q" -b 1000 -t 200 &
SPID=$!
PIDS="$PIDS $SPID"
sleep 1.5
is "$(messages "$q")" 3 "a stalled partial batch is committed after --batch-timeout"
wait $SPID
done_testing
