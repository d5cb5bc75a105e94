#!/bin/bash
# Golden test of the CLI side of NAT: the options that name the addresses
# of `masquerade` and `redirect`, and what `ctrack read --rules` shows and
# writes for a translated connection. The translation itself is checked
# byte for byte against Linux by the kernel comparison; this test checks
# that the CLI hands the right things over and reports what came back:
#
#   - --masquerade-addr / --redirect-addr: bad addresses, twice for one
#     family, and without --rules are one line and exit status 2;
#   - a DNAT and a masquerade of the sample's one-way UDP flow: the table
#     prints the translated reply tuple (conntrack -L's format), the JSON
#     status says DST_NAT / SRC_NAT, the summary's nat: line counts the
#     binding and the packets rewritten;
#   - with --write, the packets of that flow differ from the input's only
#     in the translated address and port and in the checksums that cover
#     them, every other packet is unchanged, and reading OUT back, ctrack
#     finds the translated tuple and valid checksums (its parser verifies
#     the IPv4 header and UDP checksums independently of the rewrite);
#   - a masquerade without --masquerade-addr drops the packets, as Linux
#     does for an interface without an address;
#   - --write changes neither the trace nor the table.
#
# Usage: bash nat_cli.sh CTRACK SRCDIR BUILDDIR   (run by ctest)
. "$(dirname "${BASH_SOURCE[0]}")/lib.bash"
sample=$src/samples/sample.pcap
records=$build/tools/pcap_records
built "$records" || exit 1

# expect_usage NAME PATTERN ARGS...: exit status 2, nothing on stdout, one
# line on stderr matching PATTERN.
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

# The one-way UDP flow of the sample (docs/cli.md): 192.0.2.12:5004 ->
# 198.51.100.30:5004, four packets, never answered.
cat >"$tmp/dnat.nft" <<'EOF'
table ip nat {
    chain pre {
        type nat hook prerouting priority dstnat; policy accept;
        udp dport 5004 dnat to 198.51.100.99:6000
    }
}
EOF
cat >"$tmp/masq.nft" <<'EOF'
table ip nat {
    chain post {
        type nat hook postrouting priority srcnat; policy accept;
        udp dport 5004 masquerade
    }
}
EOF

expect_usage masq-no-rules "--masquerade-addr names the address of the rules' masquerade statements: give --rules" \
    read --masquerade-addr 203.0.113.1 "$sample"
expect_usage redirect-no-rules "--redirect-addr names the address of the rules' redirect statements" \
    read --redirect-addr 2001:db8::1 "$sample"
expect_usage masq-bad "--masquerade-addr: '203\.0\.113' is not an IPv4 or IPv6 address" \
    read --rules "$tmp/masq.nft" --masquerade-addr 203.0.113 "$sample"
expect_usage masq-prefix "--masquerade-addr: '203\.0\.113\.0/24' is not an IPv4 or IPv6 address" \
    read --rules "$tmp/masq.nft" --masquerade-addr 203.0.113.0/24 "$sample"
expect_usage redirect-empty "--redirect-addr: '' is not an IPv4 or IPv6 address" \
    read --rules "$tmp/masq.nft" --redirect-addr= "$sample"
expect_usage masq-twice "--masquerade-addr: given twice for IPv4 \('203\.0\.113\.2'\)" \
    read --rules "$tmp/masq.nft" --masquerade-addr 203.0.113.1 --masquerade-addr 203.0.113.2 \
    "$sample"
expect_usage redirect-twice6 "--redirect-addr: given twice for IPv6" \
    read --rules "$tmp/masq.nft" --redirect-addr ::1 --redirect-addr 192.0.2.1 \
    --redirect-addr 2001:db8::1 "$sample"
expect_usage redirect-missing "option '--redirect-addr' needs a value" read "$sample" --redirect-addr
# One address of each family, for each statement, is fine, whatever the
# rules do with them.
cat >"$tmp/filter.nft" <<'EOF'
table inet f {
    chain pre {
        type filter hook prerouting priority filter; policy accept;
    }
}
EOF
"$ctrack" read -q --rules "$tmp/filter.nft" --masquerade-addr 203.0.113.1 \
    --masquerade-addr 2001:db8::1 --redirect-addr 192.0.2.1 --redirect-addr ::1 "$sample" \
    >/dev/null 2>"$tmp/err" || fail "one address per family and statement: $(cat "$tmp/err")"

# diff_bytes A B: the byte offsets at which the hex strings A and B differ.
diff_bytes() {
    awk -v a="$1" -v b="$2" 'BEGIN {
        n = length(a) > length(b) ? length(a) : length(b)
        out = ""
        for (i = 1; i <= n; i += 2)
            if (substr(a, i, 2) != substr(b, i, 2))
                out = out (out == "" ? "" : " ") (i - 1) / 2
        print out
    }'
}

# check_nat NAME NFT WANT_LINE ALLOWED TUPLE STATUS [OPTIONS...]: runs the
# sample through the rules NFT; the table must hold WANT_LINE (a fixed
# string), the JSON status STATUS; the UDP packets to port 5004 may differ
# from the input only at the byte offsets ALLOWED (Ethernet + IPv4 without
# options: IP checksum 24-25, source 26-29, destination 30-33, ports 34-37,
# UDP checksum 40-41) and must read back with the packet tuple TUPLE and
# no INVALID verdict; every other packet is unchanged.
check_nat() {
    local name=$1 nft=$2 want=$3 allowed=$4 tuple=$5 status=$6
    shift 6
    local args=(read --rules "$nft" "$@")
    "$ctrack" "${args[@]}" --trace "$sample" >"$tmp/plain" 2>"$tmp/plain.err" ||
        fail "$name: exit status $?: $(head -1 "$tmp/plain.err")"
    "$ctrack" "${args[@]}" --trace --write "$tmp/out.pcap" "$sample" >"$tmp/written" \
        2>"$tmp/written.err" || fail "$name --write: exit status $?: $(head -1 "$tmp/written.err")"
    cmp -s "$tmp/plain" "$tmp/written" || fail "$name: --write changes the trace or the table"
    grep -qF -- "$want" "$tmp/written" || fail "$name: no table line with: $want"
    "$ctrack" "${args[@]}" --format json "$sample" 2>/dev/null | grep '"dport":5004' |
        grep -q "\"status\":\[[^]]*\"$status\"" || fail "$name: the JSON status lacks $status"
    grep -Eq '^nat: bindings=1 .* rewritten=4 rewrite_failed=0$' "$tmp/written.err" ||
        fail "$name: nat line: $(grep '^nat:' "$tmp/written.err")"
    grep -q '^write: 27 packets to .*, 0 dropped$' "$tmp/written.err" ||
        fail "$name: write line: $(grep '^write:' "$tmp/written.err")"

    # The packet numbers of the flow, from the trace.
    local flow
    flow=" $(grep '^pkt=.* dport=5004 ' "$tmp/plain" | sed 's/^pkt=\([0-9]*\) .*/\1/' |
        tr '\n' ' ')"
    [ "$(echo $flow | wc -w)" -eq 4 ] || fail "$name: the trace shows the flow as: $flow"
    "$records" "$sample" >"$tmp/rec.in"
    "$records" "$tmp/out.pcap" >"$tmp/rec.out"
    # Each record as: number, link-ts-caplen-wirelen, bytes.
    local n meta_in meta_out hex_in hex_out
    while read -r n meta_in hex_in <&3 && read -r _ meta_out hex_out <&4; do
        [ "$meta_in" = "$meta_out" ] || fail "$name: packet $n: record header changed"
        if [[ "$flow" == *" $n "* ]]; then
            local changed
            changed=$(diff_bytes "$hex_in" "$hex_out")
            [ -n "$changed" ] || fail "$name: packet $n was not translated"
            local off
            for off in $changed; do
                [[ " $allowed " == *" $off "* ]] ||
                    fail "$name: packet $n changed at byte $off, outside the translated fields"
            done
        else
            [ "$hex_in" = "$hex_out" ] || fail "$name: packet $n changed, it is not NATed"
        fi
    done 3< <(awk '{ print $1, $2 "-" $3 "-" $4 "-" $5, $6 }' "$tmp/rec.in") \
        4< <(awk '{ print $1, $2 "-" $3 "-" $4 "-" $5, $6 }' "$tmp/rec.out")
    [ "$(wc -l <"$tmp/rec.in")" -eq "$(wc -l <"$tmp/rec.out")" ] ||
        fail "$name: OUT holds $(wc -l <"$tmp/rec.out") records, the input $(wc -l <"$tmp/rec.in")"

    # Read back: the translated tuple, with checksums ctrack verifies.
    "$ctrack" read --trace "$tmp/out.pcap" >"$tmp/back" 2>/dev/null
    for n in $flow; do
        local line
        line=$(grep "^pkt=$n " "$tmp/back")
        [[ "$line" == *" $tuple "* ]] || fail "$name: packet $n reads back as: $line"
        [[ "$line" == *"ct=invalid"* ]] && fail "$name: packet $n reads back INVALID: $line"
    done
}

check_nat dnat "$tmp/dnat.nft" \
    "src=192.0.2.12 dst=198.51.100.30 sport=5004 dport=5004 packets=4 bytes=800 [UNREPLIED] src=198.51.100.99 dst=192.0.2.12 sport=6000 dport=5004 packets=0 bytes=0" \
    "24 25 30 31 32 33 36 37 40 41" "src=192.0.2.12 dst=198.51.100.99 sport=5004 dport=6000" \
    DST_NAT
check_nat masquerade "$tmp/masq.nft" \
    "src=192.0.2.12 dst=198.51.100.30 sport=5004 dport=5004 packets=4 bytes=800 [UNREPLIED] src=198.51.100.30 dst=203.0.113.1 sport=5004 dport=5004 packets=0 bytes=0" \
    "24 25 26 27 28 29 34 35 40 41" "src=203.0.113.1 dst=198.51.100.30 sport=5004 dport=5004" \
    SRC_NAT --masquerade-addr 203.0.113.1

# A masquerade without its address drops the flow's packets.
"$ctrack" read --rules "$tmp/masq.nft" --write "$tmp/out.pcap" "$sample" >/dev/null \
    2>"$tmp/err" || fail "masquerade without an address: exit status $?"
grep -q '^write: 23 packets to .*, 4 dropped$' "$tmp/err" ||
    fail "masquerade without an address: $(grep '^write:' "$tmp/err")"

finish "nat_cli: options, a DNAT and a masquerade through the table, the summary and --write"
