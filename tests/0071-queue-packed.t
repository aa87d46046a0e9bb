#!/bin/bash
# onyx-queue send --packed: lines travel in packed frames (many segments in
# one message); recv reads frames and plain segments from the same queue, in
# order; -n takes a frame whole; a frame that cannot be read stops recv with
# exit 65 and stays on the queue; a crash leaves only whole batches.
. "$(dirname "$0")/lib.sh"
plan 43
PY=/usr/bin/python3

# frames LIMIT BATCH < lines: how many frames send --packed makes of the
# lines: per batch of BATCH lines, greedy, each frame at most LIMIT payload
# bytes (8 bytes of head, 4 before each segment); a line too long for a
# frame alone is a plain message of its own.
frames() {
	awk -v lim="$1" -v b="$2" '
	function flush() { if (n > 0) { m++; n = 0; size = 8 } }
	BEGIN { size = 8 }
	{
		len = length($0)
		if (8 + 4 + len > lim) { flush(); m++ }
		else {
			if (size + 4 + len > lim) flush()
			size += 4 + len; n++
		}
		if (++inb == b) { flush(); inb = 0 }
	}
	END { flush(); print m + 0 }'
}

# (a) 2,500 short lines at -b 1000: one frame per batch.
# -t 60000: no partial batch is committed early, so the count is exact.
q=$(qname a)
nums 2500 > "$T/in"
run_rc onyx-queue send --packed -b 1000 -t 60000 "$q" --done < "$T/in"
is "$RC:$ERR" "0:" "send --packed of 2,500 lines with -b 1000 exits 0"
is "$(frames 65536 1000 < "$T/in")" 3 "the model: 2,500 short lines make 3 frames"
is "$(messages "$q")" 4 "the queue holds 3 frames and the sentinel"
run_rc onyx-queue recv "$q" --until-done
is "$RC" 0 "recv --until-done exits 0"
cp "$T/out" "$T/got"
check "recv gives the 2,500 lines byte for byte, in order" cmp -s "$T/in" "$T/got"
is "$(messages "$q")" 0 "the frames and the sentinel were consumed"

# 2,500 lines of about 100 bytes: 1,000 of them are over 64 KiB, so a batch
# takes two frames.
gen 2500 > "$T/in"
want=$(frames 65536 1000 < "$T/in")
is "$want" 5 "the model: 2,500 lines of ~100 bytes make 5 frames at -b 1000"
run_rc onyx-queue send --packed -b 1000 -t 60000 "$q" < "$T/in"
is "$RC" 0 "send --packed of 2,500 longer lines exits 0"
is "$(messages "$q")" "$want" "the queue holds $want frames: none over 64 KiB"
run_rc onyx-queue recv "$q" -n 2500 -w 5000
cp "$T/out" "$T/got"
check "recv gives them back byte for byte, in order" cmp -s "$T/in" "$T/got"
is "$(messages "$q")" 0 "and the queue is empty"

# A line too long for a frame goes alone, as a plain segment, in order.
{ echo '{"n":1}'; python3 -c 'print("{\"big\":\"" + "x" * 70000 + "\"}")'; echo '{"n":3}'; } > "$T/in"
run_rc onyx-queue send --packed "$q" < "$T/in"
is "$RC" 0 "a line over 64 KiB is not refused by send --packed"
is "$(messages "$q")" 3 "it travels alone, between two frames"
run_rc onyx-queue recv "$q" -n 3 -w 5000
cp "$T/out" "$T/got"
check "the three lines come back in order" cmp -s "$T/in" "$T/got"

# Validation stays: a bad line stops the run; the lines before it are sent.
printf '{"a":1}\n{"a":2}\n[3]\n{"a":4}\n' > "$T/in"
run_rc onyx-queue send --packed "$q" < "$T/in"
is "$RC" 65 "a bad line stops send --packed with exit 65"
is "$ERR" "onyx-queue: stdin:3: a JSON array, not an object; 2 segments were sent to '$q' before it, none after" \
    "with the same message as without --packed"
is "$(messages "$q"):$(onyx-queue recv "$q" -n 2 -w 5000 | tr '\n' ' ')" '1:{"a":1} {"a":2} ' \
    "the two lines before it are on the queue, in one frame"
run_rc onyx-queue recv --packed "$q"
is "$RC:$ERR" "64:onyx-queue: --packed only applies to send" "--packed is refused for recv"

# (b) plain and packed messages interleaved on one queue, read in order.
q=$(qname b)
awk 'BEGIN { for (i = 1; i <= 3; i++) printf "{\"plain\":%d}\n", i }' > "$T/p1"
awk 'BEGIN { for (i = 1; i <= 5; i++) printf "{\"packed\":%d}\n", i }' > "$T/p2"
awk 'BEGIN { for (i = 4; i <= 5; i++) printf "{\"plain\":%d}\n", i }' > "$T/p3"
onyx-queue send "$q" < "$T/p1"
onyx-queue send --packed "$q" < "$T/p2"
onyx-queue send "$q" < "$T/p3"
is "$(messages "$q")" 6 "3 plain messages, a frame of 5, 2 plain messages"
run_rc onyx-queue recv "$q" -w 2000
cat "$T/p1" "$T/p2" "$T/p3" > "$T/want"
cp "$T/out" "$T/got"
is "$RC" 0 "recv of the mixed queue exits 0"
check "recv gives the 10 lines in the order sent" cmp -s "$T/want" "$T/got"

# (c) -n that ends inside a frame takes the frame whole.
q=$(qname c)
printf '{"a":1}\n{"a":2}\n' | onyx-queue send "$q"
printf '{"b":%d}\n' 1 2 3 4 5 | onyx-queue send --packed "$q"
printf '{"c":1}\n' | onyx-queue send "$q"
run_rc onyx-queue recv "$q" -n 2 -w 5000
is "$RC:$(echo $OUT)" '0:{"a":1} {"a":2}' "-n 2 stops before the frame"
is "$(messages "$q")" 2 "the frame and the last segment stay"
run_rc onyx-queue recv "$q" -n 3 -w 5000
is "$RC:$(echo $OUT)" '0:{"b":1} {"b":2} {"b":3} {"b":4} {"b":5}' \
    "-n 3 ending inside a frame of 5 writes all of it, exit 0"
is "$(messages "$q")" 1 "the frame was consumed whole"
run_rc onyx-queue recv "$q" -n 1 -w 5000
is "$RC:$OUT" '0:{"c":1}' "the segment after the frame comes next"
is "$(messages "$q")" 0 "nothing was lost or left"

# (d) a plain AMQP client's messages between packed frames.
q=$(qname d)
cat > "$T/client.py" <<'PY'
import os, sys
from proton import Message
from proton.utils import BlockingConnection
url = os.environ["ONYX_SANDBOX_BROKER_PLAIN"].replace("amqp://", "")
conn = BlockingConnection(url, user=os.environ["ONYX_BROKER_USER"],
    password=os.environ["ONYX_BROKER_PASSWORD"], allowed_mechs="PLAIN")
s = conn.create_sender(sys.argv[1])
for body in sys.argv[2:]:
    if body.startswith("frame:"):
        # a packed frame: content-type and a data section of raw bytes
        s.send(Message(body=bytes.fromhex(body[6:]), inferred=True,
            content_type="application/x-onyx-frame", durable=True))
    else:
        s.send(Message(body=body, durable=True))
conn.close()
PY
onyx-queue create "$q" > /dev/null
$PY "$T/client.py" "$q" '{"py":1}' '{"py":2}'
printf '{"onyx":%d}\n' 1 2 3 | onyx-queue send --packed "$q"
$PY "$T/client.py" "$q" '{"py":3}'
printf '{"onyx":%d}\n' 4 5 | onyx-queue send --packed "$q"
is "$(messages "$q")" 5 "2 python messages, a frame, 1 python message, a frame"
run_rc onyx-queue recv "$q" -w 2000
is "$RC:$(echo $OUT)" '0:{"py":1} {"py":2} {"onyx":1} {"onyx":2} {"onyx":3} {"py":3} {"onyx":4} {"onyx":5}' \
    "recv reads the plain client's messages and the frames, in order"
is "$(messages "$q")" 0 "all consumed"

# (e) frames that cannot be read stop recv: exit 65, the frame stays.
q=$(qname e)
onyx-queue create "$q" > /dev/null
# version 9, one record
$PY "$T/client.py" "$q" '{"ok":1}' 'frame:4f4e580900000001000000077b226e223a317d' '{"ok":3}'
run_rc onyx-queue recv "$q" -w 2000
is "$RC:$OUT" '65:{"ok":1}' "a frame of another version: exit 65, after the segment before it"
is "$ERR" "onyx-queue: message 2 on '$q' (content-type application/x-onyx-frame) cannot be read: a packed frame of version 9: this version reads versions 1 and 2; it stays on the queue" \
    "the message names the queue, the message and the version"
is "$(messages "$q")" 2 "the frame and the segment after it stay on the queue"
onyx-queue purge "$q" > /dev/null
# version 1, two records announced, one there
$PY "$T/client.py" "$q" 'frame:4f4e580100000002000000077b226e223a317d'
run_rc onyx-queue recv "$q" -w 2000
is "$RC:$OUT" '65:' "a frame cut short: exit 65, nothing of it written"
is "$ERR" "onyx-queue: message 1 on '$q' (content-type application/x-onyx-frame) cannot be read: a packed frame cut short: record 2 of 2 has no length; it stays on the queue" \
    "the message says where it is cut short"
is "$(messages "$q")" 1 "the frame is still on the queue"
onyx-queue purge "$q" > /dev/null
# a whole frame whose second segment is a JSON array
$PY "$T/client.py" "$q" 'frame:4f4e580100000002000000077b226e223a317d000000035b325d'
run_rc onyx-queue recv "$q" -w 2000
is "$RC:$OUT" '65:' "a frame holding a JSON array: exit 65, nothing of it written"
is "$ERR" "onyx-queue: message 1 on '$q' is a packed frame whose segment 2 of 2 is not a segment: a JSON array, not an object; it stays on the queue" \
    "the message names the segment in the frame"
is "$(messages "$q")" 1 "the frame is still on the queue"
# A crash mid-way: only whole batches, each batch's frame committed with it.
q=$(qname crash)
kill_sending "$q" 10 --packed -b 10 -t 60000
is "$(messages "$q")" 10 "after SIGKILL the 10 committed batches are queued, a frame each"
onyx-queue recv "$q" -n 100 -w 5000 > "$T/got"
gen 100 > "$T/want"
check "and they hold the first 100 lines, in order" cmp -s "$T/got" "$T/want"
# --batch-timeout sends and commits the frame of a stalled partial batch.
# the input stays open until the test says so: the frame must go before
mkfifo "$T/stall"
onyx-queue send --packed "$q" -b 1000 -t 200 < "$T/stall" &
SPID=$!
PIDS="$PIDS $SPID"
exec 4> "$T/stall"
gen 3 >&4
for i in $(seq 1 100); do [ "$(messages "$q")" -ge 1 ] && break; sleep 0.1; done
is "$(messages "$q"):$(kill -0 $SPID && echo sending)" "1:sending" \
    "a stalled partial batch goes out as one frame after --batch-timeout, the input still open"
exec 4>&-
wait $SPID
is "$(onyx-queue recv "$q" -w 2000 | wc -l)" 3 "holding its 3 lines"
done_testing
