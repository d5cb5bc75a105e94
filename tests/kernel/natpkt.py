#!/usr/bin/env python3
"""Packet and table tools of the NAT comparison (tests/kernel/nat-compare.sh).

Standard library only, so that it runs wherever the comparison runs.

  natpkt.py count CAPTURE
      Prints the number of packets in a pcap or pcapng file.

  natpkt.py portmap NAME KERNEL-TABLE CTRACK-TABLE MAP-OUT
      For a case where the kernel picks random ports or ICMP identifiers
      (SNAT clashes): pairs each kernel connection with ctrack's of the same
      original tuple and, where only the reply tuple's destination port (or
      ICMP identifier) differs, records kernel value -> ctrack value per
      protocol and address in MAP-OUT. Prints the kernel's table with its
      values replaced by ctrack's, so the tables compare as usual, and a
      line "NAME portmap not-a-bijection ..." on stderr (exit 1) where one
      value would map to two.

  natpkt.py spoil IN OUT N OFFSET
      Copies the classic pcap IN to OUT with byte OFFSET of the IP packet
      in frame N (from 1) XORed with 0x55: a planted fault for the tests.

  natpkt.py packets NAME [--map MAP] [--local ADDR]... [--wire] KERNEL-CAPTURE CTRACK-CAPTURE
      Compares what the kernel let out (nflog: raw IP after NAT, in order)
      with what `ctrack read --write` wrote, packet by packet, byte for
      byte over the IP packet, after two adjustments to ctrack's packets:
      a forwarded packet's TTL or hop limit is one lower on the kernel's
      side (and the IPv4 header checksum follows, updated as Linux's
      ip_decrease_ttl() does), except for packets delivered to one of the
      --local addresses (REDIRECT), which are not forwarded; and with
      --map, the kernel's random ports and identifiers are first replaced
      by ctrack's (transport checksums updated, RFC 1624). Link layers are
      not compared. With --wire, KERNEL-CAPTURE is what reached the sink
      (after the kernel fragmented again what it had reassembled): the
      kernel's own MLD reports are left out of it, and its IPv6 fragment
      identifications, new random ones, are paired with ctrack's in order
      of appearance. Prints one line per difference:
        NAME packet-kernel-only #K SUMMARY
        NAME packet-ctrack-only #C SUMMARY
        NAME packet-differs #K/#C SUMMARY: FIELD at byte N kernel=HEX ctrack=HEX
      and exits 1 if there was any.
"""

import difflib
import ipaddress
import struct
import sys

LINKTYPE_ETHERNET = 1
LINKTYPE_RAW = 101
LINKTYPE_LINUX_SLL = 113
LINKTYPE_NFLOG = 239
LINKTYPE_IPV4 = 228
LINKTYPE_IPV6 = 229


def read_capture(path):
    """Returns [(linktype, bytes)] of a classic pcap or pcapng file."""
    with open(path, 'rb') as f:
        data = f.read()
    if len(data) < 4:
        raise ValueError(f'{path}: not a capture')
    magic = data[:4]
    out = []
    if magic in (b'\xd4\xc3\xb2\xa1', b'\x4d\x3c\xb2\xa1', b'\xa1\xb2\xc3\xd4', b'\xa1\xb2\x3c\x4d'):
        e = '<' if magic in (b'\xd4\xc3\xb2\xa1', b'\x4d\x3c\xb2\xa1') else '>'
        link = struct.unpack(e + 'I', data[20:24])[0] & 0x0fffffff
        off = 24
        while off + 16 <= len(data):
            incl = struct.unpack(e + 'I', data[off + 8:off + 12])[0]
            if off + 16 + incl > len(data):
                raise ValueError(f'{path}: truncated record')
            out.append((link, data[off + 16:off + 16 + incl]))
            off += 16 + incl
        return out
    if magic == b'\x0a\x0d\x0d\x0a':
        links = []
        off = 0
        e = '<'
        while off + 12 <= len(data):
            btype = struct.unpack(e + 'I', data[off:off + 4])[0]
            if btype == 0x0a0d0d0a:
                e = '<' if data[off + 8:off + 12] == b'\x4d\x3c\x2b\x1a' else '>'
                links = []
            blen = struct.unpack(e + 'I', data[off + 4:off + 8])[0]
            if blen < 12 or off + blen > len(data):
                raise ValueError(f'{path}: bad block')
            body = data[off + 8:off + blen - 4]
            if btype == 1:
                links.append(struct.unpack(e + 'H', body[:2])[0])
            elif btype == 6:
                ifid, _, _, incl = struct.unpack(e + 'IIII', body[:16])
                out.append((links[ifid], body[20:20 + incl]))
            elif btype == 3:
                out.append((links[0], body[4:]))
            off += blen
        return out
    raise ValueError(f'{path}: not a pcap or pcapng file')


def ip_packet(link, frame):
    """The IP packet of a frame (bytes), or None when it carries none."""
    if link == LINKTYPE_NFLOG:
        # RFC-less format of Linux's nfnetlink_log as libpcap writes it: a
        # 4-byte header (family, version, resource id), then TLVs of
        # length (host order, header included), type, value padded to 4.
        off = 4
        while off + 4 <= len(frame):
            tlen, ttype = struct.unpack('<HH', frame[off:off + 4])
            if tlen < 4:
                return None
            if ttype == 9:  # NFULA_PAYLOAD
                return frame[off + 4:off + tlen]
            off += (tlen + 3) & ~3
        return None
    if link == LINKTYPE_ETHERNET:
        off, et = 12, None
        while off + 2 <= len(frame):
            et = struct.unpack('>H', frame[off:off + 2])[0]
            if et in (0x8100, 0x88a8):
                off += 4
                continue
            break
        return frame[off + 2:] if et in (0x0800, 0x86dd) else None
    if link == LINKTYPE_LINUX_SLL:
        return frame[16:]
    if link in (LINKTYPE_RAW, LINKTYPE_IPV4, LINKTYPE_IPV6):
        return frame
    return None


def packets_of(path):
    return [p for p in (ip_packet(link, fr) for link, fr in read_capture(path)) if p is not None]


# ---- checksums (RFC 1071, RFC 1624) --------------------------------------------------

def csum_update16(check, old, new):
    """RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m') for one 16-bit word."""
    s = (~check & 0xffff) + (~old & 0xffff) + new
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff


def l4_offset(p):
    """(protocol, offset of the transport header) of an unfragmented packet."""
    if not p:
        return None, None
    if p[0] >> 4 == 4 and len(p) >= 20:
        if struct.unpack('>H', p[6:8])[0] & 0x3fff:
            return None, None
        return p[9], (p[0] & 15) * 4
    if p[0] >> 4 == 6 and len(p) >= 40:
        return p[6], 40
    return None, None


def addrs(p):
    if p[0] >> 4 == 4:
        return str(ipaddress.ip_address(p[12:16])), str(ipaddress.ip_address(p[16:20]))
    return str(ipaddress.ip_address(p[8:24])), str(ipaddress.ip_address(p[24:40]))


PROTO_NAMES = {1: 'icmp', 6: 'tcp', 17: 'udp', 58: 'icmpv6', 132: 'sctp', 136: 'udplite'}


def summary(p):
    """A short description of a packet: protocol, addresses, ports, length."""
    if not p or p[0] >> 4 not in (4, 6):
        return 'non-IP len=%d' % len(p)
    src, dst = addrs(p)
    proto, off = l4_offset(p)
    if proto is None:
        return f'{src}>{dst} fragment len={len(p)}'
    name = PROTO_NAMES.get(proto, str(proto))
    l4 = p[off:]
    if proto in (6, 17, 132, 136) and len(l4) >= 4:
        sp, dp = struct.unpack('>HH', l4[:4])
        return f'{name} {src}:{sp}>{dst}:{dp} len={len(p)}'
    if proto in (1, 58) and len(l4) >= 2:
        return f'{name} {src}>{dst} type={l4[0]} code={l4[1]} len={len(p)}'
    return f'{name} {src}>{dst} len={len(p)}'


def field_name(p, i):
    """Names the header field at byte i of packet p (for the report)."""
    v4 = p[0] >> 4 == 4
    hl = (p[0] & 15) * 4 if v4 else 40
    if i < hl:
        if v4:
            names = [(2, 'ip-length'), (4, 'ip-id'), (6, 'ip-frag'), (8, 'ip-ttl'), (9, 'ip-proto'),
                     (10, 'ip-checksum'), (12, 'ip-src'), (16, 'ip-dst'), (20, 'ip-options')]
        else:
            names = [(4, 'ip6-length'), (6, 'ip6-next'), (7, 'ip6-hoplimit'), (8, 'ip6-src'),
                     (24, 'ip6-dst')]
        name = 'ip-header'
        for start, n in names:
            if i >= start:
                name = n
        return name
    proto, off = l4_offset(p)
    if proto is None:
        return 'payload'
    j = i - off
    if proto in (6, 17, 132, 136):
        ck = {6: 16, 17: 6, 136: 6, 132: 8}[proto]
        if j < 2:
            return 'sport'
        if j < 4:
            return 'dport'
        if ck <= j < ck + (4 if proto == 132 else 2):
            return 'l4-checksum'
        if j < {6: 20, 17: 8, 136: 8, 132: 12}[proto]:
            return 'l4-header'
        return 'l4-payload'
    if proto in (1, 58):
        if 2 <= j < 4:
            return 'icmp-checksum'
        if j < 8:
            return 'icmp-header'
        return 'icmp-quote'
    return 'l4'


# ---- the kernel's forwarding ----------------------------------------------------------

def forwarded(p):
    """The packet as Linux forwards it: TTL or hop limit one lower, and the
    IPv4 header checksum updated as ip_decrease_ttl() does (the checksum
    read as a little-endian word plus htons(0x0100), with its carry)."""
    b = bytearray(p)
    if b[0] >> 4 == 4:
        check = struct.unpack('<H', b[10:12])[0] + 0x0001
        b[10:12] = struct.pack('<H', (check + (check >= 0xffff)) & 0xffff)
        b[8] = (b[8] - 1) & 0xff
    else:
        b[7] = (b[7] - 1) & 0xff
    return bytes(b)


def dst_addr(p):
    return addrs(p)[1] if p and p[0] >> 4 in (4, 6) else None


# ---- port bijection -------------------------------------------------------------------

def parse_conn(line):
    """Splits a conntrack -L line into (l3, proto, orig dict, reply dict)."""
    f = line.split()
    if len(f) < 6 or f[0] not in ('ipv4', 'ipv6'):
        return None
    groups, cur = [], None
    for tok in f[3:]:
        if '=' not in tok:
            continue
        k, v = tok.split('=', 1)
        if k == 'src':
            cur = {}
            groups.append(cur)
        if cur is not None and k in ('src', 'dst', 'sport', 'dport', 'type', 'code', 'id'):
            cur[k] = v
    if len(groups) < 2:
        return None
    return f[0], f[2], groups[0], groups[1]


def portmap(name, ktable, ctable, mapout):
    def load(path):
        conns = {}
        with open(path) as f:
            for line in f:
                c = parse_conn(line)
                if c:
                    key = (c[0], c[1], tuple(sorted(c[2].items())))
                    conns.setdefault(key, c)
        return conns

    kc, cc = load(ktable), load(ctable)
    fwd, back, bad = {}, {}, []
    for key, (l3, proto, _, kr) in kc.items():
        if key not in cc:
            continue
        cr = cc[key][3]
        field = 'id' if 'id' in kr else 'dport'
        if field not in kr or field not in cr or kr[field] == cr[field]:
            if field in kr and field in cr:
                fwd.setdefault((proto, kr['dst'], kr[field]), cr[field])
                back.setdefault((proto, kr['dst'], cr[field]), kr[field])
            continue
        if {k: v for k, v in kr.items() if k != field} != {k: v for k, v in cr.items() if k != field}:
            continue
        kkey, ckey = (proto, kr['dst'], kr[field]), (proto, kr['dst'], cr[field])
        if fwd.get(kkey, cr[field]) != cr[field] or back.get(ckey, kr[field]) != kr[field]:
            bad.append(f'{name} portmap not-a-bijection {proto} {kr["dst"]} '
                       f'kernel={kr[field]} ctrack={cr[field]}')
        fwd[kkey] = cr[field]
        back[ckey] = kr[field]
    with open(mapout, 'w') as f:
        for (proto, addr, kv), cv in sorted(fwd.items()):
            if kv != cv:
                f.write(f'{proto} {addr} {kv} {cv}\n')
    # The kernel's table with ctrack's values in the reply tuples.
    with open(ktable) as f:
        for line in f:
            c = parse_conn(line)
            if not c:
                sys.stdout.write(line)
                continue
            l3, proto, _, kr = c
            field = 'id' if 'id' in kr else 'dport'
            new = fwd.get((proto, kr.get('dst'), kr.get(field)))
            if new is None or new == kr.get(field):
                sys.stdout.write(line)
                continue
            toks = line.split()
            seen_src = 0
            for i, tok in enumerate(toks):
                if tok.startswith('src='):
                    seen_src += 1
                if seen_src == 2 and tok == f'{field}={kr[field]}':
                    toks[i] = f'{field}={new}'
                    break
            sys.stdout.write(' '.join(toks) + '\n')
    for b in bad:
        print(b, file=sys.stderr)
    return 1 if bad else 0


def load_map(path):
    m = {}
    with open(path) as f:
        for line in f:
            proto, addr, kv, cv = line.split()
            m[(proto, addr, int(kv))] = int(cv)
    return m


def apply_map(p, m):
    """Replaces a random source port or echo identifier of the kernel's
    packet by ctrack's choice, updating the transport checksum."""
    proto, off = l4_offset(p)
    if proto is None:
        return p
    name = PROTO_NAMES.get(proto)
    src = addrs(p)[0]
    b = bytearray(p)
    if proto in (6, 17, 136) and len(b) >= off + 8:
        old = struct.unpack('>H', b[off:off + 2])[0]
        new = m.get((name, src, old))
        if new is None:
            return p
        b[off:off + 2] = struct.pack('>H', new)
        ck = off + (16 if proto == 6 else 6)
        if len(b) >= ck + 2:
            c = struct.unpack('>H', b[ck:ck + 2])[0]
            if not (proto == 17 and c == 0 and p[0] >> 4 == 4):
                c = csum_update16(c, old, new)
                if proto == 17 and c == 0:
                    c = 0xffff
                b[ck:ck + 2] = struct.pack('>H', c)
        return bytes(b)
    if proto in (1, 58) and len(b) >= off + 8 and b[off] in (8, 128):
        old = struct.unpack('>H', b[off + 4:off + 6])[0]
        new = m.get((name, src, old))
        if new is None:
            return p
        b[off + 4:off + 6] = struct.pack('>H', new)
        c = struct.unpack('>H', b[off + 2:off + 4])[0]
        b[off + 2:off + 4] = struct.pack('>H', csum_update16(c, old, new))
        return bytes(b)
    return p


# ---- the packet comparison ------------------------------------------------------------

def is_mld(p):
    """An MLD message (RFC 2710, RFC 3810) right after a hop-by-hop header,
    as the kernel sends its own reports."""
    if p[0] >> 4 != 6 or len(p) < 50 or p[6] != 0:
        return False
    nh, at = p[40], 40 + (p[41] + 1) * 8
    return nh == 58 and len(p) > at and p[at] in (130, 131, 132, 143)


def frag6_id_at(p):
    """Offset of the identification of an IPv6 fragment header right after
    the fixed header, or None."""
    if p[0] >> 4 == 6 and len(p) >= 48 and p[6] == 44:
        return 44
    return None


def map_frag6_ids(kp, cp):
    """Gives the kernel's IPv6 fragments ctrack's identifications: Linux
    picks a new random one when it fragments a forwarded datagram again, so
    the n-th identification seen on the kernel's side is paired with the
    n-th seen on ctrack's."""
    def order(ps):
        ids = []
        for p in ps:
            at = frag6_id_at(p)
            if at is not None and p[at:at + 4] not in ids:
                ids.append(p[at:at + 4])
        return ids
    pairs = dict(zip(order(kp), order(cp)))
    out = []
    for p in kp:
        at = frag6_id_at(p)
        if at is not None and p[at:at + 4] in pairs:
            p = p[:at] + pairs[p[at:at + 4]] + p[at + 4:]
        out.append(p)
    return out


def compare(name, kpath, cpath, mpath, local, wire=False):
    kp = packets_of(kpath)
    cp = packets_of(cpath)
    if wire:
        kp = map_frag6_ids([p for p in kp if not is_mld(p)], cp)
    if mpath:
        m = load_map(mpath)
        kp = [apply_map(p, m) for p in kp]
    # What the kernel would have sent for each of ctrack's packets.
    want = [p if dst_addr(p) in local else forwarded(p) for p in cp]
    diffs = []
    sm = difflib.SequenceMatcher(None, kp, want, autojunk=False)
    for op, i1, i2, j1, j2 in sm.get_opcodes():
        if op == 'equal':
            continue
        pairs = min(i2 - i1, j2 - j1) if op == 'replace' else 0
        for k in range(pairs):
            a, b = kp[i1 + k], want[j1 + k]
            at = next((x for x in range(min(len(a), len(b))) if a[x] != b[x]), min(len(a), len(b)))
            diffs.append(f'{name} packet-differs #{i1 + k + 1}/#{j1 + k + 1} {summary(a)}: '
                         f'{field_name(a, at) if at < len(a) else "length"} at byte {at} '
                         f'kernel={a[at:at + 4].hex()} ctrack={b[at:at + 4].hex()}')
        for i in range(i1 + pairs, i2):
            diffs.append(f'{name} packet-kernel-only #{i + 1} {summary(kp[i])}')
        for j in range(j1 + pairs, j2):
            diffs.append(f'{name} packet-ctrack-only #{j + 1} {summary(cp[j])}')
    for d in diffs:
        print(d)
    return 1 if diffs else 0


def spoil(src, dst, n, offset):
    with open(src, 'rb') as f:
        data = bytearray(f.read())
    if data[:4] not in (b'\xd4\xc3\xb2\xa1', b'\x4d\x3c\xb2\xa1'):
        raise ValueError(f'{src}: not a little-endian classic pcap')
    link = struct.unpack('<I', data[20:24])[0] & 0x0fffffff
    off = 24
    for _ in range(n - 1):
        if off + 16 > len(data):
            break
        off += 16 + struct.unpack('<I', data[off + 8:off + 12])[0]
    if n < 1 or off + 16 > len(data):
        raise ValueError(f'{src}: has no frame {n}')
    incl = struct.unpack('<I', data[off + 8:off + 12])[0]
    frame = bytes(data[off + 16:off + 16 + incl])
    ip = ip_packet(link, frame)
    if ip is None or offset >= len(ip):
        raise ValueError(f'{src}: frame {n} has no byte {offset} of an IP packet')
    data[off + 16 + len(frame) - len(ip) + offset] ^= 0x55
    with open(dst, 'wb') as f:
        f.write(data)
    return 0


def main(argv):
    if len(argv) == 5 and argv[0] == 'spoil':
        return spoil(argv[1], argv[2], int(argv[3]), int(argv[4]))
    if len(argv) >= 2 and argv[0] == 'count':
        print(len(read_capture(argv[1])))
        return 0
    if len(argv) == 5 and argv[0] == 'portmap':
        return portmap(*argv[1:])
    if len(argv) >= 4 and argv[0] == 'packets':
        name, rest, mpath, local, wire = argv[1], argv[2:], None, set(), False
        while rest and rest[0].startswith('--'):
            if rest[0] == '--wire':
                wire = True
                rest = rest[1:]
                continue
            if rest[0] == '--map':
                mpath = rest[1]
            elif rest[0] == '--local':
                local.add(str(ipaddress.ip_address(rest[1])))
            else:
                break
            rest = rest[2:]
        if len(rest) == 2:
            return compare(name, rest[0], rest[1], mpath, local, wire)
    print(__doc__.split('\n\n')[1], file=sys.stderr)
    return 2


if __name__ == '__main__':
    try:
        sys.exit(main(sys.argv[1:]))
    except (OSError, ValueError, IndexError, struct.error) as e:
        print(f'natpkt: {" ".join(sys.argv[1:2])}: {e}', file=sys.stderr)
        sys.exit(2)
