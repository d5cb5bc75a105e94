#!/bin/bash
# Replays captures through the Linux kernel's nf_conntrack (in network
# namespaces this script creates and removes) and through `ctrack read`, and
# compares the two final connection tables. See docs/kernel-compare.md.
#
# Usage: compare.sh [options] CTRACK CT_INJECT [--max-gap S] NAME=CAPTURE ...
#
#   --known FILE     allow-list of known differences (default: known-differences
#                    beside this script); differences listed there do not fail
#   --work DIR       where to keep the per-capture files (default: a
#                    temporary folder, removed at exit)
#   --print-diffs    print every difference in allow-list format and exit 0
#   --no-events      do not compare ctrack's event stream (ctrack read
#                    --events) with the kernel's, event by event
#                    (replay-all.sh); the kernel's is recorded either way
#   --max-gap S      (among the captures) longest pause kept between two
#                    packets, for the captures after it (default 1 s)
#
# Exit status: 0 agreement (up to known differences), 1 a new difference or
# an error, 77 the kernel comparison cannot run here (the reason is printed).
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/netns.sh"

known="$here/known-differences"
export KCMP_EVENTS=1
work=""
print_diffs=0
while [ $# -gt 0 ]; do
    case $1 in
        --known) known=$2; shift 2 ;;
        --work) work=$2; shift 2 ;;
        --print-diffs) print_diffs=1; shift ;;
        --no-events) KCMP_EVENTS=0; shift ;;
        *) break ;;
    esac
done
if [ $# -lt 3 ]; then
    sed -n '5,19p' "$0" >&2
    exit 2
fi
ctrack=$1 inject=$2
shift 2

if ! why=$(kns_check); then
    echo "kernel-compare: skipped: $why"
    exit 77
fi

prefix="ctk$$"
own_work=0
if [ -z "$work" ]; then
    work=$(mktemp -d)
    own_work=1
fi
mkdir -p "$work"
cleanup() {
    kns_teardown "$prefix"
    [ "$own_work" = 1 ] && rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' HUP INT PIPE TERM

if ! kns_setup "$prefix" || ! kns_rules "$prefix"; then
    echo "kernel-compare: namespace set-up failed"
    exit 1
fi

mkdir -p "$work/out"
ip netns exec "$prefix-ct" bash "$here/replay-all.sh" "$prefix" "$work/out" "$ctrack" "$inject" "$@"
failed=$?
cp "$work/out/all.diff" "$work/all.diff" 2>/dev/null || : >"$work/all.diff"

if [ "$print_diffs" = 1 ]; then
    cat "$work/all.diff"
    exit $failed
fi

# Split the differences into known and new. A line "CAPTURE pending: WHY"
# tolerates every difference of that capture: a case whose kernel side is in
# place while ctrack's side is still being built.
grep -v '^[[:space:]]*\(#\|$\)' "$known" 2>/dev/null | tr -s ' \t' '  ' | sed 's/ $//' \
    >"$work/known.all"
grep ' pending: ' "$work/known.all" >"$work/pending.lines"
grep -v ' pending: ' "$work/known.all" >"$work/known.lines"
cut -d' ' -f1 "$work/pending.lines" | sed 's/$/ /' >"$work/pending.names"
grep -Fv -f "$work/pending.names" "$work/all.diff" >"$work/checked.diff"
grep -F -f "$work/pending.names" "$work/all.diff" >"$work/pending.diff"
grep -Fxv -f "$work/known.lines" "$work/checked.diff" >"$work/new.diff"
grep -Fx -f "$work/known.lines" "$work/checked.diff" >"$work/seen-known.diff"
n_cap=0
for arg in "$@"; do case $arg in *=*) n_cap=$((n_cap + 1)) ;; esac; done
n_known=$(wc -l <"$work/seen-known.diff")
n_new=$(wc -l <"$work/new.diff")
n_pending=$(wc -l <"$work/pending.diff")
echo "kernel-compare: $n_cap captures replayed; $n_known known differences, $n_new new," \
    "$n_pending in pending cases"

# Known differences that no longer occur are reported, not failed: the
# list should then be trimmed.
ran=$(for arg in "$@"; do case $arg in *=*) echo "${arg%%=*}" ;; esac; done)
while IFS= read -r line; do
    case_name=${line%% *}
    if printf '%s\n' "$ran" | grep -Fxq "$case_name" &&
       ! grep -Fxq "$line" "$work/all.diff"; then
        echo "kernel-compare: note: known difference no longer seen (remove it from $known): $line"
    fi
done <"$work/known.lines"
while IFS= read -r line; do
    case_name=${line%% *}
    if printf '%s\n' "$ran" | grep -Fxq "$case_name"; then
        if grep -q "^$case_name " "$work/all.diff"; then
            echo "kernel-compare: pending: $line"
        else
            echo "kernel-compare: note: pending case now agrees (remove it from $known): $case_name"
        fi
    fi
done <"$work/pending.lines"

if [ "$n_new" -gt 0 ]; then
    echo "kernel-compare: NEW DIFFERENCES between the kernel and ctrack:"
    cat "$work/new.diff"
    for name in $(cut -d' ' -f1 "$work/new.diff" | sort -u); do
        echo "---- $name: kernel (conntrack -L -o extended), then its counters per ct state"
        cat "$work/out/$name.kernel"
        grep -E 'counter|packets' "$work/out/$name.counters"
        echo "---- $name: ctrack read"
        cat "$work/out/$name.ctrack" "$work/out/$name.ctrack.err"
        if grep -q "^$name event" "$work/new.diff"; then
            echo "---- $name: the kernel's events (ct_events), then ctrack's (read --events)"
            cat "$work/out/$name.kernel-events" "$work/out/$name.ctrack-events"
        fi
    done
    failed=1
fi
exit $failed
