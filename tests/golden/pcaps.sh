#!/bin/bash
# Golden test over tests/pcap/: one behaviour per capture.
#
# Usage: bash pcaps.sh CTRACK SRCDIR BUILDDIR   (run by ctest)
#
# Convention (tests/pcap/README.md): for a capture NAME.pcap (or NAME.pcapng),
#   NAME.expected         is the stdout of `ctrack read --trace -q NAME.pcap`;
#   NAME.OPTION.expected  is the stdout of `ctrack read --trace -q --OPTION NAME.pcap`
#                         (OPTION: a long option without a value, e.g. no-checksum).
# Every expected file is written and checked by hand; CTRACK_UPDATE_GOLDEN=1
# rewrites them from the current output, to be reviewed with git diff.
# Captures without any expected file are listed but not failed (they may belong
# to a test that reads them another way).
#
# The captures not named tcp_* are written by BUILDDIR/tools/gen_sample
# --test-captures; this test also checks that they are reproduced byte for byte.
. "$(dirname "${BASH_SOURCE[0]}")/lib.bash"
dir=$src/tests/pcap
checked=0

# check CAPTURE EXPECTED [OPTION]
check() {
    local cap=$1 want=$2 opt=${3:-}
    local args=(read --trace -q)
    [ -n "$opt" ] && args+=("--$opt")
    (cd "$dir" && "$ctrack" "${args[@]}" "$(basename "$cap")") >"$tmp/out" 2>"$tmp/err"
    local rc=$?
    checked=$((checked + 1))
    if [ "$rc" -ne 0 ]; then
        fail "$(basename "$cap") ${opt:+--$opt }: exit status $rc: $(head -1 "$tmp/err")"
        return
    fi
    if [ "$update" = 1 ]; then
        cp "$tmp/out" "$want"
        echo "updated $(basename "$want")" >&2
    elif ! diff -u "$want" "$tmp/out" >"$tmp/diff"; then
        fail "$(basename "$cap") ${opt:+--$opt }differs from $(basename "$want"):"
        cat "$tmp/diff" >&2
    fi
}

shopt -s nullglob
for cap in "$dir"/*.pcap "$dir"/*.pcapng; do
    base=${cap%.*}
    found=0
    if [ -f "$base.expected" ]; then
        check "$cap" "$base.expected"
        found=1
    fi
    for want in "$base".*.expected; do
        opt=${want#"$base".}
        opt=${opt%.expected}
        check "$cap" "$want" "$opt"
        found=1
    done
    [ "$found" = 1 ] || echo "note: $(basename "$cap") has no expected output here" >&2
done

# The generated captures are reproducible.
gen=$build/tools/gen_sample
if built "$gen"; then
    mkdir "$tmp/gen"
    if "$gen" --test-captures "$tmp/gen"; then
        for f in "$tmp/gen"/*; do
            cmp -s "$f" "$dir/$(basename "$f")" ||
                fail "gen_sample --test-captures: $(basename "$f") differs from tests/pcap/"
        done
    else
        fail "gen_sample --test-captures failed"
    fi
fi

finish "pcaps: $checked runs matched"
