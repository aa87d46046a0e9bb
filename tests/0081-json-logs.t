#!/bin/bash
# ONYX_LOG_FORMAT=json: a small job run with every program logging at info
# (-v, the same level everywhere) in JSON; every stderr line of every program is one JSON object with time,
# program, level and message, and the peer's lines about a task carry its
# peer, job and task. A bad value is a configuration error (78).
. "$(dirname "$0")/lib.sh"
plan 27
export ONYX_CLUSTER=$TESTNAME-$$
export ONYX_FN_PATH=$ONYX_ROOT/build/examples
unset ONYX_LOG
export ONYX_LOG_FORMAT=json
in=$(qname in) out=$(qname out) J=json-$$

# a bad format names the variable, for a program with settings and without
run_rc env ONYX_LOG_FORMAT=yaml onyx-peer
is "$RC:$ERR" "78:onyx-peer: ONYX_LOG_FORMAT: 'yaml' is not a log format (text or json)" \
    "a bad ONYX_LOG_FORMAT: exit 78, naming it (in the text form)"
run_rc env ONYX_LOG=verbose onyx-peer
is "$RC:$ERR" "78:onyx-peer: ONYX_LOG: 'verbose' is not a log level (error, warn, info or debug)" \
    "a bad ONYX_LOG: exit 78, naming it"
run_rc env ONYX_LOG_FORMAT=JSON onyx-plan --help
is "$RC" 78 "the value is exact: JSON is not json"
run_rc env ONYX_LOG_FORMAT=text onyx-plan --no-such-option
is "$(head -1 "$T/err")" "onyx-plan: unknown option '--no-such-option'" "text is the default form"

onyx-coord -v -s 4000 2> "$T/coord.log" &
PIDS="$PIDS $!"
onyx-peer -v -n 3 -s 4000 2> "$T/peer.log" &
PIDS="$PIDS $!"
jq --arg id "$J" --arg in "$in" --arg out "$out" '. + {id: $id}
    | (.catalog[] | select(."onyx/name" == "in") | ."artemis/queue-name") = $in
    | (.catalog[] | select(."onyx/name" == "out") | ."artemis/queue-name") = $out' \
    "$ONYX_ROOT/examples/inc/job.json" | onyx-plan -v 2> "$T/plan.log" > "$T/plan"
nums 100 | onyx-queue -v send --done "$in" 2> "$T/send.log"
run_rc onyx-submit -v --wait --timeout 60000 "$T/plan"
cp "$T/err" "$T/submit.log"
is "$RC:$OUT" "0:$J" "the job runs to its end"
onyx-queue -v recv --until-done -w 20000 "$out" > "$T/got" 2> "$T/recv.log"
is "$(wc -l < "$T/got")" 100 "every segment comes out"
onyx-watch -v 2> "$T/watch.log" > /dev/null
# an error from err(3) of a command, and a usage text, are JSON lines too
run_rc onyx-submit "$T/no-such-plan"
cp "$T/err" "$T/submit-err.log"
run_rc onyx-queue send
cp "$T/err" "$T/usage.log"
# the peers say goodbye (stopped) on SIGTERM
kill -TERM $PIDS
wait $PIDS 2> /dev/null || true

# every line of every program parses and has the fields
all="$T/coord.log $T/peer.log $T/plan.log $T/send.log $T/submit.log $T/recv.log $T/watch.log $T/submit-err.log $T/usage.log"
# shellcheck disable=SC2086
cat $all > "$T/all.log"
check "the programs logged (coord, peer, send, submit, recv)" \
    sh -c "[ -s '$T/coord.log' ] && [ -s '$T/peer.log' ] && [ -s '$T/send.log' ] && [ -s '$T/submit.log' ] && [ -s '$T/recv.log' ]"
bad=0
for f in $all; do
	while IFS= read -r l; do
		printf '%s\n' "$l" | jq -e 'type == "object"' > /dev/null 2>&1 || { bad=$((bad + 1)); echo "# not JSON in $f: $l"; }
	done < "$f"
done
is "$bad" 0 "every stderr line of every program is a JSON object"
is "$(jq -s '[.[] | select((.time | type) != "string" or (.program | type) != "string" or (.level | type) != "string" or (.message | type) != "string")] | length' "$T/all.log")" 0 \
    "each has time, program, level and message"
is "$(jq -rs '[.[] | select(.time | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z$") | not)] | length' "$T/all.log")" 0 \
    "time is RFC 3339 UTC with milliseconds"
is "$(jq -rs '[.[].level] | unique | map(select(IN("error", "warn", "info", "debug") | not)) | length' "$T/all.log")" 0 \
    "level is one of error, warn, info, debug"
is "$(jq -rs '[.[] | select(.level == "debug")] | length' "$T/all.log")" 0 "-v is info: no debug line anywhere"
for f in coord peer send submit recv; do
	n=$(jq -c 'select(.level == "info")' "$T/$f.log" | wc -l)
	check "$f -v: info lines ($n)" test "$n" -gt 0
	p=onyx-$f
	[ "$f" = send ] || [ "$f" = recv ] && p=onyx-queue
	is "$(jq -r .program "$T/$f.log" | sort -u | tr '\n' ' ')" "$p " "$f: program is $p"
done
is "$(jq -r 'select(.message | test("^peer [^ ]+: task [^ ]+ of job ")) | .message' "$T/peer.log" | wc -l | tr -d ' ')" \
    "$(jq -r 'select(.message | test("^peer [^ ]+: task [^ ]+ of job ")) | select(.message == "peer " + .peer + ": task " + .task + " of job " + .job + ": " + (.message | sub("^peer [^ ]+: task [^ ]+ of job [^ ]+: "; ""))) | .message' "$T/peer.log" | wc -l | tr -d ' ')" \
    "the peer's lines about a task carry its peer, job and task"
is "$(jq -r "select(.job == \"$J\") | .task" "$T/peer.log" | sort -u | tr '\n' ' ')" "in inc out " \
    "lines for each task of the job"
is "$(jq -c 'select(.message | test("peers up")) | [has("peer"), has("job"), has("task")]' "$T/peer.log")" "[false,false,false]" \
    "a line about no peer and no task carries neither"
is "$(jq -r 'select(.level == "error") | .message' "$T/submit-err.log")" \
    "$T/no-such-plan: No such file or directory" "err(3) of a command: level error, the program name not repeated"
is "$(jq -r .message "$T/usage.log" | head -2 | tr '\n' '|')" "send: no queue named|" \
    "a usage error is a JSON line"
done_testing
