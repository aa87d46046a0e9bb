#!/bin/bash
# Grouping and aggregation under SIGKILL: when a peer of a grouped task dies
# its groups move to another peer and nothing is lost or doubled; when a peer
# dies while flushing its state, that state is lost (documented) but the task
# still seals exactly once and the job completes.
. "$(dirname "$0")/lib.sh"
plan 8
export ONYX_CLUSTER=$TESTNAME-$$
export ONYX_FN_PATH=$ONYX_ROOT/build/examples

onyx-coord -s 4000 2>> "$T/coord.log" & PIDS="$PIDS $!"
# six peer processes of one virtual peer each, each with its own log
declare -A LOGPID
start_peer() { onyx-peer -n 1 -s 4000 2>> "$T/peer$1.log" & PIDS="$PIDS $!"; LOGPID[$T/peer$1.log]=$!; }
for i in 1 2 3 4 5 6; do start_peer $i; done

# doc NAME G: in -> g -> out; g's entry merged from G; g gets four peers
doc() {
	jq -n --arg s "-$1-$$" --argjson g "$2" '{
	    workflow: [["in", "g"], ["g", "out"]],
	    catalog: [
	      {"onyx/name": "in", "onyx/type": "input", "onyx/medium": "artemis",
	       "artemis/queue-name": ("x-in" + $s), "onyx/batch-size": 100, "onyx/max-peers": 1},
	      ({"onyx/name": "g", "onyx/type": "function", "onyx/batch-size": 100} + $g),
	      {"onyx/name": "out", "onyx/type": "output", "onyx/medium": "artemis",
	       "artemis/queue-name": ("x-out" + $s), "onyx/batch-size": 100, "onyx/max-peers": 1}]}' |
	    jq --arg id "$1-$$" '. + {id: $id}' | onyx-plan
}
# g_pids JOB: the pids of the peers working on task g
g_pids() { onyx-watch --json | jq -r --arg j "$1" '.peers[] | select(.job == $j and .task == "g") | .pid'; }
wait_g() {
	for i in $(seq 1 150); do
		# acked: give their receivers a moment to attach, so that the
		# broker spreads the groups over all four
		[ "$(g_pids "$1" | wc -l)" -ge 4 ] && sleep 2 && return 0
		sleep 0.2
	done
	return 1
}

# 1-3. SIGKILL of a grouped peer mid-stream: its groups move, nothing lost
awk 'BEGIN { for (i = 1; i <= 20000; i++) printf "{\"k\":\"key%d\",\"n\":%d}\n", i % 40, i }' > "$T/in"
doc kill "{\"onyx/exec\": $(argv jq --unbuffered -c '. + {peer: env.ONYX_PEER}'), \"onyx/group-by-key\": \"k\"}" > "$T/kill.plan"
J=$(jq -r .job "$T/kill.plan")
onyx-submit --wait --timeout 180000 < "$T/kill.plan" > /dev/null 2> "$T/kill.err" &
SUB=$!
wait_g "$J"
onyx-queue send "x-in-kill-$$" --done < "$T/in"
for i in $(seq 1 300); do [ "$(messages "x-out-kill-$$")" -ge 3000 ] && break; sleep 0.1; done
VICTIM=$(g_pids "$J" | head -1)
kill -9 "$VICTIM"
onyx-queue recv "x-out-kill-$$" --until-done -w 120000 > "$T/kill.out"
set +e; wait $SUB; RC=$?; set -e
is "$RC" 0 "a peer of the grouped task killed mid-stream: the job completes"
is "$(jq -c 'del(.peer)' "$T/kill.out" | sort | cmp - <(sort "$T/in") && echo same)" same \
    "every segment came out exactly once"
like "$(jq -r .peer "$T/kill.out" | sort -u | wc -l)" '^[2-9]$' "the groups were served by several peers"

# 4-7. SIGKILL of a peer while it flushes its counts
start_peer 7
COUNT='import sys, json, time, collections
c = collections.Counter()
for l in sys.stdin:
    c[json.loads(l)["k"]] += 1
    print("null", flush=True)
print("flushing", file=sys.stderr, flush=True)
time.sleep(4)
for k, n in c.items():
    print(json.dumps({"k": k, "count": n}))'
awk 'BEGIN { for (i = 1; i <= 4000; i++) printf "{\"k\":\"key%d\",\"n\":%d}\n", i % 40, i }' > "$T/in2"
doc flush "{\"onyx/exec\": $(argv python3 -u -c "$COUNT"), \"onyx/group-by-key\": \"k\"}" > "$T/flush.plan"
J=$(jq -r .job "$T/flush.plan")
onyx-submit --wait --timeout 180000 < "$T/flush.plan" > /dev/null 2> "$T/flush.err" &
SUB=$!
wait_g "$J"
onyx-queue send "x-in-flush-$$" --done < "$T/in2"
# the first peer to say it flushes is killed
VICTIM=
for i in $(seq 1 600); do
	f=$(grep -l "task g: flushing" "$T"/peer*.log 2>/dev/null | head -1)
	if [ -n "$f" ]; then VICTIM=${LOGPID[$f]}; break; fi
	sleep 0.1
done
[ -n "$VICTIM" ] && kill -9 "$VICTIM"
onyx-queue recv "x-out-flush-$$" --until-done -w 120000 > "$T/flush.out"
set +e; wait $SUB; RC=$?; set -e
check "a peer was killed while flushing" test -n "$VICTIM"
is "$RC" 0 "a peer killed mid-flush: the task still seals and the job completes"
jq -r '.k' "$T/in2" | sort | uniq -c | awk '{ printf "{\"k\":\"%s\",\"count\":%d}\n", $2, $1 }' | sort > "$T/want2"
check "what the other peers flushed is right: each line is an exact count" \
    sh -c "jq -c . '$T/flush.out' | sort | comm -23 - '$T/want2' | grep -q . && exit 1 || exit 0"
like "$(wc -l < "$T/flush.out")" '^[1-9]' "the other peers' counts are there"
is "$(messages "x-out-flush-$$")" 0 "one sentinel reached the output (consumed by recv), nothing after it"
done_testing
