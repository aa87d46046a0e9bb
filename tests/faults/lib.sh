# tests/faults/lib.sh: the processes, the nemesis and the checks of
# tests/faults/run (sourced by it; uses its globals W, LOG, SVC, CL, JOB,
# SESSION_MS, PEERS).

declare -A PEER_PID=() COORD_PID=()

now_ms() { date +%s%3N; }
sleep_ms() { sleep "$(awk -v m="$1" 'BEGIN { printf "%.3f", m / 1000 }')"; }

# retry SECONDS CMD...: run CMD until it succeeds, at most SECONDS long
retry() {
	local until=$(($(date +%s) + $1)) rc
	shift
	while :; do
		if "$@" 2>> "$LOG"; then return 0; else rc=$?; fi
		say "retry: '$*' exited $rc"
		[ "$(date +%s)" -lt "$until" ] || return "$rc"
		sleep 0.5
	done
}

all_pids() { echo "${PEER_PID[@]:-}" "${COORD_PID[@]:-}"; }
alive() { [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null; }

coord_start() { # SLOT
	echo "--- start $(date +%T.%3N)" >> "$W/coord.$1.log"
	onyx-coord -o 5000 -s "$SESSION_MS" 2>> "$W/coord.$1.log" &
	COORD_PID[$1]=$!
	say "coordinator $1 started: pid ${COORD_PID[$1]}"
}

peer_start() { # SLOT
	echo "--- start $(date +%T.%3N)" >> "$W/peer.$1.log"
	ONYX_BROKER_USER=$ONYX_SANDBOX_PEER_USER ONYX_BROKER_PASSWORD_FILE=$ONYX_SANDBOX_PEER_PASSWORD_FILE \
	    netns_exec "$1" onyx-peer -v -s "$SESSION_MS" -n "$VPEERS" 2>> "$W/peer.$1.log" &
	PEER_PID[$1]=$!
	say "peer process $1 started: pid ${PEER_PID[$1]}"
}

# A live peer slot, from the wanted one on.
live_peer() { # WANTED -> $R
	local k s
	for k in $(seq 0 $((PEERS - 1))); do
		s=$(( (($1 - 1 + k) % PEERS) + 1 ))
		if alive "${PEER_PID[$s]:-}"; then R=$s; return 0; fi
	done
	return 1
}

leader_slot() { # -> $R
	local pid c
	pid=$(zkput get "$CL/coord/leader" 2>/dev/null | jq -r .pid) || true
	for c in "${!COORD_PID[@]}"; do
		if [ "${COORD_PID[$c]}" = "$pid" ]; then R=$c; return 0; fi
	done
	return 1
}

# nemesis KIND TARGET DURATION_MS: inject one fault and heal it.
nemesis() {
	local kind=$1 target=$2 dur=$3 s pid
	case $kind in
	peer-kill)
		live_peer "$target" || { say "nemesis: no live peer to kill"; return 0; }
		s=$R
		pid=${PEER_PID[$s]}
		say "nemesis: SIGKILL peer process $s (pid $pid); replacement in ${dur} ms"
		kill -9 "$pid"; wait "$pid" 2>/dev/null || true
		sleep_ms "$dur"
		peer_start "$s"
		;;
	coord-kill|coord-kill-nostandby)
		for _ in $(seq 1 100); do leader_slot && break; sleep 0.1; done
		if ! leader_slot; then say "nemesis: no leader found"; return 0; fi
		s=$R
		pid=${COORD_PID[$s]}
		say "nemesis: SIGKILL coordinator leader $s (pid $pid); new one in ${dur} ms"
		kill -9 "$pid"; wait "$pid" 2>/dev/null || true
		sleep_ms "$dur"
		coord_start "$s"
		;;
	pause)
		live_peer "$target" || return 0
		s=$R
		pid=${PEER_PID[$s]}
		say "nemesis: SIGSTOP peer process $s (pid $pid) for ${dur} ms"
		kill -STOP "$pid"
		sleep_ms "$dur"
		kill -CONT "$pid"
		say "nemesis: SIGCONT peer process $s (pid $pid)"
		;;
	broker-restart)
		say "nemesis: restarting the broker (journal kept)"
		scripts/services restart-broker "$SVC" >> "$LOG" 2>&1
		say "nemesis: broker up again"
		;;
	zk-restart)
		say "nemesis: restarting ZooKeeper (data kept)"
		scripts/services restart-zk "$SVC" >> "$LOG" 2>&1
		say "nemesis: ZooKeeper up again"
		;;
	partition)
		netns_partition "$target" "$dur"
		;;
	esac
}

# Undo whatever a nemesis left when the run stops early.
nemesis_heal_all() {
	local p
	for p in "${PEER_PID[@]:-}"; do [ -n "$p" ] && kill -CONT "$p" 2>/dev/null; done
	netns_heal_all
	return 0
}

# wait_job SECONDS: the job's final status, or "timeout"/"unknown"
wait_job() {
	local until=$(($(date +%s) + $1)) s
	while :; do
		s=$(zkput get "$CL/jobs/$JOB/status" 2>/dev/null | jq -r .status 2>/dev/null) || s=unknown
		case $s in completed|failed|killed) echo "$s"; return 0 ;; esac
		if [ "$(date +%s)" -ge "$until" ]; then echo "timeout:${s:-unknown}"; return 0; fi
		sleep 0.2
	done
}

# stuck_peers SECONDS: how many peers are still not idle after the job ended
# (acking, active, sealing or waiting on an ended job), after waiting up to
# SECONDS for them to go idle.
stuck_peers() {
	local until=$(($(date +%s) + $1)) n
	while :; do
		n=$(onyx-watch --json 2>/dev/null | jq '[.peers[] | select(.state != "idle")] | length') || n=unknown
		if [ "$n" = 0 ] || [ "$(date +%s)" -ge "$until" ]; then break; fi
		sleep 0.5
	done
	[ "$n" = 0 ] || onyx-watch --json 2>/dev/null | jq -c '.peers[] | select(.state != "idle")' >> "$LOG"
	echo "$n"
}

# The znodes allowed once the job has ended and been cleaned up: the
# cluster's folders, the registrations of live peers and coordinators, and
# the job's record (plan, status, per-task status and counts), kept for
# onyx-watch, and its entry in history/ once it left the working set (live/,
# which must be empty). Anything else is a leak.
allowed_node() {
	local p=$1 rest id pid
	case $p in
	"$CL"|"$CL/jobs"|"$CL/peers"|"$CL/assign"|"$CL/coord"|"$CL/coord/election"|"$CL/coord/leader") return 0 ;;
	"$CL/live"|"$CL/history"|"$CL/coord/live-index") return 0 ;;
	"$CL/history/h-"*) [ "$(zkput get "$p" 2>/dev/null)" = "$JOB" ] && return 0 ;;
	"$CL/jobs/$JOB"|"$CL/jobs/$JOB/status"|"$CL/jobs/$JOB/tasks"|"$CL/jobs/$JOB/tasks/"*) return 0 ;;
	"$CL/jobs/$JOB/stats"|"$CL/jobs/$JOB/stats/"*) return 0 ;;
	"$CL/coord/election/"*)
		[ "$(zkput get "$p" 2>/dev/null | jq -r .pid 2>/dev/null)" ] || return 0
		pid=$(zkput get "$p" 2>/dev/null | jq -r .pid)
		alive "$pid" && return 0 ;;
	"$CL/peers/"*)
		id=${p#"$CL/peers/"}
		rest=${id%-*}
		pid=${rest##*-}
		for s in "${PEER_PID[@]}"; do [ "$s" = "$pid" ] && alive "$pid" && return 0; done ;;
	esac
	return 1
}

# leaks SECONDS: the count of znodes not allowed, after waiting up to
# SECONDS (sessions of killed processes take their timeout to end).
leaks() {
	local until=$(($(date +%s) + $1)) n p
	while :; do
		n=0
		: > "$W/leaks"
		while read -r p; do
			allowed_node "$p" || { n=$((n + 1)); echo "$p" >> "$W/leaks"; }
		done < <(zkput tree "$CL" 2>/dev/null)
		if [ "$n" = 0 ] || [ "$(date +%s)" -ge "$until" ]; then break; fi
		sleep 1
	done
	[ "$n" = 0 ] || sed 's/^/leak: /' "$W/leaks" >> "$LOG"
	echo "$n"
}

# queue_leaks: how many of the job's internal queues still exist.
queue_leaks() {
	local n=0 q
	# lib/names: onyx.KIND.JOB.TASK, each '.' of a name written '~'
	for q in $(jq -r --arg j "$JOB" '($j | gsub("\\."; "~")) as $e | .queues[],
	    (.tasks[].name | gsub("\\."; "~") | "onyx.seal.\($e).\(.)", "onyx.done.\($e).\(.)")' "$W/job.plan"); do
		if onyx-queue stat --json "$q" > /dev/null 2>&1; then
			n=$((n + 1))
			say "leak: queue $q"
		fi
	done
	echo "$n"
}

# --- network namespaces (scenario partition) ---------------------------------
# Each peer process runs in a namespace of its own, joined to the host by a
# veth pair. The services bind 127.0.0.1, so tests/faults/fwd.py forwards
# NET.<slot>.1:<zk port> and NET.<slot>.2:<broker port> (addresses on the
# host end) to them; the peer is pointed at those. A partition is a
# blackhole route in the peer's namespace to one address or both.
NETNS=0 FWD_PID=
NSP=ox$$
NET=10.$((100 + $$ % 100))
netns_usable() { [ "$(id -u)" = 0 ] && command -v ip > /dev/null && ip netns list > /dev/null 2>&1; }
ns_name() { echo "${NSP}n$1"; }
netns_setup() {
	local s specs= zkp amqp
	case $SCENARIO in
	partition) netns_usable || { echo "faults: the partition scenario needs root and ip(8)" >&2; exit 69; } ;;
	mixed) netns_usable || return 0 ;;
	*) return 0 ;;
	esac
	zkp=${ONYX_ZK##*:}
	# cleartext: the forwarded address matches no name of the broker's
	# certificate, and a password to it is allowed explicitly (below)
	amqp=${ONYX_SANDBOX_BROKER_PLAIN##*:}
	for s in $(seq 1 "$PEERS"); do
		ip netns add "$(ns_name "$s")"
		ip link add "${NSP}h$s" type veth peer name "${NSP}p$s"
		ip link set "${NSP}p$s" netns "$(ns_name "$s")"
		ip addr add "$NET.$s.1/24" dev "${NSP}h$s"
		ip addr add "$NET.$s.2/24" dev "${NSP}h$s"
		ip link set "${NSP}h$s" up
		ip -n "$(ns_name "$s")" addr add "$NET.$s.10/24" dev "${NSP}p$s"
		ip -n "$(ns_name "$s")" link set "${NSP}p$s" up
		ip -n "$(ns_name "$s")" link set lo up
		specs="$specs $NET.$s.1:$zkp=127.0.0.1:$zkp $NET.$s.2:$amqp=127.0.0.1:$amqp"
	done
	NETNS=1
	# shellcheck disable=SC2086
	/usr/bin/python3 "$ROOT/tests/faults/fwd.py" $specs > "$W/fwd.out" 2>&1 &
	FWD_PID=$!
	for _ in $(seq 1 100); do grep -q ready "$W/fwd.out" && break; sleep 0.1; done
	grep -q ready "$W/fwd.out" || { echo "faults: the forwarder did not start; see $W/fwd.out" >&2; exit 69; }
	say "network namespaces: ${NSP}n1..${NSP}n$PEERS, forwarder pid $FWD_PID"
}
netns_teardown() {
	local s
	[ "$NETNS" = 1 ] || return 0
	[ -n "$FWD_PID" ] && kill "$FWD_PID" 2>/dev/null
	for s in $(seq 1 "$PEERS"); do
		ip netns del "$(ns_name "$s")" 2>/dev/null
		ip link del "${NSP}h$s" 2>/dev/null
	done
	NETNS=0
	return 0
}
# netns_exec SLOT CMD...: exec CMD, in the slot's namespace when there is one
netns_exec() {
	local s=$1
	shift
	if [ "$NETNS" = 1 ]; then
		exec ip netns exec "$(ns_name "$s")" env \
		    ONYX_ZK="$NET.$s.1:${ONYX_ZK##*:}" \
		    ONYX_BROKER="amqp://$NET.$s.2:${ONYX_SANDBOX_BROKER_PLAIN##*:}" \
		    ONYX_BROKER_INSECURE_PLAIN=1 "$@"
	fi
	exec "$@"
}
# netns_partition SLOT:WHAT DURATION_MS: cut peer process SLOT off from
# ZooKeeper (WHAT 0), the broker (1) or both (2), then heal.
netns_partition() {
	local s=${1%%:*} what=${1##*:} dur=$2 ns addrs= a names=("ZooKeeper" "the broker" "ZooKeeper and the broker")
	if [ "$NETNS" != 1 ]; then say "nemesis: no network namespaces: partition skipped"; return 0; fi
	ns=$(ns_name "$s")
	case $what in 0) addrs=$NET.$s.1 ;; 1) addrs=$NET.$s.2 ;; *) addrs="$NET.$s.1 $NET.$s.2" ;; esac
	say "nemesis: partition: peer process $s cut off from ${names[$what]} for ${dur} ms"
	for a in $addrs; do ip -n "$ns" route add blackhole "$a/32"; done
	sleep_ms "$dur"
	for a in $addrs; do ip -n "$ns" route del blackhole "$a/32" 2>/dev/null || true; done
	say "nemesis: partition of peer process $s healed"
}
netns_heal_all() {
	local s a
	[ "$NETNS" = 1 ] || return 0
	for s in $(seq 1 "$PEERS"); do
		for a in "$NET.$s.1" "$NET.$s.2"; do
			ip -n "$(ns_name "$s")" route del blackhole "$a/32" 2>/dev/null
		done
	done
	return 0
}
