#!/bin/bash
# Golden test: every way `ctrack` can be called wrongly or handed something
# that is not a capture ends with exit status 2, nothing on stdout, and one
# line on stderr that names the problem; a capture damaged part-way ends with
# status 1 after printing what it could read. Never a crash (status >= 128).
#
# Usage: bash errors.sh CTRACK SRCDIR BUILDDIR   (run by ctest)
. "$(dirname "${BASH_SOURCE[0]}")/lib.bash"
sample=$src/samples/sample.pcap

# expect_error NAME STATUS PATTERN ARGS...: runs ctrack ARGS, checks the exit
# status, that stdout is empty and that stderr is exactly one line matching
# the extended regular expression PATTERN.
expect_error() {
    local name=$1 want=$2 pattern=$3
    shift 3
    "$ctrack" "$@" >"$tmp/out" 2>"$tmp/err" </dev/null
    local rc=$?
    if [ "$rc" -ne "$want" ]; then
        fail "$name: exit status $rc, expected $want (ctrack $*)"
    fi
    if [ -s "$tmp/out" ]; then
        fail "$name: printed on stdout: $(head -1 "$tmp/out")"
    fi
    local lines
    lines=$(wc -l <"$tmp/err")
    if [ "$lines" -ne 1 ]; then
        fail "$name: $lines lines on stderr, expected 1:"
        sed 's/^/    /' "$tmp/err" >&2
    elif ! grep -Eq -- "$pattern" "$tmp/err"; then
        fail "$name: stderr does not match /$pattern/: $(cat "$tmp/err")"
    fi
}

# Input files.
printf 'this is a text file, not a capture\n' >"$tmp/notes.txt"
: >"$tmp/empty.pcap"
# A classic pcap header (little-endian, v2.4, snaplen 65535) with link type
# 147 (LINKTYPE_USER0), followed by one 4-byte packet.
printf '\xd4\xc3\xb2\xa1\x02\x00\x04\x00\x00\x00\x00\x00\x00\x00\x00\x00\xff\xff\x00\x00\x93\x00\x00\x00' >"$tmp/user0.pcap"
printf '\x00\x00\x00\x00\x00\x00\x00\x00\x04\x00\x00\x00\x04\x00\x00\x00abcd' >>"$tmp/user0.pcap"
# The sample cut inside its second record: the first packet (100 bytes with
# the file header) is whole, the second is not.
head -c 150 "$sample" >"$tmp/cut.pcap"

expect_error missing-file 2 "nonexistent\.pcap: cannot open: No such file or directory" \
    read "$tmp/nonexistent.pcap"
expect_error text-file 2 "notes\.txt: not a readable pcap or pcapng capture" read "$tmp/notes.txt"
expect_error empty-file 2 "empty\.pcap: the file is empty" read "$tmp/empty.pcap"
expect_error directory 2 ": is a directory" read "$tmp"
expect_error empty-stdin 2 "standard input: not a readable pcap or pcapng capture" read -
expect_error link-type 2 "user0\.pcap: unsupported link-layer type 147" read "$tmp/user0.pcap"

expect_error bad-option 2 "unknown option '--bogus'" read --bogus "$sample"
expect_error bad-short-option 2 "unknown option '-x'" read -x "$sample"
expect_error burst-zero 2 "--burst: 0 is out of range \(expected 1\.\.64\)" read --burst 0 "$sample"
expect_error burst-big 2 "--burst: 65 is out of range" read --burst=65 "$sample"
expect_error burst-text 2 "--burst: 'abc' is not a number" read --burst abc "$sample"
expect_error burst-negative 2 "--burst: '-1' is not a number" read --burst=-1 "$sample"
expect_error burst-trailing 2 "--burst: '8x' is not a number" read --burst 8x "$sample"
expect_error burst-missing 2 "option '--burst' needs a value" read "$sample" --burst
expect_error trace-value 2 "option '--trace' takes no value" read --trace=1 "$sample"
expect_error max-conn-zero 2 "--max-connections: 0 is out of range" read --max-connections 0 "$sample"
expect_error max-conn-huge 2 "--max-connections: 99999999999999999999 is out of range" \
    read --max-connections 99999999999999999999 "$sample"
expect_error format 2 "--format: unknown format 'xml'" read --format xml "$sample"
expect_error at-end 2 "--at-end: unknown value 'log' \(expected table or drain\)" \
    read --at-end log "$sample"
expect_error at-end-missing 2 "option '--at-end' needs a value" read "$sample" --at-end
expect_error stats-value 2 "option '--stats' takes no value" read --stats=1 "$sample"
expect_error timeout-form 2 "--timeout: 'udp' is not NAME=SECONDS" read --timeout udp "$sample"
expect_error timeout-noname 2 "--timeout: '=5' is not NAME=SECONDS" read --timeout =5 "$sample"
expect_error timeout-name 2 "--timeout: unknown timeout 'tcp_bogus'" \
    read --timeout tcp_bogus=5 "$sample"
expect_error timeout-zero 2 "--timeout udp: 0 is out of range \(expected 1\.\.4294967295\)" \
    read --timeout udp=0 "$sample"
expect_error timeout-big 2 "--timeout tcp_established: 4294967296 is out of range" \
    read --timeout tcp_established=4294967296 "$sample"
expect_error timeout-text 2 "--timeout icmp: '1s' is not a number" read --timeout icmp=1s "$sample"
expect_error no-file 2 "no capture file given" read
expect_error two-files 2 "expected one capture file, got 2" read "$sample" "$sample"
expect_error option-before-command 2 "unknown option '--bogus' before the command" \
    --bogus read "$sample"
expect_error unknown-command 2 "unknown command 'frobnicate'" frobnicate

# A capture damaged part-way: the packets before the damage are processed and
# the table printed (here one ARP packet, so an empty table), then one error
# line; exit status 1.
"$ctrack" read -q "$tmp/cut.pcap" >"$tmp/out" 2>"$tmp/err"
rc=$?
[ "$rc" -eq 1 ] || fail "cut capture: exit status $rc, expected 1"
if [ "$(wc -l <"$tmp/err")" -ne 1 ] ||
    ! grep -q "cut\.pcap: capture damaged after packet 1" "$tmp/err"; then
    fail "cut capture: stderr: $(cat "$tmp/err")"
fi

# Help and version succeed on stdout.
"$ctrack" read --help >"$tmp/out" 2>"$tmp/err"
rc=$?
[ "$rc" -eq 0 ] || fail "read --help: exit status $rc"
grep -q '^Usage: ctrack read \[OPTIONS\] FILE' "$tmp/out" || fail "read --help: no usage line"
for opt in --format --burst --max-connections --no-checksum --timeout --at-end --stats --trace \
    --quiet --help --version; do
    grep -q -- "$opt" "$tmp/out" || fail "read --help does not mention $opt"
done
"$ctrack" --version >"$tmp/out" 2>&1
rc=$?
[ "$rc" -eq 0 ] && grep -Eq '^ctrack [0-9]+\.[0-9]+\.[0-9]+$' "$tmp/out" ||
    fail "--version: status $rc, output $(cat "$tmp/out")"
"$ctrack" >"$tmp/out" 2>"$tmp/err"
rc=$?
[ "$rc" -eq 2 ] && grep -q '^Usage: ctrack COMMAND' "$tmp/err" ||
    fail "no arguments: status $rc, stderr $(head -1 "$tmp/err")"

finish "errors: all checks passed"
