#!/bin/bash
# One job of more than 256 tasks (a chain in -> f1 -> ... -> f258 -> out)
# runs to completion with its exact output: every task gets a peer in turn,
# none is dropped, and the job is completed only when all are done.
. "$(dirname "$0")/lib.sh"
plan 5
export ONYX_CLUSTER=$TESTNAME-$$
R=/onyx/$ONYX_CLUSTER
NF=258
J=chain-$$

onyx-coord -s 4000 2> "$T/coord.log" &
PIDS="$PIDS $!"
onyx-peer -n 16 2> "$T/peer.log" &
PIDS="$PIDS $!"

jq -n --arg id "$J" --argjson nf "$NF" '
  def task(n): {"onyx/name": n, "onyx/type": "function", "onyx/fn": "identity",
                "onyx/batch-size": 10, "onyx/batch-timeout": 20};
  (["in"] + [range(1; $nf + 1) | "f\(.)"] + ["out"]) as $names |
  {id: $id,
   workflow: [range(0; $names | length - 1) as $i | [$names[$i], $names[$i + 1]]],
   catalog: ([{"onyx/name": "in", "onyx/type": "input", "onyx/medium": "artemis",
               "artemis/queue-name": "\($id)-in", "onyx/batch-size": 10,
               "onyx/batch-timeout": 20}] +
             [range(1; $nf + 1) | task("f\(.)")] +
             [{"onyx/name": "out", "onyx/type": "output", "onyx/medium": "artemis",
               "artemis/queue-name": "\($id)-out", "onyx/batch-size": 10,
               "onyx/batch-timeout": 20}])}' | onyx-plan > "$T/plan"
is "$(jq '.tasks | length' "$T/plan")" "$((NF + 2))" "the plan has $((NF + 2)) tasks"

onyx-submit --wait --timeout 300000 < "$T/plan" > "$T/id" 2> "$T/submit.err" &
SUB=$!
nums 50 | onyx-queue send "$J-in" --done
onyx-queue recv "$J-out" --until-done -w 300000 > "$T/out"
set +e; wait $SUB; rc=$?; set -e
is "$rc:$(cat "$T/id")" "0:$J" "onyx-submit --wait: the job completed"
nums 50 | sort > "$T/want"
sort "$T/out" > "$T/got"
check "the output is exactly the 50 inputs, through $NF identity tasks" cmp -s "$T/got" "$T/want"
is "$(grep -c "offer peer=[^ ]* job=$J task=" "$T/coord.log" | awk -v n=$((NF + 2)) '{print ($1 >= n)}')" 1 \
    "every task got a peer (at least $((NF + 2)) offers)"
is "$(grep -o "offer peer=[^ ]* job=$J task=[^ ]*" "$T/coord.log" | sed 's/.*task=//' | sort -u | wc -l | tr -d ' ')" \
    "$((NF + 2))" "offers went to each of the $((NF + 2)) tasks"
done_testing
