#!/bin/bash
# onyx-plan: plans of valid job documents, and every way a document is refused
# (no services needed: onyx-plan only reads and writes).
. "$(dirname "$0")/lib.sh"
EX=$(cd "$(dirname "$0")/.." && pwd)/examples
plan 86

# has TEXT NAME: ok when $ERR holds TEXT, taken literally
has() {
	if printf '%s' "$ERR" | grep -Fq -- "$1"; then ok "$2"; else
		not_ok "$2"
		printf '#   got:      %s\n#   expected: %s\n' "$ERR" "$1"
	fi
}
# reject NAME JQ-FILTER MESSAGE: examples/inc/job.json changed by the filter
# is refused with exit 65 and MESSAGE ("PATH: what") on a line of its own
reject() {
	jq "$2" "$EX/inc/job.json" > "$T/job.json"
	run_rc onyx-plan "$T/job.json"
	if [ "$RC" = 65 ] && [ -z "$OUT" ] &&
	    printf '%s\n' "$ERR" | grep -Fxq -- "onyx-plan: $T/job.json: $3"; then
		ok "$1"
	else
		not_ok "$1"
		printf '#   exit %s, stderr:\n%s\n#   expected: exit 65, %s\n' \
		    "$RC" "$(printf '%s\n' "$ERR" | sed 's/^/#     /')" "$3"
	fi
}
# with_workflow W: examples/inc/job.json with the workflow W (jq syntax)
with_workflow() { jq -c ".workflow = $1" "$EX/inc/job.json"; }

# Options
run_rc onyx-plan --help
is "$RC" 0 "--help exits 0"
like "$OUT" '^usage: onyx-plan \[-v\] \[--check\] \[file\]' "--help prints the synopsis on stdout"
run_rc onyx-plan -V
like "$OUT" '^onyx-plan [0-9]+\.[0-9]+\.[0-9]+$' "-V prints name and version"
run_rc onyx-plan --frobnicate
is "$RC" 64 "an unknown option: exit 64"
run_rc onyx-plan "$EX/inc/job.json" "$EX/dag/job.json"
is "$RC" 64 "two files: exit 64"
has "onyx-plan: unexpected argument '$EX/dag/job.json'" "two files: the second is named"

# Input
run_rc onyx-plan "$T/nope.json"
is "$RC" 66 "a missing file: exit 66"
is "$ERR" "onyx-plan: $T/nope.json: No such file or directory" "a missing file: named"
run_rc onyx-plan "$T"
is "$RC" 74 "a directory: exit 74 (read error)"
printf '{\n  "workflow": [\n    ["in" "out"]\n  ]\n}\n' > "$T/bad.json"
run_rc onyx-plan "$T/bad.json"
is "$RC" 65 "malformed JSON: exit 65"
is "$ERR" "onyx-plan: $T/bad.json:3:15: ']' expected near '\"out\"'" \
    "malformed JSON: file, line and column"
run_rc onyx-plan < "$T/bad.json"
is "$ERR" "onyx-plan: stdin:3:15: ']' expected near '\"out\"'" \
    "malformed JSON on stdin: named stdin"
printf '{"workflow": [],\n "workflow": [["in", "out"]]}\n' > "$T/twice.json"
run_rc onyx-plan "$T/twice.json"
is "$RC:$ERR" "65:onyx-plan: $T/twice.json:2:11: duplicate object key near '\"workflow\"'" \
    "a key given twice: exit 65, line and column"
: > "$T/empty.json"
run_rc onyx-plan "$T/empty.json"
is "$RC" 65 "an empty file: exit 65"

# Valid documents
run_rc onyx-plan "$EX/inc/job.json"
is "$RC" 0 "examples/inc: exit 0"
is "$ERR" "" "examples/inc: nothing on stderr"
is "$(printf '%s\n' "$OUT" | wc -l)" 1 "examples/inc: one line"
INC=$OUT
JOB=$(printf '%s' "$OUT" | jq -r .job)
like "$JOB" '^j-[0-9a-f]{16}$' "the job id is j- and 16 hex digits"
is "$(onyx-plan "$EX/inc/job.json" | jq -r .job)" "$JOB" "the job id is stable"
is "$(jq '.catalog[1]."onyx/batch-size" = 10' "$EX/inc/job.json" |
    onyx-plan | jq -r .job)" "$(jq '.catalog[1]."onyx/batch-size" = 10' \
    "$EX/inc/job.json" | onyx-plan | jq -r .job)" "the same change, the same id"
isnt=$(jq '.catalog[1]."onyx/batch-size" = 10' "$EX/inc/job.json" | onyx-plan |
    jq -r .job)
check "another document, another job id" [ "$isnt" != "$JOB" ]
is "$(printf '%s' "$INC" | jq -c '[.tasks[] | [.name, .phase, .type]]')" \
    '[["in",0,"input"],["inc",1,"function"],["out",2,"output"]]' \
    "examples/inc: tasks in phase order"
is "$(printf '%s' "$INC" | jq -c '[.tasks[] | [.ingress, .egress]]')" \
    "[[[\"inc-in\"],[\"onyx.edge.$JOB.in.inc\"]],[[\"onyx.edge.$JOB.in.inc\"],[\"onyx.edge.$JOB.inc.out\"]],[[\"onyx.edge.$JOB.inc.out\"],[\"inc-out\"]]]" \
    "examples/inc: ingress and egress"
is "$(printf '%s' "$INC" | jq -c .queues)" \
    "[\"onyx.edge.$JOB.in.inc\",\"onyx.edge.$JOB.inc.out\"]" "examples/inc: one queue per edge"
is "$(printf '%s' "$INC" | jq -c '.tasks[1].catalog')" \
    "$(jq -c '.catalog[1]' "$EX/inc/job.json")" "examples/inc: the entry as given"
is "$(printf '%s' "$INC" | jq -r '.tasks[1].id')" "$JOB.inc" "a task's id is job.name"
is "$(onyx-plan < "$EX/inc/job.json")" "$INC" "stdin gives the same plan"
is "$(onyx-plan - < "$EX/inc/job.json")" "$INC" "- reads stdin"
run_rc onyx-plan --check "$EX/inc/job.json"
is "$RC:$OUT:$ERR" "0::" "--check: exit 0 and silent when valid"
is "$(jq '.id = "nightly-1"' "$EX/inc/job.json" | onyx-plan | jq -c '[.job, .queues[0]]')" \
    '["nightly-1","onyx.edge.nightly-1.in.inc"]' "an explicit id is honoured"

# Both workflow forms, one plan
with_workflow '{"in": {"inc": "out"}}' > "$T/tree.json"
check "the tree form gives byte-identical output" \
    cmp -s <(onyx-plan "$T/tree.json") <(printf '%s\n' "$INC")
with_workflow '[["inc","out"],["in","inc"],["in","inc"]]' > "$T/edges.json"
check "edge order and duplicate edges make no difference" \
    cmp -s <(onyx-plan "$T/edges.json") <(printf '%s\n' "$INC")

# A fan-out and fan-in: in -> a, in -> b, a -> out, b -> out
jq '.workflow = [["in","a"],["in","b"],["a","out"],["b","out"]] | .id = "d"
    | .catalog = [.catalog[0], (.catalog[1] | ."onyx/name" = "a"),
    (.catalog[1] | ."onyx/name" = "b"), .catalog[2]]' "$EX/inc/job.json" \
    > "$T/fan.json"
run_rc onyx-plan "$T/fan.json"
is "$RC" 0 "fan-out and fan-in: exit 0"
is "$(printf '%s' "$OUT" | jq -c '[.tasks[] | [.name, .phase, .ingress, .egress]]')" \
    '[["in",0,["inc-in"],["onyx.edge.d.in.a","onyx.edge.d.in.b"]],["a",1,["onyx.edge.d.in.a"],["onyx.edge.d.a.out"]],["b",1,["onyx.edge.d.in.b"],["onyx.edge.d.b.out"]],["out",2,["onyx.edge.d.a.out","onyx.edge.d.b.out"],["inc-out"]]]' \
    "fan-out and fan-in: phases, ingress and egress"
is "$(printf '%s' "$OUT" | jq -c .queues)" \
    '["onyx.edge.d.a.out","onyx.edge.d.b.out","onyx.edge.d.in.a","onyx.edge.d.in.b"]' \
    "fan-out and fan-in: four queues, sorted"
is "$(printf '%s' "$OUT" | jq -c .workflow)" \
    '[["in","a"],["in","b"],["a","out"],["b","out"]]' \
    "fan-out and fan-in: the normalised workflow"
run_rc onyx-plan "$EX/dag/job.json"
is "$RC" 0 "examples/dag (tree form): exit 0"
is "$(printf '%s' "$OUT" | jq -c '[.tasks[] | .phase]')" '[0,1,1,2]' \
    "examples/dag: phases"

# The plan in a pipeline, and the man page's example
check "onyx-plan | jq works" bash -c \
    "onyx-plan '$EX/inc/job.json' | jq -e '.tasks | length == 3' > /dev/null"
check "the EXAMPLES of onyx-plan(1) run" bash -c "cd '$EX/..' && set -o pipefail &&
    onyx-plan examples/inc/job.json | jq . > /dev/null &&
    onyx-plan examples/dag/job.json |
        jq -c '.tasks[] | [.phase, .name, .ingress, .egress]' > /dev/null &&
    onyx-plan --check examples/dag/job.json && echo valid > /dev/null &&
    jq '.catalog[1].\"onyx/batch-size\" = 10' examples/inc/job.json |
        onyx-plan | jq -r .job > /dev/null"
check "onyx-plan(1) shows the plan of examples/inc as it is" \
    grep -q "{\"job\":\"$JOB\"," "$EX/../man/onyx-plan.1"
onyx-plan "$EX/inc/job.json" > /dev/full 2> "$T/err" && RC=0 || RC=$?
is "$RC:$(cat "$T/err")" "74:onyx-plan: stdout: No space left on device" \
    "a full stdout: exit 74, said"

# Refused documents: exit 65, the path and what is wrong
reject "top level not an object" '[.]' \
    "a job document must be a JSON object, not a JSON array"
reject "unknown top-level key" '.extra = 1' \
    'extra: unknown key; a job document holds "workflow", "catalog" and "id"'
reject "bad id" '.id = "a b"' \
    'id: must be 1 to 64 characters out of A-Z a-z 0-9 . _ -, not "a b"'
reject "workflow missing" 'del(.workflow)' 'workflow: missing (required)'
reject "workflow a string" '.workflow = "in"' \
    'workflow: must be an edge list (an array) or a tree (an object), not "in"'
reject "empty workflow" '.workflow = []' \
    'workflow: empty; a job needs at least an input and an output task'
reject "catalog missing" 'del(.catalog)' 'catalog: missing (required)'
reject "edge of three names" '.workflow[1] = ["inc","out","x"]' \
    'workflow[1]: an edge must be an array of two task names, not ["inc","out","x"]'
reject "edge name not a string" '.workflow[1][0] = 5' \
    'workflow[1][0]: must be a task name (a string), not 5'
reject "self-edge" '.workflow += [["inc","inc"]]' \
    "workflow[2]: edge from 'inc' to itself"
reject "tree node without children" '.workflow = {"in": {"inc": {}}}' \
    'workflow.in.inc: must name a child task (a string) or hold an object of children, not {}'
reject "entry not an object" '.catalog += [3]' \
    'catalog[3]: must be a JSON object (a task entry), not 3'
reject "name missing" 'del(.catalog[1]."onyx/name")' \
    'catalog[1]."onyx/name": missing (required)'
reject "duplicate name" '.catalog += [.catalog[1]]' \
    "catalog[3].\"onyx/name\": duplicate task name 'inc', first at catalog[1]"
reject "unknown type" '.catalog[0]."onyx/type" = "inptu"' \
    'catalog[0]."onyx/type": must be "input", "function" or "output", not "inptu"'
reject "batch size 0" '.catalog[2]."onyx/batch-size" = 0' \
    'catalog[2]."onyx/batch-size": must be a positive integer, not 0'
reject "batch size -1" '.catalog[2]."onyx/batch-size" = -1' \
    'catalog[2]."onyx/batch-size": must be a positive integer, not -1'
reject "batch size 1.5" '.catalog[2]."onyx/batch-size" = 1.5' \
    'catalog[2]."onyx/batch-size": must be a positive integer, not 1.5'
reject "batch size \"10\"" '.catalog[2]."onyx/batch-size" = "10"' \
    'catalog[2]."onyx/batch-size": must be a positive integer, not "10"'
reject "batch size missing" 'del(.catalog[1]."onyx/batch-size")' \
    'catalog[1]."onyx/batch-size": missing (required)'
reject "batch timeout negative" '.catalog[1]."onyx/batch-timeout" = -1' \
    'catalog[1]."onyx/batch-timeout": must be an integer >= 0, not -1'
reject "unknown consumption" '.catalog[1]."onyx/consumption" = "all"' \
    'catalog[1]."onyx/consumption": must be "concurrent" or "sequential", not "all"'
reject "max peers 0" '.catalog[1]."onyx/max-peers" = 0' \
    'catalog[1]."onyx/max-peers": must be a positive integer, not 0'
reject "params not an object" '.catalog[1]."onyx/params" = [1]' \
    'catalog[1]."onyx/params": must be a JSON object, not [1]'
reject "unknown medium" '.catalog[0]."onyx/medium" = "kafka"' \
    'catalog[0]."onyx/medium": must be "artemis", not "kafka"'
reject "medium on a function" '.catalog[1]."onyx/medium" = "artemis"' \
    'catalog[1]."onyx/medium": not allowed on a function task'
reject "queue name missing" 'del(.catalog[2]."artemis/queue-name")' \
    'catalog[2]."artemis/queue-name": missing (required for an output task)'
reject "fn missing" 'del(.catalog[1]."onyx/fn")' \
    'catalog[1]."onyx/fn": missing (required for a function task without "onyx/exec" or "onyx/window")'
reject "fn and exec" '.catalog[1]."onyx/exec" = ["cat"]' \
    'catalog[1]."onyx/exec": not allowed with "onyx/fn"; give one or the other'
reject "exec empty" 'del(.catalog[1]."onyx/fn") | .catalog[1]."onyx/exec" = []' \
    'catalog[1]."onyx/exec": must be a non-empty array of strings (the program and its arguments), not []'
reject "both group-by keys" '.catalog[1] += {"onyx/group-by-key": "k", "onyx/group-by-fn": "f"}' \
    'catalog[1]."onyx/group-by-fn": not allowed with "onyx/group-by-key"; give one or the other'
reject "a typo in an onyx/ key" '.catalog[1]."onyx/batchsize" = 5' \
    'catalog[1]."onyx/batchsize": unknown key; did you mean "onyx/batch-size"?'
reject "name not in the catalog" '.workflow += [["inc","nope"]]' \
    "workflow[2][1]: task 'nope' has no catalog entry"
reject "tree name not in the catalog" '.workflow = {"in": {"inc": "ou"}}' \
    "workflow.in.inc: task 'ou' has no catalog entry"
reject "entry not in the workflow" \
    '.catalog += [.catalog[1] | ."onyx/name" = "spare"]' \
    "catalog[3]: task 'spare' is not in the workflow"
reject "cycle" '.catalog += [.catalog[1] | ."onyx/name" = "inc2"]
    | .workflow += [["inc","inc2"],["inc2","inc"]]' \
    "workflow: cycle inc -> inc2 -> inc"
reject "input with a parent" '.catalog += [.catalog[0] | ."onyx/name" = "in2"]
    | .workflow += [["in2","in"]]' \
    "workflow[2]: input task 'in' cannot have a parent ('in2' -> 'in')"
reject "output with a child" '.catalog += [.catalog[2] | ."onyx/name" = "out2"]
    | .workflow += [["out","out2"]]' \
    "workflow[2]: output task 'out' cannot have a child ('out' -> 'out2')"
reject "function without a parent" '.catalog += [.catalog[1] | ."onyx/name" = "f"]
    | .workflow += [["f","out"]]' \
    "workflow[2][0]: function task 'f' has no parent"
reject "function without a child" '.catalog += [.catalog[1] | ."onyx/name" = "f"]
    | .workflow += [["in","f"]]' \
    "workflow[2][1]: function task 'f' has no child"
reject "input without a child" '.catalog += [.catalog[0] | ."onyx/name" = "in2"]
    | .workflow += [["inc","in2"]]' \
    "workflow[2][1]: input task 'in2' has no child"
reject "output without a parent" '.catalog += [.catalog[2] | ."onyx/name" = "out2"]
    | .workflow += [["out2","inc"]]' \
    "workflow[2][0]: output task 'out2' has no parent"

# Every problem, one line each
jq '.catalog[0]."onyx/batch-size" = 0 | .catalog[1]."onyx/type" = "fn"
    | .catalog[2]."onyx/medium" = "kafka"' "$EX/inc/job.json" > "$T/three.json"
run_rc onyx-plan "$T/three.json"
is "$RC:$(printf '%s\n' "$ERR" | wc -l)" "65:3" "three problems: exit 65, three lines"
run_rc onyx-plan --check "$T/three.json"
is "$RC:$OUT" "65:" "--check: exit 65 and nothing on stdout when invalid"
done_testing
