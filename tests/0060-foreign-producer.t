#!/bin/bash
# A plain AMQP producer (python3-qpid-proton, a default sender: a bare target
# address, no capabilities) that sends to a queue no one has created yet:
# the broker keeps every message (scripts/services makes auto-created
# addresses and queues ANYCAST), onyx-queue stat and recv see them, and a job
# submitted afterwards reads them all.
. "$(dirname "$0")/lib.sh"
plan 9
export ONYX_CLUSTER=$TESTNAME-$$
export ONYX_FN_PATH=$ONYX_ROOT/build/examples
PY=/usr/bin/python3
N=1000

cat > "$T/send.py" <<'PY'
import os, sys
from proton import Message
from proton.handlers import MessagingHandler
from proton.reactor import Container

class Send(MessagingHandler):
    def __init__(self, url, queue, bodies):
        super().__init__()
        self.url, self.queue, self.bodies = url, queue, bodies
        self.sent = self.accepted = 0
    def on_start(self, event):
        conn = event.container.connect(self.url,
            user=os.environ["ONYX_BROKER_USER"],
            password=os.environ["ONYX_BROKER_PASSWORD"],
            allowed_mechs="PLAIN")
        # the default: create_sender(name), no "queue" capability
        event.container.create_sender(conn, self.queue)
    def on_sendable(self, event):
        while event.sender.credit and self.sent < len(self.bodies):
            event.sender.send(Message(body=self.bodies[self.sent], durable=True))
            self.sent += 1
    def on_accepted(self, event):
        self.accepted += 1
        if self.accepted == len(self.bodies):
            event.connection.close()
    def on_rejected(self, event):
        sys.exit("rejected: %s" % event.delivery.remote.condition)
    def on_transport_error(self, event):
        sys.exit("transport error: %s" % event.transport.condition)

bodies = [l.rstrip("\n") for l in sys.stdin]
h = Send(os.environ["ONYX_SANDBOX_BROKER_PLAIN"].replace("amqp://", ""), sys.argv[1], bodies)
Container(h).run()
print(h.accepted)
PY
# objects of several shapes, one per line, compact as onyx-queue prints them
segs() { awk -v n="$1" 'BEGIN { for (i = 1; i <= n; i++)
    printf "{\"n\":%d,\"s\":\"seg %d\",\"a\":[%d,{\"k\":true}]}\n", i, i, i * 7 }'; }
segs $N > "$T/in.jsonl"

# 1. onyx-queue recv gets every message of a producer that came first
q=$(qname plain)
run_rc onyx-queue stat "$q"
is "$RC" 69 "the queue does not exist before the producer sends"
run_rc $PY "$T/send.py" "$q" < "$T/in.jsonl"
is "$RC:$OUT" "0:$N" "a default python3-qpid-proton sender has all $N messages accepted"
run_rc onyx-queue stat --json "$q"
is "$RC:$(printf '%s' "$OUT" | jq -c '[.messages, .consumers]')" "0:[$N,0]" \
    "onyx-queue stat shows the queue the broker created, with all $N messages"
run_rc onyx-queue recv "$q" -n $N -w 10000
is "$RC" 0 "onyx-queue recv -n $N exits 0"
printf '%s\n' "$OUT" > "$T/recv.jsonl"
check "and prints exactly what was sent, in order" cmp -s "$T/recv.jsonl" "$T/in.jsonl"
is "$(messages "$q")" 0 "nothing is left on the queue"

# 2. a job whose input queue a plain producer fed before the job existed
onyx-coord -s 4000 2>> "$T/coord.log" & PIDS="$PIDS $!"
onyx-peer -n 3 2>> "$T/peer.log" & PIDS="$PIDS $!"
jq --arg s "-$$" --arg id "plain-$$" \
    '. + {id: $id} | (.catalog[] | select(."artemis/queue-name") | ."artemis/queue-name") |= . + $s' \
    "$ONYX_ROOT/examples/inc/job.json" | onyx-plan > "$T/inc.plan"
run_rc $PY "$T/send.py" "inc-in-$$" < "$T/in.jsonl"
is "$RC:$OUT" "0:$N" "the producer feeds the job's input queue before the job is submitted"
onyx-submit --wait --timeout 120000 < "$T/inc.plan" > /dev/null 2> "$T/submit.err" &
SUB=$!
onyx-queue send "inc-in-$$" --done < /dev/null
onyx-queue recv "inc-out-$$" --until-done -w 60000 | sort > "$T/inc.out"
set +e; wait $SUB; rc=$?; set -e
is "$rc" 0 "the job completes"
jq -c '.n += 1' "$T/in.jsonl" | sort > "$T/inc.want"
check "its output is exactly n+1 of each of the $N segments the plain producer sent" \
    cmp -s "$T/inc.out" "$T/inc.want"
done_testing
