#!/bin/bash
# onyx-queue: 100,000 distinct segments sent and received, identical and in order.
. "$(dirname "$0")/lib.sh"
plan 9
q=$(qname rt)

gen 100000 > "$T/in"
run_rc onyx-queue send "$q" --done < "$T/in"
is "$RC" 0 "send of 100,000 segments with --done exits 0"
is "$(messages "$q")" 100001 "the queue holds 100,000 segments and the sentinel"
run_rc onyx-queue recv "$q" --until-done
is "$RC" 0 "recv --until-done exits 0"
cp "$T/out" "$T/got"
check "the output is the input byte for byte, in order" cmp -s "$T/in" "$T/got"
is "$(wc -l < "$T/got")" 100000 "100,000 lines"
is "$(messages "$q")" 0 "the sentinel was consumed: the queue is empty"

# The byte-for-byte promise holds for odd but valid JSON too.
printf '%s\n' '{"u":"caf\u00e9 \u2603","s":"tab\there"}' '{ "spaced" : [1, 2 ,3] }' \
    '{"nested":{"a":{"b":[{}]}},"n":-1.5e3}' '{}' > "$T/odd"
onyx-queue send "$q" --done < "$T/odd"
onyx-queue recv "$q" --until-done > "$T/odd.out"
check "unusual spacing, escapes and nesting survive unchanged" cmp -s "$T/odd" "$T/odd.out"

# A UTF-8 body larger than one AMQP frame.
python3 -c 'import json; print(json.dumps({"big": "é" * 300000}, ensure_ascii=False))' > "$T/big"
onyx-queue send "$q" --done < "$T/big"
onyx-queue recv "$q" --until-done > "$T/big.out"
check "a 600 KB segment survives" cmp -s "$T/big" "$T/big.out"
run_rc onyx-queue recv "$q" -w 500
is "$RC" 0 "recv on an empty queue with --timeout exits 0 with nothing"
done_testing
