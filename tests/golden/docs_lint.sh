#!/bin/bash
# Golden test: the documentation names the tree as it is.
#
#   - every folder under src/ has a row in docs/internals.md's tree table
#     (a cell "| `src/NAME/` |"), so that a new module cannot arrive
#     without saying what it owns;
#   - every path under src/, include/, tests/ or docs/ that README.md or a
#     docs/*.md names exists. A trailing `:LINE` or `:FROM-TO` is dropped, a
#     name with `*` must match at least one file, and one with `<...>` is a
#     pattern (`src/<module>/`) and is not checked.
#
# It reads files only; ctrack itself is not run.
#
# Usage: bash docs_lint.sh CTRACK SRCDIR BUILDDIR   (run by ctest)
. "$(dirname "${BASH_SOURCE[0]}")/lib.bash"

# lint_tree ROOT: prints one line per problem in the tree at ROOT and, last,
# "checked N" with the number of named paths it looked up.
lint_tree() (
    cd "$1" || exit 1
    local internals=docs/internals.md
    [ -f "$internals" ] || echo "$internals is missing"
    local dir
    for dir in src/*/; do
        [ -d "$dir" ] || continue
        grep -qF -- "| \`$dir\` |" "$internals" 2>/dev/null ||
            echo "$dir has no row in $internals"
    done

    # A path starts at a boundary that is not part of a longer path or URL
    # (../shared/tests/x is not ours) and runs over the characters a file
    # name here uses, plus the glob and placeholder characters the docs
    # write; a :LINE suffix is not part of it.
    local path_re='(^|[^A-Za-z0-9_./-])(src|include|tests|docs)/[A-Za-z0-9_./*<>+-]*'
    local checked=0 doc line match path
    for doc in README.md docs/*.md; do
        [ -f "$doc" ] || continue
        while IFS=: read -r line match; do
            # Drop the boundary character and trailing sentence punctuation.
            path=$(printf '%s' "$match" | sed -E 's/^[^a-z]//; s/[.,;]+$//')
            case $path in
            *'<'* | *'>'*) continue ;;
            esac
            checked=$((checked + 1))
            case $path in
            *'*'*) compgen -G "$path" >/dev/null || echo "$doc:$line: $path matches no file" ;;
            */) [ -d "$path" ] || echo "$doc:$line: $path is not a folder" ;;
            *) [ -e "$path" ] || echo "$doc:$line: $path does not exist" ;;
            esac
        done < <(grep -noE -- "$path_re" "$doc")
    done
    echo "checked $checked"
)

# First the check itself: a small tree with one problem of each kind, and
# things that are not problems, must give exactly those problems.
fake=$tmp/fake
mkdir -p "$fake/src/kept" "$fake/src/forgotten" "$fake/docs" "$fake/tests"
: >"$fake/src/kept/here.c"
: >"$fake/src/forgotten/there.c"
printf '| `src/kept/` | kept |\n\nMentioned, but no row: src/forgotten/there.c.\n' \
    >"$fake/docs/internals.md"
cat >"$fake/README.md" <<'DOC'
Real: `src/kept/here.c:12-14`, src/kept/, docs/internals.md. A pattern:
`src/<module>/`. Not ours: ../shared/tests/x.pcap, https://x.org/src/y.c.
Broken: `src/kept/gone.c`, src/kept/here.c/, `tests/*.pcap`.
DOC
lint_tree "$fake" >"$tmp/self"
cat >"$tmp/self.want" <<'WANT'
src/forgotten/ has no row in docs/internals.md
README.md:3: src/kept/gone.c does not exist
README.md:3: src/kept/here.c/ is not a folder
README.md:3: tests/*.pcap matches no file
checked 8
WANT
if ! diff -u "$tmp/self.want" "$tmp/self" >&2; then
    fail "the check itself does not find what it should in a planted tree"
fi

# Then the tree itself.
lint_tree "$src" >"$tmp/real"
checked=$(sed -n 's/^checked //p' "$tmp/real")
while IFS= read -r problem; do
    fail "$problem"
done < <(grep -v '^checked ' "$tmp/real")
[ "${checked:-0}" -gt 0 ] || fail "no path named in README.md or docs/ was found"

finish "docs: every src/ folder has its row in docs/internals.md, ${checked:-0} named paths exist"
