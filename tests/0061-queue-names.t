#!/bin/bash
# Queue names that cannot collide (lib/names): tasks named done, seal and
# dlq (an edge into each), and jobs x and x.y whose dotted task names once
# gave them the same queues, all run side by side with exact outputs; once x
# ends and is cleaned, every queue of x.y is still there and x.y completes.
# onyx-plan refuses a user queue with the reserved prefix onyx.
. "$(dirname "$0")/lib.sh"
plan 19
export ONYX_CLUSTER=$TESTNAME-$$
export ONYX_FN_PATH=$ONYX_ROOT/build/examples
N=2000

# doc ID WORKFLOW TASK:FN...: a job document; the input task is "in", the
# output "out", their queues ID-in and ID-out (with this run's $$). Every
# task takes one peer at most, so the 13 peers serve the three jobs at once
# (the coordinator gives every idle peer away and does not take them back
# for a job that comes a moment later).
doc() {
	local id=$1 wf=$2 t fns='[]'
	shift 2
	for t in "$@"; do
		fns=$(jq -c --arg n "${t%%:*}" --arg f "${t#*:}" \
		    '. + [{"onyx/name": $n, "onyx/type": "function", "onyx/fn": $f, "onyx/batch-size": 100, "onyx/max-peers": 1}]' <<< "$fns")
	done
	jq -n --arg id "$id" --argjson wf "$wf" --argjson fns "$fns" '{id: $id,
	    workflow: $wf,
	    catalog: ([{"onyx/name": "in", "onyx/type": "input", "onyx/medium": "artemis",
	        "artemis/queue-name": ($id + "-in"), "onyx/batch-size": 100, "onyx/max-peers": 1},
	      {"onyx/name": "out", "onyx/type": "output", "onyx/medium": "artemis",
	        "artemis/queue-name": ($id + "-out"), "onyx/batch-size": 100, "onyx/max-peers": 1}] + $fns)}'
}
# own PLAN: the queues the job of PLAN owns (onyx(7), Queues), one a line
own() {
	jq -r '(.job | gsub("\\."; "~")) as $j | .queues[],
	    (.tasks[].name | gsub("\\."; "~") | "onyx.seal.\($j).\(.)", "onyx.done.\($j).\(.)", "onyx.dlq.\($j).\(.)")' "$1"
}
# existing PLAN: how many of the job's own queues exist on the broker
existing() {
	local q n=0
	for q in $(own "$1"); do
		if onyx-queue stat --json "$q" > /dev/null 2>&1; then n=$((n + 1)); fi
	done
	echo "$n"
}
segs() { awk -v n="$N" -v j="$1" 'BEGIN { for (i = 1; i <= n; i++) printf "{\"job\":\"%s\",\"n\":%d}\n", j, i }'; }
plus() { segs "$1" | jq -c --argjson k "$2" '.n += $k' | sort; }
# when a job did not complete: what the cluster and the logs say
show() {
	onyx-watch --json | jq -c '.jobs[] | [.job, .status, .why, [.tasks[] | [.name, .status, .read, .written]]]' | sed 's/^/# /'
	tail -n 15 "$T/coord.log" "$T/peer.log" "$@" | sed 's/^/# /'
}

INC=libonyx_examples.so:inc
X=x-$$ XY=x-$$.y K=k-$$
# in -> done -> seal -> dlq -> out: an edge into each internal kind's name
doc "$K" '[["in","done"],["done","seal"],["seal","dlq"],["dlq","out"]]' \
    done:$INC seal:$INC dlq:$INC | onyx-plan > "$T/k.plan"
# job x, task y.a: its edge y.a -> b and its seal queue were job x.y's a -> b
# and a's seal queue (onyx.x.y.a.b, onyx.x.y.a.seal)
doc "$X" '[["in","y.a"],["y.a","b"],["b","out"]]' y.a:$INC b:$INC | onyx-plan > "$T/x.plan"
doc "$XY" '[["in","a"],["a","b"],["b","out"]]' a:identity b:$INC | onyx-plan > "$T/xy.plan"

is "$(own "$T/k.plan" | sort -u | wc -l):$(own "$T/k.plan" | wc -l)" "19:19" \
    "tasks named done, seal, dlq: 4 edge queues and 15 internal queues, all distinct"
is "$(cat "$T/x.plan" "$T/xy.plan" | jq -r '.queues[], .tasks[]."dead-letter"' | sort | uniq -d)" "" \
    "jobs x and x.y share no queue name in their plans"
wild="^onyx\.[a-z]*\.x-$$\."   # the Artemis wildcard onyx.*.x.#, as a regex
is "$(own "$T/x.plan" | grep -vc "$wild" || true):$(own "$T/xy.plan" | grep -c "$wild" || true)" "0:0" \
    "the wildcard onyx.*.x.# matches every queue of x and none of x.y"

onyx-coord -s 4000 2>> "$T/coord.log" & PIDS="$PIDS $!"
onyx-peer -n 13 2>> "$T/peer.log" & PIDS="$PIDS $!"

for j in xy k x; do
	onyx-submit --wait --timeout 180000 < "$T/$j.plan" > /dev/null 2> "$T/$j.err" &
	eval "SUB_$j=\$!"
done
segs "$K" | onyx-queue send "$K-in" --done
segs "$X" | onyx-queue send "$X-in"
segs "$XY" | onyx-queue send "$XY-in"
# x.y's input stays open: it runs while x ends and is cleaned
onyx-queue send "$X-in" --done < /dev/null

onyx-queue recv "$K-out" --until-done -w 120000 | sort > "$T/k.out"
set +e; wait "$SUB_k"; rk=$?; set -e
[ "$rk" = 0 ] || show "$T/k.err"
is "$rk" 0 "the job with tasks named done, seal and dlq completes"
plus "$K" 3 > "$T/k.want"
check "its output is exact: each segment once through done, seal and dlq (n+3)" \
    cmp -s "$T/k.out" "$T/k.want"

onyx-queue recv "$X-out" --until-done -w 120000 | sort > "$T/x.out"
set +e; wait "$SUB_x"; rx=$?; set -e
[ "$rx" = 0 ] || show "$T/x.err"
is "$rx" 0 "job x completes while job x.y runs"
plus "$X" 2 > "$T/x.want"
check "x's output is exact (n+2)" cmp -s "$T/x.out" "$T/x.want"
for i in $(seq 1 300); do
	[ "$(existing "$T/x.plan")" = 0 ] && break
	sleep 0.2
done
is "$(existing "$T/x.plan")" 0 "x is cleaned: none of its own queues is left"
is "$(existing "$T/xy.plan"):$(own "$T/xy.plan" | wc -l)" "15:15" \
    "every queue of x.y is still there"
is "$(onyx-watch --json | jq -r --arg j "$XY" '.jobs[] | select(.job == $j) | .status')" running \
    "x.y is still running"
for q in "$K-in" "$K-out" "$X-in" "$X-out" "$XY-in" "$XY-out"; do
	onyx-queue stat --json "$q" > /dev/null 2>&1 || echo "$q" >> "$T/gone"
done
is "$(cat "$T/gone" 2>/dev/null)" "" "no user queue was deleted"

onyx-queue send "$XY-in" --done < /dev/null
onyx-queue recv "$XY-out" --until-done -w 120000 | sort > "$T/xy.out"
set +e; wait "$SUB_xy"; rxy=$?; set -e
[ "$rxy" = 0 ] || show "$T/xy.err"
is "$rxy" 0 "then x.y completes"
plus "$XY" 1 > "$T/xy.want"
check "x.y's output is exact (n+1): nothing of x in it, nothing lost" \
    cmp -s "$T/xy.out" "$T/xy.want"
for i in $(seq 1 300); do
	[ "$(existing "$T/xy.plan")$(existing "$T/k.plan")" = 00 ] && break
	sleep 0.2
done
is "$(existing "$T/xy.plan"):$(existing "$T/k.plan")" "0:0" \
    "x.y and the done/seal/dlq job are cleaned too"

# The reserved prefix
jq '.catalog[2]."artemis/queue-name" = "onyx.foo"' "$ONYX_ROOT/examples/inc/job.json" > "$T/res.json"
run_rc onyx-plan "$T/res.json"
is "$RC" 65 "onyx-plan refuses artemis/queue-name onyx.foo: exit 65"
is "$ERR" "onyx-plan: $T/res.json: catalog[2].\"artemis/queue-name\": 'onyx.foo' starts with 'onyx.', which Onyx reserves for the queues it makes for a job" \
    "naming the JSON path and the reserved prefix"
is "$OUT" "" "and prints no plan"
jq '.catalog[0]."artemis/queue-name" = "onyx.edge.j.in.inc"' "$ONYX_ROOT/examples/inc/job.json" > "$T/res2.json"
run_rc onyx-plan --check - < "$T/res2.json"
is "$RC:$ERR" "65:onyx-plan: stdin: catalog[0].\"artemis/queue-name\": 'onyx.edge.j.in.inc' starts with 'onyx.', which Onyx reserves for the queues it makes for a job" \
    "an input queue named like an edge queue too"
# a hand-made plan whose "queues" hold a user's queue: cleanup would delete it
jq -c --arg q "$XY-in" '.queues += [$q]' "$T/x.plan" > "$T/hand.plan"
run_rc onyx-submit "$T/hand.plan"
is "$RC:$ERR" "65:onyx-submit: $T/hand.plan: plan: queues[3]: '$XY-in' is not the queue of an edge of job $X (onyx(7), Queues)" \
    "onyx-submit refuses a plan whose queues are not the job's edge queues: exit 65, naming the entry"
done_testing
