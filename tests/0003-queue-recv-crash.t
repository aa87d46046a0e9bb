#!/bin/bash
# onyx-queue recv killed with SIGKILL mid-batch loses nothing: a second recv
# gets every segment the first did not print; duplicates only from the one
# uncommitted batch. SIGTERM commits what was printed.
. "$(dirname "$0")/lib.sh"
plan 8
q=$(qname crash)
B=500

gen 10000 > "$T/in"
onyx-queue send "$q" < "$T/in"
is "$(messages "$q")" 10000 "10,000 segments queued"

# A slow consumer keeps recv blocked on its output, mid-batch (batch size
# 500), with lines printed but not yet committed. The consumer keeps every
# byte recv wrote, so "printed" is exactly what it has.
onyx-queue recv "$q" -b $B -t 60000 | python3 -c '
import sys, time
out = open(sys.argv[1], "w")
for line in sys.stdin:
    out.write(line); out.flush(); time.sleep(0.0003)
' "$T/first" &
PIDS="$PIDS $!"
wait_lines "$T/first" 3250
RPID=$(pgrep -f "onyx-queue recv $q" | head -1)
check "recv is running, blocked mid-batch on its output" kill -0 "$RPID"
kill -9 "$RPID"
wait 2>/dev/null || true
# a line cut by the kill is not a printed segment
if [ -n "$(tail -c 1 "$T/first")" ]; then sed -i '$d' "$T/first"; fi
check "the first reader printed at least 3,250 lines before the kill" \
    test "$(wc -l < "$T/first")" -ge 3250

onyx-queue recv "$q" -w 2000 > "$T/second"
sort "$T/first" "$T/second" | uniq > "$T/union"
sort "$T/in" > "$T/in.sorted"
check "first + second hold every input segment (nothing lost)" cmp -s "$T/union" "$T/in.sorted"
dups=$(sort "$T/first" "$T/second" | uniq -d | wc -l)
check "duplicates ($dups) are at most one batch ($B)" test "$dups" -le $B
check "the second reader starts at a batch boundary" \
    test "$(head -1 "$T/second" | jq .id)" -eq $(( $(wc -l < "$T/first") / B * B ))
is "$(messages "$q")" 0 "the queue is empty afterwards"

# SIGTERM: what was printed is committed, nothing is lost or repeated.
gen 2000 > "$T/in2"
onyx-queue send "$q" < "$T/in2"
onyx-queue recv "$q" -b 300 -t 60000 > "$T/term" &
RPID=$!
PIDS="$PIDS $RPID"
# six whole batches are flushed; 200 more wait for a batch that never fills
wait_lines "$T/term" 1800
sleep 0.5
kill -TERM $RPID
set +e; wait $RPID; rc=$?; set -e
is "$rc:$(wc -l < "$T/term"):$(messages "$q")" "0:2000:0" \
    "SIGTERM flushes and commits the partial batch and exits 0"
done_testing
