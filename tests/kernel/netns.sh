# Network-namespace helpers for the kernel comparison (sourced, not run).
#
# The set-up is three namespaces, named from a prefix so that concurrent
# runs do not collide:
#
#   PREFIX-inj                PREFIX-ct                        PREFIX-sink
#   v0  ==== veth ====  v1 -[ br0 ]- v2  ==== veth ====  v3
#   NAME ==== veth == NAME-i -[ NAME ]- NAME-o == veth ==  NAME   (kns_iface)
#
# ct_inject writes the capture's packets to v0. In PREFIX-ct they are
# bridged from v1 to v2; with br_netfilter (bridge-nf-call-iptables) the
# bridged IPv4 and IPv6 packets go through the inet PREROUTING, FORWARD and
# POSTROUTING hooks, so nf_conntrack tracks each one, whatever its
# addresses, and confirms its connection at POSTROUTING, exactly as a
# transparent firewall would. A bridge rather than a router, because routing
# would drop or answer some packets before their connections are confirmed
# (multicast, martians, TTL 1, link-local IPv6) and would add connections of
# its own (ICMP errors, redirects). Port learning is off, and ct_inject
# gives every frame the same unknown unicast destination MAC, so every frame
# is flooded to v2 and none is delivered to the bridge's own stack. IPv6 is
# disabled on the namespaces' own interfaces so that they send nothing
# (neighbour discovery, MLD) of their own.
#
# An nftables rule with a `ct state` match registers conntrack's hooks in
# PREFIX-ct (a new namespace has none) and counts packets per ct state.

kns_ct_rules() {
    cat <<'RULES'
table inet ctk {
    counter seen {}
    counter new {}
    counter established {}
    counter related {}
    counter invalid {}
    counter untracked {}
    chain pre {
        type filter hook prerouting priority 0; policy accept;
        counter name "seen"
        ct state new counter name "new"
        ct state established counter name "established"
        ct state related counter name "related"
        ct state invalid counter name "invalid"
        ct state untracked counter name "untracked"
    }
}
RULES
}

# Prints why the kernel comparison cannot run here, and returns 1, or
# returns 0 when it can.
kns_check() {
    if [ "$(id -u)" != 0 ]; then
        echo "needs root (network namespaces)"; return 1
    fi
    local cmd pkg
    for cmd in ip:iproute2 nft:nftables conntrack:conntrack; do
        pkg=${cmd#*:}; cmd=${cmd%%:*}
        if ! command -v "$cmd" >/dev/null 2>&1; then
            echo "'$cmd' not found: install the Debian package '$pkg'"; return 1
        fi
    done
    local probe="ctk-probe-$$"
    if ! ip netns add "$probe" 2>/dev/null; then
        echo "cannot create network namespaces (ip netns add failed)"; return 1
    fi
    local ok=1 why=""
    if ! ip -n "$probe" link add kbr0 type bridge 2>/dev/null; then
        ok=0; why="the kernel has no bridge support"
    elif ! ip netns exec "$probe" sysctl -q net.bridge.bridge-nf-call-iptables=1 2>/dev/null; then
        ok=0; why="the kernel has no br_netfilter (net.bridge.bridge-nf-call-iptables)"
    elif ! kns_ct_rules | ip netns exec "$probe" nft -f - 2>/dev/null; then
        ok=0; why="nftables cannot load a ct rule (kernel without nf_tables or nf_conntrack?)"
    elif ! ip netns exec "$probe" conntrack -L >/dev/null 2>&1; then
        ok=0; why="'conntrack -L' fails in a namespace (ctnetlink missing?)"
    fi
    ip netns del "$probe" 2>/dev/null
    [ "$ok" = 1 ] || { echo "$why"; return 1; }
    return 0
}

# Creates the three namespaces PREFIX-inj, PREFIX-ct and PREFIX-sink.
kns_setup() {
    local p=$1 ns
    for ns in "$p-inj" "$p-ct" "$p-sink"; do
        ip netns add "$ns" || return 1
        ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
            net.ipv6.conf.default.disable_ipv6=1 || return 1
    done
    ip -n "$p-ct" link add br0 type bridge stp_state 0 mcast_snooping 0 || return 1
    ip -n "$p-ct" link add v1 type veth peer name v0 netns "$p-inj" || return 1
    ip -n "$p-ct" link add v2 type veth peer name v3 netns "$p-sink" || return 1
    ip netns exec "$p-inj" sysctl -qw net.ipv6.conf.v0.disable_ipv6=1
    ip netns exec "$p-sink" sysctl -qw net.ipv6.conf.v3.disable_ipv6=1
    local dev
    for dev in br0 v1 v2; do
        ip netns exec "$p-ct" sysctl -qw "net.ipv6.conf.$dev.disable_ipv6=1"
        ip -n "$p-ct" link set "$dev" mtu 9000 || return 1
    done
    ip -n "$p-inj" link set v0 mtu 9000 up || return 1
    ip -n "$p-sink" link set v3 mtu 9000 up || return 1
    for dev in v1 v2; do
        ip -n "$p-ct" link set "$dev" master br0 || return 1
        ip -n "$p-ct" link set "$dev" type bridge_slave learning off || return 1
        ip -n "$p-ct" link set "$dev" up || return 1
    done
    ip -n "$p-ct" link set br0 up || return 1
    ip netns exec "$p-ct" sysctl -qw net.bridge.bridge-nf-call-iptables=1 \
        net.bridge.bridge-nf-call-ip6tables=1 net.netfilter.nf_conntrack_acct=1 || return 1
    # The veth carrier comes up asynchronously; wait until the bridge ports forward.
    local i
    for i in $(seq 1 50); do
        if [ "$(ip netns exec "$p-ct" cat /sys/class/net/br0/brif/v1/state 2>/dev/null)" = 3 ] &&
           [ "$(ip netns exec "$p-ct" cat /sys/class/net/br0/brif/v2/state 2>/dev/null)" = 3 ]; then
            return 0
        fi
        sleep 0.1
    done
    echo "kernel-compare: bridge ports did not come up" >&2
    return 1
}

# Adds a named ingress for the rules cases, unless it exists: a bridge NAME
# in PREFIX-ct between a veth NAME in PREFIX-inj (ct_inject --by-ifname
# writes a capture's packets of interface NAME there) and a veth NAME in
# PREFIX-sink, set up like br0. Under br_netfilter the inet hooks see a
# bridged packet's input interface as the bridge, so `iifname NAME` in a
# rules file matches the packets the capture names NAME; each named
# interface is its own bridge so that the kernel keeps them apart. The
# ports are NAME-i and NAME-o, so NAME must leave room for two characters
# (at most 13).
kns_iface() {
    local p=$1 n=$2 dev
    ip -n "$p-ct" link show "$n" >/dev/null 2>&1 && return 0
    ip -n "$p-ct" link add "$n" type bridge stp_state 0 mcast_snooping 0 || return 1
    ip -n "$p-ct" link add "$n-i" type veth peer name "$n" netns "$p-inj" || return 1
    ip -n "$p-ct" link add "$n-o" type veth peer name "$n" netns "$p-sink" || return 1
    ip netns exec "$p-inj" sysctl -qw "net.ipv6.conf.$n.disable_ipv6=1"
    ip netns exec "$p-sink" sysctl -qw "net.ipv6.conf.$n.disable_ipv6=1"
    ip -n "$p-inj" link set "$n" mtu 9000 up || return 1
    ip -n "$p-sink" link set "$n" mtu 9000 up || return 1
    for dev in "$n" "$n-i" "$n-o"; do
        ip netns exec "$p-ct" sysctl -qw "net.ipv6.conf.$dev.disable_ipv6=1"
        ip -n "$p-ct" link set "$dev" mtu 9000 || return 1
    done
    for dev in "$n-i" "$n-o"; do
        ip -n "$p-ct" link set "$dev" master "$n" || return 1
        ip -n "$p-ct" link set "$dev" type bridge_slave learning off || return 1
        ip -n "$p-ct" link set "$dev" up || return 1
    done
    ip -n "$p-ct" link set "$n" up || return 1
    local i brif=/sys/class/net/$n/brif
    for i in $(seq 1 50); do
        if [ "$(ip netns exec "$p-ct" cat "$brif/$n-i/state" 2>/dev/null)" = 3 ] &&
           [ "$(ip netns exec "$p-ct" cat "$brif/$n-o/state" 2>/dev/null)" = 3 ]; then
            return 0
        fi
        sleep 0.1
    done
    echo "kernel-compare: the ports of bridge $n did not come up" >&2
    return 1
}

# Removes the namespaces (ignoring those already gone).
kns_teardown() {
    local p=$1 ns
    for ns in "$p-inj" "$p-ct" "$p-sink"; do
        ip netns del "$ns" 2>/dev/null
    done
    return 0
}

# Loads the counting rule into PREFIX-ct (once, after kns_setup).
kns_rules() {
    kns_ct_rules | ip netns exec "$1-ct" nft -f -
}
