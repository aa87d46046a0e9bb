#!/bin/bash
# onyx-queue send killed mid-batch leaves only whole committed batches; a
# rolled-back transaction leaves the queue as it was.
. "$(dirname "$0")/lib.sh"
plan 8
q=$(qname send)

# 105 lines come in and the input stays open: 10 batches of 10 commit, the
# 11th never fills (its batch timeout is a minute away) when send is killed.
kill_sending "$q" 100 -b 10 -t 60000
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
mkfifo "$T/stall"
onyx-queue send "$q" -b 1000 -t 200 < "$T/stall" &
SPID=$!
PIDS="$PIDS $SPID"
exec 4> "$T/stall"
gen 3 >&4
for i in $(seq 1 100); do [ "$(messages "$q")" -ge 3 ] && break; sleep 0.1; done
is "$(messages "$q"):$(kill -0 $SPID && echo sending)" "3:sending" \
    "a stalled partial batch is committed after --batch-timeout, the input still open"
exec 4>&-
wait $SPID
done_testing
