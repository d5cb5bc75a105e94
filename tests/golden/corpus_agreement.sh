#!/bin/bash
# Corpus acceptance test: ctrack's flow records against what Zeek and
# Suricata wrote for the same captures (../shared/corpus, see its INDEX.md).
#
# Zeek: for every capture with a conn.log expectation (full logs, zeek-cut
# column subsets, and the .out files that print "history, conn_state" or
# "conn_id, community_id" per connection), `ctrack read --format zeek
# --ip-proto --community-id` with the options of Zeek's reference run (-C is
# --no-checksum, report_gaps_for_partial is --report-gaps-for-partial, the
# VLAN-aware key is --vlan-key) is compared row by row and field by field.
# Not compared: ts and #open/#close (masked by Zeek's tests), uid (ours are
# our own), service (ctrack has no application analyzers), columns ctrack does
# not write (id.ctx.vlan); tunnel_parents is compared by the number of
# parents, since the values are uids. An expected row agrees when one of
# ctrack's rows (each used once) equals it in every compared field.
#
# Suricata: for every flow record a test.yaml asserts (filters with
# event_type: flow), `ctrack read --flows --format json` (-k none is
# --no-checksum; Suricata keys flows by VLAN, so --vlan-key) must hold a
# record of the same addresses, ports (ICMP: none) and protocol with:
#   - the packets per direction (toserver = from Suricata's src_ip);
#   - the bytes per direction, where Suricata counts whole frames: its bytes
#     minus ctrack's IP bytes must be the same link-header size per packet in
#     both directions, one of 0 (raw IP inside a tunnel), 14 (Ethernet),
#     18, 22 or 26 (one to three VLAN tags);
#   - flow.state: for TCP from conntrack's TCP state at the end: "closed"
#     for LAST_ACK, TIME_WAIT or CLOSE, "established" for SYN_RECV,
#     ESTABLISHED, FIN_WAIT or CLOSE_WAIT, else "new" (no connection, or
#     SYN_SENT); for UDP and ICMP "new" when no packet came back, else
#     "established";
# Suricata does not split a flow by Zeek's timers (its own timeouts are
# longer than these captures), so these runs use --no-zeek-timers: one
# record per connection key for the whole capture.
# filters without addresses (eve-flow-vlan-02) compare the number of records.
#
# The table printed has one line per case: expected rows (or flows), rows
# that agree, ctrack's extra rows, and each disagreeing field as
# column=expected/ctrack. The test fails when a case agrees on fewer rows or
# has more extra rows than tests/corpus/baseline.tsv records; it prints the
# improvement when it does better (then update the baseline:
# CTRACK_UPDATE_BASELINE=1). README.md lists every remaining disagreement.
#
# Usage: bash corpus_agreement.sh CTRACK SRCDIR BUILDDIR   (run by ctest)
# Exit 77 (skipped) when the corpus is not there.
set -u

ctrack=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
src=$(cd "$2" && pwd)
corpus=${CTRACK_CORPUS:-$src/../shared/corpus}
baseline=$src/tests/corpus/baseline.tsv
update=${CTRACK_UPDATE_BASELINE:-0}

if [ ! -f "$corpus/INDEX.md" ]; then
    echo "corpus_agreement: skipped: no corpus at $corpus"
    exit 77
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
: >"$tmp/results"

# name | kind | capture | expectation | ctrack options
# kinds: conn (a conn.log or a cut with a header), cidout (conn_id,
# community_id lines), rstN (line N of "history, conn_state"), reorder (the
# headerless cut of handshake-reorder), suri (a Suricata test.yaml).
cases() {
    local z=zeek s=suricata-verify
    cat <<EOF
rst-single|rst1|$z/tcp/single-rst.pcap|$z/tcp/single-rst.expected.scripts.base.protocols.conn.conn_state-RST-behavior.out|--no-checksum
rst-syn|rst2|$z/tcp/syn-then-rst.pcap|$z/tcp/syn-then-rst.expected.scripts.base.protocols.conn.conn_state-RST-behavior.out|--no-checksum
rst-syn-ack|rst3|$z/tcp/syn-then-ack-then-rst.pcap|$z/tcp/syn-then-ack-then-rst.expected.scripts.base.protocols.conn.conn_state-RST-behavior.out|--no-checksum
rst-syn-stuff|rst4|$z/tcp/syn-then-stuff-then-rst.pcap|$z/tcp/syn-then-stuff-then-rst.expected.scripts.base.protocols.conn.conn_state-RST-behavior.out|--no-checksum
missing-syn|conn|$z/tcp/missing-syn.pcap|$z/tcp/missing-syn.expected.core.tcp.missing-syn.conn.log|--no-checksum
retransmit-fast009|conn|$z/tcp/retransmit-fast009.pcap|$z/tcp/retransmit-fast009.expected.core.tcp.rxmit-history.conn-1.log|--no-checksum
miss-end-data|conn|$z/tcp/miss_end_data.pcap|$z/tcp/miss_end_data.expected.core.tcp.miss-end-data.conn.log|--report-gaps-for-partial
retransmit-timeout-all|conn|$z/tcp/retransmit-timeout.pcapng|$z/tcp/retransmit-timeout.expected.core.expire-all-timers.conn-all.log|--no-checksum
retransmit-timeout-limited|conn|$z/tcp/retransmit-timeout.pcapng|$z/tcp/retransmit-timeout.expected.core.expire-all-timers.conn-limited.log|--no-checksum
syn-bad|conn|$z/tcp/syn-bad.pcap|$z/tcp/syn-bad.expected.core.tcp.bad-checksum-syn.conn.log|
handshake-reorder|reorder|$z/tcp/handshake-reorder.pcap|$z/tcp/handshake-reorder.expected.scripts.policy.protocols.conn.community-id-logging-flipped.conn.log.cut|
http-on-irc-port|conn|$z/tcp/http-on-irc-port-missing-syn.pcapng|$z/tcp/http-on-irc-port-missing-syn.expected.core.tcp.flip-without-syn.conn.log|
one-sided-2745|conn|$z/tcp/one-sided-2745.pcap|$z/tcp/one-sided-2745.expected.core.conn-size-flip.conn.log.one-sided|--no-checksum
ctu-64702-888|conn|$z/tcp/ctu-64702-888.pcap|$z/tcp/ctu-64702-888.expected.core.conn-size-flip.conn.log.ctu|--no-checksum
http-get|conn|$z/http/get.pcap|$z/http/get.expected.core.tcp.reassembly-known-ports.conn.log|
tcp-http-padding|conn|$z/tcp-http-with-padding.pcap|$z/tcp-http-with-padding.expected.core.tcp-padding.conn.log|--no-checksum
wikipedia|conn|$z/wikipedia.pcap|$z/wikipedia.expected.core.tcp.rxmit-history.conn-2.log|--no-checksum
cid-tcp|cidout|$z/communityid/tcp.pcap|$z/communityid/tcp.expected.bifs.community_id.run-pcaps.tcp.pcap.out|
cid-udp|cidout|$z/communityid/udp.pcap|$z/communityid/udp.expected.bifs.community_id.run-pcaps.udp.pcap.out|
cid-icmp|cidout|$z/communityid/icmp.pcap|$z/communityid/icmp.expected.bifs.community_id.run-pcaps.icmp.pcap.out|
cid-icmp6|cidout|$z/communityid/icmp6.pcap|$z/communityid/icmp6.expected.bifs.community_id.run-pcaps.icmp6.pcap.out|
cid-ipv6|cidout|$z/communityid/ipv6.pcap|$z/communityid/ipv6.expected.bifs.community_id.run-pcaps.ipv6.pcap.out|
vlan-collisions|conn|$z/vlan-collisions.pcap|$z/vlan-collisions.expected.scripts.policy.frameworks.conn_key.vlan_fivetuple.conn.log.cut|
vlan-collisions-key|conn|$z/vlan-collisions.pcap|$z/vlan-collisions.expected.scripts.policy.frameworks.conn_key.vlan_fivetuple-2.conn.log.cut|--vlan-key
q-in-q|conn|$z/q-in-q.pcap|$z/q-in-q.expected.core.q-in-q.conn.log|
mixed-vlan-mpls|conn|$z/mixed-vlan-mpls.pcap|$z/mixed-vlan-mpls.expected.core.vlan-mpls.conn.log|--no-checksum
vxlan|conn|$z/tunnels/vxlan.pcap|$z/tunnels/vxlan.expected.core.tunnels.vxlan.conn.log|
gre-sample|conn|$z/tunnels/gre-sample.pcap|$z/tunnels/gre-sample.expected.core.tunnels.gre.conn.log|
teredo|conn|$z/tunnels/Teredo.pcap|$z/tunnels/Teredo.expected.core.tunnels.teredo.conn.log|
gtp-outer-frag|conn|$z/tunnels/gtp/gtp1_gn_normal_incl_fragmentation.pcap|$z/tunnels/gtp/gtp1_gn_normal_incl_fragmentation.expected.core.tunnels.gtp.outer_ip_frag.conn.log|--no-checksum
suri-bug-6733|suri|$s/bug-6733-syn-packet-flow-output.pcap|$s/bug-6733-syn-packet-flow-output.expected.test.yaml|--vlan-key
suri-app-layer-template|suri|$s/app-layer-template.pcap|$s/app-layer-template.expected.test.yaml|--vlan-key --no-checksum
suri-bug-814|suri|$s/bug-814.pcap|$s/bug-814.expected.test.yaml|--vlan-key --no-checksum
suri-bug-2646-01|suri|$s/bug-2646-01.pcap|$s/bug-2646-01.expected.test.yaml|--vlan-key --no-checksum
suri-bug-2491-02|suri|$s/bug-2491-02.pcap|$s/bug-2491-02.expected.test.yaml|--vlan-key
suri-bittorrent-dht|suri|$s/bittorrent-dht.pcap|$s/bittorrent-dht.expected.test.yaml|--vlan-key --no-checksum
suri-nfs3-01|suri|$s/nfs3-01.pcap|$s/nfs3-01.expected.test.yaml|--vlan-key --no-checksum
suri-geneve|suri|$s/geneve-decoder.pcap|$s/geneve-decoder.expected.test.yaml|--vlan-key --no-checksum
suri-decode-teredo-01|suri|$s/decode-teredo-01.pcap|$s/decode-teredo-01.expected.test.yaml|--vlan-key --no-checksum
suri-eve-flow-vlan-02|suri|$s/eve-flow-vlan-02.pcap|$s/eve-flow-vlan-02.expected.test.yaml|--vlan-key
EOF
}

# Turns an expectation into "#cols<TAB>..." then rows, one per line.
normalize() {
    local kind=$1 file=$2
    case $kind in
    conn)
        awk -F'\t' '
            /^### / || /^#(separator|set_separator|empty_field|unset_field|path|open|close|types)/ { next }
            /^#fields\t/ { sub(/^#fields\t/, ""); print "#cols\t" $0; next }
            !hdr && ($1 == "ts" || $1 == "uid") { hdr = 1; print "#cols\t" $0; next }
            NF { print }' "$file"
        ;;
    rst*)
        local n=${kind#rst}
        printf '#cols\thistory\tconn_state\n'
        grep -v '^#' "$file" | sed -n "${n}p" | sed 's/, /\t/'
        ;;
    reorder)
        printf '#cols\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tservice\tcommunity_id\n'
        grep -v '^#' "$file"
        ;;
    cidout)
        printf '#cols\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tcommunity_id\n'
        grep -v '^#' "$file" |
            sed -E 's/^\[orig_h=([^,]*), orig_p=([0-9]+)\/[a-z]+, resp_h=([^,]*), resp_p=([0-9]+)\/[a-z]+, proto=[0-9]+, ctx=\[\]\], (.*)$/\1\t\2\t\3\t\4\t\5/'
        ;;
    esac
}

# Compares normalized expectation $1 with ctrack's log $2; prints
# "EXPECTED AGREED EXTRA DIFFS".
compare_zeek() {
    awk -F'\t' -v OFS='\t' '
        function nparents(v,   a) { return (v == "-" || v == "(empty)" || v == "") ? 0 : split(v, a, ",") }
        FNR == NR {
            if ($1 == "#cols") { ne = NF - 1; for (i = 2; i <= NF; i++) ecol[i - 1] = $i; next }
            nexp++; for (i = 1; i <= NF; i++) exp_[nexp, i] = $i; next
        }
        /^#fields\t/ { for (i = 2; i <= NF; i++) acol[$i] = i - 1; next }
        /^#/ { next }
        NF { nact++; for (i = 1; i <= NF; i++) act[nact, i] = $i }
        END {
            agreed = 0; diffs = ""
            for (r = 1; r <= nexp; r++) {
                found = 0; best = 0; bestbad = 1e9; bestdiff = ""
                for (k = 1; k <= nact && !found; k++) {
                    if (used[k]) continue
                    bad = 0; d = ""; keybad = 0
                    for (c = 1; c <= ne; c++) {
                        name = ecol[c]
                        if (name == "ts" || name == "uid" || name == "service" || !(name in acol)) continue
                        e = exp_[r, c]; a = act[k, acol[name]]
                        if (name == "tunnel_parents") { e = nparents(e); a = nparents(a) }
                        if (e != a) {
                            bad++; d = d " " name "=" e "/" a
                            if (name ~ /^id\.|^proto$/) keybad = 1
                        }
                    }
                    if (bad == 0) { found = k; break }
                    if (!keybad && bad < bestbad) { bestbad = bad; best = k; bestdiff = d }
                }
                if (found) { used[found] = 1; agreed++; continue }
                if (best) { used[best] = 1; diffs = diffs " [" substr(bestdiff, 2) "]" }
                else diffs = diffs " [row " r ": no ctrack row]"
            }
            extra = 0
            for (k = 1; k <= nact; k++) if (!used[k]) extra++
            print nexp, agreed, extra, (diffs == "" ? "-" : substr(diffs, 2))
        }' "$1" "$2"
}

# Suricata: the flow filters of a test.yaml as "src dst sport dport proto
# state pkts_ts pkts_tc bytes_ts bytes_tc count" lines ("-" when absent).
suri_expect() {
    awk '
        function d(k) { return (k in v && v[k] != "") ? v[k] : "-" }
        function flush() {
            if (isflow) print d("src_ip"), d("dest_ip"), d("src_port"), d("dest_port"), d("proto"), d("flow.state"), d("flow.pkts_toserver"), d("flow.pkts_toclient"), d("flow.bytes_toserver"), d("flow.bytes_toclient"), (cnt == "" ? 1 : cnt)
            split("", v); isflow = 0; cnt = ""
        }
        /^ *- filter:/ { flush(); next }
        /^ *count:/ { cnt = $2; next }
        /^ *[a-z_.]+(\[[0-9]+\])?: / {
            key = $1; sub(/:$/, "", key); val = $0; sub(/^ *[^:]*: */, "", val); gsub(/["\047]/, "", val)
            if (key == "event_type" && val == "flow") isflow = 1
            v[key] = val
        }
        END { flush() }' "$1"
}

# Compares the Suricata flows $1 with ctrack's JSON records $2.
compare_suri() {
    awk -v OFS='\t' '
        function jget(line, key,   m, s) {
            s = "\"" key "\":"
            m = index(line, s); if (!m) return "-"
            line = substr(line, m + length(s))
            if (substr(line, 1, 1) == "\"") { line = substr(line, 2); return substr(line, 1, index(line, "\"") - 1) }
            match(line, /^[^,}]*/); return substr(line, 1, RLENGTH)
        }
        # Expands an IPv6 address to eight 4-digit groups; IPv4 as is.
        function ip(a,   n, g, i, out, left, right, nl, nr, L, R) {
            if (a !~ /:/) return a
            a = tolower(a)
            if (index(a, "::")) {
                left = substr(a, 1, index(a, "::") - 1); right = substr(a, index(a, "::") + 2)
                nl = left == "" ? 0 : split(left, L, ":"); nr = right == "" ? 0 : split(right, R, ":")
                out = ""
                for (i = 1; i <= nl; i++) out = out (out == "" ? "" : ":") sprintf("%4s", L[i])
                for (i = 1; i <= 8 - nl - nr; i++) out = out (out == "" ? "" : ":") "0000"
                for (i = 1; i <= nr; i++) out = out (out == "" ? "" : ":") sprintf("%4s", R[i])
            } else {
                n = split(a, g, ":"); out = ""
                for (i = 1; i <= n; i++) out = out (out == "" ? "" : ":") sprintf("%4s", g[i])
            }
            gsub(/ /, "0", out); return out
        }
        FNR == NR { nexp++; for (i = 1; i <= NF; i++) e[nexp, i] = $i; next }
        { nact++; line[nact] = $0
          ah[nact] = ip(jget($0, "id.orig_h")); ap[nact] = jget($0, "id.orig_p")
          bh[nact] = ip(jget($0, "id.resp_h")); bp[nact] = jget($0, "id.resp_p")
          pr[nact] = toupper(jget($0, "proto")); if (pr[nact] == "ICMP" && jget($0, "ip_proto") == "58") pr[nact] = "IPV6-ICMP"
          op[nact] = jget($0, "orig_pkts"); rp[nact] = jget($0, "resp_pkts")
          ob[nact] = jget($0, "orig_ip_bytes"); rb[nact] = jget($0, "resp_ip_bytes")
          l4[nact] = jget($0, "l4_state") }
        END {
            agreed = 0; diffs = ""; nflows = 0
            for (r = 1; r <= nexp; r++) {
                src = e[r, 1]; dst = e[r, 2]; sp = e[r, 3]; dp = e[r, 4]; proto = toupper(e[r, 5])
                if (proto == "IPV6-ICMP") proto = "ICMP"
                nflows += e[r, 11]
                if (src == "-") {
                    # No addresses: the number of records is what can be compared.
                    nolabel += e[r, 11]; continue
                }
                src = ip(src); dst = ip(dst)
                found = 0; d = ""
                for (k = 1; k <= nact && !found; k++) {
                    if (used[k]) continue
                    p = pr[k]; if (p == "IPV6-ICMP") p = "ICMP"
                    if (proto != "-" && p != proto) continue
                    fwd = (ah[k] == src && bh[k] == dst && (proto == "ICMP" || sp == "-" || (ap[k] == sp && bp[k] == dp)))
                    rev = (ah[k] == dst && bh[k] == src && (proto == "ICMP" || sp == "-" || (ap[k] == dp && bp[k] == sp)))
                    if (!fwd && !rev) continue
                    pts = fwd ? op[k] : rp[k]; ptc = fwd ? rp[k] : op[k]
                    bts = fwd ? ob[k] : rb[k]; btc = fwd ? rb[k] : ob[k]
                    st = (ptc == 0) ? "new" : "established"
                    if (proto == "TCP") {
                        st = "new"
                        if (l4[k] == "SYN_RECV" || l4[k] == "ESTABLISHED" || l4[k] == "FIN_WAIT" || l4[k] == "CLOSE_WAIT") st = "established"
                        if (l4[k] == "LAST_ACK" || l4[k] == "TIME_WAIT" || l4[k] == "CLOSE") st = "closed"
                    }
                    bad = ""
                    if (e[r, 7] != "-" && e[r, 7] != pts) bad = bad " pkts_toserver=" e[r, 7] "/" pts
                    if (e[r, 8] != "-" && e[r, 8] != ptc) bad = bad " pkts_toclient=" e[r, 8] "/" ptc
                    if (e[r, 6] != "-" && e[r, 6] != st) bad = bad " state=" e[r, 6] "/" st
                    okb = 0
                    if (e[r, 9] != "-" && e[r, 7] == pts && e[r, 8] == ptc) {
                        split("0 14 18 22 26", L, " ")
                        for (li = 1; li <= 5; li++)
                            if (e[r, 9] - bts == L[li] * pts && e[r, 10] - btc == L[li] * ptc) okb = 1
                        if (!okb) bad = bad " bytes=" e[r, 9] "," e[r, 10] "/" bts "," btc "(IP)"
                    }
                    used[k] = 1
                    if (bad == "") { found = 1; agreed++ } else { found = 2; d = bad }
                }
                if (found == 2) diffs = diffs " [" src " " sp ":" substr(d, 2) "]"
                else if (!found) diffs = diffs " [" src " " sp " " dst " " dp ": no ctrack record]"
            }
            if (nolabel) {
                if (nact == nolabel) agreed += nexp; else diffs = diffs " [records=" nolabel "/" nact "]"
                print nexp, agreed, 0, (diffs == "" ? "-" : substr(diffs, 2)); exit
            }
            extra = 0
            print nexp, agreed, extra, (diffs == "" ? "-" : substr(diffs, 2))
        }' "$1" "$2"
}

failures=0
while IFS='|' read -r name kind cap expf opts; do
    [ -n "$name" ] || continue
    if [ ! -f "$corpus/$cap" ] || [ ! -f "$corpus/$expf" ]; then
        echo "FAIL: $name: $cap or its expectation is missing from the corpus" >&2
        failures=$((failures + 1))
        continue
    fi
    # shellcheck disable=SC2086
    if [ "$kind" = suri ]; then
        "$ctrack" read -q --max-connections 65536 --flows --format json --no-zeek-timers $opts "$corpus/$cap" >"$tmp/out" 2>"$tmp/err"
        rc=$?
        suri_expect "$corpus/$expf" >"$tmp/exp"
        res=$(compare_suri "$tmp/exp" "$tmp/out")
    else
        "$ctrack" read -q --max-connections 65536 --format zeek --ip-proto --community-id $opts "$corpus/$cap" \
            >"$tmp/out" 2>"$tmp/err"
        rc=$?
        normalize "$kind" "$corpus/$expf" >"$tmp/exp"
        res=$(compare_zeek "$tmp/exp" "$tmp/out")
    fi
    if [ "$rc" -ne 0 ]; then
        echo "FAIL: $name: ctrack exit status $rc: $(head -3 "$tmp/err")" >&2
        failures=$((failures + 1))
        continue
    fi
    printf '%s\t%s\n' "$name" "$res" >>"$tmp/results"
done < <(cases)

# The table.
total_e=0 total_a=0 total_x=0
printf '%-28s %8s %6s %5s  %s\n' case expected agreed extra "disagreements (column=expected/ctrack)"
while IFS=$'\t' read -r name e a x d; do
    printf '%-28s %8s %6s %5s  %s\n' "$name" "$e" "$a" "$x" "$d"
    total_e=$((total_e + e))
    total_a=$((total_a + a))
    total_x=$((total_x + x))
done <"$tmp/results"
printf '%-28s %8s %6s %5s\n' total "$total_e" "$total_a" "$total_x"

if [ "$update" = 1 ]; then
    mkdir -p "$(dirname "$baseline")"
    {
        echo "# case	expected	agreed	extra (written by CTRACK_UPDATE_BASELINE=1 bash tests/golden/corpus_agreement.sh)"
        cut -f1-4 "$tmp/results"
    } >"$baseline"
    echo "corpus_agreement: baseline written to $baseline"
    exit 0
fi

if [ ! -f "$baseline" ]; then
    echo "FAIL: no baseline at $baseline" >&2
    exit 1
fi
while IFS=$'\t' read -r name e a x _; do
    line=$(grep -P "^\Q$name\E\t" "$baseline" || true)
    if [ -z "$line" ]; then
        echo "FAIL: $name: not in the baseline" >&2
        failures=$((failures + 1))
        continue
    fi
    IFS=$'\t' read -r _ be ba bx <<<"$line"
    if [ "$a" -lt "$ba" ] || [ "$x" -gt "$bx" ] || [ "$e" -ne "$be" ]; then
        echo "FAIL: $name: agreed $a of $e with $x extra rows; the baseline has $ba of $be with $bx" >&2
        failures=$((failures + 1))
    elif [ "$a" -gt "$ba" ] || [ "$x" -lt "$bx" ]; then
        echo "note: $name improved on the baseline ($ba -> $a agreed, $bx -> $x extra); update it" >&2
    fi
done <"$tmp/results"

if [ "$failures" -ne 0 ]; then
    echo "$failures regression(s) from $baseline" >&2
    exit 1
fi
echo "corpus_agreement: $total_a of $total_e expected rows and flows agree ($total_x extra rows), no regression"
