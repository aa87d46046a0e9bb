#!/bin/bash
# scripts/services (behind make sandbox): idempotent start, a usable env file,
# a persistent broker journal across restarts, a clean stop.
. "$(dirname "$0")/lib.sh"
plan 10
D=$ONYX_TEST_RUN/sandbox-$$
procs() { pgrep -f -- "$D/" | wc -l; }

run_rc "$ONYX_ROOT/scripts/services" start "$D"
is "$RC" 0 "start brings up ZooKeeper and Artemis"
pids=$(cat "$D/zk.pid" "$D/artemis.pid" | tr '\n' ' ')
run_rc "$ONYX_ROOT/scripts/services" start "$D"
is "$RC:$(cat "$D/zk.pid" "$D/artemis.pid" | tr '\n' ' ')" "0:$pids" \
    "a second start leaves the running set alone"
is "$(procs)" 2 "exactly one ZooKeeper and one broker run for the folder"
for v in ONYX_ZK ONYX_BROKER ONYX_BROKER_USER ONYX_BROKER_PASSWORD ONYX_CLUSTER; do
	grep -q "^export $v=" "$D/env" || echo "# $v missing"
done
check "the env file exports the five variables" \
    test "$(grep -cE '^export (ONYX_ZK|ONYX_BROKER|ONYX_BROKER_USER|ONYX_BROKER_PASSWORD|ONYX_CLUSTER)=' "$D/env")" -eq 5
(
	. "$D/env"
	gen 3 | onyx-queue send sandbox-q
	"$ONYX_ROOT/scripts/services" restart-broker "$D"
	onyx-queue recv sandbox-q -n 3 -w 10000 > "$T/after"
)
gen 3 > "$T/want"
check "messages survive a broker restart (persistent journal)" cmp -s "$T/want" "$T/after"
(
	. "$D/env"
	echo ruok | timeout 5 python3 -c '
import socket, sys
h, p = sys.argv[1].split(":")
s = socket.create_connection((h, int(p))); s.sendall(b"ruok"); print(s.recv(4).decode())' "$ONYX_ZK"
) > "$T/ruok"
is "$(cat "$T/ruok")" imok "ZooKeeper answers on the advertised port"
check "both bind 127.0.0.1 only" sh -c "! grep -q '0.0.0.0' '$D/artemis/etc/broker.xml' && grep -q 'clientPortAddress=127.0.0.1' '$D/zk/zoo.cfg'"
run_rc "$ONYX_ROOT/scripts/services" status "$D"
is "$RC" 0 "status: both up"
"$ONYX_ROOT/scripts/services" stop "$D"
is "$(procs)" 0 "stop ends both"
run_rc "$ONYX_ROOT/scripts/services" status "$D"
is "$RC" 69 "status after stop: exit 69"
done_testing
