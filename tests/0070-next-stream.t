#!/bin/bash
# One user queue, two streams: job A's input task has several peers; once
# one of them took A's sentinel, the next stream on the same queue (job B's,
# sent while A still runs) belongs to B: A's other peers give it back
# instead of taking it into A. Each job's output is exactly its own.
. "$(dirname "$0")/lib.sh"
plan 6
export ONYX_CLUSTER=$TESTNAME-$$
export ONYX_FN_PATH=$ONYX_ROOT/build/examples
onyx-coord -s 4000 2> "$T/coord.log" &
PIDS="$PIDS $!"
onyx-peer -v -n 5 2> "$T/peer.log" &
PIDS="$PIDS $!"
in=$(qname in)
# job ID OUT DELAY_US: in -> inc -> out with the input on the shared queue;
# inc and out get one peer each, so the input task gets three
job() {
	jq -n --arg id "$1" --arg in "$in" --arg out "$2" --argjson d "$3" '{
	  id: $id, workflow: [["in","inc"],["inc","out"]],
	  catalog: [
	   {"onyx/name":"in","onyx/type":"input","onyx/medium":"artemis",
	    "artemis/queue-name":$in,"onyx/batch-size":20,"onyx/batch-timeout":50},
	   {"onyx/name":"inc","onyx/type":"function","onyx/fn":"libonyx_examples.so:inc",
	    "onyx/params":{"delay_us":$d},"onyx/max-peers":1,
	    "onyx/batch-size":20,"onyx/batch-timeout":50},
	   {"onyx/name":"out","onyx/type":"output","onyx/medium":"artemis",
	    "artemis/queue-name":$out,"onyx/max-peers":1,
	    "onyx/batch-size":20,"onyx/batch-timeout":50}]}' | onyx-plan
}
task_status() { # JOB TASK
	onyx-watch --json | jq -r --arg j "$1" --arg t "$2" \
	    '.jobs[] | select(.job == $j) | .tasks[] | select(.name == $t) | .status'
}
A=a-$$ B=b-$$
job "$A" "$(qname out-a)" 10000 > "$T/a.plan"
job "$B" "$(qname out-b)" 0 > "$T/b.plan"
onyx-submit < "$T/a.plan" > /dev/null
for i in $(seq 1 100); do
	[ "$(onyx-watch --json | jq --arg j "$A" '[.peers[] | select(.job == $j and .task == "in")] | length')" -ge 3 ] && break
	sleep 0.1
done
is "$(onyx-watch --json | jq --arg j "$A" '[.peers[] | select(.job == $j and .task == "in")] | length')" 3 \
    "job A's input task has three peers"
nums 200 | onyx-queue send "$in" --done
for i in $(seq 1 300); do
	[ "$(task_status "$A" in)" = complete ] && break
	sleep 0.05
done
is "$(task_status "$A" in)" complete "A's input task took A's sentinel (its inc is still busy)"
# the next stream, while A runs and before B exists: A's peers must leave it
awk 'BEGIN { for (i = 1001; i <= 1200; i++) printf "{\"n\":%d}\n", i }' |
    onyx-queue send "$in" --done
onyx-submit < "$T/b.plan" > /dev/null
onyx-queue recv "$(qname out-a)" --until-done -w 30000 > "$T/out-a" || true
onyx-queue recv "$(qname out-b)" --until-done -w 30000 > "$T/out-b" || true
is "$(jq -r .n "$T/out-a" | sort -n | md5sum)" "$(seq 2 201 | md5sum)" \
    "A's output is exactly A's stream"
is "$(jq -r .n "$T/out-b" | sort -n | md5sum)" "$(seq 1002 1201 | md5sum)" \
    "B's output is exactly B's stream"
for i in $(seq 1 100); do
	[ "$(onyx-watch --json | jq -r --arg j "$B" '.jobs[] | select(.job == $j) | .status')" = completed ] && break
	sleep 0.1
done
is "$(onyx-watch --json | jq -r --arg a "$A" --arg b "$B" '[.jobs[] | select(.job == $a or .job == $b) | .status] | join(" ")')" \
    "completed completed" "both jobs completed"
is "$(messages "$in")" 0 "nothing is left on the shared input queue"
done_testing
