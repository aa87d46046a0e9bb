#!/bin/bash
# Windows end to end: tumbling, sliding and session windows over generated
# log lines whose event times arrive out of order (examples/windows/gen):
# the final windows equal those of examples/windows/reference (computed
# independently, one watermark over the input in order), each exactly once;
# the segments behind the watermark are in the dead-letter queue with the
# reason late, exactly those; the examples' run scripts say OK.
. "$(dirname "$0")/lib.sh"
plan 20
export ONYX_CLUSTER=$TESTNAME-$$
W=$ONYX_ROOT/examples/windows

onyx-coord -s 4000 2>> "$T/coord.log" & PIDS="$PIDS $!"
onyx-peer -n 6 2>> "$T/peer.log" & PIDS="$PIDS $!"

# 40 users over 20 minutes: 2324 lines, 40 of them late
"$W/gen" -s 12 -u 40 -m 20 -l 5000 -L 40 > "$T/in"

# doc NAME WINDOW [MORE]: in -> w -> out, w grouped by user with the
# onyx/window WINDOW (and the catalog keys of the object MORE); in has one
# peer, so that the lines reach w in the order they were sent
doc() {
	jq -n --arg s "-$1-$$" --argjson w "$2" --argjson m "${3:-{\}}" '{
	    workflow: [["in", "w"], ["w", "out"]],
	    catalog: [
	      {"onyx/name": "in", "onyx/type": "input", "onyx/medium": "artemis",
	       "artemis/queue-name": ("x-in" + $s), "onyx/batch-size": 200, "onyx/max-peers": 1},
	      ({"onyx/name": "w", "onyx/type": "function", "onyx/batch-size": 200,
	        "onyx/group-by-key": "user", "onyx/window": $w} + $m),
	      {"onyx/name": "out", "onyx/type": "output", "onyx/medium": "artemis",
	       "artemis/queue-name": ("x-out" + $s), "onyx/batch-size": 200, "onyx/max-peers": 1}]}' |
	    jq --arg id "$1-$$" '. + {id: $id}' | onyx-plan
}
# run NAME PLAN: submit PLAN, send the input, drain the output into
# $T/NAME.out; RC is onyx-submit's status, JOB the job's id
run() {
	local sub t0=$SECONDS
	JOB=$(jq -r .job "$2")
	onyx-submit --wait --timeout 120000 < "$2" > /dev/null 2> "$T/$1.err" &
	sub=$!
	onyx-queue send "x-in-$1-$$" --done < "$T/in"
	onyx-queue recv "x-out-$1-$$" --until-done -w 120000 > "$T/$1.out"
	set +e; wait $sub; RC=$?; set -e
	echo "# $1: $((SECONDS - t0)) s, $(wc -l < "$T/$1.out") results"
	[ "$RC" = 0 ] || sed 's/^/# /' "$T/$1.err" "$T/peer.log" | tail -20
}
# finals FILE: the final windows of a job's output, without "final", keys
# sorted, one a line, sorted
finals() { jq -S -c 'select(.final == true) | del(.final)' "$1" | sort; }
# twice FILE: how many windows are final more than once
twice() { jq -c 'select(.final == true) | [.key, .window]' "$1" | sort | uniq -d | wc -l; }
# dead JOB: the job's dead letters
dead() { onyx-queue recv "onyx.dlq.$1.w" -n "$(messages "onyx.dlq.$1.w")" -w 5000; }
# check_dead NAME LATE: the dead letters of job $JOB are the segments of
# the file LATE, each once, each with the reason late
check_dead() {
	dead "$JOB" > "$T/$1.dead"
	is "$(jq -r .error "$T/$1.dead" | sort | uniq -c | awk '{ print $1, $2 }')" "$(wc -l < "$2") late" \
	    "$1: the dead letters are $(wc -l < "$2") segments, each with the reason late"
	check "$1: they are the segments the reference finds late, each once" \
	    cmp -s <(jq -S -c .segment "$T/$1.dead" | sort) <(jq -S -c . "$2" | sort)
}

# 1-6. tumbling: requests per user and minute, by epoch ms
"$W/reference" -k user -w tumbling -z 60000 -f ts -F epoch-ms -l 5000 \
    -a requests=count --late "$T/tum.late" "$T/in" > "$T/tum.want"
is "$(wc -l < "$T/tum.want"):$(jq -s 'map(.requests) | add' "$T/tum.want"):$(wc -l < "$T/tum.late")" 539:2284:40 \
    "the reference: 539 windows of 2284 segments, 40 late"
doc tum '{"type": "tumbling", "size": 60000, "time": {"field": "ts", "format": "epoch-ms"}, "lateness": 5000,
    "aggregate": {"op": "count", "as": "requests"}}' > "$T/tum.plan"
run tum "$T/tum.plan"
is "$RC" 0 "tumbling: the job completes"
check "tumbling: the final windows equal the reference's" cmp -s <(finals "$T/tum.out") <(sort "$T/tum.want")
is "$(twice "$T/tum.out")" 0 "tumbling: no window is final twice"
check_dead tum "$T/tum.late"

# 7-11. sliding: the largest response of 1 minute every 20 s, by the RFC
# 3339 time (its offsets vary)
"$W/reference" -k user -w sliding -z 60000 -d 20000 -f time -F rfc3339 -l 5000 \
    -a largest=max:bytes --late "$T/sli.late" "$T/in" > "$T/sli.want"
doc sli '{"type": "sliding", "size": 60000, "slide": 20000, "time": {"field": "time", "format": "rfc3339"}, "lateness": 5000,
    "aggregate": {"op": "max", "field": "bytes", "as": "largest"}}' > "$T/sli.plan"
run sli "$T/sli.plan"
is "$RC" 0 "sliding: the job completes"
check "sliding: the final windows equal the reference's" cmp -s <(finals "$T/sli.out") <(sort "$T/sli.want")
is "$(twice "$T/sli.out")" 0 "sliding: no window is final twice"
check_dead sli "$T/sli.late"

# 12-18. session: the distinct paths of each user's sessions (30 s of gap),
# a refinement every 5 segments
"$W/reference" -k user -w session -g 30000 -f ts -F epoch-ms -l 5000 \
    -a paths=distinct:path --late "$T/ses.late" "$T/in" > "$T/ses.want"
is "$(wc -l < "$T/ses.want")" 200 "the reference: 200 sessions"
doc ses '{"type": "session", "gap": 30000, "time": {"field": "ts", "format": "epoch-ms"}, "lateness": 5000,
    "aggregate": {"op": "distinct", "field": "path", "as": "paths"},
    "trigger": ["watermark", {"segments": 5}, "end"]}' > "$T/ses.plan"
run ses "$T/ses.plan"
is "$RC" 0 "session: the job completes"
check "session: the final windows equal the reference's" cmp -s <(finals "$T/ses.out") <(sort "$T/ses.want")
is "$(twice "$T/ses.out")" 0 "session: no window is final twice"
like "$(jq -c 'select(.final == false)' "$T/ses.out" | wc -l)" '^[1-9][0-9]*$' "session: the segments trigger gave refinements, final false"
check_dead ses "$T/ses.late"

# 19-20. the examples' run scripts, on these services (a cluster of their own)
export ONYX_CLUSTER=$TESTNAME-$$-examples
run_rc timeout 150 "$W/per-minute/run"
is "$RC:$(printf '%s\n' "$ERR" | grep -c '^windows: OK: 539 final windows equal the reference')" 0:1 \
    "examples/windows/per-minute/run: 539 final windows equal the reference's"
run_rc timeout 150 "$W/sessions/run"
like "$RC:$(printf '%s\n' "$ERR" | grep '^windows: ')" '^0:windows: OK: [0-9]+ final windows equal the reference' \
    "examples/windows/sessions/run: the final windows equal the reference's"
[ "$RC" = 0 ] || printf '%s\n' "$ERR" | sed 's/^/# /' | tail -20
done_testing
