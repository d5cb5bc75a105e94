#!/bin/bash
# Golden test: ctrack's NAT against the Linux kernel's, byte for byte.
#
# The NAT cases written by tools/kernel_cases --nat are replayed through a
# Linux router in network namespaces (tests/kernel/nat-compare.sh), loaded
# with each case's nftables rules, and through `ctrack read --rules
# --write`; the connection tables (with the translated reply tuples) and
# every packet the kernel let out must agree with ctrack's, up to the
# kernel's forwarding (TTL or hop limit, link layer) and, in the cases
# marked random-ports, a bijection of the ports the kernel chose at random.
# Differences listed in tests/kernel/nat-known-differences are tolerated.
# docs/kernel-compare.md ("NAT") explains the set-up.
#
# Usage (as ctest runs it): kernel_nat.sh CTRACK SOURCE-DIR BUILD-DIR
# Exit 77 (skipped), with the reason, where it cannot run: not root, no
# network namespaces, no NAT or nflog in the kernel, a Debian package
# missing (conntrack, nftables, tcpdump), or a ctrack without --write.
# The per-case files are kept in BUILD-DIR/kernel-nat for inspection.
set -u
ctrack=$1 src=$2 build=$3
inject="$build/tools/ct_inject"
cases="$build/tools/kernel_cases"

for tool in "$inject" "$cases"; do
    if [ ! -x "$tool" ]; then
        echo "kernel-nat: $tool is missing (build the tools first)"
        exit 1
    fi
done
if ! "$ctrack" read --help 2>&1 | grep -q -- '--write'; then
    echo "kernel-nat: skipped: 'ctrack read' has no --write"
    exit 77
fi

work="$build/kernel-nat"
rm -rf "$work"
mkdir -p "$work/cases"
"$cases" --nat "$work/cases" >"$work/cases.list" || { echo "kernel-nat: kernel_cases failed"; exit 1; }
args=()
while read -r f; do
    args+=("${f%.*}=$work/cases/$f")
done <"$work/cases.list"
exec bash "$src/tests/kernel/nat-compare.sh" --work "$work" ${KERNEL_NAT_OPTS:-} "$ctrack" "$inject" \
    "${args[@]}"
