#!/bin/bash
# The order of each group on a grouped edge into a task with keyed state,
# whatever dies: a C function on durable keyed state (seqcheck, in
# examples/plugins) counts, per user, the segments that reach it with a seq
# below one it saw before. The processes of its peers are SIGKILLed twice
# mid-run; Artemis then gives a dead consumer's groups to another consumer
# before its unacknowledged frames are back, and the stamps of the frames
# (onyx(7), "Order of a bucket's frames") must keep each bucket's order: no
# regression at all, and every user's count and highest seq exact.
. "$(dirname "$0")/lib.sh"
plan 6
export ONYX_CLUSTER=$TESTNAME-$$
export ONYX_FN_PATH=$ONYX_ROOT/build/examples

onyx-coord -s 4000 2>> "$T/coord.log" & PIDS="$PIDS $!"
NP=0
start_peer() { NP=$((NP + 1)); onyx-peer -n 1 -s 4000 2>> "$T/peer$NP.log" & PIDS="$PIDS $!"; }
for i in 1 2 3 4 5 6; do start_peer; done

# 200 users, in order of seq; three parts sent one after the other
"$ONYX_ROOT/examples/windows/gen" -s 107 -u 200 -m 30 > "$T/in"
N=$(wc -l < "$T/in")
head -n $((N * 2 / 5)) "$T/in" > "$T/in.1"
sed -n "$((N * 2 / 5 + 1)),$((N * 7 / 10))p" "$T/in" > "$T/in.2"
tail -n +$((N * 7 / 10 + 1)) "$T/in" > "$T/in.3"
# per user: how many, the highest seq, no regression
jq -s -S -c 'group_by(.user)[] | {user: .[0].user, last: (map(.seq) | max), n: length, regress: 0}' \
    "$T/in" | sort > "$T/want"

J=order-$$
jq -n --arg s "-$$" --arg id "$J" '{
    id: $id,
    workflow: [["in", "w"], ["w", "out"]],
    catalog: [
      {"onyx/name": "in", "onyx/type": "input", "onyx/medium": "artemis",
       "artemis/queue-name": ("x-in" + $s), "onyx/batch-size": 100, "onyx/max-peers": 1},
      {"onyx/name": "w", "onyx/type": "function", "onyx/fn": "libonyx_examples.so:seqcheck",
       "onyx/group-by-key": "user", "onyx/state": "durable", "onyx/batch-size": 100},
      {"onyx/name": "out", "onyx/type": "output", "onyx/medium": "artemis",
       "artemis/queue-name": ("x-out" + $s), "onyx/batch-size": 100, "onyx/max-peers": 1}]}' |
    onyx-plan > "$T/plan"

w_pids() { onyx-watch --json | jq -r --arg j "$J" '.peers[] | select(.job == $j and .task == "w") | .pid'; }
w_read() { onyx-watch --json | jq -r --arg j "$J" '[.jobs[] | select(.job == $j) | .tasks[] | select(.name == "w") | .read] | add // 0'; }
# wait_read N: until w has read N segments (a deadline of 60 s)
wait_read() {
	local i
	for i in $(seq 1 600); do
		[ "$(w_read)" -ge "$1" ] && return 0
		sleep 0.1
	done
	return 1
}
KILLED=
DEAD=
kill_w() {
	local v
	for v in $(w_pids); do
		case " $DEAD " in *" $v "*) continue ;; esac
		kill -9 "$v" 2>/dev/null || continue
		DEAD="$DEAD $v"
		KILLED="$KILLED $v"
		echo "# killed w's peer process $v at $(w_read) of $N segments"
		start_peer
		return 0
	done
	echo "# no live peer of w to kill"
}

onyx-submit --wait --timeout 150000 < "$T/plan" > /dev/null 2> "$T/submit.err" &
SUB=$!
for i in $(seq 1 150); do [ "$(w_pids | sort -u | wc -l)" -ge 4 ] && break; sleep 0.2; done
onyx-queue send "x-in-$$" < "$T/in.1"
wait_read $((N / 6)) || echo "# no progress before the first kill"
kill_w
onyx-queue send "x-in-$$" < "$T/in.2"
wait_read $((N / 2)) || echo "# no progress before the second kill"
kill_w
onyx-queue send "x-in-$$" --done < "$T/in.3"
onyx-queue recv "x-out-$$" --until-done -w 120000 > "$T/out" || echo "# no sentinel on the output"
set +e; wait $SUB; RC=$?; set -e

is "$RC" 0 "two of w's peers killed mid-run: the job completes"
[ "$RC" = 0 ] || tail -20 "$T/submit.err" | sed 's/^/# /'
is "$(echo $KILLED | wc -w)" 2 "two processes of w's peers were killed"
is "$(jq -s 'map(.regress) | add' "$T/out")" 0 "no group's segment reached the task after a later one of that group"
check "every user's count and highest seq are exact" cmp -s <(jq -S -c . "$T/out" | sort) "$T/want"
is "$(jq -r .user "$T/out" | sort | uniq -d | wc -l)" 0 "each user once"
is "$(wc -l < "$T/out")" "$(wc -l < "$T/want")" "one result per user: as many as there are users"
