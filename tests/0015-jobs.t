#!/bin/bash
# Jobs end to end: onyx-plan | onyx-submit --wait with a real onyx-coord and
# onyx-peer processes, on real ZooKeeper and Artemis.
. "$(dirname "$0")/lib.sh"
plan 25
export ONYX_CLUSTER=$TESTNAME-$$
export ONYX_FN_PATH=$ONYX_ROOT/build/examples
EX=$ONYX_ROOT/examples
START=()

# (this test's own processes only: others may run on the machine)
COORDS= PEERPIDS=
coord() { onyx-coord -s 4000 "$@" 2>> "$T/coord.log" & PIDS="$PIDS $!"; LAST=$!; COORDS="$COORDS $!"; }
peers() { onyx-peer -n "$1" 2>> "$T/peer.log" & PIDS="$PIDS $!"; LAST=$!; PEERPIDS="$PEERPIDS $!"; }
# job NAME DOC: a plan of DOC with the job id NAME-$$ (so reruns do not clash)
job() { jq --arg id "$1-$$" '. + {id: $id}' "$2" | onyx-plan; }
# queues of a job document, renamed for this run
rename() { jq --arg s "-$1-$$" '(.catalog[] | select(."artemis/queue-name") | ."artemis/queue-name") |= . + $s' "$2"; }
watch_json() { onyx-watch --json; }
job_status() { watch_json | jq -r --arg j "$1" '.jobs[] | select(.job == $j) | .status'; }
wait_status() { # JOB STATUS [SECONDS]
	local i
	for i in $(seq 1 $((${3:-60} * 5))); do
		[ "$(job_status "$1")" = "$2" ] && return 0
		sleep 0.2
	done
	return 1
}
plus1() { awk -v n="$1" 'BEGIN { for (i = 1; i <= n; i++) printf "{\"n\":%d}\n", i + 1 }'; }

coord
peers 4

# 1. in -> inc -> out, 100,000 segments, 4 virtual peers
rename big "$EX/inc/job.json" > "$T/inc.json"
job inc "$T/inc.json" > "$T/inc.plan"
J=$(jq -r .job "$T/inc.plan")
onyx-submit --wait --timeout 300000 < "$T/inc.plan" > "$T/inc.id" 2> "$T/inc.err" &
SUB=$!
nums 100000 | onyx-queue send "inc-in-big-$$" --done
onyx-queue recv "inc-out-big-$$" --until-done -w 120000 > "$T/inc.out"
set +e; wait $SUB; rc=$?; set -e
is "$rc:$(cat "$T/inc.id")" "0:$J" "onyx-submit --wait prints the job id and exits 0 when the job completes"
sort "$T/inc.out" > "$T/inc.sorted"
plus1 100000 | sort > "$T/inc.want"
check "the output is exactly n+1 for each of the 100,000 inputs" cmp -s "$T/inc.sorted" "$T/inc.want"
is "$(messages "inc-out-big-$$")" 0 "exactly one sentinel ended the output"
is "$(job_status "$J")" completed "onyx-watch shows the job completed"
is "$(watch_json | jq -r --arg j "$J" '[.jobs[] | select(.job == $j) | .tasks[].status] | join(" ")')" \
    "complete complete complete" "and each task complete"
sleep 1
is "$(watch_json | jq -r --arg j "$J" '[.jobs[] | select(.job == $j) | .tasks[] | "\(.name)=\(.read)/\(.written)"] | join(" ")')" \
    "in=100000/100000 inc=100000/100000 out=100000/100000" "onyx-watch counts every segment read and written, per task"

# 2. fan-out and fan-in: each input once through each branch
rename dag "$EX/dag/job.json" > "$T/dag.json"
job dag "$T/dag.json" > "$T/dag.plan"
onyx-submit --wait --timeout 120000 < "$T/dag.plan" > /dev/null &
SUB=$!
nums 2000 | onyx-queue send "dag-in-dag-$$" --done
onyx-queue recv "dag-out-dag-$$" --until-done -w 60000 | sort > "$T/dag.out"
set +e; wait $SUB; rc=$?; set -e
is "$rc" 0 "the fan-out/fan-in job completes"
{ nums 2000; plus1 2000; } | sort > "$T/dag.want"
check "every input reached the output once through each branch" cmp -s "$T/dag.out" "$T/dag.want"

# 3. two jobs at once on 6 peers: both complete
peers 2
for k in a b; do
	rename $k "$EX/inc/job.json" > "$T/$k.json"
	job two$k "$T/$k.json" > "$T/$k.plan"
	onyx-submit --wait --timeout 120000 < "$T/$k.plan" > /dev/null &
	eval "SUB_$k=\$!"
done
nums 5000 | onyx-queue send "inc-in-a-$$" --done
nums 5000 | onyx-queue send "inc-in-b-$$" --done
onyx-queue recv "inc-out-a-$$" --until-done -w 60000 | sort > "$T/a.out"
onyx-queue recv "inc-out-b-$$" --until-done -w 60000 | sort > "$T/b.out"
set +e; wait $SUB_a; ra=$?; wait $SUB_b; rb=$?; set -e
is "$ra:$rb" "0:0" "two jobs submitted together both complete"
plus1 5000 | sort > "$T/ab.want"
check "both outputs are exact" sh -c "cmp -s $T/a.out $T/ab.want && cmp -s $T/b.out $T/ab.want"
check "peers were shared: both jobs had peers while running" \
    sh -c "grep -q 'offer .*job=twoa-$$' $T/coord.log && grep -q 'offer .*job=twob-$$' $T/coord.log"

# 4. killing a job: --wait exits non-zero, its peers go back to idle
rename kill "$EX/inc/job.json" > "$T/kill.json"
job kill "$T/kill.json" > "$T/kill.plan"
KJ=$(jq -r .job "$T/kill.plan")
onyx-submit --wait --timeout 60000 < "$T/kill.plan" > /dev/null 2> "$T/kill.err" &
SUB=$!
nums 1000 | onyx-queue send "inc-in-kill-$$"   # no sentinel: it would run forever
wait_status "$KJ" running 30
run_rc onyx-submit --kill "$KJ"
is "$RC" 0 "onyx-submit --kill kills a running job"
set +e; wait $SUB; rc=$?; set -e
is "$rc" 75 "onyx-submit --wait on the killed job exits 75"
like "$(cat "$T/kill.err")" "killed" "and says the job was killed"
for i in $(seq 1 50); do
	[ "$(watch_json | jq '[.peers[] | select(.state != "idle")] | length')" = 0 ] && break
	sleep 0.2
done
is "$(watch_json | jq '[.peers[] | select(.state != "idle")] | length')" 0 "its peers return to idle"

# 5. fewer peers than tasks: the job waits, says why, and completes when peers come
kill -TERM $PEERPIDS 2>/dev/null || true
sleep 1
peers 1
P1=$LAST
rename few "$EX/inc/job.json" > "$T/few.json"
job few "$T/few.json" > "$T/few.plan"
FJ=$(jq -r .job "$T/few.plan")
onyx-submit --wait --timeout 120000 < "$T/few.plan" > /dev/null &
SUB=$!
# the input stays open for now, so the one peer stays on the first task
nums 3000 | onyx-queue send "inc-in-few-$$"
sleep 3
like "$(watch_json | jq -r --arg j "$FJ" '.jobs[] | select(.job == $j) | .why // ""')" \
    "^task inc needs a peer: 0 idle peers of 1" "with 1 peer for 3 tasks the job says which task needs a peer"
peers 3
onyx-queue send "inc-in-few-$$" --done < /dev/null
onyx-queue recv "inc-out-few-$$" --until-done -w 60000 | sort > "$T/few.out"
set +e; wait $SUB; rc=$?; set -e
plus1 3000 | sort > "$T/few.want"
check "it completes once more peers start, with the exact output" \
    sh -c "[ $rc = 0 ] && cmp -s $T/few.out $T/few.want"

# 6. the leader killed mid-job: a standby takes over, the job completes exactly
coord
STANDBY=$LAST
LEADER=$(watch_json | jq -r .leader.pid)
rename ha "$EX/inc/job.json" > "$T/ha.json"
job ha "$T/ha.json" > "$T/ha.plan"
onyx-submit --wait --timeout 180000 < "$T/ha.plan" > /dev/null &
SUB=$!
# the stream's end waits until the standby leads: the job is mid-way when
# the leader dies, however fast it moves
nums 20000 | onyx-queue send "inc-in-ha-$$"
wait_status "$(jq -r .job "$T/ha.plan")" running 30
kill -9 "$LEADER"
for _ in $(seq 1 300); do grep -q "leader: .*-$STANDBY " "$T/coord.log" && break; sleep 0.1; done
onyx-queue send --done "inc-in-ha-$$" < /dev/null
onyx-queue recv "inc-out-ha-$$" --until-done -w 120000 | sort > "$T/ha.out"
set +e; wait $SUB; rc=$?; set -e
plus1 20000 | sort > "$T/ha.want"
check "after SIGKILL of the leader the job completes with the exact output" \
    sh -c "[ $rc = 0 ] && cmp -s $T/ha.out $T/ha.want"
check "the standby took over" grep -q "leader: .*-$STANDBY " "$T/coord.log"

# 7. the only coordinator killed mid-job and restarted later: the job completes
for c in $COORDS; do kill -9 "$c" 2>/dev/null || true; done
coord
rename re "$EX/inc/job.json" > "$T/re.json"
job re "$T/re.json" > "$T/re.plan"
RJ=$(jq -r .job "$T/re.plan")
onyx-submit --wait --timeout 180000 < "$T/re.plan" > /dev/null &
SUB=$!
nums 20000 | onyx-queue send "inc-in-re-$$"
wait_status "$RJ" running 30
kill -9 "$LAST"
sleep 2
coord
# the end of the stream once the new coordinator runs: mid-job for sure
onyx-queue send --done "inc-in-re-$$" < /dev/null
onyx-queue recv "inc-out-re-$$" --until-done -w 120000 | sort > "$T/re.out"
set +e; wait $SUB; rc=$?; set -e
plus1 20000 | sort > "$T/re.want"
check "a coordinator restarted mid-job carries it to completion, output exact" \
    sh -c "[ $rc = 0 ] && cmp -s $T/re.out $T/re.want"

# 8. a function that cannot load fails the job with the reason
jq '(.catalog[] | select(."onyx/name" == "inc") | ."onyx/fn") = "libnosuch.so:inc"' "$T/inc.json" |
    jq --arg s "-bad-$$" '(.catalog[] | select(."artemis/queue-name") | ."artemis/queue-name") |= sub("-big-[0-9]+$"; $s)' > "$T/bad.json"
job bad "$T/bad.json" > "$T/bad.plan"
BJ=$(jq -r .job "$T/bad.plan")
run_rc onyx-submit --wait --timeout 60000 < "$T/bad.plan"
is "$RC" 70 "a job whose function cannot load: onyx-submit --wait exits 70"
like "$ERR" "job $BJ failed: task inc on peer .*libnosuch.so" "and prints the reason, naming the task and the library"
like "$(watch_json | jq -r --arg j "$BJ" '.jobs[] | select(.job == $j) | "\(.status): \(.reason)"')" \
    "^failed: task inc on peer .*libnosuch.so" "onyx-watch shows the job failed with the reason"

# 9. a sequential pipeline keeps order and never has two peers on a task
jq '(.catalog[] | ."onyx/consumption") = "sequential"' "$T/inc.json" |
    jq --arg s "-seq-$$" '(.catalog[] | select(."artemis/queue-name") | ."artemis/queue-name") |= sub("-big-[0-9]+$"; $s)' > "$T/seq.json"
job seq "$T/seq.json" > "$T/seq.plan"
SJ=$(jq -r .job "$T/seq.plan")
onyx-submit --wait --timeout 120000 < "$T/seq.plan" > /dev/null &
SUB=$!
nums 5000 | onyx-queue send "inc-in-seq-$$" --done
max=0
while kill -0 $SUB 2>/dev/null; do
	m=$(watch_json | jq --arg j "$SJ" '[.jobs[] | select(.job == $j) | .tasks[].peers | length] | max // 0')
	[ "$m" -gt "$max" ] && max=$m
	sleep 0.2
done
onyx-queue recv "inc-out-seq-$$" --until-done -w 60000 > "$T/seq.out"
is "$max" 1 "a sequential task never had more than one peer"
plus1 5000 > "$T/seq.want"
check "the output order equals the input order" cmp -s "$T/seq.out" "$T/seq.want"
done_testing
