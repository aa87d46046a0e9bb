#!/bin/bash
# Windows under SIGKILL: the processes of the window task's peers are killed
# twice mid-run (a replacement started each time). The windows' state is
# durable, written in the transactions of the batches, so the new owner of
# each bucket restores it: the final windows still equal those of
# examples/windows/reference, no window is emitted twice as final (no result
# at all is written twice: the output is exactly the reference's lines),
# and the late segments are in the dead-letter queue exactly once. Apart
# from that, and whatever the order the segments reach the windows in, each
# segment counts once: in a final window or as a dead letter.
. "$(dirname "$0")/lib.sh"
plan 16
export ONYX_CLUSTER=$TESTNAME-$$
W=$ONYX_ROOT/examples/windows

onyx-coord -s 4000 2>> "$T/coord.log" & PIDS="$PIDS $!"
# peer processes of one virtual peer each, each with its own log
NP=0
start_peer() { NP=$((NP + 1)); onyx-peer -n 1 -s 4000 2>> "$T/peer$NP.log" & PIDS="$PIDS $!"; }
for i in 1 2 3 4 5 6; do start_peer; done

# 120 users over 30 minutes, in three parts sent one after the other
"$W/gen" -s 106 -u 120 -m 30 -l 5000 -L 60 > "$T/in"
N=$(wc -l < "$T/in")
head -n $((N * 2 / 5)) "$T/in" > "$T/in.1"
sed -n "$((N * 2 / 5 + 1)),$((N * 7 / 10))p" "$T/in" > "$T/in.2"
tail -n +$((N * 7 / 10 + 1)) "$T/in" > "$T/in.3"

# doc NAME WINDOW: in -> w -> out, w grouped by user with the onyx/window
# WINDOW; in and out have one peer each (in: the lines reach w in the
# order they were sent), w the other four
doc() {
	jq -n --arg s "-$1-$$" --argjson w "$2" '{
	    workflow: [["in", "w"], ["w", "out"]],
	    catalog: [
	      {"onyx/name": "in", "onyx/type": "input", "onyx/medium": "artemis",
	       "artemis/queue-name": ("x-in" + $s), "onyx/batch-size": 100, "onyx/max-peers": 1},
	      {"onyx/name": "w", "onyx/type": "function", "onyx/batch-size": 100,
	       "onyx/group-by-key": "user", "onyx/window": $w},
	      {"onyx/name": "out", "onyx/type": "output", "onyx/medium": "artemis",
	       "artemis/queue-name": ("x-out" + $s), "onyx/batch-size": 100, "onyx/max-peers": 1}]}' |
	    jq --arg id "$1-$$" '. + {id: $id}' | onyx-plan
}
# w_pids: the pids of the peers working on task w of $JOB
w_pids() { onyx-watch --json | jq -r --arg j "$JOB" '.peers[] | select(.job == $j and .task == "w") | .pid'; }
# wait_w N: until N peers work on w (a deadline of 30 s)
wait_w() {
	local i
	for i in $(seq 1 150); do
		[ "$(w_pids | sort -u | wc -l)" -ge "$1" ] && return 0
		sleep 0.2
	done
	return 1
}
# wait_out Q N: until the queue Q holds N results (a deadline of 60 s)
wait_out() {
	local i
	for i in $(seq 1 600); do
		[ "$(messages "$1")" -ge "$2" ] && return 0
		sleep 0.1
	done
	return 1
}
# kill_w: SIGKILL one live process of w's peers, start a replacement;
# KILLED gets the pid (DEAD: every pid killed, as a dead peer stays listed
# until its ZooKeeper session expires)
KILLED=
DEAD=
kill_w() {
	local v
	for v in $(w_pids); do
		case " $DEAD " in *" $v "*) continue ;; esac
		kill -9 "$v" 2>/dev/null || continue
		DEAD="$DEAD $v"
		KILLED="$KILLED $v"
		echo "# $((SECONDS - t0)) s: killed window peer process $v"
		start_peer
		return 0
	done
	echo "# $((SECONDS - t0)) s: no live window peer to kill"
}
# run NAME PLAN WANT: submit PLAN; send the input in three parts, killing a
# window peer's process while the first two are being windowed (once the
# output holds 1/6 and then 3/5 of the WANT results); drain the output
# into $T/NAME.out; RC is onyx-submit's status
# gone_dead: until no peer killed before is listed (its ZooKeeper session
# expired; a deadline of 30 s), so that no task of the next job is offered
# to a dead peer
gone_dead() {
	local i
	for i in $(seq 1 150); do
		onyx-watch --json | jq -r '.peers[].pid' | grep -qxF -f <(echo $DEAD | tr ' ' '\n') || return 0
		sleep 0.2
	done
	return 1
}
run() {
	local sub want=$3 q="x-out-$1-$$"
	[ -z "$DEAD" ] || gone_dead || echo "# killed peers are still listed"
	t0=$SECONDS
	JOB=$(jq -r .job "$2")
	KILLED=
	onyx-submit --wait --timeout 150000 < "$2" > /dev/null 2> "$T/$1.err" &
	sub=$!
	wait_w 4 || echo "# w did not get 4 peers"
	echo "# $((SECONDS - t0)) s: w has its peers"
	onyx-queue send "x-in-$1-$$" < "$T/in.1"
	wait_out "$q" $((want / 6)) || echo "# no progress before the first kill"
	kill_w
	onyx-queue send "x-in-$1-$$" < "$T/in.2"
	wait_out "$q" $((want * 3 / 5)) || echo "# no progress before the second kill"
	kill_w
	onyx-queue send "x-in-$1-$$" --done < "$T/in.3"
	onyx-queue recv "$q" --until-done -w 150000 > "$T/$1.out" || echo "# $1: no sentinel on the output"
	set +e; wait $sub; RC=$?; set -e
	echo "# $1: $((SECONDS - t0)) s, $(wc -l < "$T/$1.out") results"
	[ "$RC" = 0 ] || sed 's/^/# /' "$T/$1.err" | tail -20
}
finals() { jq -S -c 'select(.final == true) | del(.final)' "$1" | sort; }
twice() { jq -c 'select(.final == true) | [.key, .window]' "$1" | sort | uniq -d | wc -l; }
dead() { onyx-queue recv "onyx.dlq.$1.w" -n "$(messages "onyx.dlq.$1.w")" -w 5000; }
# check_run NAME WANT-FILE LATE-FILE FIELD: the assertions on a run (8);
# FIELD: the result key whose sum over the final windows plus that over
# the dead letters (counting each as 1 when FIELD is requests, else its
# bytes) must be the input's
check_run() {
	is "$RC" 0 "$1: two window peers killed mid-run: the job completes"
	is "$(echo $KILLED | wc -w)" 2 "$1: two processes of the window task were killed"
	check "$1: the final windows equal the reference's" cmp -s <(finals "$T/$1.out") <(sort "$2")
	is "$(twice "$T/$1.out")" 0 "$1: no window was emitted twice as final"
	is "$(wc -l < "$T/$1.out")" "$(wc -l < "$2")" "$1: no result at all came out twice: as many as the reference's windows"
	dead "$JOB" > "$T/$1.dead"
	is "$(jq -r .error "$T/$1.dead" | sort | uniq -c | awk '{ print $1, $2 }')" "$(wc -l < "$3") late" \
	    "$1: $(wc -l < "$3") dead letters, each with the reason late"
	check "$1: they are the segments the reference finds late, each once" \
	    cmp -s <(jq -S -c .segment "$T/$1.dead" | sort) <(jq -S -c . "$3" | sort)
	local got want
	if [ "$4" = requests ]; then
		got=$(($(jq -s 'map(select(.final) | .requests) | add' "$T/$1.out") + $(jq -c .segment.seq "$T/$1.dead" | sort -u | wc -l)))
		want=$(wc -l < "$T/in")
	else
		got=$(($(jq -s 'map(select(.final) | .bytes) | add' "$T/$1.out") + $(jq -s 'unique_by(.segment.seq) | map(.segment.bytes) | add // 0' "$T/$1.dead")))
		want=$(jq -s 'map(.bytes) | add' "$T/in")
	fi
	is "$got" "$want" "$1: each segment counts once, in a final window or as a dead letter"
}

# 1-8. tumbling: requests per user and minute
"$W/reference" -k user -w tumbling -z 60000 -l 5000 -a requests=count \
    --late "$T/tum.late" "$T/in" > "$T/tum.want"
doc tum '{"type": "tumbling", "size": 60000, "time": {"field": "ts", "format": "epoch-ms"}, "lateness": 5000,
    "aggregate": {"op": "count", "as": "requests"}}' > "$T/tum.plan"
run tum "$T/tum.plan" "$(wc -l < "$T/tum.want")"
check_run tum "$T/tum.want" "$T/tum.late" requests

# 9-16. the bytes of each user's sessions, 30 s of gap
"$W/reference" -k user -w session -g 30000 -l 5000 -a bytes=sum:bytes \
    --late "$T/ses.late" "$T/in" > "$T/ses.want"
doc ses '{"type": "session", "gap": 30000, "time": {"field": "ts", "format": "epoch-ms"}, "lateness": 5000,
    "aggregate": {"op": "sum", "field": "bytes", "as": "bytes"}}' > "$T/ses.plan"
run ses "$T/ses.plan" "$(wc -l < "$T/ses.want")"
check_run ses "$T/ses.want" "$T/ses.late" bytes
done_testing
