#!/bin/bash
# onyx-queue recv and the sentinel: consumed by --until-done, left in place by
# --keep-done and by a plain recv; -n and --timeout bounds.
. "$(dirname "$0")/lib.sh"
plan 15
q=$(qname s)

gen 10 | onyx-queue send "$q" --done
gen 5 100 | onyx-queue send "$q"
is "$(messages "$q")" 16 "10 segments, the sentinel, 5 more"
run_rc onyx-queue recv "$q" -w 5000
is "$RC" 0 "a plain recv stops at the sentinel, exit 0"
is "$(printf '%s\n' "$OUT" | wc -l)" 10 "having printed the 10 segments before it"
is "$(messages "$q")" 6 "the sentinel and what follows stay queued"
run_rc onyx-queue recv "$q" --until-done --keep-done -w 5000
is "$RC:$OUT" "0:" "--keep-done: stops at once at the sentinel, which stays"
run_rc onyx-queue recv "$q" --until-done --keep-done -w 5000
is "$RC:$(messages "$q")" "0:6" "so every reader stops there"
run_rc onyx-queue recv "$q" --until-done -w 5000
is "$RC:$OUT:$(messages "$q")" "0::5" "--until-done consumes the sentinel"
run_rc onyx-queue recv "$q" -n 3 -w 5000
is "$RC:$(printf '%s\n' "$OUT" | jq -c .id | tr '\n' ' ')" "0:100 101 102 " "-n 3 prints exactly 3"
is "$(messages "$q")" 2 "and takes no more: prefetched messages go back"
run_rc onyx-queue recv "$q" -n 5 -w 1000
is "$RC" 75 "-n 5 with only 2 left and --timeout: exit 75"
is "$(printf '%s\n' "$OUT" | wc -l):$(messages "$q")" "2:0" "the 2 are printed and committed"
like "$ERR" "timed out after 1000 ms without a message on '$q': 2 segments received, fewer than asked" \
    "and the message says so"
run_rc onyx-queue recv "$q" --until-done -w 800
is "$RC" 75 "--until-done without a sentinel and --timeout: exit 75"
like "$ERR" "no sentinel" "the message says the sentinel never came"
run_rc onyx-queue recv "$q" -w 300
is "$RC:$OUT" "0:" "a plain recv with --timeout on an empty queue: exit 0, nothing"
done_testing
