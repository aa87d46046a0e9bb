#!/bin/bash
# onyx-coord decisions checked one by one, with peers played by the test:
# offers not acknowledged in time are revoked, offers of dead peers are
# revoked, onyx/max-peers and sequential tasks cap the peers, jobs are
# served round-robin.
. "$(dirname "$0")/lib.sh"
plan 11
export ONYX_CLUSTER=$TESTNAME-$$
R=/onyx/$ONYX_CLUSTER
onyx-coord -s 4000 -o 1000 2> "$T/coord.log" &
PIDS="$PIDS $!"
# wait_log PATTERN: until the coordinator has logged it
wait_log() {
	local i
	for i in $(seq 1 100); do
		grep -Eq -- "$1" "$T/coord.log" && return 0
		sleep 0.1
	done
	return 1
}
offer_of() {
	local o
	if o=$(zkput get "$R/assign/$1" 2>/dev/null); then
		printf '%s' "$o" | jq -r '"\(.job) \(.task)"'
	else
		echo none
	fi
}

# a job of three tasks, each capped at one peer
jq --arg id "cap-$$" '. + {id: $id} | (.catalog[] | ."onyx/max-peers") = 1' \
    "$ONYX_ROOT/examples/inc/job.json" | onyx-plan | onyx-submit > /dev/null
wait_log "leader"
for p in p1 p2 p3 p4; do zkput create "$R/peers/$p" '{"id":"'$p'"}'; done
for i in $(seq 1 100); do
	[ "$(grep -c "offer peer=p" "$T/coord.log")" -ge 3 ] && break
	sleep 0.1
done
sleep 0.5
offers=$(for p in p1 p2 p3 p4; do offer_of $p; done | sort)
is "$(printf '%s\n' "$offers" | grep -c "^cap-$$ ")" 3 "three peers get offers: one per task, max-peers 1"
is "$(printf '%s\n' "$offers" | grep "^cap-$$ " | awk '{print $2}' | sort | tr '\n' ' ')" "in inc out " \
    "breadth-first: every task gets its peer"
is "$(printf '%s\n' "$offers" | grep -c '^none$')" 1 "the fourth peer stays idle"

# nobody answers: after the offer timeout the offers are revoked (and made again)
check "offers not acknowledged within the timeout are revoked" \
    wait_log "revoke peer=p[1-4] job=cap-$$ task=[a-z]+ reason=offer-timeout"

# a peer that acks keeps its task; when its pulse goes, the offer is revoked
for i in $(seq 1 50); do
	o=$(zkput get "$R/assign/p1" 2>/dev/null || true)
	[ -n "$o" ] && [ "$(printf '%s' "$o" | jq -r .state)" = offered ] && break
	sleep 0.1
done
zkput set "$R/assign/p1" "$(printf '%s' "$o" | jq -c '.state = "acked"')"
sleep 2
is "$(zkput get "$R/assign/p1" | jq -r .state)" acked "an acknowledged offer is not revoked"
zkput delete "$R/peers/p1"
check "the offer of a peer whose pulse is gone is revoked" \
    wait_log "revoke peer=p1 job=cap-$$ .*reason=peer-dead"
check "and its node removed" sh -c "! zkput get $R/assign/p1 > /dev/null 2>&1"

# a second job: idle peers go round-robin between the two jobs
jq --arg id "rr-$$" '. + {id: $id}' "$ONYX_ROOT/examples/inc/job.json" |
    onyx-plan | onyx-submit > /dev/null
for p in p5 p6 p7 p8; do zkput create "$R/peers/$p" '{"id":"'$p'"}'; done
check "the second job gets offers while the first still runs" wait_log "offer peer=p[0-9] job=rr-$$"
check "the first job never has more than one peer on a task" \
    sh -c "[ \$(onyx-watch --json | jq '[.jobs[] | select(.job == \"cap-$$\") | .tasks[].peers | length] | max') -le 1 ]"
# the broker settings come from flags too: a bad one is a usage error
run_rc onyx-coord -B 'notaurl:::'
like "$RC:$ERR" "^64:onyx-coord: --broker: broker URL 'notaurl:\*\*\*' is not amqp\\[s\\]://" "onyx-coord -B: a bad URL exits 64, naming the flag (a port that is not a number redacted)"
run_rc onyx-coord --password-file "$T/none"
like "$RC:$ERR" "^78:onyx-coord: --password-file: .*none: No such file" "onyx-coord --password-file: an unreadable file exits 78"
done_testing
