#!/bin/bash
# TLS to the broker and its accounts: jobs and onyx-queue over amqps:// with
# the certificate verified; a wrong CA or host name refused (exit 77) at
# once; a password over cleartext TCP to a non-loopback address refused
# before any connection (exit 78) unless allowed; SASL EXTERNAL with a
# client certificate; the peer account reads counts but cannot manage.
. "$(dirname "$0")/lib.sh"
plan 31
export ONYX_CLUSTER=$TESTNAME-$$
export ONYX_FN_PATH=$ONYX_ROOT/build/examples
q=$(qname q)
tls_port=${ONYX_BROKER##*:}
plain_port=${ONYX_SANDBOX_BROKER_PLAIN##*:}

# The sandbox speaks TLS; onyx-queue over it, verified against the CA.
like "$ONYX_BROKER" "^amqps://localhost:[0-9]+$" "the sandbox's ONYX_BROKER is an amqps:// URL"
check "ONYX_BROKER_CA names the sandbox CA" test -r "$ONYX_BROKER_CA"
printf '{"n":%d}\n' 1 2 3 | onyx-queue send "$q"
run_rc onyx-queue recv "$q" -n 3 -w 10000
is "$RC:$(printf '%s\n' "$OUT" | jq -c .n | tr '\n' ' ')" "0:1 2 3 " "send and recv over amqps://"
is "$(messages "$q")" 0 "onyx-queue stat over amqps://"
run_rc env -u ONYX_BROKER_CA onyx-queue --broker-ca "$ONYX_BROKER_CA" stat "$q"
is "$RC" 0 "--broker-ca is the flag of ONYX_BROKER_CA"

# A job over amqps://: coordinator, peers (the peer account) and submitter.
onyx-coord -s 4000 2>> "$T/coord.log" &
PIDS="$PIDS $!"
onyx-peer -n 3 2>> "$T/peer.log" &
PIDS="$PIDS $!"
mkplan() { # ID: the inc example as job ID, its queues named for this run
	jq --arg s "-$$" '(.catalog[] | select(."artemis/queue-name") | ."artemis/queue-name") |= . + $s' \
	    "$ONYX_ROOT/examples/inc/job.json" | jq --arg id "$1" '. + {id: $id}' | onyx-plan
}
mkplan "tls-$$" > "$T/inc.plan"
onyx-submit --wait --timeout 120000 < "$T/inc.plan" > "$T/inc.id" 2> "$T/inc.err" &
SUB=$!
nums 500 | onyx-queue send "inc-in-$$" --done
onyx-queue recv "inc-out-$$" --until-done -w 60000 > "$T/inc.out"
set +e; wait $SUB; rc=$?; set -e
is "$rc" 0 "a job over amqps:// completes"
is "$(jq -r .n "$T/inc.out" | sort -n | tr '\n' ' ' | md5sum)" \
    "$(seq 2 501 | tr '\n' ' ' | md5sum)" "and its output is every segment plus one"
is "$(grep -c "refused\|not authorized\|does not have permission" "$T/peer.log" || true)" 0 \
    "the peers needed no right the peer account lacks"

# A wrong CA: refused at once with exit 77, naming TLS and the URL.
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/other.key" -out "$T/other.pem" \
    -days 1 -subj "/CN=other CA" > /dev/null 2>&1
SECONDS=0
ONYX_BROKER_CA=$T/other.pem run_rc timeout 30 onyx-queue stat "$q"
is "$RC" 77 "a broker certificate from another CA: exit 77"
like "$ERR" "^onyx-queue: TLS with the broker at amqps://localhost:$tls_port failed \(is its certificate signed by the CA of ONYX_BROKER_CA, for the host name of the URL\?\): .*certificate verify failed" \
    "a wrong CA: the message names TLS, the URL and the setting"
ONYX_BROKER_CA=$T/other.pem run_rc timeout 30 onyx-peer -n 1
like "$RC:$ERR" "^77:onyx-peer: TLS with the broker at amqps://localhost:$tls_port failed" \
    "onyx-peer with a wrong CA: exit 77, no retry loop"
mkplan "tls-again-$$" > "$T/again.plan"
ONYX_BROKER_CA=$T/other.pem run_rc timeout 30 onyx-submit < "$T/again.plan"
like "$RC:$ERR" "^77:onyx-submit: TLS with the broker" "onyx-submit with a wrong CA: exit 77"
check "the wrong CA was told within 10 s" test $SECONDS -lt 10

# A wrong host name: the certificate is for localhost, not for 127.0.0.1
# by name (proton matches DNS names only).
ONYX_BROKER=amqps://127.0.0.1:$tls_port run_rc timeout 30 onyx-queue stat "$q"
is "$RC" 77 "a host name the certificate does not name: exit 77"
like "$ERR" "^onyx-queue: TLS with the broker at amqps://127.0.0.1:$tls_port failed .*certificate verify failed" \
    "a wrong host name: the message names TLS and the URL"

# PLAIN over cleartext: to loopback it is allowed; to any other address it
# is refused before a connection is made (192.0.2.1 answers nothing).
run_rc env ONYX_BROKER=$ONYX_SANDBOX_BROKER_PLAIN onyx-queue stat "$q"
is "$RC" 0 "a password over cleartext to 127.0.0.1 is allowed"
SECONDS=0
ONYX_BROKER=amqp://192.0.2.1:5672 run_rc timeout 30 onyx-queue stat "$q"
is "$RC" 78 "a password over cleartext to a non-loopback address: exit 78"
is "$ERR" "onyx-queue: broker amqp://192.0.2.1:5672: a password over cleartext TCP to a broker that is not on a loopback address is refused: use amqps://, or allow it with ONYX_BROKER_INSECURE_PLAIN=1 (--insecure-plain)" \
    "the refusal names the URL, the setting and the flag"
check "the refusal is immediate (no connection tried)" test $SECONDS -lt 5
ONYX_BROKER=amqp://192.0.2.1:5672 run_rc timeout 30 onyx-peer -n 1
is "$RC" 78 "onyx-peer: the same refusal, exit 78"
# allowed explicitly: it then tries (this machine's own address, where
# nothing listens on the cleartext port, so the connection is refused)
me=$(hostname -I | tr ' ' '\n' | grep -v '^127\.' | grep '\.' | head -1)
ONYX_BROKER=amqp://$me:$plain_port ONYX_BROKER_INSECURE_PLAIN=1 run_rc timeout 30 onyx-queue stat "$q"
like "$RC:$ERR" "^69:onyx-queue: cannot connect to the broker at amqp://$me:$plain_port" \
    "ONYX_BROKER_INSECURE_PLAIN=1 lets it try"
ONYX_BROKER=amqp://$me:$plain_port run_rc timeout 30 onyx-queue --insecure-plain stat "$q"
like "$RC" "^69$" "so does --insecure-plain"
ONYX_BROKER_INSECURE_PLAIN=yes run_rc onyx-queue stat "$q"
like "$RC:$ERR" "^78:onyx-queue: ONYX_BROKER_INSECURE_PLAIN: 'yes' is not 0 or 1" "ONYX_BROKER_INSECURE_PLAIN takes 0 or 1"

# SASL EXTERNAL: the client certificate is the identity (the peer role).
ext() { ONYX_BROKER_USER= ONYX_BROKER_PASSWORD= ONYX_BROKER_CERT=$ONYX_SANDBOX_CLIENT_CERT \
    ONYX_BROKER_KEY=$ONYX_SANDBOX_CLIENT_KEY run_rc timeout 30 "$@"; }
echo '{"by":"cert"}' > "$T/cert.in"
ext onyx-queue send "$q" < "$T/cert.in"
is "$RC" 0 "SASL EXTERNAL with the client certificate: send"
ext onyx-queue recv "$q" -n 1 -w 10000
is "$RC:$OUT" '0:{"by":"cert"}' "and recv"
ext onyx-queue delete "$q"
like "$RC:$ERR" "^75:onyx-queue: delete $q: .*User: CN=onyx-client does not have permission='EDIT'" \
    "the certificate's account cannot delete a queue"
ONYX_BROKER=$ONYX_SANDBOX_BROKER_PLAIN ONYX_BROKER_CERT=$ONYX_SANDBOX_CLIENT_CERT run_rc onyx-queue stat "$q"
like "$RC:$ERR" "^78:onyx-queue: broker amqp://127.0.0.1:$plain_port: a client certificate \(ONYX_BROKER_CERT, --broker-cert\) needs an amqps:// broker URL" \
    "a client certificate without amqps:// is a configuration error"
run_rc onyx-queue --broker-cert "$T/none.pem" stat "$q"
like "$RC:$ERR" "^78:onyx-queue: --broker-cert: broker client certificate $T/none.pem: No such file" \
    "--broker-cert: a missing file exits 78, naming the flag"

# The peer account: reads counts (read-only management), cannot manage.
peer() { ONYX_BROKER_USER=$ONYX_SANDBOX_PEER_USER ONYX_BROKER_PASSWORD_FILE=$ONYX_SANDBOX_PEER_PASSWORD_FILE \
    run_rc "$@"; }
peer onyx-queue stat --json "$q"
is "$RC:$(printf '%s' "$OUT" | jq -r .messages)" "0:0" "the peer account reads a queue's count"
peer onyx-queue create "$(qname new)"
like "$RC:$ERR" "^75:onyx-queue: create .*User: peer does not have permission='EDIT' on address mops.broker.createQueue" \
    "the peer account cannot create a queue by management"
peer onyx-queue delete "$q"
like "$RC:$ERR" "^75:onyx-queue: delete .*User: peer does not have permission='EDIT' on address mops.broker.destroyQueue" \
    "nor delete one"
done_testing
