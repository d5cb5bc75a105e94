#!/usr/bin/python3
"""Checks every checksum of every packet in captures with scapy.

Usage: checksums.py CAPTURE...

An independent check of the packets `ctrack read --write` rewrites (the
golden test tests/golden/kernel_nat_checksums.sh): scapy (Debian's
python3-scapy) dissects each packet and recomputes, with its own code, each
checksum it finds: the IPv4 header's, TCP's, UDP's (a zero UDP checksum
over IPv4 means none, RFC 768), ICMP's, ICMPv6's and SCTP's CRC32c (RFC
9260). Inside an ICMP or ICMPv6 error the quoted IP header's checksum is
checked too, and the quoted transport checksum when the quote holds the
whole quoted packet (a cut quote cannot be summed). Fragments are not
summed at the transport layer (the checksum covers the whole datagram).

Prints one line per bad checksum, "FILE #N LAYER: field=X, recomputed Y",
then a count; exits 1 if any was bad, 2 on a file it cannot read.
"""

import sys

try:
    from scapy.all import (IP, IPerror, IPv6, IPerror6, TCP, UDP, ICMP, SCTP, TCPerror,
                           UDPerror, Raw, rdpcap, raw, conf)
    from scapy.layers.inet6 import _ICMPv6, IPv6ExtHdrFragment
except ImportError as e:
    print(f'checksums: scapy is missing ({e}): install the Debian package python3-scapy',
          file=sys.stderr)
    sys.exit(3)

conf.verb = 0

# Layers whose checksum field scapy fills in when it is None, and its name.
CHECKED = {IP: 'chksum', IPerror: 'chksum', TCP: 'chksum', UDP: 'chksum', ICMP: 'chksum',
           SCTP: 'chksum', TCPerror: 'chksum', UDPerror: 'chksum'}


def field_of(layer):
    if isinstance(layer, _ICMPv6):
        return 'cksum'
    for cls, name in CHECKED.items():
        if type(layer) is cls:
            return name
    return None


def layers(pkt):
    out, cur = [], pkt
    while cur is not None and not isinstance(cur, Raw) and cur.name != 'NoPayload':
        out.append(cur)
        cur = cur.payload if cur.payload else None
    return out


def is_fragment(below):
    """Whether the layers below a transport header make it a fragment's."""
    for layer in below:
        if isinstance(layer, (IP, IPerror)) and (layer.flags.MF or layer.frag != 0):
            return True
        if isinstance(layer, IPv6ExtHdrFragment):
            return True
    return False


def quote_complete(ip_layer):
    """Whether a quoted IP packet is whole (its length field matches)."""
    if isinstance(ip_layer, IPerror):
        return ip_layer.len is not None and len(raw(ip_layer)) >= ip_layer.len
    if isinstance(ip_layer, IPerror6):
        return ip_layer.plen is not None and len(raw(ip_layer)) >= 40 + ip_layer.plen
    return True


def check_packet(pkt):
    """Returns [(layer name, stored, recomputed)] for each bad checksum."""
    bad = []
    ls = layers(pkt)
    for i, layer in enumerate(ls):
        field = field_of(layer)
        if field is None:
            continue
        stored = getattr(layer, field)
        j = next((k for k in range(i - 1, -1, -1)
                  if isinstance(ls[k], (IP, IPerror, IPv6, IPerror6))), None)
        ip_below = ls[j] if j is not None else None
        if field and not isinstance(layer, (IP, IPerror)) and ip_below is not None:
            if is_fragment(ls[j:i]):
                continue
            if isinstance(layer, (TCPerror, UDPerror)) and not quote_complete(ip_below):
                continue
            if isinstance(layer, (UDP, UDPerror)) and stored == 0 and \
                    isinstance(ip_below, (IP, IPerror)):
                continue  # no checksum (IPv4 only)
        # Rebuild the packet with this one checksum left to scapy.
        copy = pkt.copy()
        setattr(layers(copy)[i], field, None)
        rebuilt = pkt.__class__(raw(copy))
        again = getattr(layers(rebuilt)[i], field)
        if again != stored:
            bad.append((layer.name, stored, again))
    return bad


def main(paths):
    total_bad = 0
    total = 0
    for path in paths:
        try:
            pkts = rdpcap(path)
        except Exception as e:  # scapy raises several kinds on a bad file
            print(f'checksums: {path}: {e}', file=sys.stderr)
            return 2
        for n, pkt in enumerate(pkts, 1):
            total += 1
            for name, stored, again in check_packet(pkt):
                total_bad += 1
                print(f'{path} #{n} {name}: field={stored:#x}, recomputed {again:#x}')
    print(f'checksums: {total} packets, {total_bad} bad checksums')
    return 1 if total_bad else 0


if __name__ == '__main__':
    if len(sys.argv) < 2:
        print(__doc__.split('\n\n')[1], file=sys.stderr)
        sys.exit(2)
    sys.exit(main(sys.argv[1:]))
