#!/bin/bash
# onyx-queue tap: the segments waiting on an edge of a running job are
# shown (packed frames unpacked, a grouped edge too), nothing is taken from
# the edge, and the job's output is still exact and complete; the errors
# (no such job, no such edge, the job ended, bad arguments) with their exit
# codes and messages; --timeout on an idle edge; SIGTERM; the end of the job
# ends a tap that runs.
. "$(dirname "$0")/lib.sh"
plan 35
export ONYX_CLUSTER=$TESTNAME-$$

onyx-coord -s 4000 2>> "$T/coord.log" & PIDS="$PIDS $!"
for i in 1 2 3; do onyx-peer -n 1 -s 4000 2>> "$T/peer$i.log" & PIDS="$PIDS $!"; done

# doc NAME MID: in -> mid -> out; in writes frames of at most 10 segments
# (its batches), mid's catalog entry merged from MID
doc() {
	jq -n --arg s "-$1-$$" --argjson m "$2" '{
	    workflow: [["in", "mid"], ["mid", "out"]],
	    catalog: [
	      {"onyx/name": "in", "onyx/type": "input", "onyx/medium": "artemis",
	       "artemis/queue-name": ("t-in" + $s), "onyx/batch-size": 10, "onyx/max-peers": 1},
	      ({"onyx/name": "mid", "onyx/type": "function", "onyx/batch-size": 10,
	        "onyx/max-peers": 1} + $m),
	      {"onyx/name": "out", "onyx/type": "output", "onyx/medium": "artemis",
	       "artemis/queue-name": ("t-out" + $s), "onyx/batch-size": 1000, "onyx/max-peers": 1}]}' |
	    jq --arg id "$1-$$" '. + {id: $id}' | onyx-plan
}
wait_for() { # SECONDS CMD...
	local i; local n=$(($1 * 10)); shift
	for i in $(seq 1 $n); do "$@" > /dev/null 2>&1 && return 0; sleep 0.1; done
	return 1
}
# gated FILE: a program that answers nothing until FILE exists, then
# passes each segment on
gated() { argv sh -c "while [ ! -f '$1' ]; do sleep 0.05; done; exec jq --unbuffered -c ." ; }
attr() { mgmt-call "queue.$1" -a "$2"; }
# counts QUEUE: what the broker says of it (held, in delivery, ever added, consumers)
counts() { echo "$(attr "$1" messageCount) $(attr "$1" deliveringCount) $(attr "$1" messagesAdded) $(attr "$1" consumerCount)"; }
# waiting QUEUE N: the queue holds at least N messages no consumer holds,
# and mid's peer holds some (it runs, gated), and in has written them all
# (the sentinel is in: messagesAdded stays)
waiting() {
	[ $(($(attr "$1" messageCount) - $(attr "$1" deliveringCount))) -ge "$2" ] &&
	    [ "$(attr "$1" deliveringCount)" -ge 1 ] &&
	    [ "$(messages "t-in-$NAME-$$")" = 0 ]
}
# in_input FILE INPUT: every line of FILE is a line of INPUT
in_input() { [ -z "$(grep -vxFf "$2" "$1")" ]; }

# start NAME MID INPUT: submit the job with mid gated on $T/gate-NAME, send
# INPUT, wait until the edge in -> mid holds frames mid has not taken
start() {
	NAME=$1 J=$1-$$
	doc "$1" "$2" > "$T/$1.plan"
	EDGE=$(jq -r '.tasks[] | select(.name == "mid") | .ingress[0]' "$T/$1.plan")
	onyx-submit --wait --timeout 120000 < "$T/$1.plan" > /dev/null 2> "$T/$1.err" &
	SUB=$!
	onyx-queue send -b 1000 "t-in-$1-$$" --done < "$3"
	wait_for 60 waiting "$EDGE" 20
}
# finish NAME INPUT: open the gate, the output (sorted) is the input's
finish() {
	touch "$T/gate-$1"
	onyx-queue recv "t-out-$1-$$" --until-done -w 120000 | sort > "$T/$1.out"
	set +e; wait $SUB; RC=$?; set -e
	is "$RC" 0 "$1: the job completes"
	is "$(sort "$2" | cmp - "$T/$1.out" && echo same)" same "$1: its output is exact and complete: each of $(wc -l < "$2") segments once"
}

# 1-9. an ungrouped packed edge
nums 2000 > "$T/nums"
check "plain: the edge in -> mid holds frames mid has not taken" start plain "{\"onyx/exec\": $(gated "$T/gate-plain")}" "$T/nums"
before=$(counts "$EDGE")
run_rc onyx-queue tap -n 10 "$J" in mid
is "$RC" 0 "plain: tap -n 10 exits 0"
is "$(wc -l < "$T/out")" 10 "plain: it prints 10 lines"
check "plain: each is a segment sent" in_input "$T/out" "$T/nums"
is "$(sort -u "$T/out" | wc -l)" 10 "plain: no two alike"
is "$(jq -c . "$T/out" | cmp - "$T/out" && echo compact)" compact "plain: each a compact JSON object, as recv prints"
is "$(counts "$EDGE")" "$before" "plain: the edge's message, delivering, added and consumer counts are as before the tap"
# a tap that runs until the job ends, while the job drains the edge
onyx-queue tap "$J" in mid > "$T/long.out" 2> "$T/long.err" &
LONG=$!
wait_lines "$T/long.out" 10 30 || true
finish plain "$T/nums"

# 10-13. the tap that ran: it ended with the job, and showed only sent
# segments, each once
wait_for 60 sh -c "! kill -0 $LONG" || true
set +e; wait $LONG; LRC=$?; set -e
is "$LRC" 0 "a tap running when the job ends exits 0"
like "$(cat "$T/long.err")" "^onyx-queue: job '$J' ended: the queue of its edge in -> mid is gone, [0-9]+ segments shown$" "it says the job ended"
check "it showed only segments sent" in_input "$T/long.out" "$T/nums"
is "$(sort "$T/long.out" | uniq -d | wc -l)" 0 "none twice ($(wc -l < "$T/long.out") shown)"

# 14-15. the job has ended: tap says so (the plan is in ZooKeeper)
run_rc onyx-queue tap -n 1 "$J" in mid
is "$RC" 66 "an ended job: exit 66"
is "$ERR" "onyx-queue: job '$J' has ended (completed): nothing passes on its edge in -> mid" "an ended job: the message says so"

# 16-20. a grouped edge: frames by bucket (group-ids onyx-bucket-N)
awk 'BEGIN { for (i = 1; i <= 2000; i++) printf "{\"k\":\"key%d\",\"n\":%d}\n", i % 40, i }' > "$T/keyed"
check "grouped: the edge holds frames mid has not taken" start grouped "{\"onyx/exec\": $(gated "$T/gate-grouped"), \"onyx/group-by-key\": \"k\"}" "$T/keyed"
before=$(counts "$EDGE")
run_rc onyx-queue tap -n 25 "$J" in mid
is "$RC $(wc -l < "$T/out")" "0 25" "grouped: tap -n 25 exits 0 with 25 lines"
check "grouped: each is a segment sent" in_input "$T/out" "$T/keyed"
is "$(sort -u "$T/out" | wc -l)" 25 "grouped: no two alike"
is "$(counts "$EDGE")" "$before" "grouped: the edge's counts are as before"

# 21-26. while the grouped job runs: an idle edge, the errors
run_rc onyx-queue tap -w 1000 "$J" mid out
is "$RC:$OUT:$ERR" "0::" "an idle edge, --timeout alone: exit 0, nothing printed"
run_rc onyx-queue tap -n 1 -w 1000 "$J" mid out
is "$RC" 75 "an idle edge, -n and --timeout: exit 75"
is "$ERR" "onyx-queue: timed out after 1000 ms without a new segment on 'onyx.edge.$J.mid.out': 0 segments shown, fewer than asked" "an idle edge: the message says how many were shown"
run_rc onyx-queue tap "$J" in out
is "$RC" 66 "not an edge of the job: exit 66"
is "$ERR" "onyx-queue: job '$J' has no edge in -> out; its edges: in -> mid, mid -> out" "not an edge: the message lists the job's edges"
run_rc onyx-queue tap "nojob-$$" in mid
is "$RC:$ERR" "66:onyx-queue: no job 'nojob-$$' in cluster '$ONYX_CLUSTER' (/onyx/$ONYX_CLUSTER/jobs/nojob-$$)" "no such job: exit 66, named with its cluster"

# 27-28. without ZooKeeper: the queue's name, checked at the broker
run_rc env -u ONYX_ZK onyx-queue tap "nojob-$$" in mid
is "$RC:$ERR" "66:onyx-queue: no queue 'onyx.edge.nojob-$$.in.mid' on the broker: job 'nojob-$$' has no edge in -> mid, or has not started, or has ended (with ONYX_ZK set, its plan says which)" "no ZooKeeper, no such queue: exit 66"
run_rc env -u ONYX_ZK onyx-queue tap -n 3 "$J" in mid
is "$RC $(wc -l < "$T/out")" "0 3" "no ZooKeeper: a running job's edge is tapped by its name"

# 29-30. SIGTERM ends a tap on an idle edge, cleanly
ONYX_LOG=debug onyx-queue tap "$J" mid out > "$T/term.out" 2> "$T/term.err" &
TP=$!
wait_for 30 grep -q "tap: look 2 of" "$T/term.err" || true
kill -TERM "$TP"
check "SIGTERM: tap exits" wait_for 10 sh -c "! kill -0 $TP"
set +e; wait $TP; is "$?:$(grep -v -e 'tap: look' -e '^onyx-queue: onyx-queue [0-9.]*; ' -e '^onyx-queue: shown 0 segments' "$T/term.err")" "0:" "SIGTERM between looks: exit 0, no message"; set -e

# 31-32. the grouped job completes, exact
finish grouped "$T/keyed"

# 33-35. arguments
run_rc onyx-queue tap "$J" in
is "$RC:$ERR" "64:onyx-queue: tap takes a job and the two tasks of an edge (tap JOB FROM TO), not 2 arguments" "two arguments: exit 64"
run_rc onyx-queue tap --until-done "$J" in mid
is "$RC:$ERR" "64:onyx-queue: --until-done and --keep-done only apply to recv" "--until-done: exit 64"
run_rc onyx-queue stat -n 3 "q-$$"
is "$RC:$ERR" "64:onyx-queue: --count and --timeout only apply to recv and tap" "-n with stat: exit 64"

if [ "$_failed" != 0 ]; then
	for f in "$T"/*.err "$T"/peer*.log "$T"/coord.log; do sed "s|^|# $(basename "$f"): |" "$f" | tail -15; done
fi
done_testing
