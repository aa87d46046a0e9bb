#!/bin/bash
# Program functions with keyed state (onyx/exec with onyx/state): each line
# carries the segment's key and that key's state, each answer the new state;
# the state is durable, so a word count by a jq program equals coreutils'
# even when the counting peers are SIGKILLed twice mid-run; a program that
# crashes replays its batch from the state as it was; an answer without
# "state", or malformed, is a dead letter with the reason; the same job run
# twice on the same queues counts each run alone.
. "$(dirname "$0")/lib.sh"
plan 21
export ONYX_CLUSTER=$TESTNAME-$$
export ONYX_FN_PATH=$ONYX_ROOT/build/examples
TEXT=/usr/share/common-licenses/GPL-3

onyx-coord -s 4000 2>> "$T/coord.log" & PIDS="$PIDS $!"
# peer processes of one virtual peer each, each with its own log
NPEER=0
start_peer() {
	NPEER=$((NPEER + 1))
	onyx-peer -n 1 -s 4000 2>> "$T/peer$NPEER.log" & PIDS="$PIDS $!"
}
for i in 1 2 3 4 5 6; do start_peer; done

# the counting program: one new state per segment, the count at the end
COUNT='if .end then {word: .key, count: .state} else {state: ((.state // 0) + 1)} end'
# wcdoc ID Q COUNT: the word count job (examples/wordcount) with the id
# ID-$$ on the queues x-in-Q-$$ and x-out-Q-$$, the count task's entry
# merged from the JSON object COUNT; in, split and out get one peer each,
# count three at most (so that six peers serve every task)
wcdoc() {
	jq --arg s "-$2-$$" --argjson c "$3" --arg id "$1-$$" '
	    .id = $id
	    | .catalog |= map(
	        if .["onyx/name"] == "in" then .["artemis/queue-name"] = "x-in" + $s
	        elif .["onyx/name"] == "out" then .["artemis/queue-name"] = "x-out" + $s
	        else . end
	        | if .["onyx/name"] == "count" then (. + {"onyx/max-peers": 3} + $c) | with_entries(select(.value != null))
	          else . + {"onyx/max-peers": 1} end)' "$ONYX_ROOT/examples/wordcount/job.json" | onyx-plan
}
# count_of JOB TASK FIELD: the task's committed count (read, written, dead)
count_of() {
	onyx-watch --json | jq -r --arg j "$1" --arg t "$2" --arg f "$3" \
	    '[.jobs[] | select(.job == $j) | .tasks[] | select(.name == $t) | .[$f]] | first // 0'
}
# task_pids JOB TASK: the pids of the peers working on the task
task_pids() { onyx-watch --json | jq -r --arg j "$1" --arg t "$2" '.peers[] | select(.job == $j and .task == $t) | .pid'; }
# wait_peers JOB TASK N: until the task has N peers and their N receivers
# are attached to its ingress queue (from split), so the broker spreads the
# buckets over them
wait_peers() {
	local c
	for i in $(seq 1 150); do
		if [ "$(task_pids "$1" "$2" | wc -l)" -ge "$3" ]; then
			c=$(onyx-queue stat --json "onyx.edge.$1.split.$2" 2> /dev/null | jq -r '.consumers // 0')
			[ "${c:-0}" -ge "$3" ] && return 0
		fi
		sleep 0.2
	done
	return 1
}
# diag NAME: what the logs say, when a run failed
diag() {
	sed 's/^/# /' "$T/$1.err" | tail -5
	tail -n 5 "$T"/coord.log "$T"/peer*.log | sed 's/^/# /'
	onyx-watch --json | jq -c '.peers[], (.jobs[] | {job, status, why})' | sed 's/^/# /'
}
counts() { jq -r '"\(.count) \(.word)"' "$1" | sort; }
# dead QUEUE: the dead letters of QUEUE
dead() { onyx-queue recv "$1" -n "$(messages "$1")" -w 5000; }

# 1-5. the word count of ten copies of the GPL by a jq program keeping its
# counts in durable state; a counting peer is SIGKILLed twice mid-run
for i in $(seq 1 10); do cat "$TEXT"; done > "$T/text"
jq -R -c '{line: .}' "$T/text" > "$T/lines"
tr -cs '[:alnum:]' '\n' < "$T/text" | sort | uniq -c | awk 'NF == 2 { print $1, $2 }' | sort > "$T/wc.want"
WORDS=$(tr -cs '[:alnum:]' '\n' < "$T/text" | grep -c .)
wcdoc kill kill "{\"onyx/fn\": null, \"onyx/exec\": $(argv jq --unbuffered -c "$COUNT"), \"onyx/state\": \"durable\", \"onyx/batch-size\": 200}" > "$T/kill.plan"
J=$(jq -r .job "$T/kill.plan")
onyx-submit --wait --timeout 180000 < "$T/kill.plan" > /dev/null 2> "$T/kill.err" &
SUB=$!
wait_peers "$J" count 2
onyx-queue send "x-in-kill-$$" --done < "$T/lines"
KILLED=0 GONE=" "
for at in $((WORDS / 5)) $((WORDS * 2 / 5)); do
	for i in $(seq 1 600); do
		[ "$(count_of "$J" count read)" -ge "$at" ] && break
		sleep 0.1
	done
	# a live peer of the task (a killed one stays listed until its
	# session expires)
	VICTIM=
	for p in $(task_pids "$J" count); do
		case $GONE in *" $p "*) continue ;; esac
		kill -0 "$p" 2>/dev/null && VICTIM=$p && break
	done
	if [ -n "$VICTIM" ] && [ "$(count_of "$J" count read)" -lt "$WORDS" ]; then
		kill -9 "$VICTIM" && KILLED=$((KILLED + 1)) GONE="$GONE$VICTIM "
		echo "# killed count peer $VICTIM at $(count_of "$J" count read) of $WORDS words"
		start_peer
	fi
done
onyx-queue recv "x-out-kill-$$" --until-done -w 120000 > "$T/kill.out"
set +e; wait $SUB; RC=$?; set -e
[ "$RC" = 0 ] || diag kill
# the next jobs: once the killed peers' sessions have expired
for i in $(seq 1 100); do
	onyx-watch --json | jq -r '.peers[].pid' | grep -qxF -f <(printf '%s\n' $GONE) || break
	sleep 0.2
done
is "$KILLED" 2 "two counting peers were SIGKILLed before the count had read every word"
is "$RC" 0 "word count by a jq program on durable state, peers killed: the job completes"
check "the counts equal the coreutils pipeline's exactly" cmp -s <(counts "$T/kill.out") "$T/wc.want"
is "$(wc -l < "$T/kill.out")" "$(wc -l < "$T/wc.want")" "one count per word, none twice"
is "$(count_of "$J" count dead)" 0 "nothing was dead-lettered"

# 6-8. a program that crashes once in each of its first runs: the batch is
# fed again from the state as it was, so nothing is counted twice
MARK=$T/crashed
CRASH="import sys, json, os
first = not os.path.exists('$MARK')
n = 0
for l in sys.stdin:
    d = json.loads(l)
    if d.get('end'):
        print(json.dumps({'word': d['key'], 'count': d['state']}), flush=True)
        continue
    n += 1
    if first and n == 700:
        open('$MARK', 'w').close()
        sys.exit(3)
    print(json.dumps({'state': (d['state'] or 0) + 1}), flush=True)"
jq -R -c '{line: .}' "$TEXT" > "$T/lines1"
tr -cs '[:alnum:]' '\n' < "$TEXT" | sort | uniq -c | awk 'NF == 2 { print $1, $2 }' | sort > "$T/wc1.want"
# run_wc NAME PLAN Q INPUT: submit PLAN, send INPUT to x-in-Q-$$, drain
# x-out-Q-$$ into $T/NAME.out; RC is onyx-submit's status
run_wc() {
	local job
	job=$(jq -r .job "$2")
	onyx-submit --wait --timeout 180000 < "$2" > /dev/null 2> "$T/$1.err" &
	local sub=$!
	wait_peers "$job" count 1
	onyx-queue send "x-in-$3-$$" --done < "$4"
	onyx-queue recv "x-out-$3-$$" --until-done -w 60000 > "$T/$1.out"
	set +e; wait $sub; RC=$?; set -e
	[ "$RC" = 0 ] || diag "$1"
}
wcdoc crash crash "{\"onyx/fn\": null, \"onyx/exec\": $(argv python3 -u -c "$CRASH"), \"onyx/state\": \"durable\", \"onyx/batch-size\": 500}" > "$T/crash.plan"
run_wc crash "$T/crash.plan" crash "$T/lines1"
is "$RC" 0 "a counting program that crashes mid-batch: the job completes"
check "the crash was logged and the batch fed again" \
    sh -c "grep -h 'task count: the program exited with status 3' '$T'/peer*.log | grep -q 'rolled back and tried again'"
check "the counts equal the coreutils pipeline's: the failed attempt changed no state" \
    cmp -s <(counts "$T/crash.out") "$T/wc1.want"

# 9-15. answers that break the protocol: the segment is a dead letter
# with the reason, the other keys' counts are exact
doc() {
	jq -n --arg s "-$1-$$" --argjson g "$2" '{
	    workflow: [["in", "g"], ["g", "out"]],
	    catalog: [
	      {"onyx/name": "in", "onyx/type": "input", "onyx/medium": "artemis",
	       "artemis/queue-name": ("x-in" + $s), "onyx/batch-size": 100, "onyx/max-peers": 1},
	      ({"onyx/name": "g", "onyx/type": "function", "onyx/batch-size": 100,
	        "onyx/group-by-key": "k", "onyx/state": "durable", "onyx/max-retries": 1} + $g),
	      {"onyx/name": "out", "onyx/type": "output", "onyx/medium": "artemis",
	       "artemis/queue-name": ("x-out" + $s), "onyx/batch-size": 100, "onyx/max-peers": 1}]}' |
	    jq --arg id "$1-$$" '. + {id: $id}' | onyx-plan
}
BAD='if .end then (if .key == "c" then {"onyx/error": "no end for c"} else {k: .key, count: .state} end)
     elif .segment.k == "nostate" then {emit: null}
     elif .segment.k == "number" then 42
     elif .segment.k == "emit" then {state: 1, emit: 5}
     else {state: ((.state // 0) + 1), emit: null} end'
awk 'BEGIN { split("a b c nostate number emit", k, " ");
    for (i = 1; i <= 600; i++) printf "{\"k\":\"%s\",\"n\":%d}\n", k[i % 6 + 1], i }' > "$T/bad.in"
doc bad "{\"onyx/exec\": $(argv jq --unbuffered -c "$BAD")}" > "$T/bad.plan"
BJ=$(jq -r .job "$T/bad.plan")
onyx-submit --wait --timeout 180000 < "$T/bad.plan" > /dev/null 2> "$T/bad.err" &
SUB=$!
onyx-queue send "x-in-bad-$$" --done < "$T/bad.in"
onyx-queue recv "x-out-bad-$$" --until-done -w 120000 > "$T/bad.out"
set +e; wait $SUB; RC=$?; set -e
is "$RC" 0 "a program breaking the protocol on some keys: onyx-submit --wait exits 0"
is "$(jq -c . "$T/bad.out" | sort | tr '\n' ' ')" \
    '{"k":"a","count":100} {"k":"b","count":100} ' \
    "the keys answered right are counted exactly, the others hold no state"
dead "onyx.dlq.$BJ.g" > "$T/bad.dead"
is "$(wc -l < "$T/bad.dead")" 301 "every segment of the three keys answered wrong is a dead letter, and one end line"
is "$(jq -c 'select(.segment.end)' "$T/bad.dead")" \
    '{"error":"no end for c","task":"g","attempts":1,"segment":{"key":"c","state":100,"end":true}}' \
    "an end line answered onyx/error is a dead letter holding the key and its state"
is "$(jq -r 'select(.segment.k == "nostate") | "\(.error) \(.attempts)"' "$T/bad.dead" | sort -u)" \
    'the program'"'"'s answer has no "state" (its task keeps keyed state): {"emit":null} 2' \
    "an answer without \"state\": the reason says so, after 1 + onyx/max-retries attempts"
is "$(jq -r 'select(.segment.k == "number") | "\(.error) \(.attempts)"' "$T/bad.dead" | sort -u)" \
    'the program'"'"'s answer is not an object {"state": ..., "emit": ...} (its task keeps keyed state): 42 2' \
    "an answer that is not an object: the reason says so, after 1 + onyx/max-retries attempts"
is "$(jq -r 'select(.segment.k == "emit") | "\(.error) \(.attempts)"' "$T/bad.dead" | sort -u)" \
    'the program'"'"'s answer has an "emit" that is not an object, an array of objects or null: {"state":1,"emit":5} 2' \
    "an \"emit\" that is not segments: the reason says so"

# 16-19. the same job twice in a row on the same queues: each run counts
# its own input, from no state
STATEFUL="{\"onyx/fn\": null, \"onyx/exec\": $(argv jq --unbuffered -c "$COUNT"), \"onyx/state\": \"durable\"}"
wcdoc twice-1 twice "$STATEFUL" > "$T/twice1.plan"
run_wc twice1 "$T/twice1.plan" twice "$T/lines1"
is "$RC" 0 "the first run: the job completes"
check "the first run's counts equal the coreutils pipeline's" cmp -s <(counts "$T/twice1.out") "$T/wc1.want"
wcdoc twice-2 twice "$STATEFUL" > "$T/twice2.plan"
run_wc twice2 "$T/twice2.plan" twice "$T/lines1"
is "$RC" 0 "the second run, the same queues: the job completes"
check "the second run's counts equal the coreutils pipeline's: nothing of the first run's state" cmp -s <(counts "$T/twice2.out") "$T/wc1.want"

# 20-21. keyed state in memory: each peer writes the end lines of the
# buckets it holds, through the hold protocol
wcdoc mem mem "{\"onyx/fn\": null, \"onyx/exec\": $(argv jq --unbuffered -c "$COUNT"), \"onyx/state\": \"memory\"}" > "$T/mem.plan"
run_wc mem "$T/mem.plan" mem "$T/lines1"
is "$RC" 0 "word count by a program on memory state: the job completes"
check "the counts equal the coreutils pipeline's" cmp -s <(counts "$T/mem.out") "$T/wc1.want"
done_testing
