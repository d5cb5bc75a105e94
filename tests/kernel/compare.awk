# Compares the kernel's and ctrack's view of one replayed capture.
#
# Usage: awk -v name=NAME -f compare.awk KERNEL CTRACK COUNTERS INJECT-LOG CTRACK-ERR
#   KERNEL      `conntrack -L -o extended` in the namespace
#   CTRACK      `ctrack read` (the same format)
#   COUNTERS    `nft reset counters table inet ctk` (packets per ct state)
#   INJECT-LOG  ct_inject's summary ("N sent")
#   CTRACK-ERR  ctrack's summary ("verdicts: ...") and "exit=N"
#
# Prints one line per difference, each starting with NAME:
#
#   NAME kernel-only KEY      a connection only the kernel has
#   NAME ctrack-only KEY      a connection only ctrack has
#   NAME timeout KEY kernel=K ctrack=C
#                             the same connection, but the remaining
#                             timeouts differ by more than the replay explains
#   NAME verdicts kernel V ctrack V
#                             packets per ct state differ
#   NAME ctrack-failed exit=N
#
# KEY is the conntrack line without its remaining-timeout column (5th
# field) and without use=N; zone=0 is dropped too (the kernel prints a zone
# only when it is not 0). ctrack counts remaining time from the last packet,
# the kernel from the moment its table was dumped, a little later; so the
# kernel's value may be up to `slack` seconds lower (and 1 higher, for
# rounding). Packets the kernel dropped before conntrack saw them (malformed
# IP headers) count as INVALID, as ctrack calls them. Fragments are the
# exception: both sides reassemble them, and a fragment that does not
# complete a datagram reaches neither conntrack nor ctrack's table, so it is
# no verdict on either side (ctrack's "defrag:" summary line says how many
# fragments there were and how many datagrams they made).

function key(   k, i) {
    k = $1 " " $2 " " $3 " " $4
    for (i = 6; i <= NF; i++) {
        if ($i ~ /^use=/ || $i == "zone=0")
            continue
        k = k " " $i
    }
    return k
}

BEGIN { if (slack == "") slack = 2 }
FILENAME == ARGV[1] && $1 ~ /^ipv[46]$/ && NF >= 6 { k = key(); nk[k]++; kt[k, nk[k]] = $5; keys[k] = 1 }
FILENAME == ARGV[2] && $1 ~ /^ipv[46]$/ && NF >= 6 { k = key(); nc[k]++; ct[k, nc[k]] = $5; keys[k] = 1 }
FILENAME == ARGV[3] && $1 == "counter" { counter = $2 }
FILENAME == ARGV[3] && $1 == "packets" { cnt[counter] = $2 }
FILENAME == ARGV[4] && / sent,/ { for (i = 1; i < NF; i++) if ($(i + 1) == "sent,") sent = $i }
FILENAME == ARGV[5] && /^verdicts: / { sub(/^verdicts: /, ""); cverd = $0 }
FILENAME == ARGV[5] && /^exit=/ { cexit = substr($0, 6) }
FILENAME == ARGV[5] && /^defrag: / {
    for (i = 2; i <= NF; i++) {
        split($i, kv, "=")
        if (kv[1] == "fragments") frags = kv[2]
        if (kv[1] == "reassembled") whole = kv[2]
    }
}
END {
    if (cexit != "0")
        print name " ctrack-failed exit=" cexit
    for (k in keys) {
        a = nk[k] + 0; b = nc[k] + 0
        n = a < b ? a : b
        for (i = 1; i <= n; i++) {
            d = kt[k, i] - ct[k, i]
            if (d > 1 || d < -slack)
                print name " timeout " k " kernel=" kt[k, i] " ctrack=" ct[k, i]
        }
        for (i = n + 1; i <= a; i++) print name " kernel-only " k
        for (i = n + 1; i <= b; i++) print name " ctrack-only " k
    }
    kverd = sprintf("new=%d established=%d related=%d invalid=%d untracked=%d",
                    cnt["new"], cnt["established"], cnt["related"],
                    cnt["invalid"] + sent - cnt["seen"] - (frags - whole), cnt["untracked"])
    if (kverd != cverd)
        print name " verdicts kernel " kverd " ctrack " (cverd == "" ? "none" : cverd)
}
