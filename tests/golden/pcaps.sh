#!/bin/bash
# Golden test over tests/pcap/: one behaviour per capture.
#
# Usage: bash pcaps.sh CTRACK SRCDIR BUILDDIR   (run by ctest)
#
# Convention (tests/pcap/README.md): for a capture NAME.pcap (or NAME.pcapng),
#   NAME.expected         is the stdout of `ctrack read --trace -q NAME.pcap`
#                         (with `--rules NAME.nft` where that file exists);
#   NAME.OPTION.expected  is the stdout of `ctrack read --trace -q --OPTION NAME.pcap`
#                         (OPTION: a long option without a value, e.g. no-checksum).
# Every expected file is written and checked by hand; CTRACK_UPDATE_GOLDEN=1
# rewrites them from the current output, to be reviewed with git diff.
# Captures without any expected file are listed but not failed (they may belong
# to a test that reads them another way).
#
# The captures in tests/pcap/ are written by BUILDDIR/tools/gen_sample
# --test-captures, those in tests/pcap/cases/ by BUILDDIR/tools/kernel_cases
# (the focused cases the kernel comparison also replays through Linux); this
# test checks that both are reproduced byte for byte, and that every capture
# gives the same output with --burst 1 and --burst 64 as with the default.
. "$(dirname "${BASH_SOURCE[0]}")/lib.bash"
dir=$src/tests/pcap
checked=0

# check CAPTURE EXPECTED [OPTION]
check() {
    local cap=$1 want=$2 opt=${3:-}
    local args=(read --trace -q)
    [ -n "$opt" ] && args+=("--$opt")
    # A rules case (cases/NAME.pcapng with NAME.nft) is read with its rules.
    [ -f "${cap%.*}.nft" ] && args+=(--rules "$(basename "${cap%.*}").nft")
    (cd "$(dirname "$cap")" && "$ctrack" "${args[@]}" "$(basename "$cap")") >"$tmp/out" 2>"$tmp/err"
    local rc=$?
    # Results never depend on how packets are grouped into bursts.
    local b
    for b in 1 64; do
        (cd "$(dirname "$cap")" && "$ctrack" "${args[@]}" --burst "$b" "$(basename "$cap")") \
            >"$tmp/out.b" 2>/dev/null
        cmp -s "$tmp/out" "$tmp/out.b" ||
            fail "$(basename "$cap") ${opt:+--$opt }: --burst $b changes the output"
    done
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
for cap in "$dir"/*.pcap "$dir"/*.pcapng "$dir"/cases/*.pcap "$dir"/cases/*.pcapng; do
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

# The focused cases are reproducible.
cases=$build/tools/kernel_cases
if built "$cases"; then
    mkdir "$tmp/cases"
    if "$cases" "$tmp/cases" >/dev/null; then
        for f in "$tmp/cases"/*; do
            cmp -s "$f" "$dir/cases/$(basename "$f")" ||
                fail "kernel_cases: $(basename "$f") differs from tests/pcap/cases/"
        done
        [ "$(ls "$tmp/cases" | wc -l)" = "$(ls "$dir/cases" | grep -vc '\.expected$')" ] ||
            fail "kernel_cases writes a different set of captures than tests/pcap/cases/ holds"
    else
        fail "kernel_cases failed"
    fi
fi

finish "pcaps: $checked runs matched"
