#!/bin/bash
# Window jobs on real services: a small fixed input with out-of-order event
# times through a tumbling count and a session collect, grouped by user; the
# exact windows come out, final; a late segment and segments without a
# readable time go to the dead-letter queue with their reasons.
. "$(dirname "$0")/lib.sh"
plan 12
export ONYX_CLUSTER=$TESTNAME-$$
export ONYX_FN_PATH=$ONYX_ROOT/build/examples

onyx-coord -s 4000 2>> "$T/coord.log" & PIDS="$PIDS $!"
onyx-peer -n 4 2>> "$T/peer.log" & PIDS="$PIDS $!"

# doc NAME WINDOW: in (sequential: the input's order holds) -> win (grouped
# by user, the JSON object WINDOW) -> out; queues w-in-NAME-$$, w-out-NAME-$$
doc() {
	jq -n --arg s "-$1-$$" --argjson w "$2" '{
	    workflow: [["in", "win"], ["win", "out"]],
	    catalog: [
	      {"onyx/name": "in", "onyx/type": "input", "onyx/medium": "artemis",
	       "artemis/queue-name": ("w-in" + $s), "onyx/batch-size": 4,
	       "onyx/consumption": "sequential"},
	      {"onyx/name": "win", "onyx/type": "function", "onyx/batch-size": 4,
	       "onyx/group-by-key": "user", "onyx/window": $w},
	      {"onyx/name": "out", "onyx/type": "output", "onyx/medium": "artemis",
	       "artemis/queue-name": ("w-out" + $s), "onyx/batch-size": 100}]}' |
	    jq --arg id "$1-$$" '. + {id: $id}' | onyx-plan
}
# run NAME WINDOW: plan, submit, send the input, wait; the output sorted in
# $T/NAME.out, the dead letters sorted in $T/NAME.dead, the status in RC
run() {
	local job
	doc "$1" "$2" > "$T/$1.plan"
	job=$(jq -r .job "$T/$1.plan")
	onyx-submit --wait --timeout 120000 < "$T/$1.plan" > /dev/null 2> "$T/$1.err" &
	local sub=$!
	onyx-queue send "w-in-$1-$$" --done < "$T/input"
	onyx-queue recv "w-out-$1-$$" --until-done -w 90000 | jq -cS . | sort > "$T/$1.out"
	set +e; wait "$sub"; RC=$?; set -e
	[ "$RC" = 0 ] || sed 's/^/# /' "$T/$1.err" "$T/peer.log" | tail -20
	onyx-queue recv "onyx.dlq.$job.win" -n "$(messages "onyx.dlq.$job.win")" \
	    -w 5000 | jq -cS . | sort > "$T/$1.dead"
}

# In the input's order every segment but the late one is within the
# lateness (30 s) of the largest time before it, so a bucket's watermark
# and the input's agree on what is late: only a at 10000, after a at 200000.
cat > "$T/input" <<'EOT'
{"user":"a","ts":0}
{"user":"b","ts":5000}
{"user":"d","ts":1000}
{"user":"a","ts":30000}
{"user":"a","ts":61000}
{"user":"a","ts":59000}
{"user":"c"}
{"user":"c","ts":"soon"}
{"user":"b","ts":70000}
{"user":"a","ts":200000}
{"user":"a","ts":10000}
{"user":"b","ts":190000}
{"user":"d","ts":175000}
EOT
cat > "$T/dead.want" <<'EOT'
{"attempts":1,"error":"late","segment":{"ts":10000,"user":"a"},"task":"win"}
{"attempts":1,"error":"time field 'ts' is missing","segment":{"user":"c"},"task":"win"}
{"attempts":1,"error":"time field 'ts' is not epoch milliseconds (an integer): \"soon\"","segment":{"ts":"soon","user":"c"},"task":"win"}
EOT

# 1-4. tumbling windows of a minute, a count each
run tumbling '{"type": "tumbling", "size": 60000, "lateness": 30000,
    "time": {"field": "ts", "format": "epoch-ms"}, "aggregate": "count"}'
is "$RC" 0 "tumbling: the job completes"
jq -cS . > "$T/want" <<'EOT'
{"key":"a","window":{"start":0,"end":60000},"count":3,"final":true}
{"key":"a","window":{"start":60000,"end":120000},"count":1,"final":true}
{"key":"a","window":{"start":180000,"end":240000},"count":1,"final":true}
{"key":"b","window":{"start":0,"end":60000},"count":1,"final":true}
{"key":"b","window":{"start":60000,"end":120000},"count":1,"final":true}
{"key":"b","window":{"start":180000,"end":240000},"count":1,"final":true}
{"key":"d","window":{"start":0,"end":60000},"count":1,"final":true}
{"key":"d","window":{"start":120000,"end":180000},"count":1,"final":true}
EOT
sort -o "$T/want" "$T/want"
check "tumbling: exactly the 8 windows, each once, final" cmp -s "$T/tumbling.out" "$T/want" ||
    diff "$T/tumbling.out" "$T/want" | sed 's/^/# /'
is "$(wc -l < "$T/tumbling.dead")" 3 "tumbling: 3 dead letters"
check "tumbling: the late one, the one without a time, the one with a bad time, with their reasons" \
    cmp -s "$T/tumbling.dead" "$T/dead.want"

# 5-8. sessions with a gap of 20 s, the times collected in arrival order
run session '{"type": "session", "gap": 20000, "lateness": 30000,
    "time": {"field": "ts"}, "aggregate": {"op": "collect", "field": "ts", "as": "ts"}}'
is "$RC" 0 "session: the job completes"
jq -cS . > "$T/want" <<'EOT'
{"key":"a","window":{"start":0,"end":20000},"ts":[0],"final":true}
{"key":"a","window":{"start":30000,"end":50000},"ts":[30000],"final":true}
{"key":"a","window":{"start":59000,"end":81000},"ts":[61000,59000],"final":true}
{"key":"a","window":{"start":200000,"end":220000},"ts":[200000],"final":true}
{"key":"b","window":{"start":5000,"end":25000},"ts":[5000],"final":true}
{"key":"b","window":{"start":70000,"end":90000},"ts":[70000],"final":true}
{"key":"b","window":{"start":190000,"end":210000},"ts":[190000],"final":true}
{"key":"d","window":{"start":1000,"end":21000},"ts":[1000],"final":true}
{"key":"d","window":{"start":175000,"end":195000},"ts":[175000],"final":true}
EOT
sort -o "$T/want" "$T/want"
check "session: exactly the 9 sessions, merged, each once, final" cmp -s "$T/session.out" "$T/want" ||
    diff "$T/session.out" "$T/want" | sed 's/^/# /'
is "$(wc -l < "$T/session.dead")" 3 "session: 3 dead letters"
check "session: the same 3 dead letters with their reasons" \
    cmp -s "$T/session.dead" "$T/dead.want"

# 9-12. RFC 3339 times, a sliding sum refined every 2 segments
sed -E 's/"ts":([0-9]+)/"ts":\1,"v":1/' "$T/input" |
    python3 -c '
import json, sys, datetime
for l in sys.stdin:
    d = json.loads(l)
    if isinstance(d.get("ts"), int):
        t = datetime.datetime.fromtimestamp(d["ts"] / 1000, datetime.timezone.utc)
        d["ts"] = t.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (d["ts"] % 1000)
    print(json.dumps(d, separators=(",", ":")))' > "$T/input.rfc"
mv "$T/input.rfc" "$T/input"
run sliding '{"type": "sliding", "size": 120000, "slide": 60000, "lateness": 30000,
    "time": {"field": "$.ts", "format": "rfc3339"},
    "aggregate": {"op": "sum", "field": "v"}, "trigger": ["watermark", {"segments": 2}]}'
is "$RC" 0 "sliding, RFC 3339: the job completes"
jq -cS . > "$T/want" <<'EOT'
{"key":"a","window":{"start":-60000,"end":60000},"sum":2,"final":false}
{"key":"a","window":{"start":-60000,"end":60000},"sum":3,"final":true}
{"key":"a","window":{"start":0,"end":120000},"sum":2,"final":false}
{"key":"a","window":{"start":0,"end":120000},"sum":4,"final":false}
{"key":"a","window":{"start":0,"end":120000},"sum":4,"final":true}
{"key":"a","window":{"start":60000,"end":180000},"sum":1,"final":true}
{"key":"a","window":{"start":120000,"end":240000},"sum":1,"final":true}
{"key":"a","window":{"start":180000,"end":300000},"sum":1,"final":true}
{"key":"b","window":{"start":-60000,"end":60000},"sum":1,"final":true}
{"key":"b","window":{"start":0,"end":120000},"sum":2,"final":false}
{"key":"b","window":{"start":0,"end":120000},"sum":2,"final":true}
{"key":"b","window":{"start":60000,"end":180000},"sum":1,"final":true}
{"key":"b","window":{"start":120000,"end":240000},"sum":1,"final":true}
{"key":"b","window":{"start":180000,"end":300000},"sum":1,"final":true}
{"key":"d","window":{"start":-60000,"end":60000},"sum":1,"final":true}
{"key":"d","window":{"start":0,"end":120000},"sum":1,"final":true}
{"key":"d","window":{"start":60000,"end":180000},"sum":1,"final":true}
{"key":"d","window":{"start":120000,"end":240000},"sum":1,"final":true}
EOT
sort -o "$T/want" "$T/want"
check "sliding: every window and refinement, each final once" cmp -s "$T/sliding.out" "$T/want" ||
    diff "$T/sliding.out" "$T/want" | sed 's/^/# /'
is "$(jq -r .error "$T/sliding.dead" | sort | tr '\n' '|')" \
    "late|time field '\$.ts' is missing|time field '\$.ts' is not an RFC 3339 time: \"soon\"|" \
    "sliding: the late segment and the two without a time, with their reasons"
is "$(jq -c '[.task, .attempts]' "$T/sliding.dead" | sort -u)" '["win",1]' \
    "each dead letter names the task, one attempt"
