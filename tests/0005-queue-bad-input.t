#!/bin/bash
# onyx-queue: bad input is refused with the line, nothing after it is sent;
# unreachable brokers and wrong credentials give clear errors without hanging;
# a message that is not a segment stops recv and stays on the queue.
. "$(dirname "$0")/lib.sh"
plan 21
q=$(qname bad)

printf '{"a":1}\n{"a":2}\nnot json\n{"a":4}\n' > "$T/in"
run_rc onyx-queue send "$q" --done < "$T/in"
is "$RC" 65 "a non-JSON line: exit 65"
is "$ERR" "onyx-queue: stdin:3: not JSON (column 3: invalid token near 'not'); 2 segments were sent to '$q' before it, none after" \
    "a non-JSON line: the message names the line and the count"
is "$(messages "$q")" 2 "the lines before it were committed, nothing after, no sentinel"

printf '{"a":5}\n[1,2]\n' > "$T/in"
run_rc onyx-queue send "$q" < "$T/in"
is "$RC" 65 "a JSON array line: exit 65"
is "$ERR" "onyx-queue: stdin:2: a JSON array, not an object; 1 segment was sent to '$q' before it, none after" \
    "a JSON array line: named"
printf '{"a":6}\n\n{"a":7}\n' > "$T/in"
run_rc onyx-queue send "$q" < "$T/in"
is "$RC" 65 "an empty line: exit 65"
like "$ERR" "stdin:2: not JSON" "an empty line: named"
printf '"just a string"\n' > "$T/in"
run_rc onyx-queue send "$q" < "$T/in"
like "$ERR" "stdin:1: a JSON string, not an object; 0 segments were sent" "a JSON string line"
is "$(messages "$q")" 4 "only the good lines before each bad one reached the queue"
onyx-queue recv "$q" -n 4 -w 5000 > "$T/got"
is "$(jq -c .a "$T/got" | tr '\n' ' ')" "1 2 5 6 " "and they are the right ones"
# resuming after the bad line is tail -n +N
printf '{"a":1}\nbad\n{"a":3}\n' > "$T/in"
run_rc onyx-queue send "$q" < "$T/in"
tail -n +3 "$T/in" | onyx-queue send "$q"
is "$(onyx-queue recv "$q" -n 2 -w 5000 | jq -c .a | tr '\n' ' ')" "1 3 " "tail -n +N resumes after the bad line"

# An unreachable broker: exit 69, the URL named, promptly.
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
SECONDS=0
ONYX_BROKER=amqp://127.0.0.1:$port run_rc onyx-queue send "$q" < /dev/null
is "$RC" 69 "an unreachable broker: exit 69"
is "$ERR" "onyx-queue: cannot connect to the broker at amqp://127.0.0.1:$port: Connection refused" \
    "an unreachable broker: the URL is named"
ONYX_BROKER=amqp://127.0.0.1:$port run_rc onyx-queue recv "$q"
is "$RC" 69 "recv from an unreachable broker: exit 69"

# Wrong credentials: a clear message and no hang.
SECONDS=0
ONYX_BROKER_PASSWORD=wrong run_rc timeout 30 onyx-queue recv "$q"
is "$RC" 77 "a wrong password: exit 77"
like "$ERR" "^onyx-queue: amqps?://[a-z0-9.]+:[0-9]+ refused the login: amqp:unauthorized-access" \
    "a wrong password: the broker's refusal is named"
check "a wrong password does not hang" test $SECONDS -lt 15
ONYX_BROKER_USER= ONYX_BROKER_PASSWORD= run_rc timeout 30 onyx-queue stat "$q"
is "$RC" 77 "no credentials on a broker that needs them: exit 77"
# a password in the URL is refused, and never shown (tests/0093 tries more)
ONYX_BROKER="amqp://onyx:hunter2@127.0.0.1:$port" run_rc onyx-queue stat "$q"
is "$RC:$ERR" "78:onyx-queue: ONYX_BROKER: broker URL 'amqp://***@127.0.0.1:$port': a password in the URL is refused (it would show in ps and in the environment); give it in a file named by ONYX_BROKER_PASSWORD_FILE or --password-file" \
    "a password in the URL is refused with exit 78, the user info redacted"

# A message that is not a segment, sent by another client.
/usr/bin/python3 - "$q" <<'PY'
import os, sys
from proton import Message
from proton.utils import BlockingConnection
url = os.environ["ONYX_SANDBOX_BROKER_PLAIN"].replace("amqp://", "")
c = BlockingConnection(url, user=os.environ["ONYX_BROKER_USER"],
    password=os.environ["ONYX_BROKER_PASSWORD"], allowed_mechs="PLAIN")
s = c.create_sender(sys.argv[1])
s.send(Message(body='{"ok":1}', durable=True))
s.send(Message(body='hello, not json', durable=True))
s.send(Message(body='{"ok":3}', durable=True))
c.close()
PY
run_rc onyx-queue recv "$q" -w 5000
is "$RC:$OUT" '65:{"ok":1}' "recv stops at a non-segment with exit 65, after the good one"
is "$ERR" "onyx-queue: message 2 on '$q' is not a segment: not JSON (column 5: invalid token near 'hello'); it stays on the queue" \
    "the message says which message and why"
done_testing
