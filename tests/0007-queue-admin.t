#!/bin/bash
# onyx-queue stat, create, delete, purge through the broker's management.
. "$(dirname "$0")/lib.sh"
plan 14
a=$(qname a)
b=$(qname b)
missing=$(qname missing)

run_rc onyx-queue create "$a"
is "$RC:$OUT" "0:{\"queue\":\"$a\",\"created\":true}" "create makes a new queue"
run_rc onyx-queue create "$a"
is "$RC:$OUT" "0:{\"queue\":\"$a\",\"created\":false}" "create of an existing queue says so and succeeds"
gen 25 | onyx-queue send "$a"
run_rc onyx-queue stat "$a"
is "$OUT" "{\"queue\":\"$a\",\"messages\":25,\"consumers\":0}" "stat counts messages and consumers (JSON when piped)"

# a consumer shows up in the count while it is attached
onyx-queue recv "$b" -w 8000 > /dev/null &
RPID=$!
PIDS="$PIDS $RPID"
for i in $(seq 1 50); do
	[ "$(onyx-queue stat "$b" 2>/dev/null | jq -r .consumers)" = 1 ] && break
	sleep 0.1
done
is "$(onyx-queue stat "$b" | jq -r .consumers)" 1 "a waiting recv is counted as a consumer"
kill -TERM $RPID
wait $RPID
is "$(onyx-queue stat "$b" | jq -r .consumers)" 0 "and is gone once it exits"

run_rc onyx-queue stat "$a" "$missing" "$b"
is "$RC" 69 "stat with a missing queue: exit 69"
is "$OUT" "{\"queue\":\"$a\",\"messages\":25,\"consumers\":0}
{\"queue\":\"$b\",\"messages\":0,\"consumers\":0}" "the other queues are still reported, in order"
is "$ERR" "onyx-queue: stat $missing: queue '$missing' does not exist" "the missing queue is named"

run_rc onyx-queue purge "$a"
is "$RC:$OUT" "0:{\"queue\":\"$a\",\"purged\":25}" "purge removes and counts the messages"
is "$(messages "$a")" 0 "the queue is empty after purge"

run_rc onyx-queue delete "$a" "$b"
is "$RC" 0 "delete of two queues"
is "$OUT" "{\"queue\":\"$a\",\"deleted\":true}
{\"queue\":\"$b\",\"deleted\":true}" "delete reports each"
run_rc onyx-queue stat "$a"
is "$RC" 69 "a deleted queue is gone"
run_rc onyx-queue delete "$a"
is "$RC:$ERR" "69:onyx-queue: delete $a: queue '$a' does not exist" "delete of a missing queue: exit 69, named"
done_testing
