#!/bin/bash
# Durable keyed state moves with its bucket: a second peer process joins
# the word count mid-run and takes the buckets it is given, then the first
# one leaves (SIGTERM) and its buckets, with their counts, move to the
# second, which restores them from the state queue before it counts on:
# the counts equal coreutils exactly.
. "$(dirname "$0")/lib.sh"
plan 8
export ONYX_CLUSTER=$TESTNAME-$$
export ONYX_FN_PATH=$ONYX_ROOT/build/examples

onyx-coord -s 4000 2>> "$T/coord.log" & PIDS="$PIDS $!"
for i in 1 2 3 4; do onyx-peer -n 1 -s 4000 2>> "$T/peer$i.log" & PIDS="$PIDS $!"; done

J=state-move-$$
jq --arg s "-$$" --arg id "$J" '
    .id = $id
    | .catalog |= map(
        if .["onyx/name"] == "in" then .["artemis/queue-name"] = "x-in" + $s | .["onyx/max-peers"] = 1
        elif .["onyx/name"] == "out" then .["artemis/queue-name"] = "x-out" + $s | .["onyx/max-peers"] = 1
        elif .["onyx/name"] == "split" then .["onyx/max-peers"] = 1
        else . + {"onyx/max-peers": 2, "onyx/batch-size": 200} end)' \
    "$ONYX_ROOT/examples/wordcount/job.json" | onyx-plan > "$T/plan"

# three parts of one stream: first only words of buckets 0-31 (FNV-1a % 64
# of the word, as a writer hashes a group), then all words, twice
TEXT=/usr/share/common-licenses/GPL-3
python3 - "$TEXT" "$T" <<'EOT'
import json, re, sys
text, t = sys.argv[1:]
def bucket(w):
    x = 2166136261
    for c in w.encode():
        x = ((x ^ c) * 16777619) & 0xffffffff
    return x % 64
lines = open(text, encoding="latin-1").read().split("\n")
with open(t + "/part1", "w") as f:
    for _ in range(3):
        for l in lines:
            ws = [w for w in re.findall(r"[A-Za-z0-9]+", l) if bucket(w) < 32]
            f.write(json.dumps({"line": " ".join(ws)}) + "\n")
with open(t + "/part2", "w") as f:
    for _ in range(3):
        for l in lines:
            f.write(json.dumps({"line": l}) + "\n")
EOT
words() { jq -r .line "$1" | tr -cs '[:alnum:]' '\n' | grep -c .; }
W1=$(words "$T/part1") W2=$(words "$T/part2")
cat "$T/part1" "$T/part2" "$T/part2" | jq -r .line | tr -cs '[:alnum:]' '\n' | sort | uniq -c |
    awk 'NF == 2 { print $1, $2 }' | sort > "$T/want"

count_peers() { onyx-watch --json | jq -r --arg j "$J" '[.peers[] | select(.job == $j and .task == "count")] | length'; }
count_pids() { onyx-watch --json | jq -r --arg j "$J" '.peers[] | select(.job == $j and .task == "count") | .pid'; }
count_read() { onyx-watch --json | jq -r --arg j "$J" '[.jobs[] | select(.job == $j) | .tasks[] | select(.name == "count") | .read] | add // 0'; }
wait_read() { for i in $(seq 1 600); do [ "$(count_read)" -ge "$1" ] && return 0; sleep 0.1; done; return 1; }

onyx-submit --wait --timeout 180000 < "$T/plan" > /dev/null 2> "$T/submit.err" &
SUB=$!
# peer A: the first and only one counting (one of the four)
for i in $(seq 1 150); do [ "$(count_peers)" -ge 1 ] && sleep 1 && break; sleep 0.2; done
A=$(count_pids | head -1)
onyx-queue send "x-in-$$" < "$T/part1"
check "A counted the first part (buckets 0-31)" wait_read "$W1"

# peer B joins: count's second peer
ONYX_LOG=debug onyx-peer -n 1 -s 4000 2>> "$T/peerB.log" & B=$!; PIDS="$PIDS $B"
for i in $(seq 1 150); do [ "$(count_peers)" -ge 2 ] && sleep 2 && break; sleep 0.2; done
is "$(count_peers)" 2 "B joined the count task"
onyx-queue send "x-in-$$" < "$T/part2"
wait_read $((W1 + W2)) || true
like "$(grep -E 'task count: bucket (3[2-9]|[4-6][0-9]) restored' "$T/peerB.log" | wc -l)" '^[1-9]' \
    "B took part of the task: buckets first seen in the second part"

# A leaves; its buckets go to B, which restores them (counts in them)
kill -TERM "$A"
for i in $(seq 1 50); do kill -0 "$A" 2>/dev/null || break; sleep 0.1; done
check "A has left" sh -c "! kill -0 $A 2>/dev/null"
onyx-queue send "x-in-$$" --done < "$T/part2"
onyx-queue recv "x-out-$$" --until-done -w 120000 > "$T/out"
set +e; wait $SUB; RC=$?; set -e
is "$RC" 0 "the job completes"
# (before the end of input: the sealing flush restores every bucket too)
like "$(sed '/task count: ingress .* finished/q' "$T/peerB.log" |
    grep -E 'task count: bucket ([0-9]|[12][0-9]|3[01]) restored: [1-9][0-9]* keys' | wc -l)" '^[1-9]' \
    "B restored mid-run buckets A had counted in, with their keys"
jq -r '"\(.count) \(.word)"' "$T/out" | sort > "$T/got"
is "$(wc -l < "$T/got")" "$(wc -l < "$T/want")" "one count per distinct word"
check "every count equals coreutils' exactly" cmp -s "$T/got" "$T/want"
[ -s "$T/got" ] && ! cmp -s "$T/got" "$T/want" && diff "$T/got" "$T/want" | head -5 | sed 's/^/# /'
done_testing
