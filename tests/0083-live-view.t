#!/bin/bash
# The live view (onyx-watch -f on a terminal, and its JSON lines piped) and
# the progress line of onyx-submit --wait, on a real terminal under tmux,
# during a job slowed by its function; onyx-submit --wait --job for a job
# submitted before (completed, failed, unknown).
. "$(dirname "$0")/lib.sh"
plan 31
export ONYX_CLUSTER=$TESTNAME-$$
N=2000
# a private tmux server, stopped at the end
TM="tmux -L onyx-$TESTNAME-$$"
trap '$TM kill-server 2>/dev/null || true; cleanup' EXIT

onyx-coord -s 4000 2> "$T/coord.log" &
PIDS="$PIDS $!"
onyx-peer -n 4 2> "$T/peer.log" &
PIDS="$PIDS $!"

# doc ID ARGV: in -> f -> out, f running ARGV, batches of 50, on the
# queues ID-in and ID-out
doc() {
	jq -n --arg id "$1" --argjson argv "$2" '{id: $id,
	    workflow: [["in", "f"], ["f", "out"]],
	    catalog: [
	      {"onyx/name": "in", "onyx/type": "input", "onyx/medium": "artemis",
	       "artemis/queue-name": ($id + "-in"), "onyx/batch-size": 50},
	      {"onyx/name": "f", "onyx/type": "function", "onyx/exec": $argv,
	       "onyx/batch-size": 50},
	      {"onyx/name": "out", "onyx/type": "output", "onyx/medium": "artemis",
	       "artemis/queue-name": ($id + "-out"), "onyx/batch-size": 50}]}' |
	    onyx-plan
}
# a function slow enough to be seen: 6 ms a segment
SLOW='import sys, time
for l in sys.stdin:
    time.sleep(0.006); sys.stdout.write(l); sys.stdout.flush()'
# pane NAME: what the terminal of tmux session NAME shows
pane() { $TM capture-pane -p -t "$1"; }
# until SECONDS CMD...: poll CMD every 0.2 s until it succeeds
until_ok() {
	local end=$((SECONDS + $1))
	shift
	while [ $SECONDS -lt $end ]; do "$@" && return 0; sleep 0.2; done
	return 1
}
# row NAME TASK: the fields of TASK's row in the live view of pane NAME
row() { pane "$1" | awk -v t="$2" '$1 == t && NF >= 11 { print; exit }'; }
DURATION='^([0-9]+s|[0-9]+m[0-9]{2}s)$'
# live_row: the row of f while it runs with a rate, a backlog, an ETA and
# a sparkline
live_row() {
	local r
	r=$(row w f)
	set -- $r
	[ "${3:-}" = running ] && [[ "${6:-}" =~ ^[0-9]+\.[0-9]k?$ ]] &&
	    [ "$6" != 0.0 ] && [[ "${7:-}" =~ ^[0-9]+$ ]] && [ "$7" -gt 0 ] &&
	    [[ "${11:-}" =~ $DURATION ]] && [[ "${12:-}" =~ [▁▂▃▄▅▆▇█] ]] || return 1
	ROW=$r
}
# debug NAME: the pane of NAME as TAP comments
debug() { pane "$1" | sed 's/^/# /'; }

J=live-$$
doc "$J" "$(argv python3 -u -c "$SLOW")" > "$T/plan"

# the live view, before the job, on a terminal of 160 x 50
$TM new-session -d -s w -x 160 -y 50 "onyx-watch -f 2> $T/w.err; echo rc=\$?; sleep 600"
# and its piped form, for as long as the job runs
onyx-watch -f > "$T/f.json" 2> "$T/f.err" &
FPID=$!
PIDS="$PIDS $FPID"
# the progress line, on a terminal of its own
$TM new-session -d -s s -x 160 -y 10 "onyx-submit --wait $T/plan > $T/s.out; echo rc=\$?; sleep 600"
check "onyx-submit --wait submits the job" until_ok 30 grep -qsx "$J" "$T/s.out"
# a second wait, for the job submitted before, with stderr piped
onyx-submit --wait --job "$J" --timeout 120000 > "$T/j.out" 2> "$T/j.err" &
JPID=$!
PIDS="$PIDS $JPID"
nums $N | onyx-queue send "$J-in" --done

# 2-5. the live view while the job runs
check "the live view shows f running, with a rate, a backlog and an ETA" until_ok 60 live_row
[ -n "${ROW:-}" ] || debug w
like "${ROW:-}" '[▁▂▃▄▅▆▇█]$' "its row ends with a sparkline of its rate"
job_eta() { pane w | grep -Eq "^JOB $J  running  ETA ([0-9]+s|[0-9]+m[0-9]{2}s)$"; }
check "the job's line has the job's ETA" until_ok 20 job_eta
C1=$(pane w | head -1)
like "$C1" "^cluster $ONYX_CLUSTER, leader [^ ]+, peers 4: .*, at [0-9]{2}:[0-9]{2}:[0-9]{2}$" \
    "the title names the cluster, the leader, the peers and the time"
# 6-8. without a broker, the backlog is unknown and the rest is there
run_rc onyx-watch -f -n 1 -B amqp://127.0.0.1:1
is "$(printf '%s\n' "$OUT" | jq -c --arg j "$J" '.jobs[] | select(.job == $j) | .tasks[] | [.name, .backlog == null, .inflight, (.read | type)]' | tr '\n' ' ')" \
    '["in",true,null,"number"] ["f",false,null,"number"] ["out",false,null,"number"] ' \
    "no broker: the input's backlog and each in flight are null, the stats-based backlogs and totals stay"
like "$ERR" "^onyx-watch: no backlog: .*127\.0\.0\.1:1" "and it says once why"
like "$(printf '%s\n' "$OUT" | jq -r .broker)" "127\.0\.0\.1:1" "and so does the state's broker field"

# 9-11. the progress line while it runs, in place
LINE="^job $J running: task [a-z]+ ([0-9]+)/([0-9]+) segments, backlog [0-9]+, [0-9.]+k?/s, ETA ([0-9]+s|[0-9]+m[0-9]{2}s)\$"
# progress_ok: the line, with a rate above 0 and the ETA a duration
progress_ok() {
	P=$(pane s | grep "^job $J running: ")
	[[ "$P" =~ $LINE ]] || return 1
	DONE=${BASH_REMATCH[1]} TOTAL=${BASH_REMATCH[2]}
	[[ ! "$P" =~ " 0.0/s" ]]
}
check "the progress line shows the segments, the backlog, a rate above 0 and the ETA" until_ok 30 progress_ok
is "$(pane s | grep -c "^job ")" 1 "it is one line, redrawn in place"
check "while the job runs, less than the total is done" [ "${DONE:-0}" -lt "${TOTAL:-0}" ]

# 12-14. later: the backlog went down from the most it was, and the table
# was drawn again in place
MOST=0
later() {
	live_row || return 1
	set -- $ROW
	[ "$7" -gt $MOST ] && MOST=$7
	[ "$7" -lt $MOST ] && [ "$(pane w | head -1)" != "$C1" ]
}
check "a later refresh shows f's backlog lower" until_ok 30 later
is "$(pane w | grep -c "^JOB $J ")" 1 "redrawn in place: the job is on the screen once"
is "$($TM display -p -t w '#{cursor_flag}')" 0 "the cursor is hidden while it runs"

# 15-18. the end: the progress line reaches the total, --job returns 0
check "the progress line reaches the total at the end" until_ok 120 sh -c \
    "$TM capture-pane -p -t s | grep -qx 'job $J completed: task out $N/$N segments, backlog 0, -/s, ETA 0s'"
check "and onyx-submit --wait exits 0" until_ok 10 sh -c "$TM capture-pane -p -t s | grep -qx rc=0"
set +e; wait $JPID; RC=$?; set -e
is "$RC:$(cat "$T/j.out")" "0:" "onyx-submit --wait --job exits 0 when the job completes"
is "$(cat "$T/j.err")" "" "with stderr not a terminal: no progress line, nothing"

# 19-22. the view at the end; the terminal restored at SIGINT
check "the live view shows the job completed" until_ok 20 sh -c \
    "$TM capture-pane -p -t w | grep -q '^JOB $J  completed$'"
# (the last counts reach ZooKeeper a moment after the end: a refresh)
out_done() { set -- $(row w out); [ "$1 $3 $4 $5 $6 $7 $8 ${11}" = "out complete $N $N - - - -" ]; }
check "its tasks complete, with their totals and no live fields" until_ok 10 out_done
$TM send-keys -t w C-c
check "onyx-watch -f ends at SIGINT, exit 0" until_ok 10 sh -c "$TM capture-pane -p -t w | grep -q 'rc=0$'"
is "$($TM display -p -t w '#{cursor_flag}')" 1 "the cursor is shown again"

# 23-27. the piped form: JSON lines with the new fields
kill -TERM $FPID
set +e; wait $FPID; RC=$?; set -e
is "$RC" 0 "onyx-watch -f piped ends at SIGTERM, exit 0"
check "every line is one JSON object" sh -c "jq -e -s 'length > 2 and all(type == \"object\")' '$T/f.json' > /dev/null"
jq -c --arg j "$J" '.jobs[] | select(.job == $j and .status == "running") | .tasks[] | select(.name == "f")' \
    "$T/f.json" > "$T/f.rows"
is "$(jq -c -s 'map(select((.rate | type) == "number" and .rate > 0 and (.backlog | type) == "number" and (.inflight | type) == "number" and (.eta | type) == "number" and (.rates | length) == 20)) | length > 0' "$T/f.rows")" \
    true "lines of the running job give f's rate, backlog, in flight, ETA and 20 rates"
is "$(jq -c -s '.[-1] | [.name, .phase, (.status | type), (.read | type), (.written | type), .dead, (.peers | type), .["dead-letter"]]' "$T/f.rows")" \
    "[\"f\",1,\"string\",\"number\",\"number\",0,\"array\",\"onyx.dlq.$J.f\"]" \
    "and keep every field they had"
is "$(jq -c -s '[.[].backlog] | max > 0 and .[-1] < max' "$T/f.rows")" \
    true "f's backlog goes down from its highest while the job runs"

# 28-31. --wait --job: a failed job, an unknown job, misuse
JB=bad-$$
doc "$JB" "$(argv sh -c 'while read -r l; do echo 42; done')" > "$T/bad.plan"
onyx-submit < "$T/bad.plan" > /dev/null
nums 20 | onyx-queue send "$JB-in" --done
run_rc onyx-submit --wait --job "$JB" --timeout 120000
is "$RC" 70 "--wait --job on a job that fails: exit 70"
like "$ERR" "^onyx-submit: job $JB failed: .*42" "naming the reason"
run_rc onyx-submit --wait --job "no-such-$$"
is "$RC:$ERR" "66:onyx-submit: no job no-such-$$" "--wait --job of an unknown job: exit 66"
run_rc onyx-submit --job "$J"
is "$RC:$ERR" "64:onyx-submit: --job needs --wait" "--job without --wait: usage error"
done_testing
