#!/bin/bash
# 300 small jobs (in -> identity -> out, two segments each), submitted one
# after another to one coordinator: every one completes with its exact
# output, each ended job leaves the working set (live/) for history/, and
# beyond --history the oldest ended jobs are pruned whole.
. "$(dirname "$0")/lib.sh"
plan 9
export ONYX_CLUSTER=$TESTNAME-$$
R=/onyx/$ONYX_CLUSTER
N=${ONYX_TEST_JOBS:-300}
KEEP=$((N / 3))
START=$(date +%s)

onyx-coord -s 4000 --history "$KEEP" 2> "$T/coord.log" &
PIDS="$PIDS $!"
onyx-peer -n 12 2> "$T/peer.log" &
PIDS="$PIDS $!"

# one plan from onyx-plan; the others differ only in their names
jq -n '{id: "JOBX", workflow: [["in", "id"], ["id", "out"]], catalog: [
  {"onyx/name": "in", "onyx/type": "input", "onyx/medium": "artemis",
   "artemis/queue-name": "JOBX-in", "onyx/batch-size": 10, "onyx/batch-timeout": 20},
  {"onyx/name": "id", "onyx/type": "function", "onyx/fn": "identity",
   "onyx/batch-size": 10, "onyx/batch-timeout": 20},
  {"onyx/name": "out", "onyx/type": "output", "onyx/medium": "artemis",
   "artemis/queue-name": "JOBX-out", "onyx/batch-size": 10, "onyx/batch-timeout": 20}]}' |
    onyx-plan > "$T/tmpl.plan"
job() { echo "j$1-$$"; }

t0=$(date +%s%N)
for i in $(seq 1 "$N"); do
	J=$(job "$i")
	sed "s/JOBX/$J/g" "$T/tmpl.plan" | onyx-submit >> "$T/ids"
	printf '{"job":%d,"n":1}\n{"job":%d,"n":2}\n' "$i" "$i" |
	    onyx-queue send "$J-in" --done 2>> "$T/send.err"
done
t1=$(date +%s%N)
echo "# $N jobs submitted and fed in $(((t1 - t0) / 1000000)) ms ($(((t1 - t0) / 1000000 / N)) ms a job)"
is "$(sort -u "$T/ids" | wc -l | tr -d ' ')" "$N" "onyx-submit printed $N distinct job ids"

: > "$T/out"
for i in $(seq 1 "$N"); do
	onyx-queue recv "$(job "$i")-out" --until-done -w 60000 >> "$T/out" 2>> "$T/recv.err" ||
	    echo "# recv of job $i failed: $(tail -1 "$T/recv.err")"
done
for i in $(seq 1 "$N"); do
	printf '{"job":%d,"n":1}\n{"job":%d,"n":2}\n' "$i" "$i"
done | sort > "$T/want"
sort "$T/out" > "$T/got"
check "every job's output is exactly its two segments ($((N * 2)) in all)" cmp -s "$T/got" "$T/want"

# every ended job leaves live/ for history/; beyond KEEP the oldest go whole
wait_retired() {
	local i
	for i in $(seq 1 300); do
		[ "$(zkput ls "$R/live" | wc -l)" = 0 ] &&
		    [ "$(grep -c ' retired: ' "$T/coord.log")" = "$N" ] && return 0
		sleep 0.1
	done
	return 1
}
check "every job left the working set (live/ is empty, $N retired)" wait_retired
is "$(grep -c ' status=completed' "$T/coord.log")" "$N" "the coordinator completed $N jobs"
is "$(zkput ls "$R/history" | wc -l | tr -d ' ')" "$KEEP" "history/ keeps the last $KEEP ended jobs"
is "$(zkput ls "$R/jobs" | wc -l | tr -d ' ')" "$KEEP" "and jobs/ only theirs: the older ones are pruned"
is "$(grep -c ' pruned: ' "$T/coord.log")" "$((N - KEEP))" "the coordinator pruned $((N - KEEP)) jobs"
is "$(onyx-submit --list | jq -r .status | sort | uniq -c | tr -s ' ')" " $KEEP completed" \
    "onyx-submit --list shows the jobs kept, completed"
run_rc onyx-submit --kill "$(job 1)"
like "$RC:$ERR" "^66:onyx-submit: no job $(job 1)" "a pruned job is no job any more (exit 66)"
echo "# the test took $(($(date +%s) - START)) s"
done_testing
