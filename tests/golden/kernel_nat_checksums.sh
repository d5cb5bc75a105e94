#!/bin/bash
# Golden test: every checksum of every packet `ctrack read --write`
# rewrites, checked by an independent tool (issue 13, section 7).
#
# The NAT cases (tools/kernel_cases --nat) are run through `ctrack read
# --rules NAME.nft --write OUT.pcap`, with the router addresses of the NAT
# comparison for masquerade and redirect, and scapy (Debian's
# python3-scapy, tests/kernel/checksums.py) recomputes every IPv4 header,
# TCP, UDP, ICMP, ICMPv6 and SCTP checksum of what was written, the
# quoted packets of ICMP errors included. Each case must have packets
# that were rewritten, so that the check is not about untouched bytes.
#
# The checker itself must catch a planted fault: one byte spoiled in each
# kind of checksum field (IPv4 header, TCP, UDP, SCTP, ICMP, ICMPv6, and
# inside an ICMP error's quote) must make it fail, naming the layer. The
# plants are made in the cases' own captures and in ctrack's output.
#
# Usage: bash kernel_nat_checksums.sh CTRACK SRCDIR BUILDDIR   (run by ctest)
# Exit 77 (skipped) without scapy, or while `ctrack read` has no --write.
. "$(dirname "${BASH_SOURCE[0]}")/lib.bash"
check=(/usr/bin/python3 "$src/tests/kernel/checksums.py")
natpkt=(python3 "$src/tests/kernel/natpkt.py")
. "$src/tests/kernel/natns.sh"

if ! /usr/bin/python3 -c 'import scapy.all' 2>/dev/null; then
    echo "kernel-nat-checksums: skipped: scapy is missing: install the Debian package" \
        "python3-scapy (make setup)"
    exit 77
fi
cases=$build/tools/kernel_cases
built "$cases" || finish ""
mkdir "$tmp/cases" "$tmp/out"
"$cases" --nat "$tmp/cases" >"$tmp/list" || fail "kernel_cases --nat failed"

# plant DIR SUFFIX: spoils one checksum of each kind in DIR's captures
# NAME$SUFFIX and expects the checker to name the layer.
#   case             frame  byte  layer
plants='nat-dnat              1   10  IP
        nat-dnat              1   36  TCP
        nat-dnat              8   26  UDP
        nat-sctp              1   28  SCTP
        nat-masquerade       10   22  ICMP
        nat-icmp-error        2   38  IP in ICMP
        nat-icmp-error        2   54  UDP in ICMP
        nat-icmp-error        4   64  TCP in ICMP
        nat-ipv6             13   42  ICMPv6 Destination Unreachable
        nat-ipv6             13   94  UDP in ICMP'
plant() {
    local dir=$1 suffix=$2 name frame byte layer
    while read -r name frame byte layer; do
        "${natpkt[@]}" spoil "$dir/$name$suffix" "$tmp/planted.pcap" "$frame" "$byte" ||
            { fail "cannot plant a fault in $name$suffix frame $frame"; continue; }
        if "${check[@]}" "$tmp/planted.pcap" >"$tmp/planted.out" 2>&1; then
            fail "the checker missed a bad $layer checksum in $name$suffix frame $frame"
        elif ! grep -qF "#$frame $layer:" "$tmp/planted.out"; then
            fail "the checker did not name the $layer checksum of $name$suffix frame $frame:"
            cat "$tmp/planted.out" >&2
        fi
    done <<<"$plants"
}

# The cases' captures themselves are correct, and the plants are caught.
"${check[@]}" "$tmp/cases"/*.pcap >"$tmp/in.out" 2>&1 ||
    { fail "the NAT cases' own checksums:"; cat "$tmp/in.out" >&2; }
plant "$tmp/cases" .pcap

if ! "$ctrack" read --help 2>&1 | grep -q -- '--write'; then
    [ "$failures" = 0 ] || finish ""
    echo "kernel-nat-checksums: skipped: 'ctrack read' has no --write (checker verified)"
    exit 77
fi

nat_addrs=(--masquerade-addr "$KNAT_OUT4" --masquerade-addr "$KNAT_OUT6"
           --redirect-addr "$KNAT_IN4" --redirect-addr "$KNAT_IN6")
while read -r f; do
    name=${f%.pcap}
    if ! "$ctrack" read -q --rules "$tmp/cases/$name.nft" --write "$tmp/out/$name.pcap" \
            "${nat_addrs[@]}" "$tmp/cases/$f" >/dev/null 2>"$tmp/err"; then
        fail "$name: ctrack read --write failed: $(head -1 "$tmp/err")"
        continue
    fi
    # Something must have been rewritten.
    if "${natpkt[@]}" packets "$name" "$tmp/cases/$f" "$tmp/out/$name.pcap" >"$tmp/changed"; then
        fail "$name: ctrack wrote every packet unchanged"
    fi
done <"$tmp/list"
if "${check[@]}" "$tmp/out"/*.pcap >"$tmp/out.out" 2>&1; then
    tail -1 "$tmp/out.out"
else
    fail "bad checksums in what ctrack wrote:"
    cat "$tmp/out.out" >&2
fi
plant "$tmp/out" .pcap

finish "kernel-nat-checksums: ok"
