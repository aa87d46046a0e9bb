#!/bin/bash
# ZooKeeper identities and ACLs (onyx(7)): the sandbox server enforces
# authentication; every node of the cluster carries ACLs that give the
# cluster's identity everything, the read-only identity READ, anyone else
# nothing; onyx-watch works as the reader and the reader cannot write; bad
# secret files are refused with exit 78.
. "$(dirname "$0")/lib.sh"
plan 33
export ONYX_CLUSTER=$TESTNAME-$$
export ONYX_FN_PATH=$ONYX_ROOT/build/examples
root=/onyx/$ONYX_CLUSTER
: "${ONYX_ZK_SECRET_FILE:?the sandbox env sets ONYX_ZK_SECRET_FILE}"
READER=$ONYX_SANDBOX_ZK_READER_SECRET_FILE
# another identity the server accepts, which no ACL of the cluster names
(umask 077 && echo "other:$$-not-the-cluster" > "$T/other")
as() { local f=$1; shift; env ONYX_ZK_SECRET_FILE="$f" "$@"; }
anon() { env -u ONYX_ZK_SECRET_FILE "$@"; }

# the cluster's identity: a job end to end
onyx-coord -s 4000 2> "$T/coord.log" & PIDS="$PIDS $!"
onyx-peer -n 3 2> "$T/peer.log" & PIDS="$PIDS $!"
jq --arg s "-$$" --arg id "auth-$$" '.id = $id | (.catalog[] | select(."artemis/queue-name") | ."artemis/queue-name") |= . + $s' \
    "$ONYX_ROOT/examples/inc/job.json" | onyx-plan > "$T/plan.json"
J=$(jq -r .job "$T/plan.json")
onyx-submit --wait --timeout 60000 < "$T/plan.json" > "$T/sub.out" 2> "$T/sub.err" &
SUB=$!
nums 100 | onyx-queue send "inc-in-$$" --done
onyx-queue recv "inc-out-$$" --until-done -w 60000 > "$T/out"
set +e; wait $SUB; RC=$?; set -e
is "$RC:$(cat "$T/sub.out"):$(wc -l < "$T/out")" "0:$J:100" \
    "with auth on, a job runs end to end (submit, coordinator, peers)"

# the server enforces authentication: a client without identity gets nothing
run_rc anon zkput get "$root/jobs/$J"
is "$RC:$(printf '%s\n' "$ERR" | tail -1)" "77:zkput: ZooKeeper get $root/jobs/$J: the server requires authentication (set ONYX_ZK_SECRET_FILE)" \
    "no identity: the plan cannot be read (exit 77, says why)"
run_rc anon zkput create "$root/jobs/evil" '{}'
is "$RC" 77 "no identity: nothing can be created under the cluster"
run_rc anon zkput set "$root/jobs/$J/status" '{"status":"killed"}'
is "$RC" 77 "no identity: nothing can be changed"
run_rc anon onyx-watch --json
# the client thread's "connection lost" line may come after the error
like "$RC:$(printf '%s\n' "$ERR" | grep -v 'connection lost')" "^77:onyx-watch: .*the server requires authentication" \
    "no identity: onyx-watch exits 77, saying the server wants one"
run_rc anon zkput create "/outside-$$" x
is "$RC" 77 "no identity: not even outside /onyx"

# what the ACLs alone give: an authenticated identity they do not name
run_rc as "$T/other" zkput get "$root/jobs/$J"
is "$RC:$ERR" "77:zkput: ZooKeeper get $root/jobs/$J: not authorized (NoAuth): the ACL does not allow it to identity 'other'" \
    "another identity cannot read a job plan: NoAuth"
run_rc as "$T/other" zkput ls "$root/jobs"
is "$RC" 77 "nor list the jobs"
run_rc as "$T/other" zkput create "$root/jobs/evil" '{}'
like "$RC:$ERR" "^77:.*create $root/jobs/evil: not authorized \(NoAuth\)" "nor create a job"
run_rc as "$T/other" zkput set "$root/jobs/$J/status" '{"status":"killed"}'
is "$RC" 77 "nor change a job's status"
run_rc as "$T/other" zkput delete "$root/jobs/$J/status"
is "$RC" 77 "nor delete it"
run_rc as "$T/other" zkput get "/onyx"
is "$RC" 77 "nor read /onyx, which the cluster created"
run_rc as "$T/other" zkput create "/onyx/other-$$" x
is "$RC" 77 "nor create a cluster of its own under /onyx"
plan_of() { jq --arg id "$1" '.id = $id' "$ONYX_ROOT/examples/inc/job.json" | onyx-plan; }
plan_of "auth2-$$" > "$T/plan2.json"
run_rc as "$T/other" onyx-submit < "$T/plan2.json"
like "$RC:$ERR" "^77:onyx-submit: .*NoAuth" "onyx-submit as another identity: exit 77, NoAuth"
run_rc zkput ls "$root/coord/election"
E=$(printf '%s\n' "$OUT" | head -1)
run_rc as "$T/other" zkput get "$root/coord/election/$E"
like "$E:$RC" "^n-[0-9]{10}:77$" "an ephemeral sequential node (the election) is closed to it too"
run_rc zkput ls "$root/peers"
P=$(printf '%s\n' "$OUT" | head -1)
run_rc as "$T/other" zkput get "$root/peers/$P"
is "$RC" 77 "and an ephemeral one (a peer's registration)"

# the read-only identity: onyx-watch sees everything and writes nothing
run_rc as "$READER" onyx-watch --json
is "$RC:$(printf '%s' "$OUT" | jq -r --arg j "$J" '.jobs[] | select(.job == $j) | .status')" "0:completed" \
    "onyx-watch as the read-only identity shows the job completed"
is "$(printf '%s' "$OUT" | jq '.peers | length'):$(printf '%s' "$OUT" | jq -r '.leader != null')" "3:true" \
    "and the peers and the leader (ephemeral nodes)"
run_rc as "$READER" onyx-watch tree
is "$RC:$ERR" "0:" "onyx-watch tree as the reader reads every node"
run_rc as "$READER" zkput get "$root/jobs/$J"
is "$RC:$(printf '%s' "$OUT" | jq -r .job)" "0:$J" "the reader reads a plan"
run_rc as "$READER" zkput set "$root/jobs/$J/status" '{"status":"killed"}'
is "$RC:$ERR" "77:zkput: ZooKeeper set $root/jobs/$J/status: not authorized (NoAuth): the ACL does not allow it to identity 'watch'" \
    "a write by the reader: NoAuth"
run_rc as "$READER" zkput create "$root/jobs/evil" '{}'
is "$RC" 77 "the reader cannot create"
plan_of "auth3-$$" > "$T/plan3.json"
run_rc as "$READER" onyx-submit < "$T/plan3.json"
like "$RC:$ERR" "^77:onyx-submit: .*NoAuth" "onyx-submit as the reader: exit 77, NoAuth"
run_rc zkput get "$root/jobs/auth3-$$"
is "$RC" 1 "and no job was created"
# -f follows as the reader
as "$READER" onyx-watch -f -n 2 --timeout 20000 > "$T/f.out" 2> "$T/f.err" &
FPID=$!
PIDS="$PIDS $FPID"
wait_lines "$T/f.out" 1 20
zkput create "$root/jobs/$J/stats/extra" '{"task":"inc","read":1,"written":1}'
set +e; wait $FPID; RC=$?; set -e
is "$RC:$(wc -l < "$T/f.out")" "0:2" "onyx-watch -f as the reader follows a change"

# bad secret files: exit 78, naming the file
run_rc as "$T/none" onyx-watch
is "$RC:$ERR" "78:onyx-watch: ZooKeeper secret file $T/none: No such file or directory" \
    "a missing secret file: exit 78, naming it"
echo "onyx:pw" > "$T/open"; chmod 644 "$T/open"
run_rc as "$T/open" onyx-peer -n 1
is "$RC:$ERR" "78:onyx-peer: ZooKeeper secret file $T/open: permissions 0644 are too open (group or others have access): chmod 600 it" \
    "a world-readable secret file: exit 78"
chmod 640 "$T/open"
run_rc onyx-submit --zk-secret-file "$T/open" --list
is "$RC" 78 "a group-readable one, by --zk-secret-file: exit 78"
(umask 077 && : > "$T/empty")
run_rc as "$T/empty" onyx-coord
is "$RC:$ERR" "78:onyx-coord: ZooKeeper secret file $T/empty is empty" "an empty secret file: exit 78"
(umask 077 && echo "no-colon" > "$T/nocolon")
run_rc as "$T/nocolon" onyx-watch
is "$RC:$ERR" "78:onyx-watch: ZooKeeper secret file $T/nocolon: the first line is not user:password" \
    "a secret that is not user:password: exit 78"
run_rc env ONYX_ZK_READER=watch:short onyx-watch
is "$RC" 78 "a malformed ONYX_ZK_READER: exit 78"
# any length: a 10,000-character password is read whole (an identity the
# ACLs do not name, so NoAuth, not a refused file)
(umask 077 && printf 'long:%s\n' "$(head -c 10000 /dev/zero | tr '\0' x)" > "$T/long")
run_rc as "$T/long" zkput get "$root/jobs/$J"
like "$RC:$ERR" "^77:.*identity 'long'$" "a long secret is read and presented whole"
# a flag's file wins over the environment's
run_rc as "$T/none" onyx-watch --zk-secret-file "$READER" --json
is "$RC" 0 "--zk-secret-file wins over ONYX_ZK_SECRET_FILE"
done_testing
