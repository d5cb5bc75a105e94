#!/bin/bash
# Golden test of fragments through `ctrack read --write` (docs/nat.md,
# "Fragments"): Linux forwards a reassembled datagram, cut again at the
# size of the fragments that arrived, so what leaves is the original
# fragments with the translation applied, together, in offset order, when
# the datagram completes; fragments of a datagram that never completes
# never leave.
#
# The capture (made here with python3's standard library) holds, on
# Ethernet: an IPv4 UDP datagram of 3008 bytes in three fragments, in
# order; an IPv6 UDP datagram in three fragments, the last one first; the
# first fragment of an IPv4 datagram that never completes; and an
# unfragmented UDP packet. The rules DNAT UDP port 5004 of both families.
# OUT is checked by python3 on its own: which records, in which order,
# each IPv4 header checksum, the translated addresses in every fragment,
# the port in the first, and, put together again, the UDP checksum over
# the whole datagram. ctrack then reads OUT back: its reassembler and
# parser find the translated tuples and valid checksums. Without rules the
# same records leave, unchanged. --burst 1 and 64 write the same file.
#
# The datagram that never completes is never tracked: three bindings.
#
# Usage: bash nat_frag.sh CTRACK SRCDIR BUILDDIR   (run by ctest)
. "$(dirname "${BASH_SOURCE[0]}")/lib.bash"
command -v python3 >/dev/null || { echo "python3 is not installed" >&2; exit 77; }

cat >"$tmp/gen.py" <<'EOF'
import struct, sys

def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff

def ip4(src, dst, ident, proto, payload, flags_off=0):
    h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), ident, flags_off, 64, proto, 0,
                    bytes(src), bytes(dst))
    return h[:10] + struct.pack("!H", csum(h)) + h[12:] + payload

def udp(src, dst, sport, dport, data, v6):
    u = struct.pack("!HHHH", sport, dport, 8 + len(data), 0) + data
    if v6:
        ph = bytes(src) + bytes(dst) + struct.pack("!I3xB", len(u), 17)
    else:
        ph = bytes(src) + bytes(dst) + struct.pack("!xBH", 17, len(u))
    c = csum(ph + u) or 0xffff
    return u[:6] + struct.pack("!H", c) + u[8:]

def eth(t, p):
    return b"\x02\0\0\0\0\x02" + b"\x02\0\0\0\0\x01" + struct.pack("!H", t) + p

def frags4(src, dst, ident, payload, size):
    out = []
    for off in range(0, len(payload), size):
        more = 0x2000 if off + size < len(payload) else 0
        out.append(eth(0x0800, ip4(src, dst, ident, 17, payload[off:off + size], more | off // 8)))
    return out

def frags6(src, dst, ident, payload, size):
    out = []
    for off in range(0, len(payload), size):
        more = 1 if off + size < len(payload) else 0
        fh = struct.pack("!BBHI", 17, 0, off | more, ident) + payload[off:off + size]
        h = struct.pack("!IHBB16s16s", 0x60000000, len(fh), 44, 64, bytes(src), bytes(dst))
        out.append(eth(0x86dd, h + fh))
    return out

A4, B4 = [192, 0, 2, 12], [198, 51, 100, 30]
A6 = bytes.fromhex("20010db8000000000000000000000012")
B6 = bytes.fromhex("20010db8000000000000000000000030")
data4 = bytes((i * 7 + 1) & 0xff for i in range(3000))
data6 = bytes((i * 13 + 5) & 0xff for i in range(2500))
f4 = frags4(A4, B4, 0x1111, udp(A4, B4, 40000, 5004, data4, False), 1480)
f6 = frags6(A6, B6, 0x22222222, udp(A6, B6, 40001, 5004, data6, True), 1232)
lone = frags4(A4, B4, 0x3333, udp(A4, B4, 40002, 5004, data4, False), 1480)[0]
whole = eth(0x0800, ip4(A4, B4, 0x4444, 17, udp(A4, B4, 40003, 5004, b"hello", False)))
pkts = [(0, f4[0]), (0, lone), (0, f4[1]), (0, f4[2]), (0, f6[2]), (0, f6[0]), (0, f6[1]),
        (0, whole)]
mode = sys.argv[2] if len(sys.argv) > 2 else "main"
if mode == "timeout":
    # The first fragment of a datagram, then, 40 s later (past the 30 s
    # timeout), the same datagram (same key) whole: only the second leaves.
    pkts = [(0, f4[0])] + [(40, p) for p in f4]
elif mode == "evict":
    # 600 datagrams of which only the first fragment (8192 bytes) comes:
    # the reassembler's 4 MiB hold fewer, it evicts the oldest. Then all
    # of the first of them again and the rest of the last: each leaves as
    # its three fragments, the evicted first fragment not among them.
    big = bytes((i * 5 + 3) & 0xff for i in range(20000))
    firsts = [frags4(A4, B4, 0x5000 + i, udp(A4, B4, 41000, 5004, big, False), 8192)
              for i in range(600)]
    pkts = [(0, d[0]) for d in firsts] + [(1, p) for p in firsts[0] + firsts[-1][1:]]
with open(sys.argv[1], "wb") as f:
    f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
    for i, (sec, p) in enumerate(pkts):
        f.write(struct.pack("<IIII", 1700000000 + sec, i, len(p), len(p)))
        f.write(p)
EOF

# check.py IN OUT TRANSLATED: OUT must be IN's records 1, 3, 4 (IPv4
# fragments), 6, 7, 5 (IPv6 fragments in offset order) and 8, with the
# record headers of IN; with TRANSLATED=1 the destinations are the DNAT's
# and the UDP destination port 6000, else the bytes are IN's.
cat >"$tmp/check.py" <<'EOF'
import struct, sys

def records(path):
    b = open(path, "rb").read()
    out, pos = [], 24
    while pos < len(b):
        sec, usec, cap, wire = struct.unpack("<IIII", b[pos:pos + 16])
        out.append(((sec, usec, cap, wire), b[pos + 16:pos + 16 + cap]))
        pos += 16 + cap
    return out

def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff

def fail(msg):
    print("check.py: " + msg)
    sys.exit(1)

def same_data(a, b, off):
    """Fragment data as it came, but for the UDP port and checksum in the
    first fragment of a translated datagram."""
    if off == 0 and nat:
        a, b = a[:2] + a[4:6] + a[8:], b[:2] + b[4:6] + b[8:]
    return a == b

inp, out, nat = records(sys.argv[1]), records(sys.argv[2]), sys.argv[3] == "1"
order = [1, 3, 4, 6, 7, 5, 8]
if len(out) != len(order):
    fail("%d records written, expected %d" % (len(out), len(order)))
D4 = bytes([198, 51, 100, 99]) if nat else bytes([198, 51, 100, 30])
D6 = bytes.fromhex("20010db8000000000000000000000099" if nat else
                   "20010db8000000000000000000000030")
dport = 6000 if nat else 5004
dgrams = {}
for k, (hdr, b) in zip(order, out):
    ihdr, ib = inp[k - 1]
    if hdr != ihdr or len(b) != len(ib):
        fail("record of input packet %d: header %s, expected %s" % (k, hdr, ihdr))
    ip = b[14:]
    if b[12:14] == b"\x08\x00":
        if csum(ip[:20]) != 0:
            fail("input packet %d: bad IPv4 header checksum" % k)
        if ip[16:20] != D4:
            fail("input packet %d: destination %s" % (k, ip[16:20].hex()))
        fo = struct.unpack("!H", ip[6:8])[0]
        off, more, key = (fo & 0x1fff) * 8, fo & 0x2000, ("v4", ip[4:6])
        hdr_len, data, ph_src, ph_dst = 20, ip[20:], ip[12:16], ip[16:20]
        if k == 8:
            more = 0
        if ip[:10] != ib[14:24] or ip[12:16] != ib[26:30] or not same_data(ip[20:], ib[34:], off):
            fail("input packet %d: bytes other than the translation changed" % k)
    else:
        if ip[24:40] != D6:
            fail("input packet %d: destination %s" % (k, ip[24:40].hex()))
        fo = struct.unpack("!H", ip[42:44])[0]
        off, more, key = fo & 0xfff8, fo & 1, ("v6", ip[44:48])
        data, ph_src, ph_dst = ip[48:], ip[8:24], ip[24:40]
        if ip[:24] != ib[14:38] or ip[40:48] != ib[54:62] or not same_data(ip[48:], ib[62:], off):
            fail("input packet %d: bytes other than the translation changed" % k)
    d = dgrams.setdefault(key, {"parts": [], "src": ph_src, "dst": ph_dst, "v6": key[0] == "v6"})
    d["parts"].append((off, data, more))
for key, d in dgrams.items():
    parts = d["parts"]
    if [p[0] for p in parts] != sorted(p[0] for p in parts):
        fail("%s: fragments not in offset order" % key[0])
    u = b"".join(p[1] for p in parts)
    if struct.unpack("!H", u[2:4])[0] != dport:
        fail("%s: destination port %d" % (key[0], struct.unpack("!H", u[2:4])[0]))
    if d["v6"]:
        ph = d["src"] + d["dst"] + struct.pack("!I3xB", len(u), 17)
    else:
        ph = d["src"] + d["dst"] + struct.pack("!xBH", 17, len(u))
    if csum(ph + u) != 0:
        fail("%s: the UDP checksum is wrong over the reassembled datagram" % key[0])
EOF

python3 "$tmp/gen.py" "$tmp/frag.pcap" || { fail "cannot generate the capture"; finish ""; }
cat >"$tmp/dnat.nft" <<'EOF'
table ip nat {
    chain pre {
        type nat hook prerouting priority dstnat; policy accept;
        udp dport 5004 dnat to 198.51.100.99:6000
    }
}
table ip6 nat6 {
    chain pre {
        type nat hook prerouting priority dstnat; policy accept;
        udp dport 5004 dnat to [2001:db8::99]:6000
    }
}
EOF

for b in 1 64; do
    "$ctrack" read --burst "$b" --rules "$tmp/dnat.nft" --write "$tmp/out$b.pcap" \
        "$tmp/frag.pcap" >"$tmp/table" 2>"$tmp/err" ||
        fail "DNAT --burst $b: exit status $?: $(head -1 "$tmp/err")"
done
cmp -s "$tmp/out1.pcap" "$tmp/out64.pcap" || fail "DNAT: --burst 1 and 64 write different files"
python3 "$tmp/check.py" "$tmp/frag.pcap" "$tmp/out64.pcap" 1 >"$tmp/py" 2>&1 ||
    fail "DNAT: $(cat "$tmp/py")"
grep -q '^write: 7 packets to .*, 0 dropped$' "$tmp/err" ||
    fail "DNAT: write line: $(grep '^write:' "$tmp/err")"
grep -q '^write: 1 fragments not written: their datagrams were not reassembled$' "$tmp/err" ||
    fail "DNAT: no line counting the fragment of the datagram that never completed"
grep -Eq '^nat: bindings=3 .* rewritten=3 rewrite_failed=0$' "$tmp/err" ||
    fail "DNAT: nat line: $(grep '^nat:' "$tmp/err")"

# Read back, OUT reassembles into the translated datagrams with valid
# checksums (the parser checks the IPv4 header and UDP checksums).
"$ctrack" read --trace "$tmp/out64.pcap" >"$tmp/back" 2>"$tmp/back.err" ||
    fail "reading OUT back: exit status $?"
[ "$(grep -c 'reassembled' "$tmp/back")" -eq 2 ] ||
    fail "reading OUT back: the trace does not show two reassembled datagrams"
grep -q 'INVALID' "$tmp/back" && fail "reading OUT back: $(grep -m1 INVALID "$tmp/back")"
for t in 'dst=198.51.100.99 sport=40000 dport=6000' 'dst=2001:db8::99 sport=40001 dport=6000'; do
    grep -q "reassembled" "$tmp/back" && grep "reassembled" "$tmp/back" | grep -q -- "$t" ||
        fail "reading OUT back: no reassembled datagram with $t"
done

# A rule that drops the IPv6 datagram drops all its fragments.
cat >"$tmp/drop.nft" <<'EOF'
table ip6 f {
    chain pre {
        type filter hook prerouting priority filter; policy accept;
        udp dport 5004 drop
    }
}
EOF
"$ctrack" read --rules "$tmp/drop.nft" --write "$tmp/drop.pcap" "$tmp/frag.pcap" >/dev/null \
    2>"$tmp/err" || fail "drop: exit status $?"
grep -q '^write: 4 packets to .*, 3 dropped$' "$tmp/err" ||
    fail "drop: write line: $(grep '^write:' "$tmp/err")"

# Without rules: the same records leave, unchanged.
"$ctrack" read --write "$tmp/plain.pcap" "$tmp/frag.pcap" >/dev/null 2>"$tmp/err" ||
    fail "no rules: exit status $?"
python3 "$tmp/check.py" "$tmp/frag.pcap" "$tmp/plain.pcap" 0 >"$tmp/py" 2>&1 ||
    fail "no rules: $(cat "$tmp/py")"

# The store of fragments follows the reassembler: a datagram timed out, or
# evicted to make room, does not come back with a later datagram of the
# same key, or at all.
python3 "$tmp/gen.py" "$tmp/timeout.pcap" timeout || fail "cannot generate the timeout capture"
"$ctrack" read --write "$tmp/out.pcap" "$tmp/timeout.pcap" >/dev/null 2>"$tmp/err" ||
    fail "timeout: exit status $?"
grep -q '^defrag: .* timed_out=1 ' "$tmp/err" || fail "timeout: $(grep '^defrag' "$tmp/err")"
grep -q '^write: 3 packets to .*, 0 dropped$' "$tmp/err" ||
    fail "timeout: write line: $(grep '^write:' "$tmp/err")"
python3 "$tmp/gen.py" "$tmp/evict.pcap" evict || fail "cannot generate the eviction capture"
"$ctrack" read --write "$tmp/out.pcap" "$tmp/evict.pcap" >/dev/null 2>"$tmp/err" ||
    fail "evict: exit status $?"
grep -q '^defrag: .* reassembled=2 .* evicted=148 ' "$tmp/err" ||
    fail "evict: $(grep '^defrag' "$tmp/err")"
grep -q '^write: 6 packets to .*, 0 dropped$' "$tmp/err" ||
    fail "evict: write line: $(grep '^write:' "$tmp/err")"

# --no-defrag: fragments are tracked as they are (INVALID) and leave as
# they came, every one, in input order.
records=$build/tools/pcap_records
if built "$records"; then
    "$ctrack" read --no-defrag --rules "$tmp/dnat.nft" --write "$tmp/nodefrag.pcap" \
        "$tmp/frag.pcap" >/dev/null 2>"$tmp/err" || fail "--no-defrag: exit status $?"
    cmp -s <("$records" "$tmp/frag.pcap" | head -7) <("$records" "$tmp/nodefrag.pcap" | head -7) ||
        fail "--no-defrag: the fragments did not leave as they came"
fi

finish "nat_frag: fragments leave translated, in offset order, with their datagram"
