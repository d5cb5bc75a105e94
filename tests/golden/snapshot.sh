#!/bin/bash
# Snapshots in the CLI (docs/snapshot.md):
#
#   - continuity: `ctrack read --save-state S part1` then
#     `ctrack read --load-state S part2` prints exactly the table that
#     `ctrack read whole` prints, for the sample and every classic pcap of
#     the corpus (../shared/corpus, when present), each split at several
#     packets (build/tools/pcap_split cuts them), except a cut inside a
#     fragmented datagram: the reassembler's fragments are not saved;
#   - `ctrack show S` prints the table the run that saved S printed, in the
#     conntrack and JSON formats;
#   - a snapshot that is missing, cut off, has a flipped bit or holds more
#     connections than --max-connections is refused with exit status 2 and
#     one line naming the file, and no table is printed;
#   - a failed --save-state leaves the previous snapshot as it was.
#
# Usage: bash snapshot.sh CTRACK SRCDIR BUILDDIR   (run by ctest)
. "$(dirname "${BASH_SOURCE[0]}")/lib.bash"
split=$build/tools/pcap_split
built "$split" || finish ""

# check_split CAPTURE FORMAT N: whole against part1 + part2 cut after packet N.
check_split() {
    local cap=$1 fmt=$2 k=$3
    "$split" "$cap" "$k" "$tmp/p1.pcap" "$tmp/p2.pcap" >/dev/null || { fail "$cap: split $k"; return; }
    rm -f "$tmp/S"
    "$ctrack" read --max-connections 65536 --format "$fmt" --save-state "$tmp/S" \
        "$tmp/p1.pcap" >"$tmp/part1" 2>"$tmp/err1"
    local rc1=$?
    # The reassembler's pending fragments are not in the snapshot
    # (docs/snapshot.md): a split inside a fragmented datagram loses it.
    if grep -q 'pending=[1-9]' "$tmp/err1"; then
        nfrag=$((nfrag + 1))
        return
    fi
    "$ctrack" read -q --max-connections 65536 --format "$fmt" --load-state "$tmp/S" \
        "$tmp/p2.pcap" >"$tmp/split" 2>"$tmp/err2"
    local rc2=$?
    # A capture damaged part-way exits 1 whole and in its second part alike.
    if [ "$rc1" -ne 0 ] || [ "$rc2" -ne "$whole_rc" ]; then
        fail "$cap split at $k ($fmt): exit status $rc1, $rc2 (whole: $whole_rc)"
        sed 's/^/    /' "$tmp/err1" "$tmp/err2" | head -5 >&2
        return
    fi
    cmp -s "$tmp/split" "$tmp/whole" || {
        fail "$cap split at $k ($fmt): table differs from the whole capture's"
        diff "$tmp/whole" "$tmp/split" | head -6 | sed 's/^/    /' >&2
    }
    # show prints what the first part's run printed.
    "$ctrack" show --max-connections 65536 --format "$fmt" "$tmp/S" >"$tmp/show" 2>"$tmp/err3"
    cmp -s "$tmp/show" "$tmp/part1" || fail "$cap split at $k ($fmt): show differs from the run"
}

# check_events CAPTURE N: the events of part1 then part2 (restored from the
# first part's snapshot) are the events of the whole capture.
check_events() {
    local cap=$1 k=$2
    "$split" "$cap" "$k" "$tmp/p1.pcap" "$tmp/p2.pcap" >/dev/null || { fail "$cap: split $k"; return; }
    rm -f "$tmp/S"
    "$ctrack" read --events --max-connections 65536 --save-state "$tmp/S" "$tmp/p1.pcap" \
        >"$tmp/ev1" 2>"$tmp/err1"
    grep -q 'pending=[1-9]' "$tmp/err1" && return
    "$ctrack" read -q --events --max-connections 65536 --load-state "$tmp/S" "$tmp/p2.pcap" \
        >"$tmp/ev2" 2>/dev/null
    cat "$tmp/ev1" "$tmp/ev2" | cmp -s - "$tmp/evwhole" || {
        fail "$cap split at $k (--events): the events differ from the whole capture's"
        cat "$tmp/ev1" "$tmp/ev2" | diff "$tmp/evwhole" - | head -6 | sed 's/^/    /' >&2
    }
    nev=$((nev + 1))
}

caps=("$src/samples/sample.pcap")
corpus=$src/../shared/corpus
if [ -d "$corpus" ]; then
    while IFS= read -r -d '' cap; do
        caps+=("$cap")
    done < <(find "$corpus" -type f \( -name '*.pcap' -o -name '*.cap' \) -print0 | sort -z)
fi

nsplit=0
nfrag=0
nev=0
for cap in "${caps[@]}"; do
    n=$("$split" "$cap" 0 /dev/null /dev/null 2>/dev/null)
    [ $? -eq 0 ] || continue # pcapng: not split here
    [ "$n" -ge 2 ] || continue
    for fmt in conntrack json; do
        "$ctrack" read -q --max-connections 65536 --format "$fmt" "$cap" >"$tmp/whole" 2>/dev/null
        whole_rc=$?
        for k in 1 $((n / 4)) $((n / 2)) $((n * 3 / 4)) $((n - 1)); do
            [ "$k" -ge 1 ] || continue
            check_split "$cap" "$fmt" "$k"
            nsplit=$((nsplit + 1))
        done
    done
    "$ctrack" read -q --events --max-connections 65536 "$cap" >"$tmp/evwhole" 2>/dev/null
    for k in 1 $((n / 2)) $((n - 1)); do
        check_events "$cap" "$k"
    done
done
[ $((nsplit - nfrag)) -ge 10 ] || fail "only $((nsplit - nfrag)) splits checked"

# ---- refusals ----------------------------------------------------------------
sample=$src/samples/sample.pcap
"$ctrack" read -q --save-state "$tmp/good" "$sample" >/dev/null || fail "save of the sample"
size=$(stat -c %s "$tmp/good")

# refused NAME WANT-IN-MESSAGE ARGS...: exit 2, one line naming the file, no table.
refused() {
    local name=$1 want=$2
    shift 2
    "$ctrack" "$@" >"$tmp/out" 2>"$tmp/err"
    local rc=$?
    [ "$rc" -eq 2 ] || fail "$name: exit status $rc, want 2"
    [ "$(wc -l <"$tmp/err")" -eq 1 ] || fail "$name: $(wc -l <"$tmp/err") lines on stderr"
    grep -q -- "$want" "$tmp/err" || fail "$name: message '$(cat "$tmp/err")' lacks '$want'"
    [ ! -s "$tmp/out" ] || fail "$name: a table was printed"
}

refused missing "$tmp/none: cannot open" read -q --load-state "$tmp/none" "$sample"
head -c $((size - 1)) "$tmp/good" >"$tmp/cut"
refused truncated "$tmp/cut: damaged snapshot" read -q --load-state "$tmp/cut" "$sample"
refused truncated-show "$tmp/cut: damaged snapshot" show "$tmp/cut"
for at in 0 9 30 100 $((size / 2)) $((size - 1)); do
    cp "$tmp/good" "$tmp/flip"
    byte=$(od -An -tu1 -j "$at" -N1 "$tmp/flip" | tr -d ' ')
    printf "$(printf '\\%03o' $((byte ^ 4)))" |
        dd of="$tmp/flip" bs=1 seek="$at" conv=notrunc status=none
    refused "flipped bit at $at" "$tmp/flip: " show "$tmp/flip"
done
refused smaller "holds 7 connections, the table takes 3" show --max-connections 3 "$tmp/good"

# A save that fails (the directory is gone) leaves nothing behind, and a
# save over a snapshot replaces it whole.
cp "$tmp/good" "$tmp/keep"
"$ctrack" read -q --save-state "$tmp/nodir/S" "$sample" >/dev/null 2>"$tmp/err"
[ $? -eq 1 ] || fail "save into a missing directory: want exit status 1"
"$ctrack" read -q --save-state "$tmp/keep" "$sample" >/dev/null || fail "save over a snapshot"
cmp -s "$tmp/keep" "$tmp/good" || fail "the same capture saved twice differs"
ls "$tmp" | grep -q '\.tmp\.' && fail "a temporary snapshot was left behind"

finish "snapshot: $((nsplit - nfrag)) splits agree ($nfrag inside a fragmented datagram left out), $nev event splits agree, refusals checked"
