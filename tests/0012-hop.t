#!/bin/bash
# lib/hop: tasks run by virtual peers (hop-run, no coordinator yet) move
# segments in transactions and seal exactly once, across fan-out, fan-in and
# a peer process killed with SIGKILL mid-run.
. "$(dirname "$0")/lib.sh"
plan 13
export ONYX_FN_PATH=$ONYX_ROOT/build/examples
j=$(qname j)
# task NAME IN OUT [args...]: run hop-run for a task of job $j in the background
task() {
	local name=$1 in=$2 out=$3; shift 3
	hop-run -t "$name" -i "$in" -o "$out" -S "$j.$name.seal" -D "$j.$name.done" "$@" \
	    > "$T/$name.$RANDOM.out" 2> "$T/$name.err" &
	PIDS="$PIDS $!"
}
ends() { cat "$T"/$1.*.out | jq -r .end | sort | uniq -c | awk '{ printf "%s %s ", $1, $2 }'; }

# in -> inc -> out, the middle task a C function from a shared object
awk 'BEGIN { for (i = 1; i <= 20000; i++) printf "{\"n\":%d}\n", i }' > "$T/in"
onyx-queue send "$j-in" --done < "$T/in"
task in "$j-in" "$j.in.inc" -p 2 -b 100
task inc "$j.in.inc" "$j.inc.out" -p 3 -b 100 -f libonyx_examples.so:inc
task out "$j.inc.out" "$j-out" -p 2 -b 100
wait
check "every peer of the three tasks ends without error" \
    sh -c "! grep -h '\"error\"' $T/*.out"
is "$(ends in)" "1 done 1 sealed " "task in: exactly one peer sealed"
is "$(ends inc)" "2 done 1 sealed " "task inc: exactly one peer sealed"
onyx-queue recv "$j-out" --until-done -w 5000 > "$T/got"
awk '{ print $1 + 1 }' <(seq 1 20000) | sed 's/.*/{"n":&}/' | sort > "$T/want"
sort "$T/got" | cmp -s - "$T/want" && ok "the output is every input plus one, once each" ||
    not_ok "the output is every input plus one, once each"
is "$(messages "$j-out")" 0 "exactly one sentinel reached the output (consumed by recv)"
is "$(messages "$j.in.inc"):$(messages "$j.inc.out")" "0:0" "the edge queues are empty"

# fan-out: one task, two egress queues, each gets every segment and a sentinel
f=$(qname fan)
gen 3000 > "$T/fin"
onyx-queue send "$f-in" --done < "$T/fin"
task fo "$f-in" "$f-a,$f-b" -p 2 -b 50
wait
onyx-queue recv "$f-a" --until-done -w 5000 | sort > "$T/a"
onyx-queue recv "$f-b" --until-done -w 5000 | sort > "$T/b"
sort "$T/fin" > "$T/fin.sorted"
check "fan-out: both egress queues hold every segment once, then a sentinel" \
    sh -c "cmp -s $T/a $T/fin.sorted && cmp -s $T/b $T/fin.sorted"

# fan-in: two ingress queues, one sentinel out only after both are finished
onyx-queue send "$f-x" --done < <(gen 1000)
task fi "$f-x,$f-y" "$f-z" -p 2 -b 50
sleep 3
is "$(messages "$f-z")" 1000 "fan-in: with one ingress still open, no sentinel yet"
onyx-queue send "$f-y" --done < <(gen 1000 1000)
wait
onyx-queue recv "$f-z" --until-done -w 5000 | sort > "$T/z"
gen 2000 | sort > "$T/zwant"
check "fan-in: both inputs arrive once each, then one sentinel" cmp -s "$T/z" "$T/zwant"
is "$(messages "$f-z")" 0 "fan-in: nothing after the sentinel"

# SIGKILL of one of two peer processes mid-run loses and doubles nothing
k=$(qname k)
gen 30000 > "$T/kin"
onyx-queue send "$k-in" --done < "$T/kin"
hop-run -t kt -i "$k-in" -o "$k-out" -S "$k.kt.seal" -D "$k.kt.done" -p 2 -b 200 \
    > "$T/kill1.out" 2>&1 &
VICTIM=$!
PIDS="$PIDS $VICTIM"
task kt "$k-in" "$k-out" -p 2 -b 200
for i in $(seq 1 100); do
	[ "$(messages "$k-out")" -ge 6000 ] && break
	sleep 0.1
done
kill -9 $VICTIM
wait
check "the surviving peers end without error" sh -c "! grep -h '\"error\"' $T/kt.*.out"
onyx-queue recv "$k-out" --until-done -w 5000 | sort > "$T/kgot"
sort "$T/kin" > "$T/kwant"
is "$(wc -l < "$T/kgot")" 30000 "after the kill: 30,000 segments out"
check "after the kill: each input exactly once (no loss, no duplicate)" cmp -s "$T/kgot" "$T/kwant"
done_testing
