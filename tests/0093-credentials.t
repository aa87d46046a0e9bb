#!/bin/bash
# Credentials hygiene (issue 11): a program function's environment holds no
# broker or ZooKeeper secret; no message of any program shows a password,
# whatever the URL; password files must be private and are read whole.
. "$(dirname "$0")/lib.sh"
plan 17
export ONYX_CLUSTER=$TESTNAME-$$
SECRET=Zz9Secret
PROGS="onyx-queue onyx-coord onyx-peer onyx-submit onyx-watch"
# the minimal arguments of each program (a URL error comes before them)
args() { case $1 in onyx-queue) echo "stat q-$$" ;; onyx-peer) echo "-n 1" ;; *) ;; esac; }

# 1-4. A password file: private, read whole, one line.
pwf=$T/pw
printf '%s\n' "$ONYX_BROKER_PASSWORD" > "$pwf"
chmod 644 "$pwf"
run_rc env -u ONYX_BROKER_PASSWORD onyx-queue --password-file "$pwf" stat "q-$$"
is "$RC:$ERR" "78:onyx-queue: --password-file: password file $pwf has mode 0644: others may read it; make it readable by its owner alone (chmod 600)" \
    "a world-readable password file: exit 78 naming the file and its mode"
chmod 640 "$pwf"
ONYX_BROKER_PASSWORD_FILE=$pwf run_rc onyx-queue stat "q-$$"
is "$RC:$ERR" "78:onyx-queue: ONYX_BROKER_PASSWORD_FILE: password file $pwf has mode 0640: others may read it; make it readable by its owner alone (chmod 600)" \
    "a group-readable password file in ONYX_BROKER_PASSWORD_FILE: exit 78"
chmod 600 "$pwf"
onyx-queue create "q-$$"
run_rc env -u ONYX_BROKER_PASSWORD onyx-queue --password-file "$pwf" stat "q-$$"
is "$RC:$OUT" "0:{\"queue\":\"q-$$\",\"messages\":0,\"consumers\":0}" "a private password file: the broker takes the login"
long=$T/long
head -c 5000 /dev/zero | tr '\0' x > "$long"
chmod 600 "$long"
run_rc onyx-queue --password-file "$long" stat "q-$$"
is "$RC:$ERR" "78:onyx-queue: --password-file: the password in $long is longer than 4095 bytes" \
    "a password longer than 4095 bytes is refused, not cut"
printf 'a\0b\n' > "$long"
run_rc onyx-queue --password-file "$long" stat "q-$$"
is "$RC:$ERR" "78:onyx-queue: --password-file: password file $long holds a NUL byte" "a NUL byte: exit 78"
: > "$long"
run_rc onyx-queue --password-file "$long" stat "q-$$"
is "$RC:$ERR" "78:onyx-queue: --password-file: password file $long is empty" "an empty file: exit 78"

# 7-9. No message of any program shows the password, whatever the URL form,
# through -B or ONYX_BROKER, with the debug settings line (-vv) on.
port=${ONYX_BROKER##*:}
URLS=(
	"amqp://u:$SECRET@127.0.0.1:$port"
	"amqp://u:$SECRET@127.0.0.1"
	"amqp://u:$SECRET@h:x"
	"amqp://u:$SECRET@@h:1"
	"amqp://u:Zz9@Secret@h:1"
	"amqp://u:$SECRET@"
	"amqp://u:$SECRET@:1"
	"amqp://u:$SECRET"
	"amqp://u:Zz9/Secret"
	"amqp://u:$SECRET@[::1"
	"amqp://[::1:$SECRET"
	"amqp://u:$SECRET@[::1]x"
	"tcp://u:$SECRET@h:1"
	"u:$SECRET@h:1"
	"amqp:/u:$SECRET@h"
	"amqp://u:Zz9?Secret@h#f"
	"amqp://$SECRET@h:x"
)
leaks=0 tried=0 codes=
for url in "${URLS[@]}"; do
	for p in $PROGS; do
		set +e
		# shellcheck disable=SC2046
		timeout -s TERM 20 $p -vv -B "$url" $(args $p) < /dev/null > "$T/o" 2>&1
		rc1=$?
		# shellcheck disable=SC2046
		ONYX_BROKER=$url timeout -s TERM 20 $p -vv $(args $p) < /dev/null >> "$T/o" 2>&1
		rc2=$?
		set -e
		tried=$((tried + 2))
		codes="$codes $rc1 $rc2"
		if grep -q -e Zz9 -e Secret "$T/o"; then
			leaks=$((leaks + 1))
			echo "# $p with $url:"
			grep -e Zz9 -e Secret "$T/o" | sed 's/^/#   /' | head -5
		fi
	done
done
echo "# exit statuses:$(printf '%s\n' $codes | sort -n | uniq -c | awk '{ printf " %s x%s", $2, $1 }')"
is "$(printf '%s\n' $codes | awk '$1 == 0 || $1 >= 124' | wc -l)" 0 \
    "every run with a malformed URL or a password in it failed with a status of its own (no success, no hang, no crash)"
# the password in ONYX_BROKER_PASSWORD, a good URL: the settings line
# (-vv) and the broker's refusal show the URL, never the password (the
# coordinator and the peer keep running: they are stopped after 3 s)
for p in $PROGS; do
	set +e
	# shellcheck disable=SC2046
	ONYX_BROKER_PASSWORD=$SECRET timeout -s TERM 3 $p -vv $(args $p) < /dev/null > "$T/o" 2>&1
	set -e
	tried=$((tried + 1))
	if grep -q -e Zz9 -e Secret "$T/o"; then
		leaks=$((leaks + 1))
		echo "# $p with ONYX_BROKER_PASSWORD:"
		grep -e Zz9 -e Secret "$T/o" | sed 's/^/#   /' | head -5
	fi
done
is "$leaks leaks in $tried runs" "0 leaks in $((${#URLS[@]} * 10 + 5)) runs" \
    "no output of any program shows the password, for ${#URLS[@]} URL forms and ONYX_BROKER_PASSWORD"
run_rc onyx-queue -B "amqp://u:$SECRET@127.0.0.1:$port" stat "q-$$"
is "$RC:$ERR" "78:onyx-queue: --broker: broker URL 'amqp://***@127.0.0.1:$port': a password in the URL is refused (it would show in ps and in the environment); give it in a file named by ONYX_BROKER_PASSWORD_FILE or --password-file" \
    "a password in -B: exit 78 naming the safe alternative"

# 10-17. A program function whose command is env (the peer's exec allow-list,
# where there is one, must allow env): its environment holds no ONYX_*
# variable of the peer but ONYX_PARAMS, ONYX_TASK and ONYX_PEER, and none of
# the secret values. The peer runs with the password in ONYX_BROKER_PASSWORD
# and in ONYX_BROKER_PASSWORD_FILE, a ZooKeeper secret file and another
# ONYX_* secret, to show the rule covers any.
zks=${ONYX_ZK_SECRET_FILE:-$T/zk-secret}
if [ -z "${ONYX_ZK_SECRET_FILE:-}" ]; then
	printf 'ZkSecretValue\n' > "$zks"
	chmod 600 "$zks"
fi
doc() {
	jq -n --arg s "-$$" --argjson argv "$1" '{
	    workflow: [["in", "f"], ["f", "out"]],
	    catalog: [
	      {"onyx/name": "in", "onyx/type": "input", "onyx/medium": "artemis",
	       "artemis/queue-name": ("x-in" + $s), "onyx/batch-size": 10},
	      {"onyx/name": "f", "onyx/type": "function", "onyx/exec": $argv,
	        "onyx/batch-size": 10, "onyx/params": {"k": 1}},
	      {"onyx/name": "out", "onyx/type": "output", "onyx/medium": "artemis",
	       "artemis/queue-name": ("x-out" + $s), "onyx/batch-size": 10}]}' |
	    jq --arg id "env-$$" '. + {id: $id}' | onyx-plan
}
onyx-coord -s 4000 2>> "$T/coord.log" & PIDS="$PIDS $!"
ONYX_BROKER_PASSWORD_FILE=$pwf ONYX_ZK_SECRET_FILE=$zks ONYX_OTHER_SECRET=OtherSecretValue \
    onyx-peer -n 3 2>> "$T/peer.log" & PIDS="$PIDS $!"
# shellcheck disable=SC2016
doc "$(argv env jq --unbuffered -c '{env: $ENV}')" > "$T/env.plan"
onyx-submit --wait --timeout 120000 < "$T/env.plan" > /dev/null 2> "$T/env.err" &
SUB=$!
nums 3 | onyx-queue send "x-in-$$" --done
onyx-queue recv "x-out-$$" --until-done -w 60000 > "$T/env.out"
set +e; wait $SUB; RC=$?; set -e
[ "$RC" = 0 ] || sed 's/^/# /' "$T/env.err" "$T/peer.log" | tail -20
is "$RC:$(wc -l < "$T/env.out")" "0:3" "the env function's job completes, one environment per segment"
is "$(jq -r '.env | keys[] | select(startswith("ONYX_"))' "$T/env.out" | sort -u | tr '\n' ' ')" \
    "ONYX_PARAMS ONYX_PEER ONYX_TASK " "the only ONYX_* variables are the three the peer sets"
is "$(jq -c '.env.ONYX_PARAMS' "$T/env.out" | sort -u)" '"{\"k\":1}"' "ONYX_PARAMS is the task's onyx/params"
check "the environment still holds PATH" test "$(jq -r '.env.PATH' "$T/env.out" | sort -u)" = "$PATH"
check "the broker password (from the variable and the file) is nowhere in it" \
    test "$(grep -cF "$ONYX_BROKER_PASSWORD" "$T/env.out")" = 0
check "the ZooKeeper secret is nowhere in it" \
    test "$(grep -cF "$(head -n 1 "$zks")" "$T/env.out")" = 0
check "nor any other ONYX_* secret" test "$(grep -c OtherSecretValue "$T/env.out")" = 0
check "nor the names of the secret files" \
    test "$(grep -cF -e "$pwf" -e "$zks" "$T/env.out")" = 0
