#!/bin/sh
# Instructions per packet with callgrind, for machines where perf cannot
# count instructions (most VMs).
#
# usage: bench/callgrind.sh [CTBENCH] [ctbench options...]
#   CTBENCH  path to the ctbench binary (default build-x86-64-v3/ctbench; build
#            it with -DCTRACK_MARCH=x86-64-v3, since valgrind rejects AVX-512)
#   options  passed to ctbench after --single-run (default:
#            --workload established --family 4 --conns 1000)
#
# Only ctbench_process_ring() is counted (--toggle-collect), so the traffic
# generation and the table fill are left out. Prints one key=value line:
# the ctbench result fields plus ir_total and instr_per_pkt.
set -eu

bin=build-x86-64-v3/ctbench
case "${1:-}" in
    */*|ctbench) bin=$1; shift ;;
esac
[ -x "$bin" ] || { echo "callgrind.sh: no executable $bin" >&2; exit 2; }
command -v valgrind >/dev/null || { echo "callgrind.sh: valgrind is not installed" >&2; exit 2; }
[ $# -gt 0 ] || set -- --workload established --family 4 --conns 1000

out=$(mktemp /tmp/ctbench-callgrind.XXXXXX)
trap 'rm -f "$out" "$out.txt"' EXIT INT TERM

valgrind --tool=callgrind --callgrind-out-file="$out" \
    --toggle-collect=ctbench_process_ring \
    "$bin" --single-run --format kv "$@" >"$out.txt" 2>/dev/null

# The packets the measured loop handled, and the instructions counted in it.
result=$(grep '^kind=result' "$out.txt" | head -n 1)
[ -n "$result" ] || { echo "callgrind.sh: ctbench printed no result" >&2; cat "$out.txt" >&2; exit 1; }
pkts=$(printf '%s\n' "$result" | sed -n 's/.*packets_per_run=\([0-9]*\).*/\1/p')
ir=$(sed -n 's/^\(summary\|totals\): *\([0-9]*\).*/\2/p' "$out" | head -n 1)
[ -n "$ir" ] && [ -n "$pkts" ] && [ "$pkts" -gt 0 ] || { echo "callgrind.sh: no totals" >&2; exit 1; }

printf '%s ir_total=%s instr_per_pkt=%s\n' \
    "$(printf '%s\n' "$result" | sed 's/^kind=result/kind=callgrind/; s/ instr_per_pkt=[^ ]*//')" \
    "$ir" "$(awk -v i="$ir" -v p="$pkts" 'BEGIN { printf "%.1f", i / p }')"
