#!/bin/bash
# Golden test: the NAT comparison's comparer (tests/kernel/natpkt.py), on
# hand-made pairs of captures, without a kernel. The "kernel" side is an
# nflog capture (raw IP after NAT, as tcpdump -i nflog writes it) whose
# forwarded packets have their TTL or hop limit lowered and the IPv4 header
# checksum recomputed from scratch here; the "ctrack" side an Ethernet
# capture as `ctrack read --write` writes it. The comparer must find them
# equal, and must report each planted difference: a TTL not lowered, a
# changed payload byte, a packet missing on either side, a locally
# delivered packet (not forwarded, --local); and with a port map from two
# tables that differ only in a random SNAT port, equal packets once the
# kernel's port is mapped (checksum updated), and a map that is not a
# bijection reported.
#
# Usage: bash kernel_nat_comparer.sh CTRACK SRCDIR BUILDDIR   (run by ctest)
. "$(dirname "${BASH_SOURCE[0]}")/lib.bash"
natpkt=(python3 "$src/tests/kernel/natpkt.py")
command -v python3 >/dev/null || { echo "kernel-nat-comparer: skipped: no python3"; exit 77; }

# Writes the pairs: $tmp/k-NAME.pcap (nflog) and $tmp/c-NAME.pcap (Ethernet).
python3 - "$tmp" <<'PY' || fail "writing the hand-made captures failed"
import struct, sys
out = sys.argv[1]

def csum(b):
    if len(b) % 2:
        b += b'\0'
    s = sum(struct.unpack('>%dH' % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff

def udp4(src, dst, sport, dport, payload, ttl=64):
    u = struct.pack('>HHHH', sport, dport, 8 + len(payload), 0) + payload
    ph = bytes(src) + bytes(dst) + struct.pack('>BBH', 0, 17, len(u))
    c = csum(ph + u) or 0xffff
    u = u[:6] + struct.pack('>H', c) + u[8:]
    h = struct.pack('>BBHHHBBH4s4s', 0x45, 0, 20 + len(u), 0x1234, 0x4000, ttl, 17, 0,
                    bytes(src), bytes(dst))
    h = h[:10] + struct.pack('>H', csum(h)) + h[12:]
    return h + u

def tcp6(src, dst, sport, dport, hlim=64):
    t = struct.pack('>HHIIBBHHH', sport, dport, 1, 0, 0x50, 0x02, 1000, 0, 0)
    ph = bytes(src) + bytes(dst) + struct.pack('>I3xB', len(t), 6)
    t = t[:16] + struct.pack('>H', csum(ph + t)) + t[18:]
    return struct.pack('>IHBB16s16s', 0x60000000, len(t), 6, hlim, bytes(src), bytes(dst)) + t

def fwd(p):
    b = bytearray(p)
    if b[0] >> 4 == 4:
        b[8] -= 1
        b[10:12] = b'\0\0'
        b[10:12] = struct.pack('>H', csum(bytes(b[:20])))
    else:
        b[7] -= 1
    return bytes(b)

def nflog(p):
    fam = 2 if p[0] >> 4 == 4 else 10
    tlv = struct.pack('<HH', 4 + len(p), 9) + p
    tlv += b'\0' * (-len(tlv) % 4)
    return struct.pack('>BBH', fam, 0, 7) + tlv

def eth(p):
    return b'\x02\xc7\0\0\0\x02\x02\xc7\0\0\0\x01' + (b'\x08\x00' if p[0] >> 4 == 4 else b'\x86\xdd') + p

def write(path, link, frames):
    with open(path, 'wb') as f:
        f.write(struct.pack('<IHHiIII', 0xa1b2c3d4, 2, 4, 0, 0, 65535, link))
        for i, fr in enumerate(frames):
            f.write(struct.pack('<IIII', 1700000000, i, len(fr), len(fr)) + fr)

A, B, L = [10, 1, 0, 1], [10, 2, 0, 1], [192, 0, 2, 1]
A6 = [0x20, 0x01, 0x0d, 0xb8, 0, 1] + [0] * 9 + [1]
B6 = [0x20, 0x01, 0x0d, 0xb8, 0, 2] + [0] * 9 + [1]
p1 = udp4(A, B, 41000, 53, b'question')
p2 = tcp6(A6, B6, 41001, 80)
p3 = udp4(B, A, 53, 41000, b'answer!!')
loc = udp4(A, L, 41002, 9999, b'redirected')

def pair(name, kernel, ctrack):
    write(f'{out}/k-{name}.pcap', 239, [nflog(p) for p in kernel])
    write(f'{out}/c-{name}.pcap', 1, [eth(p) for p in ctrack])

pair('agree', [fwd(p1), fwd(p2), fwd(p3)], [p1, p2, p3])
pair('no-ttl', [p1, fwd(p2), fwd(p3)], [p1, p2, p3])
bad = bytearray(fwd(p3)); bad[-1] ^= 1
pair('payload', [fwd(p1), fwd(p2), bytes(bad)], [p1, p2, p3])
pair('kernel-missing', [fwd(p1), fwd(p3)], [p1, p2, p3])
pair('ctrack-missing', [fwd(p1), fwd(p2), fwd(p3)], [p1, p3])
pair('local', [fwd(p1), loc], [p1, loc])
# Fragments from the wire: the kernel's IPv6 fragments carry a new random
# identification, and the wire has the router's own MLD report.
def frag6(ident, off, more, data):
    fh = struct.pack('>BBHI', 17, 0, off | more, ident)
    return struct.pack('>IHBB16s16s', 0x60000000, 8 + len(data), 44, 64, bytes(A6),
                       bytes(B6)) + fh + data
mld = struct.pack('>IHBB16s16s', 0x60000000, 36, 0, 1, bytes(16),
                  bytes([0xff, 2] + [0] * 13 + [0x16])) + bytes([58, 0, 5, 2, 0, 0, 1, 0]) + \
      bytes([143, 0, 0, 0, 0, 0, 0, 1]) + bytes(20)
f1, f2 = frag6(0x51515151, 0, 1, b'a' * 16), frag6(0x51515151, 16, 0, b'b' * 8)
g1, g2 = frag6(0x2d87c35e, 0, 1, b'a' * 16), frag6(0x2d87c35e, 16, 0, b'b' * 8)
write(f'{out}/k-wire.pcap', 1, [eth(mld), eth(fwd(g1)), eth(fwd(g2))])
write(f'{out}/c-wire.pcap', 1, [eth(f1), eth(f2)])
# SNAT: the kernel chose source port 5555, ctrack 6666 for the same connection.
N = [198, 51, 100, 1]
pair('portmap', [fwd(udp4(N, B, 5555, 53, b'question'))], [udp4(N, B, 6666, 53, b'question')])
PY

# run NAME [OPTIONS]: the comparer's output for pair NAME.
run() {
    local name=$1
    shift
    "${natpkt[@]}" packets "$name" "$@" "$tmp/k-$name.pcap" "$tmp/c-$name.pcap" >"$tmp/$name.out" 2>&1
}
# expect NAME PATTERN [OPTIONS]: the comparer fails and prints PATTERN.
expect() {
    local name=$1 pattern=$2
    shift 2
    if run "$name" "$@"; then
        fail "$name: the comparer found no difference"
    elif ! grep -q -- "$pattern" "$tmp/$name.out"; then
        fail "$name: expected '$pattern', got:"
        cat "$tmp/$name.out" >&2
    fi
}

run agree || { fail "agree: the comparer found differences:"; cat "$tmp/agree.out" >&2; }
expect no-ttl 'no-ttl packet-differs #1/#1 udp 10.1.0.1:41000>10.2.0.1:53 len=36: ip-ttl at byte 8'
expect payload 'payload packet-differs #3/#3 .*: l4-payload at byte 35'
expect kernel-missing 'kernel-missing packet-ctrack-only #2 tcp 2001:db8:1::1:41001>2001:db8:2::1:80'
expect ctrack-missing 'ctrack-missing packet-kernel-only #2 tcp'
expect local 'local packet-differs #2/#2 .*ip-ttl'
run wire --wire || { fail "wire: fragments and MLD not matched:"; cat "$tmp/wire.out" >&2; }
expect wire 'wire packet-differs #1/#1 0 ::>ff02::16'
run local --local 192.0.2.1 || { fail "local: --local did not exempt the delivered packet:"; cat "$tmp/local.out" >&2; }

# Port maps from the tables.
cat >"$tmp/k.table" <<'T'
ipv4     2 udp      17 29 src=10.1.0.1 dst=10.2.0.1 sport=40000 dport=53 packets=1 bytes=36 [UNREPLIED] src=10.2.0.1 dst=198.51.100.1 sport=53 dport=5555 packets=0 bytes=0 mark=0 use=1
ipv4     2 tcp      6 119 SYN_SENT src=10.1.0.1 dst=10.2.0.1 sport=40000 dport=80 packets=1 bytes=40 [UNREPLIED] src=10.2.0.1 dst=198.51.100.1 sport=80 dport=40000 packets=0 bytes=0 mark=0 use=1
T
cat >"$tmp/c.table" <<'T'
ipv4     2 udp      17 29 src=10.1.0.1 dst=10.2.0.1 sport=40000 dport=53 packets=1 bytes=36 [UNREPLIED] src=10.2.0.1 dst=198.51.100.1 sport=53 dport=6666 packets=0 bytes=0 mark=0
ipv4     2 tcp      6 119 SYN_SENT src=10.1.0.1 dst=10.2.0.1 sport=40000 dport=80 packets=1 bytes=40 [UNREPLIED] src=10.2.0.1 dst=198.51.100.1 sport=80 dport=40000 packets=0 bytes=0 mark=0
T
if ! "${natpkt[@]}" portmap portmap "$tmp/k.table" "$tmp/c.table" "$tmp/map" >"$tmp/k.mapped"; then
    fail "portmap: a bijection was refused"
fi
grep -qx 'udp 198.51.100.1 5555 6666' "$tmp/map" || { fail "portmap: wrong map:"; cat "$tmp/map" >&2; }
grep -q 'dport=53 packets=1 .* sport=53 dport=6666 ' "$tmp/k.mapped" ||
    fail "portmap: the kernel's table was not mapped"
grep -q 'sport=80 dport=40000 ' "$tmp/k.mapped" || fail "portmap: a kept port was changed"
expect portmap 'portmap packet-differs #1/#1 .*sport at byte 20'
run portmap --map "$tmp/map" || { fail "portmap: mapped packets differ:"; cat "$tmp/portmap.out" >&2; }
# Two kernel ports mapped to one of ctrack's: not a bijection.
printf '%s\n' \
    'ipv4     2 udp      17 29 src=10.1.0.1 dst=10.2.0.1 sport=40000 dport=53 packets=1 bytes=36 [UNREPLIED] src=10.2.0.1 dst=198.51.100.1 sport=53 dport=5555 packets=0 bytes=0' \
    'ipv4     2 udp      17 29 src=10.1.0.2 dst=10.2.0.1 sport=40000 dport=53 packets=1 bytes=36 [UNREPLIED] src=10.2.0.1 dst=198.51.100.1 sport=53 dport=5556 packets=0 bytes=0' \
    >"$tmp/k3.table"
printf '%s\n' \
    'ipv4     2 udp      17 29 src=10.1.0.1 dst=10.2.0.1 sport=40000 dport=53 packets=1 bytes=36 [UNREPLIED] src=10.2.0.1 dst=198.51.100.1 sport=53 dport=6666 packets=0 bytes=0' \
    'ipv4     2 udp      17 29 src=10.1.0.2 dst=10.2.0.1 sport=40000 dport=53 packets=1 bytes=36 [UNREPLIED] src=10.2.0.1 dst=198.51.100.1 sport=53 dport=6666 packets=0 bytes=0' \
    >"$tmp/c3.table"
if "${natpkt[@]}" portmap bad "$tmp/k3.table" "$tmp/c3.table" "$tmp/map3" >/dev/null 2>"$tmp/map3.err"; then
    fail "portmap: two kernel ports mapped to one were accepted"
fi
grep -q '^bad portmap not-a-bijection udp 198.51.100.1 kernel=5556 ctrack=6666' "$tmp/map3.err" ||
    { fail "portmap: not-a-bijection not reported:"; cat "$tmp/map3.err" >&2; }

finish "kernel-nat-comparer: ok"
