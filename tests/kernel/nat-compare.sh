#!/bin/bash
# The NAT comparison: replays NAT cases through a Linux router (network
# namespaces this script creates and removes, tests/kernel/natns.sh) loaded
# with each case's nftables rules, and through `ctrack read --rules
# --write`, then compares the two connection tables (translated reply
# tuples included) and every packet the kernel let out with what ctrack
# wrote, byte for byte. See docs/kernel-compare.md, "NAT".
#
# Usage: nat-compare.sh [options] CTRACK CT_INJECT NAME=CAPTURE ...
#
#   --known FILE     allow-list (default: nat-known-differences beside this
#                    script); differences listed there do not fail
#   --work DIR       where to keep the per-case files (default: a temporary
#                    folder, removed at exit)
#   --print-diffs    print every difference in allow-list format and exit
#                    0 (1 on a set-up failure)
#   --kernel-only    replay through the kernel only, keep its files, run
#                    no ctrack (for looking at a new case)
#
# Each CAPTURE has its rules beside it (CAPTURE without .pcap, plus .nft).
# Per case NAME the work folder keeps: NAME.sent.pcap (the frames as
# sent), NAME.kernel (conntrack -L), NAME.counters (packets per ct state),
# NAME.kernel.pcap (what the kernel let out: nflog, raw IP after NAT),
# NAME.wire.pcap (what reached the sink, after the kernel's
# fragmentation), NAME.ctrack, NAME.ctrack.err, NAME.ctrack.pcap (ctrack's
# --write), NAME.portmap (random-ports cases) and NAME.diff.
#
# Exit status: 0 agreement (up to known differences), 1 a new difference
# or an error, 77 the comparison cannot run here (the reason is printed).
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/netns.sh"
. "$here/natns.sh"

known="$here/nat-known-differences"
work=""
print_diffs=0
kernel_only=0
while [ $# -gt 0 ]; do
    case $1 in
        --known) known=$2; shift 2 ;;
        --work) work=$2; shift 2 ;;
        --print-diffs) print_diffs=1; shift ;;
        --kernel-only) kernel_only=1; shift ;;
        *) break ;;
    esac
done
if [ $# -lt 3 ]; then
    sed -n '9,19p' "$0" >&2
    exit 2
fi
ctrack=$1 inject=$2
shift 2
natpkt=(python3 "$here/natpkt.py")

if ! why=$(knat_check); then
    echo "kernel-nat: skipped: $why"
    exit 77
fi
if ! command -v python3 >/dev/null 2>&1; then
    echo "kernel-nat: skipped: 'python3' not found: install the Debian package 'python3'"
    exit 77
fi

prefix="ctn$$"
own_work=0
if [ -z "$work" ]; then
    work=$(mktemp -d)
    own_work=1
fi
mkdir -p "$work"
pids=()
cleanup() {
    local pid
    for pid in "${pids[@]}"; do
        kill "$pid" 2>/dev/null
    done
    kns_teardown "$prefix"
    [ "$own_work" = 1 ] && rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' HUP INT PIPE TERM

if ! knat_setup "$prefix"; then
    echo "kernel-nat: namespace set-up failed"
    exit 1
fi
ct() { ip netns exec "$prefix-ct" "$@"; }

# The REDIRECT cases send UDP to port 9999 of the router: a socket takes
# it there and never answers, so the router's own stack adds no packet.
# `ip netns exec` runs python in its own process, so $! is python's pid.
ip netns exec "$prefix-ct" python3 -c '
import socket, time
s4 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s4.bind(("0.0.0.0", 9999))
s6 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
s6.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1); s6.bind(("::", 9999))
time.sleep(3600)' >/dev/null 2>&1 &
pids+=($!)

# Starts tcpdump in namespace $1 on interface $2, writing $3; waits until it
# listens. Prints its pid.
start_capture() {
    local ns=$1 dev=$2 file=$3 i
    ip netns exec "$ns" tcpdump -n -U -s 0 -i "$dev" -w "$file" >/dev/null 2>"$file.log" &
    local pid=$!
    for i in $(seq 1 300); do
        grep -q 'listening on' "$file.log" 2>/dev/null && break
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.01
    done
    echo "$pid"
}

# The logging table's packet count.
logged() {
    ct nft list counter inet ctklog logged | awk '$1 == "packets" { print $2 }'
}

# The ctrack options that name the router's addresses.
nat_addrs=(--masquerade-addr "$KNAT_OUT4" --masquerade-addr "$KNAT_OUT6"
           --redirect-addr "$KNAT_IN4" --redirect-addr "$KNAT_IN6")

failed=0
total_seen=0
: >"$work/all.diff"
for arg in "$@"; do
    name=${arg%%=*} cap=${arg#*=}
    out="$work/$name"
    rules=${cap%.*}.nft
    mkdir -p "$(dirname "$out")"
    if [ ! -f "$rules" ]; then
        echo "kernel-nat: $name: no rules file $rules"
        failed=1
        continue
    fi
    ct conntrack -F >/dev/null 2>&1
    ct nft reset counters table inet ctk >/dev/null
    ct nft reset counters table inet ctklog >/dev/null
    if ! ct nft -f "$rules" 2>"$out.nft.log"; then
        echo "kernel-nat: $name: nft cannot load $rules:"
        cat "$out.nft.log"
        failed=1
        continue
    fi
    kpid=$(start_capture "$prefix-ct" "nflog:$KNAT_NFLOG_GROUP" "$out.kernel.pcap")
    wpid=$(start_capture "$prefix-sink" v3 "$out.wire.pcap")
    "$inject" --netns "$prefix-inj" --max-gap 1 v0 "$cap" "$out.sent.pcap" 2>"$out.inject.log"
    inject_rc=$?
    # Wait until tcpdump has written every packet the log rules saw.
    want=$(logged)
    for i in $(seq 1 300); do
        have=$("${natpkt[@]}" count "$out.kernel.pcap" 2>/dev/null || echo 0)
        [ "$have" -ge "$want" ] && break
        sleep 0.01
    done
    ct conntrack -L -o extended >"$out.kernel" 2>/dev/null
    ct nft reset counters table inet ctk >"$out.counters"
    sleep 0.1
    kill -INT "$kpid" "$wpid" 2>/dev/null
    wait "$kpid" "$wpid" 2>/dev/null
    ct nft list tables | while read -r _ family table; do
        case "$family $table" in
            "inet ctk" | "inet ctklog") ;;
            *) ct nft delete table "$family" "$table" ;;
        esac
    done
    if [ "$inject_rc" != 0 ]; then
        echo "kernel-nat: $name: replay failed:"
        cat "$out.inject.log"
        failed=1
        continue
    fi
    seen=$(awk '/counter seen/ { s = 1 } s && $1 == "packets" { print $2; exit }' "$out.counters")
    total_seen=$((total_seen + ${seen:-0}))
    : >"$out.diff"
    if [ "$have" != "$want" ]; then
        echo "$name capture-incomplete logged=$want captured=$have" >>"$out.diff"
    fi
    if [ "$kernel_only" = 1 ]; then
        cat "$out.diff" >>"$work/all.diff"
        continue
    fi
    "$ctrack" read --max-connections 65536 --rules "$rules" --write "$out.ctrack.pcap" \
        "${nat_addrs[@]}" "$out.sent.pcap" >"$out.ctrack" 2>"$out.ctrack.err"
    echo "exit=$?" >>"$out.ctrack.err"
    table=$out.kernel map_opt=()
    if grep -q '^# kernel-compare: .*random-ports' "$rules"; then
        "${natpkt[@]}" portmap "$name" "$out.kernel" "$out.ctrack" "$out.portmap" \
            >"$out.kernel.mapped" 2>>"$out.diff"
        table=$out.kernel.mapped map_opt=(--map "$out.portmap")
    fi
    awk -v name="$name" -f "$here/compare.awk" "$table" "$out.ctrack" \
        "$out.counters" "$out.inject.log" "$out.ctrack.err" | sort >>"$out.diff"
    # A case marked "wire" (fragments) is compared with what reached the
    # sink: nflog sees the reassembled datagram, which the kernel
    # fragments again only after the last hook.
    kernel_pcap=$out.kernel.pcap wire_opt=()
    if grep -q '^# kernel-compare: .*wire' "$rules"; then
        kernel_pcap=$out.wire.pcap wire_opt=(--wire)
    fi
    if [ -f "$out.ctrack.pcap" ]; then
        "${natpkt[@]}" packets "$name" "${map_opt[@]}" "${wire_opt[@]}" \
            --local "$KNAT_IN4" --local "$KNAT_IN6" \
            "$kernel_pcap" "$out.ctrack.pcap" >>"$out.diff" 2>&1
    else
        echo "$name packets ctrack-wrote-none" >>"$out.diff"
    fi
    cat "$out.diff" >>"$work/all.diff"
done
if [ "$total_seen" = 0 ]; then
    echo "kernel-nat: the kernel saw none of the packets sent: set-up broken"
    failed=1
fi

if [ "$print_diffs" = 1 ] || [ "$kernel_only" = 1 ]; then
    cat "$work/all.diff"
    exit $failed
fi

# Known differences, and cases pending as in compare.sh.
grep -v '^[[:space:]]*\(#\|$\)' "$known" 2>/dev/null | tr -s ' \t' '  ' | sed 's/ $//' \
    >"$work/known.all"
grep ' pending: ' "$work/known.all" >"$work/pending.lines"
grep -v ' pending: ' "$work/known.all" >"$work/known.lines"
cut -d' ' -f1 "$work/pending.lines" | sed 's/$/ /' >"$work/pending.names"
grep -Fv -f "$work/pending.names" "$work/all.diff" >"$work/checked.diff"
grep -F -f "$work/pending.names" "$work/all.diff" >"$work/pending.diff"
grep -Fxv -f "$work/known.lines" "$work/checked.diff" >"$work/new.diff"
n_known=$(grep -Fx -f "$work/known.lines" "$work/checked.diff" | wc -l)
n_new=$(wc -l <"$work/new.diff")
n_pending=$(wc -l <"$work/pending.diff")
echo "kernel-nat: $# cases replayed; $n_known known differences, $n_new new," \
    "$n_pending in pending cases"
# A known difference that no longer occurs is reported, not failed: the
# list should then be trimmed.
ran=$(for arg in "$@"; do echo "${arg%%=*}"; done)
while IFS= read -r line; do
    if printf '%s\n' "$ran" | grep -Fxq "${line%% *}" && ! grep -Fxq "$line" "$work/all.diff"; then
        echo "kernel-nat: note: known difference no longer seen (remove it from $known): $line"
    fi
done <"$work/known.lines"
while IFS= read -r line; do
    case_name=${line%% *}
    if grep -q "^$case_name " "$work/all.diff"; then
        echo "kernel-nat: pending: $line"
    else
        echo "kernel-nat: note: pending case now agrees (remove it from $known): $case_name"
    fi
done <"$work/pending.lines"
if [ "$n_new" -gt 0 ]; then
    echo "kernel-nat: NEW DIFFERENCES between the kernel and ctrack:"
    cat "$work/new.diff"
    for name in $(cut -d' ' -f1 "$work/new.diff" | sort -u); do
        echo "---- $name: kernel (conntrack -L -o extended)"
        cat "$work/$name.kernel"
        echo "---- $name: ctrack read"
        cat "$work/$name.ctrack" "$work/$name.ctrack.err"
    done
    failed=1
fi
exit $failed
