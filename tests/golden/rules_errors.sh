#!/bin/bash
# Golden test: `ctrack read --rules FILE` with a rules file it cannot use
# ends with exit status 2, nothing on stdout, and one line on stderr,
# `ctrack: FILE:LINE:COL: problem` (or `ctrack: FILE: problem` for what has
# no place in the file); no packet is processed. A good rules file changes
# the table as the rules say, and a capture read with an empty rules file
# gives the table it gives without rules.
#
# Usage: bash rules_errors.sh CTRACK SRCDIR BUILDDIR   (run by ctest)
. "$(dirname "${BASH_SOURCE[0]}")/lib.bash"
sample=$src/samples/sample.pcap

# expect_error NAME PATTERN RULES-TEXT: writes the rules to a file, runs
# ctrack read --rules on the sample and checks status 2, an empty stdout
# and one line on stderr matching the extended regular expression PATTERN.
expect_error() {
    local name=$1 pattern=$2
    printf '%s' "$3" >"$tmp/$name.nft"
    "$ctrack" read --rules "$tmp/$name.nft" "$sample" >"$tmp/out" 2>"$tmp/err" </dev/null
    local rc=$?
    [ "$rc" -eq 2 ] || fail "$name: exit status $rc, expected 2"
    [ -s "$tmp/out" ] && fail "$name: printed on stdout: $(head -1 "$tmp/out")"
    local lines
    lines=$(wc -l <"$tmp/err")
    if [ "$lines" -ne 1 ]; then
        fail "$name: $lines lines on stderr, expected 1:"
        sed 's/^/    /' "$tmp/err" >&2
    elif ! grep -Eq -- "^ctrack: $pattern\$" "$tmp/err"; then
        fail "$name: stderr does not match /$pattern/: $(cat "$tmp/err")"
    fi
}

raw='table ip t {
  chain c {
    type filter hook prerouting priority raw
'
post='table ip t {
  chain c {
    type filter hook prerouting priority filter
'

expect_error syntax ".*/syntax\.nft:1:1: unsupported: 'tabel' \(a table expected\)" \
    'tabel ip t { }'
expect_error statement ".*/statement\.nft:4:22: unsupported: 'reject'" \
    "$raw"'    ip saddr 1.2.3.4 reject
  }
}'
expect_error nat-in-filter ".*/nat-in-filter\.nft:4:22: 'masquerade' needs a chain of type nat" \
    "$raw"'    ip saddr 1.2.3.4 masquerade
  }
}'
expect_error zone-range ".*/zone-range\.nft:4:17: zone 70000 out of range \(0 to 65535\)" \
    "$raw"'    ct zone set 70000
  }
}'
expect_error no-timeout \
    ".*/no-timeout\.nft:4:20: ct timeout \"gone\" does not exist in this table" \
    "$post"'    ct timeout set "gone"
  }
}'
expect_error no-helper ".*/no-helper\.nft:2:22: helper type \"sip\" does not exist" \
    'table ip t {
  ct helper h { type "sip" protocol udp; }
}'
expect_error missing-helper \
    ".*/missing-helper\.nft:4:19: ct helper \"ftp\" does not exist in this table" \
    "$post"'    ct helper set "ftp"
  }
}'
expect_error wrong-side \
    ".*/wrong-side\.nft:4:5: 'ct mark set' has no effect before conntrack \(chain c has .*\)" \
    "$raw"'    ct mark set 1
  }
}'
expect_error hook \
    ".*/hook\.nft:3:22: unsupported: hook 'input' \(ctrack sees packets at prerouting and .*\)" \
    'table ip t {
  chain c {
    type filter hook input priority 0
  }
}'
expect_error unterminated ".*/unterminated\.nft:4:13: unterminated string" \
    "$raw"'    iifname "eth0
  }
}'
expect_error eof ".*/eof\.nft:5:1: chain c: '}' missing" \
    "$raw"'    notrack
'

# NAT statements that cannot load: each error names the place and the
# problem. All of them are refused by nft too (checked below when nft can
# load rules here); port 0 is ctrack's own refusal (docs/rules.md).
dnat='table ip t {
  chain c {
    type nat hook prerouting priority dstnat
'
snat='table ip t {
  chain c {
    type nat hook postrouting priority srcnat
'
nat_bad=(
    "nat-reversed|4:13: address range '10.0.0.9-10.0.0.1' is empty: it ends before it starts|$dnat    dnat to 10.0.0.9-10.0.0.1"
    "nat-ports-reversed|4:30: port range '90-80' is empty: it ends before it starts|$dnat    meta l4proto tcp dnat to 10.0.0.2:90-80"
    "nat-port-range|4:30: bad port or port range '80-' \(1 to 65535\)|$dnat    meta l4proto tcp dnat to 10.0.0.2:80-"
    "nat-no-proto|4:13: a port mapping needs a transport protocol match first .*|$dnat    dnat to 10.0.0.2:80"
    "nat-dnat-post|4:5: 'dnat' is not allowed at hook postrouting \(only at prerouting and output\)|$snat    dnat to 10.0.0.2"
    "nat-masq-pre|4:5: 'masquerade' is not allowed at hook prerouting \(only at postrouting\)|$dnat    masquerade"
    "nat-v6-in-ip|4:30: an IPv6 address '\[2001:db8::1\]:80' in a statement of family ip|$dnat    meta l4proto tcp dnat to [2001:db8::1]:80"
    "nat-family|4:10: 'dnat ip6' in a table of family ip|$dnat    dnat ip6 to 2001:db8::1"
    "nat-inet|4:5: 'snat' with an address in a table of family inet needs the family: .*|table inet t {
  chain c {
    type nat hook postrouting priority srcnat
    snat to 192.0.2.1"
    "nat-prio|3:39: a nat chain needs a priority above conntrack's \(-200\), not -300|table ip t {
  chain c {
    type nat hook prerouting priority raw
    dnat to 10.0.0.2"
    "nat-map-overlap|4:0: NAT map: overlapping keys|$snat    snat to ip saddr map { 10.0.0.0/8 : 192.0.2.1, 10.1.0.0/16 : 192.0.2.2 }"
)
nat_port0="$dnat    meta l4proto tcp dnat to 10.0.0.2:0"
# nat_case ENTRY: sets name, where and text from "NAME|LINE:COL: MESSAGE|TEXT".
nat_case() {
    name=${1%%|*}
    local rest=${1#*|}
    where=${rest%%|*}
    text=${rest#*|}
}
for c in "${nat_bad[@]}"; do
    nat_case "$c"
    expect_error "$name" ".*/$name\.nft:$where" "$text
  }
}"
done
expect_error nat-port0 ".*/nat-port0\.nft:4:30: port 0 cannot be a translation's port \('0'\)" \
    "$nat_port0
  }
}"

# NAT rules that load, one of each form.
nat_good="table inet nat {
  chain pre {
    type nat hook prerouting priority dstnat; policy accept;
    tcp dport 80 dnat ip to 10.0.0.2-10.0.0.5:8080-8090 random,persistent
    meta l4proto tcp dnat ip6 to [2001:db8::1]:80 fully-random
    ip daddr 192.0.2.9 dnat to 10.0.0.9
    tcp dport 22 dnat ip to ip daddr map { 192.0.2.1 : 10.0.0.1, 192.0.2.2-192.0.2.9 : 10.0.0.2 }
    dnat ip prefix to ip daddr map { 198.51.100.0/24 : 10.141.11.0/24 }
    udp dport 53 redirect to :5353
  }
  chain out {
    type nat hook output priority -100
    tcp dport 80 redirect to 3128
  }
  chain in {
    type nat hook input priority 100
    snat ip to 10.0.0.254
  }
  chain post {
    type nat hook postrouting priority srcnat
    ip saddr 10.0.0.0/24 ip daddr 10.0.0.2 snat to 10.0.0.1
    snat ip6 prefix to ip6 saddr map { 2001:db8::/64 : 2001:db8:1::/64 }
    meta l4proto udp masquerade to :20000-30000
    masquerade random
  }
}"
printf '%s\n' "$nat_good" >"$tmp/nat-good.nft"
"$ctrack" read -q --rules "$tmp/nat-good.nft" "$sample" >/dev/null 2>"$tmp/err" ||
    fail "nat-good: status $?: $(head -1 "$tmp/err")"

# The same verdicts from nft itself, in a network namespace of its own,
# where this machine lets us: what ctrack loads, nft loads, and what
# ctrack refuses (port 0 apart), nft refuses.
if command -v nft >/dev/null && unshare -n true 2>/dev/null; then
    unshare -n nft -f "$tmp/nat-good.nft" >/dev/null 2>"$tmp/err" ||
        fail "nft refuses nat-good: $(head -1 "$tmp/err")"
    for c in "${nat_bad[@]}"; do
        nat_case "$c"
        printf '%s\n  }\n}\n' "$text" >"$tmp/$name.nft"
        unshare -n nft -f "$tmp/$name.nft" >/dev/null 2>&1 && fail "nft loads $name"
    done
    printf '%s\n  }\n}\n' "$nat_port0" >"$tmp/port0.nft"
    unshare -n nft -f "$tmp/port0.nft" >/dev/null 2>&1 ||
        fail "nft refuses port 0: the difference docs/rules.md names is gone"
else
    echo "rules_errors: nft or network namespaces unavailable; nft's verdicts not compared"
fi

# Too large: one byte over the library's limit.
head -c $((1024 * 1024 + 1)) /dev/zero | tr '\0' ' ' >"$tmp/big.nft"
"$ctrack" read --rules "$tmp/big.nft" "$sample" >"$tmp/out" 2>"$tmp/err"
rc=$?
[ "$rc" -eq 2 ] && [ ! -s "$tmp/out" ] &&
    grep -Eq '^ctrack: .*/big\.nft: rules text larger than 1048576 bytes$' "$tmp/err" ||
    fail "big: status $rc, stderr $(head -1 "$tmp/err")"

# More zone settings than a table has templates for.
{
    printf 'table ip t { chain c { type filter hook prerouting priority raw\n'
    printf 'ct zone set meta mark map { 0 : 0'
    for i in $(seq 1 300); do printf ', %d : %d' "$i" "$i"; done
    printf ' } } }\n'
} >"$tmp/zones.nft"
"$ctrack" read --rules "$tmp/zones.nft" "$sample" >"$tmp/out" 2>"$tmp/err"
rc=$?
[ "$rc" -eq 2 ] && [ ! -s "$tmp/out" ] &&
    grep -Eq '^ctrack: .*/zones\.nft: more than 255 distinct zone settings' "$tmp/err" ||
    fail "zones: status $rc, stderr $(head -1 "$tmp/err")"

# A rules file that does not exist.
"$ctrack" read --rules "$tmp/none.nft" "$sample" >"$tmp/out" 2>"$tmp/err"
rc=$?
[ "$rc" -eq 2 ] && [ ! -s "$tmp/out" ] &&
    grep -Eq '^ctrack: .*/none\.nft: cannot open: No such file or directory$' "$tmp/err" ||
    fail "missing file: status $rc, stderr $(head -1 "$tmp/err")"

# A bad rules file stops the run before the capture is even opened.
printf 'bogus\n' >"$tmp/bogus.nft"
"$ctrack" read --rules "$tmp/bogus.nft" "$tmp/no-such.pcap" >"$tmp/out" 2>"$tmp/err"
grep -q 'bogus\.nft:1:1' "$tmp/err" || fail "rules are not checked first: $(cat "$tmp/err")"

# An empty rules file changes nothing.
: >"$tmp/empty.nft"
"$ctrack" read -q "$sample" >"$tmp/plain" 2>&1
"$ctrack" read -q --rules "$tmp/empty.nft" "$sample" >"$tmp/ruled" 2>&1
cmp -s "$tmp/plain" "$tmp/ruled" || fail "an empty rules file changed the output"

# Rules that put every connection in zone 3 and mark the TCP ones.
printf '%s\n' 'table inet t {' \
    '  chain raw { type filter hook prerouting priority raw; ct zone set 3; }' \
    '  chain f { type filter hook prerouting priority filter;' \
    '    ct state new meta l4proto tcp ct mark set 0x11; }' \
    '}' >"$tmp/zone.nft"
"$ctrack" read -q --rules "$tmp/zone.nft" "$sample" >"$tmp/zoned" 2>&1 ||
    fail "zone rules: status $?"
n_plain=$(wc -l <"$tmp/plain")
n_zone=$(grep -c ' zone=3 ' "$tmp/zoned")
[ "$n_plain" -gt 0 ] && [ "$n_zone" -eq "$n_plain" ] ||
    fail "zone rules: $n_zone of $n_plain connections in zone 3"
n_tcp=$(grep -c '^ipv[46] *[0-9]* tcp ' "$tmp/zoned")
n_mark=$(grep -c '^ipv[46] *[0-9]* tcp .* mark=17 ' "$tmp/zoned")
[ "$n_tcp" -eq "$n_mark" ] || fail "mark rules: $n_mark of $n_tcp TCP connections marked"

finish "rules_errors: all checks passed"
