#!/bin/bash
# A fan-out of 70 (past the 64 queues a task once had room for) and a
# program whose argv has 100 elements: in -> f -> o0 ... o69, f running
# `sh -c 'cat' sh a1 ... a98` (its extra arguments unused). Every output
# gets every segment, exactly once.
. "$(dirname "$0")/lib.sh"
plan 3
export ONYX_CLUSTER=$TESTNAME-$$
N=70
IN=$(qname in)
ARGV=$(jq -nc '["sh", "-c", "exec cat", "sh"] + [range(1; 97) | "a\(.)"]')
jq -n --arg in "$IN" --arg p "$(qname o)" --arg id "fan-$$" --argjson n "$N" --argjson argv "$ARGV" '{
    id: $id,
    workflow: ([["in", "f"]] + [range($n) | ["f", "o\(.)"]]),
    catalog: ([
      {"onyx/name": "in", "onyx/type": "input", "onyx/medium": "artemis",
       "artemis/queue-name": $in, "onyx/batch-size": 50},
      {"onyx/name": "f", "onyx/type": "function", "onyx/batch-size": 50,
       "onyx/exec": $argv}] +
      [range($n) | {"onyx/name": "o\(.)", "onyx/type": "output",
       "onyx/medium": "artemis", "artemis/queue-name": "\($p)\(.)",
       "onyx/batch-size": 50}])}' | onyx-plan > "$T/plan"
is "$(jq -r '.tasks[] | select(.name == "f") | "\(.egress | length), \(.catalog."onyx/exec" | length)"' "$T/plan")" \
    "70, 100" "onyx-plan takes a fan-out of 70 and an argv of 100"

onyx-coord -s 4000 2>> "$T/coord.log" & PIDS="$PIDS $!"
onyx-peer -n $((N + 2)) 2>> "$T/peer.log" & PIDS="$PIDS $!"
onyx-submit --wait --timeout 240000 < "$T/plan" > /dev/null 2> "$T/submit.err" & SUB=$!
nums 20 | onyx-queue send "$IN" --done
set +e; wait "$SUB"; RC=$?; set -e
[ "$RC" = 0 ] || sed 's/^/# /' "$T/submit.err" "$T/peer.log" | tail -20
is "$RC" 0 "the job completes"
bad=0
for i in $(seq 0 $((N - 1))); do
	onyx-queue recv "$(qname o)$i" --until-done -w 20000 > "$T/o$i" || bad=$((bad + 1))
	cmp -s <(sort "$T/o$i") <(nums 20 | sort) || bad=$((bad + 1))
done
is "$bad" 0 "each of the 70 outputs holds the 20 segments, exactly once"
done_testing
