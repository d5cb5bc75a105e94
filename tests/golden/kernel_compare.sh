#!/bin/bash
# Golden test: ctrack against the Linux kernel itself.
#
# Replays captures through the kernel's own nf_conntrack, in network
# namespaces this test creates and removes, and through `ctrack read`, then
# compares the two final connection tables (and the number of packets per
# ct state). Differences listed in tests/kernel/known-differences, each with
# its analysis, are tolerated; any other difference fails the test.
# docs/kernel-compare.md explains the set-up and the findings.
#
# Captures: the focused cases written by tools/kernel_cases, the bundled
# sample, the behaviour captures under tests/pcap/ and, when it is present,
# the third-party corpus in ../shared/corpus.
#
# Usage (as ctest runs it): kernel_compare.sh CTRACK SOURCE-DIR BUILD-DIR
# Exit 77 (skipped), with the reason, where it cannot run: not root, no
# network namespaces, or the Debian packages conntrack / nftables missing.
# The per-capture files are kept in BUILD-DIR/kernel-compare for inspection.
set -u
ctrack=$1 src=$2 build=$3
inject="$build/tools/ct_inject"
cases="$build/tools/kernel_cases"

for tool in "$inject" "$cases"; do
    if [ ! -x "$tool" ]; then
        echo "kernel-compare: $tool is missing (build the tools first)"
        exit 1
    fi
done
if ! "$ctrack" read --help >/dev/null 2>&1; then
    echo "kernel-compare: skipped: '$ctrack read' is not available"
    exit 77
fi

work="$build/kernel-compare"
rm -rf "$work"
mkdir -p "$work/cases"
"$cases" "$work/cases" >"$work/cases.list" || { echo "kernel-compare: kernel_cases failed"; exit 1; }

args=(--max-gap 3)
while read -r f; do
    args+=("case/${f%.*}=$work/cases/$f")
done <"$work/cases.list"
args+=(--max-gap 1)
if [ -f "$src/samples/sample.pcap" ]; then
    args+=("sample=$src/samples/sample.pcap")
fi
for f in "$src"/tests/pcap/*.pcap "$src"/tests/pcap/*.pcapng; do
    [ -f "$f" ] || continue
    n=${f##*/}
    args+=("pcap/${n%.*}=$f")
done
# The corpus has captures spanning minutes: its pauses are shortened more
# (both sides see the same shortened timeline).
corpus="$src/../shared/corpus"
if [ -d "$corpus" ]; then
    args+=(--max-gap 0.05)
    while read -r f; do
        n=${f#"$corpus"/}
        args+=("corpus/${n%.*}=$f")
    done < <(find "$corpus" -name '*.pcap' -o -name '*.pcapng' | sort)
fi

exec bash "$src/tests/kernel/compare.sh" --work "$work" ${KERNEL_COMPARE_OPTS:-} "$ctrack" "$inject" "${args[@]}"
