#!/bin/bash
# Corpus test: `ctrack read` on every third-party capture under
# SRCDIR/../shared/corpus (captures written by other tools, see its INDEX.md)
# three ways: the JSON table with --trace, Zeek's conn.log, and JSON flow
# records with --trace (tunnels decapsulated). The conntrack format is
# covered by the golden tests of samples/ and tests/pcap/. Each run must exit 0,
# print a summary that read at least one packet, one table line per connection
# the summary counts (plus one trace line per packet with --trace, and one per
# tunnelled inner packet), and JSON lines that are objects; a conn.log has
# its eight header lines and #close. This
# catches crashes, sanitizer reports and refusals on real-world files; the
# per-capture behaviour is checked by the tests beside each capture.
#
# Usage: bash corpus.sh CTRACK SRCDIR BUILDDIR   (run by ctest)
# Exit 77 (reported as skipped) when the corpus folder is not there.
. "$(dirname "${BASH_SOURCE[0]}")/lib.bash"
corpus=$src/../shared/corpus

if [ ! -d "$corpus" ]; then
    echo "corpus: skipped: no corpus folder at $corpus (it is shared outside the repository)"
    exit 77
fi

count=0

while IFS= read -r -d '' cap; do
    count=$((count + 1))
    rel=${cap#"$corpus"/}
    for mode in trace zeek flowjson; do
        case $mode in
        trace) args=(--trace --format json) ;;
        zeek) args=(--format zeek --ip-proto --community-id) ;;
        flowjson) args=(--flows --format json --trace) ;;
        esac
        "$ctrack" read --max-connections 65536 "${args[@]}" "$cap" >"$tmp/out" 2>"$tmp/err"
        rc=$?
        if [ "$rc" -ne 0 ]; then
            fail "$rel ($mode): exit status $rc"
            sed 's/^/    /' "$tmp/err" | head -20 >&2
            continue
        fi
        # The summary's first line is "FILE: N packets, M connections...".
        summary=$(head -1 "$tmp/err")
        if ! [[ $summary =~ :\ ([0-9]+)\ packets,\ ([0-9]+)\ connections ]]; then
            fail "$rel ($mode): no summary on stderr: $summary"
            continue
        fi
        npkts=${BASH_REMATCH[1]}
        nconns=${BASH_REMATCH[2]}
        [ "$npkts" -gt 0 ] || fail "$rel ($mode): no packets read"
        # Every listed connection is one line; --trace adds one line per packet.
        inner=0
        if [[ $(cat "$tmp/err") =~ tunnels:\ ([0-9]+)\ inner ]]; then
            inner=${BASH_REMATCH[1]}
        fi
        want=$nconns
        [ "$mode" = trace ] && want=$((nconns + npkts))
        [ "$mode" = flowjson ] && want=$((nconns + npkts + inner))
        [ "$mode" = zeek ] && want=$((nconns + 9))
        got=$(wc -l <"$tmp/out")
        if [ "$got" -ne "$want" ]; then
            fail "$rel ($mode): $got lines on stdout, expected $want ($summary)"
        fi
        if [ "$mode" = trace ] && [ "$(grep -c '^pkt=' "$tmp/out")" -ne "$npkts" ]; then
            fail "$rel (trace): not one trace line per packet"
        fi
        if [ "$mode" = trace ] && grep -v '^pkt=' "$tmp/out" | grep -qv '^{.*}$'; then
            fail "$rel (trace): a table line is not a JSON object: $(grep -v '^pkt=' "$tmp/out" | grep -v '^{.*}$' | head -1)"
        fi
        if [ "$mode" = flowjson ] && grep -v '^pkt=' "$tmp/out" | grep -qv '^{"ts":.*}$'; then
            fail "$rel (flowjson): a record is not a JSON object"
        fi
        if [ "$mode" = zeek ]; then
            [ "$(grep -c '^#' "$tmp/out")" -eq 9 ] || fail "$rel (zeek): not 8 header lines and #close"
            if grep -v '^#' "$tmp/out" | awk -F'\t' 'NF != 23 { bad = 1 } END { exit !bad }'; then
                fail "$rel (zeek): a line does not have 23 columns"
            fi
        fi
    done
done < <(find "$corpus" -type f \( -name '*.pcap' -o -name '*.pcapng' \) -print0 | sort -z)

if [ "$count" -eq 0 ]; then
    echo "corpus: skipped: no .pcap or .pcapng files under $corpus"
    exit 77
fi
if [ "$failures" -ne 0 ]; then
    echo "$failures of $((count * 3)) runs failed" >&2
    exit 1
fi
echo "corpus: $count captures, 3 modes each, all passed"
