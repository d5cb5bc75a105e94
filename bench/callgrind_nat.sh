#!/bin/sh
# Instructions of NAT against plain tracking with callgrind (ctbench --nat).
#
# usage: bench/callgrind_nat.sh [CTBENCH] [CONNS]
#   CTBENCH  the ctbench binary (default build-x86-64-v3/ctbench)
#   CONNS    established flows (default 20000)
#
# Counts each timed pass of ctbench --nat --runs 1 apart (--toggle-collect
# on the functions bench/nat.c keeps out of line) and prints one line:
# instructions per packet of the established workload without and with
# DNAT, and per set-up (a SYN and an RST) without and with SNAT at 90 % of
# a 10000-port range, with the ratios.
set -eu

bin=build-x86-64-v3/ctbench
case "${1:-}" in
    */*|ctbench) bin=$1; shift ;;
esac
conns=${1:-20000}
[ -x "$bin" ] || { echo "callgrind_nat.sh: no executable $bin" >&2; exit 2; }
command -v valgrind >/dev/null || { echo "callgrind_nat.sh: valgrind is not installed" >&2; exit 2; }

out=$(mktemp /tmp/ctbench-callgrind-nat.XXXXXX)
trap 'rm -f "$out"' EXIT INT TERM

count() {
    valgrind --tool=callgrind --callgrind-out-file="$out" --toggle-collect="$1" \
        "$bin" --nat --runs 1 --conns "$conns" --range 10000 >/dev/null 2>&1
    callgrind_annotate "$out" 2>/dev/null | awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1 }'
}

# One run: 4 passes over 2 * conns frames per table; 200000 set-ups.
pkts=$((4 * 2 * conns))
p=$(count ctbench_nat_plain)
d=$(count ctbench_nat_translated)
sp=$(count ctbench_nat_setup_plain)
ss=$(count ctbench_nat_setup_snat)
awk -v p="$p" -v d="$d" -v sp="$sp" -v ss="$ss" -v n="$pkts" -v c="$conns" 'BEGIN {
    printf "nat_callgrind conns=%d established_plain_instr_per_pkt=%.1f established_dnat_instr_per_pkt=%.1f dnat_instr_ratio=%.3f setup_plain_instr=%.1f setup_snat_instr=%.1f snat_instr_ratio=%.3f\n",
        c, p / n, d / n, d / p, sp / 200000, ss / 200000, ss / sp
}'
