#!/bin/bash
# Window jobs on real services: a small fixed input with out-of-order event
# times through a tumbling count and a session collect, grouped by user; the
# exact windows come out, final; a late segment and segments without a
# readable time go to the dead-letter queue with their reasons. Then RFC 3339
# times and refinements every N segments, a C fold over sessions, a program
# aggregate with state in memory, and a timer that refines while no segment
# comes.
. "$(dirname "$0")/lib.sh"
plan 24
export ONYX_CLUSTER=$TESTNAME-$$
export ONYX_FN_PATH=$ONYX_ROOT/build/examples

onyx-coord -s 4000 2>> "$T/coord.log" & PIDS="$PIDS $!"
onyx-peer -n 4 2>> "$T/peer.log" & PIDS="$PIDS $!"

# doc NAME WINDOW [ENTRY]: in (sequential: the input's order holds) -> win
# (grouped by user, the JSON object WINDOW, ENTRY merged into its catalog
# entry) -> out; queues w-in-NAME-$$, w-out-NAME-$$
doc() {
	jq -n --arg s "-$1-$$" --argjson w "$2" --argjson e "${3:-null}" '{
	    workflow: [["in", "win"], ["win", "out"]],
	    catalog: [
	      {"onyx/name": "in", "onyx/type": "input", "onyx/medium": "artemis",
	       "artemis/queue-name": ("w-in" + $s), "onyx/batch-size": 4,
	       "onyx/consumption": "sequential"},
	      ({"onyx/name": "win", "onyx/type": "function", "onyx/batch-size": 4,
	       "onyx/group-by-key": "user", "onyx/window": $w} + ($e // {})),
	      {"onyx/name": "out", "onyx/type": "output", "onyx/medium": "artemis",
	       "artemis/queue-name": ("w-out" + $s), "onyx/batch-size": 100}]}' |
	    jq --arg id "$1-$$" '. + {id: $id}' | onyx-plan
}
# start NAME WINDOW [ENTRY]: plan and submit (waiting in the background)
start() {
	doc "$@" > "$T/$1.plan"
	JOB=$(jq -r .job "$T/$1.plan")
	onyx-submit --wait --timeout 120000 < "$T/$1.plan" > /dev/null 2> "$T/$1.err" &
	SUB=$!
}
# finish NAME: the rest of the output sorted in $T/NAME.out, the status in
# RC, the dead letters sorted in $T/NAME.dead (the job's cleanup deletes an
# empty dead-letter queue)
finish() {
	local n
	onyx-queue recv "w-out-$1-$$" --until-done -w 90000 | jq -cS . | sort > "$T/$1.out"
	set +e; wait "$SUB"; RC=$?; set -e
	[ "$RC" = 0 ] || sed 's/^/# /' "$T/$1.err" "$T/peer.log" | tail -20
	n=$(messages "onyx.dlq.$JOB.win" 2> /dev/null || true)
	n=${n:-0}
	: > "$T/$1.dead"
	[ "$n" = 0 ] || onyx-queue recv "onyx.dlq.$JOB.win" -n "$n" -w 5000 |
	    jq -cS . | sort > "$T/$1.dead"
}
# run NAME WINDOW [ENTRY [INPUT]]: start, send INPUT ($T/input), finish
run() {
	start "$1" "$2" "${3:-null}"
	onyx-queue send "w-in-$1-$$" --done < "${4:-$T/input}"
	finish "$1"
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
run sliding '{"type": "sliding", "size": 120000, "slide": 60000, "lateness": 30000,
    "time": {"field": "$.ts", "format": "rfc3339"},
    "aggregate": {"op": "sum", "field": "v"}, "trigger": ["watermark", {"segments": 2}]}' \
    '{}' "$T/input.rfc"
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

# v: the event time in seconds
V='if (.ts | type) == "number" and (.nov | not) then .v = (.ts / 1000 | floor) else del(.nov) end'

# 13-16. a C fold (examples/plugins/windowfold.c) over sessions; d's third
# segment joins its first two sessions (SYM_merge); e's has no "v"
awk '{ print } /"a","ts":30000/ { print "{\"user\":\"d\",\"ts\":30000}"; print "{\"user\":\"d\",\"ts\":15000}" }
    /"a","ts":61000/ { print "{\"user\":\"e\",\"ts\":61000,\"nov\":true}" }' "$T/input" |
    jq -c "$V" > "$T/input.fold"
run fold '{"type": "session", "gap": 20000, "lateness": 30000,
    "time": {"field": "ts"}, "aggregate": {"fn": "libonyx_examples.so:vsum"}}' '{}' "$T/input.fold"
is "$RC" 0 "a C fold over sessions: the job completes"
jq -cS . > "$T/want" <<'EOT'
{"key":"a","window":{"start":0,"end":20000},"value":{"sum":0,"n":1},"final":true}
{"key":"a","window":{"start":30000,"end":50000},"value":{"sum":30,"n":1},"final":true}
{"key":"a","window":{"start":59000,"end":81000},"value":{"sum":120,"n":2},"final":true}
{"key":"a","window":{"start":200000,"end":220000},"value":{"sum":200,"n":1},"final":true}
{"key":"b","window":{"start":5000,"end":25000},"value":{"sum":5,"n":1},"final":true}
{"key":"b","window":{"start":70000,"end":90000},"value":{"sum":70,"n":1},"final":true}
{"key":"b","window":{"start":190000,"end":210000},"value":{"sum":190,"n":1},"final":true}
{"key":"d","window":{"start":1000,"end":50000},"value":{"sum":46,"n":3},"final":true}
{"key":"d","window":{"start":175000,"end":195000},"value":{"sum":175,"n":1},"final":true}
EOT
sort -o "$T/want" "$T/want"
check "the fold's accumulators, sessions merged through vsum_merge" cmp -s "$T/fold.out" "$T/want"
is "$(wc -l < "$T/fold.dead")" 4 "4 dead letters: late, two without a time, one the fold refused"
is "$(jq -c 'select(.segment.user == "e") | [.error, .segment]' "$T/fold.dead")" \
    '["\"v\" is not an integer",{"ts":61000,"user":"e"}]' \
    "the segment the fold failed on, with the fold's message"

# 17-19. a program gets each window's segments and answers the sum of their
# "v"; the windows kept in memory
jq -c "$V" "$T/input" > "$T/input.v"
SUM='import json, sys
for l in sys.stdin:
    w = json.loads(l)
    print(json.dumps({"sum": sum(s["v"] for s in w["segments"]), "segments": len(w["segments"]), "final": w["final"], "start": w["window"]["start"]}), flush=True)'
run program "{\"type\": \"tumbling\", \"size\": 60000, \"lateness\": 30000,
    \"time\": {\"field\": \"ts\"}, \"aggregate\": {\"exec\": $(argv python3 -u -c "$SUM"), \"as\": \"total\"}}" \
    '{"onyx/state": "memory"}' "$T/input.v"
is "$RC" 0 "a program aggregate, state in memory: the job completes"
jq -cS . > "$T/want" <<'EOT'
{"key":"a","window":{"start":0,"end":60000},"total":{"sum":89,"segments":3,"final":true,"start":0},"final":true}
{"key":"a","window":{"start":60000,"end":120000},"total":{"sum":61,"segments":1,"final":true,"start":60000},"final":true}
{"key":"a","window":{"start":180000,"end":240000},"total":{"sum":200,"segments":1,"final":true,"start":180000},"final":true}
{"key":"b","window":{"start":0,"end":60000},"total":{"sum":5,"segments":1,"final":true,"start":0},"final":true}
{"key":"b","window":{"start":60000,"end":120000},"total":{"sum":70,"segments":1,"final":true,"start":60000},"final":true}
{"key":"b","window":{"start":180000,"end":240000},"total":{"sum":190,"segments":1,"final":true,"start":180000},"final":true}
{"key":"d","window":{"start":0,"end":60000},"total":{"sum":1,"segments":1,"final":true,"start":0},"final":true}
{"key":"d","window":{"start":120000,"end":180000},"total":{"sum":175,"segments":1,"final":true,"start":120000},"final":true}
EOT
sort -o "$T/want" "$T/want"
check "the program's answer for each window, given its key, bounds, segments and finality" \
    cmp -s "$T/program.out" "$T/want"
is "$(jq -c '[.error, .task, .attempts]' "$T/program.dead")" \
    "$(jq -c '[.error, .task, .attempts]' "$T/dead.want")" "the same 3 dead letters"

# 20-24. a global count refined by a 300 ms timer: with no segment coming,
# the windows held fire, not final; at the end, final
start timer '{"type": "global", "aggregate": "count", "trigger": [{"timer": 300}]}'
printf '{"user":"a"}\n{"user":"a"}\n{"user":"a"}\n{"user":"b"}\n' |
    onyx-queue send "w-in-timer-$$"
onyx-queue recv "w-out-timer-$$" -n 1 -w 60000 > "$T/timer.first"
# the first part may come in more than one batch: a refinement of it, a
# count of 1 to 3 for a, 1 for b
is "$(jq -c '[.window, .final, (.key == "a" and .count >= 1 and .count <= 3) or (.key == "b" and .count == 1)]' "$T/timer.first")" \
    '[{"start":null,"end":null},false,true]' \
    "while no segment comes, the timer refines a window: final false, the first part's count"
printf '{"user":"a"}\n{"user":"b"}\n{"user":"b"}\n' | onyx-queue send "w-in-timer-$$" --done
finish timer
is "$RC" 0 "a timer trigger: the job completes"
jq -cS . > "$T/want" <<'EOT'
{"key":"a","window":{"start":null,"end":null},"count":4,"final":true}
{"key":"b","window":{"start":null,"end":null},"count":3,"final":true}
EOT
sort -o "$T/want" "$T/want"
is "$(jq -c 'select(.final)' "$T/timer.out" | sort)" "$(cat "$T/want")" \
    "at the end of input each window fires once, final, with every segment"
check "every other refinement is final false and counts no more than the final window" \
    [ -z "$(jq -c 'select(.final | not) | select((.key == "a" and .count > 4) or (.key == "b" and .count > 3) or (.key != "a" and .key != "b"))' "$T/timer.out")" ]
is "$(wc -l < "$T/timer.dead")" 0 "no dead letters"
