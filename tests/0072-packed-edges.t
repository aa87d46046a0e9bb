#!/bin/bash
# Packed frames on internal edges: an edge carries many segments per
# message; a peer SIGKILLed while it holds frames in its open batch (on an
# ungrouped and on a grouped edge) loses nothing and doubles nothing; a dead
# letter inside a frame goes alone to the DLQ while its neighbours arrive
# once; a plain AMQP client reads what an output task writes, and an output
# task told "onyx/packed" writes frames that onyx-queue recv unpacks.
. "$(dirname "$0")/lib.sh"
plan 16
export ONYX_CLUSTER=$TESTNAME-$$
PY=/usr/bin/python3

onyx-coord -s 4000 2>> "$T/coord.log" & PIDS="$PIDS $!"
npeer=0
start_peer() { npeer=$((npeer + 1)); onyx-peer -n 1 -s 4000 2>> "$T/peer$npeer.log" & PIDS="$PIDS $!"; }
for _ in 1 2 3; do start_peer; done

# doc NAME MID [OUT]: in -> mid -> out, batches of 1000, mid's and out's
# catalog entries merged from MID and OUT
doc() {
	jq -n --arg s "-$1-$$" --argjson m "$2" --argjson o "${3:-{\}}" '{
	    workflow: [["in", "mid"], ["mid", "out"]],
	    catalog: [
	      {"onyx/name": "in", "onyx/type": "input", "onyx/medium": "artemis",
	       "artemis/queue-name": ("p-in" + $s), "onyx/batch-size": 1000, "onyx/max-peers": 1},
	      ({"onyx/name": "mid", "onyx/type": "function", "onyx/batch-size": 1000,
	        "onyx/max-peers": 1} + $m),
	      ({"onyx/name": "out", "onyx/type": "output", "onyx/medium": "artemis",
	       "artemis/queue-name": ("p-out" + $s), "onyx/batch-size": 1000, "onyx/max-peers": 1} + $o)]}' |
	    jq --arg id "$1-$$" '. + {id: $id}' | onyx-plan
}
mid_pid() { onyx-watch --json | jq -r --arg j "$1" '.peers[] | select(.job == $j and .task == "mid") | .pid'; }
# delivering QUEUE: messages the broker has handed to a consumer, unsettled
delivering() { mgmt-call "queue.$1" -a deliveringCount; }
wait_for() { # SECONDS CMD...
	local i; local n=$(($1 * 10)); shift
	for i in $(seq 1 $n); do "$@" > /dev/null 2>&1 && return 0; sleep 0.1; done
	return 1
}
# gated: a program that answers nothing until the file $1 exists, then
# passes each segment on (jq .)
gated() { argv sh -c "while [ ! -f '$1' ]; do sleep 0.05; done; exec jq --unbuffered -c ." ; }

# kill_mid NAME MID INPUT: run the job over INPUT with mid gated; once mid's
# peer holds the frames of both input batches, SIGKILL it, start a new peer,
# open the gate; the output goes to $T/NAME.out
kill_mid() {
	local name=$1 j=$1-$$ edge victim
	doc "$name" "$2" > "$T/$name.plan"
	onyx-queue send -b 1000 "p-in-$name-$$" --done < "$3"
	onyx-submit --wait --timeout 120000 < "$T/$name.plan" > /dev/null 2> "$T/$name.err" &
	SUB=$!
	edge=$(jq -r '.tasks[] | select(.name == "mid") | .ingress[0]' "$T/$name.plan")
	# the input task's two batches and the sentinel, in few messages
	wait_for 60 sh -c "[ \"\$(onyx-queue stat --json '$edge' | jq .messages)\" -ge 2 ] &&
	    [ \"\$(mgmt-call 'queue.$edge' -a deliveringCount)\" -ge 2 ]"
	EDGE_MSGS=$(messages "$edge")
	victim=$(mid_pid "$j")
	kill -9 "$victim"
	start_peer
	touch "$T/gate-$name"
	onyx-queue recv "p-out-$name-$$" --until-done -w 120000 > "$T/$name.out"
	set +e; wait $SUB; RC=$?; set -e
}

# 1-4. ungrouped edge, mid's peer killed holding two frames
nums 2000 > "$T/nums"
kill_mid plain "{\"onyx/exec\": $(gated "$T/gate-plain")}" "$T/nums"
like "$EDGE_MSGS" '^[2-4]$' "2,000 segments cross the edge in at most 4 messages (frames, then the sentinel): $EDGE_MSGS"
is "$RC" 0 "the job completes after the peer holding the frames was killed"
is "$(wc -l < "$T/plain.out")" 2000 "2,000 segments out"
is "$(sort "$T/plain.out" | cmp - <(sort "$T/nums") && echo same)" same "each exactly once"

# 5-7. grouped edge (buckets): the same
awk 'BEGIN { for (i = 1; i <= 2000; i++) printf "{\"k\":\"key%d\",\"n\":%d}\n", i % 40, i }' > "$T/keyed"
kill_mid grouped "{\"onyx/exec\": $(gated "$T/gate-grouped"), \"onyx/group-by-key\": \"k\"}" "$T/keyed"
like "$EDGE_MSGS" '^[0-9]{1,2}$|^1[0-9][0-9]$' "the grouped edge packs by bucket: $EDGE_MSGS messages for 2,000 segments"
is "$RC" 0 "grouped: the job completes after the kill"
is "$(sort "$T/grouped.out" | cmp - <(sort "$T/keyed") && echo same)" same "grouped: each segment exactly once"

# 8-11. a dead letter inside a frame: it alone goes to the DLQ
doc dlq "{\"onyx/exec\": $(argv jq --unbuffered -c 'if .n == 777 then {"onyx/error": "seven"} else . end'), \"onyx/max-retries\": 0}" > "$T/dlq.plan"
DLQ=onyx.dlq.dlq-$$.mid
onyx-queue send -b 1000 "p-in-dlq-$$" --done < "$T/nums"
run_rc onyx-submit --wait --timeout 120000 < "$T/dlq.plan"
is "$RC" 0 "the job with a dead letter completes"
onyx-queue recv "p-out-dlq-$$" --until-done -w 60000 > "$T/dlq.out"
is "$(wc -l < "$T/dlq.out") $(grep -c '"n":777}' "$T/dlq.out" || true)" "1999 0" "its 1,999 neighbours arrive, it does not"
is "$(sort "$T/dlq.out" | uniq -d | wc -l)" 0 "no neighbour twice"
onyx-queue recv -n 1 -w 10000 "$DLQ" > "$T/dead"
is "$(jq -c '[.segment, .error]' "$T/dead")" '[{"n":777},"seven"]' "the DLQ holds the bad segment alone"

# 12-13. a plain AMQP client reads an output task's queue: one JSON segment
# per message, then the sentinel
cat > "$T/read.py" <<'PY'
import json, os, sys
from proton.utils import BlockingConnection
url = os.environ["ONYX_SANDBOX_BROKER_PLAIN"].replace("amqp://", "")
conn = BlockingConnection(url, user=os.environ["ONYX_BROKER_USER"],
    password=os.environ["ONYX_BROKER_PASSWORD"], allowed_mechs="PLAIN")
r = conn.create_receiver(sys.argv[1])
types = set()
while True:
    m = r.receive(timeout=30)
    r.accept()
    if (m.properties or {}).get("onyx_sentinel"):
        break
    types.add(m.content_type)
    print(json.dumps(json.loads(m.body), separators=(",", ":")))
print(",".join(sorted(types)), file=sys.stderr)
conn.close()
PY
doc interop '{"onyx/fn": "identity"}' > "$T/interop.plan"
onyx-queue send -b 1000 "p-in-interop-$$" --done < "$T/nums"
onyx-submit --wait --timeout 120000 < "$T/interop.plan" > /dev/null
$PY "$T/read.py" "p-out-interop-$$" > "$T/interop.out" 2> "$T/interop.types"
is "$(sort "$T/interop.out" | cmp - <(sort "$T/nums") && echo same)" same "a plain client reads the 2,000 segments"
is "$(cat "$T/interop.types")" "application/json" "each a JSON message"

# 14-16. onyx/packed: the output task writes frames, recv unpacks them
doc packout '{"onyx/fn": "identity"}' '{"onyx/packed": true}' > "$T/packout.plan"
onyx-queue send -b 1000 --packed "p-in-packout-$$" --done < "$T/nums"
onyx-submit --wait --timeout 120000 < "$T/packout.plan" > /dev/null
like "$(messages "p-out-packout-$$")" '^[2-4]$' "the packed output queue holds few messages for 2,000 segments"
onyx-queue recv "p-out-packout-$$" --until-done > "$T/packout.out"
is "$(sort "$T/packout.out" | cmp - <(sort "$T/nums") && echo same)" same "recv unpacks them all"
is "$(messages "p-out-packout-$$")" 0 "and takes every frame"

if [ "$_failed" != 0 ]; then
	for f in "$T"/*.err "$T"/peer*.log; do sed "s|^|# $(basename "$f"): |" "$f" | tail -15; done
fi
done_testing
