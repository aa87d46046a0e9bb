#!/bin/bash
# /metrics of onyx-coord and onyx-peer (--metrics): a job of 2,000 segments
# through in -> inc -> out, scraped while it runs and after it ends; every
# scrape passes promtool check metrics; at the end the read and written
# counters of each task equal the job's real counts, each histogram's
# _count equals its batches counter, the coordinator counts the job
# completed; other paths are 404; a bad --metrics value and a port in use
# fail at start with their exit codes and messages.
. "$(dirname "$0")/lib.sh"
plan 29
export ONYX_CLUSTER=$TESTNAME-$$
export ONYX_FN_PATH=$ONYX_ROOT/build/examples
J=metrics-$$

wait_for() { # SECONDS CMD...
	local n=$(($1 * 10)) i; shift
	for i in $(seq 1 $n); do "$@" > /dev/null 2>&1 && return 0; sleep 0.1; done
	return 1
}
# url LOG: the address a program logged ("metrics on http://...")
url() { grep -o 'metrics on http://[^ ]*' "$1" | head -1 | sed 's/^metrics on //'; }
# scrape URL FILE: GET it into FILE; ok when promtool accepts the text
scrape() { curl -sf "$1" > "$2" && promtool check metrics < "$2" > "$2.lint" 2>&1; }
# msum FILE NAME [LABEL=VALUE...]: the sum of the samples of NAME with
# those labels (an integer)
msum() {
	local f=$1 n=$2; shift 2
	awk -v n="$n" -v want="$*" '
	    { split($1, a, "{"); if (a[1] != n) next
	      k = split(want, w, " "); for (i = 1; i <= k; i++) {
	          split(w[i], kv, "="); if (index($1, kv[1] "=\"" kv[2] "\"") == 0) next }
	      s += $2 }
	    END { printf "%d\n", s }' "$f"
}
# per_series FILE A B: "ok" when for every series of A the sample of B with
# the same labels is equal, else the first difference
per_series() {
	awk -v a="$2" -v b="$3" '
	    { split($1, p, "{"); l = substr($1, length(p[1]) + 1) }
	    p[1] == a { va[l] = $2 } p[1] == b { vb[l] = $2 }
	    END { n = 0; for (l in va) { n++; if (va[l] != vb[l]) { print l, va[l], vb[l]; exit } }
	          print (n > 0 ? "ok" : "none") }' "$1" | tail -1
}

# 1-4. bad values: exit 78 (EX_CONFIG) and a message naming --metrics
run_rc onyx-peer --metrics nohost
is "$RC:$ERR" "78:onyx-peer: --metrics 'nohost' is not HOST:PORT (a port from 0 to 65535; an IPv6 address in brackets)" "onyx-peer --metrics without a port: exit 78, named"
run_rc onyx-coord --metrics 127.0.0.1:70000
is "$RC:$ERR" "78:onyx-coord: --metrics '127.0.0.1:70000' is not HOST:PORT (a port from 0 to 65535; an IPv6 address in brackets)" "onyx-coord --metrics with a port out of range: exit 78, named"
ONYX_METRICS=x:y run_rc onyx-peer
is "$RC" 78 "ONYX_METRICS is the same setting: a bad one exits 78"
like "$ERR" "^onyx-peer: --metrics 'x:y' is not HOST:PORT" "... with the same message"

# 5-7. port 0: a free port, logged; a second server on it: exit 69
onyx-coord -s 4000 --metrics 127.0.0.1:0 2>> "$T/coord.log" & PIDS="$PIDS $!"
onyx-peer -v -n 3 -s 4000 --metrics 127.0.0.1:0 2>> "$T/peer.log" & PEER=$!; PIDS="$PIDS $PEER"
wait_for 30 sh -c "grep -q 'metrics on http' '$T/coord.log' && grep -q 'metrics on http' '$T/peer.log'"
CU=$(url "$T/coord.log") PU=$(url "$T/peer.log")
like "$CU $PU" '^http://127\.0\.0\.1:[1-9][0-9]*/metrics http://127\.0\.0\.1:[1-9][0-9]*/metrics$' "both log the address they listen on: $CU $PU"
ADDR=${CU#http://}; ADDR=${ADDR%/metrics}
run_rc onyx-coord --metrics "$ADDR"
is "$RC:$ERR" "69:onyx-coord: --metrics '$ADDR': cannot listen: Address already in use" "a port in use: exit 69, named"
is "$(curl -s -o /dev/null -w '%{http_code} %{content_type}' "${PU%/metrics}/")" "404 text/plain; charset=utf-8" "another path is 404"

# 8-12. during the job: 1,000 segments in, the job still open
jq --arg s "-$$" '(.catalog[] | select(."artemis/queue-name") | ."artemis/queue-name") |= . + $s
    | (.catalog[] | ."onyx/batch-size") = 100 | (.catalog[] | ."onyx/max-peers") = 1' \
    "$ONYX_ROOT/examples/inc/job.json" | jq --arg id "$J" '. + {id: $id}' | onyx-plan > "$T/plan"
onyx-submit --wait --timeout 120000 < "$T/plan" > /dev/null 2> "$T/submit.err" & SUB=$!; PIDS="$PIDS $SUB"
nums 1000 | onyx-queue send -b 100 "inc-in-$$"
check "the peer's counters reach 1,000 written by out while the job runs" \
    wait_for 60 sh -c "curl -sf '$PU' > '$T/p0' && [ \"\$(awk '/^onyx_segments_written_total\\{job=\"$J\",task=\"out\"/ { s += \$2 } END { print s + 0 }' '$T/p0')\" -eq 1000 ]"
check "the peer's scrape during the job passes promtool check metrics" scrape "$PU" "$T/p1"
check "the coordinator's scrape during the job passes promtool check metrics" scrape "$CU" "$T/c1"
is "$(msum "$T/c1" onyx_jobs status=running) $(msum "$T/c1" onyx_peers state=acked)" "1 3" "the coordinator: 1 job running, 3 peers acked"
is "$(msum "$T/p1" onyx_virtual_peer_state state=running)" 3 "the peer: its 3 virtual peers running"

# 13-14. the end: 1,000 more and the sentinel
nums 2000 | tail -n 1000 | onyx-queue send -b 100 "inc-in-$$" --done
onyx-queue recv "inc-out-$$" --until-done -w 120000 > "$T/out"
set +e; wait $SUB; RC=$?; set -e
is "$RC:$(wc -l < "$T/out")" "0:2000" "the job completes with 2,000 segments out"
check "the coordinator counts the job completed" \
    wait_for 30 sh -c "curl -sf '$CU' | grep -qx 'onyx_job_status_changes_total{status=\"completed\"} 1'"

# 15-27. after it: exact counts
check "the peer's scrape after the job passes promtool check metrics" scrape "$PU" "$T/p2"
check "the coordinator's scrape after the job passes promtool check metrics" scrape "$CU" "$T/c2"
for t in in inc out; do
	is "$(msum "$T/p2" onyx_segments_read_total job=$J task=$t) $(msum "$T/p2" onyx_segments_written_total job=$J task=$t)" \
	    "2000 2000" "task $t: 2,000 read, 2,000 written"
done
onyx-watch --json | jq -r --arg j "$J" '.jobs[] | select(.job == $j) | .tasks[] | "\(.name) \(.read) \(.written)"' | sort > "$T/zk"
for t in in inc out; do echo "$t $(msum "$T/p2" onyx_segments_read_total job=$J task=$t) $(msum "$T/p2" onyx_segments_written_total job=$J task=$t)"; done | sort > "$T/prom"
is "$(cat "$T/prom")" "$(cat "$T/zk")" "the counters equal the counts the peers recorded in ZooKeeper"
is "$(per_series "$T/p2" onyx_batches_total onyx_commit_duration_seconds_count)" ok "each commit-duration histogram's _count equals its batches counter"
is "$(per_series "$T/p2" onyx_batches_total onyx_batch_segments_count)" ok "each batch-size histogram's _count equals its batches counter"
is "$(per_series "$T/p2" onyx_segments_read_total onyx_batch_segments_sum)" ok "each batch-size histogram's _sum equals its segments read"
is "$(msum "$T/p2" onyx_dead_letters_total job=$J)" 0 "no dead letters"
# (the coordinator goes on: compare a scrape and the log until they agree)
logged() { echo "$(grep -c ' offer peer=' "$T/coord.log") $(grep -c ' revoke peer=' "$T/coord.log")"; }
counted() { curl -sf "$CU" > "$T/c3" && echo "$(msum "$T/c3" onyx_offers_total) $(msum "$T/c3" onyx_revokes_total)"; }
for _ in $(seq 1 100); do [ "$(counted)" = "$(logged)" ] && break; sleep 0.1; done
C=$(counted)
like "$C" '^([3-9]|[1-9][0-9]+) ' "the coordinator made 3 offers or more: $C (offers, revokes)"
is "$C" "$(logged)" "it counts the offers and revokes it logged"

like "$(msum "$T/c2" onyx_pass_duration_seconds_count)" '^[1-9][0-9]*$' "and counts its passes"
is "$(grep '^# TYPE' "$T/p2" | cut -d' ' -f3,4 | tr '\n' ' ')" "onyx_segments_read_total counter onyx_segments_written_total counter onyx_dead_letters_total counter onyx_batches_total counter onyx_commit_duration_seconds histogram onyx_batch_segments histogram onyx_function_seconds_total counter onyx_virtual_peer_state gauge " "the peer's families (those with series), in order"

kill -TERM $PEER
set +e; wait $PEER; RC=$?; set -e
is "$RC" 0 "the peer with --metrics stops on SIGTERM, exit 0"
done_testing
