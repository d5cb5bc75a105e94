#!/bin/bash
# Runs inside the conntrack namespace (compare.sh starts it with
# `ip netns exec PREFIX-ct`): for each capture, empties the kernel's table,
# replays the capture (ct_inject enters PREFIX-inj by itself), dumps the
# kernel's table and per-state counters, runs `ctrack read` on the frames as
# sent, and writes the differences to WORK/NAME.diff and WORK/all.diff.
#
# A capture CAP.pcapng with a rules file CAP.nft beside it is a rules case:
# the rules are loaded into the kernel (nft -f) for it and removed after it,
# each packet enters on the bridge its capture interface names (kns_iface,
# ct_inject --by-ifname), and ctrack reads the same rules (--rules). ctrack
# also reads the kernel's listing of those rules (`nft list table`), which
# must give it the same table: "NAME listing ..." lines say where not.
#
# The kernel's event stream is recorded for each capture with ct_events
# (beside CT_INJECT): the replay's events, a "# mark" line, then the
# DESTROY events of the flush that ends the case, with each connection's
# final counters, in WORK/NAME.kernel-events. A recorder that fails (lost
# events: ENOBUFS) is a difference, "NAME events recorder-failed".
#
# With KCMP_EVENTS=1 in the environment (compare.sh sets it unless given
# --no-events), ctrack's stream (`ctrack read --events`, in
# WORK/NAME.ctrack-events) is compared with the replay's part of the
# kernel's, event by event, after events.awk
# has normalised both; each difference is a line "NAME event-kernel-only
# EVENT" or "NAME event-ctrack-only EVENT" (diff's view: an event in a
# different place is one of each), and a ctrack that fails is "NAME events
# ctrack-failed exit=N".
#
# Usage: replay-all.sh PREFIX WORK CTRACK CT_INJECT [--max-gap S] NAME=CAPTURE ...
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/netns.sh"
prefix=$1 work=$2 ctrack=$3 inject=$4
shift 4
events=$(dirname "$inject")/ct_events

# Waits up to 5 s for the file $1 to appear while the process $2 runs.
# Returns 0 when it appeared, 1 when not.
wait_file() {
    local i
    for i in $(seq 1 500); do
        [ -e "$1" ] && return 0
        kill -0 "$2" 2>/dev/null || return 1
        sleep 0.01
    done
    return 1
}

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
    conntrack -F expect >/dev/null 2>&1
    nft reset counters table inet ctk >/dev/null || { echo "kernel-compare: nft failed"; exit 1; }
    rules=${cap%.*}.nft
    sent=$out.sent.pcap
    inject_opts=() read_opts=()
    if [ -f "$rules" ]; then
        sent=$out.sent.pcapng
        inject_opts=(--by-ifname)
        read_opts=(--rules "$rules")
        ok=1
        for ifname in $("$inject" --list-ifnames "$cap"); do
            kns_iface "$prefix" "$ifname" || ok=0
        done
        if [ "$ok" = 0 ]; then
            echo "kernel-compare: $name: cannot set up its interfaces"
            failed=1
            continue
        fi
        if ! nft -f "$rules" 2>"$out.nft.log"; then
            # A kernel without a helper or ct timeout support (modules
            # nf_conntrack_ftp, nf_conntrack_tftp, CONFIG_NF_CONNTRACK_TIMEOUT)
            # refuses the rules: the case cannot run here. A syntax error
            # in the rules file is the case's own fault and fails.
            if grep -q "Could not process rule" "$out.nft.log"; then
                echo "kernel-compare: $name: skipped: the kernel refuses its rules:" \
                    "$(grep -m1 "Could not process rule" "$out.nft.log")"
                rm -f "$out.diff"
            else
                echo "kernel-compare: $name: nft cannot load $rules:"
                cat "$out.nft.log"
                failed=1
            fi
            continue
        fi
        # The rules as the kernel lists them (`nft list`), which is how an
        # operator often has them: ctrack must read that form too.
        nft list tables | while read -r _ family table; do
            [ "$family $table" = "inet ctk" ] || nft list table "$family" "$table"
        done >"$out.listed.nft"
    fi
    ev_pid="" ev_failed=0
    if [ -x "$events" ]; then
        rm -f "$out.events.ready"
        "$events" --ready "$out.events.ready" >"$out.kernel-events" 2>"$out.events.log" &
        ev_pid=$!
        wait_file "$out.events.ready" "$ev_pid" || ev_failed=1
    fi
    "$inject" --netns "$prefix-inj" --max-gap "$max_gap" "${inject_opts[@]}" v0 "$cap" "$sent" \
        2>"$out.inject.log"
    inject_rc=$?
    conntrack -L -o extended >"$out.kernel" 2>/dev/null
    nft reset counters table inet ctk >"$out.counters"
    if [ -n "$ev_pid" ]; then
        # The mark ends the replay's events; the flush's DESTROY events
        # follow it, then the recorder stops.
        rm -f "$out.events.ready"
        kill -USR1 "$ev_pid" 2>/dev/null
        wait_file "$out.events.ready" "$ev_pid" || ev_failed=1
        conntrack -F >/dev/null 2>&1
        kill -TERM "$ev_pid" 2>/dev/null
        wait "$ev_pid" || ev_failed=1
        rm -f "$out.events.ready"
    fi
    if [ -f "$rules" ]; then
        # Remove the case's tables (with their helpers and timeout objects).
        nft list tables | while read -r _ family table; do
            [ "$family $table" = "inet ctk" ] || nft delete table "$family" "$table"
        done
    fi
    if [ "$inject_rc" != 0 ]; then
        echo "kernel-compare: $name: replay failed:"
        cat "$out.inject.log"
        failed=1
        continue
    fi
    "$ctrack" read --max-connections 65536 "${read_opts[@]}" "$sent" \
        >"$out.ctrack" 2>"$out.ctrack.err"
    echo "exit=$?" >>"$out.ctrack.err"
    awk -v name="$name" -f "$here/compare.awk" "$out.kernel" "$out.ctrack" \
        "$out.counters" "$out.inject.log" "$out.ctrack.err" | sort >"$out.diff"
    if [ "$ev_failed" = 1 ]; then
        echo "$name events recorder-failed" >>"$out.diff"
        sed "s|^|$name events: |" "$out.events.log" >&2
    elif [ -n "$ev_pid" ] && [ "${KCMP_EVENTS:-0}" = 1 ]; then
        "$ctrack" read --events --max-connections 65536 "${read_opts[@]}" "$sent" \
            >"$out.ctrack-events" 2>"$out.ctrack-events.err"
        rc=$?
        if [ "$rc" != 0 ]; then
            echo "$name events ctrack-failed exit=$rc" >>"$out.diff"
        else
            diff <(awk -f "$here/events.awk" "$out.kernel-events") \
                <(awk -f "$here/events.awk" "$out.ctrack-events") |
                sed -n "s|^< |$name event-kernel-only |p; s|^> |$name event-ctrack-only |p" \
                >>"$out.diff"
        fi
    fi
    if [ -f "$rules" ]; then
        # The kernel's listing of the rules must give ctrack the same table.
        "$ctrack" read --max-connections 65536 --rules "$out.listed.nft" "$sent" \
            >"$out.ctrack-listed" 2>"$out.ctrack-listed.err"
        rc=$?
        if [ "$rc" != 0 ]; then
            echo "$name listing ctrack-failed exit=$rc" >>"$out.diff"
        elif ! cmp -s "$out.ctrack" "$out.ctrack-listed"; then
            echo "$name listing table-differs" >>"$out.diff"
        fi
    fi
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
