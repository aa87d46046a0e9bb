#!/bin/bash
# onyx-peer: virtual peers register in ZooKeeper, take offers (the test
# plays the coordinator by writing znodes), run the tasks of a job end to
# end, go idle when an offer is revoked, and leave cleanly on SIGTERM.
. "$(dirname "$0")/lib.sh"
plan 20
export ONYX_FN_PATH=$ONYX_ROOT/build/examples
export ONYX_CLUSTER=$TESTNAME-$$
C=/onyx/$ONYX_CLUSTER

# wait_for SECONDS CMD...: poll until CMD succeeds
wait_for() {
	local n=$(($1 * 10)) i; shift
	for i in $(seq 1 $n); do "$@" > /dev/null 2>&1 && return 0; sleep 0.1; done
	return 1
}
state() { zkput get "$C/assign/$1" 2> /dev/null | jq -r .state; }
state_is() { [ "$(state "$1")" = "$2" ]; }
# offer PEER JOB TASK N: write an offer as the coordinator does
offer() { zkput create "$C/assign/$1" "{\"job\":\"$2\",\"task\":\"$3\",\"offer\":$4,\"state\":\"offered\"}"; }
# job FILE NAME: store the plan of a job document, with its queues renamed for this run
job() {
	jq --arg p "$(qname "$2")" '.catalog |= map(if ."artemis/queue-name" then
	    ."artemis/queue-name" = $p + "-" + ."artemis/queue-name" else . end) |
	    .id = $p' "$1" | onyx-plan > "$T/plan"
	J=$(jq -r .job "$T/plan")
	IN=$(jq -r '.tasks[] | select(.type == "input") | .ingress[0]' "$T/plan")
	OUT=$(jq -r '.tasks[] | select(.type == "output") | .egress[0]' "$T/plan")
	zkput create "$C/jobs/$J" "$(cat "$T/plan")"
	zkput create "$C/jobs/$J/done"
	zkput create "$C/jobs/$J/stats"
	zkput create "$C/jobs/$J/status" '{"status":"running"}'
}

# usage and configuration errors
run_rc onyx-peer --bogus
is "$RC" 64 "an unknown option is a usage error (64)"
run_rc onyx-peer -n 0
like "$RC:$ERR" "^64:onyx-peer: --peers: '0' is not a whole number" "-n 0 is refused"
run_rc env ONYX_CLUSTER='a/b' onyx-peer
like "$RC:$ERR" "^78:onyx-peer: ONYX_CLUSTER: cluster name 'a/b'" "a bad ONYX_CLUSTER is a config error (78)"
run_rc onyx-peer -z 127.0.0.1:1 -s 4000
like "$RC:$ERR" "^69:onyx-peer: .*127\.0\.0\.1:1" "ZooKeeper unreachable: 69, naming it"
run_rc onyx-peer -B amqp://127.0.0.1:1
like "$RC:$ERR" "^69:onyx-peer: .*127\.0\.0\.1:1" "broker unreachable: 69, naming it"
is "$(zkput ls "$C/peers")" "" "a peer that could not start left no registration"

# three virtual peers register
onyx-peer -v -n 3 2> "$T/peer.err" &
PEER=$!
PIDS="$PIDS $PEER"
wait_for 20 sh -c "[ \$(zkput ls $C/peers | wc -l) -eq 3 ]"
zkput ls "$C/peers" > "$T/peers"
is "$(wc -l < "$T/peers")" 3 "three peers registered under $C/peers"
P0=$(sed -n 1p "$T/peers") P1=$(sed -n 2p "$T/peers") P2=$(sed -n 3p "$T/peers")
like "$P0" "^$(hostname)-$PEER-0$" "a peer id is host-pid-index"
is "$(zkput get "$C/peers/$P0" | jq -c '[.id, .pid, (.at > 0)]')" \
    "[\"$P0\",$PEER,true]" "the registration record holds id, host, pid, at"

# a job in -> inc -> out, one peer per task
job "$ONYX_ROOT/examples/inc/job.json" a
seq 1 1000 | sed 's/.*/{"n":&}/' > "$T/in"
onyx-queue send "$IN" --done < "$T/in"
offer "$P0" "$J" in 1
offer "$P1" "$J" inc 2
offer "$P2" "$J" out 3
check "all three offers are finished" wait_for 60 sh -c \
    "[ \"\$(zkput get $C/assign/$P0 | jq -r .state)\$(zkput get $C/assign/$P1 | jq -r .state)\$(zkput get $C/assign/$P2 | jq -r .state)\" = finishedfinishedfinished ]"
is "$(zkput ls "$C/jobs/$J/done" | tr '\n' ' ')" "in inc out " "done/<task> recorded for every task"
is "$(zkput get "$C/jobs/$J/done/inc" | jq -r '.peer + " " + .end')" "$P1 sealed" \
    "done/inc names the peer that sealed"
is "$(zkput get "$C/jobs/$J/stats/inc.$P1" | jq -c '[.task, .read, .written]')" \
    '["inc",1000,1000]' "stats/<task>.<peer> counts the task's work"
onyx-queue recv "$OUT" --until-done -w 10000 | sort > "$T/got"
awk '{ print $1 + 1 }' <(seq 1 1000) | sed 's/.*/{"n":&}/' | sort > "$T/want"
check "the output is every input plus one, exactly once" cmp -s "$T/got" "$T/want"

# the coordinator deletes finished offers; a bad offer is answered "failed"
for p in $P0 $P1 $P2; do zkput delete "$C/assign/$p"; done
offer "$P0" "no-such-job" inc 4
check "an offer of a job without a plan is answered failed" wait_for 20 state_is "$P0" failed
like "$(zkput get "$C/assign/$P0" | jq -r .reason)" "no-such-job" "the reason names what is missing"
zkput delete "$C/assign/$P0"

# revoke a running task: the peer stops and goes idle, the process stays
job "$ONYX_ROOT/examples/inc/job.json" b
offer "$P1" "$J" in 5
check "the peer acks the offer" wait_for 20 state_is "$P1" acked
zkput delete "$C/assign/$P1"
check "the revoked peer stops its task" wait_for 20 grep -q "$P1: task in of job $J: stopped" "$T/peer.err"
check "the revoked peer is idle and alive" \
    sh -c "! zkput get $C/assign/$P1 > /dev/null 2>&1 && kill -0 $PEER"

# SIGTERM: every peer stops, the session closes, the registrations go
kill -TERM $PEER
set +e
wait $PEER
RC=$?
set -e
is "$RC:$(zkput ls "$C/peers" | wc -l)" "0:0" "SIGTERM: exit 0 and peers/ is empty"
if [ "$_failed" != 0 ]; then sed 's/^/# /' "$T/peer.err"; fi
done_testing
