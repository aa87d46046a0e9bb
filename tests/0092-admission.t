#!/bin/bash
# Admission on the peer: plans written straight into ZooKeeper (no
# onyx-submit, no onyx-plan) that name a program outside the peer's
# allow-list, a library by path, libc's system, a batch size of -5, another
# job's queue or the broker's DLQ: the peer refuses each, the job fails with
# the reason in onyx-watch, and nothing of it runs. An allowed program runs;
# a peer without an allow-list runs none and says how to allow.
. "$(dirname "$0")/lib.sh"
plan 23
export ONYX_FN_PATH=$ONYX_ROOT/build/examples
export ONYX_CLUSTER=$TESTNAME-$$
C=/onyx/$ONYX_CLUSTER
OUT=$(qname out)

# the peer may run jq, and nothing else
JQ=$(realpath "$(command -v jq)")
printf '# only jq\n%s\n' "$JQ" > "$T/allow"

# a library whose loading leaves a mark
cat > "$T/evil.c" << EOF
#include <stdio.h>
__attribute__((constructor)) static void mark(void)
{ FILE *f = fopen("$T/mark-lib", "w"); if (f) fclose(f); }
int evil(void) { return 0; }
EOF
cc -shared -fPIC -o "$T/evil.so" "$T/evil.c"

onyx-coord -s 4000 2>> "$T/coord.log" & PIDS="$PIDS $!"
start_peer() { onyx-peer "$@" 2>> "$T/peer.log" & PEER=$!; PIDS="$PIDS $PEER"; }
start_peer -n 3 --exec-allow "$T/allow"

# doc ID FN-ENTRY: the document in -> f -> out, f's catalog entry as given;
# the input queue is in-ID, holding one segment
doc() {
	echo '{"n":1}' | onyx-queue send "in-$1"
	jq -n --arg id "$1" --arg in "in-$1" --arg out "$OUT" --argjson f "$2" '{
	    id: $id, workflow: [["in", "f"], ["f", "out"]],
	    catalog: [
	      {"onyx/name": "in", "onyx/type": "input", "onyx/medium": "artemis",
	       "artemis/queue-name": $in, "onyx/batch-size": 10},
	      ({"onyx/name": "f", "onyx/type": "function", "onyx/batch-size": 10} + $f),
	      {"onyx/name": "out", "onyx/type": "output", "onyx/medium": "artemis",
	       "artemis/queue-name": $out, "onyx/batch-size": 10}]}'
}
# put PLAN-FILE: record the job of a plan as onyx-submit would, but by hand
put() {
	local j
	j=$(jq -r .job "$1")
	zkput create "$C/jobs/$j" "$(jq -c . "$1")"
	zkput create "$C/jobs/$j/status" "{\"status\":\"submitted\",\"at\":$(date +%s%3N)}"
	zkput create "$C/jobs/$j/tasks"
	zkput create "$C/jobs/$j/done"
	zkput create "$C/jobs/$j/stats"
	zkput create "$C/live/$j"
	# the job's own queues, as onyx-submit makes them
	onyx-queue create $(jq -r '.job as $j | .queues[], (.tasks[] |
	    .["dead-letter"], "onyx.seal.\($j).\(.name)", "onyx.done.\($j).\(.name)")' "$1") > /dev/null
}
# ended JOB: wait (30 s at most) until JOB's status is final; prints it
ended() {
	local i s
	for i in $(seq 1 300); do
		s=$(zkput get "$C/jobs/$1/status" 2> /dev/null | jq -r .status)
		case $s in completed | failed | killed) echo "$s"; return 0 ;; esac
		sleep 0.1
	done
	echo "$s"
}
# reason JOB: onyx-watch's reason for JOB, without "task T on peer P: "
reason() {
	onyx-watch --json | jq -r --arg j "$1" '.jobs[] | select(.job == $j) | .reason' |
	    sed -E 's/^task [a-z]+ on peer [^:]+: //'
}
# refused NAME JOB EXPECTED: the job failed with exactly that reason
refused() {
	is "$(ended "$2")" failed "$1: the job fails"
	is "$(reason "$2")" "$3" "$1: onyx-watch gives the reason"
}

# 1-3. a program outside the allow-list (it would leave a mark)
doc ex-$$ "$(jq -n --arg m "$T/mark-exec" '{"onyx/exec": ["sh", "-c", ("touch " + $m + "; cat")]}')" |
    onyx-plan > "$T/ex.plan"
put "$T/ex.plan"
SH=$(realpath "$(command -v sh)")
refused "a program not allowed" "ex-$$" \
    "program 'sh' ($SH) is not in the exec allow-list of this peer"
check "the program never ran" test ! -e "$T/mark-exec"
# (the job's input task passes this peer's policy: it may have run)

# 4-6. a library given by path, outside the function path (onyx-plan
# would refuse it: the plan is edited after onyx-plan)
doc lib-$$ '{"onyx/fn": "identity"}' | onyx-plan |
    jq --arg f "$T/evil.so:evil" '(.tasks[] | select(.name == "f") | .catalog."onyx/fn") = $f' > "$T/lib.plan"
put "$T/lib.plan"
refused "a library by path" "lib-$$" \
    "the plan of job lib-$$ is refused: tasks[1].catalog.\"onyx/fn\": library '$T/evil.so' has a '/': a library is a file name a peer looks up in its function path (ONYX_FN_PATH)"
check "the library was never loaded" test ! -e "$T/mark-lib"
is "$(messages "in-lib-$$")" 1 "no task of the refused plan ran: its input is still there"

# 7-8. libc's system: onyx-plan takes the name, the peer finds no such
# library in its function path
doc sys-$$ '{"onyx/fn": "libc.so.6:system"}' | onyx-plan > "$T/sys.plan"
put "$T/sys.plan"
refused "libc.so.6:system" "sys-$$" \
    "no 'libc.so.6' in the function path $ONYX_FN_PATH"

# 9-10. a batch size of -5
doc bs-$$ '{"onyx/fn": "identity"}' | onyx-plan |
    jq '(.tasks[] | select(.name == "f") | .catalog."onyx/batch-size") = -5' > "$T/bs.plan"
put "$T/bs.plan"
refused "a batch size of -5" "bs-$$" \
    "the plan of job bs-$$ is refused: tasks[1].catalog.\"onyx/batch-size\": must be a positive integer, not -5"
is "$(messages "in-bs-$$")" 1 "its input is still there"

# 11-13. an ingress that is another job's internal queue (it holds a segment)
VICTIM=onyx.edge.victim-$$.in.f
echo '{"n":2}' | onyx-queue send "$VICTIM"
doc q-$$ '{"onyx/fn": "identity"}' | onyx-plan |
    jq --arg q "$VICTIM" '(.tasks[] | select(.name == "f") | .ingress) = [$q]' > "$T/q.plan"
put "$T/q.plan"
refused "another job's queue as ingress" "q-$$" \
    "the plan of job q-$$ is refused: tasks[1].ingress[0] is not what onyx-plan makes of its workflow and catalog"
is "$(messages "$VICTIM")" 1 "the other job's queue was not consumed"

# 14-15. the broker's dead-letter queue as the user's input queue
doc dlq-$$ '{"onyx/fn": "identity"}' | onyx-plan |
    jq '(.tasks[] | select(.name == "in")) |= (.catalog."artemis/queue-name" = "DLQ" | .ingress = ["DLQ"])' > "$T/dlq.plan"
put "$T/dlq.plan"
refused "the broker's DLQ as input" "dlq-$$" \
    "the plan of job dlq-$$ is refused: tasks[0].catalog.\"artemis/queue-name\": 'DLQ' is a queue of the broker's own, not a job's"
is "$(messages "in-dlq-$$")" 1 "its input is still there"

# 17-18. an allowed program runs (submitted the usual way)
doc ok-$$ '{"onyx/exec": ["jq", "--unbuffered", "-c", ".n += 1"]}' | onyx-plan > "$T/ok.plan"
onyx-submit < "$T/ok.plan" > /dev/null
nums 3 | onyx-queue send "in-ok-$$" --done
onyx-queue recv "$OUT" --until-done -w 30000 > "$T/ok.out"
is "$(ended "ok-$$")" completed "an allowed program: the job completes"
is "$(jq -sc 'map(.n) | sort' "$T/ok.out")" "[2,2,3,4]" "and its output is exact"

# 19-21. a peer without an allow-list runs no program, and says how to allow
kill -TERM "$PEER"
wait "$PEER" 2> /dev/null || true
start_peer -n 3 --exec-allow ''
doc none-$$ '{"onyx/exec": ["jq", "-c", "."]}' | onyx-plan > "$T/none.plan"
onyx-submit < "$T/none.plan" > /dev/null
refused "no allow-list" "none-$$" \
    "program 'jq' not allowed: this peer allows no programs (onyx/exec); its operator lists the allowed ones in a file given as onyx-peer --exec-allow FILE or ONYX_EXEC_ALLOW"
run_rc onyx-peer --exec-allow "$T/nonexistent"
is "$RC:$ERR" "78:onyx-peer: cannot read the exec allow-list $T/nonexistent: No such file or directory" \
    "an allow-list that cannot be read is a configuration error (78)"

if [ "$_failed" != 0 ]; then tail -20 "$T/peer.log" | sed 's/^/# /'; fi
done_testing
