#!/bin/bash
# Durable keyed state under SIGKILL: the word count of examples/wordcount
# ("onyx/state": "durable") equals coreutils exactly although the processes
# of counting peers are killed twice mid-run and once while sealing (during
# the flush of every bucket), and the task writes one sentinel. Buckets are
# compacted often (a snapshot per 4 KiB of records), so the removal of the
# records a snapshot made old runs under the kills too.
. "$(dirname "$0")/lib.sh"
plan 12
export ONYX_CLUSTER=$TESTNAME-$$
export ONYX_FN_PATH=$ONYX_ROOT/build/examples
# the peers say when they finish an ingress and seal, and (debug) what each
# compaction removed
export ONYX_LOG=debug
export ONYX_STATE_SNAPSHOT_BYTES=4096

onyx-coord -s 4000 2>> "$T/coord.log" & PIDS="$PIDS $!"
# peer processes of one virtual peer each, each with its own log
declare -A LOGPID
start_peer() { onyx-peer -n 1 -s 4000 2>> "$T/peer$1.log" & PIDS="$PIDS $!"; LOGPID[$T/peer$1.log]=$!; }
for i in 1 2 3 4 5 6 7; do start_peer $i; done

# the word count job: in, split and out on one peer each, count on three;
# count's flush sleeps 40 ms a bucket, so that the sealing flush lasts
J=state-kill-$$
jq --arg s "-$$" --arg id "$J" '
    .id = $id
    | .catalog |= map(
        if .["onyx/name"] == "in" then .["artemis/queue-name"] = "x-in" + $s | .["onyx/max-peers"] = 1
        elif .["onyx/name"] == "out" then .["artemis/queue-name"] = "x-out" + $s | .["onyx/max-peers"] = 1
        elif .["onyx/name"] == "split" then .["onyx/max-peers"] = 1
        else . + {"onyx/max-peers": 3, "onyx/batch-size": 200, "onyx/params": {"flush-sleep-ms": 40}} end)' \
    "$ONYX_ROOT/examples/wordcount/job.json" | onyx-plan > "$T/plan"
is "$(jq -r '.tasks[] | select(.name == "count") | .catalog["onyx/state"]' "$T/plan")" durable \
    "the example's count task keeps durable keyed state"

TEXT=/usr/share/common-licenses/GPL-3
for i in $(seq 1 12); do cat "$TEXT"; done > "$T/text"
jq -R -c '{line: .}' "$T/text" > "$T/lines"
tr -cs '[:alnum:]' '\n' < "$T/text" | sort | uniq -c | awk 'NF == 2 { print $1, $2 }' | sort > "$T/want"
WORDS=$(awk '{ n += $1 } END { print n }' "$T/want")

count_pids() { onyx-watch --json | jq -r --arg j "$J" '.peers[] | select(.job == $j and .task == "count") | .pid'; }
count_read() { onyx-watch --json | jq -r --arg j "$J" '[.jobs[] | select(.job == $j) | .tasks[] | select(.name == "count") | .read] | add // 0'; }

onyx-submit --wait --timeout 180000 < "$T/plan" > /dev/null 2> "$T/submit.err" &
SUB=$!
for i in $(seq 1 150); do [ "$(count_pids | wc -l)" -ge 3 ] && sleep 2 && break; sleep 0.2; done
is "$(messages "onyx.state.$J.count")" 0 "count's state queue exists before the input, empty"
onyx-queue send "x-in-$$" --done < "$T/lines"

# two kills mid-run: once a quarter, then half, of the words are counted
KILLED=0 GONE=
for frac in 4 2; do
	for i in $(seq 1 600); do [ "$(count_read)" -ge $((WORDS / frac)) ] && break; sleep 0.1; done
	V=
	# a live counting peer: the killed one may stay listed until its
	# session expires, and a busy machine answers onyx-watch slowly
	for i in $(seq 1 300); do
		V=$(count_pids | grep -vxF -e "${GONE:-none}" | head -1)
		[ -n "$V" ] && break
		sleep 0.1
	done
	if [ -n "$V" ] && [ "$(count_read)" -lt "$WORDS" ]; then
		kill -9 "$V"
		KILLED=$((KILLED + 1)) GONE=$V
	fi
	echo "# killed ${V:-none} at $(count_read) of $WORDS words"
done
is "$KILLED" 2 "two counting peers' processes were killed mid-run"

# the peer that finishes count's ingress goes on to seal: kill it then,
# while it flushes every bucket (64 x 40 ms)
SEALER=
for i in $(seq 1 1200); do
	f=$(grep -l "task count: ingress .* finished" "$T"/peer*.log 2>/dev/null | head -1)
	if [ -n "$f" ]; then SEALER=$f; kill -9 "${LOGPID[$f]}"; break; fi
	sleep 0.05
done
check "a counting peer was killed after finishing count's ingress" test -n "$SEALER"
check "it was killed before it sealed (mid-flush)" \
    sh -c "! grep -q 'task count: sealed' '$SEALER'"

onyx-queue recv "x-out-$$" --until-done -w 120000 > "$T/out"
set +e; wait $SUB; RC=$?; set -e
is "$RC" 0 "the job completes"
[ "$RC" = 0 ] || tail -20 "$T/submit.err" "$T"/peer*.log | sed 's/^/# /'
jq -r '"\(.count) \(.word)"' "$T/out" | sort > "$T/got"
is "$(wc -l < "$T/got")" "$(wc -l < "$T/want")" "one count per distinct word"
check "every count equals coreutils' exactly" cmp -s "$T/got" "$T/want"
[ -s "$T/got" ] && ! cmp -s "$T/got" "$T/want" && diff "$T/got" "$T/want" | head -5 | sed 's/^/# /'
is "$(grep -h "flushed every bucket of keyed state" "$T"/peer*.log | wc -l)" 1 \
    "one peer wrote the end results, in the sealing transaction"
is "$(messages "x-out-$$")" 0 "one sentinel reached the output (consumed by recv), nothing after it"
REMOVED=$(grep -h "older records removed" "$T"/peer*.log | awk '{ n += $(NF - 3) } END { print n + 0 }')
check "compactions removed older state records ($REMOVED)" test "$REMOVED" -gt 0
is "$(grep -h "does not select" "$T"/peer*.log | wc -l)" 0 \
    "the broker gave no removal a record its selector does not select"
done_testing
