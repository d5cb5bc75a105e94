#!/bin/bash
# Golden test of `ctrack read --write OUT`: the packets that leave.
#
#   - Without rules nothing is dropped or translated: OUT holds every
#     record of the input, byte for byte (a classic pcap with microsecond
#     timestamps is reproduced whole; pcapng input and the corpus are
#     compared record by record with tools/pcap_records: link type,
#     timestamp, lengths and bytes), with --burst 1, 32 and 64, and with
#     timestamps that go backwards (written as recorded).
#   - Rules that drop (before conntrack and after it) remove exactly the
#     packets the trace shows dropped (reason rule-drop), no others, in
#     order; the trace and the table are the same as without --write.
#   - A failed run leaves a previous OUT as it was and no temporary file;
#     bad --write values and outputs that cannot be created give one line
#     and exit status 2 before any output.
#
# Usage: bash write.sh CTRACK SRCDIR BUILDDIR   (run by ctest)
. "$(dirname "${BASH_SOURCE[0]}")/lib.bash"
sample=$src/samples/sample.pcap
records=$build/tools/pcap_records
built "$records" || exit 1

# records FILE: the records of FILE without their numbers.
records() {
    "$records" "$1" | cut -d' ' -f2-
}

# same_records NAME IN OUT: OUT holds IN's records.
same_records() {
    records "$2" >"$tmp/rec.in" || fail "$1: pcap_records cannot read the input"
    records "$3" >"$tmp/rec.out" || fail "$1: pcap_records cannot read the output"
    cmp -s "$tmp/rec.in" "$tmp/rec.out" ||
        fail "$1: the written records differ from the input's ($(wc -l <"$tmp/rec.in") in," \
            "$(wc -l <"$tmp/rec.out") out)"
}

# No rules: the sample (microsecond pcap) comes back whole, at every burst size.
for b in 1 32 64; do
    "$ctrack" read -q --burst "$b" --write "$tmp/out.pcap" "$sample" >/dev/null 2>"$tmp/err" ||
        fail "sample --burst $b: exit status $?: $(head -1 "$tmp/err")"
    cmp -s "$sample" "$tmp/out.pcap" || fail "sample --burst $b: OUT is not the input byte for byte"
done
# Timestamps that go backwards are processed at the time before them
# ("Time" in docs/cli.md) but written as recorded: the sample's last 7
# packets first, then its first 20.
split=$build/tools/pcap_split
if built "$split"; then
    "$split" "$sample" 20 "$tmp/first.pcap" "$tmp/last.pcap" >/dev/null
    { cat "$tmp/last.pcap"; tail -c +25 "$tmp/first.pcap"; } >"$tmp/back.pcap"
    "$ctrack" read --write "$tmp/out.pcap" "$tmp/back.pcap" >/dev/null 2>"$tmp/err" ||
        fail "backward timestamps: exit status $?"
    grep -q '^note: 20 packets were stamped earlier' "$tmp/err" ||
        fail "backward timestamps: the capture does not go backwards as meant"
    cmp -s "$tmp/back.pcap" "$tmp/out.pcap" ||
        fail "backward timestamps: OUT is not the input byte for byte"
fi
# From standard input the timestamps keep nanoseconds: the same records.
"$ctrack" read -q --write "$tmp/out.pcap" - <"$sample" >/dev/null 2>"$tmp/err" ||
    fail "sample from standard input: $(head -1 "$tmp/err")"
same_records "sample from standard input" "$sample" "$tmp/out.pcap"
# Nothing in the table's output depends on --write.
"$ctrack" read --trace "$sample" >"$tmp/plain" 2>"$tmp/plain.err"
"$ctrack" read --trace --write "$tmp/out.pcap" "$sample" >"$tmp/written" 2>"$tmp/written.err"
cmp -s "$tmp/plain" "$tmp/written" || fail "sample: --write changes the trace or the table"
grep -q "^write: 27 packets to $tmp/out.pcap, 0 dropped$" "$tmp/written.err" ||
    fail "sample: no summary line 'write: 27 packets ..., 0 dropped': $(tail -1 "$tmp/written.err")"

# Every test capture (all link types, pcapng with interfaces, with its rules
# where it has them) and the corpus when it is there, with reassembly and
# tunnels on: nothing dropped, nothing changed.
checked=0
shopt -s nullglob
caps=("$src"/tests/pcap/*.pcap "$src"/tests/pcap/cases/*.pcap "$src"/tests/pcap/cases/*.pcapng)
if [ -d "$src/../shared/corpus" ]; then
    while IFS= read -r -d '' cap; do
        caps+=("$cap")
    done < <(find "$src/../shared/corpus" -type f \( -name '*.pcap' -o -name '*.pcapng' \) \
        -print0 | sort -z)
fi
for cap in "${caps[@]}"; do
    args=(read --tunnels --max-connections 65536)
    nft=${cap%.*}.nft
    [ -f "$nft" ] && args+=(--rules "$nft")
    rm -f "$tmp/out.pcap"
    "$ctrack" "${args[@]}" --write "$tmp/out.pcap" "$cap" >/dev/null 2>"$tmp/err"
    rc=$?
    name=${cap#"$src"/}
    if [ "$rc" -eq 2 ] && grep -q "interfaces of different link types" "$tmp/err"; then
        # Refused before any packet: the input must really mix link types.
        [ "$(records "$cap" | cut -d' ' -f1 | sort -u | wc -l)" -gt 1 ] ||
            fail "$name: refused as mixing link types, but it has one"
        [ -e "$tmp/out.pcap" ] && fail "$name: refused, yet OUT was written"
        continue
    fi
    if [ "$rc" -ne 0 ]; then
        fail "$name: exit status $rc: $(head -1 "$tmp/err")"
        continue
    fi
    # Rules may drop (a rule, or a helper refusing a packet as Linux's
    # does): OUT is then the input less as many packets as the summary
    # counts dropped, the rest unchanged and in order.
    dropped=$(sed -n 's/^write: [0-9]* packets to .*, \([0-9]*\) dropped$/\1/p' "$tmp/err")
    if [ -f "$nft" ] && [ "${dropped:-0}" -ne 0 ]; then
        records "$cap" >"$tmp/rec.in"
        records "$tmp/out.pcap" >"$tmp/rec.out"
        diff "$tmp/rec.in" "$tmp/rec.out" >"$tmp/rec.diff"
        if grep -q '^>' "$tmp/rec.diff" || [ "$(grep -c '^<' "$tmp/rec.diff")" -ne "$dropped" ]; then
            fail "$name: OUT is not the input less the $dropped packets dropped"
        fi
        checked=$((checked + 1))
        continue
    fi
    same_records "$name" "$cap" "$tmp/out.pcap"
    checked=$((checked + 1))
done

# Rules that drop: before conntrack (UDP to port 5004) and after it (new
# TCP connections to port 443). The packets missing from OUT are exactly
# those the trace shows dropped.
cat >"$tmp/drop.nft" <<'EOF'
table inet f {
    chain raw {
        type filter hook prerouting priority raw; policy accept;
        udp dport 5004 drop
    }
    chain filter {
        type filter hook prerouting priority filter; policy accept;
        ct state new tcp dport 443 drop
    }
}
EOF
"$ctrack" read --trace --rules "$tmp/drop.nft" "$sample" >"$tmp/plain" 2>/dev/null
for b in 1 64; do
    "$ctrack" read --trace --burst "$b" --rules "$tmp/drop.nft" --write "$tmp/out.pcap" \
        "$sample" >"$tmp/written" 2>"$tmp/err" || fail "drop rules: exit status $?"
    cmp -s "$tmp/plain" "$tmp/written" || fail "drop rules: --write changes the trace or table"
    # The trace's packet numbers without reason=rule-drop, and the input's
    # records with those numbers.
    grep '^pkt=' "$tmp/plain" | grep -v 'reason=rule-drop' | sed 's/^pkt=\([0-9]*\) .*/\1/' \
        >"$tmp/kept"
    "$records" "$sample" | awk 'NR == FNR { keep[$1] = 1; next } keep[$1]' "$tmp/kept" - |
        cut -d' ' -f2- >"$tmp/want"
    records "$tmp/out.pcap" >"$tmp/got"
    dropped=$(($(grep -c '^pkt=' "$tmp/plain") - $(wc -l <"$tmp/kept")))
    [ "$dropped" -eq 6 ] || fail "drop rules: the trace shows $dropped drops, expected 6"
    cmp -s "$tmp/want" "$tmp/got" ||
        fail "drop rules --burst $b: OUT is not the input less the dropped packets"
    grep -q "^write: 21 packets to .*, 6 dropped$" "$tmp/err" ||
        fail "drop rules: summary says $(grep '^write:' "$tmp/err")"
done

# --write without a file name, or with '-', is a usage error.
expect_usage() {
    local name=$1 pattern=$2
    shift 2
    "$ctrack" "$@" >"$tmp/out" 2>"$tmp/err" </dev/null
    local rc=$?
    [ "$rc" -eq 2 ] || fail "$name: exit status $rc, expected 2"
    [ -s "$tmp/out" ] && fail "$name: printed on stdout"
    [ "$(wc -l <"$tmp/err")" -eq 1 ] && grep -Eq -- "$pattern" "$tmp/err" ||
        fail "$name: stderr: $(cat "$tmp/err")"
}
expect_usage write-missing "option '--write' needs a value" read "$sample" --write
expect_usage write-dash "--write: '-' is not a file name" read --write - "$sample"
expect_usage write-empty "--write: '' is not a file name" read --write= "$sample"
expect_usage write-nodir "nodir/out\.pcap: cannot create: No such file or directory" \
    read --write "$tmp/nodir/out.pcap" "$sample"
mkdir "$tmp/adir"
expect_usage write-dir "adir: is a directory" read --write "$tmp/adir" "$sample"
expect_usage write-proc "/proc/ctrack-out\.pcap: cannot create" \
    read --write /proc/ctrack-out.pcap "$sample"
expect_usage show-write "show: .*--write do not apply to a snapshot" \
    show --write "$tmp/out.pcap" "$sample"

# A pcapng file whose two interfaces have different link types (Ethernet,
# raw IP) cannot become one pcap file: refused before any packet.
{
    # Section header: byte-order magic, version 1.0, section length unknown.
    printf '\x0a\x0d\x0d\x0a\x1c\x00\x00\x00\x4d\x3c\x2b\x1a\x01\x00\x00\x00'
    printf '\xff\xff\xff\xff\xff\xff\xff\xff\x1c\x00\x00\x00'
    # Two interface descriptions: LINKTYPE 1 and 101, snapshot length 65535.
    printf '\x01\x00\x00\x00\x14\x00\x00\x00\x01\x00\x00\x00\xff\xff\x00\x00\x14\x00\x00\x00'
    printf '\x01\x00\x00\x00\x14\x00\x00\x00\x65\x00\x00\x00\xff\xff\x00\x00\x14\x00\x00\x00'
} >"$tmp/mixed.pcapng"
expect_usage write-mixed-links "mixed\.pcapng: interfaces of different link types \(LINKTYPE 1 and 101\)" \
    read --write "$tmp/out2.pcap" "$tmp/mixed.pcapng"
[ -e "$tmp/out2.pcap" ] && fail "mixed link types: OUT was written"

# A capture damaged part-way (exit 1) leaves a previous OUT untouched and
# no temporary file beside it.
mkdir "$tmp/keep"
printf 'previous\n' >"$tmp/keep/out.pcap"
head -c 150 "$sample" >"$tmp/cut.pcap"
"$ctrack" read --write "$tmp/keep/out.pcap" "$tmp/cut.pcap" >/dev/null 2>"$tmp/err"
rc=$?
[ "$rc" -eq 1 ] || fail "cut capture: exit status $rc, expected 1"
grep -q "^write: nothing written to $tmp/keep/out.pcap: the run failed$" "$tmp/err" ||
    fail "cut capture: the summary does not say OUT was left: $(grep '^write' "$tmp/err")"
[ "$(cat "$tmp/keep/out.pcap")" = previous ] || fail "cut capture: the previous OUT was replaced"
[ "$(ls "$tmp/keep")" = out.pcap ] || fail "cut capture: left behind: $(ls "$tmp/keep")"
# A run that succeeds replaces it, leaving nothing else.
"$ctrack" read -q --write "$tmp/keep/out.pcap" "$sample" >/dev/null 2>&1 ||
    fail "replacing OUT: exit status $?"
cmp -s "$sample" "$tmp/keep/out.pcap" || fail "replacing OUT: not the input"
[ "$(ls "$tmp/keep")" = out.pcap ] || fail "replacing OUT: left behind: $(ls "$tmp/keep")"

finish "write: $checked captures written back unchanged or less their drops, errors checked"
