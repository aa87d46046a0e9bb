# tests/faults/tap.sh: TAP assertions over a tests/faults/run summary line,
# for the tests/00NN-faults-*.t files (sourced after tests/lib.sh).

# faults ARGS...: run the driver (logs kept in $FD), keep its summary line
faults() {
	FD=$T/faults
	run_rc "$ONYX_ROOT/tests/faults/run" --dir "$FD" "$@"
	SUMMARY=$(printf '%s\n' "$OUT" | grep '^faults: seed=' || true)
	echo "# $SUMMARY"
	if [ "$RC" != 0 ]; then
		printf '%s\n' "$ERR" | sed 's/^/# /'
		grep -v 'retry:' "$FD/driver.log" | tail -n 30 | sed 's/^/# /'
	fi
}
# field NAME: the value of NAME=VALUE in the summary
field() { printf '%s\n' "$SUMMARY" | sed -n "s/.* $1=\([^ ]*\).*/\1/p"; }

# invariants KINDS SEGMENTS: the checks every scenario makes, exact counts
invariants() {
	is "$RC" 0 "the run passes its checker (exit 0)"
	is "$(field faults)" "$1" "faults injected: $1"
	is "$(field in):$(field out)" "$2:$2" "$2 segments in, $2 out"
	is "$(field lost)" 0 "nothing lost"
	is "$(field dup):$(field stray)" "0:0" "no duplicates and nothing unexpected"
	like "$(field sentinels)" ':1$' "exactly one sentinel on the output queue"
	is "$(field status)" completed "the job completed within the bound after the last fault"
	is "$(field stuck)" 0 "no peer stuck in acking, active or sealing afterwards"
	is "$(field znode-leaks)" 0 "no znode left behind but the job's record and live registrations"
	is "$(field queue-leaks)" 0 "the job's internal queues are deleted"
}
