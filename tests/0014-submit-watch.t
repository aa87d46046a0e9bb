#!/bin/bash
# onyx-submit (submit, refuse twice, list, kill, wait) and onyx-watch
# (state, tree, follow) against a real ZooKeeper and Artemis, no coordinator.
. "$(dirname "$0")/lib.sh"
plan 35
export ONYX_CLUSTER=$TESTNAME-$$
root=/onyx/$ONYX_CLUSTER
# plan_of ID: the plan of the example job run as job ID
plan_of() { jq --arg id "$1" '.id = $id' "$ONYX_ROOT/examples/inc/job.json" | onyx-plan; }

onyx-plan "$ONYX_ROOT/examples/inc/job.json" > "$T/plan.json"
job=$(jq -r .job "$T/plan.json")

run_rc onyx-submit < "$T/plan.json"
is "$RC:$OUT" "0:$job" "submit prints the job id of the plan"
run_rc onyx-queue stat "onyx.edge.$job.in.inc" "onyx.edge.$job.inc.out" \
    "onyx.seal.$job.inc" "onyx.done.$job.out" inc-in inc-out
is "$RC:$(printf '%s\n' "$OUT" | wc -l)" "0:6" "the edge, seal, done and user queues exist"

run_rc onyx-submit "$T/plan.json"
is "$RC" 65 "a second submit of the same plan is refused: exit 65"
is "$ERR" "onyx-submit: job $job was already submitted (status submitted)" "and says so"

run_rc onyx-submit --list
is "$RC:$(printf '%s' "$OUT" | jq -r '[.job, .status] | join(" ")')" \
    "0:$job submitted" "--list shows the job submitted"
like "$OUT" '"submitted":[0-9]{13}' "with its submission time"

run_rc onyx-watch
is "$RC" 0 "onyx-watch reads the cluster"
is "$(printf '%s' "$OUT" | jq -c '[.cluster, .leader, .peers]')" \
    "[\"$ONYX_CLUSTER\",null,[]]" "no leader, no peers"
is "$(printf '%s' "$OUT" | jq -r '.jobs[0] | [.job, .status] | join(" ")')" \
    "$job submitted" "the job is submitted"
is "$(printf '%s' "$OUT" | jq -c '[.jobs[0].tasks[] | [.name, .phase, .status, .peers, .read, .written]]')" \
    '[["in",0,"waiting",[],0,0],["inc",1,"waiting",[],0,0],["out",2,"waiting",[],0,0]]' \
    "its tasks wait, with their phases"
is "$(printf '%s' "$OUT" | jq -r '.jobs[0].why')" \
    "task in needs a peer: 0 idle peers of 0" "why names a task that needs a peer"

# progress and task records the coordinator and peers would write
zkset "$root/jobs/$job/status" '{"status":"running","at":1}'
run_rc onyx-watch --json
is "$(printf '%s' "$OUT" | jq -r '.jobs[0].status')" running "a status change shows"

# peers, an assignment and progress, as peers and the coordinator write them
zkset "$root/peers/p1" '{"id":"p1","host":"h1","pid":11,"at":1}'
zkset "$root/peers/p2" '{"id":"p2","host":"h2","pid":22,"at":1}'
zkset "$root/assign/p2" "{\"job\":\"$job\",\"task\":\"inc\",\"offer\":1,\"state\":\"acked\"}"
zkset "$root/jobs/$job/stats/p2" '{"task":"inc","read":5,"written":4}'
zkset "$root/jobs/$job/stats/p9" '{"task":"inc","read":2,"written":2}'
zkset "$root/jobs/$job/done/in" '{"peer":"p0","end":"sealed","at":1}'
run_rc onyx-watch
is "$(printf '%s' "$OUT" | jq -c '[.peers[] | [.id, .host, .pid, .state, .job != null, .task]]')" \
    '[["p1","h1",11,"idle",false,null],["p2","h2",22,"active",true,"inc"]]' \
    "peers with their state from assign/"
is "$(printf '%s' "$OUT" | jq -c '[.jobs[0].tasks[] | [.name, .status, .peers, .read, .written]]')" \
    '[["in","complete",[],0,0],["inc","waiting",["p2"],7,6],["out","waiting",[],0,0]]' \
    "a done task is complete; peers and summed progress per task"
is "$(printf '%s' "$OUT" | jq -r '.jobs[0].why')" \
    "task out needs a peer: 1 idle peer of 2" "why counts idle peers"

run_rc onyx-watch tree
is "$RC" 0 "tree reads every znode"
is "$(printf '%s\n' "$OUT" | jq -c "select(.path == \"$root/jobs/$job/status\") | .data")" \
    '{"status":"running","at":1}' "tree lists the status with its JSON"
is "$(printf '%s\n' "$OUT" | jq -r .path | head -3 | tr '\n' ' ')" \
    "$root/assign $root/assign/p2 $root/coord " "depth-first, sorted"

run_rc onyx-submit --kill "$job"
is "$RC" 0 "--kill of a running job"
run_rc onyx-submit --list
is "$(printf '%s' "$OUT" | jq -r '[.status, .reason] | join(":")')" \
    "killed:killed by onyx-submit" "the job is killed, with the reason"
run_rc onyx-submit --kill "$job"
is "$RC:$ERR" "65:onyx-submit: job $job has ended already: killed" \
    "a second --kill: exit 65"
run_rc onyx-submit --kill "no-such-job"
is "$RC:$ERR" "66:onyx-submit: no job no-such-job" "--kill of an unknown job: exit 66"

# --wait ends with the status another process writes
plan_of "sw-$$-a" > "$T/a.json"
onyx-submit --wait < "$T/a.json" > "$T/a.out" 2> "$T/a.err" &
APID=$!
PIDS="$PIDS $APID"
wait_lines "$T/a.out" 1 20
zkset "$root/jobs/sw-$$-a/status" '{"status":"running","at":2}'
sleep 0.3
zkset "$root/jobs/sw-$$-a/status" '{"status":"completed","at":3}'
set +e; wait $APID; RC=$?; set -e
is "$RC:$(cat "$T/a.out")" "0:sw-$$-a" "--wait exits 0 when the job completes"

plan_of "sw-$$-b" > "$T/b.json"
onyx-submit -w < "$T/b.json" > "$T/b.out" 2> "$T/b.err" &
BPID=$!
PIDS="$PIDS $BPID"
wait_lines "$T/b.out" 1 20
zkset "$root/jobs/sw-$$-b/status" '{"status":"failed","reason":"task inc: boom","at":3}'
set +e; wait $BPID; RC=$?; set -e
is "$RC:$(cat "$T/b.err")" "70:onyx-submit: job sw-$$-b failed: task inc: boom" \
    "--wait on a failed job prints the reason, exit 70"

plan_of "sw-$$-c" > "$T/c.json"
run_rc onyx-submit --wait --timeout 300 "$T/c.json"
is "$RC:$ERR" "75:onyx-submit: job sw-$$-c: still submitted after 300 ms" \
    "--timeout bounds the wait: exit 75"

onyx-submit --kill "sw-$$-c"
plan_of "sw-$$-d" > "$T/d.json"
onyx-submit --wait "$T/d.json" > "$T/d.out" 2> "$T/d.err" &
DPID=$!
PIDS="$PIDS $DPID"
wait_lines "$T/d.out" 1 20
onyx-submit --list > "$T/list"
is "$(jq -r 'select(.job | test("-[cd]$")) | [.job, .status] | join(":")' "$T/list" | tr '\n' ' ')" \
    "sw-$$-c:killed sw-$$-d:submitted " "--list is in submission order (a kill keeps the time)"
kill -TERM $DPID
set +e; wait $DPID; RC=$?; set -e
is "$RC:$(cat "$T/d.err")" \
    "75:onyx-submit: stopped waiting for job sw-$$-d (still submitted); it keeps running" \
    "SIGTERM stops the wait: exit 75, the job goes on"

# -f prints a line when the state changes
onyx-watch -f -n 2 --timeout 20000 > "$T/f.out" 2> "$T/f.err" &
FPID=$!
PIDS="$PIDS $FPID"
wait_lines "$T/f.out" 1 20
zkset "$root/jobs/sw-$$-d/status" '{"status":"running","at":4}'
set +e; wait $FPID; RC=$?; set -e
is "$RC:$(wc -l < "$T/f.out")" "0:2" "-f -n 2 prints the first state and one change"
is "$(sed -n 2p "$T/f.out" | jq -r '.jobs[] | select(.job == "sw-'$$'-d") | .status')" \
    running "the new line shows the change"
run_rc onyx-watch -f -n 2 --timeout 300
is "$RC:$(printf '%s\n' "$OUT" | wc -l)" "75:1" "-f without a change: one line, then exit 75 at the timeout"

# bad input
run_rc sh -c 'echo "{not json" | onyx-submit'
is "$RC" 65 "input that is not JSON: exit 65"
like "$ERR" '^onyx-submit: stdin:1:[0-9]+: not JSON' "and says where"
run_rc sh -c 'echo "{\"workflow\":[]}" | onyx-submit'
is "$RC:$ERR" '65:onyx-submit: stdin: not a plan (the output of onyx-plan): no "job", no "tasks", no "queues"' \
    "a job document instead of a plan: exit 65, naming what is missing"
run_rc onyx-submit --list --kill x
is "$RC" 64 "--list and --kill together: usage error"
run_rc env ONYX_ZK=127.0.0.1:1 onyx-submit --list
like "$RC:$ERR" '^69:onyx-submit: .*127\.0\.0\.1:1' "ZooKeeper unreachable: exit 69, naming it"
done_testing
