#!/bin/bash
# Every program exits within 2 s of SIGTERM, in the states where it waits:
# onyx-queue recv on an empty queue, onyx-submit --wait on a job that does
# not move, an idle onyx-coord, and an onyx-peer whose ZooKeeper is gone
# (paused past its session timeout: calls retry, the session is lost).
# The coordinator and one peer serve /metrics as well (its server stops too).
. "$(dirname "$0")/lib.sh"
plan 11
export ONYX_CLUSTER=$TESTNAME-$$
now_ms() { date +%s%3N; }
wait_for() { # SECONDS CMD...
	local n=$(($1 * 10)) i; shift
	for i in $(seq 1 $n); do "$@" > /dev/null 2>&1 && return 0; sleep 0.1; done
	return 1
}
# term PID NAME EXPECTED-RC: SIGTERM, then the exit code and the time
term() {
	local start t rc
	start=$(now_ms)
	kill -TERM "$1"
	set +e; wait "$1"; rc=$?; set -e
	t=$(($(now_ms) - start))
	echo "# $2: SIGTERM to exit: $t ms"
	is "$rc" "$3" "$2: exit $3 after SIGTERM"
	check "$2: within 2 s ($t ms)" [ "$t" -lt 2000 ]
}

Q=$(qname empty)
onyx-queue create "$Q"
onyx-queue recv "$Q" > /dev/null 2> "$T/recv.err" &
RECV=$!
PIDS="$PIDS $RECV"
wait_for 10 sh -c "[ \"\$(onyx-queue stat --json $Q | jq -r .consumers)\" = 1 ]"
term $RECV "onyx-queue recv waiting on an empty queue" 0

onyx-coord -s 4000 --metrics 127.0.0.1:0 2> "$T/coord.log" &
COORD=$!
PIDS="$PIDS $COORD"
jq --arg s "-$$" --arg id "still-$$" '(.catalog[] | select(."artemis/queue-name") | ."artemis/queue-name") |= . + $s | . + {id: $id}' \
    "$ONYX_ROOT/examples/inc/job.json" | onyx-plan > "$T/plan"
onyx-submit --wait < "$T/plan" > /dev/null 2> "$T/submit.err" &
SUB=$!
PIDS="$PIDS $SUB"
wait_for 30 sh -c "onyx-watch --json | jq -e '.jobs[] | select(.job == \"still-$$\")'"
term $SUB "onyx-submit --wait on a job without peers" 75
term $COORD "onyx-coord, leading" 0

# peers cut off from ZooKeeper (the server SIGSTOPped): one stopped while
# its calls still wait for answers on a connection that looks alive, the
# other once the client has noticed and reconnects (its calls then wait for
# the library's operation timeout, two thirds of the session's)
onyx-peer -s 4000 -n 2 --metrics 127.0.0.1:0 2> "$T/peer0.log" &
PEER0=$!
onyx-peer -s 4000 -n 2 2> "$T/peer.log" &
PEER=$!
PIDS="$PIDS $PEER0 $PEER"
wait_for 20 sh -c "[ \$(zkput ls /onyx/$ONYX_CLUSTER/peers | wc -l) -eq 4 ]"
ZK=$(cat "$ONYX_TEST_SVC/zk.pid")
kill -STOP "$ZK"
trap 'kill -CONT $ZK 2> /dev/null; cleanup' EXIT
# unanswered: a request of PEER0's waits, unread, at the stopped server
# (the Recv-Q of the server's end of PEER0's connection)
pending_at_zk() {
	local port=${ONYX_ZK##*:} mine
	# its local port; the server's end may show it IPv4-mapped
	mine=$(ss -tnpH state established "( dport = :$port )" |
	    awk -v p="pid=$PEER0," 'index($0, p) { sub(/.*:/, "", $3); print $3 }')
	[ -n "$mine" ] && ss -tnH state established "( sport = :$port )" |
	    awk -v m=":$mine" 'substr($4, length($4) - length(m) + 1) == m && $1 > 0 { f = 1 }
	        END { exit !f }'
}
check "a call of the peer waits at the silent server" wait_for 5 pending_at_zk
term $PEER0 "onyx-peer just after ZooKeeper stopped answering" 0
# the moment the client notices and starts to reconnect
wait_for 20 grep -q "ZooKeeper connection lost" "$T/peer.log"
term $PEER "onyx-peer with ZooKeeper gone" 0
kill -CONT "$ZK"
if [ "$_failed" != 0 ]; then
	sed 's/^/# peer0: /' "$T/peer0.log" | tail -20
	sed 's/^/# peer: /' "$T/peer.log" | tail -20
	sed 's/^/# submit: /' "$T/submit.err"
fi
onyx-queue delete "$Q"
done_testing
