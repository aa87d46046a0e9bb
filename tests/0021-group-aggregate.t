#!/bin/bash
# Grouping and aggregation: segments with the same group go to one virtual
# peer of the grouped task (Artemis message groups); functions keep state
# and write it at the end of the input (C flush hooks, a program's last
# lines after EOF), before the task's sentinel. Word counts equal coreutils'.
. "$(dirname "$0")/lib.sh"
plan 14
export ONYX_CLUSTER=$TESTNAME-$$
export ONYX_FN_PATH=$ONYX_ROOT/build/examples
TEXT=/usr/share/common-licenses/GPL-3

onyx-coord -s 4000 2>> "$T/coord.log" & PIDS="$PIDS $!"
onyx-peer -n 6 2>> "$T/peer.log" & PIDS="$PIDS $!"

# doc NAME G: in -> g -> out; g's entry merged from the JSON object G; in
# and out have one peer each, so g gets four
doc() {
	jq -n --arg s "-$1-$$" --argjson g "$2" '{
	    workflow: [["in", "g"], ["g", "out"]],
	    catalog: [
	      {"onyx/name": "in", "onyx/type": "input", "onyx/medium": "artemis",
	       "artemis/queue-name": ("x-in" + $s), "onyx/batch-size": 200, "onyx/max-peers": 1},
	      ({"onyx/name": "g", "onyx/type": "function", "onyx/batch-size": 200} + $g),
	      {"onyx/name": "out", "onyx/type": "output", "onyx/medium": "artemis",
	       "artemis/queue-name": ("x-out" + $s), "onyx/batch-size": 200, "onyx/max-peers": 1}]}' |
	    jq --arg id "$1-$$" '. + {id: $id}' | onyx-plan
}
# wcdoc NAME COUNT: the word count job (examples/wordcount) with the
# count task's entry merged from the JSON object COUNT
wcdoc() {
	jq --arg s "-$1-$$" --argjson c "$2" --arg id "$1-$$" '
	    .id = $id
	    | .catalog |= map(
	        if .["onyx/name"] == "in" then .["artemis/queue-name"] = "x-in" + $s
	        elif .["onyx/name"] == "out" then .["artemis/queue-name"] = "x-out" + $s
	        elif .["onyx/name"] == "count" then (. + $c) | with_entries(select(.value != null))
	        else . end)' "$ONYX_ROOT/examples/wordcount/job.json" | onyx-plan
}
# run NAME PLAN INPUT: submit PLAN, wait until its task g (or count) has
# all the peers it will get (WANT), send INPUT, drain the output into
# $T/NAME.out; RC is onyx-submit's status
WANT=4
run() {
	local job t0=$SECONDS
	job=$(jq -r .job "$2")
	onyx-submit --wait --timeout 180000 < "$2" > /dev/null 2> "$T/$1.err" &
	local sub=$!
	for i in $(seq 1 100); do
		[ "$(onyx-watch --json | jq --arg j "$job" '[.jobs[] | select(.job == $j) | .tasks[] | select(.name == "g" or .name == "count") | .peers | length] | max // 0')" -ge "$WANT" ] && sleep 2 && break
		sleep 0.2
	done
	onyx-queue send "x-in-$1-$$" --done < "$3"
	onyx-queue recv "x-out-$1-$$" --until-done -w 120000 > "$T/$1.out"
	set +e; wait $sub; RC=$?; set -e
	echo "# $1: $((SECONDS - t0)) s"
	[ "$RC" = 0 ] || sed 's/^/# /' "$T/$1.err" "$T/peer.log" | tail -20
}

# 1-4. group by key: each key's segments all meet one peer
awk 'BEGIN { for (i = 1; i <= 4000; i++) printf "{\"k\":\"key%d\",\"n\":%d}\n", i % 50, i }' > "$T/keys.in"
doc key "{\"onyx/exec\": $(argv jq --unbuffered -c '. + {peer: env.ONYX_PEER}'), \"onyx/group-by-key\": \"k\"}" > "$T/key.plan"
run key "$T/key.plan" "$T/keys.in"
is "$RC" 0 "a job grouped by key completes"
is "$(jq -c 'del(.peer)' "$T/key.out" | sort | cmp - <(sort "$T/keys.in") && echo same)" same \
    "every segment came out once"
is "$(jq -r '"\(.k) \(.peer)"' "$T/key.out" | sort -u | awk '{ print $1 }' | uniq -d | wc -l)" 0 \
    "every key's segments were processed by exactly one peer"
like "$(jq -r .peer "$T/key.out" | sort -u | wc -l)" '^[234]$' "the keys were spread over several of the four peers"

# 5-6. a JSON path as the key: "$.user.id"
awk 'BEGIN { for (i = 1; i <= 2000; i++) printf "{\"user\":{\"id\":%d},\"n\":%d}\n", i % 30, i }' > "$T/path.in"
doc path "{\"onyx/exec\": $(argv jq --unbuffered -c '. + {peer: env.ONYX_PEER}'), \"onyx/group-by-key\": \"\$.user.id\"}" > "$T/path.plan"
run path "$T/path.plan" "$T/path.in"
is "$RC" 0 "a job grouped by a JSON path completes"
is "$(jq -r '"\(.user.id) \(.peer)"' "$T/path.out" | sort -u | awk '{ print $1 }' | uniq -d | wc -l):$(wc -l < "$T/path.out")" 0:2000 \
    "every user's segments met one peer, and all 2000 came out"

# 7-14. word counts equal tr -cs '[:alnum:]' '\n' | sort | uniq -c
jq -R -c '{line: .}' "$TEXT" > "$T/lines"
tr -cs '[:alnum:]' '\n' < "$TEXT" | sort | uniq -c | awk 'NF == 2 { print $1, $2 }' | sort > "$T/wc.want"
counts() { jq -r '"\(.count) \(.word)"' "$1" | sort; }
WANT=1 # the count task's peers: however many it gets

wcdoc wck '{}' > "$T/wck.plan"
run wck "$T/wck.plan" "$T/lines"
is "$RC" 0 "word count (C count with flush hook, grouped by key): the job completes"
check "word count by key equals the coreutils pipeline" cmp -s <(counts "$T/wck.out") "$T/wc.want"

wcdoc wcf '{"onyx/group-by-key": null, "onyx/group-by-fn": "libonyx_examples.so:first_letter"}' > "$T/wcf.plan"
run wcf "$T/wcf.plan" "$T/lines"
is "$RC" 0 "word count grouped by a C function (first letter): the job completes"
check "word count by a C group function equals the coreutils pipeline" cmp -s <(counts "$T/wcf.out") "$T/wc.want"

wcdoc wcp "{\"onyx/group-by-key\": null, \"onyx/group-by-fn\": $(argv jq --unbuffered -c '.word[0:1]')}" > "$T/wcp.plan"
run wcp "$T/wcp.plan" "$T/lines"
is "$RC" 0 "word count grouped by a program (jq): the job completes"
check "word count by a group program equals the coreutils pipeline" cmp -s <(counts "$T/wcp.out") "$T/wc.want"

# a Python program that counts: one null per input line, the counts after EOF
COUNT='import sys, json, collections
c = collections.Counter()
for l in sys.stdin:
    c[json.loads(l)["word"]] += 1
    print("null", flush=True)
for w, n in c.items():
    print(json.dumps({"word": w, "count": n}))'
wcdoc wcy "{\"onyx/fn\": null, \"onyx/state\": null, \"onyx/exec\": $(argv python3 -u -c "$COUNT")}" > "$T/wcy.plan"
run wcy "$T/wcy.plan" "$T/lines"
is "$RC" 0 "word count by a Python program printing its counts after EOF: the job completes"
check "the Python word count equals the coreutils pipeline" cmp -s <(counts "$T/wcy.out") "$T/wc.want"
done_testing
