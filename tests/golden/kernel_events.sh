#!/bin/bash
# Golden test: the kernel comparison's event normaliser
# (tests/kernel/events.awk), which needs no kernel. The input is part of a
# stream tools/ct_events recorded from Linux 6.18 (the cases
# tcp-time-wait-reuse and rules-ct-match), with a timestamp in conntrack's
# own layout and a ctrack-style mark=0 zone=0 added; the output is what the
# comparison diffs. It checks that timestamps, timeouts, blanks, mark=0 and
# zone=0 go, that everything else stays in order, DESTROY counters
# included, and that the flush after "# mark" is not compared.
#
# Usage: bash kernel_events.sh CTRACK SRCDIR BUILDDIR   (run by ctest)
. "$(dirname "${BASH_SOURCE[0]}")/lib.bash"

printf '%s\n' \
    $'[1796566978.106281]\t    [NEW] ipv4     2 tcp      6 120 SYN_SENT src=10.1.0.1 dst=10.2.0.1 sport=40012 dport=80 [UNREPLIED] src=10.2.0.1 dst=10.1.0.1 sport=80 dport=40012' \
    $'[1796566978.116237]\t [UPDATE] ipv4     2 tcp      6 120 TIME_WAIT src=10.1.0.1 dst=10.2.0.1 sport=40012 dport=80 src=10.2.0.1 dst=10.1.0.1 sport=80 dport=40012 [ASSURED]' \
    $'[1796566978.144049]\t[DESTROY] ipv4     2 tcp      6 119 TIME_WAIT src=10.1.0.1 dst=10.2.0.1 sport=40012 dport=80 packets=6 bytes=352 src=10.2.0.1 dst=10.1.0.1 sport=80 dport=40012 packets=5 bytes=412 [ASSURED]' \
    $'[1796566978.91339 ]\t [UPDATE] ipv4     2 udp      17 30 src=10.1.0.1 dst=10.2.0.1 sport=41080 dport=53 src=10.2.0.1 dst=10.1.0.1 sport=53 dport=41080 mark=7' \
    $'[1796566978.200000]\t    [NEW] ipv4     2 unknown  253 600 src=10.1.0.1 dst=10.2.0.1 [UNREPLIED] src=10.2.0.1 dst=10.1.0.1 mark=0 zone=0' \
    '# mark' \
    $'[1796566978.300000]\t[DESTROY] ipv4     2 unknown  253 599 src=10.1.0.1 dst=10.2.0.1 packets=1 bytes=40 [UNREPLIED] src=10.2.0.1 dst=10.1.0.1 packets=0 bytes=0' \
    >"$tmp/stream"

cat >"$tmp/expected" <<'EXPECTED'
[NEW] ipv4 2 tcp 6 SYN_SENT src=10.1.0.1 dst=10.2.0.1 sport=40012 dport=80 [UNREPLIED] src=10.2.0.1 dst=10.1.0.1 sport=80 dport=40012
[UPDATE] ipv4 2 tcp 6 TIME_WAIT src=10.1.0.1 dst=10.2.0.1 sport=40012 dport=80 src=10.2.0.1 dst=10.1.0.1 sport=80 dport=40012 [ASSURED]
[DESTROY] ipv4 2 tcp 6 TIME_WAIT src=10.1.0.1 dst=10.2.0.1 sport=40012 dport=80 packets=6 bytes=352 src=10.2.0.1 dst=10.1.0.1 sport=80 dport=40012 packets=5 bytes=412 [ASSURED]
[UPDATE] ipv4 2 udp 17 src=10.1.0.1 dst=10.2.0.1 sport=41080 dport=53 src=10.2.0.1 dst=10.1.0.1 sport=53 dport=41080 mark=7
[NEW] ipv4 2 unknown 253 src=10.1.0.1 dst=10.2.0.1 [UNREPLIED] src=10.2.0.1 dst=10.1.0.1
EXPECTED

awk -f "$src/tests/kernel/events.awk" "$tmp/stream" >"$tmp/out" || fail "events.awk failed"
diff -u "$tmp/expected" "$tmp/out" || fail "events.awk normalised the stream differently"

# The same stream without its timestamps (as a ctrack without them would
# print it) normalises to the same lines.
sed -E 's/^\[[0-9. ]+\]\t//' "$tmp/stream" | awk -f "$src/tests/kernel/events.awk" >"$tmp/out2"
diff -u "$tmp/expected" "$tmp/out2" || fail "events.awk depends on the timestamp"

finish "kernel events normaliser: ok"
