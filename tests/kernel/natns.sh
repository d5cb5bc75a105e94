# Network-namespace helpers for the NAT comparison (sourced, not run):
# tests/kernel/nat-compare.sh and docs/kernel-compare.md ("NAT").
#
# NAT needs a router, not the bridge of netns.sh (br_netfilter NATs
# bridged packets in ways of its own):
#
#   PREFIX-inj              PREFIX-ct                         PREFIX-sink
#   v0 ====== veth ====== v1   routes   v2 ====== veth ====== v3
#   ct_inject writes     192.0.2.1      198.51.100.1
#   both directions      2001:db8:f1::1 2001:db8:f2::1
#
# ct_inject writes every packet of a capture, in both directions, to v0
# with the destination MAC 02:c7:00:00:00:02, which is v1's address, so
# PREFIX-ct receives each one on v1 as a frame for itself. PREFIX-ct
# forwards (ip_forward, IPv6 forwarding; rp_filter off so that any source
# is accepted on v1) and sends everything towards a gateway on v2 (default
# routes, static neighbour entries, so no ARP or neighbour discovery ever
# leaves), which is the sink's v3. The NAT statements of a case see v1 as
# the input interface (`redirect` goes to 192.0.2.1 or 2001:db8:f1::1) and
# v2 as the output interface (`masquerade` goes to 198.51.100.1 or
# 2001:db8:f2::1); the interfaces have no other address (no IPv6
# link-local address either), so the kernel's choice is not in doubt, and
# the comparison hands the same addresses to ctrack.
#
# What leaves is captured with nflog: an inet table logs, at postrouting
# and input with the highest priority, INT_MAX, each packet that came
# in on v1 to group 7, which a tcpdump on nflog:7 writes in order. Packets
# the namespace makes itself (ICMP errors) did not come in on v1 and are
# not logged; neither are its own MLD reports, which the kernel sends
# (from ::, the interfaces having no link-local address) and loops back
# to itself as if they came in on v1. The cases contain no MLD. INT_MAX is
# also the priority of conntrack's confirmation, and of two hooks of equal
# priority the one registered later runs first (nf_hook_entries_grow()):
# the logging table is loaded before anything registers conntrack's hooks,
# so its hooks run after the confirmation, and a packet dropped there (a
# NAT clash: the kernel's answer to an exhausted range) is not logged, as
# it never leaves.

# The fixed addresses of the topology.
KNAT_MAC_IN=02:c7:00:00:00:02
KNAT_MAC_OUT=02:c7:00:00:00:04
KNAT_MAC_SINK=02:c7:00:00:00:03
KNAT_IN4=192.0.2.1
KNAT_IN6=2001:db8:f1::1
KNAT_OUT4=198.51.100.1
KNAT_OUT6=2001:db8:f2::1
KNAT_GW4=198.51.100.2
KNAT_GW6=2001:db8:f2::2
KNAT_NFLOG_GROUP=7

# The logging table (loaded once, after knat_setup).
knat_log_rules() {
    cat <<RULES
table inet ctklog {
    counter logged {}
    chain post {
        type filter hook postrouting priority 2147483647; policy accept;
        icmpv6 type { mld-listener-query, mld-listener-report, mld-listener-done,
                      mld2-listener-report } accept
        iifname "v1" meta pkttype host counter name "logged" log group $KNAT_NFLOG_GROUP
    }
    chain in {
        type filter hook input priority 2147483647; policy accept;
        icmpv6 type { mld-listener-query, mld-listener-report, mld-listener-done,
                      mld2-listener-report } accept
        iifname "v1" meta pkttype host counter name "logged" log group $KNAT_NFLOG_GROUP
    }
}
RULES
}

# Prints why the NAT comparison cannot run here and returns 1, or returns 0.
knat_check() {
    local why
    why=$(kns_check) || { echo "$why"; return 1; }
    if ! command -v tcpdump >/dev/null 2>&1; then
        echo "'tcpdump' not found: install the Debian package 'tcpdump'"; return 1
    fi
    local probe="ctkn-probe-$$" ok=1
    ip netns add "$probe" 2>/dev/null || { echo "cannot create network namespaces"; return 1; }
    if ! printf 'table ip t {\n chain c {\n type nat hook prerouting priority dstnat;\n'`
            `' tcp dport 1 dnat to 10.0.0.1\n }\n}\n' | ip netns exec "$probe" nft -f - 2>/dev/null; then
        why="nftables cannot load a dnat rule (kernel without nft_nat / nf_nat?)"; ok=0
    elif ! ip netns exec "$probe" timeout 2 tcpdump -i nflog:1 -c 1 -w /dev/null 2>&1 </dev/null |
            grep -q 'listening on'; then
        why="tcpdump cannot read nflog (kernel without nfnetlink_log?)"; ok=0
    fi
    ip netns del "$probe" 2>/dev/null
    [ "$ok" = 1 ] || { echo "$why"; return 1; }
    return 0
}

# Creates the three namespaces of the routed topology.
knat_setup() {
    local p=$1 ns dev
    for ns in "$p-inj" "$p-ct" "$p-sink"; do
        ip netns add "$ns" || return 1
    done
    for ns in "$p-inj" "$p-sink"; do
        ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
            net.ipv6.conf.default.disable_ipv6=1 || return 1
    done
    ip -n "$p-ct" link add v1 address "$KNAT_MAC_IN" type veth peer name v0 netns "$p-inj" ||
        return 1
    ip -n "$p-ct" link add v2 address "$KNAT_MAC_OUT" type veth \
        peer name v3 address "$KNAT_MAC_SINK" netns "$p-sink" || return 1
    ip netns exec "$p-inj" sysctl -qw net.ipv6.conf.v0.disable_ipv6=1
    ip netns exec "$p-sink" sysctl -qw net.ipv6.conf.v3.disable_ipv6=1
    ip netns exec "$p-ct" sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.rp_filter=0 \
        net.ipv4.conf.default.rp_filter=0 net.ipv4.conf.all.send_redirects=0 \
        net.ipv4.conf.default.send_redirects=0 net.ipv6.conf.all.forwarding=1 \
        net.ipv6.conf.default.accept_ra=0 net.ipv6.conf.default.router_solicitations=0 \
        net.ipv6.conf.default.accept_dad=0 net.netfilter.nf_conntrack_acct=1 || return 1
    for dev in v1 v2; do
        ip netns exec "$p-ct" sysctl -qw "net.ipv4.conf.$dev.rp_filter=0" \
            "net.ipv6.conf.$dev.accept_ra=0" "net.ipv6.conf.$dev.accept_dad=0" || return 1
        ip -n "$p-ct" link set "$dev" addrgenmode none mtu 9000 || return 1
    done
    ip -n "$p-ct" addr add "$KNAT_IN4/24" dev v1 || return 1
    ip -n "$p-ct" addr add "$KNAT_IN6/64" dev v1 nodad || return 1
    ip -n "$p-ct" addr add "$KNAT_OUT4/24" dev v2 || return 1
    ip -n "$p-ct" addr add "$KNAT_OUT6/64" dev v2 nodad || return 1
    ip -n "$p-inj" link set v0 mtu 9000 up || return 1
    ip -n "$p-sink" link set v3 mtu 9000 up || return 1
    ip -n "$p-ct" link set lo up || return 1
    ip -n "$p-ct" link set v1 up || return 1
    ip -n "$p-ct" link set v2 up || return 1
    ip -n "$p-ct" neigh replace "$KNAT_GW4" lladdr "$KNAT_MAC_SINK" dev v2 nud permanent || return 1
    ip -n "$p-ct" neigh replace "$KNAT_GW6" lladdr "$KNAT_MAC_SINK" dev v2 nud permanent || return 1
    ip -n "$p-ct" route add default via "$KNAT_GW4" dev v2 || return 1
    ip -n "$p-ct" -6 route add default via "$KNAT_GW6" dev v2 || return 1
    # The logging table first: its hooks must be registered before
    # conntrack's, which the counting table's ct matches register.
    knat_log_rules | ip netns exec "$p-ct" nft -f - || return 1
    kns_ct_rules | ip netns exec "$p-ct" nft -f - || return 1
    # The veth carrier comes up asynchronously.
    local i
    for i in $(seq 1 50); do
        if ip -n "$p-ct" link show v1 | grep -q 'state UP' &&
           ip -n "$p-ct" link show v2 | grep -q 'state UP'; then
            return 0
        fi
        sleep 0.1
    done
    echo "kernel-nat: the veth links did not come up" >&2
    return 1
}
