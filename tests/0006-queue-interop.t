#!/bin/bash
# onyx-queue and other AMQP clients: python3-qpid-proton (Debian) and the
# broker's own CLI send what onyx-queue receives, and receive what it sends.
. "$(dirname "$0")/lib.sh"
plan 10
q=$(qname interop)
PY=/usr/bin/python3

cat > "$T/client.py" <<'PY'
import json, os, sys
from proton import Message
from proton.utils import BlockingConnection
url = os.environ["ONYX_SANDBOX_BROKER_PLAIN"].replace("amqp://", "")
conn = BlockingConnection(url, user=os.environ["ONYX_BROKER_USER"],
    password=os.environ["ONYX_BROKER_PASSWORD"], allowed_mechs="PLAIN")
mode, queue = sys.argv[1], sys.argv[2]
if mode == "send":
    s = conn.create_sender(queue)
    # an amqp-value string, a data section, and a pretty-printed body
    s.send(Message(body='{"from":"python","n":1}', durable=True))
    s.send(Message(body=b'{"from":"python","n":2}', inferred=True,
        content_type="application/json", durable=True))
    s.send(Message(body='{\n  "from": "python",\n  "n": 3\n}', durable=True))
else:
    r = conn.create_receiver(queue)
    for i in range(int(sys.argv[3])):
        m = r.receive(timeout=10)
        body = m.body
        if isinstance(body, (bytes, memoryview)):
            body = bytes(body).decode()
        print(json.dumps({"body": None if body is None else json.loads(body),
            "content_type": m.content_type, "durable": m.durable,
            "sentinel": (m.properties or {}).get("onyx_sentinel", False)},
            sort_keys=True))
    r.accept()
conn.close()
PY

# A plain client attaches without the queue capability: create the queue
# first so its address is anycast (otherwise the broker makes a multicast
# address with no queue, and drops the messages).
onyx-queue create "$q" > /dev/null
$PY "$T/client.py" send "$q"
run_rc onyx-queue recv "$q" -n 3 -w 5000
is "$RC" 0 "onyx-queue receives what python-qpid-proton sent"
is "$OUT" '{"from":"python","n":1}
{"from":"python","n":2}
{"from":"python","n":3}' "string, data-section and pretty-printed bodies become JSON lines"

printf '{"from":"onyx","n":1}\n{"from":"onyx","n":2}\n' | onyx-queue send "$q" --done
run_rc $PY "$T/client.py" recv "$q" 3
is "$RC" 0 "python-qpid-proton receives what onyx-queue sent"
is "$(sed -n 1p "$T/out")" '{"body": {"from": "onyx", "n": 1}, "content_type": "application/json", "durable": true, "sentinel": false}' \
    "a segment is a durable application/json message with the JSON text as its body"
is "$(sed -n 2p "$T/out" | jq -c .body)" '{"from":"onyx","n":2}' "the second segment"
is "$(sed -n 3p "$T/out" | jq -c '[.body, .sentinel]')" '[null,true]' \
    "the sentinel carries onyx_sentinel=true and a null body"

# The broker's own CLI, over AMQP.
ARTEMIS=$ONYX_ARTEMIS_INSTANCE/bin/artemis
port=${ONYX_SANDBOX_BROKER_PLAIN##*:}
q2=$(qname cli)
run_rc "$ARTEMIS" producer --protocol amqp --url "tcp://127.0.0.1:$port" \
    --user "$ONYX_BROKER_USER" --password "$ONYX_BROKER_PASSWORD" \
    --destination "queue://$q2" --message-count 5 --message '{"from":"artemis"}'
is "$RC" 0 "artemis producer --protocol amqp sends 5 messages"
run_rc onyx-queue recv "$q2" -n 5 -w 10000
is "$(printf '%s\n' "$OUT" | sort | uniq -c | sed 's/^ *//')" '5 {"from":"artemis"}' \
    "onyx-queue receives the artemis producer's messages as segments"
printf '{"to":"artemis","n":%d}\n' 1 2 3 | onyx-queue send "$q2"
run_rc "$ARTEMIS" consumer --protocol amqp --url "tcp://127.0.0.1:$port" \
    --user "$ONYX_BROKER_USER" --password "$ONYX_BROKER_PASSWORD" \
    --destination "queue://$q2" --message-count 3 --receive-timeout 10000 --verbose
is "$RC" 0 "artemis consumer --protocol amqp receives 3 messages"
like "$OUT$ERR" '\{"to":"artemis","n":3\}' "and shows the JSON text of what onyx-queue sent"
done_testing
