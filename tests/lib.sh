# tests/lib.sh: shared setup for the integration tests (TAP, a temp dir,
# cleanup of every process a test starts, unique queue names).
# Services come from tests/run, which exports ONYX_BROKER, ONYX_ZK, ...
set -eu
export LC_ALL=C
: "${ONYX_BIN:?run the tests through tests/run (make check)}"
PATH=$ONYX_BIN:$ONYX_TOOLS:$PATH
T=$(mktemp -d "${TMPDIR:-/tmp}/onyx-test.XXXXXX")
PIDS=
_n=0
_failed=0
cleanup() {
	for p in $PIDS; do kill -9 "$p" 2>/dev/null || true; done
	pkill -9 -P $$ 2>/dev/null || true
	wait 2>/dev/null || true
	# ONYX_TEST_KEEP=DIR keeps each test's files (logs) as DIR/NAME-PID
	if [ -n "${ONYX_TEST_KEEP:-}" ]; then
		mkdir -p "$ONYX_TEST_KEEP"
		cp -r "$T" "$ONYX_TEST_KEEP/$(basename "$0" .t)-$$" 2>/dev/null || true
	fi
	rm -rf "$T"
}
trap cleanup EXIT

# The peers a test starts log in with the sandbox's peer account (no
# management rights beyond reading counts: onyx(7), "Broker accounts and
# roles"): onyx-peer on PATH sets it, then is the real one (same pid).
mkdir "$T/bin"
cat > "$T/bin/onyx-peer" <<EOT
#!/bin/bash
export ONYX_BROKER_USER=$ONYX_SANDBOX_PEER_USER
export ONYX_BROKER_PASSWORD_FILE=$ONYX_SANDBOX_PEER_PASSWORD_FILE
exec -a onyx-peer "$ONYX_BIN/onyx-peer" "\$@"
EOT
chmod +x "$T/bin/onyx-peer"
PATH=$T/bin:$PATH

# A queue name unique to this test file and run.
TESTNAME=$(basename "$0" .t)
qname() { echo "$TESTNAME-$$-$1"; }

plan() { echo "1..$1"; }
ok() { _n=$((_n + 1)); echo "ok $_n - $1"; }
not_ok() { _n=$((_n + 1)); echo "not ok $_n - $1"; _failed=1; }
# check NAME COMMAND...: ok when the command succeeds
check() {
	local name=$1; shift
	if "$@"; then ok "$name"; else not_ok "$name"; fi
}
# is GOT EXPECTED NAME
is() {
	if [ "$1" = "$2" ]; then ok "$3"; else
		not_ok "$3"
		printf '#   got:      %s\n#   expected: %s\n' "$1" "$2"
	fi
}
# like GOT PATTERN NAME (grep -E on the text)
like() {
	if printf '%s' "$1" | grep -Eq -- "$2"; then ok "$3"; else
		not_ok "$3"
		printf '#   got:      %s\n#   expected: /%s/\n' "$1" "$2"
	fi
}
# run_rc CMD...: run, keep stdout in $OUT, stderr in $ERR, status in $RC
run_rc() {
	set +e
	"$@" > "$T/out" 2> "$T/err"
	RC=$?
	set -e
	OUT=$(cat "$T/out")
	ERR=$(cat "$T/err")
}
# messages QUEUE: the message count the broker reports
messages() { onyx-queue stat --json "$1" | jq -r .messages; }
# gen N [START]: N distinct segments of about 100 bytes
gen() {
	awk -v n="$1" -v s="${2:-0}" 'BEGIN { for (i = s; i < s + n; i++)
	    printf "{\"id\":%d,\"pad\":\"%s\"}\n", i,
	    substr("abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdef", 1, 80) }'
}
# nums N: the segments {"n":1} ... {"n":N}
nums() { awk -v n="$1" 'BEGIN { for (i = 1; i <= n; i++) printf "{\"n\":%d}\n", i }'; }
# argv WORD...: the words as a JSON array of strings (an onyx/exec value)
argv() { python3 -c 'import json, sys; print(json.dumps(sys.argv[1:]))' "$@"; }
# wait_lines FILE N [SECONDS]: wait until FILE has at least N lines
wait_lines() {
	local i
	for i in $(seq 1 $((${3:-60} * 10))); do
		[ -f "$1" ] && [ "$(wc -l < "$1")" -ge "$2" ] && return 0
		sleep 0.1
	done
	return 1
}
# kill_sending QUEUE N SEND-ARGS...: onyx-queue send SEND-ARGS QUEUE reads
# 105 lines (gen) from a pipe that stays open; once QUEUE holds N messages
# it is SIGKILLed, its last partial batch (5 lines) uncommitted
kill_sending() {
	local q=$1 n=$2 spid i
	shift 2
	rm -f "$T/feed"
	mkfifo "$T/feed"
	onyx-queue send "$@" "$q" < "$T/feed" &
	spid=$!
	PIDS="$PIDS $spid"
	exec 3> "$T/feed"
	gen 105 >&3
	for i in $(seq 1 100); do
		[ "$(messages "$q")" -ge "$n" ] && break
		sleep 0.1
	done
	kill -9 $spid
	wait $spid 2>/dev/null || true
	exec 3>&-
}
done_testing() { exit "$_failed"; }
