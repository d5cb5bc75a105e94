#!/bin/bash
# Golden test: `ctrack read` of samples/sample.pcap against committed,
# hand-checked expectations (docs/cli.md explains each expected connection).
#
# Usage: bash sample.sh CTRACK SRCDIR BUILDDIR   (run by ctest)
#
# Checks:
#   - the table in conntrack and json formats, the --trace output and the
#     summary on stderr equal tests/golden/sample.*.expected;
#   - --burst 1 and --burst 64 give byte-identical output (bursts only group
#     packets with equal timestamps, so results must not depend on them);
#   - reading the capture from standard input gives the same table;
#   - -q prints no summary;
#   - a timestamp going backwards is processed at the previous packet's time;
#   - BUILDDIR/tools/gen_sample regenerates samples/sample.pcap byte for byte.
#
# To refresh the expectations after an intended change, run with
# CTRACK_UPDATE_GOLDEN=1 (from ctest: CTRACK_UPDATE_GOLDEN=1 ctest -R golden_sample),
# then review every changed line with `git diff tests/golden/` before committing:
# the expected files are a specification, not a recording.
. "$(dirname "${BASH_SOURCE[0]}")/lib.bash"

# Runs ctrack from the source directory so that the file name in the summary
# is the relative path samples/sample.pcap. Output goes to $tmp/NAME.out/.err.
run() {
    local name=$1
    shift
    (cd "$src" && "$ctrack" "$@") >"$tmp/$name.out" 2>"$tmp/$name.err"
    local rc=$?
    if [ "$rc" -ne 0 ]; then
        fail "$name: ctrack $* exited with $rc"
        sed 's/^/    /' "$tmp/$name.err" >&2
    fi
}

# Compares an output file with its expectation, or refreshes it.
expect() {
    local got=$1 want=$2
    if [ "$update" = 1 ]; then
        cp "$got" "$golden/$want"
        echo "updated $want" >&2
        return
    fi
    if ! diff -u "$golden/$want" "$got" >"$tmp/diff"; then
        fail "output differs from $want:"
        cat "$tmp/diff" >&2
    fi
}

same() {
    local a=$1 b=$2 what=$3
    if ! cmp -s "$a" "$b"; then
        fail "$what"
        diff -u "$a" "$b" | head -40 >&2
    fi
}

run conntrack read samples/sample.pcap
expect "$tmp/conntrack.out" sample.conntrack.expected
expect "$tmp/conntrack.err" sample.summary.expected

run json read --format json samples/sample.pcap
expect "$tmp/json.out" sample.json.expected

run trace read --trace -q samples/sample.pcap
expect "$tmp/trace.out" sample.trace.expected
[ -s "$tmp/trace.err" ] && fail "-q still printed on stderr: $(head -1 "$tmp/trace.err")"

# Burst size must not change anything: table, trace or summary.
for b in 1 64; do
    run "c$b" read --burst "$b" samples/sample.pcap
    same "$tmp/conntrack.out" "$tmp/c$b.out" "--burst $b changed the conntrack table"
    same "$tmp/conntrack.err" "$tmp/c$b.err" "--burst $b changed the summary"
    run "j$b" read --burst "$b" --format json samples/sample.pcap
    same "$tmp/json.out" "$tmp/j$b.out" "--burst $b changed the json table"
    run "t$b" read --burst="$b" --trace -q samples/sample.pcap
    same "$tmp/trace.out" "$tmp/t$b.out" "--burst $b changed the trace"
done

# Standard input.
(cd "$src" && "$ctrack" read - <samples/sample.pcap) >"$tmp/stdin.out" 2>"$tmp/stdin.err"
rc=$?
[ "$rc" -eq 0 ] || fail "ctrack read - exited with $rc"
same "$tmp/conntrack.out" "$tmp/stdin.out" "reading standard input changed the table"
grep -q '^standard input: 27 packets' "$tmp/stdin.err" ||
    fail "summary for standard input: $(head -1 "$tmp/stdin.err")"

# A packet stamped earlier than the one before it is processed at the earlier
# packet's time (the library's clock must not go backwards), and the summary
# says so. tests/pcap/link_ipv4.pcap has two packets at t=0 and t=0.010;
# its second record's seconds field (offset 78) is set one second back.
cp "$src/tests/pcap/link_ipv4.pcap" "$tmp/back.pcap"
printf '\x7f\x00\x92\x65' | dd of="$tmp/back.pcap" bs=1 seek=78 conv=notrunc status=none
"$ctrack" read --trace "$tmp/back.pcap" >"$tmp/back.out" 2>"$tmp/back.err"
rc=$?
[ "$rc" -eq 0 ] || fail "backwards timestamp: exit status $rc"
grep -q '^pkt=2 t=1704067200\.000000000 proto=udp .* dir=reply ct=established' "$tmp/back.out" ||
    fail "backwards timestamp: packet 2 not processed at packet 1's time: $(grep '^pkt=2' "$tmp/back.out")"
grep -q '^note: 1 packets were stamped earlier' "$tmp/back.err" ||
    fail "backwards timestamp: no note in the summary"

# The sample is generated, deterministically.
gen=$build/tools/gen_sample
if built "$gen"; then
    if "$gen" "$tmp/regen.pcap"; then
        cmp -s "$tmp/regen.pcap" "$src/samples/sample.pcap" ||
            fail "gen_sample output differs from samples/sample.pcap (regenerate and commit it)"
    else
        fail "gen_sample failed"
    fi
fi

finish "sample: all checks passed"
