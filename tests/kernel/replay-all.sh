#!/bin/bash
# Runs inside the conntrack namespace (compare.sh starts it with
# `ip netns exec PREFIX-ct`): for each capture, empties the kernel's table,
# replays the capture (ct_inject enters PREFIX-inj by itself), dumps the
# kernel's table and per-state counters, runs `ctrack read` on the frames as
# sent, and writes the differences to WORK/NAME.diff and WORK/all.diff.
#
# Usage: replay-all.sh PREFIX WORK CTRACK CT_INJECT [--max-gap S] NAME=CAPTURE ...
set -u
here=$(cd "$(dirname "$0")" && pwd)
prefix=$1 work=$2 ctrack=$3 inject=$4
shift 4

max_gap=1
total_seen=0
failed=0
: >"$work/all.diff"
while [ $# -gt 0 ]; do
    if [ "$1" = --max-gap ]; then
        max_gap=$2
        shift 2
        continue
    fi
    name=${1%%=*} cap=${1#*=}
    shift
    out="$work/$name"
    mkdir -p "$(dirname "$out")"
    conntrack -F >/dev/null 2>&1
    nft reset counters table inet ctk >/dev/null || { echo "kernel-compare: nft failed"; exit 1; }
    if ! "$inject" --netns "$prefix-inj" --max-gap "$max_gap" v0 "$cap" "$out.sent.pcap" \
            2>"$out.inject.log"; then
        echo "kernel-compare: $name: replay failed:"
        cat "$out.inject.log"
        failed=1
        continue
    fi
    conntrack -L -o extended >"$out.kernel" 2>/dev/null
    nft reset counters table inet ctk >"$out.counters"
    "$ctrack" read --max-connections 65536 "$out.sent.pcap" >"$out.ctrack" 2>"$out.ctrack.err"
    echo "exit=$?" >>"$out.ctrack.err"
    awk -v name="$name" -f "$here/compare.awk" "$out.kernel" "$out.ctrack" \
        "$out.counters" "$out.inject.log" "$out.ctrack.err" | sort >"$out.diff"
    cat "$out.diff" >>"$work/all.diff"
    seen=$(awk '/counter seen/ { s = 1 } s && $1 == "packets" { print $2; exit }' "$out.counters")
    total_seen=$((total_seen + ${seen:-0}))
done
# A canary for the set-up: the kernel must have seen some packets at all.
if [ "$total_seen" = 0 ]; then
    echo "kernel-compare: the kernel saw none of the packets sent: set-up broken"
    failed=1
fi
exit $failed
