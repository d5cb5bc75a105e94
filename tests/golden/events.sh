#!/bin/bash
# Golden test: `ctrack read --events` (docs/events.md) on the sample and on
# every capture under tests/pcap/ (with its rules file where one exists).
#
# Usage: bash events.sh CTRACK SRCDIR BUILDDIR   (run by ctest)
#
# Checks:
#   - the event lines of every capture, each under a "# NAME" header, equal
#     tests/golden/events.expected, and the sample's JSON events equal
#     tests/golden/events.sample.json.expected;
#   - --burst 1 and --burst 64 give the same events (a burst only groups
#     packets with one timestamp);
#   - the summary says no event was lost;
#   - --events with --flows or --at-end is a usage error (exit status 2).
#
# CTRACK_UPDATE_GOLDEN=1 rewrites the expectations from the current output;
# review every changed line with git diff: the event stream of each capture
# is what Linux would send for it (docs/events.md lists the differences).
. "$(dirname "${BASH_SOURCE[0]}")/lib.bash"

# events CAPTURE [OPTIONS...]: the events of CAPTURE on stdout, read from its
# own folder so that a rules file is named relatively.
events() {
    local cap=$1
    shift
    local args=(read --events "$@")
    [ -f "${cap%.*}.nft" ] && args+=(--rules "$(basename "${cap%.*}").nft")
    (cd "$(dirname "$cap")" && "$ctrack" "${args[@]}" "$(basename "$cap")")
}

expect() {
    local got=$1 want=$2
    if [ "$update" = 1 ]; then
        cp "$got" "$golden/$want"
        echo "updated $want" >&2
        return
    fi
    if ! diff -u "$golden/$want" "$got" >"$tmp/diff"; then
        fail "output differs from $want:"
        head -80 "$tmp/diff" >&2
    fi
}

caps=("$src/samples/sample.pcap")
for c in "$src"/tests/pcap/*.pcap "$src"/tests/pcap/cases/*.pcap "$src"/tests/pcap/cases/*.pcapng; do
    [ -f "$c" ] && caps+=("$c")
done

: >"$tmp/all"
for cap in "${caps[@]}"; do
    name=${cap#"$src"/}
    echo "# $name" >>"$tmp/all"
    if ! events "$cap" >"$tmp/one" 2>"$tmp/err"; then
        fail "$name: ctrack read --events failed"
        sed 's/^/    /' "$tmp/err" >&2
    fi
    cat "$tmp/one" >>"$tmp/all"
    grep -q '^events: [0-9]* printed, 0 lost$' "$tmp/err" ||
        fail "$name: events lost or not counted: $(grep '^events' "$tmp/err")"
    for b in 1 64; do
        events "$cap" -q --burst "$b" >"$tmp/one.b" 2>/dev/null
        cmp -s "$tmp/one" "$tmp/one.b" || fail "$name: --burst $b changes the events"
    done
done
expect "$tmp/all" events.expected

events "$src/samples/sample.pcap" -q --format json >"$tmp/json"
expect "$tmp/json" events.sample.json.expected

for bad in --flows --at-end=drain "--format zeek"; do
    # shellcheck disable=SC2086 # "--format zeek" is two words on purpose
    "$ctrack" read --events $bad "$src/samples/sample.pcap" >/dev/null 2>"$tmp/err"
    rc=$?
    [ "$rc" -eq 2 ] || fail "--events $bad: exit status $rc, expected 2"
done

finish "events: all checks passed"
