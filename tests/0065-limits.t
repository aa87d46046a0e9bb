#!/bin/bash
# Limits: the maximum segment size (ONYX_MAX_SEGMENT, 1 MiB by default)
# bounds memory everywhere a segment passes. A 100 MB line to onyx-queue
# send is refused (exit 65, naming the line) without being read whole; a
# program that prints 1 GB without a newline fails its attempts and the
# segment goes to the dead-letter queue; 20 MB messages injected into a
# job's input go to the dead-letter queue at once, and onyx-queue recv
# refuses it; everything else comes out exactly, and no process grows
# beyond a bound. Big inputs are generated on the fly, never stored.
. "$(dirname "$0")/lib.sh"
plan 16
export ONYX_CLUSTER=$TESTNAME-$$
unset ONYX_MAX_SEGMENT
MIB=1048576
# the peak RSS (kB) a process may reach: 64 MB for the program, plus the
# limit; on the sanitizer build (make check-sanitize) AddressSanitizer
# keeps up to 256 MB of freed memory in quarantine: 384 MB there, still far
# below the 100 MB line, the 60 MB of messages and the 1 GB answer
BOUND=$(((64 * MIB + MIB) / 1024))
case ${ONYX_BIN:-} in */build-san/*) BOUND=$((384 * MIB / 1024)) ;; esac

# big N: one JSON line {"big":"xxx..."} of about N bytes, from a pipe
big() { printf '{"big":"'; head -c "$1" /dev/zero | tr '\0' x; printf '"}\n'; }

# 1-4. a 100 MB line to onyx-queue send
Q=$(qname send)
set +e
{ nums 3; big 100000000; nums 2; } |
    /usr/bin/time -f %M -o "$T/send.rss" onyx-queue send "$Q" --done 2> "$T/send.err"
RC=$?
set -e
is "$RC" 65 "a 100 MB line: onyx-queue send exits 65"
is "$(cat "$T/send.err")" \
    "onyx-queue: stdin:4: the line is longer than the maximum segment size, 1048576 bytes (ONYX_MAX_SEGMENT, --max-segment); 3 segments were sent to '$Q' before it, none after" \
    "the message names the line and the limit"
is "$(onyx-queue recv "$Q" -w 3000 -n 3 | tr '\n' ' ')" '{"n":1} {"n":2} {"n":3} ' \
    "the lines before it are on the queue, nothing after it"
RSS=$(tail -1 "$T/send.rss")
check "onyx-queue send stayed under $BOUND kB (peak $RSS kB)" [ "$RSS" -lt "$BOUND" ]

# 5-6. a smaller limit from the environment and from the flag
run_rc env ONYX_MAX_SEGMENT=4k onyx-queue send "$Q" < <(big 5000)
like "$RC $ERR" "^65 .*stdin:1: the line is longer than the maximum segment size, 4096 bytes" \
    "ONYX_MAX_SEGMENT=4k sets the limit"
run_rc onyx-queue --max-segment 2x send "$Q" < /dev/null
like "$RC $ERR" "^64 .*--max-segment: maximum segment size '2x' is not a size" \
    "a bad --max-segment is a usage error"

# A job in -> f -> out; f runs the program PROG: it echoes every segment,
# except that for n = 50 it prints 1 GB without a newline.
PROG='import sys
for l in sys.stdin:
    if l.startswith("{\"n\":50}"):
        chunk = b"x" * 1048576
        for i in range(1000):
            sys.stdout.buffer.write(chunk)
        sys.stdout.flush()
    sys.stdout.write(l)
    sys.stdout.flush()'
IN=$(qname in) OUT=$(qname out)
jq -n --arg in "$IN" --arg out "$OUT" --arg id "lim-$$" --argjson exec "$(argv python3 -u -c "$PROG")" '{
    id: $id,
    workflow: [["in", "f"], ["f", "out"]],
    catalog: [
      {"onyx/name": "in", "onyx/type": "input", "onyx/medium": "artemis",
       "artemis/queue-name": $in, "onyx/batch-size": 100},
      {"onyx/name": "f", "onyx/type": "function", "onyx/batch-size": 100,
       "onyx/exec": $exec, "onyx/max-retries": 1},
      {"onyx/name": "out", "onyx/type": "output", "onyx/medium": "artemis",
       "artemis/queue-name": $out, "onyx/batch-size": 100}]}' | onyx-plan > "$T/plan"
DLQ_IN=$(jq -r '.tasks[] | select(.name == "in") | ."dead-letter"' "$T/plan")
DLQ_F=$(jq -r '.tasks[] | select(.name == "f") | ."dead-letter"' "$T/plan")

onyx-coord -s 4000 2>> "$T/coord.log" & PIDS="$PIDS $!"
ONYX_EXEC_TIMEOUT_MS=20000 onyx-peer -n 3 2>> "$T/peer.log" & PEER=$!
PIDS="$PIDS $PEER"
onyx-submit --wait --timeout 180000 < "$T/plan" > /dev/null 2> "$T/submit.err" & SUB=$!

# the input: 100 segments, three 20 MB messages in a row among them (sent
# with a higher limit, as another producer could), 100 more, the sentinel
nums 100 | onyx-queue send "$IN"
{ big 20000000; big 20000000; big 20000000; } | onyx-queue --max-segment 64M send "$IN"
nums 200 | tail -n 100 | onyx-queue send "$IN" --done
onyx-queue recv "$OUT" --until-done -w 120000 | sort > "$T/out"
set +e; wait "$SUB"; RC=$?; set -e
[ "$RC" = 0 ] || sed 's/^/# /' "$T/submit.err" "$T/peer.log" | tail -20

# 7-11. the job
is "$RC" 0 "the job completes"
nums 200 | grep -v '^{"n":50}$' | sort > "$T/want"
check "every other segment comes out exactly once" cmp -s "$T/out" "$T/want"
onyx-queue recv "$DLQ_IN" -n 3 -w 10000 > "$T/dead.in"
is "$(jq -c '[.task, .attempts, .error]' "$T/dead.in" | uniq -c | sed 's/^ *//')" \
    '3 ["in",0,"the message is 20000055 bytes, over the maximum segment size of 1048576 bytes (ONYX_MAX_SEGMENT, --max-segment); the segment holds its first bytes"]' \
    "the 20 MB messages are dead letters of the input task at once, with their size (of the AMQP message)"
is "$(jq -r '.segment' "$T/dead.in" | sort -u)" "{\"big\":\"$(printf 'x%.0s' $(seq 1 192))" \
    "each dead letter holds the first 200 bytes of the segment, not the whole"
onyx-queue recv "$DLQ_F" -n 1 -w 10000 > "$T/dead.f"
is "$(jq -c '[.task, .attempts, .error, .segment]' "$T/dead.f")" \
    '["f",2,"the program answered a line longer than the maximum segment size, 1048576 bytes (ONYX_MAX_SEGMENT, --max-segment)",{"n":50}]' \
    "the segment whose answer is 1 GB without a newline: its attempts fail, then it is a dead letter"

# 12-13. the peer's memory
HWM=$(awk '/^VmHWM:/ { print $2 }' "/proc/$PEER/status")
check "the peer stayed under $BOUND kB (peak $HWM kB)" [ "$HWM" -lt "$BOUND" ]
check "the peer is still running" kill -0 "$PEER"

# 14-16. onyx-queue recv and a message over the limit
Q2=$(qname recv)
{ nums 2; } | onyx-queue send "$Q2"
big 20000000 | onyx-queue --max-segment 64M send "$Q2"
set +e
/usr/bin/time -f %M -o "$T/recv.rss" onyx-queue recv "$Q2" -w 5000 > "$T/recv.out" 2> "$T/recv.err"
RC=$?
set -e
is "$RC $(cat "$T/recv.err")" \
    "65 onyx-queue: message 3 on '$Q2' is 20000055 bytes, over the maximum segment size of 1048576 bytes (ONYX_MAX_SEGMENT, --max-segment); it stays on the queue" \
    "onyx-queue recv stops at a message over the limit: exit 65, its size and the limit"
is "$(tr '\n' ' ' < "$T/recv.out")/$(messages "$Q2")" '{"n":1} {"n":2} /1' \
    "the segments before it are received and committed, it stays on the queue"
RSS=$(tail -1 "$T/recv.rss")
check "onyx-queue recv stayed under $BOUND kB (peak $RSS kB)" [ "$RSS" -lt "$BOUND" ]
done_testing
