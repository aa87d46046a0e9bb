#!/bin/bash
# Dead letters: a segment a function keeps failing on (a program that
# crashes, a program answering {"onyx/error": ...}, a C function returning
# -1) is tried onyx/max-retries more times, then goes alone to the task's
# dead-letter queue with the reason while the rest of the job goes on; a
# message that is not a JSON object goes there at once.
. "$(dirname "$0")/lib.sh"
plan 19
export ONYX_CLUSTER=$TESTNAME-$$
export ONYX_FN_PATH=$ONYX_ROOT/build/examples
PY=/usr/bin/python3

onyx-coord -s 4000 2>> "$T/coord.log" & PIDS="$PIDS $!"
onyx-peer -n 4 2>> "$T/peer.log" & PIDS="$PIDS $!"

# doc NAME F [RETRIES]: in -> f -> out, f's catalog entry merged from the
# JSON object F; queues x-in-NAME-$$ and x-out-NAME-$$
doc() {
	jq -n --arg s "-$1-$$" --argjson f "$2" '{
	    workflow: [["in", "f"], ["f", "out"]],
	    catalog: [
	      {"onyx/name": "in", "onyx/type": "input", "onyx/medium": "artemis",
	       "artemis/queue-name": ("x-in" + $s), "onyx/batch-size": 500},
	      ({"onyx/name": "f", "onyx/type": "function", "onyx/batch-size": 500} + $f),
	      {"onyx/name": "out", "onyx/type": "output", "onyx/medium": "artemis",
	       "artemis/queue-name": ("x-out" + $s), "onyx/batch-size": 500}]}' |
	    jq --arg id "$1-$$" '. + {id: $id}' | onyx-plan
}
# submit NAME F: plan and submit (waiting in the background, SUB); JOB set
submit() {
	doc "$1" "$2" > "$T/$1.plan"
	JOB=$(jq -r .job "$T/$1.plan")
	onyx-submit --wait --timeout 180000 < "$T/$1.plan" > /dev/null 2> "$T/$1.err" &
	SUB=$!
}
# finish NAME: drain the output (sorted, $T/NAME.out) and the job's status (RC)
finish() {
	onyx-queue recv "x-out-$1-$$" --until-done -w 120000 | sort > "$T/$1.out"
	set +e; wait "$SUB"; RC=$?; set -e
	[ "$RC" = 0 ] || sed 's/^/# /' "$T/$1.err" "$T/peer.log" | tail -20
}
# dead QUEUE: the dead letters of QUEUE, sorted
dead() { onyx-queue recv "$1" -n "$(messages "$1")" -w 5000 | sort; }

# 1-5. a program that crashes on every 1000th segment
CRASH='import sys, json
for l in sys.stdin:
    d = json.loads(l)
    if d["n"] % 1000 == 0:
        sys.exit(3)
    d["n"] += 1
    print(json.dumps(d, separators=(",", ":")), flush=True)'
submit crash "{\"onyx/exec\": $(argv python3 -u -c "$CRASH")}"
nums 10000 | onyx-queue send "x-in-crash-$$" --done
finish crash
is "$RC" 0 "a program crashing on every 1000th segment: the job completes"
nums 10000 | jq -c 'select(.n % 1000 != 0) | .n += 1' | sort > "$T/want"
check "every other segment's result is in the output, once" cmp -s "$T/crash.out" "$T/want"
dead "onyx.dlq.$JOB.f" > "$T/crash.dead"
is "$(wc -l < "$T/crash.dead")" 10 "the 10 crashing segments are in the dead-letter queue"
is "$(jq -c 'del(.segment)' "$T/crash.dead" | sort -u)" \
    '{"error":"the program exited with status 3","task":"f","attempts":4}' \
    "each dead letter says why, where and after how many attempts (1 + onyx/max-retries 3)"
is "$(jq -r .segment.n "$T/crash.dead" | sort -n | tr '\n' ' ')" \
    "1000 2000 3000 4000 5000 6000 7000 8000 9000 10000 " "the dead letters hold the segments as they came"

# 6-8. {"onyx/error": ...} answers, onyx/max-retries 1
ERRF='if .n % 100 == 0 then {"onyx/error": "n=\(.n) is round"} else . end'
submit err "{\"onyx/exec\": $(argv jq --unbuffered -c "$ERRF"), \"onyx/max-retries\": 1}"
nums 1000 | onyx-queue send "x-in-err-$$" --done
finish err
is "$RC" 0 "a program answering onyx/error: the job completes"
nums 1000 | jq -c 'select(.n % 100 != 0)' | sort > "$T/want"
check "the other 990 results are in the output, once" cmp -s "$T/err.out" "$T/want"
is "$(dead "onyx.dlq.$JOB.f" | jq -c . | grep -c '"error":"n=[0-9]*00 is round","task":"f","attempts":2,"segment":{"n":[0-9]*00}')" 10 \
    "10 dead letters carry the program's error text and 2 attempts"

# 9-11. a C function returning -1 (inc: no integer "n"), onyx/max-retries 0
submit cfn '{"onyx/fn": "libonyx_examples.so:inc", "onyx/max-retries": 0}'
{ nums 500; echo '{"m":1}'; nums 500 | sed 's/"n"/"x"/'; } | onyx-queue send "x-in-cfn-$$" --done
finish cfn
is "$RC" 0 "a C function failing on some segments: the job completes"
nums 500 | jq -c '.n += 1' | sort > "$T/want"
check "the results of the good segments are in the output" cmp -s "$T/cfn.out" "$T/want"
is "$(dead "onyx.dlq.$JOB.f" | jq -c 'del(.segment)' | sort | uniq -c | awk '{ $1 = $1; print }')" \
    '501 {"error":"\"n\" is not an integer","task":"f","attempts":1}' \
    "501 dead letters from the C function's message, one attempt each"

# 12-17. messages that are not segments, injected into the input queue
submit raw '{"onyx/fn": "identity"}'
cat > "$T/inject.py" <<'PY'
import os, sys
from proton import Message
from proton.utils import BlockingConnection
url = os.environ["ONYX_SANDBOX_BROKER_PLAIN"].replace("amqp://", "")
conn = BlockingConnection(url, user=os.environ["ONYX_BROKER_USER"],
    password=os.environ["ONYX_BROKER_PASSWORD"], allowed_mechs="PLAIN")
s = conn.create_sender(sys.argv[1])
for body in ['not json', '[1,2]', '42', b'\xff\xfe', {"a": 1}, '{"ok":true}']:
    s.send(Message(body=body, durable=True))
conn.close()
PY
for i in $(seq 1 50); do onyx-queue stat "x-in-raw-$$" > /dev/null 2>&1 && break; sleep 0.1; done
$PY "$T/inject.py" "x-in-raw-$$"
nums 100 | onyx-queue send "x-in-raw-$$" --done
finish raw
is "$RC" 0 "messages that are not segments in the input: the job completes"
{ nums 100; echo '{"ok":true}'; } | sort > "$T/want"
check "every segment went through" cmp -s "$T/raw.out" "$T/want"
dead "onyx.dlq.$JOB.in" > "$T/raw.dead"
is "$(wc -l < "$T/raw.dead")" 5 "the five other messages are in the input task's dead-letter queue"
is "$(jq -c 'select(.segment == "not json") | [.task, .attempts, .error]' "$T/raw.dead")" \
    '["in",0,"not a segment (a JSON object): not JSON (column 3: invalid token near '"'"'not'"'"')"]' \
    "text that is not JSON: kept as a string, with the parser's reason"
is "$(jq -c 'select(.segment | type == "array" or type == "number") | [.segment, .error]' "$T/raw.dead" | sort | tr '\n' ' ')" \
    '[42,"not a segment (a JSON object): a JSON integer, not an object"] [[1,2],"not a segment (a JSON object): a JSON array, not an object"] ' \
    "JSON that is not an object: kept as JSON, with the reason"
is "$(jq -r 'select(.segment == null) | .error' "$T/raw.dead" | sort | tr '\n' '|')" \
    'not a segment (a JSON object): not JSON (column 0: unable to decode byte 0xff)|not a segment (a JSON object): the body is an AMQP map, not JSON text|' \
    "a binary body and a map body: their reasons"

# 18-19. onyx-watch counts the dead letters and names the queue
# (a peer records its counts as it leaves the task, maybe just after the job
# completed: give it a moment)
dead_counts() { onyx-watch --json | jq -r --arg j "$JOB" '.jobs[] | select(.job == $j) | .tasks[] | "\(.name)=\(.dead)"' | sort | tr '\n' ' '; }
for i in $(seq 1 50); do [ "$(dead_counts)" = "f=0 in=5 out=0 " ] && break; sleep 0.2; done
W=$(onyx-watch --json)
is "$(printf '%s' "$W" | jq -r --arg j "$JOB" '.jobs[] | select(.job == $j) | .tasks[] | "\(.name)=\(.dead)"' | sort | tr '\n' ' ')" \
    "f=0 in=5 out=0 " "onyx-watch counts each task's dead letters"
is "$(printf '%s' "$W" | jq -r --arg j "$JOB" '.jobs[] | select(.job == $j) | .tasks[] | select(.name == "in") | .["dead-letter"]')" \
    "onyx.dlq.$JOB.in" "onyx-watch names the dead-letter queue"
done_testing
