#!/bin/bash
# Program functions (onyx/exec): jq, awk, Python and shell coprocesses as a
# job's function, with real onyx-coord and onyx-peer on ZooKeeper and Artemis.
. "$(dirname "$0")/lib.sh"
plan 20
export ONYX_CLUSTER=$TESTNAME-$$

coord() { onyx-coord -s 4000 "$@" 2>> "$T/coord.log" & PIDS="$PIDS $!"; }
peers() { onyx-peer -n "$1" 2>> "$T/peer.log" & PIDS="$PIDS $!"; PEERS=$!; }
watch_json() { onyx-watch --json; }
# doc NAME ARGV [PARAMS]: in -> f -> out with f running ARGV; queues x-in-NAME-$$, x-out-NAME-$$
doc() {
	jq -n --arg s "-$1-$$" --argjson argv "$2" --argjson params "${3:-null}" '{
	    workflow: [["in", "f"], ["f", "out"]],
	    catalog: [
	      {"onyx/name": "in", "onyx/type": "input", "onyx/medium": "artemis",
	       "artemis/queue-name": ("x-in" + $s), "onyx/batch-size": 1000},
	      ({"onyx/name": "f", "onyx/type": "function", "onyx/exec": $argv,
	        "onyx/batch-size": 1000} + (if $params then {"onyx/params": $params} else {} end)),
	      {"onyx/name": "out", "onyx/type": "output", "onyx/medium": "artemis",
	       "artemis/queue-name": ("x-out" + $s), "onyx/batch-size": 1000}]}' |
	    jq --arg id "$1-$$" '. + {id: $id}' | onyx-plan
}
# runjob NAME ARGV PARAMS N: run the job on N segments; sorted output in
# $T/NAME.out, onyx-submit's status in RC
runjob() {
	doc "$1" "$2" "$3" > "$T/$1.plan"
	onyx-submit --wait --timeout 120000 < "$T/$1.plan" > /dev/null 2> "$T/$1.err" &
	local sub=$!
	nums "$4" | onyx-queue send "x-in-$1-$$" --done
	onyx-queue recv "x-out-$1-$$" --until-done -w 60000 | sort > "$T/$1.out"
	set +e; wait $sub; RC=$?; set -e
	[ "$RC" = 0 ] || sed 's/^/# /' "$T/$1.err" "$T/peer.log" | tail -20
}

coord
peers 4

# 1-8. four languages on 10,000 segments each: the output is exact
runjob jq "$(argv jq --unbuffered -c '.n += 1')" null 10000
is "$RC" 0 "a jq function: the job completes"
awk 'BEGIN { for (i = 1; i <= 10000; i++) printf "{\"n\":%d}\n", i + 1 }' | sort > "$T/want"
check "jq: the output is exactly n+1 for each of 10,000 inputs" cmp -s "$T/jq.out" "$T/want"

# mawk reads its input in blocks unless told -W interactive
AWK=(awk); awk -W version 2>&1 | grep -q mawk && AWK=(awk -W interactive)
runjob awk "$(argv "${AWK[@]}" '{ sub(/"n":/, "\"n\":1"); print; fflush() }')" null 10000
is "$RC" 0 "an awk function: the job completes"
awk 'BEGIN { for (i = 1; i <= 10000; i++) printf "{\"n\":1%d}\n", i }' | sort > "$T/want"
check "awk: the output is exact" cmp -s "$T/awk.out" "$T/want"

PY='import sys, json
for l in sys.stdin:
    d = json.loads(l); d["n"] += 1; print(json.dumps(d, separators=(",", ":")), flush=True)'
runjob py "$(argv python3 -u -c "$PY")" null 10000
is "$RC" 0 "a Python function: the job completes"
awk 'BEGIN { for (i = 1; i <= 10000; i++) printf "{\"n\":%d}\n", i + 1 }' | sort > "$T/want"
check "Python: the output is exact" cmp -s "$T/py.out" "$T/want"

runjob sh "$(argv sh -c 'while IFS= read -r l; do printf "%s\n" "$l"; done')" null 10000
is "$RC" 0 "a shell loop function: the job completes"
nums 10000 | sort > "$T/want"
check "shell identity: the output equals the input" cmp -s "$T/sh.out" "$T/want"

# 9-10. an array answer gives zero or more segments, null drops the segment
runjob arr "$(argv jq --unbuffered -c 'if .n % 2 == 0 then [., .] else null end')" null 1000
is "$RC" 0 "a function answering arrays and null: the job completes"
awk 'BEGIN { for (i = 2; i <= 1000; i += 2) { printf "{\"n\":%d}\n", i; printf "{\"n\":%d}\n", i } }' | sort > "$T/want"
check "an array of two gives two segments, null none" cmp -s "$T/arr.out" "$T/want"

# 11-13. ONYX_PARAMS and ONYX_TASK reach the program; its stderr reaches the log
runjob par "$(argv sh -c 'while read -r l; do echo "$ONYX_PARAMS"; echo "$ONYX_TASK says hello" >&2; done')" '{"k": 7}' 10
is "$RC" 0 "a function reading ONYX_PARAMS: the job completes"
is "$(sort -u "$T/par.out"):$(wc -l < "$T/par.out")" '{"k":7}:10' "each segment became the task's onyx/params"
check "the program's stderr lines are in the peer's log, with ONYX_TASK" grep -q "task f: f says hello" "$T/peer.log"

# 14-16. a program that answers garbage to everything is broken: after 10
# lines dead-lettered in a row without one good answer, the job fails
doc bad "$(argv sh -c 'while read -r l; do echo 42; done')" > "$T/bad.plan"
onyx-submit --wait --timeout 120000 < "$T/bad.plan" > /dev/null 2> "$T/bad.err" &
SUB=$!
nums 20 | onyx-queue send "x-in-bad-$$" --done
set +e; wait $SUB; RC=$?; set -e
is "$RC" 70 "a function answering garbage: onyx-submit --wait exits 70"
like "$(cat "$T/bad.err")" "failed on 10 segments in a row without one good answer: .*not an object, an array of objects or null: 42" \
    "the reason names the garbage"
check "each failed attempt was logged" grep -q "task f: .*not an object.*rolled back and tried again" "$T/peer.log"

# 17-20. a program that hangs once: the batch times out, rolls back, the
# program starts again, and the job completes with every result once
kill -TERM "$PEERS"; wait "$PEERS" 2>/dev/null || true
ONYX_EXEC_TIMEOUT_MS=2000 peers 4
MARK=$T/hung-once
runjob hang "$(argv sh -c 'while IFS= read -r l; do if mkdir "$1" 2>/dev/null; then sleep 1000; fi; printf "%s\n" "$l"; done' sh "$MARK")" null 1000
is "$RC" 0 "a program that hangs once: the job completes"
nums 1000 | sort > "$T/want"
check "every segment came out once" cmp -s "$T/hang.out" "$T/want"
check "the timeout was logged" grep -q "task f: timeout: the program gave 0 of .* answers in 2000 ms; the batch of .* rolled back and tried again" "$T/peer.log"
HJ=$(jq -r .job "$T/hang.plan")
is "$(onyx-watch --json | jq --arg j "$HJ" '.jobs[] | select(.job == $j) | .tasks[] | select(.name == "f") | .dead')" 0 \
    "nothing was dead-lettered"
done_testing
