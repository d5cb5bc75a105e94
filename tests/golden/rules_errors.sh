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
expect_error statement ".*/statement\.nft:4:22: unsupported: 'masquerade'" \
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
