# Normalises an event stream in the text of `conntrack -E -o
# timestamp,extended` (the kernel's, recorded by tools/ct_events, or
# ctrack's, from `ctrack read --events`) to the part both sides must agree
# on, one event a line, for an event-by-event comparison (diff).
#
# Usage: awk -f events.awk STREAM
#
# Dropped: the timestamp (the kernel's is the time the event was read,
# ctrack's the capture's: only their order is compared, by the line
# order), runs of blanks, mark=0 and zone=0 (the kernel sends a mark only
# when it is set or changed and a zone only when it is not 0), and the
# timeout: the kernel's is the time left when the event was built, in
# jiffies rounded down to seconds, so a tick between the packet and the
# event makes 119 of a SYN's 120 (seen in tcp-out-of-window), and a
# DESTROY's counts down to the flush that ends a case. The timeouts are
# compared, with a tolerance, in the final table. The kernel's stream ends
# with a line "# mark" and the DESTROY events of that flush; those are not
# printed (the connections' final counters are compared with the table).

/^# mark$/ { exit }
/^#/ || NF == 0 { next }

{
    # The timestamp, also in conntrack's own layout, whose microseconds
    # are padded with blanks on the right ("[1796566978.91339 ]").
    sub(/^\[[0-9]+\.[0-9 ]+\][ \t]*/, "")
    i = 1
    type = $i
    line = type
    # type l3name l3num proto protonum [timeout] ...
    for (j = i + 1; j <= NF; j++) {
        if ($j == "mark=0" || $j == "zone=0")
            continue
        if (j == i + 5 && $j ~ /^[0-9]+$/)
            continue
        line = line " " $j
    }
    print line
}
