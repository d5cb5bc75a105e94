#!/bin/bash
# Golden test of the connection lifecycle in `ctrack read` (docs/lifecycle.md,
# docs/cli.md): expiry in capture time, early drop and refusal in a full
# table, and the flow log of --at-end drain, on samples/sample.pcap.
#
# Usage: bash lifecycle.sh CTRACK SRCDIR BUILDDIR   (run by ctest)
#
# Checks, each against tests/golden/lifecycle.NAME.expected (stdout):
#   drain        --at-end drain: one [DESTROY] line per connection of the
#                capture: the RST-refused one "closed" at 1.501, the rest
#                "drained" at the last packet (3.800), in first-packet order;
#   drain.json   the same as JSON objects with "end" and "end_time";
#   expire       --timeout udp=1 --timeout icmp=2 with --trace: connections
#                expire in capture time, between the packets, and the table
#                at the end holds only what is alive at 3.800;
#   evict        --max-connections 2 with --trace: every new connection in the
#                full table evicts the oldest unassured one, never the
#                assured TCP connection;
#   full         --max-connections 1: the assured TCP connection holds the
#                only slot, every other new connection is INVALID table-full;
#   and --burst 1 / --burst 64 give the same output for each; --stats
#   prints the counters.
#
# Refresh with CTRACK_UPDATE_GOLDEN=1 and review `git diff tests/golden/`
# line by line: the expected files are a specification, not a recording.
. "$(dirname "${BASH_SOURCE[0]}")/lib.bash"

# check NAME ARGS...: runs ctrack read ARGS samples/sample.pcap from SRCDIR,
# compares stdout with lifecycle.NAME.expected, and checks that --burst 1 and
# --burst 64 change nothing.
check() {
    local name=$1
    shift
    (cd "$src" && "$ctrack" read "$@" samples/sample.pcap) >"$tmp/$name.out" 2>"$tmp/$name.err"
    local rc=$?
    if [ "$rc" -ne 0 ]; then
        fail "$name: ctrack read $* exited with $rc: $(head -1 "$tmp/$name.err")"
        return
    fi
    local want=$golden/lifecycle.$name.expected
    if [ "$update" = 1 ]; then
        cp "$tmp/$name.out" "$want"
        echo "updated lifecycle.$name.expected" >&2
    elif ! diff -u "$want" "$tmp/$name.out" >"$tmp/diff"; then
        fail "$name: output differs from lifecycle.$name.expected:"
        cat "$tmp/diff" >&2
    fi
    for b in 1 64; do
        (cd "$src" && "$ctrack" read --burst "$b" "$@" samples/sample.pcap) >"$tmp/$name.b$b" 2>/dev/null
        cmp -s "$tmp/$name.out" "$tmp/$name.b$b" || fail "$name: --burst $b changed the output"
    done
}

check drain --at-end drain
check drain.json --at-end drain --format json
check expire --at-end drain --trace -q --timeout udp=1 --timeout icmp=2
check expire.table -q --timeout udp=1 --timeout icmp=2
check evict --at-end drain --trace -q --max-connections 2
check full --trace -q --max-connections 1

# Summaries: the flow log counts every connection of the capture.
grep -q '^samples/sample.pcap: 27 packets, 8 connections$' "$tmp/drain.err" ||
    fail "drain summary: $(head -1 "$tmp/drain.err")"
grep -q '^table: created=12 peak=2 max=2 expired=0 early_drop=9 refused_full=0$' "$tmp/evict.err" &&
    fail "evict: -q still printed a summary"
(cd "$src" && "$ctrack" read --max-connections 1 samples/sample.pcap) >/dev/null 2>"$tmp/full.sum"
# 14 packets would have created a connection (the DNS and NTP answers too,
# as their queries were refused); the ICMP echo reply and the RST keep their
# own reasons.
grep -q '^table: created=1 peak=1 max=1 expired=0 early_drop=0 refused_full=14$' "$tmp/full.sum" ||
    fail "full summary: $(grep '^table' "$tmp/full.sum")"
grep -q '^reasons: not-ip=1 ip-checksum=1 icmp-reply-no-request=1 tcp-new-not-syn=1 table-full=14$' "$tmp/full.sum" ||
    fail "full reasons: $(grep '^reasons' "$tmp/full.sum")"

# --stats: every counter, with -q too. Ended: the RST-refused connection
# (closed); the one-way UDP flow three times (at 1.8, 2.8, 3.8), the DNS
# query (swept at 2.0), the ping (swept at 3.0) and the IPv6 DNS query (at
# the end) expired; left: TIME_WAIT, SYN_SENT, NTP and the last UDP flow.
(cd "$src" && "$ctrack" read -q --stats --timeout udp=1 --timeout icmp=2 samples/sample.pcap) \
    >/dev/null 2>"$tmp/stats"
grep -q '^stats: ended=7 closed=1 expired=6 replaced=0 evicted=0 flushed=0 drained=0$' "$tmp/stats" ||
    fail "--stats: ended line: $(grep 'ended=' "$tmp/stats")"
grep -q '^stats: size=4 peak=5 max=1048576 buckets=[0-9]* timers=4 ' "$tmp/stats" ||
    fail "--stats: size line: $(grep 'size=' "$tmp/stats")"
grep -q '^stats: sweep calls=[0-9]* examined=[0-9]* expired=[0-9]* refiled=[0-9]* backlog=0 ' "$tmp/stats" ||
    fail "--stats: sweep line: $(grep 'sweep' "$tmp/stats")"
[ "$(grep -c '^stats: ' "$tmp/stats")" -eq 6 ] || fail "--stats: expected 6 lines"

finish "lifecycle: all checks passed"
