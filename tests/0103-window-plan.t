#!/bin/bash
# onyx-plan and onyx/window: every bad window spec refused with its JSON path
# and exit 65; good ones planned, the window in the plan (no services needed).
. "$(dirname "$0")/lib.sh"
plan 38

# in -> win -> out: a tumbling count per user of one minute
cat > "$T/base.json" <<'EOT'
{"workflow": [["in", "win"], ["win", "out"]],
 "catalog": [
  {"onyx/name": "in", "onyx/type": "input", "onyx/medium": "artemis",
   "artemis/queue-name": "w-in", "onyx/batch-size": 100},
  {"onyx/name": "win", "onyx/type": "function", "onyx/group-by-key": "user",
   "onyx/batch-size": 100,
   "onyx/window": {"type": "tumbling", "size": 60000,
    "time": {"field": "ts"}, "lateness": 1000, "aggregate": "count"}},
  {"onyx/name": "out", "onyx/type": "output", "onyx/medium": "artemis",
   "artemis/queue-name": "w-out", "onyx/batch-size": 100}]}
EOT
W='catalog[1]."onyx/window"'

# reject NAME JQ-FILTER MESSAGE...: base.json changed by the filter is
# refused with exit 65, nothing on stdout, and exactly the MESSAGE lines
# ("PATH: what") on stderr
reject() {
	local name=$1 filter=$2 want
	shift 2
	want=$(printf "onyx-plan: $T/job.json: %s\n" "$@")
	jq "$filter" "$T/base.json" > "$T/job.json"
	run_rc onyx-plan "$T/job.json"
	if [ "$RC" = 65 ] && [ -z "$OUT" ] && [ "$ERR" = "$want" ]; then
		ok "$name"
	else
		not_ok "$name"
		printf '#   exit %s, stderr:\n%s\n#   expected: exit 65,\n%s\n' \
		    "$RC" "$(printf '%s\n' "$ERR" | sed 's/^/#     /')" \
		    "$(printf '%s\n' "$want" | sed 's/^/#     /')"
	fi
}
# accept NAME JQ-FILTER: base.json changed by the filter is planned (exit
# 0), and the plan's task win holds the window as written
accept() {
	jq "$2" "$T/base.json" > "$T/job.json"
	run_rc onyx-plan "$T/job.json"
	if [ "$RC" = 0 ] && [ -z "$ERR" ] &&
	    [ "$(printf '%s' "$OUT" | jq -cS '.tasks[] | select(.name == "win") | .catalog."onyx/window"')" = \
	      "$(jq -cS '.catalog[1]."onyx/window"' "$T/job.json")" ]; then
		ok "$1"
	else
		not_ok "$1"
		printf '#   exit %s, stderr: %s\n' "$RC" "$ERR"
	fi
}
WIN='.catalog[1]."onyx/window"'

# The spec's own values
reject "negative size" "$WIN.size = -5" \
    "$W.size: must be a positive integer (milliseconds), not -5"
reject "size zero" "$WIN.size = 0" \
    "$W.size: must be a positive integer (milliseconds), not 0"
reject "size a string" "$WIN.size = \"60s\"" \
    "$W.size: must be a positive integer (milliseconds), not \"60s\""
reject "slide larger than size" \
    "$WIN.type = \"sliding\" | $WIN.slide = 120000" \
    "$W.slide: must be at most the size (60000), not 120000"
reject "a slide that makes too many windows" \
    "$WIN.type = \"sliding\" | $WIN.slide = 1" \
    "$W.slide: puts each segment in 60000 windows (size / slide); at most 1000"
reject "sliding without a slide" "$WIN.type = \"sliding\"" \
    "$W.slide: missing (required for a sliding window)"
reject "a slide on a tumbling window" "$WIN.slide = 1000" \
    "$W.slide: not allowed on a tumbling window"
reject "session without a gap" \
    "$WIN.type = \"session\" | del($WIN.size)" \
    "$W.gap: missing (required for a session window)"
reject "session with a negative gap" \
    "$WIN.type = \"session\" | del($WIN.size) | $WIN.gap = -1" \
    "$W.gap: must be a positive integer (milliseconds), not -1"
reject "an unknown type" "$WIN.type = \"hopping\"" \
    "$W.type: must be \"tumbling\", \"sliding\", \"session\" or \"global\", not \"hopping\""
reject "no type" "del($WIN.type)" "$W.type: missing (required)"
reject "negative lateness" "$WIN.lateness = -1" \
    "$W.lateness: must be an integer >= 0 (milliseconds), not -1"
reject "an unknown aggregate" "$WIN.aggregate = {\"op\": \"median\", \"field\": \"x\"}" \
    "$W.aggregate.op: must be \"count\", \"sum\", \"min\", \"max\", \"mean\", \"distinct\" or \"collect\", not \"median\""
reject "an unknown aggregate by name" "$WIN.aggregate = \"sum\"" \
    "$W.aggregate: must be \"count\" or an object such as {\"op\": \"sum\", \"field\": \"bytes\"}, not \"sum\""
reject "a sum without a field" "$WIN.aggregate = {\"op\": \"sum\"}" \
    "$W.aggregate.field: missing (required for \"op\": \"sum\")"
reject "an aggregate field that is not a path" \
    "$WIN.aggregate = {\"op\": \"max\", \"field\": \"\$.a..b\"}" \
    "$W.aggregate.field: is not a key name or a path: an empty key after '.'"
reject "a fold with a path" "$WIN.aggregate = {\"fn\": \"../x.so:f\"}" \
    "$W.aggregate.fn: must be \"library.so:symbol\" (a library without '/', found in the function path), not \"../x.so:f\""
reject "a program that is not an argv" "$WIN.aggregate = {\"exec\": \"wc -l\"}" \
    "$W.aggregate.exec: must be a non-empty array of strings (the program and its arguments), not \"wc -l\""
reject "a time field that is not a path" "$WIN.time.field = \"\$ts\"" \
    "$W.time.field: is not a key name or a path: 't' where '.' or '[' was expected"
reject "a time field path with a bad index" "$WIN.time.field = \"\$.a[x]\"" \
    "$W.time.field: is not a key name or a path: '[' must hold an index >= 0 or a quoted key"
reject "a time field that is a number" "$WIN.time.field = 3" \
    "$W.time.field: must be a key name or a path such as \"\$.ts\", not 3"
reject "an unknown time format" "$WIN.time.format = \"iso\"" \
    "$W.time.format: must be \"epoch-ms\" or \"rfc3339\", not \"iso\""
reject "no time on a tumbling window" "del($WIN.time)" \
    "$W.time: missing (required for a tumbling window)"
reject "unknown keys" "$WIN.sise = 1 | $WIN.time.zone = \"UTC\"" \
    "$W.sise: unknown key; a window holds \"type\", \"size\", \"slide\", \"gap\", \"time\", \"lateness\", \"aggregate\" and \"trigger\"" \
    "$W.time.zone: unknown key; a time holds \"field\" and \"format\""
reject "a bad trigger" "$WIN.trigger = [\"often\", {\"segments\": 0}]" \
    "$W.trigger[0]: must be \"watermark\", \"end\", {\"segments\": N} or {\"timer\": MS}, not \"often\"" \
    "$W.trigger[1].segments: must be a positive integer, not 0"
reject "a window that is not an object" "$WIN = 60000" \
    "$W: must be a JSON object (a window spec such as {\"type\": \"tumbling\", \"size\": 60000, ...}), not 60000"

# The task around it
reject "a window on an input task" \
    ".catalog[0].\"onyx/window\" = $WIN" \
    'catalog[0]."onyx/window": not allowed on an input task'
reject "a window with onyx/fn" ".catalog[1].\"onyx/fn\" = \"identity\"" \
    'catalog[1]."onyx/fn": not allowed with "onyx/window": a window task runs no function of its own (its aggregate says what it computes)'
reject "a window with onyx/exec" ".catalog[1].\"onyx/exec\" = [\"cat\"]" \
    'catalog[1]."onyx/exec": not allowed with "onyx/window": a program of a window goes in its aggregate, {"exec": [...]}'
reject "a window task not grouped" "del(.catalog[1].\"onyx/group-by-key\")" \
    "$W: task 'win' keeps keyed state: it needs \"onyx/group-by-key\", \"onyx/group-by-fn\" or \"onyx/consumption\": \"sequential\""
reject "a window task with fan-in" \
    '.workflow = [["in", "win"], ["in2", "win"], ["win", "out"]] | .catalog += [.catalog[0] | .["onyx/name"] = "in2" | .["artemis/queue-name"] = "w-in2"]' \
    "$W: task 'win' keeps keyed state: it must have exactly one parent, not 2 (a bucket would have two owners)"

# Good specs
accept "tumbling count" .
accept "sliding sum, every trigger" \
    "$WIN = {\"type\": \"sliding\", \"size\": 60000, \"slide\": 10000, \"time\": {\"field\": \"\$.t.ms\", \"format\": \"epoch-ms\"}, \"aggregate\": {\"op\": \"sum\", \"field\": \"bytes\", \"as\": \"total\"}, \"trigger\": [\"watermark\", {\"segments\": 10}, {\"timer\": 500}, \"end\"]}"
accept "session collect, RFC 3339" \
    "$WIN = {\"type\": \"session\", \"gap\": 30000, \"time\": {\"field\": \"at\", \"format\": \"rfc3339\"}, \"aggregate\": {\"op\": \"collect\", \"field\": \"page\"}}"
accept "global with a program, sequential" \
    "del(.catalog[1].\"onyx/group-by-key\") | .catalog[1].\"onyx/consumption\" = \"sequential\" | $WIN = {\"type\": \"global\", \"aggregate\": {\"exec\": [\"wc\", \"-l\"]}, \"trigger\": [{\"timer\": 1000}]}"
accept "a C fold, grouped by a function" \
    "del(.catalog[1].\"onyx/group-by-key\") | .catalog[1].\"onyx/group-by-fn\" = \"libx.so:g\" | $WIN.aggregate = {\"fn\": \"libonyx_examples.so:sumfold\"}"
accept "every builtin aggregate" \
    "$WIN.aggregate = {\"op\": \"mean\", \"field\": \"v\"}"
accept "distinct with a result name" \
    "$WIN.aggregate = {\"op\": \"distinct\", \"field\": \"\$.page\", \"as\": \"pages\"}"
